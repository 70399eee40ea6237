//! GP-MBTL as SD-MBTL extends it to N-D contexts (sdmbtl-spec §3.3): the centre of the grid
//! first; then twice the worst-served target; from the fourth step the acquisition
//! `a(x) = mean_y max(0, μ(x) + β_k σ(x) − gap(x, y) − V(y))`, `β_k = √ln k` (k = 1-based step),
//! with a GPyTorch-style GP on the training performances `J[x_i, x_i]` and the learned
//! asymmetric per-dimension gap of [`crate::structure::fit_slopes`]. Ties → lowest index.

use rayon::prelude::*;

use super::{argmax_allowed, nearest_task, History, Strategy};
use crate::error::{Result, SelectError};
use crate::gp::gpytorch::GpytorchGp;
use crate::space::TaskSpace;
use crate::structure::fit_slopes;

/// The GP state of GP-MBTL, shared with M/GP-MBTL.
#[derive(Debug, Clone, Default)]
pub(crate) struct GpModel {
    gp: GpytorchGp,
    /// Rows already processed by [`GpModel::observe`].
    seen: usize,
}

impl GpModel {
    /// Processes newly revealed rows one at a time, training the GP after each when `train`.
    pub(crate) fn observe(&mut self, h: &History<'_>, train: impl Fn(usize) -> bool) -> Result<()> {
        while self.seen < h.k() {
            self.seen += 1;
            if train(self.seen) {
                let (x, y) = training_data(h, self.seen);
                self.gp.fit(&x, h.space.dim(), &y)?;
            }
        }
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
            return argmin_allowed(h.best, |i| !h.is_chosen(i)).ok_or_else(|| exhausted("gp-mbtl"));
        }
        let (x, y) = training_data(h, h.k());
        let post = crate::gp::Posterior::new(self.gp.hyper(), &x, h.space.dim(), &y)?;
        let (mean, std) = post.predict(h.space.coords(), true);
        let slopes = fit_slopes(h.space, h.chosen, h.rows);
        let beta = (step as f64).ln().sqrt();
        let space = h.space;
        let best = h.best;
        let acq: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|i| {
                if h.is_chosen(i) {
                    return f64::NAN;
                }
                let top = mean[i] + beta * std[i];
                let xi = space.coord(i);
                let mut s = 0.0;
                for (j, &b) in best.iter().enumerate() {
                    s += (top + slopes.term(xi, space.coord(j)) - b).max(0.0);
                }
                s / n as f64
            })
            .collect();
        argmax_allowed(&acq, |i| !h.is_chosen(i)).ok_or_else(|| exhausted("gp-mbtl"))
    }
}

fn exhausted(who: &str) -> SelectError {
    SelectError::Strategy {
        strategy: who.into(),
        message: "every task has been chosen".into(),
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

fn argmin_allowed(values: &[f64], allowed: impl Fn(usize) -> bool) -> Option<usize> {
    let neg: Vec<f64> = values.iter().map(|v| -v).collect();
    argmax_allowed(&neg, allowed)
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
}

impl Strategy for GpMbtl {
    fn name(&self) -> String {
        "gp-mbtl".into()
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        if h.k() == 0 {
            self.model = GpModel::default();
        }
        self.model.observe(h, |_| true)?;
        self.model.select(h)
    }
}
