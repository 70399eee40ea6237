//! The `mbtl` binary end to end: exit codes, files written, JSON shape, error messages.

use std::path::{Path, PathBuf};

mod common;
use common::{mbtl, run_err, run_ok, Scratch};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[test]
fn env_replay_exits_zero_on_an_exact_match() {
    let out = run_ok(
        mbtl()
            .args(["env", "conformance", "--trajectory"])
            .arg(repo(
                "crates/mbtl-env/tests/fixtures/reference-trajectories/acrobot__mass2_2.0.csv",
            )),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("exact match"));
}

#[test]
fn env_rollout_writes_traffic_metrics_and_refuses_bad_contexts() {
    let dir = Scratch::new("rollout");
    let args = [
        "env",
        "rollout",
        "--env",
        "traffic-signal",
        "--context",
        "cars=200,length=300",
        "--policy",
        "random:1",
        "--episodes",
        "2",
        "--semantics",
        "reference",
    ];
    let out = run_ok(mbtl().args(args));
    assert!(String::from_utf8_lossy(&out.stdout).contains("random:1"));
    // --json prints the same episodes as one document instead of the table.
    let out = run_ok(mbtl().args(args).arg("--json"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["policy"], "random:1");
    let eps = doc["episodes"].as_array().unwrap();
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[1]["seed"], 10_001);
    assert_eq!(eps[0]["inserted"], 200);
    assert!(eps[0]["avg_reward"].as_f64().unwrap() <= 0.0);
    // --json FILE writes that document to FILE and prints nothing; a FILE in a missing folder
    // or a folder is refused before any episode runs, and nothing is written.
    let file = dir.path("rollout.json");
    let out = run_ok(mbtl().args(args).arg("--json").arg(&file));
    assert!(out.stdout.is_empty());
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written["episodes"], doc["episodes"]);
    let missing = dir.path("no-such-folder").join("rollout.json");
    let e = run_err(mbtl().args(args).arg("--json").arg(&missing));
    assert!(
        e.contains("no folder") && e.contains("no-such-folder"),
        "{e}"
    );
    assert!(!missing.parent().unwrap().exists());
    let e = run_err(mbtl().args(args).arg("--json").arg(dir.path("")));
    assert!(e.contains("is a folder, not a file"), "{e}");
    for (args, says) in [
        (["--context", "cars=200,lanes=3"], "keys are cars"),
        (["--context", "speed=-2"], "speed_limit = -2"),
        (["--policy", "constant:7"], "constant:7"),
        (["--semantics", "carl"], "reference and fixed"),
        (["--env", "cartpole"], "fixed policies are traffic-signal's"),
        (
            ["--policy", "no/such/folder"],
            "no such policy file or folder",
        ),
    ] {
        let e = run_err(mbtl().args(["env", "rollout"]).args(args));
        assert!(e.contains(says), "{args:?}: {e}");
    }
    // The SUMO backend: a missing SUMO is named, and it is traffic-signal's only.
    for (args, says) in [
        (
            ["--backend", "sumo", "--sumo", "/nonexistent/bin/sumo"],
            "SUMO not found: looked for /nonexistent/bin/sumo",
        ),
        (
            ["--backend", "native", "--sumo", "/nonexistent/bin/sumo"],
            "--sumo PATH is for --backend sumo",
        ),
        (
            ["--env", "cartpole", "--backend", "sumo"],
            "--backend sumo and --sumo are traffic-signal's",
        ),
        // The junction rule is the native simulator's.
        (
            ["--backend", "sumo", "--junction", "yield"],
            "--junction yield is a rule of the native simulator",
        ),
        (
            ["--env", "cartpole", "--junction", "yield"],
            "--junction yield is traffic-signal's",
        ),
        (
            ["--junction", "give-way", "--backend", "native"],
            "unknown junction rule `give-way` (open, yield, priority)",
        ),
        // So is keeping right.
        (
            ["--backend", "sumo", "--keep-right", "--episodes=1"],
            "--keep-right is a rule of the native simulator",
        ),
        (
            ["--env", "cartpole", "--keep-right", "--episodes=1"],
            "--keep-right is traffic-signal's",
        ),
    ] {
        let e = run_err(mbtl().args(["env", "rollout"]).args(args));
        assert!(e.contains(says), "{args:?}: {e}");
    }
    // The same simulator is an environment the learners train on, one step per decision.
    let policy = dir.path("dqn");
    run_ok(
        mbtl()
            .args(["train", "--env", "traffic-signal", "--context", "cars=100"])
            .args([
                "--algo",
                "dqn",
                "--total-timesteps",
                "600",
                "--seed",
                "1",
                "--out",
            ])
            .arg(&policy),
    );
    let out = run_ok(mbtl().args(["eval", "--policy"]).arg(&policy).args([
        "--contexts",
        "cars=50",
        "--episodes",
        "2",
    ]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("traffic-signal[physical] cars=50"));
    // A trained policy drives the rollout's metrics loop too.
    let rollout = || {
        let mut c = mbtl();
        c.args(["env", "rollout", "--context", "cars=100", "--policy"])
            .arg(&policy);
        c
    };
    let out = run_ok(&mut rollout());
    assert!(String::from_utf8_lossy(&out.stdout).contains("100 cars"));
    let out = run_ok(rollout().arg("--json"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["episodes"][0]["inserted"], 100);
    assert_eq!(doc["junction"], "open");
    assert_eq!(doc["keep_right"], false);
    let out = run_ok(rollout().args(["--json", "--keep-right"]));
    let kept: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(kept["keep_right"], true);
    assert_eq!(kept["episodes"][0]["inserted"], 100);
    for rule in ["yield", "priority"] {
        let out = run_ok(rollout().args(["--json", "--junction", rule]));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["junction"], rule);
        assert_eq!(doc["episodes"][0]["inserted"], 100);
    }
}

#[test]
fn env_rollout_of_a_trained_policy_gives_the_episodes_eval_averages() {
    let dir = Scratch::new("rollout-any");
    let policy = dir.path("ppo");
    run_ok(
        mbtl()
            .args(["train", "--env", "cartpole", "--algo", "ppo"])
            .args(["--total-timesteps", "4096", "--seed", "2", "--out"])
            .arg(&policy),
    );
    let out = run_ok(
        mbtl()
            .args([
                "env",
                "rollout",
                "--env",
                "cartpole",
                "--context",
                "length=0.8",
            ])
            .args(["--episodes", "4", "--seed", "3", "--policy"])
            .arg(&policy)
            .arg("--json"),
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let eps = doc["episodes"].as_array().unwrap();
    let mean = eps.iter().map(|e| e["ret"].as_f64().unwrap()).sum::<f64>() / 4.0;
    assert!(eps
        .iter()
        .all(|e| e["ret"] == e["score"] && e["length"].as_u64() > Some(0)));
    let out = run_ok(
        mbtl()
            .args([
                "eval",
                "--contexts",
                "length=0.8",
                "--episodes",
                "4",
                "--seed",
                "3",
            ])
            .arg("--json")
            .arg("--policy")
            .arg(&policy),
    );
    let eval: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(eval[0]["mean"].as_f64().unwrap(), mean);
    let e = run_err(
        mbtl()
            .args(["env", "rollout", "--env", "pendulum", "--policy"])
            .arg(&policy),
    );
    assert!(e.contains("trained on cartpole"), "{e}");
}

#[test]
fn replay_writes_table_files_and_json() {
    let dir = Scratch::new("replay");
    let json = dir.path("results.json");
    let out = run_ok(
        mbtl()
            .arg("replay")
            .arg(repo(
                "crates/mbtl-select/tests/fixtures/mbtl/synthA_N30_linear_transfer_matrix.csv",
            ))
            .args([
                "--budget",
                "6",
                "--slope",
                "0.02",
                "--strategy",
                "mbtl-gp,pseudogreedy,random,independent",
            ])
            .arg("--out")
            .arg(&dir.0)
            .arg("--json"),
    );
    // The printed JSON is the folder's results.json.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        std::fs::read_to_string(&json).unwrap().trim()
    );
    for f in ["curves.csv", "orders.csv", "curves.png", "curves.svg"] {
        assert!(dir.path(f).metadata().unwrap().len() > 100, "{f}");
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 4);
    let gp = &list[0];
    assert_eq!(gp["strategy"], "mbtl-gp");
    let order: Vec<u64> = gp["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![14, 24, 2, 25, 3, 23],
        "the official code's first six choices"
    );
    assert_eq!(gp["curve"].as_array().unwrap().len(), 6);
    let png = std::fs::read(dir.path("curves.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
}

#[test]
fn replay_says_what_the_bounds_leave_outside_the_unit_interval_and_what_clipping_changed() {
    let matrix =
        repo("crates/mbtl-select/tests/fixtures/mbtl/synthA_N30_linear_transfer_matrix.csv");
    let replay = |normalize: &str| {
        let out = run_ok(
            mbtl()
                .arg("replay")
                .arg(&matrix)
                .args(["--budget", "4", "--strategy", "random,independent"])
                .arg(format!("--normalize={normalize}"))
                .arg("--json"),
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let curves: Vec<f64> = v
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["curve"].as_array().unwrap().clone())
            .map(|x| x.as_f64().unwrap())
            .collect();
        (String::from_utf8_lossy(&out.stderr).into_owned(), curves)
    };
    let (said, curves) = replay("0.3,0.7");
    let count = |said: &str| {
        said.split(": ")
            .nth(2)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no count in {said}"))
    };
    assert!(
        said.starts_with("warning: ") && said.contains("so V_k can leave [0, 1]"),
        "{said}"
    );
    assert!(
        curves.iter().any(|v| !(0.0..=1.0).contains(v)),
        "{curves:?}"
    );
    let (said_clipped, clipped) = replay("0.3,0.7,clip");
    assert!(
        said_clipped.starts_with("note: ") && said_clipped.contains("and were clipped to it"),
        "{said_clipped}"
    );
    assert_eq!(
        count(&said),
        count(&said_clipped),
        "the same cells, counted before clipping"
    );
    assert!(
        clipped.iter().all(|v| (0.0..=1.0).contains(v)),
        "{clipped:?}"
    );
}

#[test]
fn bad_input_is_a_clear_error_and_nonzero_exit() {
    let dir = Scratch::new("bad");
    let ragged = dir.path("ragged.csv");
    std::fs::write(&ragged, "1,2\n3\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "replay".into(),
                ragged.display().to_string(),
                "--budget".into(),
                "1".into(),
            ],
            "row 1",
        ),
        (
            vec![
                "replay".into(),
                ragged.display().to_string(),
                "--budget".into(),
                "1".into(),
                "--strategy".into(),
                "nope".into(),
            ],
            "nope",
        ),
        (vec!["synth".into(), "--family".into(), "9d".into()], "9d"),
    ];
    for (args, want) in cases {
        let err = run_err(mbtl().args(&args).arg("--out").arg(&dir.0));
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A replay that fails writes nothing.
    assert!(!dir.path("curves.csv").exists());
}

#[test]
fn envs_lists_every_environment_as_json() {
    let out = run_ok(mbtl().args(["envs", "--json", "--semantics", "carl"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["env"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cartpole",
            "pendulum",
            "mountaincar",
            "mountaincarcontinuous",
            "acrobot"
        ]
    );
    let pendulum = &v[1]["features"];
    assert!(
        pendulum
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "gravity"),
        "CARL's dead feature is listed"
    );
}

#[test]
fn train_over_a_context_pool_records_the_pool_and_refuses_bad_members() {
    let dir = Scratch::new("pool");
    run_ok(
        mbtl()
            .args(["train", "--env", "cartpole", "--algo", "ppo", "--seed", "0"])
            .args(["--context-visible", "--hp", "total_timesteps=2048"])
            .args(["--pool", "length=0.25", "--pool", "length=1.0"])
            .arg("--out")
            .arg(dir.path("p")),
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path("p/train.json")).unwrap()).unwrap();
    assert_eq!(summary["pool"].as_array().unwrap().len(), 2);
    let bad = mbtl()
        .args([
            "train",
            "--env",
            "cartpole",
            "--seed",
            "0",
            "--pool",
            "length=-1",
        ])
        .arg("--out")
        .arg(dir.path("q"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("length"));
    assert!(!dir.path("q").exists(), "nothing is written for a bad pool");
}

#[test]
fn bench_nn_measures_every_learner_shape() {
    let out = run_ok(mbtl().args(["bench", "nn", "--seconds", "0.01"]));
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 6, "{text}");
    for row in rows {
        // train µs, GFLOP/s, forward µs, GFLOP/s, act µs: all measured, all positive.
        let numbers: Vec<f64> = row
            .split_whitespace()
            .rev()
            .take(5)
            .map(|v| v.parse().unwrap())
            .collect();
        assert!(numbers.iter().all(|&v| v > 0.0), "{row}");
    }
}

#[test]
fn bench_traffic_times_every_case() {
    let out = run_ok(mbtl().args([
        "bench",
        "traffic",
        "--episodes",
        "1",
        "--repeats",
        "1",
        "--json",
    ]));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3]["episodes"], 50, "one per inflow context");
    for r in &rows {
        assert!(r["seconds_per_episode"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["vehicle_steps_per_second"].as_f64().unwrap() > 0.0, "{r}");
    }
}

#[test]
fn train_with_a_preset_and_periodic_evaluation_then_eval_reads_the_env_from_the_policy() {
    let s = Scratch::new("train-eval");
    let dir = s.path("pol");
    let out = run_ok(
        mbtl()
            .args([
                "train",
                "--env",
                "cartpole",
                "--context",
                "masscart=2",
                "--seed",
                "1",
            ])
            .args([
                "--algo",
                "dqn",
                "--preset",
                "sb3",
                "--total-timesteps",
                "3000",
            ])
            .args(["--eval-freq", "500", "--eval-episodes", "2", "--out"])
            .arg(&dir),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("kept the best evaluation"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("train.json")).unwrap()).unwrap();
    assert_eq!(summary["preset"], "sb3");
    assert_eq!(
        summary["env_steps"], 3000,
        "the steps trained, not the kept policy's"
    );
    assert_eq!(summary["evaluations"].as_array().unwrap().len(), 6);
    assert_eq!(
        summary["hyperparameters"]["batch_size"], 32,
        "SB3's default"
    );
    // No --env: the policy's environment, and its training context's semantics for --contexts.
    let out = run_ok(mbtl().arg("eval").arg("--policy").arg(&dir).args([
        "--contexts",
        "masscart=4",
        "--episodes",
        "2",
        "--json",
    ]));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["context"]["features"]["masscart"], 4.0, "{rows}");
    assert_eq!(rows[0]["context"]["semantics"], "physical");
    let err = run_err(
        mbtl()
            .arg("eval")
            .arg("--policy")
            .arg(&dir)
            .args(["--env", "pendulum"]),
    );
    assert!(err.contains("trained on cartpole, not pendulum"), "{err}");
}

#[test]
fn the_synthetic_demo_replays_every_strategy_on_three_trials() {
    let s = Scratch::new("demo-synth");
    let out = run_ok(
        mbtl()
            .args(["demo", "--synthetic", "--out"])
            .arg(s.path("d")),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 matrices of 512 tasks, K = 20"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.path("d/results.json")).unwrap()).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 7, "{names:?}");
    assert!(names.contains(&"mgp-mbtl") && names.contains(&"oracle"));
}

#[test]
#[cfg(unix)]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    // The reader closes its end before mbtl writes (`mbtl envs | head -0`): the write fails
    // with EPIPE, which panicked ("failed printing to stdout", exit 101) while SIGPIPE was
    // ignored.
    let mut child = mbtl()
        .arg("envs")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // SIGPIPE is 13 on Linux and the BSDs.
    assert!(
        out.status.success() || out.status.signal() == Some(13),
        "{:?}",
        out.status
    );
}
