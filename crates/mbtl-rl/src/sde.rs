//! Generalized state-dependent exploration (gSDE; Raffin, Kober & Stulp 2022) with a `tanh`
//! squashing, as Stable-Baselines3 builds it for SAC (`full_std`, no `expln`, features not
//! learned through the noise).
//!
//! The exploration noise is `ε(s) = φ(s)·W`, with `φ(s)` the actor's last hidden features and
//! `W ~ N(0, σ²)` a `latent × dim` matrix drawn once and held for many steps, so exploration is
//! smooth in time and in state (what sparse-reward tasks such as MountainCarContinuous need).
//! The action is `a = tanh(u)`, `u = clip(μ(s)) + ε(s)`, and
//! `log π(a|s) = log N(u; μ, φ²·σ² + 1e-6) − Σ log(1 − a² + 1e-6)`.

use rand_pcg::Pcg64Mcg;

use crate::normal;

const HALF_LN_2PI: f32 = 0.918_938_5;

/// The gSDE parameters (`ln σ`, `latent × dim`) and the current noise draw.
#[derive(Debug, Clone)]
pub(crate) struct Sde {
    latent: usize,
    dim: usize,
    pub log_std: Vec<f32>,
    /// Standard-normal draws; `W = e^{ln σ} ∘ z`.
    z: Vec<f32>,
    /// Means are clipped to `[−clip_mean, clip_mean]` before the noise (SB3's hard tanh).
    pub clip_mean: f32,
}

/// One draw for a batch, with what the backward pass needs.
#[derive(Debug, Clone)]
pub(crate) struct SdeDraw {
    /// `batch × dim`, in `[−1, 1]`.
    pub action: Vec<f32>,
    pub log_prob: Vec<f32>,
    noise: Vec<f32>,
    var: Vec<f32>,
    /// The mean was inside its clip (its gradient passes).
    inside: Vec<bool>,
}

impl Sde {
    pub(crate) fn new(latent: usize, dim: usize, log_std_init: f32, clip_mean: f32) -> Sde {
        Sde {
            latent,
            dim,
            log_std: vec![log_std_init; latent * dim],
            z: vec![0.0; latent * dim],
            clip_mean,
        }
    }

    /// Draws a new noise matrix.
    pub(crate) fn resample(&mut self, rng: &mut Pcg64Mcg) {
        for z in &mut self.z {
            *z = normal(rng);
        }
    }

    fn weights(&self) -> Vec<f32> {
        self.log_std
            .iter()
            .zip(&self.z)
            .map(|(ls, z)| ls.exp() * z)
            .collect()
    }

    /// Actions and log-probabilities for means `mu` (`batch × dim`, before the clip) and
    /// features `phi` (`batch × latent`) under the current noise matrix.
    pub(crate) fn draw(&self, mu: &[f32], phi: &[f32]) -> SdeDraw {
        let (l, dim) = (self.latent, self.dim);
        let batch = mu.len() / dim;
        let w = self.weights();
        let sigma2: Vec<f32> = self.log_std.iter().map(|ls| (2.0 * ls).exp()).collect();
        let mut d = SdeDraw {
            action: vec![0.0; batch * dim],
            log_prob: vec![0.0; batch],
            noise: vec![0.0; batch * dim],
            var: vec![0.0; batch * dim],
            inside: vec![true; batch * dim],
        };
        for k in 0..batch {
            let f = &phi[k * l..(k + 1) * l];
            let mut lp = 0.0;
            for j in 0..dim {
                let i = k * dim + j;
                let (mut noise, mut var) = (0.0f32, 1e-6f32);
                for (r, &fr) in f.iter().enumerate() {
                    noise += fr * w[r * dim + j];
                    var += fr * fr * sigma2[r * dim + j];
                }
                let m = mu[i].clamp(-self.clip_mean, self.clip_mean);
                let a = (m + noise).tanh();
                d.action[i] = a;
                d.noise[i] = noise;
                d.var[i] = var;
                d.inside[i] = mu[i] > -self.clip_mean && mu[i] < self.clip_mean;
                lp += -0.5 * noise * noise / var
                    - 0.5 * var.ln()
                    - HALF_LN_2PI
                    - (1.0 - a * a + 1e-6).ln();
            }
            d.log_prob[k] = lp;
        }
        d
    }

    /// Backward of a loss `L(a, log π)` through the draw: given `∂L/∂a` (`batch × dim`) and
    /// `∂L/∂log π` (`batch`), returns `∂L/∂μ` (before the clip) and adds `∂L/∂ln σ` to
    /// `g_log_std`. The features get no gradient (they are not learned through the noise).
    pub(crate) fn backward(
        &self,
        d: &SdeDraw,
        phi: &[f32],
        d_action: &[f32],
        d_log_prob: &[f32],
        g_log_std: &mut [f32],
    ) -> Vec<f32> {
        let (l, dim) = (self.latent, self.dim);
        let batch = d.log_prob.len();
        let w = self.weights();
        let sigma2: Vec<f32> = self.log_std.iter().map(|ls| (2.0 * ls).exp()).collect();
        let mut g_mu = vec![0.0; batch * dim];
        for k in 0..batch {
            let f = &phi[k * l..(k + 1) * l];
            let c = d_log_prob[k];
            for j in 0..dim {
                let i = k * dim + j;
                let a = d.action[i];
                let one_minus = 1.0 - a * a;
                // Through a = tanh(u), and the squash correction −ln(1 − a² + 1e-6).
                let du = d_action[i] * one_minus + c * 2.0 * a * one_minus / (one_minus + 1e-6);
                // The Gaussian density of u around μ does not depend on μ (u − μ is the noise).
                if d.inside[i] {
                    g_mu[i] = du;
                }
                let (noise, var) = (d.noise[i], d.var[i]);
                let du_total = du - c * noise / var;
                let dvar = c * (0.5 * noise * noise / (var * var) - 0.5 / var);
                for (r, &fr) in f.iter().enumerate() {
                    let p = r * dim + j;
                    g_log_std[p] += du_total * fr * w[p] + dvar * 2.0 * fr * fr * sigma2[p];
                }
            }
        }
        g_mu
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    /// `L = Σ c_a·a + Σ c_p·log π` against central finite differences, in the means and in
    /// every `ln σ`, at a fixed noise draw.
    #[test]
    #[allow(clippy::needless_range_loop)] // perturbs one value in place
    fn gradients_match_finite_differences() {
        let (latent, dim, batch) = (4, 2, 3);
        let mut sde = Sde::new(latent, dim, -0.5, 2.0);
        sde.resample(&mut Pcg64Mcg::seed_from_u64(3));
        for (i, v) in sde.log_std.iter_mut().enumerate() {
            *v += 0.1 * i as f32 - 0.3;
        }
        let mu: Vec<f32> = vec![0.3, -0.8, 2.5, 0.1, -0.2, 0.9];
        let phi: Vec<f32> = (0..batch * latent)
            .map(|i| ((i * 5 % 7) as f32) / 4.0 - 0.6)
            .collect();
        let ca: Vec<f32> = (0..batch * dim).map(|i| (i as f32 - 2.0) / 3.0).collect();
        let cp = vec![0.4f32, -0.7, 0.2];
        let loss = |sde: &Sde, mu: &[f32]| -> f64 {
            let d = sde.draw(mu, &phi);
            let a: f64 = d
                .action
                .iter()
                .zip(&ca)
                .map(|(a, c)| f64::from(a * c))
                .sum();
            let p: f64 = d
                .log_prob
                .iter()
                .zip(&cp)
                .map(|(p, c)| f64::from(p * c))
                .sum();
            a + p
        };
        let d = sde.draw(&mu, &phi);
        let mut g_ls = vec![0.0; latent * dim];
        let g_mu = sde.backward(&d, &phi, &ca, &cp, &mut g_ls);
        let h = 1e-3f32;
        let close = |fd: f64, g: f32| (fd - f64::from(g)).abs() <= 2e-3 + 2e-2 * fd.abs();
        for i in 0..mu.len() {
            let (mut up, mut down) = (mu.clone(), mu.clone());
            up[i] += h;
            down[i] -= h;
            let fd = (loss(&sde, &up) - loss(&sde, &down)) / (2.0 * f64::from(h));
            assert!(
                close(fd, g_mu[i]),
                "mean {i}: analytic {}, fd {fd}",
                g_mu[i]
            );
        }
        assert_eq!(g_mu[2], 0.0, "a clipped mean gets no gradient");
        for p in 0..latent * dim {
            let orig = sde.log_std[p];
            sde.log_std[p] = orig + h;
            let up = loss(&sde, &mu);
            sde.log_std[p] = orig - h;
            let down = loss(&sde, &mu);
            sde.log_std[p] = orig;
            let fd = (up - down) / (2.0 * f64::from(h));
            assert!(
                close(fd, g_ls[p]),
                "ln σ {p}: analytic {}, fd {fd}",
                g_ls[p]
            );
        }
    }
}
