//! The external-trainer protocol: any program, in any language, trains and evaluates a job.
//!
//! For each unit of work mbtl writes a *job file* (JSON, schema `mbtl.external-job` version 1,
//! `schemas/external-job.v1.schema.json`) into the job's private output folder and runs the
//! experiment's `learner.command` with the job file's path appended (also in `MBTL_JOB`), in
//! the experiment file's folder. The command trains on the job's training context(s) with the
//! job's seed, evaluates on every target, and writes the *result file* (schema
//! `mbtl.external-result` version 1) where the job file says. mbtl then checks the result
//! before anything is stored: a missing or malformed file, a wrong job id, the wrong number of
//! targets, or a return that is not a finite number fails the attempt with an error naming the
//! job, the file and the field. A command that exits non-zero fails it with the tail of its
//! stderr; one that outlives `learner.timeout` is killed with its whole process group.
//!
//! The coordinator treats a job of an external trainer exactly like one of mbtl's learners
//! (threads, worker processes, launchers, Slurm arrays, resume), and retries failed attempts
//! up to `learner.retries` times, each attempt recorded in the run store.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Plan;
use crate::error::{Result, RunError};
use crate::fsutil::write_atomic;
use crate::job::{CurvePoint, Job, JobResult, Source, TargetReturn};

/// `schema` of a job file.
pub const JOB_SCHEMA: &str = "mbtl.external-job";
/// `schema` of a result file.
pub const RESULT_SCHEMA: &str = "mbtl.external-result";
/// The protocol version this mbtl writes and reads.
pub const PROTOCOL_VERSION: u32 = 1;
/// The JSON Schema of job files (also at `crates/mbtl-run/schemas/`).
pub const JOB_JSON_SCHEMA: &str = include_str!("../schemas/external-job.v1.schema.json");
/// The JSON Schema of result files.
pub const RESULT_JSON_SCHEMA: &str = include_str!("../schemas/external-result.v1.schema.json");

/// File names inside a job's output folder.
pub const JOB_FILE: &str = "job.json";
pub const RESULT_FILE: &str = "result.json";
pub const STDOUT_FILE: &str = "stdout.log";
pub const STDERR_FILE: &str = "stderr.log";

/// Every top-level field a result file may have.
const RESULT_FIELDS: [&str; 10] = [
    "schema",
    "version",
    "job",
    "targets",
    "env_steps",
    "learning_curve",
    "curves",
    "artifacts",
    "train_seconds",
    "eval_seconds",
];

/// Lines of a failed command's stderr kept in its error (and so in the store and `status`).
const STDERR_TAIL_LINES: usize = 20;

/// An external trainer: its argv and what the experiment says about running it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandLearner {
    pub command: Vec<String>,
    /// Passed through to every job file untouched.
    pub hyperparameters: Map<String, Value>,
    pub timeout: Option<Duration>,
    pub retries: u32,
}

impl CommandLearner {
    /// The argv as one line, for reports and errors.
    pub fn describe(&self) -> String {
        self.command.join(" ")
    }
}

/// The job file an external trainer reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExternalJob {
    pub schema: &'static str,
    pub version: u32,
    pub experiment: String,
    /// The job's id (`t0-s3`, `t1-multi`); the result must repeat it.
    pub job: String,
    pub trial: usize,
    /// The source task's index, or `null` for the multi-task policy.
    pub task: Option<usize>,
    /// Seed every random draw of the training and evaluation from it: mbtl relies on a job
    /// giving the same result every time it runs (resume, retries, other workers).
    pub seed: u64,
    pub env: String,
    pub semantics: String,
    /// The feature values of each training context: one for a task, every task's for the
    /// multi-task policy (draw one per episode).
    pub train_contexts: Vec<Map<String, Value>>,
    /// The features the experiment varies (what a context-aware policy observes).
    pub varied_features: Vec<String>,
    /// Whether the policy should see the varied features (the multi-task policy does).
    pub context_visible: bool,
    /// Every target task's context, in task order: the result lists one return per target.
    pub targets: Vec<Map<String, Value>>,
    /// Evaluation episodes per target.
    pub episodes: usize,
    pub hyperparameters: Map<String, Value>,
    /// A folder of the job's own for whatever the trainer keeps (models, logs, curves).
    pub output_dir: String,
    /// Where to write the result (atomically: write a temporary file, then rename).
    pub result_file: String,
}

/// What a result file holds, once checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalResult {
    pub targets: Vec<TargetReturn>,
    pub env_steps: Option<u64>,
    pub learning_curve: Vec<CurvePoint>,
    /// Other series by name (periodic evaluations, losses), as for mbtl's own learners.
    pub curves: BTreeMap<String, Vec<CurvePoint>>,
    pub artifacts: Vec<String>,
    pub train_seconds: Option<f64>,
    pub eval_seconds: Option<f64>,
}

/// A job's private folder, relative to the run folder.
pub fn output_dir(job: &Job) -> String {
    match job.source {
        Source::Task(i) => format!("artifacts/trial{}/task{i:04}", job.trial),
        Source::Multitask => format!("artifacts/trial{}/multitask", job.trial),
    }
}

fn values(ctx: &mbtl_env::Context) -> Map<String, Value> {
    ctx.iter()
        .map(|(name, v)| (name.to_string(), Value::from(v)))
        .collect()
}

/// Builds the job file of `job` (paths absolute, inside `run_dir`).
pub fn job_file(job: &Job, plan: &Plan, run_dir: &Path) -> Result<ExternalJob> {
    let learner = command_of(plan)?;
    let out = run_dir.join(output_dir(job));
    let (train, obs) = job.training(plan)?;
    let task = match job.source {
        Source::Task(i) => Some(i),
        Source::Multitask => None,
    };
    Ok(ExternalJob {
        schema: JOB_SCHEMA,
        version: PROTOCOL_VERSION,
        experiment: plan.experiment.name.clone(),
        job: job.id(),
        trial: job.trial,
        task,
        seed: job.seed(),
        env: plan.env.name().to_string(),
        semantics: plan.experiment.env.semantics.name().to_string(),
        train_contexts: train.iter().map(values).collect(),
        varied_features: plan.varied_features(),
        context_visible: obs != mbtl_env::ContextObs::Hidden,
        targets: plan.contexts.iter().map(values).collect(),
        episodes: plan.eval_episodes(),
        hyperparameters: learner.hyperparameters.clone(),
        output_dir: out.display().to_string(),
        result_file: out.join(RESULT_FILE).display().to_string(),
    })
}

/// The command learner of a plan (an error for a built-in one).
fn command_of(plan: &Plan) -> Result<&CommandLearner> {
    match &plan.learner {
        crate::config::LearnerPlan::Command(c) => Ok(c),
        crate::config::LearnerPlan::Builtin { learner, .. } => Err(RunError::Job {
            job: plan.experiment.name.clone(),
            message: format!("learner {} is not an external command", learner.algo()),
        }),
    }
}

/// Runs one attempt of `job` through the experiment's command and returns its checked result.
pub fn execute(job: &Job, plan: &Plan, run_dir: &Path) -> Result<JobResult> {
    let learner = command_of(plan)?;
    let id = job.id();
    let fail = |message: String| RunError::Job {
        job: id.clone(),
        message,
    };
    std::fs::create_dir_all(run_dir).map_err(|e| RunError::io(run_dir, e))?;
    let run_dir = std::fs::canonicalize(run_dir).map_err(|e| RunError::io(run_dir, e))?;
    let rel = output_dir(job);
    let out = run_dir.join(&rel);
    std::fs::create_dir_all(&out).map_err(|e| RunError::io(&out, e))?;
    let spec = job_file(job, plan, &run_dir)?;
    let job_path = out.join(JOB_FILE);
    let result_path = out.join(RESULT_FILE);
    // A result left by an earlier, interrupted attempt must not pass for this one's.
    match std::fs::remove_file(&result_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(RunError::io(&result_path, e)),
    }
    write_atomic(
        &job_path,
        serde_json::to_string_pretty(&spec)
            .expect("job files serialise")
            .as_bytes(),
    )?;

    let workdir = match &plan.workdir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| RunError::io(Path::new("."), e))?,
    };
    let start = Instant::now();
    let status = run_command(learner, &workdir, &job_path, &result_path, &out).map_err(&fail)?;
    let wall = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(fail(format!(
            "command `{}` {}; stderr ({}), last lines:\n{}",
            learner.describe(),
            describe_exit(status),
            out.join(STDERR_FILE).display(),
            stderr_tail(&out.join(STDERR_FILE))
        )));
    }
    let text = std::fs::read_to_string(&result_path).map_err(|e| {
        fail(format!(
            "result file {}: {} (the command exited 0 without writing it)",
            result_path.display(),
            e
        ))
    })?;
    let parsed = parse_result(&text, &id, plan.n_tasks())
        .map_err(|m| fail(format!("result file {}: {m}", result_path.display())))?;
    Ok(JobResult {
        identity: job.identity.clone(),
        trial: job.trial,
        source: job.source,
        seed: job.seed(),
        policy: rel,
        env_steps: parsed.env_steps.unwrap_or(0),
        train_seconds: parsed.train_seconds.unwrap_or(wall),
        eval_seconds: parsed.eval_seconds.unwrap_or(0.0),
        targets: parsed.targets,
        curves: {
            let mut curves = parsed.curves;
            if !parsed.learning_curve.is_empty() {
                curves.insert(crate::job::series::RETURN.into(), parsed.learning_curve);
            }
            curves
                .into_iter()
                .map(|(k, v)| (k, crate::job::thin(v, crate::job::MAX_CURVE_POINTS)))
                .collect()
        },
        kept: None,
        artifacts: parsed.artifacts,
    })
}

fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("was killed by signal {sig}");
        }
    }
    match status.code() {
        Some(c) => format!("exited with status {c}"),
        None => format!("ended with {status}"),
    }
}

/// The last lines of a log file (at most 8 KiB read).
fn stderr_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(8192)));
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
    if tail.is_empty() {
        "  (empty)".into()
    } else {
        tail.iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Starts the command in its own process group (so a timeout kills everything it started, and
/// on Linux it dies with the thread that waits for it), waits, and kills it at the timeout.
fn run_command(
    learner: &CommandLearner,
    workdir: &Path,
    job_path: &Path,
    result_path: &Path,
    out: &Path,
) -> std::result::Result<ExitStatus, String> {
    let (program, args) = learner
        .command
        .split_first()
        .ok_or_else(|| "the command is empty".to_string())?;
    // A relative path with a folder in it means the experiment's folder, not ours.
    let program_path = Path::new(program);
    let program: PathBuf = if program.contains('/') && program_path.is_relative() {
        workdir.join(program_path)
    } else {
        program_path.to_path_buf()
    };
    let log = |name: &str| {
        File::create(out.join(name)).map_err(|e| format!("{}: {e}", out.join(name).display()))
    };
    let mut cmd = Command::new(&program);
    cmd.args(args)
        .arg(job_path)
        .current_dir(workdir)
        .env("MBTL_JOB", job_path)
        .env("MBTL_RESULT", result_path)
        .env("MBTL_OUTPUT_DIR", out)
        .stdin(Stdio::null())
        .stdout(log(STDOUT_FILE)?)
        .stderr(log(STDERR_FILE)?);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: between fork and exec only async-signal-safe calls are allowed; prctl is one.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "cannot start `{}` in {}: {e}",
            learner.describe(),
            workdir.display()
        )
    })?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for `{}`: {e}", learner.describe())),
        }
        if let Some(limit) = learner.timeout {
            if start.elapsed() >= limit {
                kill_group(&mut child);
                return Err(format!(
                    "command `{}` still ran after the timeout of {} s and was killed (learner.timeout); stderr, last lines:\n{}",
                    learner.describe(),
                    limit.as_secs_f64(),
                    stderr_tail(&out.join(STDERR_FILE))
                ));
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Checks a result file's text against the protocol, naming the field at fault.
pub fn parse_result(
    text: &str,
    job: &str,
    n_targets: usize,
) -> std::result::Result<ExternalResult, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        let hint = if ["NaN", "Infinity"].iter().any(|t| text.contains(t)) {
            " (it holds NaN or Infinity, which JSON does not allow: every return must be a finite number)"
        } else {
            ""
        };
        format!("not valid JSON: {e}{hint}")
    })?;
    let obj = root
        .as_object()
        .ok_or_else(|| "expected a JSON object at the top".to_string())?;
    if let Some(k) = obj.keys().find(|k| !RESULT_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field '{k}'; known: {}",
            RESULT_FIELDS.join(", ")
        ));
    }
    match obj.get("schema") {
        Some(Value::String(s)) if s == RESULT_SCHEMA => {}
        other => {
            return Err(format!(
                "schema: expected \"{RESULT_SCHEMA}\", got {}",
                shown(other)
            ))
        }
    }
    match obj.get("version").and_then(Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        _ => {
            return Err(format!(
                "version: expected {PROTOCOL_VERSION}, got {}",
                shown(obj.get("version"))
            ))
        }
    }
    match obj.get("job") {
        Some(Value::String(s)) if s == job => {}
        other => {
            return Err(format!(
                "job: expected \"{job}\", got {} (a result of another job)",
                shown(other)
            ))
        }
    }
    let targets = obj
        .get("targets")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            format!(
                "targets: expected an array, got {}",
                shown(obj.get("targets"))
            )
        })?;
    if targets.len() != n_targets {
        return Err(format!(
            "targets: expected {n_targets} entries (one per target task, in task order), got {}",
            targets.len()
        ));
    }
    let mut out = Vec::with_capacity(n_targets);
    for (i, t) in targets.iter().enumerate() {
        let field = format!("targets[{i}]");
        out.push(match t {
            Value::Number(_) => TargetReturn {
                mean: finite(t, &field)?,
                std: None,
                episodes: None,
            },
            Value::Object(m) => {
                if let Some(k) = m
                    .keys()
                    .find(|k| !["mean", "std", "episodes"].contains(&k.as_str()))
                {
                    return Err(format!(
                        "{field}: unknown field '{k}'; known: mean, std, episodes"
                    ));
                }
                let mean = finite(
                    m.get("mean").unwrap_or(&Value::Null),
                    &format!("{field}.mean"),
                )?;
                let std = match m.get("std") {
                    None | Some(Value::Null) => None,
                    Some(v) => {
                        let s = finite(v, &format!("{field}.std"))?;
                        if s < 0.0 {
                            return Err(format!("{field}.std: {s} is negative"));
                        }
                        Some(s)
                    }
                };
                let episodes = match m.get("episodes") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        v.as_u64()
                            .filter(|&e| e >= 1)
                            .and_then(|e| usize::try_from(e).ok())
                            .ok_or_else(|| {
                                format!("{field}.episodes: expected an integer ≥ 1, got {v}")
                            })?,
                    ),
                };
                TargetReturn {
                    mean,
                    std,
                    episodes,
                }
            }
            other => {
                return Err(format!(
                    "{field}: expected a number or {{\"mean\": …}}, got {other}"
                ))
            }
        });
    }
    let env_steps = match obj.get("env_steps") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| format!("env_steps: expected a non-negative integer, got {v}"))?,
        ),
    };
    let seconds = |key: &str| -> std::result::Result<Option<f64>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let s = finite(v, key)?;
                if s < 0.0 {
                    return Err(format!("{key}: {s} is negative"));
                }
                Ok(Some(s))
            }
        }
    };
    let learning_curve = match obj.get("learning_curve") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => points(v, "learning_curve", "return")?,
    };
    let mut curves = BTreeMap::new();
    match obj.get("curves") {
        None | Some(Value::Null) => {}
        Some(Value::Object(series)) => {
            for (name, v) in series {
                let plain = !name.is_empty()
                    && name.len() <= 100
                    && name.chars().all(|c| !c.is_control() && c != ',');
                if !plain || name == crate::job::series::RETURN {
                    return Err(format!(
                        "curves: series name {name:?}: use 1 to 100 printable characters without commas, and learning_curve for the training return"
                    ));
                }
                curves.insert(name.clone(), points(v, &format!("curves.{name}"), "value")?);
            }
        }
        Some(other) => {
            return Err(format!(
                "curves: expected an object of series ({{\"eval\": [{{\"step\": …, \"value\": …}}]}}), got {other}"
            ))
        }
    }
    let mut artifacts = Vec::new();
    match obj.get("artifacts") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, a) in items.iter().enumerate() {
                artifacts.push(
                    a.as_str()
                        .ok_or_else(|| format!("artifacts[{i}]: expected a path, got {a}"))?
                        .to_string(),
                );
            }
        }
        Some(other) => {
            return Err(format!(
                "artifacts: expected an array of paths, got {other}"
            ))
        }
    }
    Ok(ExternalResult {
        targets: out,
        env_steps,
        learning_curve,
        curves,
        artifacts,
        train_seconds: seconds("train_seconds")?,
        eval_seconds: seconds("eval_seconds")?,
    })
}

/// A series of `{"step": …, KEY: …}` points.
fn points(v: &Value, field: &str, key: &str) -> std::result::Result<Vec<CurvePoint>, String> {
    let Value::Array(items) = v else {
        return Err(format!("{field}: expected an array, got {v}"));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, p) in items.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let m = p
            .as_object()
            .ok_or_else(|| format!("{field}: expected {{\"step\": …, \"{key}\": …}}, got {p}"))?;
        if let Some(k) = m.keys().find(|k| !["step", key].contains(&k.as_str())) {
            return Err(format!("{field}: unknown field '{k}'; known: step, {key}"));
        }
        let step = m.get("step").and_then(Value::as_u64).ok_or_else(|| {
            format!(
                "{field}.step: expected a non-negative integer, got {}",
                shown(m.get("step"))
            )
        })?;
        let value = finite(
            m.get(key).unwrap_or(&Value::Null),
            &format!("{field}.{key}"),
        )?;
        out.push(CurvePoint { step, value });
    }
    Ok(out)
}

fn shown(v: Option<&Value>) -> String {
    v.map_or("nothing".into(), std::string::ToString::to_string)
}

fn finite(v: &Value, field: &str) -> std::result::Result<f64, String> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{field}: expected a finite number, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> ExternalResult {
        parse_result(text, "t0-s1", 2).unwrap()
    }

    fn err(text: &str) -> String {
        parse_result(text, "t0-s1", 2).unwrap_err()
    }

    const HEAD: &str = r#""schema": "mbtl.external-result", "version": 1, "job": "t0-s1""#;

    #[test]
    fn results_parse_with_optional_fields() {
        let r = ok(&format!(
            r#"{{{HEAD}, "targets": [1.5, {{"mean": -2, "std": 0.5, "episodes": 3}}]}}"#
        ));
        assert_eq!(r.targets[0].mean, 1.5);
        assert_eq!(r.targets[0].std, None);
        assert_eq!(r.targets[1].std, Some(0.5));
        assert_eq!(r.targets[1].episodes, Some(3));
        let r = ok(&format!(
            r#"{{{HEAD}, "targets": [1, 2], "env_steps": 100, "learning_curve": [{{"step": 10, "return": 3.25}}], "artifacts": ["model.zip"], "train_seconds": 1.5}}"#
        ));
        assert_eq!(
            r.learning_curve,
            vec![CurvePoint {
                step: 10,
                value: 3.25
            }]
        );
        assert_eq!(r.artifacts, vec!["model.zip".to_string()]);
        assert_eq!((r.env_steps, r.train_seconds), (Some(100), Some(1.5)));
        let r = ok(&format!(
            r#"{{{HEAD}, "targets": [1, 2], "curves": {{"eval": [{{"step": 500, "value": 9.5}}], "train/loss": []}}}}"#
        ));
        assert_eq!(
            r.curves["eval"],
            vec![CurvePoint {
                step: 500,
                value: 9.5
            }]
        );
        assert!(r.curves["train/loss"].is_empty());
        // Exact: the shortest repr Python writes reads back as the same double.
        let r = ok(&format!(
            r#"{{{HEAD}, "targets": [472.14285714285717, 0.1]}}"#
        ));
        assert_eq!(r.targets[0].mean, 3305.0 / 7.0);
    }

    #[test]
    fn bad_results_name_the_field() {
        let cases = [
            (format!(r#"{{{HEAD}, "targets": [1]}}"#), "targets: expected 2 entries"),
            (format!(r#"{{{HEAD}, "targets": [1, NaN]}}"#), "NaN or Infinity"),
            (format!(r#"{{{HEAD}, "targets": [1, {{"mean": null}}]}}"#), "targets[1].mean"),
            (format!(r#"{{{HEAD}, "targets": [1, "2"]}}"#), "targets[1]"),
            (format!(r#"{{{HEAD}, "targets": [1, {{"mean": 1, "std": -1}}]}}"#), "targets[1].std"),
            (format!(r#"{{{HEAD}, "targets": [1, {{"mean": 1, "episodes": 0}}]}}"#), "targets[1].episodes"),
            (format!(r#"{{{HEAD}, "targets": [1, 2], "learning_curve": [{{"step": -1, "return": 0}}]}}"#), "learning_curve[0].step"),
            (format!(r#"{{{HEAD}, "targets": [1, 2], "extra": 1}}"#), "unknown field 'extra'"),
            (format!(r#"{{{HEAD}, "targets": [1, 2], "curves": [1]}}"#), "curves: expected an object"),
            (format!(r#"{{{HEAD}, "targets": [1, 2], "curves": {{"return": []}}}}"#), "learning_curve for the training return"),
            (format!(r#"{{{HEAD}, "targets": [1, 2], "curves": {{"a,b": []}}}}"#), "without commas"),
            (format!(r#"{{{HEAD}, "targets": [1, 2], "curves": {{"eval": [{{"step": 1, "return": 2}}]}}}}"#), "curves.eval[0]: unknown field 'return'"),
            (format!(r#"{{{HEAD}, "targets": [1, 2], "curves": {{"eval": [{{"step": 1, "value": "x"}}]}}}}"#), "curves.eval[0].value"),
            (r#"{"schema": "mbtl.external-result", "version": 1, "job": "t0-s2", "targets": [1, 2]}"#.into(), "another job"),
            (r#"{"schema": "x", "version": 1, "job": "t0-s1", "targets": [1, 2]}"#.into(), "schema"),
            (r#"{"schema": "mbtl.external-result", "version": 2, "job": "t0-s1", "targets": [1, 2]}"#.into(), "version"),
            ("[1, 2]".into(), "object"),
            ("{".into(), "not valid JSON"),
        ];
        for (text, want) in cases {
            let e = err(&text);
            assert!(e.contains(want), "{text}\n→ {e}\n(wanted '{want}')");
        }
    }

    #[test]
    fn the_shipped_schemas_describe_what_mbtl_writes_and_reads() {
        let job: Value = serde_json::from_str(JOB_JSON_SCHEMA).unwrap();
        let result: Value = serde_json::from_str(RESULT_JSON_SCHEMA).unwrap();
        let example = ExternalJob {
            schema: JOB_SCHEMA,
            version: PROTOCOL_VERSION,
            experiment: "e".into(),
            job: "t0-s1".into(),
            trial: 0,
            task: Some(1),
            seed: 7,
            env: "x".into(),
            semantics: "physical".into(),
            train_contexts: vec![Map::new()],
            varied_features: vec!["a".into()],
            context_visible: false,
            targets: vec![Map::new()],
            episodes: 3,
            hyperparameters: Map::new(),
            output_dir: "/o".into(),
            result_file: "/o/result.json".into(),
        };
        let written = serde_json::to_value(&example).unwrap();
        let props = job["properties"].as_object().unwrap();
        let required: Vec<&str> = job["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for key in written.as_object().unwrap().keys() {
            assert!(props.contains_key(key), "job schema lacks '{key}'");
            assert!(
                required.contains(&key.as_str()),
                "job schema: '{key}' not required"
            );
        }
        assert_eq!(required.len(), written.as_object().unwrap().len());
        assert_eq!(job["properties"]["schema"]["const"], JOB_SCHEMA);
        assert_eq!(result["properties"]["schema"]["const"], RESULT_SCHEMA);
        let rprops: Vec<&String> = result["properties"].as_object().unwrap().keys().collect();
        // Every field the reader accepts is described, and nothing else.
        let mut accepted = RESULT_FIELDS.to_vec();
        accepted.sort();
        let mut described: Vec<&str> = rprops.iter().map(|s| s.as_str()).collect();
        described.sort();
        assert_eq!(described, accepted);
        assert_eq!(result["additionalProperties"], Value::Bool(false));
    }
}
