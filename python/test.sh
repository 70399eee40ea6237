#!/usr/bin/env bash
# Builds the Python package from this folder into a virtual environment and runs its tests.
# Usage: python/test.sh   (venv: $MBTL_PY_VENV, default target/py-venv; needs PyPI for maturin,
# numpy, gymnasium and pytest). Some tests compare with the `mbtl` executable: they build it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${MBTL_PY_VENV:-target/py-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "./python[test]"
cargo build --release -q -p mbtl-cli
"$venv/bin/python" -m pytest -q python/tests "$@"
