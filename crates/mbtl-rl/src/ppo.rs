//! Proximal Policy Optimization (Schulman et al. 2017) for discrete actions (categorical) and
//! continuous ones (diagonal Gaussian with a state-independent log-std, actions clipped to the
//! box when stepping), in Stable-Baselines3's formulation: vectorised rollouts, GAE(λ), per-minibatch advantage
//! normalisation, clipped surrogate, MSE value loss, one Adam over actor and critic with global
//! gradient-norm clipping, linear learning-rate and clip-range schedules, and time-limit
//! truncations bootstrapped with the critic's value of the final observation.

use mbtl_env::{ActionSpace, BatchActions, Context, ContextObs};
use mbtl_nn::mlp_spec;
use mbtl_nn::{clip_grad_norm, Activation, Adam, Cache, Mlp};
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::callback::{Monitor, TrainLog};
use crate::policy::{ContinuousHead, Policy};
use crate::{first_context, training_envs, Result, RlError, Train};

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
    /// Initial log-std of the Gaussian policy (continuous actions only).
    #[serde(default)]
    pub log_std_init: f32,
}

impl PpoConfig {
    /// rl-baselines3-zoo's tuned PPO settings (`hyperparams/ppo.yml`) for CartPole-v1 and, without
    /// their generalized state-dependent exploration (not implemented), Pendulum-v1; other
    /// environments (and `None`: an environment mbtl does not ship) get Stable-Baselines3's
    /// defaults.
    pub fn zoo(kind: impl Into<Option<mbtl_env::EnvKind>>) -> PpoConfig {
        match kind.into() {
            Some(mbtl_env::EnvKind::CartPole) => PpoConfig {
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
                log_std_init: 0.0,
            },
            Some(mbtl_env::EnvKind::Pendulum) => PpoConfig {
                total_timesteps: 100_000,
                n_envs: 4,
                n_steps: 1024,
                batch_size: 64,
                n_epochs: 10,
                gamma: 0.9,
                gae_lambda: 0.95,
                learning_rate: 1e-3,
                clip_range: 0.2,
                linear_schedule: false,
                ent_coef: 0.0,
                vf_coef: 0.5,
                max_grad_norm: 0.5,
                hidden: vec![64, 64],
                log_std_init: 0.0,
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
                log_std_init: 0.0,
            },
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(RlError::Config(format!("ppo: {m}")));
        if self.n_envs == 0 || self.n_steps == 0 || self.batch_size == 0 || self.n_epochs == 0 {
            return bad("n_envs, n_steps, batch_size and n_epochs must be positive");
        }
        if self.n_envs > crate::learner::MAX_ENVS
            || self.n_envs.saturating_mul(self.n_steps) > crate::learner::MAX_BATCH
            || self.batch_size > crate::learner::MAX_BATCH
            || self.n_epochs > 10_000
        {
            return Err(RlError::Config(format!(
                "ppo: n_envs = {}, n_steps = {}, batch_size = {}, n_epochs = {}: at most {} environments, {} samples per rollout and per batch, 10000 epochs",
                self.n_envs,
                self.n_steps,
                self.batch_size,
                self.n_epochs,
                crate::learner::MAX_ENVS,
                crate::learner::MAX_BATCH
            )));
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

fn log_softmax(logits: &[f32], out: &mut [f32]) {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = m + logits.iter().map(|l| (l - m).exp()).sum::<f32>().ln();
    for (o, l) in out.iter_mut().zip(logits) {
        *o = l - lse;
    }
}

/// The policy's action distribution.
enum Head {
    /// Logits over `n` actions.
    Categorical { n: usize },
    /// `N(μ(s), diag(σ²))`, `ln σ` a free parameter vector; actions clipped to `[low, high]`
    /// when stepping (the buffer keeps the unclipped sample, as SB3 does).
    Gaussian {
        low: Vec<f32>,
        high: Vec<f32>,
        log_std: Vec<f32>,
        grads: Vec<f32>,
        opt: Adam,
    },
}

const HALF_LN_2PI: f32 = 0.918_938_5;

impl Head {
    /// Actor outputs per observation.
    fn outputs(&self) -> usize {
        match self {
            Head::Categorical { n } => *n,
            Head::Gaussian { low, .. } => low.len(),
        }
    }

    /// Values stored per action in the buffer.
    fn action_len(&self) -> usize {
        match self {
            Head::Categorical { .. } => 1,
            Head::Gaussian { low, .. } => low.len(),
        }
    }

    /// `log π(a|s)` of a Gaussian action.
    fn gaussian_log_prob(mu: &[f32], log_std: &[f32], a: &[f32]) -> f32 {
        mu.iter()
            .zip(log_std)
            .zip(a)
            .map(|((m, ls), a)| {
                let z = (a - m) / ls.exp();
                -0.5 * z * z - ls - HALF_LN_2PI
            })
            .sum()
    }
}

/// Trains a categorical or diagonal-Gaussian policy (by the action space).
impl Train for PpoConfig {
    fn fit(
        &self,
        contexts: &[Context],
        context_obs: &ContextObs,
        seed: u64,
        monitor: &mut Monitor<'_>,
    ) -> Result<Policy> {
        let config = self;
        config.validate()?;
        let context = first_context("ppo", contexts)?;
        let mut head = match context.env().spec().action_space.clone() {
            ActionSpace::Discrete { n } => Head::Categorical { n: n as usize },
            ActionSpace::Continuous { low, high } => {
                let dim = low.len();
                Head::Gaussian {
                    log_std: vec![config.log_std_init; dim],
                    grads: vec![0.0; dim],
                    opt: {
                        let mut o = Adam::new(dim, config.learning_rate);
                        o.eps = 1e-5;
                        o
                    },
                    low,
                    high,
                }
            }
        };
        let n_actions = head.outputs();
        let adim = head.action_len();
        let mut envs = training_envs(
            contexts,
            config.n_envs,
            seed,
            mbtl_env::derive_seed(seed, 1_000_004),
            context_obs,
        )?;
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
        let mut act_buf = vec![0.0f32; total * adim];
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
        let mut env_actions = vec![0.0f32; ne * adim];
        let mut lsm = vec![0.0f32; n_actions];
        let mut probs = vec![0.0f32; n_actions];
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
                    let k = t * ne + e;
                    let row = &logits[e * n_actions..(e + 1) * n_actions];
                    match &head {
                        Head::Categorical { .. } => {
                            log_softmax(row, &mut lsm);
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
                            act_buf[k] = a as f32;
                            logp_buf[k] = lsm[a];
                        }
                        Head::Gaussian {
                            low, high, log_std, ..
                        } => {
                            let a = &mut act_buf[k * adim..(k + 1) * adim];
                            for j in 0..adim {
                                a[j] = row[j] + log_std[j].exp() * crate::normal(&mut rng);
                                env_actions[e * adim + j] = a[j].clamp(low[j], high[j]);
                            }
                            logp_buf[k] = Head::gaussian_log_prob(row, log_std, a);
                        }
                    }
                    val_buf[k] = values[e];
                }
                obs_buf[t * ne * obs_dim..(t + 1) * ne * obs_dim].copy_from_slice(&obs);
                let step_actions = match head {
                    Head::Categorical { .. } => BatchActions::Discrete(&actions),
                    Head::Gaussian { .. } => BatchActions::Continuous(&env_actions),
                };
                envs.step(step_actions, &mut out)?;
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
                // Stable-Baselines3 calls back after every vector step of the rollout.
                if monitor.step() {
                    let steps = log.env_steps + ((t + 1) * ne) as u64;
                    let policy = snapshot(
                        contexts,
                        context_obs,
                        config,
                        seed,
                        steps,
                        &actor,
                        &critic,
                        &head,
                    )?;
                    monitor.evaluate(policy, steps)?;
                }
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
            let remaining =
                1.0 - (log.env_steps - total as u64) as f32 / config.total_timesteps as f32;
            let frac = if config.linear_schedule {
                remaining.max(0.0)
            } else {
                1.0
            };
            opt_a.lr = config.learning_rate * frac;
            opt_c.lr = config.learning_rate * frac;
            if let Head::Gaussian { opt, .. } = &mut head {
                opt.lr = config.learning_rate * frac;
            }
            let clip = config.clip_range * frac;
            // Loss means over the update, for the log only (never fed back).
            let (mut pg_sum, mut vf_sum, mut ent_sum) = (0.0f64, 0.0f64, 0.0f64);
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
                    if let Head::Gaussian { grads, .. } = &mut head {
                        grads.fill(0.0);
                    }
                    for (i, &k) in mb.iter().enumerate() {
                        let lg = &logits[i * n_actions..(i + 1) * n_actions];
                        let new_logp = match &head {
                            Head::Categorical { .. } => {
                                log_softmax(lg, &mut lsm);
                                lsm[act_buf[k] as usize]
                            }
                            Head::Gaussian { log_std, .. } => Head::gaussian_log_prob(
                                lg,
                                log_std,
                                &act_buf[k * adim..(k + 1) * adim],
                            ),
                        };
                        let norm_adv = if b > 1 {
                            (adv[k] - mean) / (std + 1e-8)
                        } else {
                            adv[k]
                        };
                        let ratio = (new_logp - logp_buf[k]).exp();
                        let unclipped = ratio * norm_adv;
                        let clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * norm_adv;
                        let active =
                            unclipped <= clipped || (1.0 - clip..=1.0 + clip).contains(&ratio);
                        // ∂(−surrogate)/∂log π(a) for this sample, averaged over the batch.
                        let g_logp = if active { -unclipped / b as f32 } else { 0.0 };
                        pg_sum -= unclipped.min(clipped) as f64;
                        vf_sum += ((values[i] - ret[k]) as f64).powi(2);
                        let g = &mut g_logits[i * n_actions..(i + 1) * n_actions];
                        match &mut head {
                            Head::Categorical { .. } => {
                                let a = act_buf[k] as usize;
                                for (p, &l) in probs.iter_mut().zip(&lsm) {
                                    *p = l.exp();
                                }
                                let entropy: f32 =
                                    -probs.iter().zip(&lsm).map(|(p, l)| p * l).sum::<f32>();
                                ent_sum += entropy as f64;
                                for (j, ((gj, &l), &p)) in
                                    g.iter_mut().zip(lsm.iter()).zip(&probs).enumerate()
                                {
                                    let onehot = if j == a { 1.0 } else { 0.0 };
                                    *gj = g_logp * (onehot - p)
                                        + config.ent_coef / b as f32 * p * (l + entropy);
                                }
                            }
                            Head::Gaussian { log_std, grads, .. } => {
                                let a = &act_buf[k * adim..(k + 1) * adim];
                                ent_sum += log_std
                                    .iter()
                                    .map(|&l| l as f64 + 0.5 * (1.0 + (std::f64::consts::TAU).ln()))
                                    .sum::<f64>();
                                for j in 0..adim {
                                    let sigma = log_std[j].exp();
                                    let z = (a[j] - lg[j]) / sigma;
                                    // ∂log π/∂μ = z/σ, ∂log π/∂ln σ = z² − 1; the entropy
                                    // Σ(ln σ + ½ ln 2πe) adds −ent_coef to ∂/∂ln σ.
                                    g[j] = g_logp * z / sigma;
                                    grads[j] += g_logp * (z * z - 1.0) - config.ent_coef / b as f32;
                                }
                            }
                        }
                        g_values[i] = config.vf_coef * 2.0 * (values[i] - ret[k]) / b as f32;
                    }
                    grads_a.fill(0.0);
                    grads_c.fill(0.0);
                    actor.backward(&mut ca, &g_logits, &mut grads_a, None);
                    critic.backward(&mut cc, &g_values, &mut grads_c, None);
                    let mut no_head_grads = Vec::new();
                    let head_grads = match &mut head {
                        Head::Gaussian { grads, .. } => grads,
                        Head::Categorical { .. } => &mut no_head_grads,
                    };
                    clip_grad_norm(
                        &mut [&mut grads_a, &mut grads_c, head_grads],
                        config.max_grad_norm,
                    );
                    opt_a.step(&mut actor.params, &grads_a);
                    opt_c.step(&mut critic.params, &grads_c);
                    if let Head::Gaussian {
                        log_std,
                        grads,
                        opt,
                        ..
                    } = &mut head
                    {
                        opt.step(log_std, grads);
                    }
                }
            }
            log.updates += 1;
            if !finished.is_empty() {
                log.recent_return = finished.iter().sum::<f64>() / finished.len() as f64;
                log.episodes += finished.len() as u64;
            }
            let samples = (config.n_epochs * total) as f64;
            log.losses = vec![
                ("policy_gradient_loss", pg_sum / samples),
                ("value_loss", vf_sum / samples),
                ("entropy_loss", -ent_sum / samples),
            ];
            monitor.progress(&log);
        }
        snapshot(
            contexts,
            context_obs,
            config,
            seed,
            log.env_steps,
            &actor,
            &critic,
            &head,
        )
    }
}

/// The policy as it stands after `env_steps` steps.
#[allow(clippy::too_many_arguments)]
fn snapshot(
    contexts: &[Context],
    context_obs: &ContextObs,
    config: &PpoConfig,
    seed: u64,
    env_steps: u64,
    actor: &Mlp,
    critic: &Mlp,
    head: &Head,
) -> Result<Policy> {
    let mut policy = Policy::trained(
        contexts,
        context_obs,
        "ppo",
        config,
        seed,
        env_steps,
        actor.clone(),
        Some(critic.clone()),
    )?;
    if let Head::Gaussian { low, high, .. } = head {
        policy.header.continuous = Some(ContinuousHead::Clipped {
            low: low.clone(),
            high: high.clone(),
        });
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Gaussian head's derivatives (∂log π/∂μ = z/σ, ∂log π/∂ln σ = z² − 1) against
    /// central finite differences of its log-density.
    #[test]
    fn gaussian_log_prob_gradients_match_finite_differences() {
        let mu = [0.3f32, -1.2];
        let log_std = [-0.4f32, 0.7];
        let a = [1.1f32, -0.5];
        let h = 1e-3f32;
        for j in 0..2 {
            let z = (a[j] - mu[j]) / log_std[j].exp();
            let (mut up, mut down) = (mu, mu);
            up[j] += h;
            down[j] -= h;
            let fd = (Head::gaussian_log_prob(&up, &log_std, &a)
                - Head::gaussian_log_prob(&down, &log_std, &a))
                / (2.0 * h);
            assert!((fd - z / log_std[j].exp()).abs() < 1e-2, "∂/∂μ{j}: {fd}");
            let (mut up, mut down) = (log_std, log_std);
            up[j] += h;
            down[j] -= h;
            let fd = (Head::gaussian_log_prob(&mu, &up, &a)
                - Head::gaussian_log_prob(&mu, &down, &a))
                / (2.0 * h);
            assert!((fd - (z * z - 1.0)).abs() < 1e-2, "∂/∂ln σ{j}: {fd}");
        }
    }
}
