//! Exact Gaussian-process regression with a scaled RBF kernel
//! `k(x, x') = s·exp(−‖x − x'‖²/(2ℓ²))`, a constant prior mean and Gaussian noise on the
//! diagonal: the set-point model of MBTL (eq. 3's `μ(x)` and `σ(x)`).
//!
//! Two ways of fitting the hyper-parameters, one per paper:
//! * [`sklearn`] — MBTL (NeurIPS 2024): zero mean, fixed noise α, log-marginal likelihood
//!   maximised in log space within bounds by a projected quasi-Newton method from the default
//!   start plus seeded restarts (scikit-learn's `GaussianProcessRegressor` recipe).
//! * [`gpytorch`] — SD-MBTL (AAAI 2026): learned constant mean, outputscale, lengthscale and
//!   noise through softplus, Adam on the mean negative log-likelihood, warm-started.

mod chol;
pub mod gpytorch;
pub mod sklearn;

pub use chol::Chol;

use crate::error::{Result, SelectError};

/// Hyper-parameters of one fitted GP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    /// Prior mean (0 for the scikit-learn recipe).
    pub mean: f64,
    /// Signal variance `s` (scikit-learn's `ConstantKernel` value, GPyTorch's outputscale).
    pub signal: f64,
    pub length_scale: f64,
    /// Variance added to the diagonal of the training covariance.
    pub noise: f64,
}

/// Squared Euclidean distances between the rows of `a` (`n × dim`) and `b` (`m × dim`),
/// row-major `n × m`.
pub(crate) fn sq_dists(a: &[f64], b: &[f64], dim: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() / dim * (b.len() / dim));
    for x in a.chunks_exact(dim) {
        for y in b.chunks_exact(dim) {
            out.push(x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum());
        }
    }
    out
}

/// The kernel part `s·exp(−d²/(2ℓ²))` of a matrix of squared distances.
pub(crate) fn kernel(d2: &[f64], h: Hyper) -> Vec<f64> {
    let inv = 1.0 / (2.0 * h.length_scale * h.length_scale);
    d2.iter().map(|d| h.signal * (-d * inv).exp()).collect()
}

/// Pairwise squared distances of the training inputs, with their distinct values: on grids and
/// index coordinates only a few distinct distances occur, so the kernel needs one `exp` per
/// distinct value instead of one per pair (same inputs to `exp`, same bits).
#[derive(Debug, Clone)]
pub(crate) struct Distances {
    pub(crate) d2: Vec<f64>,
    unique: Vec<f64>,
    index: Vec<u32>,
}

impl Distances {
    pub(crate) fn new(d2: Vec<f64>) -> Distances {
        let mut unique: Vec<f64> = d2.clone();
        unique.sort_by(f64::total_cmp);
        unique.dedup();
        let index = d2
            .iter()
            .map(|v| {
                unique
                    .binary_search_by(|u| u.total_cmp(v))
                    .expect("present") as u32
            })
            .collect();
        Distances { d2, unique, index }
    }

    /// The kernel part `s·exp(−d²/(2ℓ²))` of every pair.
    pub(crate) fn kernel(&self, h: Hyper) -> Vec<f64> {
        let values = kernel(&self.unique, h);
        self.index.iter().map(|&i| values[i as usize]).collect()
    }
}

/// The training covariance `kernel + noise·I`.
pub(crate) fn covariance(kf: &[f64], n: usize, noise: f64) -> Vec<f64> {
    let mut k = kf.to_vec();
    for i in 0..n {
        k[i * n + i] += noise;
    }
    k
}

/// A GP conditioned on training data.
#[derive(Debug, Clone)]
pub struct Posterior {
    hyper: Hyper,
    dim: usize,
    x: Vec<f64>,
    chol: Chol,
    alpha: Vec<f64>,
    /// Log marginal likelihood of the training targets.
    pub log_marginal_likelihood: f64,
}

impl Posterior {
    /// Conditions the GP on `x` (`n × dim`, row-major) and `y`.
    pub fn new(hyper: Hyper, x: &[f64], dim: usize, y: &[f64]) -> Result<Posterior> {
        let n = y.len();
        let k = covariance(&kernel(&sq_dists(x, x, dim), hyper), n, hyper.noise);
        let chol = Chol::new(n, &k).ok_or_else(|| SelectError::NotPositiveDefinite {
            hyper: format!("{hyper:?}"),
        })?;
        let resid: Vec<f64> = y.iter().map(|v| v - hyper.mean).collect();
        let alpha = chol.solve(&resid);
        let fit: f64 = resid.iter().zip(&alpha).map(|(r, a)| r * a).sum();
        let lml =
            -0.5 * fit - chol.half_log_det() - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
        Ok(Posterior {
            hyper,
            dim,
            x: x.to_vec(),
            chol,
            alpha,
            log_marginal_likelihood: lml,
        })
    }

    pub fn hyper(&self) -> Hyper {
        self.hyper
    }

    /// Posterior mean and standard deviation at `points` (`m × dim`). The standard deviation is
    /// of the latent function, plus the observation noise when `with_noise`.
    pub fn predict(&self, points: &[f64], with_noise: bool) -> (Vec<f64>, Vec<f64>) {
        let h = self.hyper;
        let inv = 1.0 / (2.0 * h.length_scale * h.length_scale);
        let extra = if with_noise { h.noise } else { 0.0 };
        let n = self.alpha.len();
        let mut ks = vec![0.0; n];
        let mut mean = Vec::with_capacity(points.len() / self.dim);
        let mut std = Vec::with_capacity(points.len() / self.dim);
        for p in points.chunks_exact(self.dim) {
            for (k, x) in ks.iter_mut().zip(self.x.chunks_exact(self.dim)) {
                let d2: f64 = x.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum();
                *k = h.signal * (-d2 * inv).exp();
            }
            mean.push(h.mean + ks.iter().zip(&self.alpha).map(|(k, a)| k * a).sum::<f64>());
            self.chol.forward(&mut ks);
            let var = h.signal - ks.iter().map(|v| v * v).sum::<f64>();
            std.push((var.max(0.0) + extra).sqrt());
        }
        (mean, std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_with_small_noise_and_reverts_far_away() {
        let x = [0.0, 1.0, 2.0];
        let y = [1.0, 2.0, 0.5];
        let h = Hyper {
            mean: 0.0,
            signal: 1.0,
            length_scale: 1.0,
            noise: 1e-8,
        };
        let p = Posterior::new(h, &x, 1, &y).unwrap();
        let (mu, sd) = p.predict(&[0.0, 1.0, 2.0, 50.0], false);
        for i in 0..3 {
            assert!((mu[i] - y[i]).abs() < 1e-6 && sd[i] < 1e-3);
        }
        assert!(mu[3].abs() < 1e-9 && (sd[3] - 1.0).abs() < 1e-9);
    }
}
