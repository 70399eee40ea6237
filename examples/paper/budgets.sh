#!/usr/bin/env bash
# The paper's procedure at smaller budgets than its 5·10⁶ (CartPole) and 10⁶ (Pendulum) steps
# per task: a 100-task matrix per (experiment, budget, trials), then `mbtl run` on the same
# folder (trains only the multi-task policies and replays every strategy on the stored rows),
# and the learning curves as CSV. Usage:
#   examples/paper/budgets.sh [MBTL] [OUT]      (defaults: target/release/mbtl, runs/paper)
# Each line of RUNS below is `experiment budget trials`; edit it to choose.
set -euo pipefail
cd "$(dirname "$0")/../.."
MBTL=${1:-target/release/mbtl}
OUT=${2:-runs/paper}
RUNS=${RUNS:-"
cartpole-masscart 100000 3
cartpole-masscart-ppo 100000 3
pendulum-dt 100000 3
cartpole-masscart 300000 1
pendulum-dt 300000 1
cartpole-masscart 1000000 1
"}
mkdir -p "$OUT"
echo "$RUNS" | while read -r exp budget trials; do
  [ -z "$exp" ] && continue
  dir="$OUT/$exp-$budget"
  sets=(--set "trials=$trials" --set "learner.hyperparameters.total_timesteps=$budget")
  start=$(date +%s)
  "$MBTL" matrix "examples/paper/$exp.toml" "${sets[@]}" --out "$dir" --no-report -q
  mid=$(date +%s)
  "$MBTL" run "examples/paper/$exp.toml" "${sets[@]}" --out "$dir" -q > "$dir/summary.txt"
  end=$(date +%s)
  "$MBTL" status "$dir" --curves "$dir/curves.csv" > /dev/null
  echo "$exp $budget steps × $trials trial(s): matrix $((mid - start)) s, multi-task + selection $((end - mid)) s" | tee -a "$OUT/timings.txt"
done
