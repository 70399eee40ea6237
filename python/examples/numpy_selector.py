"""MBTL chooses which tasks to train, your trainer trains them: the ask/tell loop with a small
NumPy-only trainer (no torch), on mbtl's contextual CartPole.

The "trainer" fits a linear policy a = [w·obs > 0] by random search on the source context (a
few hundred episodes through `mbtl.envs.make_vec`), then evaluates it zero-shot on every
target: exactly the unit of work MBTL schedules. Run: python python/examples/numpy_selector.py
"""

import sys

import numpy as np

import mbtl
from mbtl import envs

LENGTHS = np.linspace(0.1, 3.0, 12)   # the task family: pole lengths
EPISODES = 8                           # evaluation episodes per target


def returns(weights, lengths, seed, episodes=EPISODES):
    """Mean return of the linear policy on each pole length (all in one Rust batch)."""
    contexts = [{"length": float(l)} for l in lengths for _ in range(episodes)]
    vec = envs.make_vec("cartpole", contexts=contexts)
    obs, _ = vec.reset(seed=seed)
    total = np.zeros(len(contexts))
    alive = np.ones(len(contexts), dtype=bool)
    for _ in range(500):
        obs, r, term, trunc, _ = vec.step((obs @ weights > 0).astype(np.int64))
        total += r * alive
        alive &= ~(term | trunc)
        if not alive.any():
            break
    return total.reshape(len(lengths), episodes).mean(axis=1)


def train(length, seed, candidates=24):
    """Random search over the policy's four weights on one pole length."""
    rng = np.random.default_rng(seed)
    best, best_ret = None, -np.inf
    for _ in range(candidates):
        w = rng.normal(size=4)
        ret = returns(w, [length], seed=int(rng.integers(2**31)), episodes=3)[0]
        if ret > best_ret:
            best, best_ret = w, ret
    return best


def main(budget=4):
    sel = mbtl.Selector("mbtl-gp", n_tasks=len(LENGTHS), budget=budget, slope=0.01)
    while (task := sel.ask()) is not None:
        weights = train(LENGTHS[task], seed=task)
        row = returns(weights, LENGTHS, seed=1000 + task) / 500.0   # normalised to [0, 1]
        value = sel.tell(task, row)
        print(f"k={len(sel.order)}: trained length {LENGTHS[task]:.2f} (task {task}), V_k = {value:.3f}")
    print("order:", sel.order, "curve:", np.round(sel.curve, 3).tolist())
    return sel


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
