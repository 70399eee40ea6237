//! Proximal Policy Optimization (Schulman et al. 2017) for discrete actions, in
//! Stable-Baselines3's formulation: vectorised rollouts, GAE(λ), per-minibatch advantage
//! normalisation, clipped surrogate, MSE value loss, one Adam over actor and critic with global
//! gradient-norm clipping, linear learning-rate and clip-range schedules, and time-limit
//! truncations bootstrapped with the critic's value of the final observation.

use mbtl_env::{BatchActions, BatchEnv, Context, ContextObs};
use mbtl_nn::mlp_spec;
use mbtl_nn::{Activation, Adam, Cache, Mlp};
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::policy::{discrete_actions, Policy};
use crate::{Result, RlError};

/// PPO hyper-parameters (names as in Stable-Baselines3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    pub total_timesteps: u64,
    pub n_envs: usize,
    pub n_steps: usize,
    pub batch_size: usize,
    pub n_epochs: usize,
    pub gamma: f32,
    pub gae_lambda: f32,
    pub learning_rate: f32,
    pub clip_range: f32,
    /// Decay learning rate and clip range linearly to 0 (the zoo's `lin_` prefix).
    pub linear_schedule: bool,
    pub ent_coef: f32,
    pub vf_coef: f32,
    pub max_grad_norm: f32,
    pub hidden: Vec<usize>,
}

impl PpoConfig {
    /// rl-baselines3-zoo's tuned PPO settings for CartPole-v1 (`hyperparams/ppo.yml`); other
    /// environments get Stable-Baselines3's defaults until tuned tables are added.
    pub fn zoo(kind: mbtl_env::EnvKind) -> PpoConfig {
        match kind {
            mbtl_env::EnvKind::CartPole => PpoConfig {
                total_timesteps: 100_000,
                n_envs: 8,
                n_steps: 32,
                batch_size: 256,
                n_epochs: 20,
                gamma: 0.98,
                gae_lambda: 0.8,
                learning_rate: 1e-3,
                clip_range: 0.2,
                linear_schedule: true,
                ent_coef: 0.0,
                vf_coef: 0.5,
                max_grad_norm: 0.5,
                hidden: vec![64, 64],
            },
            _ => PpoConfig {
                total_timesteps: 1_000_000,
                n_envs: 1,
                n_steps: 2048,
                batch_size: 64,
                n_epochs: 10,
                gamma: 0.99,
                gae_lambda: 0.95,
                learning_rate: 3e-4,
                clip_range: 0.2,
                linear_schedule: false,
                ent_coef: 0.0,
                vf_coef: 0.5,
                max_grad_norm: 0.5,
                hidden: vec![64, 64],
            },
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(RlError::Config(format!("ppo: {m}")));
        if self.n_envs == 0 || self.n_steps == 0 || self.batch_size == 0 || self.n_epochs == 0 {
            return bad("n_envs, n_steps, batch_size and n_epochs must be positive");
        }
        if !(0.0..=1.0).contains(&self.gamma) || !(0.0..=1.0).contains(&self.gae_lambda) {
            return bad("gamma and gae_lambda must lie in [0, 1]");
        }
        if !(self.learning_rate > 0.0 && self.clip_range > 0.0 && self.max_grad_norm > 0.0) {
            return bad("learning_rate, clip_range and max_grad_norm must be positive");
        }
        Ok(())
    }
}

/// Progress of a training run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrainLog {
    pub env_steps: u64,
    pub updates: u64,
    /// Mean undiscounted return of the episodes finished during the last rollouts.
    pub recent_return: f64,
}

fn log_softmax(logits: &[f32], out: &mut [f32]) {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = m + logits.iter().map(|l| (l - m).exp()).sum::<f32>().ln();
    for (o, l) in out.iter_mut().zip(logits) {
        *o = l - lse;
    }
}

/// Trains a categorical policy on `context` with `config`, from `seed`; `progress` is called
/// after every update.
pub fn train(
    context: &Context,
    context_obs: &ContextObs,
    config: &PpoConfig,
    seed: u64,
    progress: impl FnMut(&TrainLog),
) -> Result<Policy> {
    train_pool(
        std::slice::from_ref(context),
        context_obs,
        config,
        seed,
        progress,
    )
}

/// Like [`train`], but every episode's context is drawn uniformly from `contexts` (one
/// policy over a distribution of contexts: the multi-task baseline, usually with the context
/// visible in the observation).
pub fn train_pool(
    contexts: &[Context],
    context_obs: &ContextObs,
    config: &PpoConfig,
    seed: u64,
    mut progress: impl FnMut(&TrainLog),
) -> Result<Policy> {
    config.validate()?;
    let context = contexts
        .first()
        .ok_or_else(|| RlError::Config("ppo: no training context".into()))?;
    let kind = context.kind();
    let n_actions = discrete_actions(kind, "ppo")?;
    let mut envs = BatchEnv::new(&vec![context.clone(); config.n_envs], seed, context_obs)?;
    if contexts.len() > 1 {
        envs = envs.with_context_pool(contexts.to_vec(), mbtl_env::derive_seed(seed, 1_000_004))?;
    }
    let obs_dim = envs.obs_dim();
    let spec = |out: usize| mlp_spec(obs_dim, &config.hidden, out, Activation::Tanh);
    let mut actor = Mlp::new(
        spec(n_actions),
        0.01,
        mbtl_env::derive_seed(seed, 1_000_001),
    )?;
    let mut critic = Mlp::new(spec(1), 1.0, mbtl_env::derive_seed(seed, 1_000_002))?;
    let mut opt_a = Adam::new(actor.n_params(), config.learning_rate);
    let mut opt_c = Adam::new(critic.n_params(), config.learning_rate);
    opt_a.eps = 1e-5;
    opt_c.eps = 1e-5;
    let mut rng = Pcg64Mcg::seed_from_u64(mbtl_env::derive_seed(seed, 1_000_003));
    let uniform = |rng: &mut Pcg64Mcg| (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;

    let (ne, ns) = (config.n_envs, config.n_steps);
    let total = ne * ns;
    let mut obs_buf = vec![0.0f32; total * obs_dim];
    let mut act_buf = vec![0u32; total];
    let mut logp_buf = vec![0.0f32; total];
    let mut val_buf = vec![0.0f32; total];
    let mut rew_buf = vec![0.0f32; total];
    let mut done_buf = vec![false; total];
    let mut adv = vec![0.0f32; total];
    let mut ret = vec![0.0f32; total];
    let mut out = envs.output();
    envs.reset(&mut out);
    let (mut ca, mut cc) = (Cache::default(), Cache::default());
    let mut actions = vec![0u32; ne];
    let mut lsm = vec![0.0f32; n_actions];
    let mut log = TrainLog::default();
    let mut finished: Vec<f64> = Vec::new();
    let mut grads_a = vec![0.0f32; actor.n_params()];
    let mut grads_c = vec![0.0f32; critic.n_params()];
    let mut idx: Vec<usize> = (0..total).collect();

    while log.env_steps < config.total_timesteps {
        finished.clear();
        for t in 0..ns {
            let obs = out.obs.clone();
            let logits = actor.forward(&obs, ne, &mut ca).to_vec();
            let values = critic.forward(&obs, ne, &mut cc).to_vec();
            for e in 0..ne {
                log_softmax(&logits[e * n_actions..(e + 1) * n_actions], &mut lsm);
                let u = uniform(&mut rng);
                let mut acc = 0.0;
                let mut a = n_actions - 1;
                for (i, l) in lsm.iter().enumerate() {
                    acc += l.exp();
                    if u < acc {
                        a = i;
                        break;
                    }
                }
                actions[e] = a as u32;
                let k = t * ne + e;
                act_buf[k] = a as u32;
                logp_buf[k] = lsm[a];
                val_buf[k] = values[e];
            }
            obs_buf[t * ne * obs_dim..(t + 1) * ne * obs_dim].copy_from_slice(&obs);
            envs.step(BatchActions::Discrete(&actions), &mut out)?;
            for e in 0..ne {
                let k = t * ne + e;
                rew_buf[k] = out.reward[e] as f32;
                done_buf[k] = out.terminated[e] || out.truncated[e];
                if out.truncated[e] && !out.terminated[e] {
                    // Bootstrap a time-limit cut with the value of the observation it ended on.
                    let fo = &out.final_obs[e * obs_dim..(e + 1) * obs_dim];
                    let mut v = [0.0f32];
                    critic.forward_one(fo, &mut Vec::new(), &mut v);
                    rew_buf[k] += config.gamma * v[0];
                }
            }
            finished.extend(out.episodes.iter().map(|ep| ep.ret));
        }
        log.env_steps += total as u64;
        let last_values = critic.forward(&out.obs, ne, &mut cc).to_vec();
        // GAE(λ), backwards over the rollout.
        let mut gae = vec![0.0f32; ne];
        for t in (0..ns).rev() {
            for e in 0..ne {
                let k = t * ne + e;
                let next_v = if t + 1 == ns {
                    last_values[e]
                } else {
                    val_buf[k + ne]
                };
                let nnt = if done_buf[k] { 0.0 } else { 1.0 };
                let delta = rew_buf[k] + config.gamma * next_v * nnt - val_buf[k];
                gae[e] = delta + config.gamma * config.gae_lambda * nnt * gae[e];
                adv[k] = gae[e];
                ret[k] = gae[e] + val_buf[k];
            }
        }
        let remaining = 1.0 - (log.env_steps - total as u64) as f32 / config.total_timesteps as f32;
        let frac = if config.linear_schedule {
            remaining.max(0.0)
        } else {
            1.0
        };
        opt_a.lr = config.learning_rate * frac;
        opt_c.lr = config.learning_rate * frac;
        let clip = config.clip_range * frac;
        for _ in 0..config.n_epochs {
            // Fisher–Yates shuffle of the sample indices.
            for i in (1..total).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                idx.swap(i, j);
            }
            for mb in idx.chunks(config.batch_size) {
                let b = mb.len();
                let mut x = Vec::with_capacity(b * obs_dim);
                for &k in mb {
                    x.extend_from_slice(&obs_buf[k * obs_dim..(k + 1) * obs_dim]);
                }
                let a_mb: Vec<f32> = mb.iter().map(|&k| adv[k]).collect();
                let mean = a_mb.iter().sum::<f32>() / b as f32;
                let std = if b > 1 {
                    (a_mb.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / (b - 1) as f32)
                        .sqrt()
                } else {
                    1.0
                };
                let logits = actor.forward(&x, b, &mut ca).to_vec();
                let values = critic.forward(&x, b, &mut cc).to_vec();
                let mut g_logits = vec![0.0f32; b * n_actions];
                let mut g_values = vec![0.0f32; b];
                for (i, &k) in mb.iter().enumerate() {
                    let lg = &logits[i * n_actions..(i + 1) * n_actions];
                    log_softmax(lg, &mut lsm);
                    let a = act_buf[k] as usize;
                    let norm_adv = if b > 1 {
                        (adv[k] - mean) / (std + 1e-8)
                    } else {
                        adv[k]
                    };
                    let ratio = (lsm[a] - logp_buf[k]).exp();
                    let unclipped = ratio * norm_adv;
                    let clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * norm_adv;
                    let active = unclipped <= clipped || (1.0 - clip..=1.0 + clip).contains(&ratio);
                    // ∂(−surrogate)/∂log π(a) for this sample, averaged over the batch.
                    let g_logp = if active { -unclipped / b as f32 } else { 0.0 };
                    let entropy: f32 = -lsm.iter().map(|l| l.exp() * l).sum::<f32>();
                    let g = &mut g_logits[i * n_actions..(i + 1) * n_actions];
                    for (j, (gj, &l)) in g.iter_mut().zip(lsm.iter()).enumerate() {
                        let p = l.exp();
                        let onehot = if j == a { 1.0 } else { 0.0 };
                        *gj =
                            g_logp * (onehot - p) + config.ent_coef / b as f32 * p * (l + entropy);
                    }
                    g_values[i] = config.vf_coef * 2.0 * (values[i] - ret[k]) / b as f32;
                }
                grads_a.fill(0.0);
                grads_c.fill(0.0);
                actor.backward(&mut ca, &g_logits, &mut grads_a, None);
                critic.backward(&mut cc, &g_values, &mut grads_c, None);
                let norm = grads_a
                    .iter()
                    .chain(&grads_c)
                    .map(|g| g * g)
                    .sum::<f32>()
                    .sqrt();
                if norm > config.max_grad_norm {
                    let s = config.max_grad_norm / (norm + 1e-6);
                    grads_a
                        .iter_mut()
                        .chain(grads_c.iter_mut())
                        .for_each(|g| *g *= s);
                }
                opt_a.step(&mut actor.params, &grads_a);
                opt_c.step(&mut critic.params, &grads_c);
            }
        }
        log.updates += 1;
        if !finished.is_empty() {
            log.recent_return = finished.iter().sum::<f64>() / finished.len() as f64;
        }
        progress(&log);
    }
    Policy::trained(
        contexts,
        context_obs,
        "ppo",
        config,
        seed,
        log.env_steps,
        actor,
        Some(critic),
    )
}
