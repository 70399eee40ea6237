#!/usr/bin/env bash
# Builds the Python package from this folder into a virtual environment and runs its tests.
# Usage: python/test.sh   (venv: $MBTL_PY_VENV, default target/py-venv; needs PyPI for maturin,
# numpy, gymnasium, pytest and SUMO). Some tests compare with the `mbtl` executable: they build it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${MBTL_PY_VENV:-target/py-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "./python[test]"
# SUMO itself, for the test of `mbtl env rollout --backend sumo` against libsumo (the version
# the README's SUMO measurements used).
"$venv/bin/pip" install -q --disable-pip-version-check eclipse-sumo==1.28.0 libsumo==1.28.0
cargo build --release -q -p mbtl-cli
"$venv/bin/python" -m pytest -q python/tests "$@"
