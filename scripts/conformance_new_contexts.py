#!/usr/bin/env python3
"""Record reference trajectories for contexts other than the 15 shipped ones and check that
`mbtl env conformance` reproduces every one of them bit for bit.

Uses ../shared/tools/make_reference_trajectories.py (CARL 1.1.1 + gymnasium 0.29.1 + numpy 1.26)
with its SCENARIOS contexts replaced by the ones below. Setup (once):

    python3 -m venv /tmp/envref && /tmp/envref/bin/pip install carl-bench "numpy<2" "pandas<3"
    /tmp/envref/bin/python scripts/conformance_new_contexts.py --mbtl target/release/mbtl
"""
import argparse
import importlib.util
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
TOOL = HERE.parent.parent / "shared" / "tools" / "make_reference_trajectories.py"

NEW_CONTEXTS = {
    "cartpole": {
        "gravity3": {"gravity": 3.0},
        "tau0.05_force30": {"tau": 0.05, "force_mag": 30.0, "masspole": 0.9},
        "length4.5": {"length": 4.5, "masspole": 0.02},
    },
    "pendulum": {
        "dt0.2": {"dt": 0.2},
        "m7_l3": {"m": 7.0, "l": 3.0, "g": 2.5},
        "g0": {"g": 0.0},
    },
    "mountaincar": {
        "force0.003": {"force": 0.003},
        "speed0.02": {"max_speed": 0.02, "gravity": 0.001},
        "goal0.2_vel": {"goal_position": 0.2, "goal_velocity": 0.01},
    },
    "mountaincarcontinuous": {
        "power0.004": {"power": 0.004},
        "walls": {"min_position": -0.9, "max_position": 0.3, "goal_position": 0.25},
        "speed0.03": {"max_speed": 0.03, "power": 0.003},
    },
    "acrobot": {
        "mass1_3": {"LINK_MASS_1": 3.0},
        "com_moi": {"LINK_COM_POS_1": 0.9, "LINK_COM_POS_2": 0.1, "LINK_MOI": 4.0},
        "len1_0.3": {"LINK_LENGTH_1": 0.3, "MAX_VEL_1": 30.0, "MAX_VEL_2": 60.0},
    },
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mbtl", default=str(HERE.parent / "target" / "release" / "mbtl"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("mrt", TOOL)
    mrt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mrt)
    for key, contexts in NEW_CONTEXTS.items():
        mrt.SCENARIOS[key]["contexts"] = contexts
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="mbtl-newctx-"))
    mrt.main(["--out", str(out), "--backend", "carl"])
    passed = failed = 0
    for csv in sorted(out.glob("*.csv")):
        r = subprocess.run([args.mbtl, "env", "conformance", "--trajectory", str(csv)], capture_output=True, text=True)
        if r.returncode == 0:
            passed += 1
        else:
            failed += 1
            print(r.stdout, r.stderr)
        print(f"{'ok  ' if r.returncode == 0 else 'FAIL'} {csv.name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
