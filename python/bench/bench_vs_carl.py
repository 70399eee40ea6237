"""Steps per second of CartPole, side by side in one process on one core: CARL's
CARLCartPole (carl-bench 1.1.1), gymnasium's CartPole-v1, and mbtl's `envs.make` (one
instance) and `envs.make_vec` (a batch stepped in Rust), each with random actions drawn every
step and episodes reset as they end. Run it in a venv with carl-bench and mbtl installed
(`examples/external/sb3/setup_venv.sh`, then `pip install ./python` into it), pinned:

    taskset -c 0 target/sb3-carl-venv/bin/python python/bench/bench_vs_carl.py
"""

import json
import sys
import time

import numpy as np


def loop(env, steps, rng):
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(int(rng.integers(2)))
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - start)


def vector(vec, steps, rng):
    vec.reset(seed=0)
    n = vec.num_envs
    rounds = max(1, steps // n)
    start = time.perf_counter()
    for _ in range(rounds):
        vec.step(rng.integers(0, 2, size=n))
    return rounds * n / (time.perf_counter() - start)


def best(f, repeats=3):
    return max(f() for _ in range(repeats))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rng = np.random.default_rng(0)
    rows = {}
    import gymnasium
    import carl.envs
    from mbtl import envs

    carl_env = carl.envs.CARLCartPole(contexts={0: {"length": 0.5}}, obs_context_features=[])
    rows["CARL CARLCartPole (carl-bench 1.1.1)"] = best(lambda: loop(carl_env, steps, rng))
    gym_env = gymnasium.make("CartPole-v1")
    rows[f"gymnasium {gymnasium.__version__} CartPole-v1"] = best(lambda: loop(gym_env, steps, rng))
    one = envs.make("cartpole", {"length": 0.5}, semantics="carl")
    rows["mbtl envs.make (1 instance)"] = best(lambda: loop(one, steps, rng))
    for n in (16, 64, 256):
        vec = envs.make_vec("cartpole", contexts=[{"length": 0.1 + 0.01 * i} for i in range(n)], semantics="carl")
        rows[f"mbtl envs.make_vec ({n} instances)"] = best(lambda: vector(vec, steps * 20, rng))
    carl_rate = rows["CARL CARLCartPole (carl-bench 1.1.1)"]
    print(f"{'environment':<44}{'steps/s':>14}{'× CARL':>9}")
    for name, rate in rows.items():
        print(f"{name:<44}{rate:>14,.0f}{rate / carl_rate:>9.1f}")
    print(json.dumps({k: round(v) for k, v in rows.items()}))


if __name__ == "__main__":
    main()
