//! The unit of work: train one source (a task, or the multi-task pool) with its seed, save the
//! policy, and evaluate it on every target. A [`Job`] is plain data holding its whole
//! experiment, so the same unit runs in a thread, in a `mbtl worker` process or in a cluster
//! array task, and its [`JobResult`] is a file or a row the coordinator ingests.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mbtl_env::{derive_seed, Context, ContextObs};
use mbtl_rl::callback::Kept;
use mbtl_rl::eval::evaluate;
use serde::{Deserialize, Serialize};

use crate::config::{Experiment, LearnerPlan, Plan};
use crate::error::{Result, RunError};
use crate::fsutil::write_atomic;

/// What a training job trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// One source task, by index.
    Task(usize),
    /// One context-aware policy over every task (the multi-task baseline).
    Multitask,
}

impl Source {
    /// The store's integer key: the task index, or −1 for the multi-task policy.
    pub fn key(self) -> i64 {
        match self {
            Source::Task(i) => i as i64,
            Source::Multitask => -1,
        }
    }

    pub fn from_key(key: i64) -> Source {
        if key < 0 {
            Source::Multitask
        } else {
            Source::Task(key as usize)
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Task(i) => write!(f, "task {i}"),
            Source::Multitask => f.write_str("multi-task"),
        }
    }
}

/// One training with its evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The experiment's [`Experiment::identity`]: the run folder a job belongs to.
    #[serde(default)]
    pub identity: String,
    pub trial: usize,
    pub source: Source,
    pub experiment: Experiment,
    /// Where an external trainer's command runs (the experiment file's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<PathBuf>,
}

/// Per-target returns of one policy. mbtl's learners report all three; an external trainer
/// may report only the mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReturn {
    pub mean: f64,
    #[serde(default)]
    pub std: Option<f64>,
    #[serde(default)]
    pub episodes: Option<usize>,
}

/// One point of a learning curve: the return reached after `step` environment steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub step: u64,
    pub value: f64,
}

/// What a job produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// The identity of the experiment whose job this is (see [`Job::identity`]).
    #[serde(default)]
    pub identity: String,
    pub trial: usize,
    pub source: Source,
    pub seed: u64,
    /// The policy file (an external trainer: its output folder), relative to the run folder.
    pub policy: String,
    pub env_steps: u64,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    /// One per target task, in task order.
    pub targets: Vec<TargetReturn>,
    /// Learning curves by series (see [`series`]), where the learner reported them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub curves: BTreeMap<String, Vec<CurvePoint>>,
    /// Which policy the training kept (mbtl's learners; `None` for an external trainer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<Kept>,
    /// Files an external trainer kept, as it named them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<String>,
}

impl Job {
    /// The job of `(trial, source)` in `plan`'s experiment.
    pub fn new(plan: &Plan, trial: usize, source: Source) -> Job {
        Job {
            identity: plan.identity_of(source),
            trial,
            source,
            experiment: plan.experiment.clone(),
            workdir: plan.workdir.clone(),
        }
    }

    /// A short name for logs and file names: `t0-s12`, `t1-multi`.
    pub fn id(&self) -> String {
        match self.source {
            Source::Task(i) => format!("t{}-s{i}", self.trial),
            Source::Multitask => format!("t{}-multi", self.trial),
        }
    }

    /// The training seed: a pure function of (experiment seed, trial, source), so results do
    /// not depend on which worker runs the job or in what order.
    pub fn seed(&self) -> u64 {
        let source = match self.source {
            Source::Task(i) => i as u64,
            Source::Multitask => 1 << 40,
        };
        derive_seed(derive_seed(self.experiment.seed, self.trial as u64), source)
    }

    /// The policy file, relative to the run folder.
    pub fn policy_file(&self) -> String {
        match self.source {
            Source::Task(i) => format!("policies/trial{}/task{i:04}.safetensors", self.trial),
            Source::Multitask => format!("policies/trial{}/multitask.safetensors", self.trial),
        }
    }

    /// What the job trains on: its task's context (hidden unless `learner.observe_context`
    /// says otherwise), or every task's (one drawn per episode) with the varied features
    /// observed for the multi-task policy.
    pub fn training(&self, plan: &Plan) -> Result<(Vec<Context>, ContextObs)> {
        match self.source {
            Source::Task(i) => {
                let ctx = plan.contexts.get(i).ok_or_else(|| RunError::Job {
                    job: self.id(),
                    message: format!("there are {} tasks, no task {i}", plan.n_tasks()),
                })?;
                Ok((vec![ctx.clone()], plan.task_obs(ctx)))
            }
            Source::Multitask => Ok((plan.contexts.clone(), plan.multitask_obs())),
        }
    }

    /// Trains, saves the policy under `run_dir`, and evaluates it on every target: with mbtl's
    /// own learner, or through the experiment's external command.
    pub fn execute(&self, plan: &Plan, run_dir: &Path) -> Result<JobResult> {
        let (learner, callback) = match &plan.learner {
            LearnerPlan::Builtin {
                learner,
                multitask,
                callback,
            } => (
                if self.source == Source::Multitask {
                    multitask
                } else {
                    learner
                },
                callback.as_ref(),
            ),
            LearnerPlan::Command(_) => return crate::external::execute(self, plan, run_dir),
        };
        let seed = self.seed();
        let (pool, obs) = self.training(plan)?;
        let start = Instant::now();
        // The curves: the recent training return each time episodes have finished, the losses
        // at every report, the periodic evaluations.
        let mut curves: BTreeMap<String, Vec<CurvePoint>> = BTreeMap::new();
        let mut seen = 0;
        let trained = learner.train_with(&pool, &obs, seed, callback, |log| {
            let mut push = |name: &str, value: f64| {
                if value.is_finite() {
                    curves
                        .entry(name.to_string())
                        .or_default()
                        .push(CurvePoint {
                            step: log.env_steps,
                            value,
                        });
                }
            };
            if log.episodes > seen {
                seen = log.episodes;
                push(series::RETURN, log.recent_return);
            }
            for (name, value) in &log.losses {
                push(&format!("{}{name}", series::LOSS_PREFIX), *value);
            }
        })?;
        let train_seconds = start.elapsed().as_secs_f64();
        for e in &trained.evals {
            for (name, value) in [(series::EVAL, e.mean), (series::EVAL_STD, e.std)] {
                curves.entry(name.into()).or_default().push(CurvePoint {
                    step: e.env_steps,
                    value,
                });
            }
        }
        let curves = curves
            .into_iter()
            .map(|(k, v)| (k, thin(v, MAX_CURVE_POINTS)))
            .collect();
        let (policy, env_steps) = (trained.policy, trained.env_steps);
        let file = self.policy_file();
        let path: PathBuf = run_dir.join(&file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| RunError::io(parent, e))?;
        }
        policy.save(&path)?;
        let start = Instant::now();
        let stats = evaluate(
            &policy,
            &plan.contexts,
            plan.eval_episodes(),
            derive_seed(seed, 0xE7A1),
        )?;
        Ok(JobResult {
            identity: self.identity.clone(),
            trial: self.trial,
            source: self.source,
            seed,
            policy: file,
            env_steps,
            train_seconds,
            eval_seconds: start.elapsed().as_secs_f64(),
            targets: stats
                .into_iter()
                .map(|s| TargetReturn {
                    mean: s.mean,
                    std: Some(s.std),
                    episodes: Some(s.episodes),
                })
                .collect(),
            curves,
            kept: Some(trained.kept),
            artifacts: Vec::new(),
        })
    }

    pub fn read(path: &Path) -> Result<Job> {
        read_json(path)
    }
}

impl JobResult {
    pub fn read(path: &Path) -> Result<JobResult> {
        read_json(path)
    }

    /// Writes the result atomically (a half-written result is never seen).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("results serialise");
        write_atomic(path, text.as_bytes())
    }

    /// The raw mean return on each target.
    pub fn means(&self) -> Vec<f64> {
        self.targets.iter().map(|t| t.mean).collect()
    }
}

/// Names of the stored curve series.
pub mod series {
    /// Mean return of the training episodes finished lately (mbtl's learners), or whatever
    /// return an external trainer reports as its `learning_curve`.
    pub const RETURN: &str = "return";
    /// Mean return of each periodic evaluation (`[learner.eval_callback]`).
    pub const EVAL: &str = "eval";
    /// Standard deviation of the periodic evaluation's episode returns.
    pub const EVAL_STD: &str = "eval_std";
    /// Prefix of the learners' losses: `train/value_loss`, `train/loss`, … (Stable-Baselines3's
    /// TensorBoard tags).
    pub const LOSS_PREFIX: &str = "train/";
}

/// Points a stored learning curve keeps at most (a 5-million-step PPO run reports ~20 000).
pub const MAX_CURVE_POINTS: usize = 500;

/// At most `most` points: the means over consecutive groups, each at its group's last step.
pub fn thin(points: Vec<CurvePoint>, most: usize) -> Vec<CurvePoint> {
    if points.len() <= most {
        return points;
    }
    let size = points.len().div_ceil(most);
    points
        .chunks(size)
        .map(|g| CurvePoint {
            step: g[g.len() - 1].step,
            value: g.iter().map(|p| p.value).sum::<f64>() / g.len() as f64,
        })
        .collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| RunError::Parse {
        file: path.display().to_string(),
        source: e.into(),
    })
}
