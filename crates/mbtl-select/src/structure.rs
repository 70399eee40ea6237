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

/// Least squares of `values[i][y]` (row `i` belongs to source `sources[i]`) on
/// `[1, B⁻, B⁺]`, `B = x − y`, solved as `pinv(AᵀA)·Aᵀv` (sdmbtl-spec §2.3, §10.6). The intercept
/// is dropped.
pub fn fit_slopes(space: &TaskSpace, sources: &[usize], values: &[Vec<f64>]) -> Slopes {
    let d = space.dim();
    let p = 1 + 2 * d;
    let mut ata = DMatrix::<f64>::zeros(p, p);
    let mut atv = vec![0.0; p];
    let mut feat = vec![0.0; p];
    for (&s, row) in sources.iter().zip(values) {
        let x = space.coord(s);
        for (t, &v) in row.iter().enumerate() {
            let y = space.coord(t);
            feat[0] = 1.0;
            for k in 0..d {
                let b = x[k] - y[k];
                feat[1 + k] = b.min(0.0);
                feat[1 + d + k] = b.max(0.0);
            }
            for i in 0..p {
                atv[i] += feat[i] * v;
                for j in 0..p {
                    ata[(i, j)] += feat[i] * feat[j];
                }
            }
        }
    }
    let svd = ata.svd(true, true);
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

/// Runs both tests on the revealed rows of `sources`.
pub fn detect(space: &TaskSpace, sources: &[usize], rows: &[Vec<f64>]) -> Detection {
    let n = space.len();
    let k = rows.len();
    let slopes = fit_slopes(space, sources, rows);
    // Centre per target over the trained sources (removes g(y)).
    let mut col_mean = vec![0.0; n];
    for row in rows {
        for (m, v) in col_mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    for m in &mut col_mean {
        *m /= k as f64;
    }
    let centred: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().zip(&col_mean).map(|(v, m)| v - m).collect())
        .collect();
    let diag: Vec<f64> = sources.iter().zip(&centred).map(|(&s, r)| r[s]).collect();
    let s_row = centred.iter().map(|r| pop_std(r)).sum::<f64>() / k as f64;
    let quality_ratio = pop_std(&diag) / s_row;
    let c = fit_slopes(space, sources, &centred);
    let d = space.dim();
    let distance = (0..d)
        .filter(|&i| (c.left[i] > 0.0) ^ (c.right[i] > 0.0))
        .count();
    Detection {
        quality_ratio,
        distance_fraction: distance as f64 / d as f64,
        slopes,
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
        let det = detect(&space, &sources, &rows);
        assert!(det.mountain(), "{det:?}");
    }
}
