//! Helpers shared by the binary's integration tests (each test file uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `mbtl` binary built for these tests.
pub(crate) fn mbtl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mbtl"))
}

/// Runs `cmd`, failing the test with both of its output streams unless it exits with 0.
pub(crate) fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} exited with {}\nstdout: {}\nstderr: {}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`, failing the test unless it exits non-zero without a panic; returns its stderr
/// (which should say what was wrong).
pub(crate) fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{cmd:?} succeeded; stderr: {err}");
    assert!(!err.contains("panicked"), "{cmd:?} panicked: {err}");
    err
}

/// A scratch folder, fresh for each test and removed when dropped.
pub(crate) struct Scratch(pub PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("mbtl-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// Writes `text` to `rel` inside the folder and returns its path.
    pub(crate) fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Eight pole lengths, every task trained (Independent), so a run takes a few seconds on one
/// thread: long enough to be killed in the middle.
pub(crate) const EXPERIMENT: &str = r#"
name = "kill-test"
seed = 11

[env]
name = "cartpole"

[[space.axes]]
feature = "length"
spacing = "linear"
lo = 0.2
hi = 1.6
n = 8

[learner]
algo = "ppo"
hyperparameters = { total_timesteps = 12000, n_epochs = 5 }

[eval]
episodes = 5

[select]
strategies = ["mbtl-gp", "random", "independent", "multitask"]
budget = 3
slope = 0.03
"#;

/// [`EXPERIMENT`] with `n` pole lengths and short trainings (for tests that need a finished
/// run, not a long one).
pub(crate) fn quick(n: usize) -> String {
    EXPERIMENT
        .replace("total_timesteps = 12000", "total_timesteps = 3000")
        .replace("n = 8", &format!("n = {n}"))
}

/// A file's text, or a test failure naming it.
pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `mbtl status DIR --json`.
pub(crate) fn status_json(dir: &Path) -> serde_json::Value {
    let out = run_ok(mbtl().arg("status").arg(dir).arg("--json"));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Trainings stored in `dir` so far (0 while there is no store yet).
pub(crate) fn trainings(dir: &Path) -> u64 {
    if !dir.join("run.sqlite").exists() {
        return 0;
    }
    let out = mbtl()
        .arg("status")
        .arg(dir)
        .arg("--json")
        .output()
        .unwrap();
    if !out.status.success() {
        return 0;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["trainings"].as_u64().unwrap_or(0) + v["multitask_trainings"].as_u64().unwrap_or(0)
}

/// Attempts running in `dir` now (0 while there is no store yet).
pub(crate) fn running(dir: &Path) -> u64 {
    if !dir.join("run.sqlite").exists() {
        return 0;
    }
    let out = mbtl()
        .arg("status")
        .arg(dir)
        .arg("--json")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["attempts"]["running"].as_u64().unwrap_or(0)
}

/// `mbtl run EXP --out DIR --workers N` in the background, quiet.
pub(crate) fn spawn_run(exp: &Path, dir: &Path, workers: usize) -> Child {
    mbtl()
        .arg("run")
        .arg(exp)
        .arg("--out")
        .arg(dir)
        .args(["--workers", &workers.to_string(), "--no-report", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `ready` holds, `child` has ended, or `deadline` has passed.
pub(crate) fn wait_for(child: &mut Child, ready: impl Fn() -> bool, deadline: Duration) {
    let start = Instant::now();
    while !ready() && start.elapsed() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
