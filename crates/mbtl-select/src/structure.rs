//! Structure of a transfer matrix, from its revealed rows (sdmbtl-spec §2.3):
//! the asymmetric per-dimension linear gap regression, and the two tests whose conjunction is
//! SD-MBTL's "Mountain" structure (constant source quality, distance-like gap).

use nalgebra::DMatrix;

use crate::space::TaskSpace;

/// Per-dimension slopes of `J ≈ w0 + Σ_d (wl_d·min(x_d − y_d, 0) + wr_d·max(x_d − y_d, 0))`
/// (source `x`, target `y`); for a distance `−3|Δ|`, `wl = +3` and `wr = −3`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slopes {
    pub left: Vec<f64>,
    pub right: Vec<f64>,
}

impl Slopes {
    /// The additive model term for source `x` on target `y` (negative for a performance drop).
    #[inline]
    pub fn term(&self, x: &[f64], y: &[f64]) -> f64 {
        let mut s = 0.0;
        for d in 0..x.len() {
            let diff = x[d] - y[d];
            s += self.left[d] * diff.min(0.0) + self.right[d] * diff.max(0.0);
        }
        s
    }
}

/// Least squares of revealed rows on `[1, B⁻, B⁺]`, `B = x − y` (source `x`, target `y`),
/// solved as `pinv(AᵀA)·Aᵀv` (sdmbtl-spec §2.3, §10.6); the intercept is dropped. Rows are added
/// once and their Gram matrix and moments kept, so that the per-step refits of GP-MBTL and the
/// structure test cost `O(N)` instead of `O(k·N)`.
#[derive(Debug, Clone)]
pub struct SlopeRegression {
    d: usize,
    k: usize,
    gram: Vec<f64>,
    atv: Vec<f64>,
    /// Per target, the sum over added sources of its design row (for centring).
    feat_sum: Vec<f64>,
    /// Per target, the sum over added sources of the revealed value.
    col_sum: Vec<f64>,
}

impl SlopeRegression {
    pub fn new(space: &TaskSpace) -> SlopeRegression {
        let d = space.dim();
        let p = 1 + 2 * d;
        SlopeRegression {
            d,
            k: 0,
            gram: vec![0.0; p * p],
            atv: vec![0.0; p],
            feat_sum: vec![0.0; space.len() * p],
            col_sum: vec![0.0; space.len()],
        }
    }

    /// Number of rows added.
    pub fn len(&self) -> usize {
        self.k
    }

    pub fn is_empty(&self) -> bool {
        self.k == 0
    }

    /// Adds the revealed row of `source`.
    pub fn add(&mut self, space: &TaskSpace, source: usize, row: &[f64]) {
        let d = self.d;
        let p = 1 + 2 * d;
        let x = space.coord(source);
        // Each design row has at most 1 + d non-zeros (one of B⁻_k, B⁺_k per dimension).
        let mut nz: Vec<(usize, f64)> = Vec::with_capacity(1 + d);
        for (t, &v) in row.iter().enumerate() {
            let y = space.coord(t);
            nz.clear();
            nz.push((0, 1.0));
            for k in 0..d {
                let b = x[k] - y[k];
                if b < 0.0 {
                    nz.push((1 + k, b));
                } else if b > 0.0 {
                    nz.push((1 + d + k, b));
                }
            }
            let fs = &mut self.feat_sum[t * p..(t + 1) * p];
            for &(i, fi) in &nz {
                self.atv[i] += fi * v;
                fs[i] += fi;
                for &(j, fj) in &nz {
                    self.gram[i * p + j] += fi * fj;
                }
            }
            self.col_sum[t] += v;
        }
        self.k += 1;
    }

    fn solve(&self, atv: &[f64]) -> Slopes {
        let d = self.d;
        let p = 1 + 2 * d;
        let gram = DMatrix::from_row_slice(p, p, &self.gram);
        let svd = gram.svd(true, true);
        let max_sv = svd.singular_values.iter().copied().fold(0.0, f64::max);
        let pinv = svd
            .pseudo_inverse(1e-15 * max_sv)
            .unwrap_or_else(|_| DMatrix::zeros(p, p));
        let w: Vec<f64> = (0..p)
            .map(|i| (0..p).map(|j| pinv[(i, j)] * atv[j]).sum())
            .collect();
        Slopes {
            left: w[1..1 + d].to_vec(),
            right: w[1 + d..].to_vec(),
        }
    }

    /// Slopes of the rows as revealed (SD-MBTL's gap model).
    pub fn slopes(&self) -> Slopes {
        self.solve(&self.atv)
    }

    /// Slopes of the rows centred per target over the added sources (removes `g(y)`).
    pub fn centred_slopes(&self) -> Slopes {
        let p = 1 + 2 * self.d;
        let k = self.k.max(1) as f64;
        let mut atv = self.atv.clone();
        for (t, &cs) in self.col_sum.iter().enumerate() {
            let m = cs / k;
            for (a, f) in atv.iter_mut().zip(&self.feat_sum[t * p..(t + 1) * p]) {
                *a -= m * f;
            }
        }
        self.solve(&atv)
    }
}

/// One-off slope fit of `values[i]`, the revealed row of `sources[i]`.
pub fn fit_slopes(space: &TaskSpace, sources: &[usize], values: &[Vec<f64>]) -> Slopes {
    let mut reg = SlopeRegression::new(space);
    for (&s, row) in sources.iter().zip(values) {
        reg.add(space, s, row);
    }
    reg.slopes()
}

/// The outcome of the structure-detection test.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// `s_diag / s_row` (constant source quality iff `< 1`).
    pub quality_ratio: f64,
    /// Fraction of dimensions whose centred slopes have opposite signs (distance-like iff `> 0.5`).
    pub distance_fraction: f64,
    /// Slopes of the uncentred rows (SD-MBTL's gap model).
    pub slopes: Slopes,
}

impl Detection {
    pub fn constant_quality(&self) -> bool {
        self.quality_ratio < 1.0
    }

    pub fn distance_like(&self) -> bool {
        self.distance_fraction > 0.5
    }

    /// Mountain structure: both tests pass.
    pub fn mountain(&self) -> bool {
        self.constant_quality() && self.distance_like()
    }
}

fn pop_std(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt()
}

/// Runs both tests on the revealed rows of `sources`; `regression` holds exactly these rows.
pub fn detect(
    space: &TaskSpace,
    sources: &[usize],
    rows: &[Vec<f64>],
    regression: &SlopeRegression,
) -> Detection {
    let n = space.len();
    let k = rows.len();
    debug_assert_eq!(regression.len(), k);
    let col_mean: Vec<f64> = regression.col_sum.iter().map(|c| c / k as f64).collect();
    debug_assert_eq!(col_mean.len(), n);
    let mut diag = Vec::with_capacity(k);
    let mut s_row = 0.0;
    let mut centred = vec![0.0; n];
    for (&s, row) in sources.iter().zip(rows) {
        for ((c, v), m) in centred.iter_mut().zip(row).zip(&col_mean) {
            *c = v - m;
        }
        diag.push(centred[s]);
        s_row += pop_std(&centred);
    }
    let s_row = s_row / k as f64;
    let quality_ratio = pop_std(&diag) / s_row;
    let c = regression.centred_slopes();
    let d = space.dim();
    let distance = (0..d)
        .filter(|&i| (c.left[i] > 0.0) ^ (c.right[i] > 0.0))
        .count();
    Detection {
        quality_ratio,
        distance_fraction: distance as f64 / d as f64,
        slopes: regression.slopes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_asymmetric_slopes() {
        let space = TaskSpace::grid(&[5, 4]).unwrap();
        let truth = Slopes {
            left: vec![3.0, 1.0],
            right: vec![-3.0, -0.5],
        };
        let sources = [0, 7, 13, 19];
        let rows: Vec<Vec<f64>> = sources
            .iter()
            .map(|&s| {
                (0..space.len())
                    .map(|t| 10.0 + truth.term(space.coord(s), space.coord(t)))
                    .collect()
            })
            .collect();
        let fit = fit_slopes(&space, &sources, &rows);
        for d in 0..2 {
            assert!(
                (fit.left[d] - truth.left[d]).abs() < 1e-9
                    && (fit.right[d] - truth.right[d]).abs() < 1e-9,
                "{fit:?}"
            );
        }
        let mut reg = SlopeRegression::new(&space);
        for (&s, r) in sources.iter().zip(&rows) {
            reg.add(&space, s, r);
        }
        let det = detect(&space, &sources, &rows, &reg);
        assert!(det.mountain(), "{det:?}");
    }
}
