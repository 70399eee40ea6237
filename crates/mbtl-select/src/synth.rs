//! SD-MBTL's synthetic transfer matrices (sdmbtl-spec §4.1):
//!
//! `J[x, y] = b + h(x, y) + f(x) + g(y) + noise·ε[x, y]`, `b = 500`,
//! `h(x, y) = −Σ_d (wl_d·min(x_d − y_d, 0) + wr_d·max(x_d − y_d, 0))`,
//! `f(x) = a_f·Σ_d x_d` ("Linear") or 0 ("Constant"), `g(y) = a_g·Σ_d y_d` or 0 ("None"),
//! over an integer grid; `ε` is one `np.random.seed(trial); normal(0, 1, (N, N))` draw (legacy
//! NumPy, row-major), so noisy matrices match the authors' bits. With `noise = 0` the draw is
//! skipped: adding `0·ε = ±0` changes no sum of non-zero terms, so the matrix is the same.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, SelectError};
use crate::matrix::TransferMatrix;
use crate::space::TaskSpace;
use mbtl_rng::RandomState;

/// The three published families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// 8×8×8 grid, `a_f = 4`, `a_g = 3`.
    D3,
    /// 5⁵ grid, `a_f = 2`, `a_g = 2`.
    D5,
    /// 4⁷ grid, `a_f` unused (f constant only), `a_g = 2`.
    D7,
}

/// Source quality `f(x)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceTerm {
    Constant,
    Linear,
}

/// Target difficulty `g(y)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetTerm {
    None,
    Linear,
}

/// The gap `h(x, y)`: a distance (L1) or one of the non-distance variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapTerm {
    L1,
    /// 3-D `(1,1,−3)`; 7-D `(1,1,1,1,1,−3,−3)`; 5-D "Non-distance 1" `(1,1,1,−3,−3)`.
    NonDistance,
    /// 5-D only, "Non-distance 2" `(1,1,1,1,−3)`.
    NonDistance2,
}

/// One synthetic setting.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    pub family: Family,
    pub f: SourceTerm,
    pub g: TargetTerm,
    pub h: GapTerm,
    pub noise: f64,
}

impl Family {
    pub fn levels(self) -> Vec<usize> {
        match self {
            Family::D3 => vec![8; 3],
            Family::D5 => vec![5; 5],
            Family::D7 => vec![4; 7],
        }
    }

    fn coefficients(self) -> (f64, f64) {
        match self {
            Family::D3 => (4.0, 3.0),
            Family::D5 => (2.0, 2.0),
            Family::D7 => (0.0, 2.0),
        }
    }
}

impl SynthSpec {
    /// The eight 3-D settings of SD-MBTL's tables, in their row order
    /// (f: Constant, Linear × g: Linear, None × h: Non-distance, L1).
    pub fn table_3d(noise: f64) -> Vec<SynthSpec> {
        let mut out = Vec::with_capacity(8);
        for f in [SourceTerm::Constant, SourceTerm::Linear] {
            for g in [TargetTerm::Linear, TargetTerm::None] {
                for h in [GapTerm::NonDistance, GapTerm::L1] {
                    out.push(SynthSpec {
                        family: Family::D3,
                        f,
                        g,
                        h,
                        noise,
                    });
                }
            }
        }
        out
    }

    /// Left slopes `wl` (right slopes are all 3).
    pub fn left_slopes(&self) -> Result<Vec<f64>> {
        let d = self.family.levels().len();
        let (ones, threes) = match (self.h, self.family) {
            (GapTerm::L1, _) => return Ok(vec![-3.0; d]),
            (GapTerm::NonDistance, Family::D3) => (2, 1),
            (GapTerm::NonDistance, Family::D5) => (3, 2),
            (GapTerm::NonDistance, Family::D7) => (5, 2),
            (GapTerm::NonDistance2, Family::D5) => (4, 1),
            (GapTerm::NonDistance2, _) => {
                return Err(SelectError::Invalid {
                    what: "synthetic gap term",
                    value: format!("nd2 with the {:?} family", self.family),
                    expected: "nd2 with the 5-D family only".into(),
                })
            }
        };
        let mut w = vec![1.0; ones];
        w.extend(std::iter::repeat_n(-3.0, threes));
        Ok(w)
    }

    pub fn task_space(&self) -> TaskSpace {
        TaskSpace::grid(&self.family.levels()).expect("published grids are valid")
    }

    /// The raw (unnormalised) matrix of trial `trial`.
    pub fn generate(&self, trial: u32) -> Result<TransferMatrix> {
        if self.family == Family::D7 && self.f == SourceTerm::Linear {
            return Err(SelectError::Invalid {
                what: "synthetic source term",
                value: "linear f with the 7-D family".into(),
                expected: "a constant f with the 7-D family".into(),
            });
        }
        if !self.noise.is_finite() || self.noise < 0.0 {
            return Err(SelectError::Invalid {
                what: "synthetic noise",
                value: self.noise.to_string(),
                expected: "a finite value ≥ 0".into(),
            });
        }
        let wl = self.left_slopes()?;
        let space = self.task_space();
        let dim = space.dim();
        let n = space.len();
        let (a_f, a_g) = self.family.coefficients();
        let a_f = if self.f == SourceTerm::Linear {
            a_f
        } else {
            0.0
        };
        let a_g = if self.g == TargetTerm::Linear {
            a_g
        } else {
            0.0
        };
        let mut rng = RandomState::new(trial);
        let mut data = Vec::with_capacity(n * n);
        for s in 0..n {
            let x = space.coord(s);
            let f: f64 = a_f * x.iter().sum::<f64>();
            for t in 0..n {
                let y = space.coord(t);
                let mut h = 0.0;
                for d in 0..dim {
                    let diff = x[d] - y[d];
                    h -= wl[d] * diff.min(0.0) + 3.0 * diff.max(0.0);
                }
                let g: f64 = a_g * y.iter().sum::<f64>();
                let clean = 500.0 + h + f + g;
                // Without noise the draw would add ±0 (which changes no sum of non-zero terms),
                // so it is skipped: the same matrix, without 5·10⁵ Gaussian draws per trial.
                data.push(if self.noise == 0.0 {
                    clean
                } else {
                    clean + self.noise * rng.standard_normal()
                });
            }
        }
        TransferMatrix::new(n, data)
    }
}

impl fmt::Display for SynthSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fam = match self.family {
            Family::D3 => "3d",
            Family::D5 => "5d",
            Family::D7 => "7d",
        };
        let fs = match self.f {
            SourceTerm::Constant => "constant",
            SourceTerm::Linear => "linear",
        };
        let gs = match self.g {
            TargetTerm::None => "none",
            TargetTerm::Linear => "linear",
        };
        let hs = match self.h {
            GapTerm::L1 => "l1",
            GapTerm::NonDistance => "nd",
            GapTerm::NonDistance2 => "nd2",
        };
        write!(f, "{fam} f={fs} g={gs} h={hs} noise={}", self.noise)
    }
}

macro_rules! parse_enum {
    ($ty:ty, $what:literal, $($text:literal => $val:expr),+) => {
        impl FromStr for $ty {
            type Err = SelectError;
            fn from_str(s: &str) -> Result<Self> {
                match s.to_ascii_lowercase().as_str() {
                    $($text => Ok($val),)+
                    _ => Err(SelectError::Invalid {
                        what: $what,
                        value: s.to_string(),
                        expected: format!("one of {}", [$($text),+].join(", ")),
                    }),
                }
            }
        }
    };
}

parse_enum!(Family, "family", "3d" => Family::D3, "5d" => Family::D5, "7d" => Family::D7);
parse_enum!(SourceTerm, "f", "constant" => SourceTerm::Constant, "linear" => SourceTerm::Linear);
parse_enum!(TargetTerm, "g", "none" => TargetTerm::None, "constant" => TargetTerm::None, "linear" => TargetTerm::Linear);
parse_enum!(GapTerm, "h", "l1" => GapTerm::L1, "nd" => GapTerm::NonDistance, "nd1" => GapTerm::NonDistance, "nd2" => GapTerm::NonDistance2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ranges_match_the_published_statistics() {
        // sdmbtl reference_checks/synthetic3d_noise0_matrix_stats.csv
        let cases = [
            (
                SourceTerm::Constant,
                TargetTerm::Linear,
                GapTerm::NonDistance,
                437.0,
                577.0,
            ),
            (
                SourceTerm::Constant,
                TargetTerm::None,
                GapTerm::L1,
                437.0,
                500.0,
            ),
            (
                SourceTerm::Linear,
                TargetTerm::Linear,
                GapTerm::L1,
                500.0,
                647.0,
            ),
            (
                SourceTerm::Linear,
                TargetTerm::None,
                GapTerm::NonDistance,
                479.0,
                584.0,
            ),
        ];
        for (f, g, h, lo, hi) in cases {
            let spec = SynthSpec {
                family: Family::D3,
                f,
                g,
                h,
                noise: 0.0,
            };
            let m = spec.generate(0).unwrap();
            assert_eq!((m.min(), m.max()), (lo, hi), "{spec}");
        }
    }

    #[test]
    fn noise_is_numpy_seeded_per_trial() {
        let spec = SynthSpec {
            family: Family::D3,
            f: SourceTerm::Constant,
            g: TargetTerm::None,
            h: GapTerm::L1,
            noise: 5.0,
        };
        let a = spec.generate(3).unwrap();
        let clean = SynthSpec {
            noise: 0.0,
            ..spec.clone()
        }
        .generate(3)
        .unwrap();
        let mut rng = RandomState::new(3);
        // np.random.seed(3); 5 * np.random.normal(0, 1, (512, 512))[0, :2]
        for t in 0..2 {
            assert_eq!(a.get(0, t), clean.get(0, t) + 5.0 * rng.standard_normal());
        }
        assert_eq!(a, spec.generate(3).unwrap());
        assert_ne!(a, spec.generate(4).unwrap());
        // Skipping the draw at noise 0 gives what adding 0·ε gives, bit for bit.
        let mut rng = RandomState::new(3);
        for (i, &v) in clean.data().iter().enumerate().take(4096) {
            let with_draw = v + 0.0 * rng.standard_normal();
            assert_eq!(v.to_bits(), with_draw.to_bits(), "entry {i}");
        }
    }
}
