//! Deep Q-Networks (Mnih et al. 2015) in Stable-Baselines3's formulation: a replay buffer,
//! a linearly decaying ε-greedy exploration, Huber loss on the one-step target computed with a
//! hard-updated target network, Adam with gradient-norm clipping.

use mbtl_env::{BatchActions, Context, ContextObs, EnvKind};
use mbtl_nn::{clip_grad_norm, mlp_spec, Activation, Adam, Cache, Mlp};
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::callback::{Monitor, TrainLog};
use crate::policy::{discrete_actions, greedy, Policy};
use crate::replay::{Batch, Replay};
use crate::{first_context, training_envs, Result, RlError, Train};

/// DQN hyper-parameters (names as in Stable-Baselines3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    pub total_timesteps: u64,
    pub learning_rate: f32,
    pub buffer_size: usize,
    pub learning_starts: u64,
    pub batch_size: usize,
    pub gamma: f32,
    /// Environment steps between hard target-network updates.
    pub target_update_interval: u64,
    /// Environment steps between training phases.
    pub train_freq: u64,
    /// Gradient steps per training phase.
    pub gradient_steps: usize,
    pub exploration_fraction: f32,
    pub exploration_initial_eps: f32,
    pub exploration_final_eps: f32,
    pub max_grad_norm: f32,
    pub hidden: Vec<usize>,
}

impl DqnConfig {
    /// rl-baselines3-zoo's tuned DQN settings (`hyperparams/dqn.yml`) for CartPole-v1,
    /// Acrobot-v1 and MountainCar-v0; Stable-Baselines3's defaults elsewhere (and for `None`,
    /// an environment mbtl does not ship).
    pub fn zoo(kind: impl Into<Option<EnvKind>>) -> DqnConfig {
        let defaults = DqnConfig {
            total_timesteps: 100_000,
            learning_rate: 1e-4,
            buffer_size: 1_000_000,
            learning_starts: 100,
            batch_size: 32,
            gamma: 0.99,
            target_update_interval: 10_000,
            train_freq: 4,
            gradient_steps: 1,
            exploration_fraction: 0.1,
            exploration_initial_eps: 1.0,
            exploration_final_eps: 0.05,
            max_grad_norm: 10.0,
            hidden: vec![64, 64],
        };
        match kind.into() {
            Some(EnvKind::CartPole) => DqnConfig {
                total_timesteps: 50_000,
                learning_rate: 2.3e-3,
                buffer_size: 100_000,
                learning_starts: 1000,
                batch_size: 64,
                gamma: 0.99,
                target_update_interval: 10,
                train_freq: 256,
                gradient_steps: 128,
                exploration_fraction: 0.16,
                exploration_final_eps: 0.04,
                hidden: vec![256, 256],
                ..defaults
            },
            // `gradient_steps: -1` in the zoo means one per environment step of the phase.
            Some(EnvKind::Acrobot) => DqnConfig {
                total_timesteps: 100_000,
                learning_rate: 6.3e-4,
                buffer_size: 50_000,
                learning_starts: 0,
                batch_size: 128,
                gamma: 0.99,
                target_update_interval: 250,
                train_freq: 4,
                gradient_steps: 4,
                exploration_fraction: 0.12,
                exploration_final_eps: 0.1,
                hidden: vec![256, 256],
                ..defaults
            },
            Some(EnvKind::MountainCar) => DqnConfig {
                total_timesteps: 120_000,
                learning_rate: 4e-3,
                buffer_size: 10_000,
                learning_starts: 1000,
                batch_size: 128,
                gamma: 0.98,
                target_update_interval: 600,
                train_freq: 16,
                gradient_steps: 8,
                exploration_fraction: 0.2,
                exploration_final_eps: 0.07,
                hidden: vec![256, 256],
                ..defaults
            },
            _ => defaults,
        }
    }
}

impl DqnConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        crate::learner::check_buffer("dqn", self.buffer_size, self.batch_size)?;
        if self.batch_size == 0 || self.buffer_size < self.batch_size || self.train_freq == 0 {
            return Err(RlError::HyperParameter {
                algo: "dqn",
                message: format!(
                    "batch_size = {}, buffer_size = {}, train_freq = {}: batch_size > 0, buffer_size ≥ batch_size and train_freq > 0 are required",
                    self.batch_size, self.buffer_size, self.train_freq
                ),
            });
        }
        let in_unit = [
            self.gamma,
            self.exploration_fraction,
            self.exploration_initial_eps,
            self.exploration_final_eps,
        ]
        .iter()
        .all(|x| (0.0..=1.0).contains(x));
        if !(in_unit && self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(RlError::HyperParameter {
                algo: "dqn",
                message: format!(
                "gamma = {}, learning_rate = {}, exploration_fraction = {}, exploration_initial_eps = {}, exploration_final_eps = {}: gamma and the exploration settings must lie in [0, 1], learning_rate must be positive",
                self.gamma,
                self.learning_rate,
                self.exploration_fraction,
                self.exploration_initial_eps,
                self.exploration_final_eps
            ),
            });
        }
        Ok(())
    }
}

/// Huber (smooth L1, δ = 1) loss, for the log.
fn huber(x: f32) -> f32 {
    if x.abs() < 1.0 {
        0.5 * x * x
    } else {
        x.abs() - 0.5
    }
}

/// Huber (smooth L1, δ = 1) derivative.
fn huber_grad(x: f32) -> f32 {
    x.clamp(-1.0, 1.0)
}

/// The learning state of one DQN training: the networks, their optimiser, the replay buffer
/// and the scratch space of its phases ([`Learning::act`], [`Learning::train_phase`],
/// [`Learning::sync_target`]).
struct Learning {
    q: Mlp,
    target: Mlp,
    opt: Adam,
    rng: Pcg64Mcg,
    replay: Replay,
    batch: Batch,
    cq: Cache,
    ct: Cache,
    scratch: Vec<f32>,
    qv: Vec<f32>,
    grads: Vec<f32>,
    n_actions: usize,
    /// Huber losses summed since the last log, and the gradient steps they came from.
    loss_sum: f64,
    loss_count: u64,
}

impl Learning {
    fn new(config: &DqnConfig, obs_dim: usize, n_actions: usize, seed: u64) -> Result<Learning> {
        let q = Mlp::new(
            mlp_spec(obs_dim, &config.hidden, n_actions, Activation::Relu),
            1.0,
            mbtl_env::derive_seed(seed, 2_000_001),
        )?;
        let cap = config
            .buffer_size
            .min(config.total_timesteps as usize)
            .max(config.batch_size);
        Ok(Learning {
            target: q.clone(),
            opt: Adam::new(q.n_params(), config.learning_rate),
            rng: Pcg64Mcg::seed_from_u64(mbtl_env::derive_seed(seed, 2_000_002)),
            replay: Replay::new(cap, obs_dim, 1),
            batch: Batch::default(),
            cq: Cache::default(),
            ct: Cache::default(),
            scratch: Vec::new(),
            qv: vec![0.0; n_actions],
            grads: vec![0.0; q.n_params()],
            q,
            n_actions,
            loss_sum: 0.0,
            loss_count: 0,
        })
    }

    /// SB3's linear ε schedule at environment step `step` (1-based).
    fn epsilon(config: &DqnConfig, step: u64) -> f32 {
        let explore_steps = (config.exploration_fraction * config.total_timesteps as f32).max(1.0);
        let frac = ((step - 1) as f32 / explore_steps).min(1.0);
        config.exploration_initial_eps
            + frac * (config.exploration_final_eps - config.exploration_initial_eps)
    }

    /// Collect: a uniformly random action before `learning_starts` or with probability ε,
    /// else the greedy one.
    fn act(&mut self, config: &DqnConfig, step: u64, obs: &[f32]) -> usize {
        let unit = (step > config.learning_starts)
            .then(|| (self.rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32);
        if unit.is_none_or(|u| u < Self::epsilon(config, step)) {
            (self.rng.next_u32() % self.n_actions as u32) as usize
        } else {
            self.q.forward_one(obs, &mut self.scratch, &mut self.qv);
            greedy(&self.qv)
        }
    }

    /// Update: `gradient_steps` steps on minibatches from the buffer, each with its one-step
    /// targets `r + γ·max Q̄(s′)` from the target network and the Huber loss.
    fn train_phase(&mut self, config: &DqnConfig) {
        let (b, n_actions) = (config.batch_size, self.n_actions);
        for _ in 0..config.gradient_steps {
            self.replay.sample(b, &mut self.rng, &mut self.batch);
            let batch = &self.batch;
            let tq = self.target.forward(&batch.next, b, &mut self.ct).to_vec();
            let qs = self.q.forward(&batch.obs, b, &mut self.cq).to_vec();
            let mut g = vec![0.0f32; b * n_actions];
            for k in 0..b {
                let next_max = tq[k * n_actions..(k + 1) * n_actions]
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max);
                let y = batch.reward[k]
                    + if batch.terminated[k] {
                        0.0
                    } else {
                        config.gamma * next_max
                    };
                let a = batch.action[k] as usize;
                let x = qs[k * n_actions + a] - y;
                g[k * n_actions + a] = huber_grad(x) / b as f32;
                self.loss_sum += f64::from(huber(x)) / b as f64;
            }
            self.loss_count += 1;
            self.grads.fill(0.0);
            self.q.backward(&mut self.cq, &g, &mut self.grads, None);
            clip_grad_norm(&mut [&mut self.grads], config.max_grad_norm);
            self.opt.step(&mut self.q.params, &self.grads);
        }
    }

    /// The hard target-network update.
    fn sync_target(&mut self) {
        self.target.params.copy_from_slice(&self.q.params);
    }

    /// The mean loss since the last call, if any gradient step was taken.
    fn take_loss(&mut self) -> Option<f64> {
        let mean = (self.loss_count > 0).then(|| self.loss_sum / self.loss_count as f64);
        (self.loss_sum, self.loss_count) = (0.0, 0);
        mean
    }
}

/// Trains a Q-network; the policy acts greedily on it.
impl Train for DqnConfig {
    fn fit(
        &self,
        contexts: &[Context],
        context_obs: &ContextObs,
        seed: u64,
        monitor: &mut Monitor<'_>,
    ) -> Result<Policy> {
        let config = self;
        let context = first_context(contexts)?;
        let n_actions = discrete_actions(context.env(), "dqn")?;
        config.validate()?;
        let mut env = training_envs(
            contexts,
            1,
            seed,
            mbtl_env::derive_seed(seed, 2_000_004),
            context_obs,
        )?;
        let mut learning = Learning::new(config, env.obs_dim(), n_actions, seed)?;
        let policy = |q: &Mlp, steps: u64| {
            Policy::trained(
                contexts,
                context_obs,
                "dqn",
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
        let mut recent: Vec<f64> = Vec::new();
        for step in 1..=config.total_timesteps {
            let obs = out.obs.clone();
            let a = learning.act(config, step, &obs);
            env.step(BatchActions::Discrete(&[a as u32]), &mut out)?;
            // Stable-Baselines3 calls back after the step, before the phase's updates.
            if monitor.step() {
                monitor.evaluate(policy(&learning.q, step)?, step)?;
            }
            learning.replay.push_step(&obs, &[a as f32], &out);
            recent.extend(out.episodes.iter().map(|e| e.ret));
            if step > config.learning_starts && step % config.train_freq == 0 {
                learning.train_phase(config);
                log.updates += 1;
            }
            if step % config.target_update_interval == 0 {
                learning.sync_target();
            }
            log.env_steps = step;
            if step % 1000 == 0 {
                if !recent.is_empty() {
                    log.recent_return = recent.iter().sum::<f64>() / recent.len() as f64;
                    log.episodes += recent.len() as u64;
                    recent.clear();
                }
                if let Some(loss) = learning.take_loss() {
                    log.losses = vec![("loss", loss)];
                }
                monitor.progress(&log);
            }
        }
        policy(&learning.q, log.env_steps)
    }
}
