//! Soft Actor-Critic (Haarnoja et al. 2018) for continuous actions, in Stable-Baselines3's
//! formulation: a squashed-Gaussian actor (`tanh` of a Gaussian whose log-std is clamped to
//! [−20, 2]), twin critics with Polyak-averaged targets, the entropy coefficient tuned
//! automatically towards a target entropy of `−dim(A)`, and, per gradient step, the order SB3
//! uses: entropy coefficient, critics, then actor against the freshly updated critics.
//!
//! Actions are kept in `[−1, 1]` in the replay buffer and at the critics' inputs, and rescaled
//! to the environment's box only when stepping.

use mbtl_env::{ActionSpace, BatchActions, Context, ContextObs, EnvKind};
use mbtl_nn::{mlp_spec, Activation, Adam, Cache, Mlp};
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::callback::{Monitor, TrainLog};
use crate::normal;
use crate::policy::{ContinuousHead, Policy};
use crate::replay::{Batch, Replay};
use crate::sde::{Sde, SdeDraw};
use crate::{first_context, training_envs, Result, RlError, Train};

const LOG_STD_MIN: f32 = -20.0;
const LOG_STD_MAX: f32 = 2.0;

/// SAC hyper-parameters (names as in Stable-Baselines3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SacConfig {
    pub total_timesteps: u64,
    pub learning_rate: f32,
    pub buffer_size: usize,
    /// Uniformly random actions for this many first steps; training starts after them.
    pub learning_starts: u64,
    pub batch_size: usize,
    /// Polyak coefficient of the target critics.
    pub tau: f32,
    pub gamma: f32,
    /// Environment steps between training phases.
    pub train_freq: u64,
    /// Gradient steps per training phase.
    pub gradient_steps: usize,
    /// Initial entropy coefficient α (SB3's `"auto"` starts at 1.0).
    pub ent_coef_init: f32,
    /// Tune α towards the target entropy (`false`: α stays at `ent_coef_init`).
    pub auto_entropy: bool,
    /// Target entropy; `None` means SB3's `−dim(A)`.
    pub target_entropy: Option<f32>,
    pub hidden: Vec<usize>,
    /// Generalized state-dependent exploration instead of independent Gaussian noise.
    #[serde(default)]
    pub use_sde: bool,
    /// Initial `ln σ` of the gSDE noise matrix.
    #[serde(default = "default_log_std_init")]
    pub log_std_init: f32,
}

fn default_log_std_init() -> f32 {
    -3.0
}

/// SB3 clips gSDE means to ±2 before the noise.
const SDE_CLIP_MEAN: f32 = 2.0;

impl SacConfig {
    /// rl-baselines3-zoo's tuned SAC settings (`hyperparams/sac.yml`) for Pendulum-v1 and
    /// MountainCarContinuous-v0; Stable-Baselines3's defaults elsewhere (and for `None`, an
    /// environment mbtl does not ship).
    pub fn zoo(kind: impl Into<Option<EnvKind>>) -> SacConfig {
        let sb3 = SacConfig {
            total_timesteps: 1_000_000,
            learning_rate: 3e-4,
            buffer_size: 1_000_000,
            learning_starts: 100,
            batch_size: 256,
            tau: 0.005,
            gamma: 0.99,
            train_freq: 1,
            gradient_steps: 1,
            ent_coef_init: 1.0,
            auto_entropy: true,
            target_entropy: None,
            hidden: vec![256, 256],
            use_sde: false,
            log_std_init: -3.0,
        };
        match kind.into() {
            Some(EnvKind::Pendulum) => SacConfig {
                total_timesteps: 20_000,
                learning_rate: 1e-3,
                ..sb3
            },
            Some(EnvKind::MountainCarContinuous) => SacConfig {
                total_timesteps: 50_000,
                learning_rate: 3e-4,
                buffer_size: 50_000,
                batch_size: 512,
                ent_coef_init: 0.1,
                auto_entropy: false,
                train_freq: 32,
                gradient_steps: 32,
                gamma: 0.9999,
                tau: 0.01,
                learning_starts: 0,
                hidden: vec![64, 64],
                use_sde: true,
                log_std_init: -3.67,
                ..sb3
            },
            _ => sb3,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        crate::learner::check_buffer("sac", self.buffer_size, self.batch_size)?;
        if !(0.0..=1.0).contains(&self.gamma) {
            return Err(RlError::HyperParameter {
                algo: "sac",
                message: format!("gamma = {} must lie in [0, 1]", self.gamma),
            });
        }
        if self.batch_size == 0 || self.buffer_size < self.batch_size || self.train_freq == 0 {
            return Err(RlError::HyperParameter {
                algo: "sac",
                message: format!(
                    "batch_size = {}, buffer_size = {}, train_freq = {}: batch_size > 0, buffer_size ≥ batch_size and train_freq > 0 are required",
                    self.batch_size, self.buffer_size, self.train_freq
                ),
            });
        }
        if !(self.learning_rate > 0.0 && (0.0..=1.0).contains(&self.tau)) {
            return Err(RlError::HyperParameter {
                algo: "sac",
                message: format!(
                    "learning_rate = {}, tau = {}: learning_rate > 0 and tau in [0, 1] are required",
                    self.learning_rate, self.tau
                ),
            });
        }
        Ok(())
    }
}

/// One reparameterised sample of the squashed Gaussian for a batch: the actions in `[−1, 1]`,
/// their log-probabilities, and what the backward pass needs.
struct Sample {
    action: Vec<f32>,
    log_prob: Vec<f32>,
    eps: Vec<f32>,
    std: Vec<f32>,
    /// Whether the log-std was inside its clamp (gradient passes) per component.
    unclamped: Vec<bool>,
}

fn sample(out: &[f32], batch: usize, dim: usize, rng: &mut Pcg64Mcg) -> Sample {
    let eps = (0..batch * dim).map(|_| normal(rng)).collect();
    squash(out, batch, dim, eps)
}

/// The squashed-Gaussian actions for actor outputs `out` (`batch × 2·dim`) and noise `eps`.
fn squash(out: &[f32], batch: usize, dim: usize, eps: Vec<f32>) -> Sample {
    let half_ln_2pi = 0.5 * (std::f32::consts::TAU).ln();
    let mut s = Sample {
        action: vec![0.0; batch * dim],
        log_prob: vec![0.0; batch],
        eps,
        std: vec![0.0; batch * dim],
        unclamped: vec![true; batch * dim],
    };
    for k in 0..batch {
        let row = &out[k * 2 * dim..(k + 1) * 2 * dim];
        let mut lp = 0.0;
        for j in 0..dim {
            let raw = row[dim + j];
            let log_std = raw.clamp(LOG_STD_MIN, LOG_STD_MAX);
            let std = log_std.exp();
            let i = k * dim + j;
            let e = s.eps[i];
            let a = (row[j] + std * e).tanh();
            s.action[i] = a;
            s.std[i] = std;
            s.unclamped[i] = (LOG_STD_MIN..=LOG_STD_MAX).contains(&raw);
            // log N(u; μ, σ) − log(1 − tanh²u + 1e-6), SB3's squash correction.
            lp += -0.5 * e * e - log_std - half_ln_2pi - (1.0 - a * a + 1e-6).ln();
        }
        s.log_prob[k] = lp;
    }
    s
}

/// `min(Q₁, Q₂)` at `(x, action)` per sample, and its gradient with respect to the action
/// (through the critic that is smaller; torch.min picks the first on ties).
fn min_q(
    critics: Critics<'_>,
    x: &[f32],
    d: usize,
    action: &[f32],
    dim: usize,
) -> (Vec<f32>, Vec<f32>) {
    let b = action.len() / dim;
    let mut xa = Vec::new();
    concat(x, d, action, dim, &mut xa);
    let Critics { q1, q2, c1, c2 } = critics;
    let v1 = q1.forward(&xa, b, c1).to_vec();
    let v2 = q2.forward(&xa, b, c2).to_vec();
    let mut dq_da = vec![0.0f32; b * dim];
    let mut g_in = vec![0.0f32; b * (d + dim)];
    for (first, q, cache) in [(true, q1, c1), (false, q2, c2)] {
        let sel: Vec<f32> = (0..b)
            .map(|k| f32::from(u8::from((v1[k] <= v2[k]) == first)))
            .collect();
        if sel.iter().all(|&s| s == 0.0) {
            continue;
        }
        q.backward_input(cache, &sel, &mut g_in);
        for k in 0..b {
            for j in 0..dim {
                dq_da[k * dim + j] += g_in[k * (d + dim) + d + j];
            }
        }
    }
    let min_q = v1.iter().zip(&v2).map(|(a, b)| a.min(*b)).collect();
    (min_q, dq_da)
}

/// The critics and their scratch space, for the actor's loss.
struct Critics<'a> {
    q1: &'a Mlp,
    q2: &'a Mlp,
    c1: &'a mut Cache,
    c2: &'a mut Cache,
}

/// The actor loss `mean(α log π(a|s) − min Qᵢ(s, a))` with `a = tanh(μ + σε)` (SAC's
/// reparameterised policy objective), and its gradient added to `grads`. `ca` must hold the
/// actor's forward pass on `x` that produced `pi`.
#[allow(clippy::too_many_arguments)]
fn actor_loss(
    actor: &Mlp,
    ca: &mut Cache,
    pi: &Sample,
    x: &[f32],
    d: usize,
    alpha: f32,
    critics: Critics<'_>,
    grads: &mut [f32],
) -> f32 {
    let dim = pi.std.len() / pi.log_prob.len();
    let b = pi.log_prob.len();
    let (min_q, dq_da) = min_q(critics, x, d, &pi.action, dim);
    let loss = (0..b)
        .map(|k| alpha * pi.log_prob[k] - min_q[k])
        .sum::<f32>()
        / b as f32;
    let mut g_head = vec![0.0f32; b * 2 * dim];
    for k in 0..b {
        for j in 0..dim {
            let i = k * dim + j;
            let a = pi.action[i];
            let one_minus = 1.0 - a * a;
            // ∂/∂u of −ln(1 − tanh²u + 1e-6) and of −Q(tanh u).
            let dlogp_du = 2.0 * a * one_minus / (one_minus + 1e-6);
            let du = (alpha * dlogp_du - dq_da[i] * one_minus) / b as f32;
            g_head[k * 2 * dim + j] = du;
            if pi.unclamped[i] {
                // u = μ + e^{ln σ} ε, and log π has −ln σ.
                g_head[k * 2 * dim + dim + j] = du * pi.std[i] * pi.eps[i] - alpha / b as f32;
            }
        }
    }
    actor.backward(ca, &g_head, grads, None);
    loss
}

/// A batch of policy actions: independent Gaussian noise, or gSDE (with the features it used).
enum Draw {
    Gauss(Sample),
    Sde(SdeDraw, Vec<f32>),
}

impl Draw {
    fn action(&self) -> &[f32] {
        match self {
            Draw::Gauss(s) => &s.action,
            Draw::Sde(d, _) => &d.action,
        }
    }

    fn log_prob(&self) -> &[f32] {
        match self {
            Draw::Gauss(s) => &s.log_prob,
            Draw::Sde(d, _) => &d.log_prob,
        }
    }
}

/// The actor's actions on `x` (its forward pass stays in `cache` for the backward).
fn draw(
    actor: &Mlp,
    cache: &mut Cache,
    x: &[f32],
    dim: usize,
    sde: Option<&Sde>,
    rng: &mut Pcg64Mcg,
) -> Draw {
    let b = x.len() / actor.input_dim();
    let out = actor.forward(x, b, cache);
    match sde {
        None => Draw::Gauss(sample(out, b, dim, rng)),
        Some(sde) => {
            let mu = out.to_vec();
            let phi = cache.last_hidden().to_vec();
            Draw::Sde(sde.draw(&mu, &phi), phi)
        }
    }
}

/// Concatenates observations and actions row by row (the critics' input).
fn concat(obs: &[f32], d: usize, act: &[f32], dim: usize, out: &mut Vec<f32>) {
    out.clear();
    for (o, a) in obs.chunks_exact(d).zip(act.chunks_exact(dim)) {
        out.extend_from_slice(o);
        out.extend_from_slice(a);
    }
}

fn polyak(target: &mut Mlp, source: &Mlp, tau: f32) {
    for (t, s) in target.params.iter_mut().zip(&source.params) {
        *t = (1.0 - tau) * *t + tau * s;
    }
}

/// The networks of one SAC training with their optimisers, the entropy coefficient and the
/// caches of the forward passes the backward passes need.
struct Nets {
    actor: Mlp,
    q1: Mlp,
    q2: Mlp,
    q1_t: Mlp,
    q2_t: Mlp,
    opt_actor: Adam,
    opt_q1: Adam,
    opt_q2: Adam,
    /// gSDE's exploration matrix when `use_sde`, with its optimiser and gradient.
    sde: Option<Sde>,
    opt_sde: Adam,
    g_sde: Vec<f32>,
    log_alpha: [f32; 1],
    opt_alpha: Adam,
    target_entropy: f32,
    /// The rollout's actor pass (gSDE) and the update's actor, next-actor, critic and target
    /// passes.
    c_roll: Cache,
    ca: Cache,
    cn: Cache,
    c1: Cache,
    c2: Cache,
    ct: Cache,
}

impl Nets {
    /// Fresh networks for observations of `d` values and `dim` action dimensions (each with
    /// its own derived seed), their optimisers and targets, and the scratch space that goes
    /// with them.
    fn new(config: &SacConfig, d: usize, dim: usize, seed: u64) -> Result<(Nets, Scratch)> {
        // Independent noise: means then log-stds; gSDE: means (the noise is φ(s)·W).
        let outputs = if config.use_sde { dim } else { 2 * dim };
        let actor = Mlp::new(
            mlp_spec(d, &config.hidden, outputs, Activation::Relu),
            1.0,
            mbtl_env::derive_seed(seed, 3_000_001),
        )?;
        let critic_spec = mlp_spec(d + dim, &config.hidden, 1, Activation::Relu);
        let q1 = Mlp::new(
            critic_spec.clone(),
            1.0,
            mbtl_env::derive_seed(seed, 3_000_002),
        )?;
        let q2 = Mlp::new(critic_spec, 1.0, mbtl_env::derive_seed(seed, 3_000_003))?;
        let latent = config.hidden.last().copied().unwrap_or(d);
        let scratch = Scratch {
            head: vec![0.0; 2 * dim],
            g_actor: vec![0.0; actor.n_params()],
            g_q1: vec![0.0; q1.n_params()],
            g_q2: vec![0.0; q2.n_params()],
            ..Scratch::default()
        };
        let nets = Nets {
            opt_actor: Adam::new(actor.n_params(), config.learning_rate),
            opt_q1: Adam::new(q1.n_params(), config.learning_rate),
            opt_q2: Adam::new(q2.n_params(), config.learning_rate),
            q1_t: q1.clone(),
            q2_t: q2.clone(),
            actor,
            q1,
            q2,
            sde: config
                .use_sde
                .then(|| Sde::new(latent, dim, config.log_std_init, SDE_CLIP_MEAN)),
            opt_sde: Adam::new(latent * dim, config.learning_rate),
            g_sde: vec![0.0; latent * dim],
            log_alpha: [config.ent_coef_init.ln()],
            opt_alpha: Adam::new(1, config.learning_rate),
            target_entropy: config.target_entropy.unwrap_or(-(dim as f32)),
            c_roll: Cache::default(),
            ca: Cache::default(),
            cn: Cache::default(),
            c1: Cache::default(),
            c2: Cache::default(),
            ct: Cache::default(),
        };
        Ok((nets, scratch))
    }
}

/// Scratch space of the collection and update phases.
#[derive(Default)]
struct Scratch {
    forward: Vec<f32>,
    head: Vec<f32>,
    xa: Vec<f32>,
    g_actor: Vec<f32>,
    g_q1: Vec<f32>,
    g_q2: Vec<f32>,
}

fn unit(rng: &mut Pcg64Mcg) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

/// Act: the action in `[−1, 1]` for step `step` (1-based) into `a_unit`: uniform before
/// `learning_starts`, then a sample of the current policy (gSDE draws a new noise matrix when
/// each collection phase starts, as SB3 does).
fn act(
    config: &SacConfig,
    nets: &mut Nets,
    obs: &[f32],
    step: u64,
    rng: &mut Pcg64Mcg,
    scratch: &mut Scratch,
    a_unit: &mut [f32],
) {
    let dim = a_unit.len();
    if step <= config.learning_starts {
        for a in a_unit.iter_mut() {
            *a = 2.0 * unit(rng) - 1.0;
        }
    } else if let Some(sde) = &mut nets.sde {
        if (step - 1).is_multiple_of(config.train_freq) {
            sde.resample(rng);
        }
        let d = draw(&nets.actor, &mut nets.c_roll, obs, dim, Some(sde), rng);
        a_unit.copy_from_slice(d.action());
    } else {
        nets.actor
            .forward_one(obs, &mut scratch.forward, &mut scratch.head);
        let s = sample(&scratch.head, 1, dim, rng);
        a_unit.copy_from_slice(&s.action);
    }
}

/// One gradient step on a sampled batch, in SAC's phases: a policy sample on the batch, the
/// entropy coefficient, the critics against their targets, the actor against the updated
/// critics, and the targets' Polyak average. Returns the actor and critic losses, for the log.
fn gradient_step(
    config: &SacConfig,
    nets: &mut Nets,
    batch: &Batch,
    d: usize,
    dim: usize,
    rng: &mut Pcg64Mcg,
    scratch: &mut Scratch,
) -> (f64, f64) {
    // Policy sample on the batch (kept for the actor update below); gSDE draws one noise
    // matrix per gradient step.
    if let Some(sde) = &mut nets.sde {
        sde.resample(rng);
    }
    let pi = draw(
        &nets.actor,
        &mut nets.ca,
        &batch.obs,
        dim,
        nets.sde.as_ref(),
        rng,
    );
    let alpha = nets.log_alpha[0].exp();
    if config.auto_entropy {
        update_entropy_coef(nets, &pi, config.batch_size);
    }
    let y = critic_targets(config, nets, batch, d, dim, alpha, rng, &mut scratch.xa);
    let critic_loss = update_critics(nets, batch, d, dim, &y, scratch);
    let actor_loss = update_actor(nets, &pi, &batch.obs, d, dim, alpha, &mut scratch.g_actor);
    polyak(&mut nets.q1_t, &nets.q1, config.tau);
    polyak(&mut nets.q2_t, &nets.q2, config.tau);
    (actor_loss, critic_loss)
}

/// One Adam step on ln α against `−ln α · mean(log π + H̄)`, whose derivative is
/// `−mean(log π + H̄)`.
fn update_entropy_coef(nets: &mut Nets, pi: &Draw, b: usize) {
    let g = -pi
        .log_prob()
        .iter()
        .map(|lp| lp + nets.target_entropy)
        .sum::<f32>()
        / b as f32;
    nets.opt_alpha.step(&mut nets.log_alpha, &[g]);
}

/// The critics' targets `r + γ(1 − done)(min Q̄(s', a') − α log π(a'|s'))`, with a fresh
/// policy sample at the next states and the target networks.
#[allow(clippy::too_many_arguments)]
fn critic_targets(
    config: &SacConfig,
    nets: &mut Nets,
    batch: &Batch,
    d: usize,
    dim: usize,
    alpha: f32,
    rng: &mut Pcg64Mcg,
    xa: &mut Vec<f32>,
) -> Vec<f32> {
    let b = config.batch_size;
    let next_pi = draw(
        &nets.actor,
        &mut nets.cn,
        &batch.next,
        dim,
        nets.sde.as_ref(),
        rng,
    );
    concat(&batch.next, d, next_pi.action(), dim, xa);
    let t1 = nets.q1_t.forward(xa, b, &mut nets.ct).to_vec();
    let t2 = nets.q2_t.forward(xa, b, &mut nets.ct);
    (0..b)
        .map(|k| {
            let soft = t1[k].min(t2[k]) - alpha * next_pi.log_prob()[k];
            let done = batch.terminated[k];
            batch.reward[k] + if done { 0.0 } else { config.gamma * soft }
        })
        .collect()
}

/// One Adam step of each critic on `0.5 Σᵢ mean((Qᵢ(s, a) − y)²)`; returns that loss.
fn update_critics(
    nets: &mut Nets,
    batch: &Batch,
    d: usize,
    dim: usize,
    y: &[f32],
    scratch: &mut Scratch,
) -> f64 {
    let b = y.len();
    let xa = &mut scratch.xa;
    concat(&batch.obs, d, &batch.action, dim, xa);
    let mut critic_loss = 0.0;
    for (q, cache, grads, opt) in [
        (
            &mut nets.q1,
            &mut nets.c1,
            &mut scratch.g_q1,
            &mut nets.opt_q1,
        ),
        (
            &mut nets.q2,
            &mut nets.c2,
            &mut scratch.g_q2,
            &mut nets.opt_q2,
        ),
    ] {
        let qv = q.forward(xa, b, cache);
        critic_loss += 0.5
            * qv.iter()
                .zip(y)
                .map(|(q, y)| f64::from(q - y).powi(2))
                .sum::<f64>()
            / b as f64;
        let g: Vec<f32> = qv.iter().zip(y).map(|(q, y)| (q - y) / b as f32).collect();
        grads.fill(0.0);
        q.backward(cache, &g, grads, None);
        opt.step(&mut q.params, grads);
    }
    critic_loss
}

/// One Adam step of the actor (and of gSDE's exploration matrix) on
/// `mean(α log π(a|s) − min Q(s, a))` for the batch's policy sample `pi`, against the
/// freshly updated critics; returns that loss.
fn update_actor(
    nets: &mut Nets,
    pi: &Draw,
    x: &[f32],
    d: usize,
    dim: usize,
    alpha: f32,
    g_actor: &mut [f32],
) -> f64 {
    let b = x.len() / d;
    g_actor.fill(0.0);
    let critics = Critics {
        q1: &nets.q1,
        q2: &nets.q2,
        c1: &mut nets.c1,
        c2: &mut nets.c2,
    };
    let loss = match (pi, &mut nets.sde) {
        (Draw::Gauss(pi), _) => f64::from(actor_loss(
            &nets.actor,
            &mut nets.ca,
            pi,
            x,
            d,
            alpha,
            critics,
            g_actor,
        )),
        (Draw::Sde(dr, phi), Some(sde)) => {
            // mean(α log π − min Q): ∂/∂a = −∂minQ/∂a / B, ∂/∂log π = α / B.
            let (mq, dq_da) = min_q(critics, x, d, &dr.action, dim);
            let loss = (0..b)
                .map(|k| f64::from(alpha * dr.log_prob[k] - mq[k]))
                .sum::<f64>()
                / b as f64;
            let d_action: Vec<f32> = dq_da.iter().map(|g| -g / b as f32).collect();
            nets.g_sde.fill(0.0);
            let g_mu = sde.backward(
                dr,
                phi,
                &d_action,
                &vec![alpha / b as f32; b],
                &mut nets.g_sde,
            );
            nets.actor.backward(&mut nets.ca, &g_mu, g_actor, None);
            nets.opt_sde.step(&mut sde.log_std, &nets.g_sde);
            loss
        }
        (Draw::Sde(..), None) => unreachable!("gSDE draws need gSDE"),
    };
    nets.opt_actor.step(&mut nets.actor.params, g_actor);
    loss
}

/// Trains a squashed-Gaussian policy (gSDE when `use_sde`): every step [`act`]s, stores the
/// transition and, every `train_freq` steps after `learning_starts`, takes `gradient_steps`
/// [`gradient_step`]s on batches from the replay buffer.
impl Train for SacConfig {
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
        let env = context.env();
        let ActionSpace::Continuous { low, high } = env.spec().action_space.clone() else {
            return Err(RlError::ActionSpace {
                algo: "sac",
                env: env.to_string(),
                has: "discrete",
                needs: "continuous",
            });
        };
        let dim = low.len();
        let mut env = training_envs(
            contexts,
            1,
            seed,
            mbtl_env::derive_seed(seed, 3_000_004),
            context_obs,
        )?;
        let d = env.obs_dim();
        let (mut nets, mut scratch) = Nets::new(config, d, dim, seed)?;
        let mut rng = Pcg64Mcg::seed_from_u64(mbtl_env::derive_seed(seed, 3_000_005));

        let cap = config
            .buffer_size
            .min(config.total_timesteps as usize)
            .max(config.batch_size);
        let mut replay = Replay::new(cap, d, dim);
        let mut batch = Batch::default();

        let mut out = env.output();
        env.reset(&mut out);
        let mut log = TrainLog::default();
        let mut recent: Vec<f64> = Vec::new();
        let mut a_unit = vec![0.0f32; dim];
        let mut a_env = vec![0.0f32; dim];
        let (mut actor_l, mut critic_loss) = (0.0f64, 0.0f64);
        let policy = |nets: &Nets, steps: u64| {
            snapshot(
                contexts,
                context_obs,
                config,
                seed,
                steps,
                &nets.actor,
                &nets.q1,
                nets.sde.as_ref().map(|s| s.clip_mean),
                (&low, &high),
            )
        };

        for step in 1..=config.total_timesteps {
            let obs = out.obs.clone();
            act(
                config,
                &mut nets,
                &obs,
                step,
                &mut rng,
                &mut scratch,
                &mut a_unit,
            );
            for j in 0..dim {
                a_env[j] = low[j] + 0.5 * (a_unit[j] + 1.0) * (high[j] - low[j]);
            }
            env.step(BatchActions::Continuous(&a_env), &mut out)?;
            // Stable-Baselines3 calls back after the step, before the phase's updates.
            if monitor.step() {
                monitor.evaluate(policy(&nets, step)?, step)?;
            }
            replay.push_step(&obs, &a_unit, &out);
            recent.extend(out.episodes.iter().map(|e| e.ret));

            if step > config.learning_starts && step % config.train_freq == 0 {
                for _ in 0..config.gradient_steps {
                    replay.sample(config.batch_size, &mut rng, &mut batch);
                    (actor_l, critic_loss) =
                        gradient_step(config, &mut nets, &batch, d, dim, &mut rng, &mut scratch);
                    log.updates += 1;
                }
            }
            log.env_steps = step;
            if !out.episodes.is_empty() {
                log.episodes += out.episodes.len() as u64;
                let tail = &recent[recent.len().saturating_sub(10)..];
                log.recent_return = tail.iter().sum::<f64>() / tail.len() as f64;
                if log.updates > 0 {
                    log.losses = vec![
                        ("actor_loss", actor_l),
                        ("critic_loss", critic_loss),
                        ("ent_coef", f64::from(nets.log_alpha[0].exp())),
                    ];
                }
                monitor.progress(&log);
            }
        }
        policy(&nets, log.env_steps)
    }
}

/// The policy as it stands after `env_steps` steps (`clip_mean`: gSDE's squashed mean).
#[allow(clippy::too_many_arguments)]
fn snapshot(
    contexts: &[Context],
    context_obs: &ContextObs,
    config: &SacConfig,
    seed: u64,
    env_steps: u64,
    actor: &Mlp,
    q1: &Mlp,
    clip_mean: Option<f32>,
    (low, high): (&[f32], &[f32]),
) -> Result<Policy> {
    let mut policy = Policy::trained(
        contexts,
        context_obs,
        "sac",
        config,
        seed,
        env_steps,
        actor.clone(),
        Some(q1.clone()),
    )?;
    let (low, high) = (low.to_vec(), high.to_vec());
    policy.header.continuous = Some(match clip_mean {
        Some(clip_mean) => ContinuousHead::SquashedMean {
            low,
            high,
            clip_mean,
        },
        None => ContinuousHead::Squashed { low, high },
    });
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The actor's gradient (through the squashing, the clamp and the critics' input
    /// gradients) against central finite differences of the loss, at fixed noise.
    #[test]
    #[allow(clippy::needless_range_loop)] // perturbs parameter p in place
    fn actor_gradient_matches_finite_differences() {
        let (d, dim, b) = (3, 2, 5);
        let mut actor = Mlp::new(mlp_spec(d, &[6], 2 * dim, Activation::Relu), 1.0, 1).unwrap();
        let q1 = Mlp::new(mlp_spec(d + dim, &[7], 1, Activation::Tanh), 1.0, 2).unwrap();
        let q2 = Mlp::new(mlp_spec(d + dim, &[7], 1, Activation::Tanh), 1.0, 3).unwrap();
        let x: Vec<f32> = (0..b * d)
            .map(|i| ((i * 7 % 11) as f32 / 5.0) - 1.0)
            .collect();
        let eps: Vec<f32> = (0..b * dim)
            .map(|i| ((i * 5 % 9) as f32 / 4.0) - 1.0)
            .collect();
        let alpha = 0.3;
        let loss_at = |actor: &Mlp, grads: &mut [f32]| {
            let mut ca = Cache::default();
            let pi = squash(actor.forward(&x, b, &mut ca), b, dim, eps.clone());
            let (mut c1, mut c2) = (Cache::default(), Cache::default());
            let critics = Critics {
                q1: &q1,
                q2: &q2,
                c1: &mut c1,
                c2: &mut c2,
            };
            f64::from(actor_loss(
                actor, &mut ca, &pi, &x, d, alpha, critics, grads,
            ))
        };
        let mut grads = vec![0.0f32; actor.n_params()];
        loss_at(&actor, &mut grads);
        let h = 1e-2f32;
        let mut scratch = vec![0.0f32; actor.n_params()];
        for p in 0..actor.n_params() {
            let orig = actor.params[p];
            actor.params[p] = orig + h;
            let up = loss_at(&actor, &mut scratch);
            actor.params[p] = orig - h;
            let down = loss_at(&actor, &mut scratch);
            actor.params[p] = orig;
            let fd = (up - down) / (2.0 * f64::from(h));
            let g = f64::from(grads[p]);
            assert!(
                (fd - g).abs() <= 2e-3 + 2e-2 * fd.abs(),
                "parameter {p}: analytic {g}, finite difference {fd}"
            );
        }
    }
}
