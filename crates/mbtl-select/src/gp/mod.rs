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

pub mod gpytorch;
pub mod sklearn;

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

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

/// Squared Euclidean distances between the rows of `a` (`n × dim`) and `b` (`m × dim`).
pub(crate) fn sq_dists(a: &[f64], b: &[f64], dim: usize) -> DMatrix<f64> {
    let (n, m) = (a.len() / dim, b.len() / dim);
    DMatrix::from_fn(n, m, |i, j| {
        let (x, y) = (&a[i * dim..(i + 1) * dim], &b[j * dim..(j + 1) * dim]);
        x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum()
    })
}

/// A GP conditioned on training data.
#[derive(Debug, Clone)]
pub struct Posterior {
    hyper: Hyper,
    dim: usize,
    x: Vec<f64>,
    chol: Cholesky<f64, Dyn>,
    alpha: DVector<f64>,
    /// Log marginal likelihood of the training targets.
    pub log_marginal_likelihood: f64,
}

impl Posterior {
    /// Conditions the GP on `x` (`n × dim`, row-major) and `y`.
    pub fn new(hyper: Hyper, x: &[f64], dim: usize, y: &[f64]) -> Result<Posterior> {
        let n = y.len();
        let d2 = sq_dists(x, x, dim);
        let k = kernel(&d2, hyper) + DMatrix::identity(n, n) * hyper.noise;
        let chol = Cholesky::new(k).ok_or_else(|| {
            SelectError::Numerical(format!(
                "GP covariance is not positive definite ({hyper:?})"
            ))
        })?;
        let resid = DVector::from_iterator(n, y.iter().map(|v| v - hyper.mean));
        let alpha = chol.solve(&resid);
        let log_det_half: f64 = chol.l().diagonal().iter().map(|v| v.ln()).sum();
        let lml = -0.5 * resid.dot(&alpha)
            - log_det_half
            - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
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
        let ks = kernel(&sq_dists(&self.x, points, self.dim), self.hyper); // n × m
        let mean = ks.tr_mul(&self.alpha);
        let v = self
            .chol
            .l()
            .solve_lower_triangular(&ks)
            .expect("Cholesky factor is invertible");
        let m = points.len() / self.dim;
        let extra = if with_noise { self.hyper.noise } else { 0.0 };
        let std = (0..m)
            .map(|j| {
                let var = self.hyper.signal - v.column(j).norm_squared();
                (var.max(0.0) + extra).sqrt()
            })
            .collect();
        (mean.iter().map(|v| v + self.hyper.mean).collect(), std)
    }
}

pub(crate) fn kernel(d2: &DMatrix<f64>, h: Hyper) -> DMatrix<f64> {
    let inv = 1.0 / (2.0 * h.length_scale * h.length_scale);
    d2.map(|d| h.signal * (-d * inv).exp())
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
