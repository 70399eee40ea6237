//! What happens around a training: progress reports, and periodic evaluation with best-model
//! keeping as Stable-Baselines3's `EvalCallback` does it.
//!
//! MBTL's control benchmarks (mbtl-spec §4.1) evaluate the policy every 500 steps during
//! training and keep the best one (`best_model.zip`), and that kept policy is what the transfer
//! matrix evaluates. Which policy is kept changes the matrix a great deal: a PPO or DQN run on
//! CartPole often reaches 500 and later collapses, so the final policy and the best one can be
//! far apart. Every learner therefore reports to a [`Monitor`], which owns the schedule, the
//! evaluations and the kept policy; the learners only say when a vector step has happened and
//! hand over a snapshot when one is asked for.

use mbtl_env::{derive_seed, Context};
use serde::{Deserialize, Serialize};

use crate::eval::evaluate;
use crate::policy::Policy;
use crate::{Result, RlError};

/// Progress of a training run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrainLog {
    pub env_steps: u64,
    pub updates: u64,
    /// Mean undiscounted return of the episodes finished during the last rollouts.
    pub recent_return: f64,
    /// Training episodes finished so far (`recent_return` is meaningful once this is > 0).
    pub episodes: u64,
    /// The learner's losses over its last update phase, by Stable-Baselines3's names
    /// (`policy_gradient_loss`, `value_loss`, `entropy_loss`; `loss`; `actor_loss`,
    /// `critic_loss`, `ent_coef`); empty before the first update.
    pub losses: Vec<(&'static str, f64)>,
}

/// Periodic evaluation during training (Stable-Baselines3's `EvalCallback`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalCallback {
    /// Evaluate every `eval_freq` vector steps. As in Stable-Baselines3, which counts callback
    /// calls, a learner with `n_envs` parallel environments evaluates every
    /// `eval_freq × n_envs` environment steps.
    pub eval_freq: u64,
    /// Episodes per evaluation (Stable-Baselines3's default: 5).
    #[serde(default = "five")]
    pub n_eval_episodes: usize,
    /// Act on the most likely action. Only `true` is implemented (Stable-Baselines3's default
    /// and the paper's setting).
    #[serde(default = "yes")]
    pub deterministic: bool,
    /// Keep the best evaluated policy (`best_model.zip`) rather than the last one.
    #[serde(default = "yes")]
    pub keep_best: bool,
}

fn five() -> usize {
    5
}

fn yes() -> bool {
    true
}

/// Most episodes of one periodic evaluation.
pub const MAX_EVAL_EPISODES: usize = 10_000;

impl EvalCallback {
    /// The paper's setting: every 500 steps, 5 deterministic episodes, best policy kept.
    pub fn paper() -> EvalCallback {
        EvalCallback {
            eval_freq: 500,
            n_eval_episodes: 5,
            deterministic: true,
            keep_best: true,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.eval_freq == 0 {
            return Err(RlError::EvalCallback {
                field: "eval_freq",
                value: "0".into(),
                requirement: "evaluate every 1 or more vector steps".into(),
            });
        }
        if self.n_eval_episodes == 0 || self.n_eval_episodes > MAX_EVAL_EPISODES {
            return Err(RlError::EvalCallback {
                field: "n_eval_episodes",
                value: self.n_eval_episodes.to_string(),
                requirement: format!("between 1 and {MAX_EVAL_EPISODES}"),
            });
        }
        if !self.deterministic {
            return Err(RlError::EvalCallback {
                field: "deterministic",
                value: "false".into(),
                requirement: "stochastic evaluation is not implemented; periodic evaluations act deterministically, as the paper's and Stable-Baselines3's default do".into(),
            });
        }
        Ok(())
    }
}

/// One periodic evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    pub env_steps: u64,
    /// Mean return of the evaluation's episodes.
    pub mean: f64,
    /// Their population standard deviation.
    pub std: f64,
}

/// Which policy a training returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kept", rename_all = "lowercase")]
pub enum Kept {
    /// The policy at the end of training.
    Last,
    /// The best periodic evaluation's policy.
    Best { env_steps: u64, mean_return: f64 },
}

/// A finished training: the policy to use and how it was chosen.
#[derive(Debug, Clone)]
pub struct Trained {
    pub policy: Policy,
    pub kept: Kept,
    /// Environment steps the training took (the kept policy's header says when it was kept).
    pub env_steps: u64,
    /// Every periodic evaluation, in order.
    pub evals: Vec<EvalPoint>,
}

/// Watches one training: forwards progress, runs the periodic evaluations and keeps the best
/// policy. Evaluations draw from their own seeds, so a training with a callback takes exactly
/// the steps and updates it takes without one (its last policy is the same).
pub struct Monitor<'a> {
    callback: Option<EvalCallback>,
    /// Contexts of the evaluation episodes (the training context, or the pool spread evenly).
    contexts: Vec<Context>,
    seed: u64,
    calls: u64,
    progress: &'a mut dyn FnMut(&TrainLog),
    evals: Vec<EvalPoint>,
    best: Option<(EvalPoint, Policy)>,
}

impl<'a> Monitor<'a> {
    /// A monitor for a training on `contexts` from `seed`; `callback` may be `None` (progress
    /// reports only).
    pub fn new(
        callback: Option<&EvalCallback>,
        contexts: &[Context],
        seed: u64,
        progress: &'a mut dyn FnMut(&TrainLog),
    ) -> Result<Monitor<'a>> {
        let eval_contexts = match callback {
            Some(cb) => {
                cb.validate()?;
                if contexts.is_empty() {
                    return Err(RlError::NoContext);
                }
                (0..cb.n_eval_episodes)
                    .map(|i| contexts[i * contexts.len() / cb.n_eval_episodes].clone())
                    .collect()
            }
            None => Vec::new(),
        };
        Ok(Monitor {
            callback: callback.cloned(),
            contexts: eval_contexts,
            seed: derive_seed(seed, 4_000_001),
            calls: 0,
            progress,
            evals: Vec::new(),
            best: None,
        })
    }

    /// Counts one vector step (Stable-Baselines3's `on_step`); true when an evaluation is due
    /// now, in which case the learner calls [`Monitor::evaluate`] with a snapshot.
    pub(crate) fn step(&mut self) -> bool {
        self.calls += 1;
        matches!(&self.callback, Some(cb) if self.calls.is_multiple_of(cb.eval_freq))
    }

    /// Evaluates `policy` (the learner's current one, after `env_steps` steps) and keeps it if
    /// it beats every earlier evaluation (strictly, as Stable-Baselines3 does).
    pub(crate) fn evaluate(&mut self, policy: Policy, env_steps: u64) -> Result<()> {
        let Some(cb) = &self.callback else {
            return Ok(());
        };
        // Each evaluation starts from its own seed, as an evaluation environment that keeps
        // drawing would; its episodes run side by side, one per context.
        let seed = derive_seed(self.seed, self.evals.len() as u64);
        let stats = evaluate(&policy, &self.contexts, 1, seed)?;
        let n = stats.len() as f64;
        let mean = stats.iter().map(|s| s.mean).sum::<f64>() / n;
        let std = (stats.iter().map(|s| (s.mean - mean).powi(2)).sum::<f64>() / n).sqrt();
        let point = EvalPoint {
            env_steps,
            mean,
            std,
        };
        self.evals.push(point);
        if cb.keep_best && self.best.as_ref().is_none_or(|(b, _)| mean > b.mean) {
            self.best = Some((point, policy));
        }
        Ok(())
    }

    /// Passes a progress report on.
    pub(crate) fn progress(&mut self, log: &TrainLog) {
        (self.progress)(log);
    }

    /// The training's result: the best evaluated policy when one was kept, else `last`.
    pub fn finish(self, last: Policy) -> Trained {
        let env_steps = last.header.env_steps;
        match self.best {
            Some((p, policy)) => Trained {
                policy,
                kept: Kept::Best {
                    env_steps: p.env_steps,
                    mean_return: p.mean,
                },
                env_steps,
                evals: self.evals,
            },
            None => Trained {
                policy: last,
                kept: Kept::Last,
                env_steps,
                evals: self.evals,
            },
        }
    }
}
