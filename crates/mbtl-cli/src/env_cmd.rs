//! `mbtl envs` and `mbtl env replay`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use mbtl_env::trajectory::{replay, Trajectory};
use mbtl_env::{features, EnvKind, Semantics};

#[derive(Args)]
pub struct EnvsArgs {
    /// Context semantics whose feature table to show.
    #[arg(long, default_value = "physical")]
    semantics: Semantics,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum EnvCommand {
    /// Replay a recorded reference trajectory (manifest.json beside it) and compare every column;
    /// exits 0 only on an exact match.
    Replay {
        #[arg(long)]
        trajectory: PathBuf,
    },
}

pub fn envs(args: &EnvsArgs) -> Result<ExitCode> {
    if args.json {
        let list: Vec<_> = EnvKind::ALL
            .iter()
            .map(|&k| {
                serde_json::json!({
                    "env": k.name(),
                    "gym_id": k.gym_id(),
                    "semantics": args.semantics.name(),
                    "max_episode_steps": k.max_episode_steps(),
                    "features": features(k, args.semantics).iter().map(|f| serde_json::json!({
                        "name": f.name, "default": f.default,
                        "lower": bound(f.lower), "upper": bound(f.upper), "effect": f.effect,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    for kind in EnvKind::ALL {
        let space = kind.action_space();
        println!(
            "{} ({}; {} semantics; obs {}, {} action{} {}; {} steps max)",
            kind.name(),
            kind.gym_id(),
            args.semantics,
            kind.obs_dim(),
            space.size(),
            if space.size() == 1 { "" } else { "s" },
            if space.is_discrete() {
                "discrete"
            } else {
                "continuous"
            },
            kind.max_episode_steps()
        );
        println!(
            "  {:<24} {:>16} {:>18} {:>18}  effect",
            "feature", "default", "lower", "upper"
        );
        for f in features(kind, args.semantics) {
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

pub fn run(command: EnvCommand) -> Result<ExitCode> {
    match command {
        EnvCommand::Replay { trajectory } => {
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
