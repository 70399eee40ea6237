//! Traffic-signal control on the single intersection of MBTL's traffic benchmark (Cho et al.,
//! NeurIPS 2024, §5; `traffic-signal-spec.md`): the authors simulate it in SUMO, and every fact
//! this crate encodes about the scenario is written down there with its source.
//!
//! The crate is plain data and pure functions, one concept per module, so that further
//! scenarios of the paper (eco-driving, advisory autonomy) fit beside this one:
//!
//! * [`network`]: the 4-arm, 4-lanes-per-arm intersection as a function of the arm length and
//!   the speed limit (lanes, movements, link indices, internal lanes);
//! * [`signal`]: the 8-phase program and the RL actions that pick its green phases;
//! * [`demand`]: the vehicles of an episode (departure times and routes), bit for bit the
//!   authors' route files, and those files written for SUMO;
//! * [`state`]: the 80-cell occupancy state the authors' DQN observes;
//! * [`context`]: the three contexts (inflow, speed limit, arm length) and their 50-task grids;
//! * [`sim`]: mbtl's native microsimulation (Krauss car-following, signal, insertion, lanes);
//! * [`episode`]: the authors' decision loop, reward and episode metrics, with their quirks
//!   under the reference semantics and fixed under the default one;
//! * [`env`]: all of it as the mbtl environment `traffic-signal` (one step per decision).

pub mod context;
pub mod demand;
pub mod env;
pub mod episode;
pub mod network;
pub mod signal;
pub mod sim;
pub mod state;

/// Errors of the traffic crate: a context or a demand that the scenario cannot take.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    /// A context value outside what the scenario defines.
    #[error("{name} = {value}: {requirement}")]
    Context {
        name: &'static str,
        value: f64,
        requirement: &'static str,
    },
    /// A `KEY=VALUE` pair of a context that does not read.
    #[error("context '{pair}': {reason}")]
    ContextSyntax { pair: String, reason: &'static str },
}

/// One simulation step of SUMO's default step length (the authors never change it), in
/// seconds.
pub const STEP_SECONDS: f64 = 1.0;
/// Steps per episode (`max_steps` in every settings file of the authors).
pub const EPISODE_STEPS: u32 = 5400;
