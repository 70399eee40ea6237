//! The GPyTorch recipe SD-MBTL uses (sdmbtl-spec §3.3, §10.5): `ConstantMean`,
//! `ScaleKernel(RBFKernel())`, `GaussianLikelihood`; raw parameters start at 0, positive ones
//! through softplus, noise = softplus(raw) + 1e-4; loss = −log p(y)/n; PyTorch Adam (lr 0.1,
//! β = (0.9, 0.999), ε = 1e-8), at most 500 iterations, stopping when the loss changes by less
//! than 1e-5. The raw parameters persist between fits (the authors reuse the model object); each
//! fit starts a fresh optimiser. Predictions include the noise in the standard deviation.

use super::{covariance, sq_dists, Chol, Distances, Hyper, Posterior};
use crate::error::{Result, SelectError};

fn softplus(x: f64) -> f64 {
    if x > 20.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

const NOISE_FLOOR: f64 = 1e-4;

/// A warm-started GPyTorch-style GP.
#[derive(Debug, Clone, PartialEq)]
pub struct GpytorchGp {
    /// Raw parameters: constant mean, outputscale, lengthscale, noise.
    pub raw: [f64; 4],
    pub lr: f64,
    pub max_iter: usize,
    pub tol: f64,
}

impl Default for GpytorchGp {
    fn default() -> Self {
        GpytorchGp {
            raw: [0.0; 4],
            lr: 0.1,
            max_iter: 500,
            tol: 1e-5,
        }
    }
}

impl GpytorchGp {
    pub fn hyper(&self) -> Hyper {
        Hyper {
            mean: self.raw[0],
            signal: softplus(self.raw[1]),
            length_scale: softplus(self.raw[2]),
            noise: softplus(self.raw[3]) + NOISE_FLOOR,
        }
    }

    /// Mean negative log-likelihood and its gradient in the raw parameters; the AVX2 build of
    /// the same code where the CPU has it (IEEE operations only, so identical results).
    fn loss(raw: [f64; 4], d2: &Distances, y: &[f64]) -> Option<(f64, [f64; 4])> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { Self::loss_avx2(raw, d2, y) };
        }
        Self::loss_generic(raw, d2, y)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn loss_avx2(raw: [f64; 4], d2: &Distances, y: &[f64]) -> Option<(f64, [f64; 4])> {
        Self::loss_generic(raw, d2, y)
    }

    #[inline(always)]
    fn loss_generic(raw: [f64; 4], d2: &Distances, y: &[f64]) -> Option<(f64, [f64; 4])> {
        let n = y.len();
        let nf = n as f64;
        let h = GpytorchGp {
            raw,
            ..Default::default()
        }
        .hyper();
        let kf = d2.kernel(h);
        let d2 = &d2.d2;
        let chol = Chol::new(n, &covariance(&kf, n, h.noise))?;
        let r: Vec<f64> = y.iter().map(|v| v - h.mean).collect();
        let a = chol.solve(&r);
        let fit: f64 = r.iter().zip(&a).map(|(r, a)| r * a).sum();
        let nll = 0.5 * fit + chol.half_log_det() + 0.5 * nf * (2.0 * std::f64::consts::PI).ln();
        let kinv = chol.inverse();
        // d nll / dθ = 0.5 tr((K⁻¹ − a aᵀ) dK/dθ), with dK/ds = Kf/s and dK/dℓ = Kf∘D²/ℓ³:
        // the element sums first (four lanes, vectorised), one division each at the end.
        let (mut s_acc, mut l_acc) = ([0.0f64; 4], [0.0f64; 4]);
        let mut g_n = 0.0;
        for i in 0..n {
            let (krow, kfrow, drow) = (
                &kinv[i * n..(i + 1) * n],
                &kf[i * n..(i + 1) * n],
                &d2[i * n..(i + 1) * n],
            );
            for j in 0..n {
                let wk = (krow[j] - a[i] * a[j]) * kfrow[j];
                s_acc[j % 4] += wk;
                l_acc[j % 4] += wk * drow[j];
            }
            g_n += kinv[i * n + i] - a[i] * a[i];
        }
        let g_s = ((s_acc[0] + s_acc[1]) + (s_acc[2] + s_acc[3])) / h.signal;
        let g_l = ((l_acc[0] + l_acc[1]) + (l_acc[2] + l_acc[3])) / h.length_scale.powi(3);
        let g_mean = -a.iter().sum::<f64>();
        let grad = [
            g_mean / nf,
            0.5 * g_s * sigmoid(raw[1]) / nf,
            0.5 * g_l * sigmoid(raw[2]) / nf,
            0.5 * g_n * sigmoid(raw[3]) / nf,
        ];
        Some((nll / nf, grad))
    }

    /// Fits (continuing from the current raw parameters) and conditions on the data.
    pub fn fit(&mut self, x: &[f64], dim: usize, y: &[f64]) -> Result<Posterior> {
        let d2 = Distances::new(sq_dists(x, x, dim));
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let mut m = [0.0; 4];
        let mut v = [0.0; 4];
        let mut prev = f64::INFINITY;
        for t in 1..=self.max_iter {
            let (loss, g) =
                Self::loss(self.raw, &d2, y).ok_or_else(|| SelectError::NotPositiveDefinite {
                    hyper: format!("{:?}", self.hyper()),
                })?;
            if (prev - loss).abs() < self.tol {
                break;
            }
            prev = loss;
            let bc1 = 1.0 - b1.powi(t as i32);
            let bc2 = 1.0 - b2.powi(t as i32);
            for i in 0..4 {
                m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                let denom = (v[i].sqrt() / bc2.sqrt()) + eps;
                self.raw[i] -= self.lr / bc1 * m[i] / denom;
            }
        }
        Posterior::new(self.hyper(), x, dim, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let x = vec![0.0, 0.0, 1.0, 2.0, 3.0, 1.0, 4.0, 4.0];
        let y = [0.5, 0.7, 0.6, 0.9];
        let d2 = Distances::new(sq_dists(&x, &x, 2));
        for raw in [[0.0; 4], [0.3, -0.5, 1.0, -2.0], [0.6, 1.0, 0.2, 0.5]] {
            let (_, g) = GpytorchGp::loss(raw, &d2, &y).unwrap();
            for i in 0..4 {
                let h = 1e-6;
                let mut p = raw;
                p[i] += h;
                let mut q = raw;
                q[i] -= h;
                let fd = (GpytorchGp::loss(p, &d2, &y).unwrap().0
                    - GpytorchGp::loss(q, &d2, &y).unwrap().0)
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                    "raw={raw:?} i={i}: fd {fd} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn fit_lowers_the_loss() {
        let x: Vec<f64> = (0..8).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| (v / 2.0).sin()).collect();
        let d2 = Distances::new(sq_dists(&x, &x, 1));
        let mut gp = GpytorchGp::default();
        let before = GpytorchGp::loss(gp.raw, &d2, &y).unwrap().0;
        gp.fit(&x, 1, &y).unwrap();
        assert!(GpytorchGp::loss(gp.raw, &d2, &y).unwrap().0 < before - 0.1);
    }
}
