#!/usr/bin/env bash
# Environment throughput: mbtl (every environment, one instance and batched) and gymnasium's
# CartPole-v1 Python loop from PyPI, measured in the same run on one core each; prints the ratio.
# Usage: scripts/bench_envs.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-2000000}
venv=${BENCH_VENV:-target/bench-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q gymnasium
fi
cargo build --release -q -p mbtl-cli
echo "== mbtl (taskset -c 0)"
taskset -c 0 target/release/mbtl bench envs --steps "$steps"
mbtl_json=$(taskset -c 0 target/release/mbtl bench envs --env cartpole --steps "$steps" --json)
echo "== gymnasium (taskset -c 0)"
gym_json=$(taskset -c 0 "$venv/bin/python" scripts/gym_cartpole_loop.py 200000 3)
echo "$gym_json"
python3 - "$mbtl_json" "$gym_json" <<'PY'
import json, sys
m, g = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"CartPole single instance: mbtl {m['single_steps_per_s']:,.0f} steps/s, "
      f"{g['peer']} {g['single_steps_per_s']:,.0f} steps/s, ratio {m['single_steps_per_s']/g['single_steps_per_s']:.0f}x; "
      f"mbtl batched ({m['batch']}) ratio {m['batched_steps_per_s']/g['single_steps_per_s']:.0f}x")
PY
