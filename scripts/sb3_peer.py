#!/usr/bin/env python3
"""Stable-Baselines3 with rl-baselines3-zoo's tuned settings, the same that `mbtl train` uses:
PPO or DQN on CartPole-v1, SAC on Pendulum-v1; CPU torch, one thread. Prints one JSON line:
wall time, env steps/s and the mean deterministic return over 100 episodes.
Usage: sb3_peer.py ppo|dqn|sac SEED"""
import json
import sys
import time

import gymnasium as gym
import torch
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

torch.set_num_threads(1)
algo, seed = sys.argv[1], int(sys.argv[2])


def lin(v):
    return lambda progress_remaining: progress_remaining * v


if algo == "ppo":
    steps = 100_000
    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=8, seed=seed), n_steps=32, batch_size=256,
                gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0, learning_rate=lin(1e-3),
                clip_range=lin(0.2), seed=seed, device="cpu")
elif algo == "sac":
    steps = 20_000
    env_id = "Pendulum-v1"
    model = SAC("MlpPolicy", make_vec_env(env_id, n_envs=1, seed=seed), learning_rate=1e-3, seed=seed,
                device="cpu")
else:
    steps = 50_000
    model = DQN("MlpPolicy", make_vec_env("CartPole-v1", n_envs=1, seed=seed), learning_rate=2.3e-3,
                batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99, target_update_interval=10,
                train_freq=256, gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
                policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu")
start = time.perf_counter()
model.learn(total_timesteps=steps)
wall = time.perf_counter() - start
eval_env = gym.make("Pendulum-v1" if algo == "sac" else "CartPole-v1")
mean, std = evaluate_policy(model, eval_env, n_eval_episodes=100, deterministic=True)
print(json.dumps({"peer": "stable-baselines3", "algo": algo, "seed": seed, "wall_s": wall,
                  "env_steps": model.num_timesteps, "steps_per_s": model.num_timesteps / wall,
                  "mean_return": float(mean), "std_return": float(std)}))
