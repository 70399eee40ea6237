//! Baselines (mbtl-spec §2.6, sdmbtl-spec §3.6): Random, Pseudogreedy, Equidistant and the
//! Sequential (myopic) Oracle. Independent training, Oracle transfer and Multi-task are constant
//! levels, not sequences: see [`crate::metrics`].

use rayon::prelude::*;

use super::{argmax_tol, fast_fold_sum, nearest_task, Fold, History, Strategy, TIE_TOL};
use crate::error::{Result, SelectError};
use crate::matrix::TransferMatrix;
use crate::numpy_rng::RandomState;

/// Uniformly random tasks without replacement, from an explicit seed, with NumPy's legacy
/// generator so that seeds reproduce the authors' orders: each step is
/// `np.random.choice(remaining)` (SD-MBTL's harness).
#[derive(Debug, Clone)]
pub struct Random {
    seed: u32,
    rng: RandomState,
    remaining: Vec<usize>,
}

impl Random {
    pub fn new(seed: u32) -> Random {
        Random {
            seed,
            rng: RandomState::new(seed),
            remaining: Vec::new(),
        }
    }
}

impl Strategy for Random {
    fn name(&self) -> String {
        format!("random(seed={})", self.seed)
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        if h.k() == 0 {
            self.remaining = (0..h.n()).collect();
        }
        if self.remaining.is_empty() {
            return Err(SelectError::Strategy {
                strategy: self.name(),
                message: "every task has been chosen".into(),
            });
        }
        let i = self.rng.randint(self.remaining.len());
        Ok(self.remaining.remove(i))
    }
}

fn range_1d(h: &History<'_>, who: &str) -> Result<(f64, f64)> {
    if h.space.dim() != 1 {
        return Err(SelectError::Strategy {
            strategy: who.into(),
            message: format!(
                "defined for 1-D task spaces only, this one has {} dimensions",
                h.space.dim()
            ),
        });
    }
    let c = h.space.coords();
    Ok((
        c.iter().copied().fold(f64::INFINITY, f64::min),
        c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    ))
}

/// Temporal-transfer learning's "Pseudogreedy" partition heuristic: split the widest gap
/// between chosen points (and the ends of the range); the leftmost and rightmost gaps are split
/// at one third from the outer end. Uses no performance information; may repeat a task.
#[derive(Debug, Clone, Default)]
pub struct Pseudogreedy;

impl Strategy for Pseudogreedy {
    fn name(&self) -> String {
        "pseudogreedy".into()
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        let (lo, hi) = range_1d(h, "pseudogreedy")?;
        let point = if h.k() == 0 {
            (lo + hi) / 2.0
        } else {
            let mut f: Vec<f64> = vec![lo, hi];
            f.extend(h.chosen.iter().map(|&t| h.space.coord(t)[0]));
            f.sort_by(f64::total_cmp);
            let mut widest = 0;
            for a in 1..f.len() - 1 {
                if f[a + 1] - f[a] > f[widest + 1] - f[widest] {
                    widest = a;
                }
            }
            let (a, b) = (f[widest], f[widest + 1]);
            if widest == 0 {
                (2.0 * a + b) / 3.0
            } else if widest == f.len() - 2 {
                (a + 2.0 * b) / 3.0
            } else {
                (a + b) / 2.0
            }
        };
        Ok(nearest_task(h.space, &[point]))
    }
}

/// "Coarse-to-fine" equidistant points for a budget `K`: the `k`-th is
/// `max − (max − min)/(2K) − (max − min)·k/K`, a descending sweep. Uses no performance.
#[derive(Debug, Clone)]
pub struct Equidistant {
    pub budget: usize,
}

impl Strategy for Equidistant {
    fn name(&self) -> String {
        "equidistant".into()
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        let (lo, hi) = range_1d(h, "equidistant")?;
        let k = h.k() as f64;
        let kk = self.budget.max(1) as f64;
        let point = hi - (hi - lo) / (2.0 * kk) - (hi - lo) * k / kk;
        Ok(nearest_task(h.space, &[point]))
    }
}

/// The Sequential (myopic) Oracle: greedy on the true matrices, each step adding the task that
/// most raises the mean over trials of `V_k`. With one matrix it is MBTL's "Sequential Oracle";
/// with all trial matrices it is SD-MBTL's "Myopic Oracle" (the 1.0 of the aggregated metric).
/// It knows what no online strategy can, hence the name.
#[derive(Debug, Clone)]
pub struct SequentialOracle {
    matrices: Vec<TransferMatrix>,
    best: Vec<Vec<f64>>,
}

impl SequentialOracle {
    pub fn new(matrices: Vec<TransferMatrix>) -> Result<SequentialOracle> {
        let n = matrices
            .first()
            .map(TransferMatrix::n)
            .ok_or_else(|| SelectError::Option("the oracle needs a matrix".into()))?;
        if matrices.iter().any(|m| m.n() != n) {
            return Err(SelectError::Option("oracle matrices differ in size".into()));
        }
        Ok(SequentialOracle {
            best: vec![vec![f64::NEG_INFINITY; n]; matrices.len()],
            matrices,
        })
    }

    /// The full greedy order of length `budget`.
    pub fn order(mut self, budget: usize) -> Vec<usize> {
        let mut chosen = Vec::new();
        for _ in 0..budget.min(self.matrices[0].n()) {
            let t = self.next(&chosen);
            chosen.push(t);
        }
        chosen
    }

    fn next(&mut self, chosen: &[usize]) -> usize {
        let n = self.matrices[0].n();
        let (matrices, best) = (&self.matrices, &self.best);
        let gains: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|i| {
                if chosen.contains(&i) {
                    return f64::NAN;
                }
                matrices
                    .iter()
                    .zip(best)
                    .map(|(m, b)| fast_fold_sum(m.row(i), b, Fold::Max))
                    .sum::<f64>()
            })
            .collect();
        let t = argmax_tol(&gains, |i| !chosen.contains(&i), TIE_TOL).unwrap_or(0);
        for (m, b) in self.matrices.iter().zip(&mut self.best) {
            for (bv, v) in b.iter_mut().zip(m.row(t)) {
                *bv = bv.max(*v);
            }
        }
        t
    }
}

impl Strategy for SequentialOracle {
    fn name(&self) -> String {
        "sequential-oracle".into()
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        if h.k() == 0 {
            for b in &mut self.best {
                b.fill(f64::NEG_INFINITY);
            }
        }
        if h.k() >= h.n() {
            return Err(SelectError::Strategy {
                strategy: self.name(),
                message: "every task has been chosen".into(),
            });
        }
        Ok(self.next(h.chosen))
    }
}
