#!/usr/bin/env python3
"""gymnasium's CartPole-v1, one instance, Python loop with action_space.sample() and reset on
done: the peer for `mbtl bench envs`. Prints one JSON line with the median steps/s."""
import json
import statistics
import sys
import time

import gymnasium

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
env = gymnasium.make("CartPole-v1")
env.reset(seed=0)
env.action_space.seed(0)
rates = []
for _ in range(repeats):
    start = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    rates.append(steps / (time.perf_counter() - start))
print(json.dumps({"peer": f"gymnasium {gymnasium.__version__}", "env": "cartpole",
                  "single_steps_per_s": statistics.median(rates)}))
