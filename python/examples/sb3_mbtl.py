"""Stable-Baselines3 PPO trained on the tasks MBTL-GP asks for, on mbtl's contextual CartPole.

The task family is 20 pole lengths (0.1 … 2.0 m, `physical` semantics). Each step MBTL-GP
names a source length; SB3 trains PPO on it (rl-baselines3-zoo's CartPole settings) in
`mbtl.envs.make_vec` environments wrapped for SB3; the policy is evaluated zero-shot on all 20
lengths (deterministic, 20 episodes each, in one Rust batch); the normalised row goes back to
the selector. The study's state is saved after every step, so a killed run continues from its
last told task: run the same command again.

Needs torch, so it is not run in CI:
    examples/external/sb3/setup_venv.sh && target/sb3-carl-venv/bin/pip install ./python
    target/sb3-carl-venv/bin/python python/examples/sb3_mbtl.py [BUDGET] [TIMESTEPS]
"""

import os
import sys

import gymnasium as gym
import numpy as np

import mbtl
from mbtl import envs

LENGTHS = np.round(np.linspace(0.1, 2.0, 20), 4)
STATE = "sb3_mbtl_state.json"


def train(length, seed, timesteps):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(lambda: envs.make("cartpole", {"length": float(length)}), n_envs=8, seed=seed)
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                n_epochs=20, ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, seed=seed, verbose=0)
    model.learn(total_timesteps=timesteps)
    return model


def zero_shot(model, seed, episodes=20):
    """Mean return of the deterministic policy on every length (normalised by 500)."""
    contexts = [{"length": float(l)} for l in LENGTHS for _ in range(episodes)]
    vec = envs.make_vec("cartpole", contexts=contexts)
    obs, _ = vec.reset(seed=seed)
    total = np.zeros(len(contexts))
    alive = np.ones(len(contexts), dtype=bool)
    while alive.any():
        actions, _ = model.predict(obs, deterministic=True)
        obs, r, term, trunc, _ = vec.step(actions)
        total += r * alive
        alive &= ~(term | trunc)
    return total.reshape(len(LENGTHS), episodes).mean(axis=1) / 500.0


def main(budget=5, timesteps=50_000):
    sel = mbtl.Selector.load(STATE) if os.path.exists(STATE) else mbtl.Selector("mbtl-gp", n_tasks=len(LENGTHS), budget=budget)
    while (task := sel.ask()) is not None:
        model = train(LENGTHS[task], seed=task, timesteps=timesteps)
        value = sel.tell(task, zero_shot(model, seed=10_000 + task))
        sel.save(STATE)
        print(f"k={len(sel.order)}: length {LENGTHS[task]} (task {task}) → V_k = {value:.3f}", flush=True)
    print("MBTL-GP order:", sel.order)
    print("curve:", np.round(sel.curve, 3).tolist())


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
