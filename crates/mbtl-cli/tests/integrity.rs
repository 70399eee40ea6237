//! What a run folder promises, probed as a hostile user would: exact results across threads,
//! processes and Slurm; job identity; one writer; limits before allocation; names that stay
//! inside `runs/`; validation before anything is written; and clear errors for the small
//! things (each a regression test for an item of the run-folder integrity issue).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;
use common::{mbtl, quick, read, run_err, run_ok, spawn_run, trainings, wait_for, Scratch};

fn matrix(exp: &Path, dir: &Path, extra: &[&str]) {
    run_ok(
        mbtl()
            .arg("matrix")
            .arg(exp)
            .arg("--out")
            .arg(dir)
            .args(["--workers", "2", "--no-report", "-q"])
            .args(extra),
    );
}

/// Seven evaluation episodes: means such as 3305/7 whose shortest decimal has 17 digits.
fn unround(n: usize) -> String {
    quick(n).replace("episodes = 5", "episodes = 7")
}

/// A CartPole policy trained for 512 steps into `pol/` (for tests of `eval` and policy files).
fn tiny_policy(s: &Scratch) -> std::path::PathBuf {
    let dir = s.path("pol");
    run_ok(
        mbtl()
            .args(["train", "--env", "cartpole", "--seed", "0"])
            .args(["--total-timesteps", "512"])
            .arg("--out")
            .arg(&dir),
    );
    dir
}

#[test]
fn threads_processes_and_a_slurm_array_agree_byte_for_byte() {
    let s = Scratch::new("int-exact");
    let exp = s.write("exp.toml", &unround(3));
    let (threads, processes, array) = (s.path("t"), s.path("p"), s.path("a"));
    matrix(&exp, &threads, &[]);
    matrix(&exp, &processes, &["--processes"]);
    run_ok(mbtl().arg("slurm").arg(&exp).arg("--out").arg(&array));
    for i in 0..3 {
        run_ok(
            Command::new("bash")
                .arg(array.join("slurm.sbatch"))
                .env("SLURM_ARRAY_TASK_ID", i.to_string()),
        );
    }
    matrix(&exp, &array, &["--launcher", "false"]);
    let csv = |d: &Path| read(&d.join("matrix_trial0.csv"));
    assert!(
        csv(&threads).split(',').any(|v| v.trim().len() > 12),
        "the means are not short decimals: {}",
        csv(&threads)
    );
    assert_eq!(csv(&threads), csv(&processes));
    assert_eq!(csv(&threads), csv(&array));
    // Online results read the same rows.
    for d in [&threads, &processes, &array] {
        run_ok(
            mbtl()
                .arg("run")
                .arg(&exp)
                .arg("--out")
                .arg(d)
                .args(["-q", "--no-report"]),
        );
    }
    assert_eq!(
        read(&threads.join("results.json")),
        read(&processes.join("results.json"))
    );
    assert_eq!(
        read(&threads.join("results.json")),
        read(&array.join("results.json"))
    );
}

#[test]
fn foreign_jobs_and_results_are_refused_naming_both_experiments() {
    let s = Scratch::new("int-foreign");
    let exp = s.write("exp.toml", &quick(3));
    let dir = s.path("run");
    matrix(&exp, &dir, &[]);
    let policy = dir.join("policies/trial0/task0000.safetensors");
    let before = std::fs::read(&policy).unwrap();
    let csv = read(&dir.join("matrix_trial0.csv"));

    // The same jobs of another experiment (another seed), exported by `mbtl slurm`.
    let other = s.write("other.toml", &quick(3).replace("seed = 11", "seed = 12"));
    let odir = s.path("other");
    run_ok(mbtl().arg("slurm").arg(&other).arg("--out").arg(&odir));
    let foreign_job = odir.join("jobs/t0-s0.job.json");
    let err = run_err(
        mbtl()
            .arg("worker")
            .arg(&foreign_job)
            .arg("--run-dir")
            .arg(&dir)
            .arg("--out")
            .arg(dir.join("jobs/t0-s0.result.json")),
    );
    assert!(
        err.contains("belongs to experiment 'kill-test'")
            && err.contains("holds experiment 'kill-test'"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&policy).unwrap(),
        before,
        "nothing overwritten"
    );
    // A missing run folder is not created, and a trial that does not exist is refused.
    let missing = s.path("missing");
    let err = run_err(
        mbtl()
            .arg("worker")
            .arg(&foreign_job)
            .arg("--run-dir")
            .arg(&missing)
            .arg("--out")
            .arg(s.path("r.json")),
    );
    assert!(err.contains("no run store here"), "{err}");
    assert!(!missing.exists());
    let mut job: serde_json::Value = serde_json::from_str(&read(&foreign_job)).unwrap();
    job["trial"] = 99.into();
    let trial99 = s.write("t99.json", &job.to_string());
    let err = run_err(
        mbtl()
            .arg("worker")
            .arg(&trial99)
            .arg("--run-dir")
            .arg(&odir)
            .arg("--out")
            .arg(s.path("r.json")),
    );
    assert!(
        err.contains("trial 99") && err.contains("1 trials"),
        "{err}"
    );

    // A foreign result placed among the run's job files is refused, not ingested.
    run_ok(
        mbtl()
            .arg("worker")
            .arg(&foreign_job)
            .arg("--run-dir")
            .arg(&odir)
            .arg("--out")
            .arg(odir.join("jobs/t0-s0.result.json")),
    );
    let fresh = s.path("fresh");
    std::fs::create_dir_all(fresh.join("jobs")).unwrap();
    std::fs::copy(
        odir.join("jobs/t0-s0.result.json"),
        fresh.join("jobs/t0-s0.result.json"),
    )
    .unwrap();
    let err = run_err(
        mbtl()
            .arg("matrix")
            .arg(&exp)
            .arg("--out")
            .arg(&fresh)
            .args(["-q", "--no-report"]),
    );
    assert!(
        err.contains("t0-s0.result.json") && err.contains("belongs to experiment identity"),
        "{err}"
    );
    assert_eq!(csv, read(&dir.join("matrix_trial0.csv")));
}

#[test]
fn one_writer_per_run_folder_while_status_reads_on() {
    let s = Scratch::new("int-lock");
    let exp = s.write(
        "exp.toml",
        &quick(6).replace("total_timesteps = 3000", "total_timesteps = 30000"),
    );
    let dir = s.path("run");
    let mut first = spawn_run(&exp, &dir, 1);
    wait_for(&mut first, || trainings(&dir) >= 1, Duration::from_secs(60));
    assert!(first.try_wait().unwrap().is_none(), "still running");
    let err = run_err(mbtl().arg("run").arg(&exp).arg("--out").arg(&dir).arg("-q"));
    assert!(
        err.contains("is in use by another mbtl") && err.contains(&format!("pid={}", first.id())),
        "{err}"
    );
    // Status reads while the run writes, and changes nothing.
    let out = run_ok(mbtl().arg("status").arg(&dir));
    assert!(String::from_utf8_lossy(&out.stdout).contains("trainings finished"));
    // A SIGKILLed holder leaves nothing stuck: the next run takes over and finishes.
    let _ = first.kill();
    let _ = first.wait();
    run_ok(
        mbtl()
            .arg("run")
            .arg(&exp)
            .arg("--out")
            .arg(&dir)
            .args(["-q", "--no-report"]),
    );
    assert!(dir.join("results.json").is_file());

    // An empty store file is reported, not rewritten.
    let empty = s.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("run.sqlite"), b"").unwrap();
    for cmd in ["status", "report"] {
        let err = run_err(mbtl().arg(cmd).arg(&empty));
        assert!(err.contains("holds no experiment"), "{cmd}: {err}");
    }
    assert_eq!(
        std::fs::metadata(empty.join("run.sqlite")).unwrap().len(),
        0
    );
}

#[test]
fn sizes_are_limited_before_anything_is_allocated() {
    let s = Scratch::new("int-limits");
    let toml_cases = [
        (
            quick(3).replace("n = 3", "n = 1000000000"),
            "space.axes[0]",
            "at most 100000",
        ),
        (
            quick(3).replace("n = 3", "n = 18446744073709551615"),
            "space.axes[0]",
            "at most 100000",
        ),
        (
            quick(3).replace("seed = 11", "seed = 11\ntrials = 1000000000000"),
            "trials",
            "between 1 and 10000",
        ),
        (
            quick(3).replace("episodes = 5", "episodes = 1000000000000"),
            "eval.episodes",
            "between 1 and 1000000",
        ),
        (
            quick(3).replace(
                "n_epochs = 5",
                "n_epochs = 5, hidden = [100000000, 100000000]",
            ),
            "learner.hyperparameters",
            "hidden",
        ),
        (
            quick(3).replace(
                "n_epochs = 5",
                "n_epochs = 5, hidden = [60000, 60000, 60000]",
            ),
            "learner.hyperparameters",
            "parameters",
        ),
        (
            quick(3).replace("n_epochs = 5", "n_epochs = 5, n_envs = 1000000000"),
            "learner.hyperparameters",
            "n_envs",
        ),
    ];
    for (i, (text, field, why)) in toml_cases.iter().enumerate() {
        let exp = s.write(&format!("l{i}.toml"), text);
        let err = run_err(
            mbtl()
                .arg("run")
                .arg(&exp)
                .arg("--out")
                .arg(s.path(&format!("l{i}"))),
        );
        assert!(
            err.contains(&format!("l{i}.toml")) && err.contains(field) && err.contains(why),
            "case {i}: {err}"
        );
        assert!(
            !s.path(&format!("l{i}")).exists(),
            "case {i}: nothing written"
        );
    }
    // Command-line sizes.
    let m = s.write("m.csv", "1,0\n0,1\n");
    let policy = tiny_policy(&s);
    for (args, why) in [
        (
            vec![
                "eval",
                "--policy",
                policy.to_str().unwrap(),
                "--env",
                "cartpole",
                "--episodes",
                "1000000000000",
            ],
            "between 1 and 1000000 episodes",
        ),
        (
            vec![
                "replay",
                m.to_str().unwrap(),
                "--budget",
                "1",
                "--strategy",
                "random",
                "--random-repeats",
                "1000000000000",
            ],
            "--random-repeats",
        ),
        (
            vec![
                "replay",
                m.to_str().unwrap(),
                "--budget",
                "1",
                "--strategy",
                "random",
                "--random-repeats",
                "0",
            ],
            "--random-repeats",
        ),
        (
            vec![
                "replay",
                m.to_str().unwrap(),
                "--budget",
                "1",
                "--strategy",
                "m-mbtl",
                "--candidates",
                "0",
            ],
            "candidates '0'",
        ),
    ] {
        let err = run_err(mbtl().args(&args));
        assert!(err.contains(why), "{args:?}: {err}");
    }
    // An .npy header that claims (2^32, 2^32) float64s in a file of a few bytes.
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let mut header =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }".to_string();
    while !(npy.len() + 2 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    npy.extend([0u8; 16]);
    let huge = s.path("huge.npy");
    std::fs::write(&huge, npy).unwrap();
    let err =
        run_err(
            mbtl()
                .arg("replay")
                .arg(&huge)
                .args(["--budget", "1", "--strategy", "random"]),
        );
    assert!(
        err.contains("huge.npy") && err.contains("more than the file"),
        "{err}"
    );
}

#[test]
fn the_experiment_name_cannot_leave_runs() {
    let s = Scratch::new("int-name");
    for (i, name) in ["../../etc/x", "", "..", "a/b"].iter().enumerate() {
        let exp = s.write(
            &format!("n{i}.toml"),
            &quick(3).replace("name = \"kill-test\"", &format!("name = \"{name}\"")),
        );
        let err = run_err(mbtl().arg("run").arg(&exp).current_dir(&s.0));
        assert!(
            err.contains("name:") && err.contains("letters, digits"),
            "{name}: {err}"
        );
    }
    assert!(!s.path("runs").exists() && !s.0.parent().unwrap().join("etc").exists());
}

#[test]
fn bad_settings_are_refused_before_anything_is_written() {
    let s = Scratch::new("int-validate");
    let cases = [
        ("n_epochs = 5", "n_epochs = 5, batch_size = 0", "batch_size"),
        ("n_epochs = 5", "n_epochs = 5, gamma = 2.0", "gamma"),
        (
            "n_epochs = 5",
            "n_epochs = 5, learning_rate = -0.001",
            "learning_rate",
        ),
        ("n_epochs = 5", "n_epochs = 5, hidden = [0]", "hidden"),
        (
            "total_timesteps = 3000",
            "total_timesteps = 0",
            "total_timesteps = 0",
        ),
        (
            "algo = \"ppo\"",
            "algo = \"sac\"",
            "discrete actions; sac needs continuous",
        ),
    ];
    for (i, (from, to, why)) in cases.iter().enumerate() {
        let text = quick(3).replace(from, to);
        assert!(text.contains(to));
        let text = if to.contains("sac") {
            text.replace(", n_epochs = 5", "")
        } else {
            text
        };
        let exp = s.write(&format!("v{i}.toml"), &text);
        let dir = s.path(&format!("v{i}"));
        for cmd in ["run", "matrix", "slurm"] {
            let err = run_err(mbtl().arg(cmd).arg(&exp).arg("--out").arg(&dir));
            assert!(
                err.contains(&format!("v{i}.toml"))
                    && err.contains("learner.hyperparameters")
                    && err.contains(why),
                "{cmd} case {i}: {err}"
            );
            assert!(!dir.exists(), "{cmd} case {i}: nothing written");
        }
    }
    let exp = s.write("ok.toml", &quick(3));
    let err = run_err(
        mbtl()
            .arg("slurm")
            .arg(&exp)
            .arg("--out")
            .arg(s.path("sb"))
            .args(["--sbatch", "time 10"]),
    );
    assert!(err.contains("sbatch option 'time 10'"), "{err}");
    assert!(!s.path("sb").exists(), "a bad --sbatch writes nothing");
}

#[test]
fn small_things_are_refused_with_what_was_wrong() {
    let s = Scratch::new("int-small");
    let m = s.write("m.csv", "1,0.5\n0.2,1\n");
    for slope in ["nan", "inf", "-1"] {
        let err = run_err(mbtl().arg("replay").arg(&m).args([
            "--budget",
            "1",
            "--strategy",
            "mbtl-gp",
            &format!("--slope={slope}"),
        ]));
        assert!(err.contains("--slope"), "{slope}: {err}");
    }
    let cases = [
        (
            quick(3).replace("budget = 3", "budget = 3\nbounds = [0.0, 500.0, 3.0]"),
            "select.bounds",
        ),
        (quick(3).replace("lo = 0.2", "lo = 2.0"), "must be below hi"),
        (quick(3).replace("hi = 1.6", "hi = 0.2"), "must be below hi"),
        (
            quick(3).replace(
                "spacing = \"linear\"\nlo = 0.2\nhi = 1.6\nn = 3",
                "spacing = \"values\"\nvalues = [0.5, 1.0, 0.5]",
            ),
            "listed twice",
        ),
        (
            quick(3).replace(
                "name = \"cartpole\"",
                "name = \"cartpole\"\ncontext = { length = 0.7 }",
            ),
            "also fixed in env.context",
        ),
    ];
    for (i, (text, why)) in cases.iter().enumerate() {
        let exp = s.write(&format!("s{i}.toml"), text);
        let err = run_err(
            mbtl()
                .arg("run")
                .arg(&exp)
                .arg("--out")
                .arg(s.path(&format!("s{i}"))),
        );
        assert!(err.contains(why), "case {i}: {err}");
    }
    let exp = s.write("ok.toml", &quick(3));
    for (opts, why) in [
        (vec!["--sbatch", "partition"], "expected KEY=VALUE"),
        (vec!["--sbatch", "partition="], "needs a value"),
        (vec!["--sbatch", "array=0-9"], "writes --array itself"),
        (
            vec!["--sbatch", "time=1:00", "--sbatch", "time=2:00"],
            "given twice",
        ),
    ] {
        let err = run_err(
            mbtl()
                .arg("slurm")
                .arg(&exp)
                .arg("--out")
                .arg(s.path("sl"))
                .args(&opts),
        );
        assert!(err.contains(why), "{opts:?}: {err}");
    }
    // A policy file whose weights went NaN is refused when loaded.
    let pol = tiny_policy(&s);
    let file = pol.join("policy.safetensors");
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&file, bytes).unwrap();
    let err = run_err(mbtl().arg("eval").arg("--policy").arg(&pol).args([
        "--env",
        "cartpole",
        "--episodes",
        "2",
    ]));
    assert!(err.contains("NaN or infinite weights"), "{err}");
    // A trajectory cut short is not an exact match.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mbtl-env/tests/fixtures/reference-trajectories");
    let traj = s.path("traj");
    std::fs::create_dir_all(&traj).unwrap();
    std::fs::copy(shared.join("manifest.json"), traj.join("manifest.json")).unwrap();
    let full = read(&shared.join("cartpole__default.csv"));
    let cut: Vec<&str> = full.lines().take(49).collect();
    std::fs::write(traj.join("cartpole__default.csv"), cut.join("\n") + "\n").unwrap();
    let err = run_err(
        mbtl()
            .args(["env", "conformance", "--trajectory"])
            .arg(traj.join("cartpole__default.csv")),
    );
    assert!(err.contains("48 rows") || err.contains("49 rows"), "{err}");
    // OS errors are printed once; status of a run with no training prints no "-0.0".
    let err = run_err(
        mbtl()
            .arg("run")
            .arg(&exp)
            .arg("--out")
            .arg("/proc/mbtl-cannot"),
    );
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    let dir = s.path("nothing");
    let exp = s.write("never.toml", &quick(3));
    run_ok(mbtl().arg("slurm").arg(&exp).arg("--out").arg(&dir));
    let out = run_ok(mbtl().arg("status").arg(&dir));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("-0.0"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A report that cannot be written says which file, without a debug dump.
    let done = s.path("done");
    run_ok(
        mbtl()
            .arg("matrix")
            .arg(&exp)
            .arg("--out")
            .arg(&done)
            .args(["-q", "--no-report"]),
    );
    std::fs::create_dir_all(done.join("report")).unwrap();
    std::fs::create_dir_all(done.join("report/matrix.png")).unwrap();
    let err = run_err(mbtl().arg("report").arg(&done));
    assert!(
        err.contains("matrix.png") && !err.contains("Os {") && !err.contains("kind:"),
        "{err}"
    );
}
