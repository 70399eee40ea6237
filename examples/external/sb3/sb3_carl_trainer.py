#!/usr/bin/env python3
"""Stable-Baselines3 on CARL's classic-control environments, driven by mbtl.

mbtl runs `python sb3_carl_trainer.py JOB.json` once per job (see cartpole.toml beside this
file and `crates/mbtl-run/schemas/`). The job file names the CARL class in
`hyperparameters.carl_env`, the SB3 algorithm in `hyperparameters.algo`, and passes every other
hyper-parameter to the algorithm's constructor, except `total_timesteps` and `n_envs`.

* Training: `n_envs` copies of the CARL env on the job's training context (the multi-task job:
  every task's context, CARL's round-robin selector, the varied features observed), seeded
  from the job's seed; every finished episode goes into the learning curve.
* Evaluation: on each target, `episodes` deterministic episodes, each reset with its own seed.
* Result: mean and std per target, the curve, and the saved model as an artifact.

Set up its Python environment with `setup_venv.sh` (torch, SB3, carl-bench from PyPI).
"""

import json
import os
import sys
import time

import numpy as np
import torch
import gymnasium as gym
from stable_baselines3 import A2C, DQN, PPO, SAC
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

import carl.envs

ALGOS = {"ppo": PPO, "dqn": DQN, "sac": SAC, "a2c": A2C}


class FlatObs(gym.ObservationWrapper):
    """CARL observes a dict {"obs", "context"}; SB3's MlpPolicy wants one vector."""

    def __init__(self, env):
        super().__init__(env)
        space = env.observation_space
        base, ctx = space["obs"], space["context"]
        if isinstance(ctx, gym.spaces.Box) and ctx.shape[0] > 0:
            low = np.concatenate([base.low, ctx.low]).astype(np.float32)
            high = np.concatenate([base.high, ctx.high]).astype(np.float32)
            self.with_context = True
        else:
            low, high = base.low.astype(np.float32), base.high.astype(np.float32)
            self.with_context = False
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, obs):
        parts = [np.asarray(obs["obs"], dtype=np.float32)]
        if self.with_context:
            parts.append(np.asarray(obs["context"], dtype=np.float32))
        return np.concatenate(parts)


def make_env(cls, contexts, visible):
    env = cls(
        contexts=dict(enumerate(contexts)),
        obs_context_features=visible,
        obs_context_as_dict=False,
    )
    return FlatObs(env)


class Curve(BaseCallback):
    """Records every finished training episode's return against environment steps."""

    def __init__(self):
        super().__init__()
        self.points = []

    def _on_step(self):
        for info in self.locals.get("infos", []):
            if "episode" in info:
                self.points.append({"step": int(self.num_timesteps), "return": float(info["episode"]["r"])})
        return True


def thin(points, most=200):
    """At most `most` points: means over consecutive groups of episodes."""
    if len(points) <= most:
        return points
    size = -(-len(points) // most)
    out = []
    for i in range(0, len(points), size):
        group = points[i : i + size]
        out.append({"step": group[-1]["step"], "return": sum(p["return"] for p in group) / len(group)})
    return out


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def main():
    job = json.load(open(sys.argv[-1]))
    assert job["schema"] == "mbtl.external-job" and job["version"] == 1
    torch.set_num_threads(1)  # mbtl runs jobs side by side, one core each
    hp = dict(job["hyperparameters"])
    cls = getattr(carl.envs, hp.pop("carl_env", "CARLCartPole"))
    algo = ALGOS[hp.pop("algo", "ppo")]
    total = int(hp.pop("total_timesteps", 100_000))
    n_envs = int(hp.pop("n_envs", 1))
    seed = job["seed"] % (2**31)
    visible = job["varied_features"] if job["context_visible"] else []

    def factory():
        return make_env(cls, job["train_contexts"], visible)

    venv = VecMonitor(DummyVecEnv([factory] * n_envs))
    venv.seed(seed)
    model = algo("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **hp)
    curve = Curve()
    start = time.time()
    model.learn(total_timesteps=total, callback=curve)
    trained = time.time()
    model.save(os.path.join(job["output_dir"], "model.zip"))

    targets = []
    for i, ctx in enumerate(job["targets"]):
        env = make_env(cls, [ctx], visible)
        returns = []
        for e in range(job["episodes"]):
            obs, _ = env.reset(seed=(seed + 1_000_003 * (i + 1) + e) % (2**31))
            done, ret = False, 0.0
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, reward, terminated, truncated, _ = env.step(action)
                ret += float(reward)
                done = terminated or truncated
            returns.append(ret)
        targets.append({"mean": float(np.mean(returns)), "std": float(np.std(returns)), "episodes": len(returns)})
    write_json(
        job["result_file"],
        {
            "schema": "mbtl.external-result",
            "version": 1,
            "job": job["job"],
            "targets": targets,
            "env_steps": int(model.num_timesteps),
            "learning_curve": thin(curve.points),
            "artifacts": ["model.zip"],
            "train_seconds": trained - start,
            "eval_seconds": time.time() - trained,
        },
    )


if __name__ == "__main__":
    main()
