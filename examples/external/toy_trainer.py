#!/usr/bin/env python3
"""A complete external trainer for mbtl, in plain Python (standard library only).

mbtl runs it once per job as `python3 toy_trainer.py JOB.json` (see
`crates/mbtl-run/schemas/` and the README's "Bring your own trainer"). It simulates an
environment mbtl knows nothing about: a sliding mass pushed towards the origin by a bounded
force, whose context is the mass and the friction. It trains a linear feedback policy
u = clip(-k1·x - k2·v, -1, 1) with the cross-entropy method on the job's training
context(s), evaluates it on every target, and writes the result file.

Everything random comes from the job's seed, so a job gives the same result every time
it runs: mbtl relies on that to resume, retry and spread jobs over workers.
"""

import json
import math
import os
import random
import sys
import time

DT = 0.05
STEPS = 100


def episode(gains, ctx, rng):
    """One episode; returns the undiscounted return (−Σ x², in [−100, 0] or so)."""
    k1, k2 = gains
    mass, friction = ctx["mass"], ctx["friction"]
    x, v = rng.uniform(-1.0, 1.0), rng.uniform(-0.5, 0.5)
    total = 0.0
    for _ in range(STEPS):
        u = max(-1.0, min(1.0, -k1 * x - k2 * v))
        v += DT * (u - friction * v) / mass
        x += DT * v
        total -= x * x
    return total


def train(contexts, rng, iterations, population, elite, episodes):
    """Cross-entropy method over log-gains; returns the gains, the learning curve (best
    candidate's return) and the elite's mean return per iteration."""
    mean, std = [0.0, 0.0], [1.5, 1.5]
    curve, elite_curve, steps, best = [], [], 0, None
    for _ in range(iterations):
        scored = []
        for _ in range(population):
            logk = [rng.gauss(m, s) for m, s in zip(mean, std)]
            gains = [math.exp(g) for g in logk]
            ret = sum(episode(gains, rng.choice(contexts), rng) for _ in range(episodes))
            steps += episodes * STEPS
            scored.append((ret / episodes, logk))
        scored.sort(key=lambda s: -s[0])
        top = [logk for _, logk in scored[:elite]]
        for d in range(2):
            vals = [t[d] for t in top]
            mean[d] = sum(vals) / len(vals)
            std[d] = max(0.05, math.sqrt(sum((x - mean[d]) ** 2 for x in vals) / len(vals)))
        best = [math.exp(m) for m in mean]
        curve.append({"step": steps, "return": scored[0][0]})
        elite_mean = sum(score for score, _ in scored[:elite]) / elite
        elite_curve.append({"step": steps, "value": elite_mean})
    return best, curve, elite_curve, steps


def write_json(path, data):
    """Atomically: a reader (mbtl) never sees half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def main():
    job_path = sys.argv[-1] if len(sys.argv) > 1 else os.environ["MBTL_JOB"]
    with open(job_path) as f:
        job = json.load(f)
    assert job["schema"] == "mbtl.external-job" and job["version"] == 1, job.get("schema")
    hp = job["hyperparameters"]
    rng = random.Random(job["seed"])
    start = time.time()
    gains, curve, elite_curve, steps = train(
        job["train_contexts"],
        rng,
        iterations=int(hp.get("iterations", 8)),
        population=int(hp.get("population", 12)),
        elite=int(hp.get("elite", 3)),
        episodes=int(hp.get("episodes_per_candidate", 2)),
    )
    trained = time.time()
    write_json(os.path.join(job["output_dir"], "policy.json"), {"k1": gains[0], "k2": gains[1]})
    targets = []
    for ctx in job["targets"]:
        returns = [episode(gains, ctx, rng) for _ in range(job["episodes"])]
        mean = sum(returns) / len(returns)
        std = math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns))
        targets.append({"mean": mean, "std": std, "episodes": len(returns)})
    write_json(
        job["result_file"],
        {
            "schema": "mbtl.external-result",
            "version": 1,
            "job": job["job"],
            "targets": targets,
            "env_steps": steps,
            "learning_curve": curve,
            "curves": {"elite_mean": elite_curve},
            "artifacts": ["policy.json"],
            "train_seconds": trained - start,
            "eval_seconds": time.time() - trained,
        },
    )
    print(f"{job['job']}: gains {gains[0]:.3f}, {gains[1]:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
