//! Replaying strategies over many trial matrices of one setting, as SD-MBTL's harness does
//! (sdmbtl-spec §3.1, §3.6, §5): global min–max normalisation over the trials, every strategy
//! on every trial, the Myopic Oracle greedy on all trials at once, and per-method
//! mean ± 95 % CI of `V_K` (and of the curve average).

use rayon::prelude::*;

use crate::error::Result;
use crate::matrix::TransferMatrix;
use crate::replay::{replay, Harness, ReplayOptions, StrategyName, StrategyResult};
use crate::space::TaskSpace;
use crate::strategy::Candidates;
use crate::synth::SynthSpec;

/// The methods of SD-MBTL's tables, in their column order (the sequential oracle is their
/// "Myopic Oracle", run with SD-MBTL's knowledge of every trial).
pub const TABLE_METHODS: [StrategyName; 5] = [
    StrategyName::Random,
    StrategyName::GpMbtl,
    StrategyName::MMbtl,
    StrategyName::MgpMbtl,
    StrategyName::SequentialOracle,
];

/// A method's name in the published tables.
pub fn label(method: StrategyName) -> &'static str {
    match method {
        StrategyName::Random => "Random",
        StrategyName::GpMbtl => "GP-MBTL",
        StrategyName::MMbtl => "M-MBTL",
        StrategyName::MgpMbtl => "M/GP-MBTL",
        StrategyName::SequentialOracle => "Myopic Oracle",
        other => other.name(),
    }
}

/// Runs `methods` on every (already normalised) trial matrix with budget `budget`, with
/// SD-MBTL's seeds and oracle ([`Harness::SdMbtl`]): [`replay`], the one driver.
pub fn run_trials(
    matrices: &[TransferMatrix],
    space: &TaskSpace,
    budget: usize,
    methods: &[StrategyName],
    candidates: Candidates,
) -> Result<Vec<StrategyResult>> {
    let opts = ReplayOptions {
        budget,
        candidates,
        harness: Harness::SdMbtl,
        ..Default::default()
    };
    replay(matrices, space, methods, &opts)
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
