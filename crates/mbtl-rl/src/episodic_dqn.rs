//! The DQN of MBTL's traffic-signal experiments (traffic-signal-spec §4, after Vidali's
//! traffic-light agent): training in whole episodes, with the exploration rate set per episode
//! and a fixed number of gradient steps after each one, on an online network without a target
//! network.
//!
//! Against [`crate::dqn`] (Stable-Baselines3's DQN), it differs in what the schedule counts and
//! in the target:
//!
//! * the budget is episodes (`total_episodes`), not environment steps;
//! * ε is `max(0, 1 − e / exploration_episodes)` during episode `e` (0-based): the authors'
//!   `1 − e/100` with 100 episodes, which their 500-episode multi-task runs let go negative
//!   (Q7, all greedy after episode 100; the `max` gives the same actions);
//! * after each episode, `gradient_steps` steps of Adam (no gradient clipping) on the mean
//!   squared TD error over minibatches drawn **without replacement** (the whole buffer while it
//!   holds fewer than `batch_size` transitions; the authors' `random.sample`);
//! * the TD target `r + γ·max Q(s′)` comes from the network being trained. With
//!   `detach_target = false` (the authors', Q3) it is differentiated too, so each step descends
//!   the full squared error (a residual-gradient step); `true` holds it fixed (semi-gradient
//!   Q-learning);
//! * an episode's last transition is never stored and none is terminal (Q21): the buffer holds
//!   `(s_k, a_k, r_{k+1}, s_{k+1})` for every decision but the last, and every target
//!   bootstraps.

use mbtl_env::{BatchActions, Context, ContextObs};
use mbtl_nn::{mlp_spec, Activation, Adam, Cache, Mlp};
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::callback::{Monitor, TrainLog};
use crate::policy::{discrete_actions, greedy, Policy};
use crate::replay::{Batch, Replay};
use crate::{first_context, training_envs, Result, RlError, Train};

/// The learner's name in files and on the command line.
pub const ALGO: &str = "dqn-episodic";

/// Hyper-parameters of the episodic DQN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodicDqnConfig {
    /// Training episodes (`total_episodes`).
    pub total_episodes: u64,
    pub learning_rate: f32,
    pub gamma: f32,
    pub batch_size: usize,
    /// Most transitions kept, oldest dropped first (`memory_size_max`).
    pub buffer_size: usize,
    /// Gradient steps after each episode (`training_epochs`).
    pub gradient_steps: usize,
    /// Episodes over which ε falls linearly from 1 to 0.
    pub exploration_episodes: u64,
    /// Hold the TD target fixed in the gradient (`false`: the authors' code, Q3).
    pub detach_target: bool,
    pub hidden: Vec<usize>,
    pub activation: Activation,
}

impl EpisodicDqnConfig {
    /// The authors' settings (`training_settings.ini`): 100 episodes, Adam at 10⁻³, γ = 0.75,
    /// batches of 100 from a buffer of 50 000, 800 gradient steps per episode, ε = 1 − e/100,
    /// an 80 → 4 × 400 Mish → 4 network, and the target differentiated (Q3).
    pub fn authors() -> EpisodicDqnConfig {
        EpisodicDqnConfig {
            total_episodes: 100,
            learning_rate: 1e-3,
            gamma: 0.75,
            batch_size: 100,
            buffer_size: 50_000,
            gradient_steps: 800,
            exploration_episodes: 100,
            detach_target: false,
            hidden: vec![400; 4],
            activation: Activation::Mish,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        crate::learner::check_buffer(ALGO, self.buffer_size, self.batch_size)?;
        let bad = |message: String| {
            Err(RlError::HyperParameter {
                algo: ALGO,
                message,
            })
        };
        if self.batch_size == 0 || self.buffer_size == 0 {
            return bad(format!(
                "batch_size = {}, buffer_size = {}: both must be positive",
                self.batch_size, self.buffer_size
            ));
        }
        if self.exploration_episodes == 0 {
            return bad("exploration_episodes = 0: must be at least 1".into());
        }
        if !((0.0..=1.0).contains(&self.gamma)
            && self.learning_rate > 0.0
            && self.learning_rate.is_finite())
        {
            return bad(format!(
                "gamma = {}, learning_rate = {}: gamma must lie in [0, 1], learning_rate must be positive",
                self.gamma, self.learning_rate
            ));
        }
        if self.activation == Activation::Identity {
            return bad("activation = identity: the hidden layers need a non-linearity".into());
        }
        Ok(())
    }

    /// ε during episode `e` (0-based).
    fn epsilon(&self, e: u64) -> f32 {
        (1.0 - e as f32 / self.exploration_episodes as f32).max(0.0)
    }
}

/// The learning state: the network, its optimiser, the buffer and scratch space.
struct Learning {
    q: Mlp,
    opt: Adam,
    rng: Pcg64Mcg,
    replay: Replay,
    batch: Batch,
    cache: Cache,
    /// `[s; s′]` stacked, so one forward and one backward serve both ends of the TD error.
    stacked: Vec<f32>,
    grad_out: Vec<f32>,
    grads: Vec<f32>,
    scratch: Vec<f32>,
    qv: Vec<f32>,
    n_actions: usize,
}

impl Learning {
    fn new(
        config: &EpisodicDqnConfig,
        obs_dim: usize,
        n_actions: usize,
        seed: u64,
    ) -> Result<Learning> {
        let q = Mlp::new(
            mlp_spec(obs_dim, &config.hidden, n_actions, config.activation),
            1.0,
            mbtl_env::derive_seed(seed, 3_000_001),
        )?;
        Ok(Learning {
            opt: Adam::new(q.n_params(), config.learning_rate),
            rng: Pcg64Mcg::seed_from_u64(mbtl_env::derive_seed(seed, 3_000_002)),
            replay: Replay::new(config.buffer_size, obs_dim, 1),
            batch: Batch::default(),
            cache: Cache::default(),
            stacked: Vec::new(),
            grad_out: Vec::new(),
            grads: vec![0.0; q.n_params()],
            scratch: Vec::new(),
            qv: vec![0.0; n_actions],
            q,
            n_actions,
        })
    }

    /// A uniformly random action with probability ε, else the greedy one.
    fn act(&mut self, epsilon: f32, obs: &[f32]) -> usize {
        let u = (self.rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
        if u < epsilon {
            (self.rng.next_u32() % self.n_actions as u32) as usize
        } else {
            self.q.forward_one(obs, &mut self.scratch, &mut self.qv);
            greedy(&self.qv)
        }
    }

    /// One gradient step on the mean squared TD error of a minibatch; returns the loss.
    fn gradient_step(&mut self, config: &EpisodicDqnConfig) -> f64 {
        let n_actions = self.n_actions;
        self.replay
            .sample_distinct(config.batch_size, &mut self.rng, &mut self.batch);
        let b = self.batch.reward.len();
        self.stacked.clear();
        self.stacked.extend_from_slice(&self.batch.obs);
        self.stacked.extend_from_slice(&self.batch.next);
        let out = self.q.forward(&self.stacked, 2 * b, &mut self.cache);
        self.grad_out.clear();
        self.grad_out.resize(2 * b * n_actions, 0.0);
        let mut loss = 0.0f64;
        for k in 0..b {
            let next = &out[(b + k) * n_actions..(b + k + 1) * n_actions];
            let best = greedy(next);
            let y = self.batch.reward[k] + config.gamma * next[best];
            let a = self.batch.action[k] as usize;
            let delta = out[k * n_actions + a] - y;
            loss += f64::from(delta * delta) / b as f64;
            // ∂/∂Q(s, a) of mean(δ²) is 2δ/b; through the target, −γ·2δ/b at max Q(s′).
            self.grad_out[k * n_actions + a] = 2.0 * delta / b as f32;
            if !config.detach_target {
                self.grad_out[(b + k) * n_actions + best] = -config.gamma * 2.0 * delta / b as f32;
            }
        }
        self.grads.fill(0.0);
        self.q
            .backward(&mut self.cache, &self.grad_out, &mut self.grads, None);
        self.opt.step(&mut self.q.params, &self.grads);
        loss
    }
}

/// Trains a Q-network episode by episode; the policy acts greedily on it.
impl Train for EpisodicDqnConfig {
    fn fit(
        &self,
        contexts: &[Context],
        context_obs: &ContextObs,
        seed: u64,
        monitor: &mut Monitor<'_>,
    ) -> Result<Policy> {
        let config = self;
        let context = first_context(contexts)?;
        let n_actions = discrete_actions(context.env(), ALGO)?;
        config.validate()?;
        let mut env = training_envs(
            contexts,
            1,
            seed,
            mbtl_env::derive_seed(seed, 3_000_004),
            context_obs,
        )?;
        let mut learning = Learning::new(config, env.obs_dim(), n_actions, seed)?;
        let policy = |q: &Mlp, steps: u64| {
            Policy::trained(
                contexts,
                context_obs,
                ALGO,
                config,
                seed,
                steps,
                q.clone(),
                None,
            )
        };
        let mut out = env.output();
        env.reset(&mut out);
        let mut log = TrainLog::default();
        for e in 0..config.total_episodes {
            let epsilon = config.epsilon(e);
            loop {
                let obs = out.obs.clone();
                let a = learning.act(epsilon, &obs);
                env.step(BatchActions::Discrete(&[a as u32]), &mut out)?;
                log.env_steps += 1;
                if monitor.step() {
                    monitor.evaluate(policy(&learning.q, log.env_steps)?, log.env_steps)?;
                }
                if let Some(ep) = out.episodes.first() {
                    log.recent_return = ep.ret;
                    break;
                }
                learning.replay.push_step(&obs, &[a as f32], &out);
            }
            log.episodes += 1;
            let mut loss = 0.0;
            // (An episode of one step stores nothing: there is nothing to learn from yet.)
            let steps = if learning.replay.len() == 0 {
                0
            } else {
                config.gradient_steps
            };
            for _ in 0..steps {
                loss += learning.gradient_step(config);
                log.updates += 1;
            }
            if steps > 0 {
                log.losses = vec![("loss", loss / steps as f64)];
            }
            monitor.progress(&log);
        }
        policy(&learning.q, log.env_steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbtl_env::{EnvKind, Semantics};

    /// The analytic gradient of one step against finite differences of the loss it descends,
    /// with the target differentiated and held fixed.
    #[test]
    fn a_gradient_step_descends_the_squared_td_error() {
        for detach in [false, true] {
            let config = EpisodicDqnConfig {
                hidden: vec![6, 5],
                batch_size: 4,
                detach_target: detach,
                ..EpisodicDqnConfig::authors()
            };
            let mut l = Learning::new(&config, 3, 2, 5).unwrap();
            for t in 0..4 {
                let out = mbtl_env::BatchOutput {
                    obs: vec![0.1 * t as f32, -0.3, 0.7 - 0.2 * t as f32],
                    reward: vec![f64::from(t) - 1.5],
                    terminated: vec![false],
                    truncated: vec![false],
                    final_obs: vec![0.0; 3],
                    episodes: Vec::new(),
                };
                l.replay
                    .push_step(&[0.5, 0.2 * t as f32, -0.1], &[(t % 2) as f32], &out);
            }
            // The loss as a function of the parameters, the target moving with them unless
            // it is detached (then it is frozen at the current parameters).
            let frozen = l.q.clone();
            let rows: Vec<_> = (0..4)
                .map(|k| {
                    let (r, a) = l.replay.reward_action(k);
                    (l.replay.obs_row(k), l.replay.next_row(k), r, a)
                })
                .collect();
            let loss_at = |q: &Mlp| {
                let mut total = 0.0f64;
                for (s, sn, r, a) in &rows {
                    let (r, a) = (*r, *a);
                    let mut qs = [0.0f32; 2];
                    let mut qn = [0.0f32; 2];
                    q.forward_one(s, &mut Vec::new(), &mut qs);
                    let target_net = if detach { &frozen } else { q };
                    target_net.forward_one(sn, &mut Vec::new(), &mut qn);
                    let y = f64::from(r) + f64::from(config.gamma) * f64::from(qn[0].max(qn[1]));
                    total += (f64::from(qs[a]) - y).powi(2) / 4.0;
                }
                total
            };
            let before = l.q.clone();
            let lr = config.learning_rate;
            let loss = l.gradient_step(&config);
            assert!((loss - loss_at(&before)).abs() < 1e-5, "{loss}");
            // Adam's first step moves every parameter by lr·sign(g) (up to ε), so the
            // gradient's sign is visible in the update.
            let h = 1e-3f32;
            let mut checked = 0;
            for p in 0..before.n_params() {
                let mut up = before.clone();
                up.params[p] += h;
                let mut down = before.clone();
                down.params[p] -= h;
                let fd = (loss_at(&up) - loss_at(&down)) / (2.0 * f64::from(h));
                if fd.abs() > 1e-3 {
                    let step = l.q.params[p] - before.params[p];
                    assert!(
                        (step + lr * fd.signum() as f32).abs() < 1e-2 * lr,
                        "detach {detach}, param {p}: fd {fd}, step {step}"
                    );
                    checked += 1;
                }
            }
            assert!(checked > 20, "{checked}");
        }
    }

    #[test]
    fn trains_the_set_number_of_episodes_and_updates() {
        let ctx = Context::default_for(EnvKind::CartPole, Semantics::Physical);
        let config = EpisodicDqnConfig {
            total_episodes: 5,
            gradient_steps: 3,
            hidden: vec![16],
            ..EpisodicDqnConfig::authors()
        };
        let mut last = TrainLog::default();
        let policy = config
            .train(&ctx, &ContextObs::Hidden, 1, |l| last = l.clone())
            .unwrap();
        assert_eq!((last.episodes, last.updates), (5, 15));
        assert_eq!(policy.header.env_steps, last.env_steps);
        assert_eq!(policy.header.algo, ALGO);
        let again = config.train(&ctx, &ContextObs::Hidden, 1, |_| {}).unwrap();
        assert_eq!(policy.actor, again.actor, "same seed, same network");
        assert!(config.epsilon(0) == 1.0 && config.epsilon(99) > 0.0);
        assert_eq!(config.epsilon(100), 0.0);
        assert_eq!(
            config.epsilon(400),
            0.0,
            "the multi-task runs' ε < 0 acts greedily"
        );
    }
}
