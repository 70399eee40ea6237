//! `mbtl bench traffic`: wall time per episode of mbtl's native intersection simulator (one
//! thread), on the cases the README compares with SUMO: the default context under the
//! fixed-time cycle in the authors' bookkeeping (`scripts/traffic/sumo_check.sh -- --bench`
//! times SUMO on the same episode), the same under the `fixed` semantics the environment
//! trains with, a jam (2 500 cars, one green for ever), and the 50 inflow contexts.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use mbtl_traffic::context::{Feature, TrafficContext, GRID_TASKS};
use mbtl_traffic::episode::{rollout, FixedPolicy, Semantics};
use serde_json::json;

#[derive(Args)]
pub(crate) struct TrafficBenchArgs {
    /// Episodes per measurement of the default context (the jam runs a tenth of them, the
    /// inflow grid one per context).
    #[arg(long, default_value_t = 100)]
    episodes: u32,
    /// Repeats; the fastest is reported (the least disturbed by the rest of the machine).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// One measured case: its contexts, each run for `episodes` episodes from route seed 10000.
struct Case {
    what: &'static str,
    contexts: Vec<TrafficContext>,
    policy: FixedPolicy,
    semantics: Semantics,
    episodes: u32,
}

pub(crate) fn run(args: &TrafficBenchArgs) -> Result<ExitCode> {
    anyhow::ensure!(
        args.episodes > 0 && args.repeats > 0,
        "--episodes and --repeats must be at least 1"
    );
    let default = TrafficContext::default();
    let jam = TrafficContext {
        cars: 2500,
        ..default
    };
    let cases = [
        Case {
            what: "default context, cycle, reference semantics (SUMO's comparison)",
            contexts: vec![default],
            policy: FixedPolicy::Cycle,
            semantics: Semantics::Reference,
            episodes: args.episodes,
        },
        Case {
            what: "default context, cycle, fixed semantics (training's)",
            contexts: vec![default],
            policy: FixedPolicy::Cycle,
            semantics: Semantics::Fixed,
            episodes: args.episodes,
        },
        Case {
            what: "jam: 2500 cars, constant:0",
            contexts: vec![jam],
            policy: FixedPolicy::Constant(0),
            semantics: Semantics::Fixed,
            episodes: args.episodes.div_ceil(10),
        },
        Case {
            what: "inflow grid: 50..2500 cars, cycle, one episode each",
            contexts: (0..GRID_TASKS)
                .map(|i| TrafficContext::grid(Feature::Inflow, i))
                .collect(),
            policy: FixedPolicy::Cycle,
            semantics: Semantics::Fixed,
            episodes: 1,
        },
    ];
    if !args.json {
        println!(
            "{:<66} {:>9} {:>13} {:>16}",
            "case", "episodes", "ms / episode", "vehicle-steps/s"
        );
    }
    for case in &cases {
        let mut best: Option<(f64, u64)> = None;
        for _ in 0..args.repeats {
            let started = Instant::now();
            let mut vehicle_steps = 0;
            for ctx in &case.contexts {
                let episodes = rollout(ctx, case.policy, 10_000, case.episodes, case.semantics, 0)?;
                vehicle_steps += episodes.iter().map(|m| m.vehicle_steps).sum::<u64>();
            }
            let wall = started.elapsed().as_secs_f64();
            if best.is_none_or(|(w, _)| wall < w) {
                best = Some((wall, vehicle_steps));
            }
        }
        let (wall, vehicle_steps) = best.expect("at least one repeat");
        let n = case.episodes as usize * case.contexts.len();
        let per_episode = wall / n as f64;
        let rate = vehicle_steps as f64 / wall;
        if args.json {
            println!(
                "{}",
                json!({
                    "case": case.what,
                    "episodes": n,
                    "seconds_per_episode": per_episode,
                    "vehicle_steps_per_second": rate,
                })
            );
        } else {
            println!(
                "{:<66} {n:>9} {:>13.3} {:>16.0}",
                case.what,
                per_episode * 1e3,
                rate
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
