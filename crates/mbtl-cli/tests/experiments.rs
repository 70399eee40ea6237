//! `mbtl run`, `status`, `matrix`, `report`, `worker` and `slurm` end to end: SIGKILL at
//! several moments and resume, worker processes (also through a launcher), Slurm array tasks,
//! the report in headless Chromium, bad input.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;
use common::{
    mbtl, quick, run_err, run_ok, spawn_run, status_json, trainings, wait_for, Scratch, EXPERIMENT,
};

fn write_experiment(s: &Scratch, text: &str) -> PathBuf {
    let p = s.path("exp.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn run_to_end(exp: &Path, dir: &Path, extra: &[&str]) {
    run_ok(
        mbtl()
            .arg("run")
            .arg(exp)
            .arg("--out")
            .arg(dir)
            .args(["--workers", "1", "--no-report", "-q"])
            .args(extra),
    );
}

/// The parts of a results file that must not depend on how the run got there.
fn results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Starts `mbtl run` and SIGKILLs it once `ready` says so (or after `deadline`).
fn kill_when(exp: &Path, dir: &Path, ready: impl Fn() -> bool, deadline: Duration) {
    let mut child = spawn_run(exp, dir, 1);
    wait_for(&mut child, ready, deadline);
    // Child::kill sends SIGKILL on Unix.
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sigkill_at_any_moment_then_resume_equals_an_uninterrupted_run() {
    let s = Scratch::new("kill");
    let exp = write_experiment(&s, EXPERIMENT);
    let reference = s.path("reference");
    run_to_end(&exp, &reference, &[]);
    let want = results(&reference);
    assert_eq!(want["trainings"], 9);

    let dir = s.path("killed");
    // Killed almost at once (while creating the store), after the first commit, and in the
    // middle of the run.
    kill_when(&exp, &dir, || false, Duration::from_millis(30));
    kill_when(&exp, &dir, || trainings(&dir) >= 1, Duration::from_secs(60));
    let mid = trainings(&dir);
    kill_when(
        &exp,
        &dir,
        || trainings(&dir) >= mid + 3,
        Duration::from_secs(60),
    );
    let before_resume = trainings(&dir);
    assert!(
        (1..9).contains(&before_resume),
        "the kills landed mid-run ({before_resume} trainings stored)"
    );
    run_to_end(&exp, &dir, &[]);
    assert_eq!(
        results(&dir),
        want,
        "resumed run differs from an uninterrupted one"
    );
    let st = status_json(&dir);
    assert_eq!(st["complete"], true);
    // Nothing finished was retrained: one finished attempt per stored training.
    assert_eq!(st["attempts"]["finished"], 9, "{st}");
    assert!(st["attempts"]["interrupted"].as_u64().unwrap() >= 1, "{st}");
    // Per strategy, the tasks chosen and the curve are in the status too.
    let mbtl_gp = st["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["strategy"] == "mbtl-gp")
        .unwrap();
    assert_eq!(mbtl_gp["trials"][0]["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(mbtl_gp["trials"][0]["curve"].as_array().unwrap().len(), 3);

    // A changed configuration is refused with the change, and exits non-zero.
    let changed = write_experiment(&s, &EXPERIMENT.replace("seed = 11", "seed = 12"));
    let err = run_err(mbtl().arg("run").arg(&changed).arg("--out").arg(&dir));
    assert!(err.contains("seed: 11 → 12"), "{err}");
}

#[test]
fn every_training_keeps_its_curves_and_best_policy_and_status_exports_them() {
    let s = Scratch::new("curves");
    let exp = write_experiment(&s, &quick(3));
    let (threads, processes) = (s.path("t"), s.path("p"));
    // The paper's procedure in small: SB3's defaults, an evaluation every 25 vector steps
    // (25 × 8 environments = 200 steps) keeping the best policy, set from the command line.
    let sets = [
        "--set",
        "learner.eval_callback={ eval_freq = 25, n_eval_episodes = 2 }",
        "--set",
        "report.trained_threshold=0.1",
    ];
    for (dir, extra) in [(&threads, vec![]), (&processes, vec!["--processes"])] {
        run_ok(
            mbtl()
                .arg("matrix")
                .arg(&exp)
                .args(sets)
                .arg("--out")
                .arg(dir)
                .args(["--workers", "2", "--no-report", "-q"])
                .args(extra),
        );
        run_ok(
            mbtl()
                .arg("status")
                .arg(dir)
                .arg("--curves")
                .arg(dir.join("curves.csv"))
                .arg("--tensorboard")
                .arg(dir.join("tb")),
        );
    }
    let csv = std::fs::read_to_string(threads.join("curves.csv")).unwrap();
    assert_eq!(
        csv,
        std::fs::read_to_string(processes.join("curves.csv")).unwrap()
    );
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("trial,source,series,step,value"));
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    for task in ["0", "1", "2"] {
        let series = |name: &str| -> Vec<(u64, f64)> {
            rows.iter()
                .filter(|r| r[1] == task && r[2] == name)
                .map(|r| (r[3].parse().unwrap(), r[4].parse().unwrap()))
                .collect()
        };
        let ret = series("return");
        assert!(ret.len() >= 3, "task {task}: {} points", ret.len());
        assert!(ret.windows(2).all(|w| w[0].0 < w[1].0), "{ret:?}");
        // PPO finishes its last rollout (8 environments × 32 steps).
        assert!(ret.last().unwrap().0 <= 3000 + 8 * 32);
        assert!(ret.iter().all(|p| p.1 > 0.0));
        // One evaluation per 200 steps of the 3072 trained.
        let eval = series("eval");
        let steps: Vec<u64> = eval.iter().map(|p| p.0).collect();
        assert_eq!(steps, (1..=15).map(|i| i * 200).collect::<Vec<u64>>());
        assert_eq!(series("eval_std").len(), 15);
        for loss in ["policy_gradient_loss", "value_loss", "entropy_loss"] {
            assert!(!series(&format!("train/{loss}")).is_empty(), "{loss}");
        }
    }
    // Every training kept its best evaluation, and there is one TensorBoard file per training
    // (their wall times are the trainings' own, so threads and processes differ there).
    let status = status_json(&threads);
    assert_eq!(status["kept_best"], 3, "{status}");
    let text = run_ok(mbtl().arg("status").arg(&threads)).stdout;
    assert!(String::from_utf8_lossy(&text)
        .contains("kept the best periodic evaluation's policy: 3 of 3"));
    for task in ["task0000", "task0001", "task0002"] {
        let f = threads
            .join("tb/trial0")
            .join(task)
            .join("events.out.tfevents.0.mbtl");
        let bytes = std::fs::read(&f).unwrap();
        assert!(bytes.windows(13).any(|w| w == b"brain.Event:2"));
        assert!(bytes.windows(16).any(|w| w == b"eval/mean_reward"));
    }
}

#[test]
fn the_suggested_replay_command_reproduces_the_run_when_pasted() {
    let s = Scratch::new("suggest");
    // Negative bounds (they once read as a flag) and a non-default slope and acquisition.
    let text = quick(4).replace(
        "slope = 0.03",
        "slope = 0.02\nbounds = [-50.0, 500.0]\nacquisition = \"inverse-k\"",
    );
    let dir = s.path("run");
    suggestion_reproduces(&s, &text, &dir, "--normalize=-50,500 ");
    // Clipped: bounds that most returns exceed, on the same trainings (a selection change).
    let clipped = text.replace(
        "bounds = [-50.0, 500.0]",
        "bounds = [-50.0, 30.0]\nclip = true",
    );
    suggestion_reproduces(&s, &clipped, &dir, "--normalize=-50,30,clip ");
    let results = results(&dir);
    let curves = results["strategies"].as_array().unwrap();
    assert!(
        curves
            .iter()
            .flat_map(|r| r["curve"].as_array().unwrap())
            .all(|v| (0.0..=1.0).contains(&v.as_f64().unwrap())),
        "clipped curves stay in [0, 1]: {curves:?}"
    );
    run_ok(mbtl().arg("report").arg(&dir));
    let html = std::fs::read_to_string(dir.join("report/index.html")).unwrap();
    assert!(html.contains("clipped to [0, 1]. "), "the header says so");
    assert!(
        html.contains("lie outside [0, 1]") && html.contains("and were clipped to it"),
        "the note says how many were clipped"
    );
}

/// Runs `mbtl matrix` on experiment `text` into `dir`, then the online run, and checks that
/// the replay command `matrix` suggests (which must contain `expect`) gives the run's curves.
fn suggestion_reproduces(s: &Scratch, text: &str, dir: &Path, expect: &str) {
    let exp = write_experiment(s, text);
    let out = run_ok(mbtl().arg("matrix").arg(&exp).arg("--out").arg(dir).args([
        "--workers",
        "2",
        "--no-report",
        "-q",
    ]));
    run_to_end(&exp, dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("compare strategies on it: mbtl "))
        .unwrap_or_else(|| panic!("no suggestion in:\n{stdout}"));
    assert!(
        line.contains(expect) && !line.contains("multitask"),
        "{line}"
    );
    let out = run_ok(
        mbtl()
            .args(line.split_whitespace())
            .arg("--out")
            .arg(s.path("replay"))
            .arg("--json"),
    );
    let replayed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let online = results(dir);
    for name in ["mbtl-gp", "random", "independent"] {
        let a = online["strategies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["strategy"] == name)
            .unwrap();
        let b = replayed.iter().find(|r| r["strategy"] == name).unwrap();
        assert_eq!(a["curve"], b["curve"], "{name}");
    }
}

#[test]
fn changing_only_the_selection_reuses_every_training() {
    let s = Scratch::new("reselect");
    let exp = write_experiment(&s, &quick(4));
    let dir = s.path("run");
    run_to_end(&exp, &dir, &[]);
    let before = status_json(&dir);
    // Other strategies, another K, slope and bounds: no training changes.
    let changed = quick(4)
        .replace(
            r#"strategies = ["mbtl-gp", "random", "independent", "multitask"]"#,
            r#"strategies = ["mbtl-gp", "equidistant", "independent", "multitask"]"#,
        )
        .replace("budget = 3", "budget = 2\nbounds = [0.0, 400.0]")
        .replace("slope = 0.03", "slope = 0.01");
    let exp2 = s.path("exp2.toml");
    std::fs::write(&exp2, &changed).unwrap();
    run_to_end(&exp2, &dir, &[]);
    let after = status_json(&dir);
    assert_eq!(
        after["attempts"], before["attempts"],
        "nothing was trained again"
    );
    // The same results as a fresh run of the changed experiment.
    let fresh = s.path("fresh");
    run_to_end(&exp2, &fresh, &[]);
    assert_eq!(results(&dir), results(&fresh));
    // More trials train only the new trial's sources.
    let more = s.path("exp3.toml");
    std::fs::write(&more, changed.replace("seed = 11", "seed = 11\ntrials = 2")).unwrap();
    run_to_end(&more, &dir, &[]);
    let finished = status_json(&dir)["attempts"]["finished"].as_u64().unwrap();
    assert_eq!(
        finished,
        2 * before["attempts"]["finished"].as_u64().unwrap(),
        "one more trial: as many trainings again, none repeated"
    );
    let fresh2 = s.path("fresh2");
    run_to_end(&more, &fresh2, &[]);
    assert_eq!(results(&dir), results(&fresh2));
    // A change that alters trainings is still refused, naming it.
    let err = run_err(
        mbtl()
            .arg("run")
            .arg(write_experiment(
                &s,
                &changed.replace("episodes = 5", "episodes = 6"),
            ))
            .arg("--out")
            .arg(&dir),
    );
    assert!(err.contains("eval.episodes: 5 → 6"), "{err}");
}

#[test]
fn worker_processes_give_the_same_results_as_threads() {
    let s = Scratch::new("procs");
    let text = quick(5);
    let exp = write_experiment(&s, &text);
    run_to_end(&exp, &s.path("threads"), &[]);
    run_to_end(&exp, &s.path("procs"), &["--processes"]);
    assert_eq!(results(&s.path("threads")), results(&s.path("procs")));
    // The job folder is left empty: every result was ingested.
    let left: Vec<_> = std::fs::read_dir(s.path("procs/jobs")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_worker_result_left_by_a_dead_coordinator_is_ingested() {
    let s = Scratch::new("orphan");
    let text = quick(4).replace(
        r#"strategies = ["mbtl-gp", "random", "independent", "multitask"]"#,
        r#"strategies = ["independent"]"#,
    );
    let exp = write_experiment(&s, &text);
    let dir = s.path("run");
    // Job files as the coordinator writes them (here through `mbtl slurm`), one run by a
    // worker on its own (as on a cluster) before any coordinator ingests it.
    run_ok(mbtl().arg("slurm").arg(&exp).arg("--out").arg(&dir));
    let job_file = dir.join("jobs/t0-s2.job.json");
    run_ok(
        mbtl()
            .arg("worker")
            .arg(&job_file)
            .arg("--run-dir")
            .arg(&dir)
            .arg("--out")
            .arg(dir.join("jobs/t0-s2.result.json")),
    );
    run_to_end(&exp, &dir, &[]);
    let st = status_json(&dir);
    assert_eq!(st["trainings"], 4);
    // Three trained by the run, one ingested from the worker's file.
    assert_eq!(st["attempts"]["finished"], 4);
    let reference = s.path("reference");
    run_to_end(&exp, &reference, &[]);
    assert_eq!(results(&dir), results(&reference));
}

/// The matrix CSV of a run folder.
fn matrix_csv(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("matrix_trial0.csv")).unwrap()
}

fn matrix_to_end(exp: &Path, dir: &Path, extra: &[&str]) -> std::process::Output {
    run_ok(
        mbtl()
            .arg("matrix")
            .arg(exp)
            .arg("--out")
            .arg(dir)
            .args(["--workers", "2", "--no-report"])
            .args(extra),
    )
}

#[test]
fn slurm_array_tasks_run_the_jobs_and_the_next_matrix_ingests_them() {
    let s = Scratch::new("slurm");
    let exp = write_experiment(&s, &quick(3));
    let reference = s.path("reference");
    matrix_to_end(&exp, &reference, &["-q"]);

    let dir = s.path("array");
    run_ok(mbtl().arg("slurm").arg(&exp).arg("--out").arg(&dir).args([
        "--sbatch",
        "partition=cpu",
        "--sbatch",
        "time=00:10:00",
    ]));
    let script = std::fs::read_to_string(dir.join("slurm.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-2",
        "#SBATCH --partition=cpu",
        "#SBATCH --time=00:10:00",
    ] {
        assert!(script.lines().any(|l| l == line), "{line} in\n{script}");
    }
    // What Slurm does: run the script once per array index, here one after the other.
    for i in 0..3 {
        run_ok(
            Command::new("bash")
                .arg(dir.join("slurm.sbatch"))
                .env("SLURM_ARRAY_TASK_ID", i.to_string()),
        );
    }
    // Every result is ingested, so nothing is launched: a launcher that always fails is fine.
    let out = matrix_to_end(&exp, &dir, &["--launcher", "false"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("ingested worker result")
            .count(),
        3
    );
    assert_eq!(matrix_csv(&dir), matrix_csv(&reference));
    let left: Vec<String> = std::fs::read_dir(dir.join("jobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert!(left.is_empty(), "job and result files left: {left:?}");
    // Nothing is left to submit; bad options are refused with what was wrong.
    let again = run_ok(mbtl().arg("slurm").arg(&exp).arg("--out").arg(&dir));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to submit"));
    let err = run_err(
        mbtl()
            .arg("slurm")
            .arg(&exp)
            .arg("--out")
            .arg(s.path("bad"))
            .args(["--sbatch", "time 10"]),
    );
    assert!(err.contains("sbatch option 'time 10'"), "{err}");
}

#[test]
fn a_launcher_starts_every_worker_and_changes_no_result() {
    let s = Scratch::new("launcher");
    let exp = write_experiment(&s, &quick(3));
    let reference = s.path("reference");
    matrix_to_end(&exp, &reference, &["-q"]);
    // A launcher that logs its command line, then runs it (as srun would, elsewhere).
    let log = s.path("launched.log");
    let wrapper = s.path("launch.sh");
    std::fs::write(
        &wrapper,
        format!("echo \"$@\" >> {}\nexec \"$@\"\n", log.display()),
    )
    .unwrap();
    let dir = s.path("launched");
    let launcher = format!("sh {}", wrapper.display());
    matrix_to_end(&exp, &dir, &["-q", "--launcher", &launcher]);
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        lines.lines().filter(|l| l.contains(" worker ")).count(),
        3,
        "{lines}"
    );
    assert_eq!(matrix_csv(&dir), matrix_csv(&reference));
    let err = run_err(
        mbtl()
            .arg("matrix")
            .arg(&exp)
            .arg("--out")
            .arg(s.path("missing"))
            .args(["--launcher", "/no/such/launcher"]),
    );
    assert!(err.contains("/no/such/launcher"), "{err}");
}

#[test]
fn bad_experiment_files_fail_with_the_file_and_field() {
    let s = Scratch::new("bad");
    let exp = write_experiment(&s, &EXPERIMENT.replace("budget = 3", "budget = 0"));
    let out = mbtl()
        .arg("run")
        .arg(&exp)
        .arg("--out")
        .arg(s.path("r"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("exp.toml") && err.contains("select.budget"),
        "{err}"
    );
    assert!(!s.path("r").exists(), "nothing is written for a bad file");
    let exp = write_experiment(&s, "name = \"x\"\n[env]\nname = 3\n");
    let out = mbtl().arg("run").arg(&exp).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exp.toml"));
    let out = mbtl()
        .arg("status")
        .arg(s.path("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run store"));
}

/// Chromium, as `.ci/run` installs it (Debian's `chromium` package).
fn chromium() -> PathBuf {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "this test renders the report in headless Chromium: install Debian's `chromium` package \
         (`apt-get install chromium`, as .ci/run does)"
    );
}

#[test]
fn the_report_renders_with_its_figures_in_headless_chromium() {
    let s = Scratch::new("report");
    let text = quick(6);
    let exp = write_experiment(&s, &text);
    let dir = s.path("run");
    run_to_end(&exp, &dir, &["--set", "report.paper=CartPole_MassCart"]);
    run_ok(mbtl().arg("report").arg(&dir));
    for f in ["curves", "matrix", "posterior", "training"] {
        for ext in ["png", "svg"] {
            let p = dir.join(format!("report/{f}.{ext}"));
            assert!(
                std::fs::metadata(&p).unwrap().len() > 1000,
                "{}",
                p.display()
            );
        }
    }
    let page = dir.join("report/index.html");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", s.path("chromium").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains(r#"data-figures="4""#) && dom.contains(r#"data-figures-loaded="4""#),
        "the page's four figures did not all load:\n{}\n{}",
        &dom[..dom.len().min(600)],
        String::from_utf8_lossy(&out.stderr)
    );
    // The summary table says what results.json says, for every strategy.
    let results = results(&dir);
    let strategies = results["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 4);
    for s in strategies {
        let name = s["strategy"].as_str().unwrap();
        let curve = s["curve"].as_array().unwrap();
        let row = format!(
            "<td>{name}</td><td>1</td><td>{:.4}</td><td>{:.4}</td>",
            curve.last().unwrap().as_f64().unwrap(),
            s["average"].as_f64().unwrap()
        );
        assert!(dom.contains(&row), "{row} in the table");
    }
    // The paper's panel beside the run: mbtl-gp's V_1 next to the paper's 0.278, the
    // constant levels against the paper's, and every source's training in its table.
    let mbtl_gp = strategies
        .iter()
        .find(|s| s["strategy"] == "mbtl-gp")
        .unwrap();
    let v1 = format!("{:.3} / 0.278", mbtl_gp["curve"][0].as_f64().unwrap());
    assert!(
        dom.contains("Beside the paper") && dom.contains(&v1),
        "{v1}"
    );
    assert!(dom.contains(" / 0.946"), "Independent against the paper's");
    assert!(dom.contains("<table id=\"trainings\">"));
    every_curve_is_visible(&s, &dir.join("report/curves.svg"), strategies.len());
}

/// Renders a curve figure in headless Chromium and checks that every strategy's colour shows
/// on the plot outside the legend: a curve drawn exactly under another one (as M-MBTL once was
/// under M/GP-MBTL) would show only in the legend.
fn every_curve_is_visible(s: &Scratch, svg_path: &Path, n_series: usize) {
    let svg = std::fs::read_to_string(svg_path).unwrap();
    let attr = |el: &str, name: &str| -> Option<String> {
        let start = el.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(el[start..start + el[start..].find('"')?].to_owned())
    };
    let mut colours: Vec<String> = Vec::new();
    let mut legend = None;
    for el in svg.split('<') {
        if el.starts_with("polyline") && attr(el, "stroke-width").as_deref() == Some("2") {
            let c = attr(el, "stroke").unwrap();
            if c != "#000000" && !colours.contains(&c) {
                colours.push(c);
            }
        }
        if el.starts_with("rect") && attr(el, "opacity").as_deref() == Some("0.85") {
            let n = |a| attr(el, a).unwrap().parse::<u32>().unwrap();
            legend = Some((n("x"), n("y"), n("width"), n("height")));
        }
    }
    assert_eq!(
        colours.len(),
        n_series,
        "one colour per strategy: {colours:?}"
    );
    let (lx, ly, lw, lh) = legend.expect("the legend's box");
    let shot = s.path("curves-screenshot.png");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--window-size=900,560",
        ])
        .arg(format!(
            "--user-data-dir={}",
            s.path("chromium-shot").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", svg_path.display()))
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    for c in &colours {
        let rgb: Vec<i32> = (0..3)
            .map(|i| i32::from_str_radix(&c[1 + 2 * i..3 + 2 * i], 16).unwrap())
            .collect();
        let mut seen = 0;
        for y in 0..info.height {
            for x in 0..info.width {
                if (lx..lx + lw).contains(&x) && (ly..ly + lh).contains(&y) {
                    continue;
                }
                let p = ((y * info.width + x) as usize) * channels;
                if (0..3).all(|i| (i32::from(buf[p + i]) - rgb[i]).abs() <= 12) {
                    seen += 1;
                }
            }
        }
        assert!(
            seen >= 20,
            "the curve drawn in {c} is hidden ({seen} pixels of it show)"
        );
    }
}

#[test]
fn a_grid_runs_report_draws_the_posterior_on_a_2d_slice() {
    let s = Scratch::new("grid-report");
    let dir = s.path("run");
    let exp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cartpole-3d.toml");
    run_ok(
        mbtl()
            .arg("run")
            .arg(&exp)
            .args(["--set", "learner.hyperparameters.total_timesteps=2000"])
            .args(["--set", "eval.episodes=3", "-q", "--out"])
            .arg(&dir),
    );
    let png = std::fs::metadata(dir.join("report/posterior.png")).unwrap();
    assert!(png.len() > 1000);
    let html = std::fs::read_to_string(dir.join("report/index.html")).unwrap();
    assert!(
        html.contains("on a 2-D slice of the grid"),
        "the N-D posterior is a map"
    );
}
