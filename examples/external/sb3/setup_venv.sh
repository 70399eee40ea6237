#!/usr/bin/env bash
# Creates the Python environment of the Stable-Baselines3 + CARL example (from PyPI):
# carl-bench 1.1.1 needs gymnasium < 1.0 and, with it, numpy < 2 and pandas < 3.
# Usage: examples/external/sb3/setup_venv.sh [VENV]   (default: target/sb3-carl-venv)
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv=${1:-target/sb3-carl-venv}
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q carl-bench "numpy<2" "pandas<3" stable-baselines3 torch
"$venv/bin/python" -c "import carl, stable_baselines3, torch, gymnasium; print('carl-bench', carl.__version__ if hasattr(carl, '__version__') else '?', 'sb3', stable_baselines3.__version__, 'torch', torch.__version__, 'gymnasium', gymnasium.__version__)"
echo "venv ready: $venv"
