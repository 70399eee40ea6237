//! Replaying strategies over many trial matrices of one setting, as SD-MBTL's harness does
//! (sdmbtl-spec §3.1, §3.6, §5): global min–max normalisation over the trials, every strategy
//! on every trial, the Myopic Oracle greedy on all trials at once, and per-method
//! mean ± 95 % CI of `V_K` (and of the curve average).

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::matrix::TransferMatrix;
use crate::metrics::{average, mean_ci95};
use crate::space::TaskSpace;
use crate::strategy::{
    curve_of, run_selection, Candidates, GpMbtl, MMbtl, MgpMbtl, Random, SequentialOracle, Strategy,
};
use crate::synth::SynthSpec;

/// The methods of SD-MBTL's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    Random,
    GpMbtl,
    MMbtl,
    MgpMbtl,
    MyopicOracle,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Random,
        Method::GpMbtl,
        Method::MMbtl,
        Method::MgpMbtl,
        Method::MyopicOracle,
    ];

    /// The name in the published tables.
    pub fn label(self) -> &'static str {
        match self {
            Method::Random => "Random",
            Method::GpMbtl => "GP-MBTL",
            Method::MMbtl => "M-MBTL",
            Method::MgpMbtl => "M/GP-MBTL",
            Method::MyopicOracle => "Myopic Oracle",
        }
    }

    /// The strategy for trial `t` with the authors' seeds: Random `(t+1)·50`, others `t+1`.
    fn strategy(self, trial: usize, candidates: Candidates) -> Box<dyn Strategy> {
        let seed = trial as u32 + 1;
        match self {
            Method::Random => Box::new(Random::new(seed * 50)),
            Method::GpMbtl => Box::new(GpMbtl::new()),
            Method::MMbtl => Box::new(MMbtl::new(candidates, seed)),
            Method::MgpMbtl => Box::new(MgpMbtl::new(candidates, seed)),
            Method::MyopicOracle => unreachable!("the oracle is not an online strategy"),
        }
    }
}

/// Per-method results over the trials.
#[derive(Debug, Clone, Serialize)]
pub struct MethodResult {
    pub method: Method,
    /// `V_K` of each trial.
    pub final_values: Vec<f64>,
    /// Curve average (AUC variant) of each trial.
    pub averages: Vec<f64>,
    /// Mean curve over trials.
    pub mean_curve: Vec<f64>,
    /// Order chosen on trial 0.
    pub order_trial0: Vec<usize>,
}

impl MethodResult {
    pub fn final_ci(&self) -> (f64, f64) {
        mean_ci95(&self.final_values)
    }

    pub fn average_ci(&self) -> (f64, f64) {
        mean_ci95(&self.averages)
    }
}

/// Runs `methods` on every (already normalised) trial matrix with budget `budget`.
pub fn run_trials(
    matrices: &[TransferMatrix],
    space: &TaskSpace,
    budget: usize,
    methods: &[Method],
    candidates: Candidates,
) -> Result<Vec<MethodResult>> {
    let mut out = Vec::new();
    for &method in methods {
        let curves: Vec<(Vec<f64>, Vec<usize>)> = if method == Method::MyopicOracle {
            let order = SequentialOracle::new(matrices.to_vec())?.order(budget);
            matrices
                .iter()
                .map(|m| (curve_of(m, &order), order.clone()))
                .collect()
        } else {
            matrices
                .par_iter()
                .enumerate()
                .map(|(t, m)| {
                    let mut s = method.strategy(t, candidates);
                    run_selection(s.as_mut(), &mut &*m, space, budget)
                        .map(|sel| (sel.curve, sel.order))
                })
                .collect::<Result<_>>()?
        };
        let k = budget;
        let mean_curve = (0..k)
            .map(|i| curves.iter().map(|c| c.0[i]).sum::<f64>() / curves.len() as f64)
            .collect();
        out.push(MethodResult {
            method,
            final_values: curves.iter().map(|c| c.0[k - 1]).collect(),
            averages: curves.iter().map(|c| average(&c.0)).collect(),
            mean_curve,
            order_trial0: curves[0].1.clone(),
        });
    }
    Ok(out)
}

/// The trial matrices of one synthetic setting as SD-MBTL evaluates them: trials `0..trials`
/// generated (in parallel) and normalised with one global min–max over all of them.
pub fn synthetic_trials(spec: &SynthSpec, trials: u32) -> Result<Vec<TransferMatrix>> {
    let mut matrices: Vec<TransferMatrix> = (0..trials)
        .into_par_iter()
        .map(|t| spec.generate(t))
        .collect::<Result<_>>()?;
    TransferMatrix::normalize_minmax_global(&mut matrices)?;
    Ok(matrices)
}
