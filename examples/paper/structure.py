#!/usr/bin/env python3
"""The structure of transfer matrices, per run folder: how the paper's procedure behaves as the
training budget grows. Standard library only.

    python3 examples/paper/structure.py LO HI runs/paper/cartpole-masscart-*/

For each folder (its matrix_trial*.csv, raw returns; normalised with [LO, HI]) and averaged over
its trials:
  trained      fraction of sources whose policy scores >= 0.8 on its own task
  width        mean fraction of targets on which a source's policy scores >= 0.8
  Independent  mean of the diagonal (every task trained for itself)
  Random V_1   mean over sources of the row mean (the expected V_1 of a random first pick)
  Oracle V_1   best row mean (the sequential oracle's first pick)
  Oracle       mean over targets of the column maximum (every source trained, best per target)
"""
import csv
import glob
import os
import sys


def read(path):
    with open(path) as f:
        return [[float(x) for x in row] for row in csv.reader(f) if row]


def stats(m, lo, hi):
    n = len(m)
    z = [[(v - lo) / (hi - lo) for v in row] for row in m]
    row_means = [sum(r) / n for r in z]
    return {
        "trained": sum(z[i][i] >= 0.8 for i in range(n)) / n,
        "width": sum(sum(v >= 0.8 for v in r) / n for r in z) / n,
        "Independent": sum(z[i][i] for i in range(n)) / n,
        "Random V_1": sum(row_means) / n,
        "Oracle V_1": max(row_means),
        "Oracle": sum(max(z[i][j] for i in range(n)) for j in range(n)) / n,
    }


def main():
    lo, hi = float(sys.argv[1]), float(sys.argv[2])
    keys = ["trained", "width", "Independent", "Random V_1", "Oracle V_1", "Oracle"]
    print(f"| run | trials | {' | '.join(keys)} |")
    print("|---|---:|" + "---:|" * len(keys))
    for folder in sys.argv[3:]:
        files = sorted(glob.glob(os.path.join(folder, "matrix_trial*.csv")))
        if not files:
            continue
        per = [stats(read(f), lo, hi) for f in files]
        mean = {k: sum(p[k] for p in per) / len(per) for k in keys}
        cells = " | ".join(f"{mean[k]:.3f}" for k in keys)
        print(f"| {os.path.basename(folder.rstrip('/'))} | {len(files)} | {cells} |")


if __name__ == "__main__":
    main()
