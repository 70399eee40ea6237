#!/usr/bin/env bash
# SUMO beside mbtl's native traffic-signal simulator: installs eclipse-sumo and libsumo 1.28.0
# (PyPI) into a venv, then runs sumo_check.py (the scenario built with SUMO's netconvert from
# the spec's geometry, the same route files, fixed-cycle and random policies over the context
# grids in both simulators, a side-by-side table). Usage:
#   scripts/traffic/sumo_check.sh [MBTL] [VENV] [-- sumo_check.py options]
set -euo pipefail
cd "$(dirname "$0")/../.."
MBTL=target/release/mbtl
VENV=target/sumo-venv
if [ $# -gt 0 ] && [ "$1" != "--" ]; then MBTL=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then VENV=$1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
if [ ! -x "$VENV/bin/sumo" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q eclipse-sumo==1.28.0 libsumo==1.28.0 numpy
fi
exec "$VENV/bin/python" scripts/traffic/sumo_check.py --mbtl "$MBTL" "$@"
