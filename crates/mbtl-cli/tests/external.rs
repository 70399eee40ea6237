//! The external-trainer protocol end to end, with the plain-Python trainer of
//! `examples/external/` and small misbehaving trainers written here: online runs and matrices
//! on threads, processes and a Slurm array agree; a SIGKILLed run resumes to the same result;
//! every kind of bad result fails its attempt with the job, the file and the field, is never
//! stored, and is retried as configured; a hung trainer is killed with everything it started.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{
    mbtl, read, run_err, run_ok, running, spawn_run, status_json, trainings, wait_for, Scratch,
};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .canonicalize()
        .unwrap()
}

/// The shipped example, with six tasks and the trainer given by `command` (TOML array text).
fn experiment(command: &str, extra_learner: &str) -> String {
    let text = std::fs::read_to_string(repo("examples/external/slider.toml")).unwrap();
    let text = text
        .replace("n = 12", "n = 6")
        .replace(
            "command = [\"python3\", \"toy_trainer.py\"]",
            &format!("command = {command}"),
        )
        .replace("timeout = 120", "timeout = 60")
        .replace("retries = 1", "retries = 0");
    assert!(text.contains(&format!("command = {command}")));
    text.replace("[eval]", &format!("{extra_learner}\n\n[eval]"))
}

fn toy() -> String {
    format!(
        "[\"python3\", \"{}\"]",
        repo("examples/external/toy_trainer.py").display()
    )
}

fn go(cmd: &str, exp: &Path, dir: &Path, extra: &[&str]) -> std::process::Output {
    run_ok(
        mbtl()
            .arg(cmd)
            .arg(exp)
            .arg("--out")
            .arg(dir)
            .args(["--no-report", "-q"])
            .args(extra),
    )
}

#[test]
fn the_shipped_example_runs_as_it_is() {
    let s = Scratch::new("ext-example");
    let dir = s.path("run");
    let out = run_ok(
        mbtl()
            .arg("run")
            .arg(repo("examples/external/slider.toml"))
            .arg("--out")
            .arg(&dir)
            .arg("-q"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("mbtl-gp") && stdout.contains("report:"),
        "{stdout}"
    );
    // The trainer's own files sit in the job's folder; curves and artifacts are in the store.
    let job_dir = dir.join("artifacts/trial0/task0000");
    for f in ["job.json", "result.json", "policy.json", "stderr.log"] {
        assert!(job_dir.join(f).is_file(), "{f} missing");
    }
    let job: serde_json::Value = serde_json::from_str(&read(&job_dir.join("job.json"))).unwrap();
    assert_eq!(job["schema"], "mbtl.external-job");
    assert_eq!(job["targets"].as_array().unwrap().len(), 12);
    assert_eq!(job["train_contexts"][0]["mass"], 0.1);
    assert_eq!(job["hyperparameters"]["iterations"], 8);
    let st = status_json(&dir);
    assert_eq!(st["complete"], true);
    assert_eq!(st["attempts"]["failed"], 0);
    assert!(dir.join("report/index.html").is_file());
}

#[test]
fn threads_processes_and_a_slurm_array_give_the_same_matrix_and_curves() {
    let s = Scratch::new("ext-agree");
    let exp = s.write("exp.toml", &experiment(&toy(), ""));
    let threads = s.path("threads");
    go("matrix", &exp, &threads, &["--workers", "2"]);
    let processes = s.path("processes");
    go(
        "matrix",
        &exp,
        &processes,
        &["--workers", "2", "--processes"],
    );
    let csv = |d: &Path| read(&d.join("matrix_trial0.csv"));
    assert_eq!(csv(&threads), csv(&processes));

    // A Slurm array: each task runs `mbtl worker`, which runs the trainer.
    let array = s.path("array");
    run_ok(mbtl().arg("slurm").arg(&exp).arg("--out").arg(&array));
    for i in 0..6 {
        run_ok(
            Command::new("bash")
                .arg(array.join("slurm.sbatch"))
                .env("SLURM_ARRAY_TASK_ID", i.to_string()),
        );
    }
    go("matrix", &exp, &array, &[]);
    assert_eq!(csv(&threads), csv(&array));
    // Every series the trainer reported is stored, the same however the jobs ran.
    let curves = |d: &Path| {
        run_ok(
            mbtl()
                .arg("status")
                .arg(d)
                .arg("--curves")
                .arg(d.join("c.csv")),
        );
        read(&d.join("c.csv"))
    };
    let (a, b) = (curves(&threads), curves(&array));
    assert_eq!(a, b);
    assert!(
        a.contains(",0,return,") && a.contains(",0,elite_mean,"),
        "{a}"
    );

    // Online runs read the rows the matrix trained (nothing new), and processes agree.
    go("run", &exp, &threads, &["--workers", "2"]);
    let online = s.path("online-processes");
    go("run", &exp, &online, &["--workers", "2", "--processes"]);
    assert_eq!(
        read(&threads.join("results.json")),
        read(&online.join("results.json"))
    );
}

#[test]
fn a_sigkilled_run_resumes_to_the_uninterrupted_result() {
    let s = Scratch::new("ext-kill");
    // Slow enough to be killed mid-job: each job sleeps before the trainer starts.
    let slow = format!(
        "[\"sh\", \"-c\", \"sleep 0.3; exec python3 {} \\\"$0\\\"\"]",
        repo("examples/external/toy_trainer.py").display()
    );
    let exp = s.write("exp.toml", &experiment(&slow, ""));
    let reference = s.path("reference");
    go("run", &exp, &reference, &["--workers", "2"]);

    let dir = s.path("killed");
    let mut child = spawn_run(&exp, &dir, 2);
    // Two stored and one running (on a loaded machine the coordinator can be between jobs).
    wait_for(
        &mut child,
        || trainings(&dir) >= 2 && running(&dir) >= 1,
        Duration::from_secs(60),
    );
    // SIGKILL, with trainers running.
    let _ = child.kill();
    let _ = child.wait();
    let stored = trainings(&dir);
    assert!(
        (2..7).contains(&stored),
        "killed mid-run: {stored} trainings"
    );
    // The store still records the killed jobs as running; status lists them with their age.
    let st = status_json(&dir);
    let listed = st["running"].as_array().unwrap();
    assert_eq!(
        listed.len() as u64,
        st["attempts"]["running"].as_u64().unwrap()
    );
    assert!(!listed.is_empty());
    for r in listed {
        assert!(r["source"]["task"].as_u64().unwrap() < 12, "{r}");
        assert!(r["elapsed_seconds"].as_f64().unwrap() >= 0.0, "{r}");
    }
    let text = run_ok(mbtl().arg("status").arg(&dir));
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("\nrunning: trial 0, task "),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    go("run", &exp, &dir, &["--workers", "2"]);
    assert!(status_json(&dir)["running"].as_array().unwrap().is_empty());
    assert_eq!(
        read(&reference.join("results.json")),
        read(&dir.join("results.json"))
    );
    assert!(
        status_json(&dir)["attempts"]["interrupted"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

/// A trainer that reads the job file and writes what `body` makes of it (Python).
fn trainer(s: &Scratch, name: &str, body: &str) -> String {
    let script = format!(
        "import json, os, sys, time, subprocess\njob = json.load(open(sys.argv[-1]))\nn = len(job['targets'])\ndef result(targets, **kw):\n    r = dict(schema='mbtl.external-result', version=1, job=job['job'], targets=targets, **kw)\n    open(job['result_file'], 'w').write(json.dumps(r))\n{body}\n"
    );
    let path = s.write(name, &script);
    format!("[\"python3\", \"{}\"]", path.display())
}

#[test]
fn bad_results_fail_the_attempt_with_job_file_and_field_and_store_nothing() {
    let s = Scratch::new("ext-bad");
    let cases = [
        (
            "exits.py",
            "print('loss exploded at step 1234', file=sys.stderr); sys.exit(3)",
            vec!["exited with status 3", "loss exploded at step 1234", "stderr.log"],
        ),
        (
            "nan.py",
            "open(job['result_file'], 'w').write(json.dumps(dict(schema='mbtl.external-result', version=1, job=job['job'], targets=[float('nan')] * n)))",
            vec!["result.json", "NaN or Infinity"],
        ),
        (
            "short.py",
            "result([1.0] * (n - 1))",
            vec!["result.json", "targets: expected 6 entries", "got 5"],
        ),
        (
            "field.py",
            "result([1.0] * (n - 1) + [{'mean': 'high'}])",
            vec!["result.json", "targets[5].mean", "\"high\""],
        ),
        (
            "other-job.py",
            "job['job'] = 't9-s9'; result([1.0] * n)",
            vec!["result.json", "job: expected", "another job"],
        ),
        (
            "silent.py",
            "pass",
            vec!["result.json", "without writing it"],
        ),
    ];
    for (name, body, wanted) in cases {
        let exp = s.write(
            &format!("{name}.toml"),
            &experiment(&trainer(&s, name, body), ""),
        );
        let dir = s.path(&format!("{name}-run"));
        let err = run_err(mbtl().arg("matrix").arg(&exp).arg("--out").arg(&dir).args([
            "--workers",
            "1",
            "--no-report",
            "-q",
        ]));
        assert!(err.contains("job t0-s0"), "{name}: {err}");
        for w in &wanted {
            assert!(err.contains(w), "{name}: '{w}' not in\n{err}");
        }
        let st = status_json(&dir);
        assert_eq!(st["trainings"], 0, "{name}: nothing stored");
        assert_eq!(st["attempts"]["failed"], 1, "{name}");
        let failure = st["recent_failures"][0]["error"].as_str().unwrap();
        assert!(failure.contains(wanted[0]), "{name}: {failure}");
        let text =
            String::from_utf8_lossy(&run_ok(mbtl().arg("status").arg(&dir)).stdout).into_owned();
        assert!(
            text.contains("recent failures") && text.contains(wanted[0]),
            "{text}"
        );
    }
}

#[test]
fn failed_attempts_are_retried_and_a_hung_trainer_is_killed_whole() {
    let s = Scratch::new("ext-retry");
    // Fails the first attempt of every job (a marker in its private folder), then succeeds.
    let flaky = trainer(
        &s,
        "flaky.py",
        "mark = os.path.join(job['output_dir'], 'tried')\nif not os.path.exists(mark):\n    open(mark, 'w').close(); print('first attempt fails', file=sys.stderr); sys.exit(1)\nresult([float(job['task'] or 0)] * n)",
    );
    let exp = s.write(
        "flaky.toml",
        &experiment(&flaky, "").replace("retries = 0", "retries = 1"),
    );
    let dir = s.path("flaky-run");
    let out = go("matrix", &exp, &dir, &["--workers", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("trying again").count(), 6, "{err}");
    let st = status_json(&dir);
    assert_eq!(
        (st["trainings"].as_u64(), st["attempts"]["failed"].as_u64()),
        (Some(6), Some(6))
    );
    assert!(read(&dir.join("matrix_trial0.csv")).contains("5.0"));

    // Without retries the same trainer fails the run; raising the count is not a change of
    // experiment, so the folder resumes.
    let exp0 = s.write("flaky0.toml", &experiment(&flaky, ""));
    let dir0 = s.path("flaky0-run");
    let err = run_err(
        mbtl()
            .arg("matrix")
            .arg(&exp0)
            .arg("--out")
            .arg(&dir0)
            .args(["--workers", "1", "--no-report", "-q"]),
    );
    assert!(
        err.contains("first attempt fails") && err.contains("giving up"),
        "{err}"
    );
    go("matrix", &exp, &dir0, &["--workers", "1"]);

    // A trainer that hangs, with a child of its own: both are killed at the timeout.
    let pid_file = s.path("grandchild.pid");
    let hang = trainer(
        &s,
        "hang.py",
        &format!(
            "p = subprocess.Popen(['sleep', '300'])\nopen('{}', 'w').write(str(p.pid))\ntime.sleep(300)",
            pid_file.display()
        ),
    );
    let exp = s.write(
        "hang.toml",
        &experiment(&hang, "").replace("timeout = 60", "timeout = 1"),
    );
    let start = Instant::now();
    let err = run_err(
        mbtl()
            .arg("matrix")
            .arg(&exp)
            .arg("--out")
            .arg(s.path("hang-run"))
            .args(["--workers", "1", "--no-report", "-q"]),
    );
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "the timeout ended it"
    );
    assert!(
        err.contains("timeout of 1 s") && err.contains("killed"),
        "{err}"
    );
    let pid = read(&pid_file).trim().to_string();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|st| st.split_whitespace().nth(2) != Some("Z"))
            .unwrap_or(false)
    };
    let start = Instant::now();
    while alive() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(),
        "the trainer's own child {pid} outlived the timeout"
    );
}

#[test]
fn experiments_that_mix_up_the_learner_kinds_are_refused_before_anything_is_written() {
    let s = Scratch::new("ext-config");
    let cases = [
        (
            experiment(&toy(), "")
                .replace("kind = \"command\"", "kind = \"command\"\nalgo = \"ppo\""),
            "learner.algo",
        ),
        (
            experiment(&toy(), "").replace("kind = \"command\"\n", ""),
            "learner.algo",
        ),
        (experiment("[]", ""), "learner.command"),
        (
            experiment(&toy(), "").replace("timeout = 60", "timeout = -1"),
            "learner.timeout",
        ),
        (
            experiment(&toy(), "").replace("bounds = [-100.0, 0.0]", ""),
            "select.bounds",
        ),
        (
            experiment(&toy(), "").replace("lower = 0.05", "lower = 2.0"),
            "env.features",
        ),
        (
            experiment(&toy(), "").replace("lo = 0.1", "lo = 0.01"),
            "space",
        ),
    ];
    // An environment nobody registered in this executable: the error lists those it knows.
    let unknown = "name = \"u\"\n[env]\nname = \"double-integrator\"\n[[space.axes]]\nfeature = \"mass\"\nspacing = \"values\"\nvalues = [1.0]\n[learner]\nalgo = \"ppo\"\n[select]\nstrategies = [\"random\"]\nbudget = 1\nbounds = [0.0, 1.0]\n";
    let cases: Vec<(String, &str)> = cases
        .into_iter()
        .chain([(
            unknown.to_string(),
            "env.name: unknown environment 'double-integrator'; known environments: cartpole",
        )])
        .collect();
    for (i, (text, field)) in cases.iter().enumerate() {
        let exp = s.write(&format!("bad{i}.toml"), text);
        let dir = s.path(&format!("bad{i}"));
        let err = run_err(mbtl().arg("run").arg(&exp).arg("--out").arg(&dir));
        assert!(
            err.contains(&format!("bad{i}.toml")) && err.contains(field),
            "case {i}: {err}"
        );
        assert!(!dir.exists(), "case {i}: nothing written");
    }
}
