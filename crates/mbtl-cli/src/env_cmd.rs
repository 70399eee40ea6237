//! `mbtl envs` and `mbtl env conformance`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use mbtl_env::trajectory::{replay, Trajectory};
use mbtl_env::{environments, Semantics};

#[derive(Args)]
pub(crate) struct EnvsArgs {
    /// Context semantics whose feature table to show.
    #[arg(long, default_value = "physical")]
    semantics: Semantics,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub(crate) enum EnvCommand {
    /// Check the simulator against a recorded reference trajectory (manifest.json beside it):
    /// replay its actions, compare every column; exits 0 only on an exact match.
    #[command(alias = "replay")]
    Conformance {
        /// The trajectory CSV (as in crates/mbtl-env/tests/fixtures/reference-trajectories/).
        #[arg(long)]
        trajectory: PathBuf,
    },
}

pub(crate) fn envs(args: &EnvsArgs) -> Result<ExitCode> {
    // Every environment a name finds (built-in, then registered) that offers the semantics.
    let all: Vec<_> = environments()
        .into_iter()
        .filter_map(|e| {
            let table = e.spec().features(args.semantics)?.to_vec();
            Some((e, table))
        })
        .collect();
    if args.json {
        let list: Vec<_> = all
            .iter()
            .map(|(e, table)| {
                let spec = e.spec();
                serde_json::json!({
                    "env": e.name(),
                    "gym_id": e.kind().map(mbtl_env::EnvKind::gym_id),
                    "description": spec.description,
                    "semantics": args.semantics.name(),
                    "max_episode_steps": spec.max_episode_steps,
                    "features": table.iter().map(|f| serde_json::json!({
                        "name": f.name, "default": f.default,
                        "lower": bound(f.lower), "upper": bound(f.upper), "effect": f.effect,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (e, table) in &all {
        let spec = e.spec();
        let space = &spec.action_space;
        println!(
            "{} ({}; {} semantics; obs {}, {} action{} {}; {} steps max)",
            e.name(),
            e.kind().map_or(spec.description.as_str(), |k| k.gym_id()),
            args.semantics,
            spec.obs_dim,
            space.size(),
            if space.size() == 1 { "" } else { "s" },
            if space.is_discrete() {
                "discrete"
            } else {
                "continuous"
            },
            spec.max_episode_steps
        );
        println!(
            "  {:<24} {:>16} {:>18} {:>18}  effect",
            "feature", "default", "lower", "upper"
        );
        for f in table {
            println!(
                "  {:<24} {:>16} {:>18} {:>18}  {}",
                f.name, f.default, f.lower, f.upper, f.effect
            );
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// JSON has no infinity; unbounded sides print as null.
fn bound(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

pub(crate) fn run(command: EnvCommand) -> Result<ExitCode> {
    match command {
        EnvCommand::Conformance { trajectory } => {
            let traj = Trajectory::load(&trajectory)?;
            let report = replay(&traj)?;
            println!(
                "{}: {} ({} steps)",
                trajectory.display(),
                traj.context,
                report.steps
            );
            println!(
                "  {:<12} {:>14} {:>11} {:>10}",
                "column", "max |diff|", "mismatches", "first at"
            );
            for c in &report.columns {
                println!(
                    "  {:<12} {:>14.3e} {:>11} {:>10}",
                    c.column,
                    c.max_abs_diff,
                    c.mismatches,
                    c.first_mismatch_step
                        .map_or("-".to_string(), |s| s.to_string())
                );
            }
            if report.exact() {
                println!("exact match");
                Ok(ExitCode::SUCCESS)
            } else {
                println!("MISMATCH");
                Ok(ExitCode::from(1))
            }
        }
    }
}
