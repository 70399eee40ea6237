//! One environment instance: a simulator plus what gymnasium's wrappers add (the time limit),
//! the observation layout (context hidden or appended) and its own seeded generator.

use crate::context::Context;
use crate::envs::Sim;
use crate::error::{EnvError, Result};
use crate::rng::EnvRng;
use crate::spec::{Action, ActionSpace, EnvRef};

/// What one step returns besides the observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    pub reward: f64,
    /// The MDP ended (pole fell, goal reached).
    pub terminated: bool,
    /// The time limit ended the episode (gymnasium's TimeLimit; may coincide with `terminated`).
    pub truncated: bool,
}

impl Transition {
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// Whether policies see the context. Context-aware policies (and the multi-task baseline)
/// need it; MBTL's per-task policies do not.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "mode", content = "features")]
pub enum ContextObs {
    #[default]
    Hidden,
    /// These features' values (f32) follow the base observation, in this order.
    Appended(Vec<String>),
}

impl ContextObs {
    /// Every feature of `ctx`'s table, appended.
    pub fn all(ctx: &Context) -> ContextObs {
        ContextObs::Appended(ctx.features().iter().map(|f| f.name.to_string()).collect())
    }

    /// Resolves feature names to positions in `ctx`'s table.
    pub(crate) fn indices(&self, ctx: &Context) -> Result<Vec<usize>> {
        match self {
            ContextObs::Hidden => Ok(Vec::new()),
            ContextObs::Appended(names) => names.iter().map(|n| ctx.index_of(n)).collect(),
        }
    }
}

/// A contextual environment instance.
#[derive(Debug, Clone)]
pub struct Env {
    context: Context,
    sim: Sim,
    rng: EnvRng,
    action_space: ActionSpace,
    elapsed: u32,
    max_episode_steps: u32,
    context_obs: ContextObs,
    context_values: Vec<f32>,
    base_obs_dim: usize,
}

impl Env {
    /// An instance with the context hidden, seeded with `seed`, and reset. Refused for an
    /// environment mbtl cannot simulate (one declared by its features only).
    pub fn new(context: Context, seed: u64) -> Result<Env> {
        let spec = context.env().spec();
        let mut env = Env {
            sim: Sim::new(&context)?,
            rng: EnvRng::seed_from(seed),
            action_space: spec.action_space.clone(),
            elapsed: 0,
            max_episode_steps: spec.max_episode_steps,
            context_obs: ContextObs::Hidden,
            context_values: Vec::new(),
            base_obs_dim: spec.obs_dim,
            context,
        };
        env.reset();
        Ok(env)
    }

    /// Appends (or hides) context features in the observation.
    pub fn with_context_obs(mut self, context_obs: ContextObs) -> Result<Env> {
        let indices = context_obs.indices(&self.context)?;
        self.context_values = indices
            .iter()
            .map(|&i| self.context.values()[i] as f32)
            .collect();
        self.context_obs = context_obs;
        Ok(self)
    }

    /// Switches this instance to another context of the same environment and semantics, and
    /// starts a new episode in it. Multi-task training draws a context per episode this way
    /// (CARL's per-episode context sampling); the random stream carries on unchanged.
    pub fn set_context(&mut self, context: Context) -> Result<()> {
        if context.env() != self.env() || context.semantics() != self.context.semantics() {
            return Err(EnvError::BadBatch(format!(
                "cannot switch a {} [{}] instance to a {} [{}] context",
                self.env(),
                self.context.semantics(),
                context.env(),
                context.semantics()
            )));
        }
        let indices = self.context_obs.indices(&context)?;
        self.context_values = indices
            .iter()
            .map(|&i| context.values()[i] as f32)
            .collect();
        self.sim = Sim::new(&context)?;
        self.context = context;
        self.reset();
        Ok(())
    }

    /// Overrides gymnasium's episode limit (0 = no limit).
    pub fn with_max_episode_steps(mut self, steps: u32) -> Env {
        self.max_episode_steps = steps;
        self
    }

    /// The environment this is an instance of.
    pub fn env(&self) -> &EnvRef {
        self.context.env()
    }

    pub fn context(&self) -> &Context {
        &self.context
    }

    pub fn context_obs(&self) -> &ContextObs {
        &self.context_obs
    }

    pub fn action_space(&self) -> &ActionSpace {
        &self.action_space
    }

    pub fn max_episode_steps(&self) -> u32 {
        self.max_episode_steps
    }

    /// Steps taken in the current episode.
    pub fn elapsed(&self) -> u32 {
        self.elapsed
    }

    /// The score of the episode that just ended, where the environment measures episodes by
    /// something other than their return ([`crate::EnvSpec::score`]); `None` otherwise.
    pub fn score(&self) -> Option<f64> {
        self.sim.score()
    }

    /// Base observation plus appended context features.
    pub fn obs_dim(&self) -> usize {
        self.base_obs_dim + self.context_values.len()
    }

    /// Replaces the random stream with a fresh one seeded from `seed` (gymnasium's
    /// `reset(seed=...)`); takes effect from the next reset.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = EnvRng::seed_from(seed);
    }

    /// Starts a new episode from the context's reset distribution.
    pub fn reset(&mut self) {
        self.sim.reset(&mut self.rng);
        self.elapsed = 0;
    }

    /// Starts a new episode from an explicit internal state (as the reference recordings do).
    pub fn reset_to(&mut self, state: &[f64]) -> Result<()> {
        let expected = self.env().spec().state_dim;
        if state.len() != expected {
            return Err(EnvError::StateLength {
                env: self.env().name().to_string(),
                expected,
                got: state.len(),
            });
        }
        self.sim.set_state(state);
        self.elapsed = 0;
        Ok(())
    }

    /// The internal f64 state.
    pub fn state(&self) -> &[f64] {
        self.sim.state()
    }

    /// Writes the observation into `out` (`obs_dim()` values).
    #[inline]
    pub fn observe(&self, out: &mut [f32]) {
        let base = self.base_obs_dim;
        self.sim.observe(&mut out[..base]);
        out[base..base + self.context_values.len()].copy_from_slice(&self.context_values);
    }

    /// The observation as a new vector.
    pub fn observation(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.obs_dim()];
        self.observe(&mut out);
        out
    }

    /// Checks an action against the action space.
    #[inline]
    pub(crate) fn validate(&self, action: Action<'_>) -> Result<()> {
        match (&self.action_space, action) {
            (ActionSpace::Discrete { n }, Action::Discrete(a)) if a < *n => Ok(()),
            (ActionSpace::Continuous { low, .. }, Action::Continuous(a))
                if a.len() == low.len() =>
            {
                Ok(())
            }
            _ => Err(self.mismatch(action)),
        }
    }

    /// The error for an action outside the action space, kept out of the stepping path.
    #[cold]
    #[inline(never)]
    fn mismatch(&self, action: Action<'_>) -> EnvError {
        EnvError::ActionMismatch {
            env: self.env().name().to_string(),
            expected: self.action_space.describe(),
            got: format!("{action:?}"),
        }
    }

    /// Advances one step. Does not reset by itself; [`crate::BatchEnv`] does.
    #[inline]
    pub fn step(&mut self, action: Action<'_>) -> Result<Transition> {
        self.validate(action)?;
        Ok(self.step_validated(action))
    }

    /// A step with an action already checked against the action space.
    #[inline]
    pub(crate) fn step_validated(&mut self, act: Action<'_>) -> Transition {
        let (reward, terminated) = self.sim.step(act, &mut self.rng);
        self.elapsed += 1;
        let truncated = self.max_episode_steps > 0 && self.elapsed >= self.max_episode_steps;
        Transition {
            reward,
            terminated,
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Semantics;
    use crate::kind::EnvKind;

    #[test]
    fn same_seed_same_episode() {
        let ctx = Context::default_for(EnvKind::Acrobot, Semantics::Physical)
            .with("torque_noise_max", 0.2)
            .unwrap();
        let run = |seed| {
            let mut env = Env::new(ctx.clone(), seed).unwrap();
            let mut trace = env.observation();
            for t in 0..50u32 {
                let tr = env.step(Action::Discrete(t % 3)).unwrap();
                trace.extend(env.observation());
                trace.push(tr.reward as f32);
            }
            trace
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn wrong_actions_and_states_are_errors() {
        let mut env =
            Env::new(Context::default_for(EnvKind::CartPole, Semantics::Carl), 0).unwrap();
        assert!(env.step(Action::Discrete(2)).is_err());
        assert!(env.step(Action::Continuous(&[0.5])).is_err());
        assert!(env.reset_to(&[0.0; 3]).is_err());
        let mut pend =
            Env::new(Context::default_for(EnvKind::Pendulum, Semantics::Carl), 0).unwrap();
        let e = pend.step(Action::Discrete(0)).unwrap_err().to_string();
        assert!(e.contains("pendulum") && e.contains("continuous"), "{e}");
    }

    #[test]
    fn time_limit_truncates() {
        let mut env = Env::new(
            Context::default_for(EnvKind::Pendulum, Semantics::Physical),
            1,
        )
        .unwrap();
        for t in 1..=200 {
            let tr = env.step(Action::Continuous(&[0.0])).unwrap();
            assert_eq!(tr.truncated, t == 200);
            assert!(!tr.terminated);
        }
    }

    #[test]
    fn context_can_be_appended_to_observations() {
        let ctx = Context::default_for(EnvKind::CartPole, Semantics::Physical)
            .with("length", 1.5)
            .unwrap();
        let env = Env::new(ctx.clone(), 0)
            .unwrap()
            .with_context_obs(ContextObs::Appended(vec!["length".into(), "tau".into()]))
            .unwrap();
        assert_eq!(env.obs_dim(), 6);
        let obs = env.observation();
        assert_eq!(&obs[4..], &[1.5, 0.02]);
        assert!(Env::new(ctx, 0)
            .unwrap()
            .with_context_obs(ContextObs::Appended(vec!["nope".into()]))
            .is_err());
    }

    #[test]
    fn carl_cartpole_ignores_masscart_but_physical_does_not() {
        let run = |sem, masscart| {
            let ctx = Context::default_for(EnvKind::CartPole, sem)
                .with("masscart", masscart)
                .unwrap();
            let mut env = Env::new(ctx, 0).unwrap();
            env.reset_to(&[0.0, 0.0, 0.05, 0.0]).unwrap();
            for _ in 0..20 {
                env.step(Action::Discrete(1)).unwrap();
            }
            env.state().to_vec()
        };
        assert_eq!(run(Semantics::Carl, 1.0), run(Semantics::Carl, 5.0));
        assert_ne!(run(Semantics::Physical, 1.0), run(Semantics::Physical, 5.0));
    }
}
