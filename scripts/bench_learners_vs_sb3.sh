#!/usr/bin/env bash
# PPO (100 k steps) and DQN (50 k steps) on CartPole-v1 and SAC (20 k steps) on Pendulum-v1 with
# the zoo's settings: mbtl and Stable-Baselines3 (PyPI, CPU torch, one thread) side by side in one
# run, each pinned to core 0. Prints wall time, env steps/s and final deterministic return (100
# episodes) per run, and the median speed ratio per algorithm.
# Usage: [ALGOS="ppo dqn sac"] [SB3_VENV=DIR] scripts/bench_learners_vs_sb3.sh [SEEDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
venv=${SB3_VENV:-target/sb3-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q stable-baselines3 "gymnasium[classic-control]"
fi
cargo build --release -q -p mbtl-cli
tmp=$(mktemp -d)
printf '%-5s %-18s %5s %9s %12s %10s\n' algo learner seed "wall s" "steps/s" return
algos=${ALGOS:-ppo dqn sac}
for algo in $algos; do
  env=cartpole
  if [ "$algo" = sac ]; then env=pendulum; fi
  for seed in $(seq 0 $((seeds - 1))); do
    taskset -c 0 target/release/mbtl train --env "$env" --algo "$algo" --seed "$seed" --out "$tmp/$algo$seed" >/dev/null
    ret=$(taskset -c 0 target/release/mbtl eval --policy "$tmp/$algo$seed" --env "$env" --episodes 100 --seed 99 | awk '{print $(NF-2)}')
    python3 - "$tmp/$algo$seed/train.json" "$ret" "$algo" "$seed" "$tmp/mbtl_$algo" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
print(f"{sys.argv[3]:<5} {'mbtl':<18} {sys.argv[4]:>5} {t['wall_seconds']:>9.2f} {t['env_steps']/t['wall_seconds']:>12.0f} {float(sys.argv[2]):>10.1f}")
open(sys.argv[5], "a").write(f"{t['wall_seconds']}\n")
PY
    sb=$(taskset -c 0 "$venv/bin/python" scripts/sb3_peer.py "$algo" "$seed" 2>/dev/null | tail -1)
    python3 - "$sb" "$tmp/sb3_$algo" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"{r['algo']:<5} {'stable-baselines3':<18} {r['seed']:>5} {r['wall_s']:>9.2f} {r['steps_per_s']:>12.0f} {r['mean_return']:>10.1f}")
open(sys.argv[2], "a").write(f"{r['wall_s']}\n")
PY
  done
done
python3 - "$tmp" $algos <<'PY'
import statistics, sys
d = sys.argv[1]
for algo in sys.argv[2:]:
    m = statistics.median(float(x) for x in open(f"{d}/mbtl_{algo}"))
    s = statistics.median(float(x) for x in open(f"{d}/sb3_{algo}"))
    print(f"{algo}: median wall mbtl {m:.2f} s, SB3 {s:.2f} s -> mbtl {s / m:.1f}x faster")
PY
rm -rf "$tmp"
