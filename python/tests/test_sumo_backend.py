"""`mbtl env rollout --backend sumo` (the Rust TraCI client, crates/mbtl-sumo) against SUMO run
in-process through libsumo by scripts/traffic/sumo_check.py: the same SUMO 1.28, network,
route file and policy, so every metric must agree to the last bit."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

KEYS = ["avg_reward", "avg_waiting", "avg_average_speed", "avg_current_veh", "avg_passed_veh",
        "decisions", "inserted", "arrived", "vehicle_steps", "mean_vehicle_waiting"]


@pytest.fixture(scope="module")
def sumo_check(root):
    spec = importlib.util.spec_from_file_location(
        "sumo_check", root / "scripts" / "traffic" / "sumo_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sumo_binary():
    # The eclipse-sumo wheel's launcher, installed beside this interpreter by python/test.sh.
    path = os.path.join(os.path.dirname(sys.executable), "sumo")
    assert os.path.isfile(path), f"{path} is missing: python/test.sh installs eclipse-sumo"
    return path


def rollout(mbtl_cli, sumo_binary, ctx, policy, semantics="reference"):
    context = f"cars={ctx['cars']},speed={ctx['speed']},length={ctx['length']}"
    out = subprocess.run([mbtl_cli, "env", "rollout", "--backend", "sumo", "--sumo", sumo_binary,
                          "--context", context, "--policy", policy, "--semantics", semantics,
                          "--json"], check=True, capture_output=True)
    doc = json.loads(out.stdout)
    assert doc["backend"] == "sumo" and doc["semantics"] == semantics
    return doc["episodes"][0]


def libsumo_episode(sumo_check, tmp_path, ctx, policy):
    folder = tmp_path / f"{ctx['cars']}-{ctx['speed']}-{ctx['length']}"
    folder.mkdir(exist_ok=True)
    net = sumo_check.build_net(str(folder), ctx["length"], ctx["speed"])
    rou = str(folder / "r.rou.xml")
    sumo_check.routes(10000, ctx["cars"], ctx["speed"], rou)
    return sumo_check.sumo_episode(net, rou, sumo_check.make_policy(policy, ctx))


def test_traci_backend_is_libsumo_to_the_last_bit(root, mbtl_cli, sumo_check, sumo_binary, tmp_path):
    # A trained policy that observes its context (the state, then cars, speed and length), so
    # the trained path, the state encoding and the appended features are all exercised.
    policy = tmp_path / "dqn"
    subprocess.run([mbtl_cli, "train", "--env", "traffic-signal", "--context", "cars=600",
                    "--algo", "dqn-episodic", "--seed", "3", "--hp", "total_episodes=2",
                    "--hp", "gradient_steps=20", "--context-visible", "--out", str(policy)],
                   check=True, capture_output=True)
    cases = [
        ({"cars": 1000, "speed": 14.0, "length": 750.0}, "cycle"),
        ({"cars": 600, "speed": 8.0, "length": 300.0}, "random:5"),
        ({"cars": 600, "speed": 14.0, "length": 750.0}, str(policy)),
    ]
    for ctx, name in cases:
        want = libsumo_episode(sumo_check, tmp_path, ctx, name)
        got = rollout(mbtl_cli, sumo_binary, ctx, name)
        assert {k: got[k] for k in KEYS} == {k: want[k] for k in KEYS}, (ctx, name)
        assert got["inserted"] == ctx["cars"]


def test_fixed_semantics_in_sumo_change_the_bookkeeping_only(mbtl_cli, sumo_binary):
    ctx = {"cars": 400, "speed": 14.0, "length": 750.0}
    ref = rollout(mbtl_cli, sumo_binary, ctx, "cycle", "reference")
    fixed = rollout(mbtl_cli, sumo_binary, ctx, "cycle", "fixed")
    # The same simulation: same counts; the vehicle averages differ by their divisor only
    # (5400 steps under the authors' bookkeeping, the decisions taken under the fixed one).
    for k in ["decisions", "inserted", "arrived", "vehicle_steps", "mean_vehicle_waiting"]:
        assert fixed[k] == ref[k], k
    for k in ["avg_current_veh", "avg_passed_veh"]:
        assert fixed[k] * fixed["decisions"] == pytest.approx(ref[k] * 5400, rel=1e-12), k
    # Stale waiting records (vehicles that left between decisions) only add under the
    # authors' bookkeeping.
    assert fixed["avg_waiting"] * fixed["decisions"] <= ref["avg_waiting"] * 5400 + 1e-9


def rust_table(root, name):
    """The rows of mbtl-traffic's `pub const NAME` table in network.rs, one line each."""
    source = (root / "crates" / "mbtl-traffic" / "src" / "network.rs").read_text().splitlines()
    start = next(i for i, line in enumerate(source) if line.startswith(f"pub const {name}"))
    end = next(i for i in range(start, len(source)) if source[i] == "];")
    return source[start + 1:end]


def test_the_junction_crossings_are_netconverts(sumo_check, root, capsys):
    # mbtl-traffic's CROSSINGS (the `yield` junction rule's data) against the table derived
    # afresh from the net SUMO's netconvert builds: its foes and its internal lanes' shapes.
    sumo_check.crossings()
    derived = capsys.readouterr().out.splitlines()
    assert rust_table(root, "CROSSINGS") == derived
    assert len(derived) == 20


def test_compare_junctions_prints_only_the_bands_that_split_the_rows(sumo_check, capsys):
    # Synthetic rows: the summary's arithmetic and its band choice, without running SUMO.
    def row(speed, junction, waiting):
        metrics = {"avg_waiting": waiting, "avg_current_veh": 1.0, "vehicle_steps": 1.0, "arrived": 1.0}
        sumo = {"avg_waiting": 10.0, "avg_current_veh": 1.0, "vehicle_steps": 1.0, "arrived": 1.0}
        return {"context": "speed", "cars": 1000, "speed": speed, "length": 750.0, "policy": "cycle",
                "seed": 10000, "junction": junction, "mbtl": metrics, "sumo": sumo}

    # One grid at 14 m/s: the "speed > 2.5 m/s" band would repeat "all rows".
    rows = [row(14.0, "open", 12.0), row(14.0, "yield", 11.0)]
    sumo_check.compare_junctions(rows, ["open", "yield"])
    out = capsys.readouterr().out
    assert "speed > 2.5 m/s" not in out and "all rows: 1 rows" in out
    assert "open +20.0% (|20.0%|), yield +10.0% (|10.0%|); yield nearer on 1, farther on 0" in out

    # Two speeds: both populated bands print, the empty one does not.
    rows += [row(2.0, "open", 5.0), row(2.0, "yield", 9.0)]
    sumo_check.compare_junctions(rows, ["open", "yield"])
    out = capsys.readouterr().out
    assert "1 < speed <= 2.5 m/s: 1 rows" in out and "speed > 2.5 m/s: 1 rows" in out
    assert "speed <= 1 m/s" not in out and "all rows: 2 rows" in out


def test_the_junction_right_of_way_is_netconverts(sumo_check, root, capsys):
    # mbtl-traffic's RESPONSES (the `priority` junction rule's data) against the `response`
    # strings of the net SUMO's netconvert builds.
    sumo_check.responses()
    derived = capsys.readouterr().out.splitlines()
    assert rust_table(root, "RESPONSES") == derived
    assert len(derived) == 20
    # N and S straight and right turns yield to no one (the N-S road ranks first).
    assert all(derived[link] == "    0b" + "0" * 20 + "," for link in [0, 1, 2, 3, 10, 11, 12, 13])


def test_sumo_refuses_insertions_where_measured(sumo_check):
    # crates/mbtl-traffic/tests/sumo_refusals.csv holds what SUMO answered when the insertion
    # refusal rule was measured (mbtl-traffic's refuses_departure is tested on the same rows):
    # SUMO must still answer so, on both sides of each boundary.
    points = sumo_check.refusal_points()
    got = sumo_check.refusals([p[:4] for p in points])
    assert [p[4] for p in points] == got
    assert 10 <= sum(got) < len(got)
