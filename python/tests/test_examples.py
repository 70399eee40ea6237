"""The CI-tested example: the ask/tell loop with a NumPy-only trainer."""

import runpy
import sys

import numpy as np


def test_the_numpy_trainer_example_runs_and_its_curve_climbs(root, capsys):
    sys.argv = ["numpy_selector.py", "3"]
    module = runpy.run_path(str(root / "python" / "examples" / "numpy_selector.py"))
    sel = module["main"](3)
    assert len(sel.order) == 3 and len(set(sel.order)) == 3
    assert np.all(np.diff(sel.curve) >= 0) and 0.0 < sel.curve[-1] <= 1.0
    assert "V_k" in capsys.readouterr().out


def test_the_package_version_is_the_workspaces(root):
    import re

    import mbtl

    text = (root / "Cargo.toml").read_text()
    workspace = re.search(r'\[workspace\.package\][^\[]*?version = "([^"]+)"', text).group(1)
    bindings = re.search(r'^version = "([^"]+)"', (root / "python" / "Cargo.toml").read_text(), re.M).group(1)
    assert mbtl.__version__ == workspace == bindings
