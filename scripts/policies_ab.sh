#!/usr/bin/env bash
# Trains the same policies with two mbtl binaries and compares the policy files byte for byte:
# the check that a refactoring left every learner's arithmetic as it was.
#   scripts/policies_ab.sh OLD_MBTL NEW_MBTL
set -euo pipefail
old=$1 new=$2
out=$(mktemp -d)
cases=(
  "--env cartpole --algo ppo --total-timesteps 20000 --seed 3"
  "--env cartpole --algo ppo --total-timesteps 20000 --seed 4 --context length=1.5 --context-visible --pool length=0.5 --pool length=2"
  "--env pendulum --algo ppo --total-timesteps 8192 --seed 1"
  "--env cartpole --algo dqn --total-timesteps 20000 --seed 2"
  "--env acrobot --algo dqn --total-timesteps 5000 --seed 0"
  "--env pendulum --algo sac --total-timesteps 1500 --seed 0"
  "--env mountaincarcontinuous --algo sac --total-timesteps 1500 --seed 1"
  "--env cartpole --algo ppo --preset sb3 --total-timesteps 8192 --eval-freq 1000 --seed 5"
  "--env cartpole --algo dqn --preset sb3 --total-timesteps 20000 --eval-freq 2000 --seed 6"
  "--env pendulum --algo sac --preset sb3 --total-timesteps 1500 --eval-freq 500 --seed 7"
)
status=0
for i in "${!cases[@]}"; do
  for side in old new; do
    bin=${!side}
    # shellcheck disable=SC2086
    "$bin" train ${cases[$i]} --out "$out/$side-$i" > /dev/null
  done
  if cmp -s "$out/old-$i/policy.safetensors" "$out/new-$i/policy.safetensors"; then
    echo "same   ${cases[$i]}"
  else
    echo "DIFFER ${cases[$i]}"
    status=1
  fi
done
rm -rf "$out"
exit $status
