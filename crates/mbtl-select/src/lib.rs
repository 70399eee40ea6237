//! # mbtl-select
//!
//! Which source tasks to train, given a transfer matrix or a trainer: the selection engine of
//! mbtl, with no dependency on any RL code (bring your own trainer through [`Evaluator`]).
//!
//! * [`TransferMatrix`] — `J[source, target]`, read/written as MBTL CSV or NumPy `.npy`,
//!   normalised per benchmark or globally.
//! * [`TaskSpace`] — task coordinates (1-D index, N-D grid, points).
//! * [`Strategy`] — MBTL-GP ([`MbtlGp`]), GP-MBTL, M-MBTL, M/GP-MBTL and baselines, driven by
//!   [`run_selection`].
//! * [`metrics`] — curves, averages, sample efficiency, the aggregated metric, CIs.
//! * [`synth`] — SD-MBTL's synthetic matrices, bit-exact with NumPy's legacy generator.
//! * [`paper`] — the MBTL paper's digitized curves, for side-by-side tables and figures.

mod error;
pub mod gp;
mod matrix;
pub mod metrics;
pub mod paper;
pub mod replay;
mod session;
mod space;
mod strategy;
pub mod structure;
pub mod synth;
pub mod table;

pub use error::{error_chain, Result, SelectError};
pub use matrix::{NanPolicy, TransferMatrix};
pub use session::{Selector, SelectorState};
pub use space::TaskSpace;
pub use strategy::{
    curve_of, run_selection, run_selection_observed, Acquisition, Candidates, Equidistant,
    Evaluator, FnEvaluator, GapModel, GpMbtl, GpStep, History, MMbtl, MbtlGp, MbtlGpOptions,
    MgpMbtl, Pseudogreedy, Random, Selection, SequentialOracle, Step, Strategy,
};
