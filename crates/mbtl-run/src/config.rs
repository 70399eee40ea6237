//! Experiments as TOML files, and their resolution into everything a run needs (contexts,
//! learner, strategies), with errors that name the file, the field and the value.
//!
//! ```toml
//! name = "cartpole-pole-length"
//! seed = 0
//! trials = 1
//!
//! [env]
//! name = "cartpole"
//! semantics = "physical"          # or "carl"
//! context = { masspole = 0.1 }    # fixed features (optional)
//!
//! [[space.axes]]                  # one per varied feature; several make a row-major grid
//! feature = "length"
//! spacing = "linear"              # linear {lo, hi, n} | log {lo, hi, n} | scaled {base?, n} | values {values}
//! lo = 0.1
//! hi = 2.0
//! n = 20
//!
//! [learner]
//! algo = "ppo"
//! hyperparameters = { total_timesteps = 50000 }   # on top of the zoo's tuned values
//! # or, any trainer in any language (the external-trainer protocol, `crate::external`):
//! # kind = "command"
//! # command = ["python3", "train.py"]   # run in this file's folder, with the job file appended
//! # timeout = 600                       # seconds; a hung command is killed
//! # retries = 1                         # failed attempts tried again
//!
//! [eval]
//! episodes = 100
//!
//! [select]
//! strategies = ["mbtl-gp", "random", "independent", "multitask"]
//! budget = 5
//! bounds = [0.0, 500.0]           # normalisation (raw − lo)/(hi − lo); default per environment
//! slope = 0.005                   # MBTL-GP's gap θ per task index
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mbtl_env::{Context, ContextObs, ContextSpace, EnvRef, FeatureSpec, Semantics, Spacing};
use mbtl_rl::callback::EvalCallback;
use mbtl_rl::learner::{Learner, Preset};
use mbtl_select::replay::{ReplayOptions, StrategyName};
use mbtl_select::{Acquisition, GapModel, TaskSpace};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, RunError};

/// An experiment file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: String,
    /// Seeds every training, evaluation and random strategy of the experiment.
    #[serde(default)]
    pub seed: u64,
    /// Independent repetitions (each trains its own policies: MBTL's "trials").
    #[serde(default = "one")]
    pub trials: usize,
    pub env: EnvSection,
    pub space: SpaceSection,
    pub learner: LearnerSection,
    #[serde(default)]
    pub eval: EvalSection,
    pub select: SelectSection,
    /// How reports present the run (never changes a result).
    #[serde(default, skip_serializing_if = "ReportSection::is_empty")]
    pub report: ReportSection,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// A panel of the paper's digitized curves (`learning_curves_digitized.csv`, e.g.
    /// `CartPole_MassCart`) to draw and tabulate beside this run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<String>,
    /// A source counts as trained when its policy scores at least this (normalised) on its
    /// own task; the others are marked in the report. Default 0.8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_threshold: Option<f64>,
}

impl ReportSection {
    fn is_empty(&self) -> bool {
        self.paper.is_none() && self.trained_threshold.is_none()
    }

    pub fn trained_threshold(&self) -> f64 {
        self.trained_threshold.unwrap_or(0.8)
    }
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    pub name: String,
    #[serde(default)]
    pub semantics: Semantics,
    /// Features fixed for every task.
    #[serde(default)]
    pub context: BTreeMap<String, f64>,
    /// The context features of an environment mbtl does not simulate (an external trainer
    /// does): name → default and bounds. With them, `name` is free and nothing is looked up.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, FeatureDecl>,
}

/// A declared context feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureDecl {
    pub default: f64,
    /// Inclusive bounds every task's value is checked against (unbounded when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    /// What the feature is (shown in reports and job files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceSection {
    pub axes: Vec<AxisSection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisSection {
    pub feature: String,
    #[serde(flatten)]
    pub spacing: Spacing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerSection {
    /// `builtin` (mbtl's PPO, DQN or SAC; the default) or `command` (an external trainer).
    #[serde(default, skip_serializing_if = "LearnerKind::is_builtin")]
    pub kind: LearnerKind,
    /// The built-in algorithm: ppo, dqn or sac.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algo: Option<String>,
    /// The external trainer's argv; mbtl appends the job file's path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Built-in: where the hyper-parameters start, `zoo` (the default: rl-baselines3-zoo's
    /// tuned values) or `sb3` (Stable-Baselines3's library defaults, as the MBTL paper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Built-in: overrides of the preset's hyper-parameters, by Stable-Baselines3's names.
    /// Command: passed through to the job file as they are.
    #[serde(default)]
    pub hyperparameters: Map<String, Value>,
    /// Built-in: overrides for the multi-task training only, on top of `hyperparameters` (the
    /// MBTL traffic experiments trained their multi-task policy for 500 episodes against 100
    /// per task: `multitask_hyperparameters = { total_episodes = 500 }`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub multitask_hyperparameters: Map<String, Value>,
    /// Built-in: periodic evaluation during training, keeping the best policy
    /// (Stable-Baselines3's `EvalCallback`; the paper: every 500 steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_callback: Option<EvalCallback>,
    /// Which context features each source's policy observes, appended to the state: `none`
    /// (the default: MBTL's per-task policies see only the state), `varied` (the experiment's
    /// axes) or `all` (every feature of the environment, as CARL 0.x appends them unless
    /// `hide_context` is set). Evaluated on a target, a policy sees the target's values.
    #[serde(default, skip_serializing_if = "ObserveContext::is_none")]
    pub observe_context: ObserveContext,
    /// Seconds an external trainer may run before it is killed (and the attempt fails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Failed attempts of a job tried again before the run gives up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The context features a per-task policy observes (`learner.observe_context`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObserveContext {
    #[default]
    None,
    Varied,
    All,
}

impl ObserveContext {
    fn is_none(&self) -> bool {
        *self == ObserveContext::None
    }
}

/// Who trains and evaluates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LearnerKind {
    #[default]
    Builtin,
    Command,
}

impl LearnerKind {
    fn is_builtin(&self) -> bool {
        *self == LearnerKind::Builtin
    }
}

/// The learner of a resolved experiment.
#[derive(Debug, Clone, PartialEq)]
pub enum LearnerPlan {
    /// mbtl's own PPO, DQN or SAC, with its periodic evaluation if any.
    Builtin {
        learner: Learner,
        /// The multi-task training's learner: `learner` with
        /// `learner.multitask_hyperparameters` on top.
        multitask: Learner,
        callback: Option<EvalCallback>,
    },
    /// An external trainer run through the job/result file protocol.
    Command(crate::external::CommandLearner),
}

impl LearnerPlan {
    /// A short name for reports: the algorithm, or the command's program.
    pub fn describe(&self) -> String {
        match self {
            LearnerPlan::Builtin { learner, .. } => learner.algo().to_string(),
            LearnerPlan::Command(c) => c.describe(),
        }
    }

    /// How many times a job is tried before the run fails.
    pub fn attempts(&self) -> u32 {
        match self {
            LearnerPlan::Builtin { .. } => 1,
            LearnerPlan::Command(c) => 1 + c.retries,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSection {
    /// Deterministic evaluation episodes per (policy, target) pair.
    #[serde(default = "hundred")]
    pub episodes: usize,
}

impl Default for EvalSection {
    fn default() -> Self {
        EvalSection { episodes: 100 }
    }
}

fn hundred() -> usize {
    100
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectSection {
    pub strategies: Vec<String>,
    /// K: tasks each sequential strategy trains.
    pub budget: usize,
    /// Normalisation bounds `[lo, hi]` of the raw returns (MBTL §4.3); default per environment.
    /// Two numbers; a list (not a fixed-size array) so that a third one is refused by name.
    #[serde(default)]
    pub bounds: Option<Vec<f64>>,
    /// Clamp the normalised values to `[0, 1]` ([`mbtl_select::replay::Normalization`]'s
    /// `clip`): a policy that fails a target far below the lower bound then counts as 0 there,
    /// instead of dragging `V_k` below 0. MBTL's code does not clip, hence the default. Not
    /// written when off, so run folders made before it existed keep their canonical text.
    #[serde(default, skip_serializing_if = "is_false")]
    pub clip: bool,
    /// MBTL-GP's generalization-gap slope θ per task index (MBTL eq. 5, fixed gap).
    #[serde(default = "default_slope")]
    pub slope: f64,
    /// MBTL-GP's exploration schedule: zero, one, inverse-k, sqrt-log, sampled.
    #[serde(default = "default_acquisition")]
    pub acquisition: String,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

fn default_slope() -> f64 {
    0.005
}

fn default_acquisition() -> String {
    "sqrt-log".into()
}

/// Most independent trials of one experiment.
pub const MAX_TRIALS: usize = 10_000;
/// Longest `learner.timeout`, in seconds (a year).
pub const MAX_TIMEOUT: f64 = 31_536_000.0;
/// Most evaluation episodes per (policy, target) pair.
pub const MAX_EPISODES: usize = 1_000_000;

/// Whether `name` can name a folder under `runs/` and nothing else: letters, digits, `-`, `_`,
/// `.`, and not `.` or `..`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// FNV-1a, 64 bits, of an experiment's canonical text.
fn fingerprint(e: &Experiment) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in e.canonical().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// An experiment resolved against the environments, learners and strategies.
#[derive(Debug, Clone)]
pub struct Plan {
    pub experiment: Experiment,
    pub env: EnvRef,
    pub space: ContextSpace,
    pub contexts: Vec<Context>,
    /// Coordinates the strategies see: task indices per axis (MBTL's convention, so θ is "per
    /// index" as in the paper).
    pub task_space: TaskSpace,
    pub learner: LearnerPlan,
    pub strategies: Vec<StrategyName>,
    pub bounds: [f64; 2],
    /// `select.clip`: normalised values clamped to `[0, 1]`.
    pub clip: bool,
    pub options: ReplayOptions,
    /// Where an external trainer's command runs: the experiment file's folder (absolute), or
    /// the current folder when the experiment did not come from a file.
    pub workdir: Option<PathBuf>,
}

impl Plan {
    /// The identity the job and result of `source` carry: [`Experiment::identity_of`].
    pub fn identity_of(&self, source: crate::job::Source) -> String {
        self.experiment.identity_of(source)
    }

    pub fn n_tasks(&self) -> usize {
        self.contexts.len()
    }

    pub fn eval_episodes(&self) -> usize {
        self.experiment.eval.episodes
    }

    /// The `mbtl replay` command that replays this experiment's strategies on its matrix
    /// files with the run's own settings (bounds, K, θ, acquisition, seed, grid, paper panel),
    /// so that it reproduces the run's curves. Multi-task needs its policy's per-target returns
    /// (`--multitask FILE`), which a matrix does not hold, so it is left out.
    pub fn replay_command(&self, files: &[PathBuf]) -> String {
        let mut cmd = String::from("mbtl replay");
        for f in files {
            cmd.push(' ');
            cmd.push_str(&f.display().to_string());
        }
        let strategies: Vec<&str> = self
            .strategies
            .iter()
            .filter(|s| **s != StrategyName::Multitask)
            .map(|s| s.name())
            .collect();
        let o = &self.options;
        let slope = match o.gap {
            GapModel::Fixed(theta) => theta,
            _ => self.experiment.select.slope,
        };
        // `=` keeps negative bounds from reading as flags.
        cmd.push_str(&format!(
            " --normalize={},{}{} --strategy {} --budget {} --slope {slope} --acquisition {} --seed {}",
            self.bounds[0],
            self.bounds[1],
            if self.clip { ",clip" } else { "" },
            strategies.join(","),
            o.budget,
            o.acquisition,
            o.seed
        ));
        if let Some(levels) = self.task_space.levels().filter(|l| l.len() > 1) {
            let l: Vec<String> = levels.iter().map(usize::to_string).collect();
            cmd.push_str(&format!(" --grid {}", l.join(",")));
        }
        if let Some(p) = &self.experiment.report.paper {
            cmd.push_str(&format!(" --paper {p}"));
        }
        cmd
    }

    /// What a source's own policy observes of its context (`learner.observe_context`).
    pub fn task_obs(&self, ctx: &Context) -> ContextObs {
        match self.experiment.learner.observe_context {
            ObserveContext::None => ContextObs::Hidden,
            ObserveContext::Varied => ContextObs::Appended(self.varied_features()),
            ObserveContext::All => ContextObs::all(ctx),
        }
    }

    /// The multi-task policy sees the varied features appended to its observation.
    pub fn multitask_obs(&self) -> ContextObs {
        ContextObs::Appended(self.varied_features())
    }

    /// The features the experiment's axes vary, in axis order.
    pub fn varied_features(&self) -> Vec<String> {
        self.experiment
            .space
            .axes
            .iter()
            .map(|a| a.feature.clone())
            .collect()
    }

    /// Whether `(trial, source)` is a job of this experiment; the message says why not.
    pub fn check_job(
        &self,
        trial: usize,
        source: crate::job::Source,
    ) -> std::result::Result<(), String> {
        let n = self.n_tasks();
        let in_range = match source {
            crate::job::Source::Task(i) => i < n,
            crate::job::Source::Multitask => true,
        };
        if trial >= self.experiment.trials || !in_range {
            return Err(format!(
                "trial {trial}, {source} is not a job of this experiment ({} trials, {n} tasks)",
                self.experiment.trials
            ));
        }
        Ok(())
    }

    /// `(raw − lo)/(hi − lo)`, clamped to `[0, 1]` under `select.clip`: what the strategies,
    /// the curves and the report see.
    pub fn normalize(&self, raw: f64) -> f64 {
        let v = self.normalize_unclipped(raw);
        if self.clip {
            v.clamp(0.0, 1.0)
        } else {
            v
        }
    }

    /// `(raw − lo)/(hi − lo)`, never clamped (to say what clipping changed).
    pub fn normalize_unclipped(&self, raw: f64) -> f64 {
        (raw - self.bounds[0]) / (self.bounds[1] - self.bounds[0])
    }
}

impl Experiment {
    /// Reads an experiment file and resolves it; an external trainer's command will run in the
    /// file's folder.
    pub fn load(path: &Path) -> Result<Plan> {
        let mut plan = Experiment::read(path)?.plan(&path.display().to_string())?;
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        let folder = folder.unwrap_or(Path::new("."));
        plan.workdir = Some(std::fs::canonicalize(folder).map_err(|e| RunError::io(folder, e))?);
        Ok(plan)
    }

    /// [`Experiment::load`] with `--set KEY=VALUE` overrides applied to the file's settings
    /// first (dotted keys, TOML values: `learner.hyperparameters.total_timesteps=200000`,
    /// `name="masscart-2e5"`; a bare word is a string).
    pub fn load_with(path: &Path, sets: &[String]) -> Result<Plan> {
        if sets.is_empty() {
            return Self::load(path);
        }
        let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
        let origin = path.display().to_string();
        let experiment = Self::parse_with(&text, &origin, sets)?;
        let mut plan = experiment.plan(&format!("{origin} with --set"))?;
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        let folder = folder.unwrap_or(Path::new("."));
        plan.workdir = Some(std::fs::canonicalize(folder).map_err(|e| RunError::io(folder, e))?);
        Ok(plan)
    }

    /// Parses TOML text with `KEY=VALUE` overrides (see [`Experiment::load_with`]).
    pub fn parse_with(text: &str, origin: &str, sets: &[String]) -> Result<Experiment> {
        let config = |message: String| RunError::Config {
            file: origin.into(),
            message,
        };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| RunError::Parse {
            file: origin.into(),
            source: e.into(),
        })?;
        for set in sets {
            let (key, value) = set.split_once('=').ok_or_else(|| {
                config(format!(
                    "--set {set}: expected KEY=VALUE, e.g. learner.hyperparameters.total_timesteps=200000"
                ))
            })?;
            let value: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
                Ok(mut t) => t.remove("v").expect("parsed v"),
                Err(_) => toml::Value::String(value.trim().to_string()),
            };
            let parts: Vec<&str> = key.trim().split('.').collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err(config(format!("--set {set}: empty part in key '{key}'")));
            }
            let mut slot = &mut table;
            for part in &parts[..parts.len() - 1] {
                let next = slot
                    .entry(part.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                slot = next.as_table_mut().ok_or_else(|| {
                    config(format!("--set {set}: '{part}' is not a table in {origin}"))
                })?;
            }
            slot.insert(parts[parts.len() - 1].to_string(), value);
        }
        table
            .try_into()
            .map_err(|e: toml::de::Error| config(format!("with --set: {e}")))
    }

    /// Reads and checks an experiment file.
    pub fn read(path: &Path) -> Result<Experiment> {
        let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Experiment> {
        toml::from_str(text).map_err(|e| RunError::Parse {
            file: origin.into(),
            source: e.into(),
        })
    }

    /// The canonical text of the settings that determine results (what resuming compares).
    /// [`Experiment::plan`] refuses an experiment without one, so a planned one always has it.
    pub fn canonical(&self) -> String {
        toml::to_string(self).expect("plan() checked that the experiment serialises to TOML")
    }

    /// A short fingerprint of the settings that decide trainings (FNV-1a, 64 bits, of the
    /// canonical text of [`Experiment::training_settings`]): job and result files carry it, and
    /// workers and the coordinator refuse files whose fingerprint is not their run folder's.
    /// Selection settings are not part of it, so they may change under running jobs.
    pub fn identity(&self) -> String {
        fingerprint(&self.training_settings())
    }

    /// The fingerprint of the multi-task training: [`Experiment::identity`] with
    /// `learner.multitask_hyperparameters`, which decide that training only. Without them it
    /// is the identity itself. So adding or changing them keeps the per-task trainings, and
    /// the multi-task job's files carry settings of their own.
    pub fn multitask_identity(&self) -> String {
        let mut e = self.training_settings();
        e.learner
            .multitask_hyperparameters
            .clone_from(&self.learner.multitask_hyperparameters);
        fingerprint(&e)
    }

    /// The identity the job and result of `source` carry, and the one a run folder's stored
    /// experiment must have for them: [`Experiment::identity`] for a per-task training,
    /// [`Experiment::multitask_identity`] for the multi-task one.
    pub fn identity_of(&self, source: crate::job::Source) -> String {
        match source {
            crate::job::Source::Task(_) => self.identity(),
            crate::job::Source::Multitask => self.multitask_identity(),
        }
    }

    /// The experiment without the settings that decide how jobs run, not what they produce
    /// (`learner.timeout`, `learner.retries`): changing those never makes a run folder's
    /// results stale (raising a timeout after one hit is what a user does).
    fn result_settings(&self) -> Experiment {
        let mut e = self.clone();
        e.learner.timeout = None;
        e.learner.retries = 0;
        e.report = ReportSection::default();
        e
    }

    /// The settings that decide what a training produces: [`Experiment::result_settings`]
    /// without the selection (strategies, K, bounds, clipping, θ, acquisition), which only
    /// decides which stored rows are read and how, and without the number of trials (a job's
    /// seed depends on its trial, not on how many there are). A run folder keeps its trainings across such
    /// changes: more trials train only the new ones.
    fn training_settings(&self) -> Experiment {
        let mut e = self.result_settings();
        e.trials = 1;
        // They decide the multi-task training only (see `multitask_identity`).
        e.learner.multitask_hyperparameters = Map::new();
        e.select = SelectSection {
            strategies: Vec::new(),
            budget: 0,
            bounds: None,
            clip: false,
            slope: 0.0,
            acquisition: String::new(),
        };
        e
    }

    /// Resolves names, grids and options; `origin` names the file in errors.
    pub fn plan(&self, origin: &str) -> Result<Plan> {
        let bad = |field: &str, message: String| RunError::Config {
            file: origin.into(),
            message: format!("{field}: {message}"),
        };
        // A library refused the field's value: its error stays the source.
        let refused = |field: &str, e: Box<dyn std::error::Error + Send + Sync>| RunError::Field {
            file: origin.into(),
            field: field.into(),
            source: e,
        };
        if !valid_name(&self.name) {
            return Err(bad(
                "name",
                format!(
                    "'{}': use letters, digits, '-', '_' and '.' (not '.' or '..' alone): the name is the default run folder runs/NAME",
                    self.name
                ),
            ));
        }
        if self.trials == 0 || self.trials > MAX_TRIALS {
            return Err(bad(
                "trials",
                format!("must be between 1 and {MAX_TRIALS}, got {}", self.trials),
            ));
        }
        let env = if self.env.features.is_empty() {
            EnvRef::lookup(&self.env.name).map_err(|e| refused("env.name", e.into()))?
        } else {
            if self.env.semantics != Semantics::default() {
                return Err(bad(
                    "env.semantics",
                    format!(
                        "'{}': an environment declared by its features has one feature table; leave semantics out",
                        self.env.semantics
                    ),
                ));
            }
            let features = self
                .env
                .features
                .iter()
                .map(|(name, d)| {
                    FeatureSpec::new(
                        name.clone(),
                        d.default,
                        d.lower.unwrap_or(f64::NEG_INFINITY),
                        d.upper.unwrap_or(f64::INFINITY),
                        d.description.clone().unwrap_or_default(),
                    )
                })
                .collect();
            EnvRef::declared(&self.env.name, "declared in the experiment file", features)
                .map_err(|e| refused("env.features", e.into()))?
        };
        let fixed: Vec<(String, f64)> = self
            .env
            .context
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let base = Context::new(&env, self.env.semantics, &fixed)
            .map_err(|e| refused("env.context", e.into()))?;
        if self.space.axes.is_empty() {
            return Err(bad(
                "space.axes",
                "at least one varied feature is needed".into(),
            ));
        }
        let mut axes = Vec::new();
        for (i, a) in self.space.axes.iter().enumerate() {
            let field = format!("space.axes[{i}]");
            if self.env.context.contains_key(&a.feature) {
                return Err(bad(
                    &format!("{field}.feature"),
                    format!(
                        "'{}' is also fixed in env.context; a feature is either fixed or varied",
                        a.feature
                    ),
                ));
            }
            let default = base
                .get(&a.feature)
                .map_err(|e| refused(&format!("{field}.feature"), e.into()))?;
            let values = a
                .spacing
                .values(default)
                .map_err(|e| refused(&field, e.into()))?;
            axes.push(mbtl_env::Axis {
                feature: a.feature.clone(),
                values,
            });
        }
        let levels: Vec<usize> = axes.iter().map(|a| a.values.len()).collect();
        let space = ContextSpace::grid(base, axes).map_err(|e| refused("space", e.into()))?;
        let contexts = space.contexts().map_err(|e| refused("space", e.into()))?;
        let n = contexts.len();
        let task_space = if levels.len() == 1 {
            TaskSpace::indices(n)
        } else {
            TaskSpace::grid(&levels).map_err(|e| refused("space", e.into()))?
        };

        if let Some(p) = &self.report.paper {
            mbtl_select::paper::panel(p).map_err(|e| refused("report.paper", e.into()))?;
        }
        if let Some(t) = self.report.trained_threshold {
            if !t.is_finite() {
                return Err(bad(
                    "report.trained_threshold",
                    format!("{t}: need a finite normalised return"),
                ));
            }
        }
        let learner = self.learner_plan(&env, &bad, &refused)?;
        if let LearnerPlan::Builtin {
            learner: l,
            multitask,
            ..
        } = &learner
        {
            l.validate(&env)
                .map_err(|e| refused("learner.hyperparameters", e.into()))?;
            multitask
                .validate(&env)
                .map_err(|e| refused("learner.multitask_hyperparameters", e.into()))?;
        }

        let s = &self.select;
        if s.strategies.is_empty() {
            return Err(bad(
                "select.strategies",
                "name at least one strategy".into(),
            ));
        }
        let mut strategies = Vec::new();
        for name in &s.strategies {
            let parsed: StrategyName = name
                .parse()
                .map_err(|e| bad("select.strategies", format!("{e}")))?;
            if strategies.contains(&parsed) {
                return Err(bad(
                    "select.strategies",
                    format!("'{name}' is listed twice"),
                ));
            }
            parsed
                .check_space(&task_space)
                .map_err(|e| refused("select.strategies", e.into()))?;
            strategies.push(parsed);
        }
        if s.budget == 0 || s.budget > n {
            return Err(bad(
                "select.budget",
                format!(
                    "K = {} must be between 1 and the number of tasks ({n})",
                    s.budget
                ),
            ));
        }
        let given = match s.bounds.as_deref() {
            None => None,
            Some(&[lo, hi]) => Some([lo, hi]),
            Some(other) => {
                return Err(bad(
                    "select.bounds",
                    format!("{other:?}: give exactly two numbers [lo, hi]"),
                ))
            }
        };
        let bounds = match given.or(env.spec().return_bounds) {
            Some(b) if b[0].is_finite() && b[1].is_finite() && b[1] > b[0] => b,
            Some(b) => {
                return Err(bad(
                    "select.bounds",
                    format!("[{}, {}]: need finite lo < hi", b[0], b[1]),
                ))
            }
            None => {
                return Err(bad(
                    "select.bounds",
                    format!("{env} has no default normalisation bounds; give [lo, hi]"),
                ))
            }
        };
        if !(s.slope.is_finite() && s.slope >= 0.0) {
            return Err(bad("select.slope", format!("{}: need θ ≥ 0", s.slope)));
        }
        let acquisition: Acquisition = s
            .acquisition
            .parse()
            .map_err(|e| bad("select.acquisition", format!("{e}")))?;
        if self.eval.episodes == 0 || self.eval.episodes > MAX_EPISODES {
            return Err(bad(
                "eval.episodes",
                format!(
                    "must be between 1 and {MAX_EPISODES}, got {}",
                    self.eval.episodes
                ),
            ));
        }
        let options = ReplayOptions {
            budget: s.budget,
            gap: GapModel::Fixed(s.slope),
            acquisition,
            // Strategies draw from 32-bit NumPy-style seeds; fold the experiment seed in.
            seed: (self.seed ^ (self.seed >> 32)) as u32,
            ..Default::default()
        };
        // A value that reads from TOML but cannot be written back (a NaN handed through to an
        // external trainer becomes an empty JSON value) would leave no canonical text.
        toml::to_string(self).map_err(|e| {
            bad(
                "learner.hyperparameters",
                format!("cannot be recorded ({e}); use finite numbers, strings, booleans, arrays or tables"),
            )
        })?;
        Ok(Plan {
            experiment: self.clone(),
            env,
            space,
            contexts,
            task_space,
            learner,
            strategies,
            bounds,
            clip: s.clip,
            options,
            workdir: None,
        })
    }

    /// The learner section resolved: a built-in algorithm with its zoo defaults and overrides,
    /// or an external command; fields that belong to the other kind are refused.
    fn learner_plan(
        &self,
        env: &EnvRef,
        bad: &dyn Fn(&str, String) -> RunError,
        refused: &dyn Fn(&str, Box<dyn std::error::Error + Send + Sync>) -> RunError,
    ) -> Result<LearnerPlan> {
        let l = &self.learner;
        if let Some(t) = l.timeout {
            if !(t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT) {
                return Err(bad(
                    "learner.timeout",
                    format!("{t}: need seconds in (0, {MAX_TIMEOUT}]"),
                ));
            }
        }
        match l.kind {
            LearnerKind::Builtin => {
                let Some(algo) = &l.algo else {
                    return Err(bad(
                        "learner.algo",
                        "missing: name ppo, dqn or sac (or set kind = \"command\" for an external trainer)".into(),
                    ));
                };
                if !l.command.is_empty() {
                    return Err(bad(
                        "learner.command",
                        "only an external trainer (kind = \"command\") runs a command".into(),
                    ));
                }
                if l.timeout.is_some() {
                    return Err(bad(
                        "learner.timeout",
                        "only an external trainer (kind = \"command\") can be timed out".into(),
                    ));
                }
                if l.retries > 0 {
                    return Err(bad(
                        "learner.retries",
                        format!("{}: only an external trainer (kind = \"command\") is retried; mbtl's learners give the same result every time", l.retries),
                    ));
                }
                if !env.is_simulated() {
                    return Err(bad(
                        "learner.algo",
                        format!(
                            "'{algo}' cannot train on '{env}': mbtl does not simulate an environment declared by its features; use kind = \"command\""
                        ),
                    ));
                }
                let preset: Preset = match &l.preset {
                    Some(p) => p
                        .parse()
                        .map_err(|e: mbtl_rl::RlError| refused("learner.preset", e.into()))?,
                    None => Preset::Zoo,
                };
                let learner = Learner::preset(algo, preset, env)
                    .and_then(|l| l.with_overrides(&self.learner.hyperparameters))
                    .map_err(|e| refused("learner", e.into()))?;
                let multitask = learner
                    .with_overrides(&l.multitask_hyperparameters)
                    .map_err(|e| refused("learner.multitask_hyperparameters", e.into()))?;
                if let Some(cb) = &l.eval_callback {
                    cb.validate()
                        .map_err(|e| refused("learner.eval_callback", e.into()))?;
                }
                Ok(LearnerPlan::Builtin {
                    learner,
                    multitask,
                    callback: l.eval_callback.clone(),
                })
            }
            LearnerKind::Command => {
                if l.preset.is_some()
                    || l.eval_callback.is_some()
                    || !l.multitask_hyperparameters.is_empty()
                {
                    return Err(bad(
                        if l.preset.is_some() {
                            "learner.preset"
                        } else if l.eval_callback.is_some() {
                            "learner.eval_callback"
                        } else {
                            "learner.multitask_hyperparameters"
                        },
                        "belongs to mbtl's own learners; an external trainer chooses its hyper-parameters and evaluations itself (and reports its curves)".into(),
                    ));
                }
                if let Some(algo) = &l.algo {
                    return Err(bad(
                        "learner.algo",
                        format!("'{algo}': an external trainer names no built-in algorithm; its command trains"),
                    ));
                }
                if l.command.first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(bad(
                        "learner.command",
                        "give the trainer's argv, e.g. command = [\"python3\", \"train.py\"]"
                            .into(),
                    ));
                }
                Ok(LearnerPlan::Command(crate::external::CommandLearner {
                    command: l.command.clone(),
                    hyperparameters: l.hyperparameters.clone(),
                    timeout: l.timeout.map(std::time::Duration::from_secs_f64),
                    retries: l.retries,
                }))
            }
        }
    }
}

/// The settings that differ between two experiments, as `field: old → new` lines (settings
/// that only decide how jobs run are left out: [`Experiment::result_settings`]).
pub fn differences(old: &Experiment, new: &Experiment) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(old.result_settings()).expect("serialisable"),
        serde_json::to_value(new.result_settings()).expect("serialisable"),
    );
    let mut out = Vec::new();
    diff("", &a, &b, &mut out);
    out
}

/// [`differences`] in the settings that decide trainings (everything but the selection, the
/// report and how jobs run): a run folder with such a difference cannot be resumed.
pub fn training_differences(old: &Experiment, new: &Experiment) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(old.training_settings()).expect("serialisable"),
        serde_json::to_value(new.training_settings()).expect("serialisable"),
    );
    let mut out = Vec::new();
    diff("", &a, &b, &mut out);
    out
}

fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    &p,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} → {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
name = "t"
seed = 3
[env]
name = "cartpole"
[[space.axes]]
feature = "length"
spacing = "linear"
lo = 0.25
hi = 1.0
n = 4
[learner]
algo = "ppo"
hyperparameters = { total_timesteps = 2048, n_epochs = 2 }
[select]
strategies = ["mbtl-gp", "random"]
budget = 2
"#;

    #[test]
    fn a_small_experiment_resolves() {
        let e = Experiment::parse(SMALL, "small.toml").unwrap();
        let p = e.plan("small.toml").unwrap();
        assert_eq!(p.n_tasks(), 4);
        assert_eq!(p.contexts[3].get("length").unwrap(), 1.0);
        assert_eq!(p.bounds, [0.0, 500.0]);
        let LearnerPlan::Builtin { learner, .. } = &p.learner else {
            panic!("a built-in learner")
        };
        assert_eq!(learner.budget(), mbtl_rl::learner::Budget::Steps(2048));
        assert_eq!(p.eval_episodes(), 100);
        // The canonical text parses back to the same experiment.
        assert_eq!(Experiment::parse(&e.canonical(), "x").unwrap(), e);
    }

    #[test]
    fn multitask_overrides_apply_to_the_multitask_training_only() {
        let base = Experiment::parse(SMALL, "small.toml").unwrap();
        let text = SMALL.replace(
            "[select]",
            "multitask_hyperparameters = { total_timesteps = 8192 }\n[select]",
        );
        let e = Experiment::parse(&text, "small.toml").unwrap();
        // They decide the multi-task training only: the per-task trainings keep their
        // identity, the multi-task one gets its own.
        assert_eq!(e.identity(), base.identity());
        assert_ne!(e.multitask_identity(), base.multitask_identity());
        assert_eq!(base.multitask_identity(), base.identity());
        let LearnerPlan::Builtin {
            learner, multitask, ..
        } = &e.plan("small.toml").unwrap().learner
        else {
            panic!("a built-in learner")
        };
        use mbtl_rl::learner::Budget;
        assert_eq!(learner.budget(), Budget::Steps(2048));
        assert_eq!(multitask.budget(), Budget::Steps(8192));
        assert_eq!(
            multitask.hyperparameters()["n_epochs"],
            2,
            "the rest as for a task"
        );
        // Without it the multi-task learner is the task learner, and nothing is written.
        let LearnerPlan::Builtin {
            learner, multitask, ..
        } = &base.plan("small.toml").unwrap().learner
        else {
            panic!("a built-in learner")
        };
        assert_eq!(learner, multitask);
        assert!(!base.canonical().contains("multitask_hyperparameters"));
        let bad = text.replace("total_timesteps = 8192", "n_epoch = 3");
        let err = Experiment::parse(&bad, "small.toml")
            .unwrap()
            .plan("small.toml")
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("learner.multitask_hyperparameters"),
            "{err:#}"
        );
    }

    #[test]
    fn observed_context_changes_the_trainings_and_only_when_set() {
        let base = Experiment::parse(SMALL, "small.toml").unwrap();
        let all = SMALL.replace(
            "algo = \"ppo\"",
            "algo = \"ppo\"\nobserve_context = \"all\"",
        );
        let e = Experiment::parse(&all, "small.toml").unwrap();
        assert_ne!(e.identity(), base.identity());
        // The default is not written, so older run folders keep their identity.
        assert!(!base.canonical().contains("observe_context"));
        let p = e.plan("small.toml").unwrap();
        let ContextObs::Appended(names) = p.task_obs(&p.contexts[0]) else {
            panic!("context appended")
        };
        assert!(
            names.len() > 1 && names.contains(&"length".to_string()),
            "{names:?}"
        );
        let varied = SMALL.replace(
            "algo = \"ppo\"",
            "algo = \"ppo\"\nobserve_context = \"varied\"",
        );
        let p = Experiment::parse(&varied, "x").unwrap().plan("x").unwrap();
        assert_eq!(
            p.task_obs(&p.contexts[0]),
            ContextObs::Appended(vec!["length".to_string()])
        );
        let bad = SMALL.replace(
            "algo = \"ppo\"",
            "algo = \"ppo\"\nobserve_context = \"some\"",
        );
        assert!(err(&bad).contains("observe_context"), "{}", err(&bad));
    }

    fn err(text: &str) -> String {
        match Experiment::parse(text, "bad.toml").and_then(|e| e.plan("bad.toml")) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.chain(),
        }
    }

    #[test]
    fn bad_fields_are_named_with_their_values() {
        let e = err(&SMALL.replace("budget = 2", "budget = 9"));
        assert!(
            e.contains("bad.toml") && e.contains("select.budget") && e.contains("K = 9"),
            "{e}"
        );
        let e = err(&SMALL.replace("\"random\"", "\"randum\""));
        assert!(
            e.contains("select.strategies") && e.contains("randum"),
            "{e}"
        );
        let e = err(&SMALL.replace("feature = \"length\"", "feature = \"lenght\""));
        assert!(
            e.contains("space.axes[0].feature") && e.contains("lenght"),
            "{e}"
        );
        let e = err(&SMALL.replace("n_epochs = 2", "n_epoch = 2"));
        assert!(e.contains("learner") && e.contains("n_epoch"), "{e}");
        let e = err(&SMALL.replace("name = \"cartpole\"", "name = \"cartpol\""));
        assert!(e.contains("env.name") && e.contains("cartpol"), "{e}");
        let e = err(&SMALL.replace("lo = 0.25", "lo = -1.0"));
        assert!(e.contains("space") && e.contains("-1"), "{e}");
        let e = err(&SMALL.replace("seed = 3", "seed = 3\nsed = 4"));
        assert!(e.contains("sed"), "{e}");
        let e = err(&SMALL.replace("n = 4", "n = 4\nstep = 0.1"));
        assert!(e.contains("unknown field `step`"), "{e}");
        let e = err(&SMALL
            .replace("name = \"cartpole\"", "name = \"acrobot\"")
            .replace("feature = \"length\"", "feature = \"LINK_LENGTH_1\"")
            .replace("lo = 0.25", "lo = 0.5"));
        assert!(e.contains("select.bounds"), "{e}");
    }

    #[test]
    fn differences_name_each_changed_field() {
        let a = Experiment::parse(SMALL, "a").unwrap();
        let mut b = a.clone();
        b.select.budget = 3;
        b.learner
            .hyperparameters
            .insert("n_epochs".into(), 4.into());
        let d = differences(&a, &b);
        assert_eq!(
            d,
            vec![
                "learner.hyperparameters.n_epochs: 2 → 4".to_string(),
                "select.budget: 2 → 3".to_string()
            ]
        );
        assert!(differences(&a, &a).is_empty());
    }

    #[test]
    fn presets_callbacks_paper_panels_and_sets_are_checked() {
        let set = |sets: &[&str]| {
            let sets: Vec<String> = sets.iter().map(std::string::ToString::to_string).collect();
            Experiment::parse_with(SMALL, "small.toml", &sets).and_then(|e| e.plan("small.toml"))
        };
        let p = set(&[
            "learner.preset=\"sb3\"",
            "learner.eval_callback={ eval_freq = 500 }",
            "learner.hyperparameters.total_timesteps=4096",
            "report.paper=CartPole_MassCart",
        ])
        .unwrap();
        let LearnerPlan::Builtin {
            learner, callback, ..
        } = &p.learner
        else {
            panic!("built-in")
        };
        let hp = learner.hyperparameters();
        // SB3's defaults, the file's n_epochs and the command line's budget on top.
        assert_eq!(hp["n_steps"], 2048);
        assert_eq!(hp["n_epochs"], 2);
        assert_eq!(learner.budget(), mbtl_rl::learner::Budget::Steps(4096));
        assert_eq!(
            callback.as_ref().unwrap(),
            &EvalCallback {
                eval_freq: 500,
                ..EvalCallback::paper()
            }
        );
        // Report settings never change a run's identity; the learner's do.
        let plain = set(&[
            "learner.preset=sb3",
            "learner.eval_callback={ eval_freq = 500 }",
            "learner.hyperparameters.total_timesteps=4096",
        ])
        .unwrap();
        assert_eq!(p.experiment.identity(), plain.experiment.identity());
        assert_ne!(
            p.experiment.identity(),
            set(&[]).unwrap().experiment.identity()
        );
        for (sets, want) in [
            (
                &["learner.preset=paper"][..],
                "learner.preset: unknown preset 'paper'",
            ),
            (
                &["learner.eval_callback={ eval_freq = 0 }"][..],
                "learner.eval_callback",
            ),
            (&["report.paper=CartPole"][..], "report.paper"),
            (
                &["report.trained_threshold=nan"][..],
                "report.trained_threshold",
            ),
            (&["learner"][..], "expected KEY=VALUE"),
            (&["name.x=1"][..], "'name' is not a table"),
            (&["learner.n_epochs=3"][..], "n_epochs"),
            (
                &[
                    "space.axes=[{feature=\"length\",spacing=\"values\",values=[0.5,1.0]},{feature=\"masspole\",spacing=\"values\",values=[0.1,0.2]}]",
                    "select.strategies=[\"mbtl-gp\",\"equidistant\"]",
                ][..],
                "select.strategies: strategy equidistant: defined for 1-D task spaces only, this one has 2 dimensions",
            ),
        ] {
            let e = set(sets).unwrap_err().chain();
            assert!(e.contains(want), "{sets:?}: {e}");
        }
        let e = err(&SMALL.replace(
            "algo = \"ppo\"\nhyperparameters = { total_timesteps = 2048, n_epochs = 2 }",
            "kind = \"command\"\ncommand = [\"train\"]\neval_callback = { eval_freq = 5 }",
        ));
        assert!(
            e.contains("learner.eval_callback: belongs to mbtl's own learners"),
            "{e}"
        );
    }
}
