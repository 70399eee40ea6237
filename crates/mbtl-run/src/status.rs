//! `mbtl status`: what a run folder holds, read from its store (safe while the run goes on).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::job::Source;
use crate::store::{AttemptCounts, FailedAttempt, RunStore, RunningAttempt};

/// Failed attempts `status` lists (newest first).
const FAILURES_SHOWN: usize = 5;

/// One strategy in one trial.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialStatus {
    pub trial: usize,
    /// Tasks chosen so far, in order (empty for constant levels).
    pub tasks: Vec<usize>,
    /// Normalised `V_k` so far.
    pub curve: Vec<f64>,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyStatus {
    pub strategy: String,
    pub trials: Vec<TrialStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub experiment: String,
    pub n_tasks: usize,
    pub trials: usize,
    pub budget: usize,
    /// Finished trainings (each with its evaluations on every target).
    pub trainings: usize,
    pub multitask_trainings: usize,
    pub attempts: AttemptCounts,
    /// The attempts the store records as running, oldest first, with how long ago each
    /// started; a run that was killed leaves them until its next start marks them interrupted.
    pub running: Vec<RunningStatus>,
    /// Summed over finished jobs (single-thread seconds; wall time is lower with workers).
    pub train_seconds: f64,
    pub eval_seconds: f64,
    pub strategies: Vec<StrategyStatus>,
    /// Every strategy of every trial has all K steps.
    pub complete: bool,
    /// Trainings that kept their best periodic evaluation's policy (`[learner.eval_callback]`).
    pub kept_best: usize,
    /// Per trial, the tasks whose policy scores below `report.trained_threshold` (normalised)
    /// on its own task: trainings that did not train.
    pub did_not_train: Vec<Vec<usize>>,
    pub trained_threshold: f64,
    /// The most recent failed attempts with their errors (an external trainer's include the
    /// tail of its stderr), newest first.
    pub recent_failures: Vec<FailedAttempt>,
}

/// A running attempt and how long it has run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunningStatus {
    #[serde(flatten)]
    pub attempt: RunningAttempt,
    /// Seconds since it started, when the status was read.
    pub elapsed_seconds: f64,
}

/// Reads the status of the run in `dir`.
pub fn status(dir: &Path) -> Result<Status> {
    let (store, exp) = RunStore::open_existing(dir)?;
    let plan = exp.plan(&store.path().display().to_string())?;
    let k = plan.options.budget;
    // Trials beyond the experiment's (left by a run with more of them) are not its trainings.
    let records: Vec<_> = store
        .training_records()?
        .into_iter()
        .filter(|r| r.trial < exp.trials)
        .collect();
    let steps = store.steps()?;
    let mut strategies = Vec::new();
    for name in &plan.strategies {
        let mut trials = Vec::new();
        for t in 0..exp.trials {
            let mine: Vec<_> = steps
                .iter()
                .filter(|s| s.strategy == name.name() && s.trial == t)
                .collect();
            trials.push(TrialStatus {
                trial: t,
                tasks: mine.iter().filter_map(|s| s.task).collect(),
                curve: mine.iter().map(|s| s.value).collect(),
                complete: mine.len() == k,
            });
        }
        strategies.push(StrategyStatus {
            strategy: name.name().into(),
            trials,
        });
    }
    let outcomes = crate::report::training_outcomes(&store, &plan)?;
    Ok(Status {
        kept_best: outcomes.trials.iter().map(|t| t.kept_best).sum(),
        did_not_train: outcomes.trials.iter().map(|t| t.failed.clone()).collect(),
        trained_threshold: outcomes.threshold,
        experiment: exp.name.clone(),
        n_tasks: plan.n_tasks(),
        trials: exp.trials,
        budget: k,
        trainings: records
            .iter()
            .filter(|r| matches!(r.source, Source::Task(_)))
            .count(),
        multitask_trainings: records
            .iter()
            .filter(|r| r.source == Source::Multitask)
            .count(),
        attempts: store.attempt_counts()?,
        running: {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            store
                .running_attempts()?
                .into_iter()
                .map(|attempt| RunningStatus {
                    elapsed_seconds: (now - attempt.started).max(0.0),
                    attempt,
                })
                .collect()
        },
        // `+ 0.0`: an empty float sum is −0.0, which would print as "-0.0 s".
        train_seconds: records.iter().map(|r| r.train_seconds).sum::<f64>() + 0.0,
        eval_seconds: records.iter().map(|r| r.eval_seconds).sum::<f64>() + 0.0,
        complete: strategies
            .iter()
            .all(|s| s.trials.iter().all(|t| t.complete)),
        strategies,
        recent_failures: store.failed_attempts(FAILURES_SHOWN)?,
    })
}

/// Every learning curve of the run in `dir` as long-format CSV (`trial,source,series,step,value`;
/// `source` is the task index or `multitask`). A store from before curves were kept has none.
pub fn curves_csv(dir: &Path) -> Result<String> {
    let (store, _) = RunStore::open_existing(dir)?;
    let mut out = String::from("trial,source,series,step,value\n");
    for row in store.all_curves()? {
        let source = match row.source {
            Source::Task(i) => i.to_string(),
            Source::Multitask => "multitask".into(),
        };
        let _ = writeln!(
            out,
            "{},{source},{},{},{:?}",
            row.trial, row.series, row.step, row.value
        );
    }
    Ok(out)
}

impl Status {
    /// A human-readable summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "experiment {}: {} tasks, {} trial(s), K = {}{}",
            self.experiment,
            self.n_tasks,
            self.trials,
            self.budget,
            if self.complete { " — complete" } else { "" }
        );
        let _ = writeln!(
            out,
            "trainings finished: {} of {} possible ({} multi-task; {:.1} s training, {:.1} s evaluating); attempts: {} finished, {} running, {} interrupted, {} failed",
            self.trainings,
            self.n_tasks * self.trials,
            self.multitask_trainings,
            self.train_seconds,
            self.eval_seconds,
            self.attempts.finished,
            self.attempts.running,
            self.attempts.interrupted,
            self.attempts.failed
        );
        if !self.running.is_empty() {
            let each: Vec<String> = self
                .running
                .iter()
                .map(|r| {
                    format!(
                        "trial {}, {} for {}",
                        r.attempt.trial,
                        r.attempt.source,
                        duration(r.elapsed_seconds)
                    )
                })
                .collect();
            let finished = self.trainings + self.multitask_trainings;
            let typical = if finished > 0 {
                format!(
                    " (a finished one took {} on average)",
                    duration((self.train_seconds + self.eval_seconds) / finished as f64)
                )
            } else {
                String::new()
            };
            let _ = writeln!(out, "running: {}{typical}", each.join("; "));
        }
        if self.kept_best > 0 {
            let _ = writeln!(
                out,
                "kept the best periodic evaluation's policy: {} of {} trainings",
                self.kept_best, self.trainings
            );
        }
        for (t, tasks) in self.did_not_train.iter().enumerate() {
            if !tasks.is_empty() {
                let _ = writeln!(
                    out,
                    "trial {t}: {} source(s) below {} on their own task (did not train): {tasks:?}",
                    tasks.len(),
                    self.trained_threshold
                );
            }
        }
        if !self.recent_failures.is_empty() {
            let _ = writeln!(out, "recent failures (newest first):");
            for f in &self.recent_failures {
                let _ = writeln!(out, "  trial {}, {}:", f.trial, f.source);
                for line in f.error.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        for s in &self.strategies {
            for t in &s.trials {
                let last = t.curve.last().map_or("-".into(), |v| format!("{v:.4}"));
                let _ = writeln!(
                    out,
                    "  {:<18} trial {}: {}/{} steps, V = {last}{}",
                    s.strategy,
                    t.trial,
                    t.curve.len(),
                    self.budget,
                    if t.tasks.is_empty() {
                        String::new()
                    } else {
                        format!(", tasks {:?}", t.tasks)
                    }
                );
            }
        }
        out
    }
}

/// `seconds` as a short duration: `42 s`, `17 min`, `3.2 h`.
fn duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}
