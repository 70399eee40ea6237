//! # mbtl-rl
//!
//! Learners that train one policy on one context, and batched zero-shot evaluation of a policy
//! on many target contexts: the unit of work MBTL schedules.
//!
//! * [`ppo`] — PPO for discrete and continuous actions (GAE, clipping, advantage normalisation, vectorised
//!   rollouts over [`mbtl_env::BatchEnv`]), with rl-baselines3-zoo's tuned defaults.
//! * [`dqn`] — DQN (discrete; target network, replay, ε schedule).
//! * [`episodic_dqn`] — the DQN of MBTL's traffic experiments (whole episodes, ε per episode,
//!   no target network, the authors' settings as its preset).
//! * [`sac`] — SAC (continuous; twin critics, automatic entropy coefficient).
//! * [`policy`] — the trained policy: networks, observation layout, safetensors files.
//! * [`eval`] — deterministic episodes of one policy on many contexts at once.
//! * [`callback`] — progress reports and periodic evaluation with best-model keeping
//!   (Stable-Baselines3's `EvalCallback`).
//! * [`learner`] — an algorithm with its zoo defaults and user overrides, behind one type.

pub mod callback;
pub mod dqn;
pub mod episodic_dqn;
pub mod eval;
pub mod learner;
pub mod policy;
pub mod ppo;
mod replay;
pub mod sac;
mod sde;

/// Errors of the learners.
#[derive(Debug, thiserror::Error)]
pub enum RlError {
    #[error(transparent)]
    Env(#[from] mbtl_env::EnvError),
    #[error(transparent)]
    Nn(#[from] mbtl_nn::NnError),
    /// A hyper-parameter (or a combination of them) out of range; the message names each
    /// with its value and the range it must lie in.
    #[error("{algo}: {message}")]
    HyperParameter { algo: &'static str, message: String },
    #[error("{algo}: unknown hyper-parameter '{name}'; known: {}", known.join(", "))]
    UnknownHyperParameter {
        algo: &'static str,
        name: String,
        known: Vec<String>,
    },
    /// A hyper-parameter override of the wrong type; serde's message is the source.
    #[error("{algo}: hyper-parameter '{name}' = {value}")]
    HyperParameterType {
        algo: &'static str,
        name: String,
        value: String,
        source: serde_json::Error,
    },
    #[error("hyper-parameter '{pair}': expected name=value, e.g. n_epochs=10")]
    OverrideSyntax { pair: String },
    /// An algorithm or preset name that does not exist.
    #[error("unknown {what} '{name}'; known: {}", known.join(", "))]
    UnknownName {
        what: &'static str,
        name: String,
        known: &'static [&'static str],
    },
    /// A learner asked to act in an environment whose actions it cannot take (`has` and
    /// `needs` are "discrete" or "continuous").
    #[error("{algo}: {env} has {has} actions; {algo} needs {needs} ones")]
    ActionSpace {
        algo: &'static str,
        env: String,
        has: &'static str,
        needs: &'static str,
    },
    /// A setting of the periodic evaluation (`eval_callback.<field>`) out of range.
    #[error("eval_callback.{field} = {value}: {requirement}")]
    EvalCallback {
        field: &'static str,
        value: String,
        requirement: String,
    },
    #[error("no training context")]
    NoContext,
    #[error("evaluation needs between 1 and {max} episodes per target, got {episodes}")]
    Episodes { episodes: usize, max: usize },
    #[error("the policy was trained on {trained} ({trained_dim} values); asked to act in {asked} ({asked_dim} values)")]
    Incompatible {
        /// Environment and context observation, as `env with observations ...`.
        trained: String,
        trained_dim: usize,
        asked: String,
        asked_dim: usize,
    },
    #[error("hyper-parameters as JSON")]
    Json(#[from] serde_json::Error),
    #[error("policy {path}: {message}")]
    Policy { path: String, message: String },
}

pub type Result<T, E = RlError> = std::result::Result<T, E>;

/// Training, the same for every learner (linfa's `fit` for RL): the hyper-parameters are the
/// algorithm. `fit` trains on `contexts`, drawing every episode's context uniformly from them
/// when there are several (one policy over a distribution of contexts: the multi-task baseline,
/// usually with the context visible), and reports every vector step to `monitor`, which runs the
/// periodic evaluations and keeps the best policy ([`callback`]). It returns the last policy;
/// [`callback::Monitor::finish`] decides which one the training yields.
pub trait Train {
    fn fit(
        &self,
        contexts: &[mbtl_env::Context],
        context_obs: &mbtl_env::ContextObs,
        seed: u64,
        monitor: &mut callback::Monitor<'_>,
    ) -> Result<policy::Policy>;

    /// [`Train::fit`] with progress reports only; the last policy.
    fn train_pool(
        &self,
        contexts: &[mbtl_env::Context],
        context_obs: &mbtl_env::ContextObs,
        seed: u64,
        mut progress: impl FnMut(&callback::TrainLog),
    ) -> Result<policy::Policy> {
        let mut monitor = callback::Monitor::new(None, contexts, seed, &mut progress)?;
        self.fit(contexts, context_obs, seed, &mut monitor)
    }

    /// The one-context case of [`Train::train_pool`].
    fn train(
        &self,
        context: &mbtl_env::Context,
        context_obs: &mbtl_env::ContextObs,
        seed: u64,
        progress: impl FnMut(&callback::TrainLog),
    ) -> Result<policy::Policy> {
        self.train_pool(std::slice::from_ref(context), context_obs, seed, progress)
    }
}

/// The first of a learner's training contexts (the one its policy header names).
pub(crate) fn first_context(contexts: &[mbtl_env::Context]) -> Result<&mbtl_env::Context> {
    contexts.first().ok_or(RlError::NoContext)
}

/// The batch a learner trains on: `n_envs` instances of the first context, each episode's
/// context drawn from `contexts` (from `pool_seed`) when there are several.
pub(crate) fn training_envs(
    contexts: &[mbtl_env::Context],
    n_envs: usize,
    seed: u64,
    pool_seed: u64,
    context_obs: &mbtl_env::ContextObs,
) -> Result<mbtl_env::BatchEnv> {
    let envs = mbtl_env::BatchEnv::new(&vec![contexts[0].clone(); n_envs], seed, context_obs)?;
    Ok(if contexts.len() > 1 {
        envs.with_context_pool(contexts.to_vec(), pool_seed)?
    } else {
        envs
    })
}

/// A standard normal draw (Box–Muller on two 24-bit uniforms), for the Gaussian policies.
pub(crate) fn normal(rng: &mut rand_pcg::Pcg64Mcg) -> f32 {
    use rand_core::RngCore;
    let u1 = ((rng.next_u32() >> 8) as f32 + 0.5) / (1u32 << 24) as f32;
    let u2 = (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}
