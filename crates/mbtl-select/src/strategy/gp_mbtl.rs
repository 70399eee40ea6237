//! GP-MBTL as SD-MBTL extends it to N-D contexts (sdmbtl-spec §3.3): the centre of the grid
//! first; then twice the worst-served target; from the fourth step the acquisition
//! `a(x) = mean_y max(0, μ(x) + β_k σ(x) − gap(x, y) − V(y))`, `β_k = √ln k` (k = 1-based step),
//! with a GPyTorch-style GP on the training performances `J[x_i, x_i]` and the learned
//! asymmetric per-dimension gap of [`crate::structure::fit_slopes`]. Ties → lowest index.

use rayon::prelude::*;

use super::{
    argmax_allowed, argmax_tol, fast_fold_sum, nearest_task, Fold, History, Strategy, TIE_TOL,
};
use crate::error::{Result, SelectError};
use crate::gp::gpytorch::GpytorchGp;
use crate::space::TaskSpace;
use crate::structure::{fit_slopes, SlopeRegression, Slopes};

/// The GP state of GP-MBTL, shared with M/GP-MBTL.
#[derive(Debug, Clone, Default)]
pub(crate) struct GpModel {
    gp: GpytorchGp,
    /// The gap regression over every revealed row.
    regression: Option<SlopeRegression>,
    /// Preferred tasks among tied worst-served targets (steps 2 and 3).
    tie_preference: Vec<usize>,
    /// Rows already processed by [`GpModel::observe`].
    seen: usize,
}

impl GpModel {
    /// The gap regression over the rows observed so far.
    pub(crate) fn regression(&self) -> Option<&SlopeRegression> {
        self.regression.as_ref()
    }

    /// Processes newly revealed rows one at a time, training the GP after each when `train`.
    pub(crate) fn observe(&mut self, h: &History<'_>, train: impl Fn(usize) -> bool) -> Result<()> {
        while self.seen < h.k() {
            let reg = self
                .regression
                .get_or_insert_with(|| SlopeRegression::new(h.space));
            reg.add(h.space, h.chosen[self.seen], &h.rows[self.seen]);
            self.seen += 1;
            if train(self.seen) {
                let (x, y) = training_data(h, self.seen);
                self.gp.fit(&x, h.space.dim(), &y)?;
            }
        }
        Ok(())
    }

    /// Trains the GP on every row of `h`.
    pub(crate) fn train(&mut self, h: &History<'_>) -> Result<()> {
        let (x, y) = training_data(h, h.k());
        self.gp.fit(&x, h.space.dim(), &y)?;
        Ok(())
    }

    /// The GP-MBTL step for the `h.k() + 1`-th selection.
    pub(crate) fn select(&self, h: &History<'_>) -> Result<usize> {
        let n = h.n();
        let step = h.k() + 1;
        if step == 1 {
            return Ok(grid_centre(h.space));
        }
        if step <= 3 {
            return worst_served(h, &self.tie_preference).ok_or_else(|| exhausted("gp-mbtl"));
        }
        let (x, y) = training_data(h, h.k());
        let post = crate::gp::Posterior::new(self.gp.hyper(), &x, h.space.dim(), &y)?;
        let (mean, std) = post.predict(h.space.coords(), true);
        let slopes = match &self.regression {
            Some(reg) if reg.len() == h.k() => reg.slopes(),
            _ => fit_slopes(h.space, h.chosen, h.rows),
        };
        let beta = (step as f64).ln().sqrt();
        let space = h.space;
        let best = h.best;
        let acq: Vec<f64> = (0..n)
            .into_par_iter()
            .map_init(
                || vec![0.0; n],
                |terms, i| {
                    if h.is_chosen(i) {
                        return f64::NAN;
                    }
                    gap_terms(space, &slopes, i, terms);
                    let top = mean[i] + beta * std[i];
                    let s = fast_fold_sum(terms, best, Fold::PositiveGain(top));
                    s / n as f64
                },
            )
            .collect();
        argmax_allowed(&acq, |i| !h.is_chosen(i)).ok_or_else(|| exhausted("gp-mbtl"))
    }
}

/// `slopes.term(x_i, y)` for every target `y`. On a grid the terms are sums of per-dimension
/// tables, expanded dimension by dimension: one addition per target instead of `2·dim`.
fn gap_terms(space: &TaskSpace, slopes: &Slopes, i: usize, out: &mut [f64]) {
    let x = space.coord(i);
    let Some(levels) = space.levels() else {
        for (t, o) in out.iter_mut().enumerate() {
            *o = slopes.term(x, space.coord(t));
        }
        return;
    };
    let mut len = 1;
    out[0] = 0.0;
    // Expand in place from the back so that earlier partial sums are read before overwritten.
    for (d, &l) in levels.iter().enumerate() {
        let table: Vec<f64> = (0..l)
            .map(|y| {
                let diff = x[d] - y as f64;
                slopes.left[d] * diff.min(0.0) + slopes.right[d] * diff.max(0.0)
            })
            .collect();
        for p in (0..len).rev() {
            let base = out[p];
            for (y, t) in table.iter().enumerate().rev() {
                out[p * l + y] = base + t;
            }
        }
        len *= l;
    }
}

fn exhausted(who: &str) -> SelectError {
    SelectError::Exhausted {
        strategy: who.into(),
    }
}

/// Inputs (chosen contexts) and targets (their own training performance) of the first `k` rows.
fn training_data(h: &History<'_>, k: usize) -> (Vec<f64>, Vec<f64>) {
    let x = h.chosen[..k]
        .iter()
        .flat_map(|&t| h.space.coord(t).to_vec())
        .collect();
    let y = h.chosen[..k]
        .iter()
        .zip(h.rows)
        .map(|(&t, row)| row[t])
        .collect();
    (x, y)
}

/// The task at the per-dimension mean of the space, rounded half to even.
pub(crate) fn grid_centre(space: &TaskSpace) -> usize {
    let n = space.len() as f64;
    let mean: Vec<f64> = (0..space.dim())
        .map(|d| (0..space.len()).map(|t| space.coord(t)[d]).sum::<f64>() / n)
        .map(|v: f64| v.round_ties_even())
        .collect();
    space
        .grid_index(&mean)
        .unwrap_or_else(|| nearest_task(space, &mean))
}

/// The untrained target with the lowest best-so-far performance; ties (the published synthetic
/// matrices have dozens at the minimum) go to the first task of `preference` among them, then
/// to the lowest index. The authors' code takes the first of NumPy's unstable `argsort`, whose
/// order among ties depends on the NumPy build (NumPy 2's AVX-512 sort differs from 1.x).
fn worst_served(h: &History<'_>, preference: &[usize]) -> Option<usize> {
    let neg: Vec<f64> = h.best.iter().map(|v| -v).collect();
    let first = argmax_tol(&neg, |i| !h.is_chosen(i), TIE_TOL)?;
    let floor = h.best[first] + TIE_TOL * h.best[first].abs();
    let tied = |t: usize| t < h.n() && !h.is_chosen(t) && h.best[t] <= floor;
    Some(
        preference
            .iter()
            .copied()
            .find(|&t| tied(t))
            .unwrap_or(first),
    )
}

/// GP-MBTL.
#[derive(Debug, Clone, Default)]
pub struct GpMbtl {
    model: GpModel,
}

impl GpMbtl {
    pub fn new() -> GpMbtl {
        GpMbtl::default()
    }

    /// Among tied worst-served targets (steps 2–3), prefer these tasks, in this order, before
    /// the lowest index: a way to replay another implementation's tie order.
    pub fn with_tie_preference(mut self, tasks: Vec<usize>) -> GpMbtl {
        self.model.tie_preference = tasks;
        self
    }
}

impl Strategy for GpMbtl {
    fn name(&self) -> String {
        "gp-mbtl".into()
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        if h.k() == 0 {
            self.model = GpModel {
                tie_preference: std::mem::take(&mut self.model.tie_preference),
                ..GpModel::default()
            };
        }
        self.model.observe(h, |_| true)?;
        self.model.select(h)
    }
}
