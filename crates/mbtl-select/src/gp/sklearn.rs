//! The scikit-learn recipe MBTL uses (mbtl-spec §2.3): `ConstantKernel(1, (1e-3, 1e3)) *
//! RBF(1, (1e-2, 1e2))`, `alpha = 0.01` on the diagonal, zero prior mean, log-marginal likelihood
//! maximised over `(ln s, ln ℓ)` within the bounds from `(0, 0)` plus `restarts` log-uniform
//! starts; the best optimum wins. The optimiser is a projected BFGS (L-BFGS-B's behaviour on a
//! two-parameter box): same optimum, not the same iterates.

use super::{covariance, sq_dists, Chol, Distances, Hyper, Posterior};
use crate::error::{Result, SelectError};
use mbtl_rng::RandomState;

/// Settings of the MBTL GP.
#[derive(Debug, Clone, PartialEq)]
pub struct SklearnGp {
    pub alpha: f64,
    pub signal_bounds: (f64, f64),
    pub length_bounds: (f64, f64),
    pub restarts: usize,
}

impl Default for SklearnGp {
    fn default() -> Self {
        SklearnGp {
            alpha: 0.01,
            signal_bounds: (1e-3, 1e3),
            length_bounds: (1e-2, 1e2),
            restarts: 9,
        }
    }
}

/// Negative log-marginal likelihood and its gradient in `(ln s, ln ℓ)`.
fn objective(theta: [f64; 2], dist: &Distances, y: &[f64], alpha: f64) -> Option<(f64, [f64; 2])> {
    let n = y.len();
    let (s, l) = (theta[0].exp(), theta[1].exp());
    let kf = dist.kernel(Hyper {
        mean: 0.0,
        signal: s,
        length_scale: l,
        noise: 0.0,
    });
    let d2 = &dist.d2;
    let chol = Chol::new(n, &covariance(&kf, n, alpha))?;
    let a = chol.solve(y);
    let fit: f64 = y.iter().zip(&a).map(|(y, a)| y * a).sum();
    let lml = -0.5 * fit - chol.half_log_det() - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    let kinv = chol.inverse();
    let (mut g_s, mut g_l) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            let w = a[i] * a[j] - kinv[i * n + j];
            g_s += w * kf[i * n + j];
            g_l += w * kf[i * n + j] * d2[i * n + j] / (l * l);
        }
    }
    Some((-lml, [-0.5 * g_s, -0.5 * g_l]))
}

fn project(x: [f64; 2], lo: [f64; 2], hi: [f64; 2]) -> [f64; 2] {
    [x[0].clamp(lo[0], hi[0]), x[1].clamp(lo[1], hi[1])]
}

/// Minimises `f` over the box with projected BFGS and an Armijo backtracking line search.
fn minimise(
    f: &dyn Fn([f64; 2]) -> Option<(f64, [f64; 2])>,
    start: [f64; 2],
    lo: [f64; 2],
    hi: [f64; 2],
) -> Option<([f64; 2], f64)> {
    const PGTOL: f64 = 1e-5;
    const FTOL: f64 = 1e7 * f64::EPSILON; // scipy's factr = 1e7
    let mut x = project(start, lo, hi);
    let (mut fx, mut g) = f(x)?;
    let mut h = [[1.0, 0.0], [0.0, 1.0]];
    for _ in 0..200 {
        let free: [bool; 2] = std::array::from_fn(|i| {
            !((x[i] <= lo[i] && g[i] > 0.0) || (x[i] >= hi[i] && g[i] < 0.0))
        });
        let pg: [f64; 2] = std::array::from_fn(|i| if free[i] { g[i] } else { 0.0 });
        if pg[0].abs().max(pg[1].abs()) < PGTOL {
            break;
        }
        let mut d = [0.0; 2];
        for i in 0..2 {
            if free[i] {
                for j in 0..2 {
                    if free[j] {
                        d[i] -= h[i][j] * g[j];
                    }
                }
            }
        }
        if d[0] * g[0] + d[1] * g[1] >= 0.0 {
            d = [-pg[0], -pg[1]];
            h = [[1.0, 0.0], [0.0, 1.0]];
        }
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let xn = project([x[0] + t * d[0], x[1] + t * d[1]], lo, hi);
            if let Some((fnew, gnew)) = f(xn) {
                let decrease = g[0] * (xn[0] - x[0]) + g[1] * (xn[1] - x[1]);
                if fnew <= fx + 1e-4 * decrease {
                    accepted = Some((xn, fnew, gnew));
                    break;
                }
            }
            t *= 0.5;
        }
        let Some((xn, fnew, gnew)) = accepted else {
            break;
        };
        let s = [xn[0] - x[0], xn[1] - x[1]];
        let yv = [gnew[0] - g[0], gnew[1] - g[1]];
        let sy = s[0] * yv[0] + s[1] * yv[1];
        if sy > 1e-12 {
            // BFGS inverse-Hessian update.
            let hy = [
                h[0][0] * yv[0] + h[0][1] * yv[1],
                h[1][0] * yv[0] + h[1][1] * yv[1],
            ];
            let yhy = yv[0] * hy[0] + yv[1] * hy[1];
            for i in 0..2 {
                for j in 0..2 {
                    h[i][j] +=
                        (sy + yhy) * s[i] * s[j] / (sy * sy) - (hy[i] * s[j] + s[i] * hy[j]) / sy;
                }
            }
        }
        let converged = (fx - fnew) <= FTOL * fx.abs().max(fnew.abs()).max(1.0);
        x = xn;
        fx = fnew;
        g = gnew;
        if converged {
            break;
        }
    }
    Some((x, fx))
}

impl SklearnGp {
    /// Fits on `x` (`n × dim`) and `y`, drawing restart points from `rng` (as scikit-learn draws
    /// them from NumPy's global generator), and conditions the GP on the data.
    pub fn fit(
        &self,
        x: &[f64],
        dim: usize,
        y: &[f64],
        rng: &mut RandomState,
    ) -> Result<Posterior> {
        let d2 = Distances::new(sq_dists(x, x, dim));
        let lo = [self.signal_bounds.0.ln(), self.length_bounds.0.ln()];
        let hi = [self.signal_bounds.1.ln(), self.length_bounds.1.ln()];
        let f = |t: [f64; 2]| objective(t, &d2, y, self.alpha);
        let mut starts = vec![[0.0, 0.0]];
        for _ in 0..self.restarts {
            let a = rng.uniform(lo[0], hi[0]);
            let b = rng.uniform(lo[1], hi[1]);
            starts.push([a, b]);
        }
        let tried = starts.len();
        let optima: Vec<([f64; 2], f64)> = starts
            .into_iter()
            .filter_map(|s| minimise(&f, s, lo, hi))
            .collect();
        let best = optima.iter().map(|o| o.1).fold(f64::INFINITY, f64::min);
        if !best.is_finite() {
            return Err(SelectError::NoGpFit { starts: tried });
        }
        // Restarts that reach the same likelihood (to 1e-9 relative) are equally good fits: the
        // length scale is then unidentified (one training point makes the likelihood flat in
        // ℓ). scikit-learn lets floating-point noise pick among them; we take the smoothest
        // (largest ℓ), which is also what it picked on the reference data.
        let tol = 1e-9 * best.abs().max(1.0);
        let theta = optima
            .iter()
            .filter(|o| o.1 <= best + tol)
            .map(|o| o.0)
            .fold(
                [f64::NEG_INFINITY; 2],
                |a, t| if t[1] > a[1] { t } else { a },
            );
        let hyper = Hyper {
            mean: 0.0,
            signal: theta[0].exp(),
            length_scale: theta[1].exp(),
            noise: self.alpha,
        };
        Posterior::new(hyper, x, dim, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let x: Vec<f64> = vec![0.0, 3.0, 7.0, 8.0, 15.0];
        let y = [0.3, 0.5, 0.45, 0.6, 0.2];
        let d2 = Distances::new(sq_dists(&x, &x, 1));
        for theta in [[0.0, 0.0], [-1.0, 2.0], [1.5, 0.5]] {
            let (_, g) = objective(theta, &d2, &y, 0.01).unwrap();
            for i in 0..2 {
                let h = 1e-6;
                let mut tp = theta;
                tp[i] += h;
                let mut tm = theta;
                tm[i] -= h;
                let fd = (objective(tp, &d2, &y, 0.01).unwrap().0
                    - objective(tm, &d2, &y, 0.01).unwrap().0)
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() < 1e-5 * (1.0 + fd.abs()),
                    "θ={theta:?} i={i}: fd {fd} vs {}",
                    g[i]
                );
            }
        }
    }
}
