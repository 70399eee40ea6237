import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def shared():
    """The shared data beside the checkout (CI has it; so does every developer machine)."""
    path = ROOT.parent / "shared" / "data"
    assert path.is_dir(), f"{path} is missing: the tests compare with the shared reference data"
    return path


@pytest.fixture(scope="session")
def mbtl_cli():
    """The `mbtl` executable (python/test.sh builds it), for side-by-side checks."""
    exe = ROOT / "target" / "release" / "mbtl"
    if not exe.exists():
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "mbtl-cli"], cwd=ROOT, check=True)
    return str(exe)
