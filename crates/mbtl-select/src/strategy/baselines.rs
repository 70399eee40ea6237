//! Baselines (mbtl-spec §2.6, sdmbtl-spec §3.6): Random, Pseudogreedy, Equidistant and the
//! Sequential (myopic) Oracle. Independent training, Oracle transfer and Multi-task are constant
//! levels, not sequences: see [`crate::metrics`].

use rayon::prelude::*;

use super::{argmax_tol, fast_fold_sum, nearest_task, Fold, History, Strategy, TIE_TOL};
use crate::error::{Result, SelectError};
use crate::matrix::TransferMatrix;
use mbtl_rng::RandomState;

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
            return Err(SelectError::Exhausted {
                strategy: self.name(),
            });
        }
        let i = self.rng.randint(self.remaining.len());
        Ok(self.remaining.remove(i))
    }
}

fn range_1d(h: &History<'_>, who: &str) -> Result<(f64, f64)> {
    if h.space.dim() != 1 {
        return Err(SelectError::OneDimensional {
            strategy: who.into(),
            dims: h.space.dim(),
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
    /// Per candidate: its total `Σ_m Σ_t max(M_m[i, t], best_m[t])` when last computed, and
    /// `Σ_m Σ_t best_m[t]` at that time (the lazy greedy's bound, see [`Self::next`]).
    last: Vec<Option<(f64, f64)>>,
    /// Candidates whose rows are at or below `best` everywhere: their total is `Σ best`
    /// summed in the same order, whatever the row (and stays so, as `best` only grows).
    dominated: Vec<bool>,
}

/// Candidates evaluated together (in parallel) between two checks of the lazy greedy's bound.
const LAZY_CHUNK: usize = 16;

impl SequentialOracle {
    pub fn new(matrices: Vec<TransferMatrix>) -> Result<SequentialOracle> {
        let n = TransferMatrix::common_size(&matrices, "the sequential oracle")?;
        Ok(SequentialOracle {
            best: vec![vec![f64::NEG_INFINITY; n]; matrices.len()],
            last: vec![None; n],
            dominated: vec![false; n],
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

    /// Candidate `i`'s total, and whether its rows are dominated by `best`.
    fn total(&self, i: usize) -> (f64, bool) {
        let total = self
            .matrices
            .iter()
            .zip(&self.best)
            .map(|(m, b)| fast_fold_sum(m.row(i), b, Fold::Max))
            .sum::<f64>();
        let dominated = self
            .matrices
            .iter()
            .zip(&self.best)
            .all(|(m, b)| m.row(i).iter().zip(b).all(|(r, b)| r <= b));
        (total, dominated)
    }

    /// The greedy step: the task with the largest total (ties within [`TIE_TOL`] → lowest
    /// index), found lazily (Minoux's accelerated greedy). A candidate's marginal gain
    /// `Σ max(M − best, 0)` can only shrink as `best` grows, so its total now is at most its
    /// total when last computed plus the growth of `Σ best` since then. Candidates are computed
    /// in decreasing order of that bound until no uncomputed one can come within the tie
    /// tolerance of the best computed total; the rest cannot be chosen. A dominated candidate's
    /// total is the same sum for all of them (computed once). Every total that decides is
    /// computed exactly as the plain greedy computes it, so the choice is identical.
    fn next(&mut self, chosen: &[usize]) -> usize {
        let n = self.matrices[0].n();
        let sum_best: f64 = self.best.iter().flatten().sum();
        let bound = |i: usize| -> f64 {
            match self.last[i] {
                Some((total, then)) if then.is_finite() && sum_best.is_finite() => {
                    // Rounding slack far above the summation error of these sums.
                    let slack = 1e-11 * (total.abs() + then.abs() + sum_best.abs() + 1.0);
                    total - then + sum_best + slack
                }
                _ => f64::INFINITY,
            }
        };
        let mut values = vec![f64::NAN; n];
        let mut max = f64::NEG_INFINITY;
        if self.dominated.iter().any(|&d| d) {
            let floor: f64 = self
                .best
                .iter()
                .map(|b| fast_fold_sum(b, b, Fold::Max))
                .sum();
            for i in (0..n).filter(|&i| self.dominated[i] && !chosen.contains(&i)) {
                values[i] = floor;
                max = floor;
            }
        }
        let mut order: Vec<(usize, f64)> = (0..n)
            .filter(|&i| !chosen.contains(&i) && !self.dominated[i])
            .map(|i| (i, bound(i)))
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut at = 0;
        while at < order.len() {
            if max.is_finite() && order[at].1 < max - TIE_TOL * max.abs() {
                break;
            }
            let end = (at + LAZY_CHUNK).min(order.len());
            let this: &Self = self;
            let totals: Vec<(usize, (f64, bool))> = order[at..end]
                .par_iter()
                .map(|&(i, _)| (i, this.total(i)))
                .collect();
            for (i, (v, dominated)) in totals {
                values[i] = v;
                max = max.max(v);
                self.last[i] = Some((v, sum_best));
                self.dominated[i] = dominated;
            }
            at = end;
        }
        let t = argmax_tol(&values, |i| !chosen.contains(&i), TIE_TOL).unwrap_or(0);
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
            self.last.fill(None);
            self.dominated.fill(false);
        }
        if h.k() >= h.n() {
            return Err(SelectError::Exhausted {
                strategy: self.name(),
            });
        }
        Ok(self.next(h.chosen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain greedy: every candidate's total at every step.
    fn plain_greedy(matrices: &[TransferMatrix], budget: usize) -> Vec<usize> {
        let n = matrices[0].n();
        let mut best = vec![vec![f64::NEG_INFINITY; n]; matrices.len()];
        let mut chosen = Vec::new();
        for _ in 0..budget {
            let totals: Vec<f64> = (0..n)
                .map(|i| {
                    if chosen.contains(&i) {
                        return f64::NAN;
                    }
                    matrices
                        .iter()
                        .zip(&best)
                        .map(|(m, b)| fast_fold_sum(m.row(i), b, Fold::Max))
                        .sum()
                })
                .collect();
            let t = argmax_tol(&totals, |i| !chosen.contains(&i), TIE_TOL).unwrap();
            for (m, b) in matrices.iter().zip(&mut best) {
                for (bv, v) in b.iter_mut().zip(m.row(t)) {
                    *bv = bv.max(*v);
                }
            }
            chosen.push(t);
        }
        chosen
    }

    #[test]
    fn the_lazy_greedy_chooses_what_the_plain_greedy_chooses() {
        let mut rng = RandomState::new(11);
        for case in 0..24 {
            let n = 20 + case;
            let trials = 1 + case % 3;
            // Coarse integer values make exact ties and dominated rows common; smooth ones
            // make near-ties.
            let coarse = case % 2 == 0;
            let matrices: Vec<TransferMatrix> = (0..trials)
                .map(|_| {
                    TransferMatrix::from_fn(n, |s, t| {
                        let base = 1.0 - 0.04 * (s as f64 - t as f64).abs();
                        let noise = rng.uniform(0.0, 1.0);
                        if coarse {
                            (base * 4.0 + noise).floor()
                        } else {
                            base + 0.01 * noise
                        }
                    })
                    .unwrap()
                })
                .collect();
            let lazy = SequentialOracle::new(matrices.clone()).unwrap().order(n);
            assert_eq!(lazy, plain_greedy(&matrices, n), "case {case}");
        }
    }
}
