#!/usr/bin/env bash
# End to end on a real single-node Slurm (Debian's slurm-wlm and munge, localhost only): a
# transfer matrix through `mbtl slurm` + `sbatch`, and one through `--launcher "srun ..."` inside
# `salloc`, each compared byte for byte with the matrix of a local run. Needs root (it installs
# the packages when missing, writes /etc/slurm/slurm.conf and starts munged, slurmctld and
# slurmd). Not part of CI: it changes the machine.
# Usage: scripts/slurm_check.sh [TASKS]
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-6}
if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null; }
fi
if [ -f /etc/slurm/slurm.conf ] && ! grep -q '^ClusterName=mbtlcheck$' /etc/slurm/slurm.conf; then
  echo "/etc/slurm/slurm.conf exists and is not this script's: refusing to replace it" >&2
  exit 2
fi
host=$(hostname)
cpus=$(nproc)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<EOF
ClusterName=mbtlcheck
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
mkdir -p /run/munge && chown munge:munge /run/munge
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 30); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo

cargo build --release -q -p mbtl-cli
mbtl=$PWD/target/release/mbtl
work=$(mktemp -d /tmp/mbtl-slurm-XXXX)
trap 'rm -rf "$work"' EXIT
cat > "$work/exp.toml" <<EOF
name = "slurm-check"
seed = 5
[env]
name = "cartpole"
[[space.axes]]
feature = "length"
spacing = "linear"
lo = 0.2
hi = 2.0
n = $tasks
[learner]
algo = "ppo"
hyperparameters = { total_timesteps = 20000 }
[eval]
episodes = 20
[select]
strategies = ["mbtl-gp", "random", "independent"]
budget = 3
EOF

"$mbtl" matrix "$work/exp.toml" --out "$work/local" --no-report -q >/dev/null

# 1. A job array: nothing runs on the "login node" but sbatch.
"$mbtl" slurm "$work/exp.toml" --out "$work/array" --sbatch partition=debug --sbatch time=00:10:00
SECONDS=0
sbatch --wait "$work/array/slurm.sbatch"
echo "array of $tasks tasks finished in $SECONDS s"
"$mbtl" matrix "$work/exp.toml" --out "$work/array" --launcher false --no-report
cmp "$work/local/matrix_trial0.csv" "$work/array/matrix_trial0.csv"
echo "job array: matrix identical to the local run"

# 2. Online MBTL and a matrix inside an allocation, every worker started by srun.
salloc -N1 -n"$cpus" "$mbtl" matrix "$work/exp.toml" --out "$work/srun" --workers "$cpus" \
  --launcher "srun -N1 -n1 --exclusive" --no-report -q
cmp "$work/local/matrix_trial0.csv" "$work/srun/matrix_trial0.csv"
echo "srun launcher: matrix identical to the local run"
"$mbtl" run "$work/exp.toml" --out "$work/local-online" --no-report -q >/dev/null
salloc -N1 -n"$cpus" "$mbtl" run "$work/exp.toml" --out "$work/srun-online" --workers "$cpus" \
  --launcher "srun -N1 -n1 --exclusive" --no-report -q
python3 - "$work/local-online/results.json" "$work/srun-online/results.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a == b, "online results differ"
PY
echo "srun launcher: online MBTL results identical to the local run"
echo "slurm check passed"
