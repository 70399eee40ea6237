#!/usr/bin/env bash
# Environment throughput of two mbtl executables side by side (A/B): runs `mbtl bench envs` on
# each in turn, ROUNDS times, pinned to core 0, and prints per environment the median (over
# rounds) of the single-instance and batch-of-64 steps/s and the ratio B/A. Alternating keeps
# both under the same machine conditions; a build of another commit is the usual A:
#   git worktree add /tmp/base <commit> && (cd /tmp/base && CARGO_TARGET_DIR=/tmp/base-target cargo build --release -p mbtl-cli)
#   scripts/bench_envs_ab.sh /tmp/base-target/release/mbtl target/release/mbtl 10
# Usage: scripts/bench_envs_ab.sh A B [ROUNDS] [ENVS]   (ENVS comma-separated; default: all built-in)
set -euo pipefail
a=$1 b=$2 rounds=${3:-10} envs=${4:-cartpole,pendulum,mountaincar,mountaincarcontinuous,acrobot}
out=$(mktemp)
for _ in $(seq "$rounds"); do
  for bin in "$a" "$b"; do
    taskset -c 0 "$bin" bench envs --env "$envs" --json --steps 500000 | sed "s|^{|{\"bin\":\"$bin\",|" >>"$out"
  done
done
python3 - "$out" "$a" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    side = "A" if r["bin"] == sys.argv[2] else "B"
    runs[(r["env"], side, 1)].append(r["single_steps_per_s"])
    runs[(r["env"], side, 64)].append(r["batched_steps_per_s"])
print(f"{'environment':<24}{'A 1 inst':>10}{'B 1 inst':>10}{'B/A':>6}{'A batch':>10}{'B batch':>10}{'B/A':>6}   (M steps/s, medians)")
for env in dict.fromkeys(k[0] for k in runs):
    a1, b1, a64, b64 = (statistics.median(runs[(env, s, w)]) / 1e6 for s, w in [("A", 1), ("B", 1), ("A", 64), ("B", 64)])
    print(f"{env:<24}{a1:10.2f}{b1:10.2f}{b1 / a1:6.2f}{a64:10.2f}{b64:10.2f}{b64 / a64:6.2f}")
PY
rm -f "$out"
