//! A trained policy: what it acts with and what it was trained on, so that loading it into the
//! wrong environment or observation layout is refused.

use std::path::Path;

use mbtl_env::{ActionSpace, Context, ContextObs, ContextRecord, Env, EnvRef};
use mbtl_nn::{io, Mlp};
use serde::{Deserialize, Serialize};

use crate::{Result, RlError};

/// File format version of policy files.
pub const FORMAT_VERSION: u32 = 1;

/// Everything a policy file says about itself (the safetensors JSON header).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyHeader {
    pub format_version: u32,
    /// The environment's name.
    pub env: String,
    /// The context it was trained on (environment, semantics, every feature); for a policy
    /// trained over several contexts, the first of them.
    pub context: ContextRecord,
    /// Every context of a multi-task training (empty for a single-context policy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_pool: Vec<ContextRecord>,
    pub context_obs: ContextObs,
    pub obs_dim: usize,
    /// Outputs of the actor: one logit per discrete action, or per action component a mean
    /// (and, for a squashed Gaussian, then a log-std).
    pub n_actions: usize,
    /// For continuous actions: how the actor's outputs become actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuous: Option<ContinuousHead>,
    pub algo: String,
    pub hyperparameters: serde_json::Value,
    pub seed: u64,
    pub env_steps: u64,
}

/// How a continuous policy's actor outputs become deterministic actions in the box
/// `[low, high]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ContinuousHead {
    /// SAC: outputs are means then log-stds; the action is `tanh(μ)` rescaled to the box.
    Squashed { low: Vec<f32>, high: Vec<f32> },
    /// SAC with state-dependent exploration: outputs are means, clipped to `±clip_mean`; the
    /// action is `tanh` of that, rescaled to the box.
    SquashedMean {
        low: Vec<f32>,
        high: Vec<f32>,
        clip_mean: f32,
    },
    /// PPO: outputs are means; the action is `μ` clipped to the box.
    Clipped { low: Vec<f32>, high: Vec<f32> },
}

impl ContinuousHead {
    /// Action components.
    pub fn dim(&self) -> usize {
        match self {
            ContinuousHead::Squashed { low, .. }
            | ContinuousHead::SquashedMean { low, .. }
            | ContinuousHead::Clipped { low, .. } => low.len(),
        }
    }

    /// Deterministic actions for a batch of actor outputs, written to `out` (`batch × dim`, in
    /// the environment's units).
    pub fn deterministic(&self, head: &[f32], out: &mut [f32]) {
        let dim = self.dim();
        match self {
            ContinuousHead::Squashed { low, high } => {
                for (row, a) in head.chunks_exact(2 * dim).zip(out.chunks_exact_mut(dim)) {
                    for j in 0..dim {
                        a[j] = low[j] + 0.5 * (row[j].tanh() + 1.0) * (high[j] - low[j]);
                    }
                }
            }
            ContinuousHead::SquashedMean {
                low,
                high,
                clip_mean,
            } => {
                for (row, a) in head.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
                    for j in 0..dim {
                        let m = row[j].clamp(-clip_mean, *clip_mean);
                        a[j] = low[j] + 0.5 * (m.tanh() + 1.0) * (high[j] - low[j]);
                    }
                }
            }
            ContinuousHead::Clipped { low, high } => {
                for (row, a) in head.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
                    for j in 0..dim {
                        a[j] = row[j].clamp(low[j], high[j]);
                    }
                }
            }
        }
    }
}

/// A policy: a categorical one over discrete actions (logits from an MLP), or a Gaussian over
/// continuous ones (see [`PolicyHeader::continuous`]).
#[derive(Debug, Clone)]
pub struct Policy {
    pub header: PolicyHeader,
    pub actor: Mlp,
    pub critic: Option<Mlp>,
}

impl Policy {
    /// A freshly trained policy with its header (what it is, what it was trained on).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn trained<C: Serialize>(
        contexts: &[Context],
        context_obs: &ContextObs,
        algo: &str,
        hyperparameters: &C,
        seed: u64,
        env_steps: u64,
        actor: Mlp,
        critic: Option<Mlp>,
    ) -> Result<Policy> {
        let context = &contexts[0];
        let probe = Env::new(context.clone(), 0)?.with_context_obs(context_obs.clone())?;
        Ok(Policy {
            header: PolicyHeader {
                format_version: FORMAT_VERSION,
                env: context.env().name().to_string(),
                context: context.record(),
                context_pool: if contexts.len() > 1 {
                    contexts.iter().map(Context::record).collect()
                } else {
                    Vec::new()
                },
                context_obs: context_obs.clone(),
                obs_dim: probe.obs_dim(),
                n_actions: actor.output_dim(),
                continuous: None,
                algo: algo.into(),
                hyperparameters: serde_json::to_value(hyperparameters)?,
                seed,
                env_steps,
            },
            actor,
            critic,
        })
    }

    /// The most likely action (deterministic evaluation).
    pub fn act(&self, obs: &[f32], scratch: &mut Vec<f32>, logits: &mut [f32]) -> u32 {
        self.actor.forward_one(obs, scratch, logits);
        greedy(logits) as u32
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut nets = vec![("actor", &self.actor)];
        if let Some(c) = &self.critic {
            nets.push(("critic", c));
        }
        io::save(path, &self.header, &nets)?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Policy> {
        let (header, mut nets): (PolicyHeader, _) = io::load(path)?;
        let bad = |m: String| RlError::Policy {
            path: path.display().to_string(),
            message: m,
        };
        if header.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} (this mbtl reads {FORMAT_VERSION})",
                header.format_version
            )));
        }
        let actor = nets
            .remove("actor")
            .ok_or_else(|| bad("no 'actor' network".into()))?;
        for (name, net) in
            std::iter::once(("actor", &actor)).chain(nets.get("critic").map(|c| ("critic", c)))
        {
            if !net.all_finite() {
                return Err(bad(format!(
                    "the {name} network holds NaN or infinite weights (a diverged training?)"
                )));
            }
        }
        if actor.input_dim() != header.obs_dim || actor.output_dim() != header.n_actions {
            return Err(bad(format!(
                "actor is {}→{}, header says {}→{}",
                actor.input_dim(),
                actor.output_dim(),
                header.obs_dim,
                header.n_actions
            )));
        }
        Ok(Policy {
            header,
            actor,
            critic: nets.remove("critic"),
        })
    }

    /// Checks that this policy can act in `env` with observations laid out as `context_obs`.
    pub fn check_compatible(
        &self,
        env: &EnvRef,
        context_obs: &ContextObs,
        obs_dim: usize,
    ) -> Result<()> {
        let h = &self.header;
        if h.env != env.name() || &h.context_obs != context_obs || h.obs_dim != obs_dim {
            return Err(RlError::Incompatible {
                trained: format!("{} with observations {:?}", h.env, h.context_obs),
                trained_dim: h.obs_dim,
                asked: format!("{env} with {context_obs:?}"),
                asked_dim: obs_dim,
            });
        }
        Ok(())
    }
}

/// The index of the largest value, the first on ties (PyTorch's `argmax`): a greedy action
/// from Q-values or logits, for acting, evaluation and the Q-learners' targets alike.
pub(crate) fn greedy(values: &[f32]) -> usize {
    (0..values.len()).fold(0, |b, i| if values[i] > values[b] { i } else { b })
}

/// Number of discrete actions of `env`, or an error naming the learner.
pub(crate) fn discrete_actions(env: &EnvRef, algo: &'static str) -> Result<usize> {
    match env.spec().action_space {
        ActionSpace::Discrete { n } => Ok(n as usize),
        ActionSpace::Continuous { .. } => Err(RlError::ActionSpace {
            algo,
            env: env.to_string(),
            has: "continuous",
            needs: "discrete",
        }),
    }
}
