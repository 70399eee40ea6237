"""The selection engine from Python: ask/tell equals `mbtl replay`, states survive restarts,
matrices and metrics agree with the command line, errors carry its messages."""

import json
import subprocess

import numpy as np
import pytest

import mbtl
from mbtl import metrics


def banded(n, width=0.05, drift=0.01):
    s, t = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.maximum(0.0, 0.95 - width * np.abs(s - t) - drift * s)


def drive(sel, m):
    while (task := sel.ask()) is not None:
        known = sel.known_row(task)
        sel.tell(task, None if known is not None else m[task])
    return sel


@pytest.mark.parametrize("strategy", ["mbtl-gp", "gp-mbtl", "m-mbtl", "mgp-mbtl", "random", "pseudogreedy", "equidistant"])
def test_ask_and_tell_make_the_choices_of_replay(strategy):
    m = banded(25)
    sel = drive(mbtl.Selector(strategy, n_tasks=25, budget=6), m)
    (rep,) = mbtl.replay([m], [strategy], budget=6)
    assert sel.order == rep["order"]
    np.testing.assert_array_equal(sel.curve, rep["curve"])
    np.testing.assert_array_equal(sel.curve, metrics.curve_of(m, sel.order))
    assert sel.done and sel.ask() is None
    assert strategy in repr(sel)


def test_a_saved_state_resumes_to_the_same_choices(tmp_path):
    m = mbtl.synth("3d", "linear", "linear", "l1", noise=5.0, trial=1)
    m = (m - m.min()) / (m.max() - m.min())
    full = drive(mbtl.Selector("mgp-mbtl", grid=[8, 8, 8], budget=8), m)

    half = mbtl.Selector("mgp-mbtl", grid=[8, 8, 8], budget=8)
    for _ in range(3):
        t = half.ask()
        half.tell(t, m[t])
    path = tmp_path / "study.json"
    half.save(path)
    state = json.loads(path.read_text())
    assert state["format"] == "mbtl.selector" and len(state["steps"]) == 3
    back = drive(mbtl.Selector.load(path), m)
    assert back.order == full.order
    np.testing.assert_array_equal(back.curve, full.curve)


def test_coordinates_and_grids_are_task_spaces():
    coords = np.linspace(0.1, 2.0, 12).reshape(-1, 1)
    m = banded(12)
    a = drive(mbtl.Selector("mbtl-gp", coords=coords, budget=4, slope=0.5), m)
    (rep,) = mbtl.replay(m, ["mbtl-gp"], budget=4, coords=coords, slope=0.5)
    assert a.order == rep["order"]
    assert a.coord(a.order[0])[0] == coords[a.order[0], 0]
    g = mbtl.Selector("random", grid=[3, 4], budget=2)
    assert g.coord(7).tolist() == [1.0, 3.0]
    with pytest.raises(ValueError, match="out of range"):
        g.coord(12)


def test_misuse_and_bad_options_are_value_errors_with_the_cli_messages():
    with pytest.raises(ValueError, match="strategy 'randum': expected one of mbtl-gp"):
        mbtl.Selector("randum", n_tasks=5, budget=2)
    with pytest.raises(ValueError, match="between 1 and the number of tasks"):
        mbtl.Selector("random", n_tasks=5, budget=6)
    with pytest.raises(ValueError, match="exactly one of"):
        mbtl.Selector("random", n_tasks=5, grid=[5], budget=2)
    with pytest.raises(ValueError, match="not a sequential strategy"):
        mbtl.Selector("oracle", n_tasks=5, budget=2)
    sel = mbtl.Selector("random", n_tasks=5, budget=2)
    with pytest.raises(ValueError, match=r"told task 0, but no task was asked for \(call ask first\)"):
        sel.tell(0, np.zeros(5))
    t = sel.ask()
    with pytest.raises(ValueError, match=f"evaluating source task {t} failed: transfer matrix row {t}, column 2 is NaN"):
        sel.tell(t, [0.0, 1.0, np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match="acquisition 'greedy'"):
        mbtl.Selector("mbtl-gp", n_tasks=5, budget=2, acquisition="greedy")
    with pytest.raises(ValueError, match="selector state"):
        mbtl.Selector.from_state("{}")


def test_replay_equals_the_cli_json(tmp_path, mbtl_cli):
    ms = [mbtl.synth("3d", "constant", "linear", "nd", noise=2.0, trial=t) for t in range(2)]
    files = []
    for i, m in enumerate(ms):
        files.append(tmp_path / f"m{i}.npy")
        mbtl.write_matrix(files[-1], m)
    done = subprocess.run(
        [mbtl_cli, "replay", *map(str, files), "--budget", "5", "--grid", "8,8,8", "--normalize", "minmax",
         "--strategy", "mgp-mbtl,random,sequential-oracle,independent", "--random-repeats", "2",
         "--out", str(tmp_path / "figs"), "--json"],
        check=True, capture_output=True,
    )
    cli = json.loads(done.stdout)
    assert cli == json.loads((tmp_path / "figs" / "results.json").read_text())
    py = mbtl.replay(ms, ["mgp-mbtl", "random", "sequential-oracle", "independent"], budget=5,
                     grid=[8, 8, 8], normalize="minmax", random_repeats=2)
    for c, p in zip(cli, py):
        assert c["strategy"] == p["strategy"] and c["order"] == p["order"]
        assert c["curve"] == p["curve"].tolist() and c["average"] == p["average"]
        assert c["trials"] == p["trials"]


def test_clipped_bounds_equal_a_replay_of_the_clipped_matrix():
    # Waiting costs: most cells inside the bounds, some far beyond them (jammed targets).
    cost = np.where(banded(12) > 0.6, 100 * (1 - banded(12)), 100 * (1 - banded(12)) * 40)
    names = ["mbtl-gp", "random", "sequential-oracle", "independent"]
    clipped = mbtl.replay(cost, names, budget=4, normalize=(-100, 0), negate=True, clip=True)
    by_hand = np.clip((-cost + 100) / 100, 0.0, 1.0)
    assert (by_hand == 0.0).any() and (by_hand > 0.0).any()
    expected = mbtl.replay(by_hand, names, budget=4)
    for c, e in zip(clipped, expected):
        assert c["order"] == e["order"] and c["curve"].tolist() == e["curve"].tolist()
        assert c["curve"].min() >= 0.0
    unclipped = mbtl.replay(cost, ["random"], budget=4, normalize=(-100, 0), negate=True)
    assert unclipped[0]["curve"].min() < 0.0
    with pytest.raises(ValueError, match="clip=True needs bounds"):
        mbtl.replay(cost, names, budget=4, normalize="minmax", clip=True)


def test_matrices_round_trip_and_synth_equals_the_cli(tmp_path, mbtl_cli):
    m = banded(7) * 500
    for name in ["m.csv", "m.npy"]:
        mbtl.write_matrix(tmp_path / name, m)
        np.testing.assert_array_equal(mbtl.read_matrix(tmp_path / name), m)
    (tmp_path / "bad.csv").write_text("1,2\n3,nan\n")
    with pytest.raises(ValueError, match="bad.csv"):
        mbtl.read_matrix(tmp_path / "bad.csv")
    assert mbtl.read_matrix(tmp_path / "bad.csv", nan="min")[1, 1] == 1.0
    subprocess.run([mbtl_cli, "synth", "--family", "5d", "--f", "linear", "--g", "none", "--h", "nd2",
                    "--noise", "3", "--trials", "4..5", "--out", str(tmp_path / "s")], check=True, capture_output=True)
    written = sorted((tmp_path / "s").iterdir())
    assert written, "the CLI wrote matrices"
    np.testing.assert_array_equal(mbtl.read_matrix(written[0]), mbtl.synth("5d", "linear", "none", "nd2", 3.0, trial=4))


def test_metrics():
    m = np.array([[1.0, 0.5, 0.0], [0.2, 0.8, 0.1], [0.0, 0.6, 0.9]])
    assert metrics.independent(m) == pytest.approx(0.9)
    assert metrics.oracle(m) == pytest.approx((1.0 + 0.8 + 0.9) / 3)
    np.testing.assert_allclose(metrics.curve_of(m, [0, 2]), [0.5, (1.0 + 0.6 + 0.9) / 3])
    assert metrics.average([0.5, 1.0]) == 0.75
    assert metrics.sample_efficiency([0.5, 0.8, 0.95], 10, 0.9) == (3, pytest.approx(10 / 3))
    assert metrics.sample_efficiency([0.5], 10, 0.9) is None
    assert metrics.aggregated(0.75, 0.5, 1.0) == 0.5
    mean, half = metrics.mean_ci95([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(1.96 / np.sqrt(3))
    assert mbtl.__version__ and "mbtl-gp" in mbtl.STRATEGIES
