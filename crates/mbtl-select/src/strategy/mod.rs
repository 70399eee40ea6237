//! Sequential source-task selection (MBTL §1.4, "SSTS"): one trait for every strategy, and the
//! loop that asks a strategy for a task, reveals that task's transfer row, and records the
//! generalization curve `V_k = mean_y max_{i ≤ k} J[x_i, y]` (MBTL eq. 1).
//!
//! A strategy sees only the rows revealed so far ([`History`]); oracles, which by definition
//! know the whole matrix, receive it at construction and say so in their names.

mod baselines;
mod gp_mbtl;
mod m_mbtl;
mod mbtl_gp;
mod mgp_mbtl;

pub use baselines::{Equidistant, Pseudogreedy, Random, SequentialOracle};
pub use gp_mbtl::GpMbtl;
pub use m_mbtl::{Candidates, MMbtl};
pub use mbtl_gp::{Acquisition, GapModel, GpStep, MbtlGp, MbtlGpOptions};
pub use mgp_mbtl::MgpMbtl;

use serde::Serialize;

use crate::error::{Result, SelectError};
use crate::matrix::TransferMatrix;
use crate::space::TaskSpace;

/// What a strategy may see when it chooses the next task.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    pub space: &'a TaskSpace,
    /// Tasks chosen so far, in order (may repeat if a strategy chose a task twice).
    pub chosen: &'a [usize],
    /// The revealed transfer row of each chosen task, in the same order.
    pub rows: &'a [Vec<f64>],
    /// Per target, the best revealed performance so far (`−∞` before the first step).
    pub best: &'a [f64],
}

impl History<'_> {
    /// Number of tasks trained so far (`k − 1` when choosing the `k`-th).
    pub fn k(&self) -> usize {
        self.chosen.len()
    }

    pub fn n(&self) -> usize {
        self.space.len()
    }

    pub fn is_chosen(&self, task: usize) -> bool {
        self.chosen.contains(&task)
    }
}

/// A sequential selection strategy.
pub trait Strategy: Send {
    /// The name used on the command line and in results.
    fn name(&self) -> String;

    /// Chooses the next source task.
    fn select(&mut self, history: &History<'_>) -> Result<usize>;

    /// Which branch made the last choice, for strategies that switch (M/GP-MBTL).
    fn mode(&self) -> Option<&'static str> {
        None
    }
}

/// Trains a source task and evaluates its policy on every target: the expensive call MBTL
/// economises. A [`TransferMatrix`] replays a precomputed one.
pub trait Evaluator {
    fn n_tasks(&self) -> usize;
    fn evaluate(&mut self, source: usize) -> Result<Vec<f64>>;
}

impl Evaluator for &TransferMatrix {
    fn n_tasks(&self) -> usize {
        self.n()
    }

    fn evaluate(&mut self, source: usize) -> Result<Vec<f64>> {
        Ok(self.row(source).to_vec())
    }
}

/// An evaluator from a closure (bring your own trainer).
pub struct FnEvaluator<F> {
    pub n: usize,
    pub f: F,
}

impl<F: FnMut(usize) -> Result<Vec<f64>>> Evaluator for FnEvaluator<F> {
    fn n_tasks(&self) -> usize {
        self.n
    }

    fn evaluate(&mut self, source: usize) -> Result<Vec<f64>> {
        (self.f)(source)
    }
}

/// The outcome of one selection run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    pub strategy: String,
    /// Task indices in the order chosen.
    pub order: Vec<usize>,
    /// `V_k` for `k = 1..=K`.
    pub curve: Vec<f64>,
    /// Branch per step, for switching strategies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<String>,
}

/// One step of a selection run, as it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step<'a> {
    /// 1-based: the `k`-th task chosen.
    pub k: usize,
    pub task: usize,
    /// `V_k` after this step.
    pub value: f64,
    pub mode: Option<&'a str>,
}

/// Runs `strategy` for `budget` steps. A task chosen twice is not evaluated again.
pub fn run_selection(
    strategy: &mut dyn Strategy,
    evaluator: &mut dyn Evaluator,
    space: &TaskSpace,
    budget: usize,
) -> Result<Selection> {
    run_selection_observed(strategy, evaluator, space, budget, &mut |_| Ok(()))
}

/// [`run_selection`], calling `on_step` after every step (an online run records each step
/// as it is made; an error from `on_step` stops the run).
pub fn run_selection_observed(
    strategy: &mut dyn Strategy,
    evaluator: &mut dyn Evaluator,
    space: &TaskSpace,
    budget: usize,
    on_step: &mut dyn FnMut(&Step<'_>) -> Result<()>,
) -> Result<Selection> {
    let n = evaluator.n_tasks();
    space.check_len(n)?;
    let mut chosen = Vec::with_capacity(budget);
    let mut rows: Vec<Vec<f64>> = Vec::with_capacity(budget);
    let mut best = vec![f64::NEG_INFINITY; n];
    let mut curve = Vec::with_capacity(budget);
    let mut modes = Vec::new();
    for _ in 0..budget {
        let task = strategy.select(&History {
            space,
            chosen: &chosen,
            rows: &rows,
            best: &best,
        })?;
        if task >= n {
            return Err(SelectError::OutOfRange {
                strategy: strategy.name(),
                task,
                tasks: n,
            });
        }
        let row = match chosen.iter().position(|&c| c == task) {
            Some(i) => rows[i].clone(),
            None => {
                let row = evaluator.evaluate(task)?;
                check_row(task, n, &row)?;
                row
            }
        };
        let value = absorb(&mut best, &row);
        curve.push(value);
        chosen.push(task);
        rows.push(row);
        let mode = strategy.mode();
        if let Some(m) = mode {
            modes.push(m.to_string());
        }
        on_step(&Step {
            k: chosen.len(),
            task,
            value,
            mode,
        })?;
    }
    Ok(Selection {
        strategy: strategy.name(),
        order: chosen,
        curve,
        modes,
    })
}

/// Checks a revealed row: one finite value per target.
pub(crate) fn check_row(task: usize, n: usize, row: &[f64]) -> Result<()> {
    // What is wrong with the row is the source: a wrong length or a value that is not finite.
    let wrong = if row.len() == n {
        row.iter()
            .position(|v| !v.is_finite())
            .map(|col| SelectError::NonFinite {
                row: task,
                col,
                value: row[col],
            })
    } else {
        Some(SelectError::Size {
            what: format!("values in the row of source task {task}"),
            expected: n,
            found: row.len(),
        })
    };
    match wrong {
        Some(e) => Err(SelectError::Evaluation {
            task,
            source: Box::new(e),
        }),
        None => Ok(()),
    }
}

/// Folds a revealed row into the per-target best and returns the new `V_k` (their mean).
pub(crate) fn absorb(best: &mut [f64], row: &[f64]) -> f64 {
    for (b, v) in best.iter_mut().zip(row) {
        *b = b.max(*v);
    }
    best.iter().sum::<f64>() / best.len() as f64
}

/// The curve of a fixed order on a known matrix.
pub fn curve_of(matrix: &TransferMatrix, order: &[usize]) -> Vec<f64> {
    let n = matrix.n();
    let mut best = vec![f64::NEG_INFINITY; n];
    order
        .iter()
        .map(|&s| {
            for (b, v) in best.iter_mut().zip(matrix.row(s)) {
                *b = b.max(*v);
            }
            best.iter().sum::<f64>() / n as f64
        })
        .collect()
}

/// First index of the maximum among `allowed` tasks (ties → lowest index; NaN never wins).
pub(crate) fn argmax_allowed(values: &[f64], allowed: impl Fn(usize) -> bool) -> Option<usize> {
    argmax_tol(values, allowed, 0.0)
}

/// Like [`argmax_allowed`], but values within `rel_tol` (relative) of the maximum count as
/// ties. Where exact ties are structural (integer grids, sums of the same terms in another
/// order), rounding noise would otherwise decide them; the tolerance makes "ties → lowest
/// index" hold for them as it does in exact arithmetic.
pub(crate) fn argmax_tol(
    values: &[f64],
    allowed: impl Fn(usize) -> bool,
    rel_tol: f64,
) -> Option<usize> {
    let candidates = || {
        values
            .iter()
            .enumerate()
            .filter(|&(i, v)| allowed(i) && !v.is_nan())
    };
    let max = candidates()
        .map(|(_, &v)| v)
        .fold(f64::NEG_INFINITY, f64::max);
    let floor = if max.is_finite() {
        max - rel_tol * max.abs()
    } else {
        max
    };
    candidates().find(|&(_, &v)| v >= floor).map(|(i, _)| i)
}

/// [`sum_zip4`] for `f(a, b) = max(a, b)` and `f(a, b) = max(0, c + a − b)`, compiled with
/// AVX2 where the CPU has it (same IEEE operations in the same order: identical results).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fold {
    Max,
    PositiveGain(f64),
}

#[inline(always)]
fn fold_sum(a: &[f64], b: &[f64], fold: Fold) -> f64 {
    match fold {
        Fold::Max => sum_zip4(a, b, f64::max),
        Fold::PositiveGain(c) => sum_zip4(a, b, |x, y| (c + x - y).max(0.0)),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fold_sum_avx2(a: &[f64], b: &[f64], fold: Fold) -> f64 {
    fold_sum(a, b, fold)
}

pub(crate) fn fast_fold_sum(a: &[f64], b: &[f64], fold: Fold) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { fold_sum_avx2(a, b, fold) };
    }
    fold_sum(a, b, fold)
}

/// `Σ_j f(a_j, b_j)` with four interleaved accumulators: a fixed summation order on every
/// machine that the compiler keeps in vector registers. The inner loops of the acquisition and
/// of the oracle's greedy gains (N × N per step) use it.
#[inline(always)]
pub(crate) fn sum_zip4(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..4 {
            acc[l] += f(x[l], y[l]);
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ar.iter().zip(br) {
        s += f(*x, *y);
    }
    s
}

/// Relative tolerance for structural ties (see [`argmax_tol`]).
pub(crate) const TIE_TOL: f64 = 1e-9;

/// The task nearest (L1) to a point; ties → lowest index.
pub(crate) fn nearest_task(space: &TaskSpace, point: &[f64]) -> usize {
    let mut best = (0, f64::INFINITY);
    for t in 0..space.len() {
        let d: f64 = space
            .coord(t)
            .iter()
            .zip(point)
            .map(|(a, b)| (a - b).abs())
            .sum();
        if d < best.1 {
            best = (t, d);
        }
    }
    best.0
}
