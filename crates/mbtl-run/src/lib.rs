//! # mbtl-run
//!
//! Experiments end to end: a TOML file ([`config`]) says which environment, context space,
//! learner and strategies; [`online`] runs MBTL online (training only the tasks strategies
//! pick) or trains a full transfer matrix; the [`coordinator`] runs each unit of work
//! ([`job`]) once, in a thread or a `mbtl worker` process (optionally started through a
//! launcher such as `srun`), and commits it to the SQLite run [`store`]; [`cluster`] exports a
//! matrix's missing jobs as a Slurm array; [`status`], [`report`] and [`tensorboard`] read the
//! store back.
//!
//! Nothing here decides *which* task to train (that is `mbtl-select`) or *how* to train it
//! (`mbtl-rl`); this crate wires them together and makes the result durable.

pub mod cluster;
pub mod config;
pub mod coordinator;
mod error;
pub mod external;
pub mod fsutil;
pub mod job;
pub mod online;
pub mod plot;
pub mod report;
pub mod status;
pub mod store;
pub mod tensorboard;

// Every type has one public path: its module's, except the crate's error, which every module
// returns and which lives at the root.
pub use error::{Result, RunError};

/// Opens (or creates) the run store of `plan` in `dir` and a coordinator over it.
pub fn coordinator<'a>(
    plan: &'a config::Plan,
    dir: &std::path::Path,
    executor: coordinator::Executor,
    on_event: impl Fn(&coordinator::Event) + Sync + 'a,
) -> Result<coordinator::Coordinator<'a>> {
    let contexts: Vec<String> = plan
        .contexts
        .iter()
        .map(|c| serde_json::to_string(&c.record()).expect("contexts serialise"))
        .collect();
    let store = store::RunStore::open(dir, &plan.experiment, &contexts)?;
    coordinator::Coordinator::new(plan, dir, store, executor, on_event)
}
