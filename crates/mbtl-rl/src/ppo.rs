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
        let bad = |message: String| {
            Err(RlError::HyperParameter {
                algo: "ppo",
                message,
            })
        };
        if self.n_envs == 0 || self.n_steps == 0 || self.batch_size == 0 || self.n_epochs == 0 {
            return bad(format!(
                "n_envs = {}, n_steps = {}, batch_size = {}, n_epochs = {}: all must be positive",
                self.n_envs, self.n_steps, self.batch_size, self.n_epochs
            ));
        }
        if self.n_envs > crate::learner::MAX_ENVS
            || self.n_envs.saturating_mul(self.n_steps) > crate::learner::MAX_BATCH
            || self.batch_size > crate::learner::MAX_BATCH
            || self.n_epochs > 10_000
        {
            return bad(format!(
                "n_envs = {}, n_steps = {}, batch_size = {}, n_epochs = {}: at most {} environments, {} samples per rollout and per batch, 10000 epochs",
                self.n_envs,
                self.n_steps,
                self.batch_size,
                self.n_epochs,
                crate::learner::MAX_ENVS,
                crate::learner::MAX_BATCH
            ));
        }
        if !(0.0..=1.0).contains(&self.gamma) || !(0.0..=1.0).contains(&self.gae_lambda) {
            return bad(format!(
                "gamma = {}, gae_lambda = {}: both must lie in [0, 1]",
                self.gamma, self.gae_lambda
            ));
        }
        if !(self.learning_rate > 0.0 && self.clip_range > 0.0 && self.max_grad_norm > 0.0) {
            return bad(format!(
                "learning_rate = {}, clip_range = {}, max_grad_norm = {}: all must be positive",
                self.learning_rate, self.clip_range, self.max_grad_norm
            ));
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
    /// The head for an action space: categorical over discrete actions, a diagonal Gaussian
    /// with `ln σ` starting at `log_std_init` over continuous ones.
    fn new(space: ActionSpace, config: &PpoConfig) -> Head {
        match space {
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
        }
    }

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

/// The networks of one PPO training with their optimisers and caches.
struct Nets {
    actor: Mlp,
    critic: Mlp,
    opt_a: Adam,
    opt_c: Adam,
    head: Head,
    ca: Cache,
    cc: Cache,
}

/// One rollout, `n_steps × n_envs` samples in time-major order, with its advantages and returns.
struct Rollout {
    obs: Vec<f32>,
    act: Vec<f32>,
    logp: Vec<f32>,
    val: Vec<f32>,
    rew: Vec<f32>,
    done: Vec<bool>,
    adv: Vec<f32>,
    ret: Vec<f32>,
    /// Returns of the episodes that finished during the rollout.
    finished: Vec<f64>,
    /// The step's actions as the environments take them.
    actions: Vec<u32>,
    env_actions: Vec<f32>,
    /// The log-softmax of one categorical row.
    lsm: Vec<f32>,
}

impl Rollout {
    fn new(total: usize, n_envs: usize, obs_dim: usize, adim: usize, n_actions: usize) -> Rollout {
        Rollout {
            obs: vec![0.0; total * obs_dim],
            act: vec![0.0; total * adim],
            logp: vec![0.0; total],
            val: vec![0.0; total],
            rew: vec![0.0; total],
            done: vec![false; total],
            adv: vec![0.0; total],
            ret: vec![0.0; total],
            finished: Vec::new(),
            actions: vec![0; n_envs],
            env_actions: vec![0.0; n_envs * adim],
            lsm: vec![0.0; n_actions],
        }
    }
}

/// Collect: `n_steps` vector steps with actions sampled from the current policy; a time-limit
/// cut is bootstrapped with the critic's value of the observation it ended on. `on_step` is
/// called after every vector step (the monitor's schedule) with the steps of this rollout.
fn collect(
    config: &PpoConfig,
    envs: &mut mbtl_env::BatchEnv,
    out: &mut mbtl_env::BatchOutput,
    nets: &mut Nets,
    rng: &mut Pcg64Mcg,
    roll: &mut Rollout,
    on_step: &mut dyn FnMut(&Nets, usize) -> Result<()>,
) -> Result<()> {
    let uniform = |rng: &mut Pcg64Mcg| (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
    let (ne, ns) = (config.n_envs, config.n_steps);
    let (n_actions, adim, obs_dim) = (nets.head.outputs(), nets.head.action_len(), envs.obs_dim());
    roll.finished.clear();
    for t in 0..ns {
        let obs = out.obs.clone();
        let logits = nets.actor.forward(&obs, ne, &mut nets.ca).to_vec();
        let values = nets.critic.forward(&obs, ne, &mut nets.cc).to_vec();
        for e in 0..ne {
            let k = t * ne + e;
            let row = &logits[e * n_actions..(e + 1) * n_actions];
            match &nets.head {
                Head::Categorical { .. } => {
                    log_softmax(row, &mut roll.lsm);
                    let u = uniform(rng);
                    let mut acc = 0.0;
                    let mut a = n_actions - 1;
                    for (i, l) in roll.lsm.iter().enumerate() {
                        acc += l.exp();
                        if u < acc {
                            a = i;
                            break;
                        }
                    }
                    roll.actions[e] = a as u32;
                    roll.act[k] = a as f32;
                    roll.logp[k] = roll.lsm[a];
                }
                Head::Gaussian {
                    low, high, log_std, ..
                } => {
                    let a = &mut roll.act[k * adim..(k + 1) * adim];
                    for j in 0..adim {
                        a[j] = row[j] + log_std[j].exp() * crate::normal(rng);
                        roll.env_actions[e * adim + j] = a[j].clamp(low[j], high[j]);
                    }
                    roll.logp[k] = Head::gaussian_log_prob(row, log_std, a);
                }
            }
            roll.val[k] = values[e];
        }
        roll.obs[t * ne * obs_dim..(t + 1) * ne * obs_dim].copy_from_slice(&obs);
        let step_actions = match nets.head {
            Head::Categorical { .. } => BatchActions::Discrete(&roll.actions),
            Head::Gaussian { .. } => BatchActions::Continuous(&roll.env_actions),
        };
        envs.step(step_actions, out)?;
        for e in 0..ne {
            let k = t * ne + e;
            roll.rew[k] = out.reward[e] as f32;
            roll.done[k] = out.terminated[e] || out.truncated[e];
            if out.truncated[e] && !out.terminated[e] {
                let fo = &out.final_obs[e * obs_dim..(e + 1) * obs_dim];
                let mut v = [0.0f32];
                nets.critic.forward_one(fo, &mut Vec::new(), &mut v);
                roll.rew[k] += config.gamma * v[0];
            }
        }
        roll.finished.extend(out.episodes.iter().map(|ep| ep.ret));
        on_step(nets, (t + 1) * ne)?;
    }
    Ok(())
}

/// Compute targets: GAE(λ) advantages and returns, backwards over the rollout, bootstrapped
/// with the critic's values of the observations the rollout ended on.
fn advantages(config: &PpoConfig, nets: &mut Nets, last_obs: &[f32], roll: &mut Rollout) {
    let (ne, ns) = (config.n_envs, config.n_steps);
    let last_values = nets.critic.forward(last_obs, ne, &mut nets.cc).to_vec();
    let mut gae = vec![0.0f32; ne];
    for t in (0..ns).rev() {
        for e in 0..ne {
            let k = t * ne + e;
            let next_v = if t + 1 == ns {
                last_values[e]
            } else {
                roll.val[k + ne]
            };
            let nnt = if roll.done[k] { 0.0 } else { 1.0 };
            let delta = roll.rew[k] + config.gamma * next_v * nnt - roll.val[k];
            gae[e] = delta + config.gamma * config.gae_lambda * nnt * gae[e];
            roll.adv[k] = gae[e];
            roll.ret[k] = gae[e] + roll.val[k];
        }
    }
}

impl Nets {
    /// Fresh actor and critic for observations of `obs_dim` values (each with its own derived
    /// seed; the actor's last layer scaled by 0.01, as SB3's), their optimisers with SB3's
    /// `eps`, the head, and the update's scratch space.
    fn new(
        config: &PpoConfig,
        head: Head,
        obs_dim: usize,
        seed: u64,
    ) -> Result<(Nets, UpdateScratch)> {
        let n_actions = head.outputs();
        let spec = |out: usize| mlp_spec(obs_dim, &config.hidden, out, Activation::Tanh);
        let actor = Mlp::new(
            spec(n_actions),
            0.01,
            mbtl_env::derive_seed(seed, 1_000_001),
        )?;
        let critic = Mlp::new(spec(1), 1.0, mbtl_env::derive_seed(seed, 1_000_002))?;
        let mut opt_a = Adam::new(actor.n_params(), config.learning_rate);
        let mut opt_c = Adam::new(critic.n_params(), config.learning_rate);
        opt_a.eps = 1e-5;
        opt_c.eps = 1e-5;
        let scratch = UpdateScratch {
            idx: (0..config.n_envs * config.n_steps).collect(),
            lsm: vec![0.0; n_actions],
            probs: vec![0.0; n_actions],
            grads_a: vec![0.0; actor.n_params()],
            grads_c: vec![0.0; critic.n_params()],
        };
        let nets = Nets {
            actor,
            critic,
            opt_a,
            opt_c,
            head,
            ca: Cache::default(),
            cc: Cache::default(),
        };
        Ok((nets, scratch))
    }
}

/// Scratch space of the update phase.
struct UpdateScratch {
    idx: Vec<usize>,
    lsm: Vec<f32>,
    probs: Vec<f32>,
    grads_a: Vec<f32>,
    grads_c: Vec<f32>,
}

/// Update: `n_epochs` passes over the rollout in shuffled minibatches, each one Adam step of
/// the clipped surrogate, the value loss and the entropy bonus; the learning rate and clip
/// range scaled by `frac` (the linear schedule). Returns the summed policy-gradient, value and
/// entropy terms over every sample, for the log.
fn update(
    config: &PpoConfig,
    nets: &mut Nets,
    rng: &mut Pcg64Mcg,
    roll: &Rollout,
    scratch: &mut UpdateScratch,
    obs_dim: usize,
    frac: f32,
) -> (f64, f64, f64) {
    let total = config.n_envs * config.n_steps;
    let UpdateScratch {
        idx,
        lsm,
        probs,
        grads_a,
        grads_c,
    } = scratch;
    nets.opt_a.lr = config.learning_rate * frac;
    nets.opt_c.lr = config.learning_rate * frac;
    if let Head::Gaussian { opt, .. } = &mut nets.head {
        opt.lr = config.learning_rate * frac;
    }
    let clip = config.clip_range * frac;
    // Loss sums over the update, for the log only (never fed back).
    let mut sums = (0.0f64, 0.0f64, 0.0f64);
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
                x.extend_from_slice(&roll.obs[k * obs_dim..(k + 1) * obs_dim]);
            }
            let logits = nets.actor.forward(&x, b, &mut nets.ca).to_vec();
            let values = nets.critic.forward(&x, b, &mut nets.cc).to_vec();
            let (g_logits, g_values) = loss_gradients(
                config,
                &mut nets.head,
                roll,
                mb,
                (&logits, &values),
                clip,
                (lsm, probs),
                &mut sums,
            );
            grads_a.fill(0.0);
            grads_c.fill(0.0);
            nets.actor.backward(&mut nets.ca, &g_logits, grads_a, None);
            nets.critic.backward(&mut nets.cc, &g_values, grads_c, None);
            let mut no_head_grads = Vec::new();
            let head_grads = match &mut nets.head {
                Head::Gaussian { grads, .. } => grads,
                Head::Categorical { .. } => &mut no_head_grads,
            };
            clip_grad_norm(&mut [grads_a, grads_c, head_grads], config.max_grad_norm);
            nets.opt_a.step(&mut nets.actor.params, grads_a);
            nets.opt_c.step(&mut nets.critic.params, grads_c);
            if let Head::Gaussian {
                log_std,
                grads,
                opt,
                ..
            } = &mut nets.head
            {
                opt.step(log_std, grads);
            }
        }
    }
    sums
}

/// The gradients of one minibatch's loss with respect to the actor's outputs and the
/// critic's values: the clipped surrogate on normalised advantages, the value loss and the
/// entropy bonus (and, for a Gaussian head, the `ln σ` gradient into the head). `out` holds
/// the actor's outputs and the critic's values on the minibatch; each sample's surrogate,
/// squared value error and entropy are added to `sums`, for the log.
#[allow(clippy::too_many_arguments)]
fn loss_gradients(
    config: &PpoConfig,
    head: &mut Head,
    roll: &Rollout,
    mb: &[usize],
    (logits, values): (&[f32], &[f32]),
    clip: f32,
    (lsm, probs): (&mut [f32], &mut [f32]),
    sums: &mut (f64, f64, f64),
) -> (Vec<f32>, Vec<f32>) {
    let b = mb.len();
    let (n_actions, adim) = (head.outputs(), head.action_len());
    let a_mb: Vec<f32> = mb.iter().map(|&k| roll.adv[k]).collect();
    let mean = a_mb.iter().sum::<f32>() / b as f32;
    let std = if b > 1 {
        (a_mb.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / (b - 1) as f32).sqrt()
    } else {
        1.0
    };
    let mut g_logits = vec![0.0f32; b * n_actions];
    let mut g_values = vec![0.0f32; b];
    if let Head::Gaussian { grads, .. } = head {
        grads.fill(0.0);
    }
    for (i, &k) in mb.iter().enumerate() {
        let lg = &logits[i * n_actions..(i + 1) * n_actions];
        let new_logp = match &*head {
            Head::Categorical { .. } => {
                log_softmax(lg, lsm);
                lsm[roll.act[k] as usize]
            }
            Head::Gaussian { log_std, .. } => {
                Head::gaussian_log_prob(lg, log_std, &roll.act[k * adim..(k + 1) * adim])
            }
        };
        let norm_adv = if b > 1 {
            (roll.adv[k] - mean) / (std + 1e-8)
        } else {
            roll.adv[k]
        };
        let ratio = (new_logp - roll.logp[k]).exp();
        let unclipped = ratio * norm_adv;
        let clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * norm_adv;
        let active = unclipped <= clipped || (1.0 - clip..=1.0 + clip).contains(&ratio);
        // ∂(−surrogate)/∂log π(a) for this sample, averaged over the batch.
        let g_logp = if active { -unclipped / b as f32 } else { 0.0 };
        sums.0 -= f64::from(unclipped.min(clipped));
        sums.1 += f64::from(values[i] - roll.ret[k]).powi(2);
        let g = &mut g_logits[i * n_actions..(i + 1) * n_actions];
        match &mut *head {
            Head::Categorical { .. } => {
                let a = roll.act[k] as usize;
                for (p, &l) in probs.iter_mut().zip(lsm.iter()) {
                    *p = l.exp();
                }
                let entropy: f32 = -probs
                    .iter()
                    .zip(lsm.iter())
                    .map(|(p, l)| p * l)
                    .sum::<f32>();
                sums.2 += f64::from(entropy);
                for (j, ((gj, &l), &p)) in
                    g.iter_mut().zip(lsm.iter()).zip(probs.iter()).enumerate()
                {
                    let onehot = if j == a { 1.0 } else { 0.0 };
                    *gj = g_logp * (onehot - p) + config.ent_coef / b as f32 * p * (l + entropy);
                }
            }
            Head::Gaussian { log_std, grads, .. } => {
                let a = &roll.act[k * adim..(k + 1) * adim];
                sums.2 += log_std
                    .iter()
                    .map(|&l| f64::from(l) + 0.5 * (1.0 + (std::f64::consts::TAU).ln()))
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
        g_values[i] = config.vf_coef * 2.0 * (values[i] - roll.ret[k]) / b as f32;
    }
    (g_logits, g_values)
}

/// Trains a categorical or diagonal-Gaussian policy (by the action space): rollouts of
/// [`collect`], targets from [`advantages`], [`update`], a log entry, until the budget is spent.
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
        let context = first_context(contexts)?;
        let head = Head::new(context.env().spec().action_space.clone(), config);
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
        let (mut nets, mut scratch) = Nets::new(config, head, obs_dim, seed)?;
        let mut rng = Pcg64Mcg::seed_from_u64(mbtl_env::derive_seed(seed, 1_000_003));
        let total = config.n_envs * config.n_steps;
        let mut roll = Rollout::new(total, config.n_envs, obs_dim, adim, n_actions);
        let mut out = envs.output();
        envs.reset(&mut out);
        let mut log = TrainLog::default();
        let policy = |nets: &Nets, steps: u64| {
            snapshot(
                contexts,
                context_obs,
                config,
                seed,
                steps,
                &nets.actor,
                &nets.critic,
                &nets.head,
            )
        };
        while log.env_steps < config.total_timesteps {
            let before = log.env_steps;
            // Stable-Baselines3 calls back after every vector step of the rollout.
            let mut on_step = |nets: &Nets, done: usize| -> Result<()> {
                if monitor.step() {
                    let steps = before + done as u64;
                    monitor.evaluate(policy(nets, steps)?, steps)?;
                }
                Ok(())
            };
            collect(
                config,
                &mut envs,
                &mut out,
                &mut nets,
                &mut rng,
                &mut roll,
                &mut on_step,
            )?;
            log.env_steps += total as u64;
            advantages(config, &mut nets, &out.obs, &mut roll);
            let remaining = 1.0 - before as f32 / config.total_timesteps as f32;
            let frac = if config.linear_schedule {
                remaining.max(0.0)
            } else {
                1.0
            };
            let (pg_sum, vf_sum, ent_sum) = update(
                config,
                &mut nets,
                &mut rng,
                &roll,
                &mut scratch,
                obs_dim,
                frac,
            );
            log.updates += 1;
            if !roll.finished.is_empty() {
                log.recent_return = roll.finished.iter().sum::<f64>() / roll.finished.len() as f64;
                log.episodes += roll.finished.len() as u64;
            }
            let samples = (config.n_epochs * total) as f64;
            log.losses = vec![
                ("policy_gradient_loss", pg_sum / samples),
                ("value_loss", vf_sum / samples),
                ("entropy_loss", -ent_sum / samples),
            ];
            monitor.progress(&log);
        }
        policy(&nets, log.env_steps)
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
