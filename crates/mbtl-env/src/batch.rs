//! Many instances stepped together, with automatic reset. Contexts may differ inside one batch
//! (evaluating one policy on every target context at once), the environment may not. Every
//! environment, built-in or outside, gets batched stepping this way.
//!
//! Reset follows gymnasium 0.29's same-step rule: when an instance's episode ends, its last
//! observation goes to [`BatchOutput::final_obs`] and its row of [`BatchOutput::obs`] already
//! holds the first observation of the next episode.

use crate::context::Context;
use crate::env::{ContextObs, Env};
use crate::error::{EnvError, Result};
use crate::rng::{derive_seed, EnvRng};
use crate::spec::{Action, ActionSpace, EnvRef};

/// Actions for a whole batch, one per instance (continuous: `action_dim` values per instance).
#[derive(Debug, Clone, Copy)]
pub enum BatchActions<'a> {
    Discrete(&'a [u32]),
    Continuous(&'a [f32]),
}

/// A finished episode.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Episode {
    /// Which instance of the batch.
    pub index: usize,
    /// Undiscounted return.
    pub ret: f64,
    /// What the episode scores in evaluation: the environment's own score where it declares
    /// one ([`crate::EnvSpec::score`]), else the return.
    pub score: f64,
    pub length: u32,
    /// Ended by the time limit only.
    pub truncated: bool,
}

/// Buffers one batch step writes into; allocate once with [`BatchEnv::output`].
#[derive(Debug, Clone, Default)]
pub struct BatchOutput {
    /// `len × obs_dim`, row-major: observations to act on next.
    pub obs: Vec<f32>,
    pub reward: Vec<f64>,
    pub terminated: Vec<bool>,
    pub truncated: Vec<bool>,
    /// `len × obs_dim`: the last observation of an episode that ended this step (other rows
    /// are stale).
    pub final_obs: Vec<f32>,
    /// Episodes that ended this step.
    pub episodes: Vec<Episode>,
}

/// A batch of instances of one environment.
#[derive(Debug, Clone)]
pub struct BatchEnv {
    envs: Vec<Env>,
    env: EnvRef,
    obs_dim: usize,
    action_space: ActionSpace,
    returns: Vec<f64>,
    /// Contexts drawn from at every reset (multi-task training), with the generator drawing them.
    pool: Option<(Vec<Context>, EnvRng)>,
}

impl BatchEnv {
    /// One instance per context; instance `i` is seeded with a stream derived from `(seed, i)`,
    /// so results do not depend on how a batch is split up.
    pub fn new(contexts: &[Context], seed: u64, context_obs: &ContextObs) -> Result<BatchEnv> {
        let first = contexts
            .first()
            .ok_or_else(|| EnvError::BadBatch("no contexts given".into()))?;
        let envs = contexts
            .iter()
            .enumerate()
            .map(|(i, ctx)| {
                if ctx.env() != first.env() || ctx.semantics() != first.semantics() {
                    return Err(EnvError::BadBatch(format!(
                        "instance {i} is {} [{}], instance 0 is {} [{}]",
                        ctx.env(),
                        ctx.semantics(),
                        first.env(),
                        first.semantics()
                    )));
                }
                Env::new(ctx.clone(), derive_seed(seed, i as u64))?
                    .with_context_obs(context_obs.clone())
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_envs(envs)
    }

    /// Wraps existing instances (all of one environment and observation size).
    pub fn from_envs(envs: Vec<Env>) -> Result<BatchEnv> {
        let first = envs
            .first()
            .ok_or_else(|| EnvError::BadBatch("no environments given".into()))?;
        let (env, obs_dim) = (first.env().clone(), first.obs_dim());
        if let Some((i, e)) = envs
            .iter()
            .enumerate()
            .find(|(_, e)| *e.env() != env || e.obs_dim() != obs_dim)
        {
            return Err(EnvError::BadBatch(format!(
                "instance {i} is {} with {} observations, instance 0 is {env} with {obs_dim}",
                e.env(),
                e.obs_dim()
            )));
        }
        Ok(BatchEnv {
            action_space: first.action_space().clone(),
            returns: vec![0.0; envs.len()],
            pool: None,
            envs,
            env,
            obs_dim,
        })
    }

    /// Draws every episode's context uniformly from `pool` (from `seed`) instead of keeping each
    /// instance's own: one policy trained over a distribution of contexts (MBTL's multi-task
    /// baseline). Resets every instance into a drawn context.
    pub fn with_context_pool(mut self, pool: Vec<Context>, seed: u64) -> Result<BatchEnv> {
        if pool.is_empty() {
            return Err(EnvError::BadBatch("an empty context pool".into()));
        }
        let mut rng = EnvRng::seed_from(seed);
        for env in &mut self.envs {
            let c = pool[(rng.next_u64() % pool.len() as u64) as usize].clone();
            env.set_context(c)?;
        }
        self.pool = Some((pool, rng));
        Ok(self)
    }

    fn restart(env: &mut Env, pool: &mut Option<(Vec<Context>, EnvRng)>) {
        match pool {
            Some((contexts, rng)) => {
                let c = contexts[(rng.next_u64() % contexts.len() as u64) as usize].clone();
                // Every pool member was checked against this instance when the pool was set.
                env.set_context(c).expect("pool contexts match the batch");
            }
            None => env.reset(),
        }
    }

    /// Keeps only the instances for which `keep(i)` holds, in order, each with its state, its
    /// random stream and the return of its episode so far: stepping the rest goes on exactly
    /// as before. (Evaluation drops targets that have all their episodes.) Buffers from
    /// [`BatchEnv::output`] must be made anew afterwards.
    pub fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        let mut i = 0;
        let returns = &mut self.returns;
        let mut r = 0;
        self.envs.retain(|_| {
            let k = keep(i);
            if k {
                returns[r] = returns[i];
                r += 1;
            }
            i += 1;
            k
        });
        self.returns.truncate(r);
    }

    pub fn len(&self) -> usize {
        self.envs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// The environment every instance is of.
    pub fn env(&self) -> &EnvRef {
        &self.env
    }

    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    pub fn action_space(&self) -> &ActionSpace {
        &self.action_space
    }

    pub fn envs(&self) -> &[Env] {
        &self.envs
    }

    /// Buffers sized for this batch.
    pub fn output(&self) -> BatchOutput {
        let n = self.len();
        BatchOutput {
            obs: vec![0.0; n * self.obs_dim],
            reward: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            final_obs: vec![0.0; n * self.obs_dim],
            episodes: Vec::with_capacity(n),
        }
    }

    /// Resets every instance and writes the first observations into `out.obs`.
    pub fn reset(&mut self, out: &mut BatchOutput) {
        for (i, env) in self.envs.iter_mut().enumerate() {
            Self::restart(env, &mut self.pool);
            env.observe(&mut out.obs[i * self.obs_dim..(i + 1) * self.obs_dim]);
        }
        self.returns.fill(0.0);
        out.episodes.clear();
    }

    /// Writes the current observations without stepping.
    pub fn observe(&self, obs: &mut [f32]) {
        for (i, env) in self.envs.iter().enumerate() {
            env.observe(&mut obs[i * self.obs_dim..(i + 1) * self.obs_dim]);
        }
    }

    /// Steps every instance once, resetting those whose episode ended.
    pub fn step(&mut self, actions: BatchActions<'_>, out: &mut BatchOutput) -> Result<()> {
        let n = self.len();
        // Every action is checked before any instance moves, so a bad batch changes nothing.
        let dim = match actions {
            BatchActions::Discrete(a) if a.len() == n => {
                for (env, &a) in self.envs.iter().zip(a) {
                    env.validate(Action::Discrete(a))?;
                }
                0
            }
            BatchActions::Continuous(a) => {
                let dim = self.action_space.size();
                if a.len() != n * dim || dim == 0 {
                    return Err(EnvError::BadBatch(format!(
                        "{n} instances need {} continuous action values, got {}",
                        n * dim,
                        a.len()
                    )));
                }
                for (env, a) in self.envs.iter().zip(a.chunks_exact(dim)) {
                    env.validate(Action::Continuous(a))?;
                }
                dim
            }
            BatchActions::Discrete(a) => {
                return Err(EnvError::BadBatch(format!(
                    "{n} instances need {n} discrete actions, got {}",
                    a.len()
                )))
            }
        };
        out.episodes.clear();
        let d = self.obs_dim;
        for (i, env) in self.envs.iter_mut().enumerate() {
            let act = match actions {
                BatchActions::Discrete(a) => Action::Discrete(a[i]),
                BatchActions::Continuous(a) => Action::Continuous(&a[i * dim..(i + 1) * dim]),
            };
            let tr = env.step_validated(act);
            self.returns[i] += tr.reward;
            out.reward[i] = tr.reward;
            out.terminated[i] = tr.terminated;
            out.truncated[i] = tr.truncated;
            let row = i * d..(i + 1) * d;
            if tr.done() {
                env.observe(&mut out.final_obs[row.clone()]);
                out.episodes.push(Episode {
                    index: i,
                    ret: self.returns[i],
                    score: env.score().unwrap_or(self.returns[i]),
                    length: env.elapsed(),
                    truncated: !tr.terminated,
                });
                self.returns[i] = 0.0;
                Self::restart(env, &mut self.pool);
            }
            env.observe(&mut out.obs[row]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Semantics;
    use crate::kind::EnvKind;

    fn contexts() -> Vec<Context> {
        [0.25, 0.5, 1.0, 2.0]
            .iter()
            .map(|&l| {
                Context::default_for(EnvKind::CartPole, Semantics::Physical)
                    .with("length", l)
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn batch_matches_single_instances_and_auto_resets() {
        let ctxs = contexts();
        let mut batch = BatchEnv::new(&ctxs, 9, &ContextObs::Hidden).unwrap();
        let mut singles: Vec<Env> = ctxs
            .iter()
            .enumerate()
            .map(|(i, c)| Env::new(c.clone(), derive_seed(9, i as u64)).unwrap())
            .collect();
        let mut out = batch.output();
        batch.observe(&mut out.obs);
        let mut episodes = 0;
        for t in 0..300u32 {
            let actions: Vec<u32> = (0..4).map(|i| (t / 3 + i) % 2).collect();
            batch
                .step(BatchActions::Discrete(&actions), &mut out)
                .unwrap();
            for (i, env) in singles.iter_mut().enumerate() {
                let tr = env.step(Action::Discrete(actions[i])).unwrap();
                assert_eq!(tr.reward, out.reward[i]);
                assert_eq!(tr.terminated, out.terminated[i]);
                if tr.done() {
                    assert_eq!(env.observation(), &out.final_obs[i * 4..(i + 1) * 4]);
                    env.reset();
                }
                assert_eq!(env.observation(), &out.obs[i * 4..(i + 1) * 4]);
            }
            episodes += out.episodes.len();
        }
        assert!(
            episodes > 4,
            "short episodes must have ended and been reset"
        );
    }

    #[test]
    fn mixed_kinds_and_bad_action_counts_are_refused() {
        let mut ctxs = contexts();
        ctxs.push(Context::default_for(EnvKind::Acrobot, Semantics::Physical));
        assert!(BatchEnv::new(&ctxs, 0, &ContextObs::Hidden).is_err());
        assert!(BatchEnv::new(&[], 0, &ContextObs::Hidden).is_err());
        let mut batch = BatchEnv::new(&contexts(), 0, &ContextObs::Hidden).unwrap();
        let mut out = batch.output();
        assert!(batch
            .step(BatchActions::Discrete(&[0, 1]), &mut out)
            .is_err());
        assert!(batch
            .step(BatchActions::Continuous(&[0.0; 4]), &mut out)
            .is_err());
    }

    #[test]
    fn a_context_pool_draws_every_episode_context_from_the_pool() {
        let pool = contexts();
        let base = vec![pool[0].clone(); 3];
        let obs = ContextObs::Appended(vec!["length".into()]);
        let mut batch = BatchEnv::new(&base, 1, &obs)
            .unwrap()
            .with_context_pool(pool.clone(), 5)
            .unwrap();
        let mut out = batch.output();
        batch.reset(&mut out);
        let d = batch.obs_dim();
        let mut seen = std::collections::BTreeSet::new();
        for t in 0..3000u32 {
            let actions = [t % 2, (t / 2) % 2, 1];
            batch
                .step(BatchActions::Discrete(&actions), &mut out)
                .unwrap();
            for i in 0..3 {
                let length = out.obs[i * d + d - 1];
                assert_eq!(
                    length as f64,
                    batch.envs()[i].context().get("length").unwrap() as f32 as f64
                );
                seen.insert(length.to_bits());
            }
        }
        assert_eq!(seen.len(), pool.len(), "every pool context is drawn");
        let other = Context::default_for(EnvKind::Pendulum, Semantics::Physical);
        assert!(BatchEnv::new(&base, 1, &obs)
            .unwrap()
            .with_context_pool(vec![other], 0)
            .is_err());
        assert!(BatchEnv::new(&base, 1, &obs)
            .unwrap()
            .with_context_pool(vec![], 0)
            .is_err());
    }

    #[test]
    fn retained_instances_step_on_as_if_nothing_was_removed() {
        let ctxs = contexts();
        let mut full = BatchEnv::new(&ctxs, 4, &ContextObs::Hidden).unwrap();
        let mut part = full.clone();
        let (mut out_full, mut out_part) = (full.output(), part.output());
        full.reset(&mut out_full);
        part.reset(&mut out_part);
        let mut episodes_full = Vec::new();
        let mut episodes_part = Vec::new();
        for t in 0..400u32 {
            if t == 37 {
                part.retain(|i| i % 2 == 1);
                out_part = part.output();
                part.observe(&mut out_part.obs);
            }
            let actions: Vec<u32> = (0..4).map(|i| (t / 5 + i) % 2).collect();
            full.step(BatchActions::Discrete(&actions), &mut out_full)
                .unwrap();
            episodes_full.extend(
                out_full
                    .episodes
                    .iter()
                    .filter(|e| t >= 37 && e.index % 2 == 1)
                    .map(|e| (t, e.index, e.ret)),
            );
            let mine: Vec<u32> = if t < 37 {
                actions.clone()
            } else {
                vec![actions[1], actions[3]]
            };
            part.step(BatchActions::Discrete(&mine), &mut out_part)
                .unwrap();
            if t >= 37 {
                episodes_part.extend(
                    out_part
                        .episodes
                        .iter()
                        .map(|e| (t, 2 * e.index + 1, e.ret)),
                );
            }
        }
        assert!(!episodes_full.is_empty());
        assert_eq!(episodes_full, episodes_part);
    }
}
