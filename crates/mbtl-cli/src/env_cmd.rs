//! `mbtl envs`, `mbtl env conformance` and `mbtl env rollout`.

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
    /// Episodes of a fixed policy and their metrics. So far for `traffic-signal` (mbtl's
    /// native simulator of the MBTL intersection): per episode the authors' averages
    /// (avg_reward, avg_waiting, ...) and the vehicle counts.
    Rollout(RolloutArgs),
}

#[derive(Args)]
pub(crate) struct RolloutArgs {
    /// The environment.
    #[arg(long, default_value = "traffic-signal")]
    env: String,
    /// The context as KEY=VALUE,...: cars (vehicles per episode), speed (m/s), length (m);
    /// keys left out keep the authors' defaults (1000, 14, 750).
    #[arg(long, default_value = "")]
    context: String,
    /// cycle (a → a+1 mod 4 every decision), random[:SEED] (NumPy's randint(0, 4) stream) or
    /// constant:A.
    #[arg(long, default_value = "cycle")]
    policy: mbtl_traffic::episode::FixedPolicy,
    /// Route seed of the first episode; episode e uses SEED + e (the authors' transfer
    /// evaluation: 10000).
    #[arg(long, default_value_t = 10_000)]
    seed: u32,
    /// Episodes.
    #[arg(long, default_value_t = 1)]
    episodes: u32,
    /// reference: the authors' bookkeeping (stale waiting records, every vehicle's last
    /// speed, sums over 5400 steps); fixed: the quirks fixed.
    #[arg(long, default_value = "fixed")]
    semantics: String,
    /// Also write the episodes as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
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
                let mut entry = serde_json::json!({
                    "env": e.name(),
                    "gym_id": e.kind().map(mbtl_env::EnvKind::gym_id),
                    "description": spec.description,
                    "semantics": args.semantics.name(),
                    "max_episode_steps": spec.max_episode_steps,
                    "features": table.iter().map(|f| serde_json::json!({
                        "name": f.name, "default": f.default,
                        "lower": bound(f.lower), "upper": bound(f.upper), "effect": f.effect,
                    })).collect::<Vec<_>>(),
                });
                if let Some(score) = &spec.score {
                    entry["score"] = score.as_str().into();
                }
                entry
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
        if let Some(score) = &spec.score {
            println!("  episodes score {score}");
        }
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

fn rollout(args: &RolloutArgs) -> Result<ExitCode> {
    use mbtl_traffic::episode::{rollout, Semantics as TrafficSemantics};
    if args.env != "traffic-signal" {
        anyhow::bail!(
            "--env {}: rollout is implemented for traffic-signal only so far",
            args.env
        );
    }
    let semantics = match args.semantics.as_str() {
        "reference" => TrafficSemantics::Reference,
        "fixed" => TrafficSemantics::Fixed,
        other => anyhow::bail!("--semantics {other}: traffic-signal has reference and fixed"),
    };
    let ctx = mbtl_traffic::context::TrafficContext::parse(&args.context)?;
    let started = std::time::Instant::now();
    let episodes = rollout(&ctx, args.policy, args.seed, args.episodes, semantics, 0)?;
    let wall = started.elapsed().as_secs_f64();
    println!(
        "traffic-signal: {} cars, speed {} m/s, arms {} m; policy {}; {} semantics; {:.3} s",
        ctx.cars, ctx.speed_limit, ctx.arm_length, args.policy, args.semantics, wall
    );
    println!(
        "{:>7} {:>10} {:>11} {:>9} {:>11} {:>10} {:>9} {:>8} {:>7} {:>13}",
        "seed",
        "reward",
        "waiting",
        "speed",
        "current",
        "passed",
        "decisions",
        "inserted",
        "arrived",
        "vehicle-steps"
    );
    for (e, m) in episodes.iter().enumerate() {
        println!(
            "{:>7} {:>10.4} {:>11.4} {:>9.4} {:>11.4} {:>10.4} {:>9} {:>8} {:>7} {:>13}",
            args.seed as usize + e,
            m.avg_reward,
            m.avg_waiting,
            m.avg_average_speed,
            m.avg_current_veh,
            m.avg_passed_veh,
            m.decisions,
            m.inserted,
            m.arrived,
            m.vehicle_steps
        );
    }
    if let Some(path) = &args.json {
        let list: Vec<_> = episodes
            .iter()
            .enumerate()
            .map(|(e, m)| {
                serde_json::json!({
                    "seed": args.seed as usize + e,
                    "avg_reward": m.avg_reward,
                    "avg_waiting": m.avg_waiting,
                    "avg_average_speed": m.avg_average_speed,
                    "avg_current_veh": m.avg_current_veh,
                    "avg_passed_veh": m.avg_passed_veh,
                    "decisions": m.decisions,
                    "inserted": m.inserted,
                    "arrived": m.arrived,
                    "vehicle_steps": m.vehicle_steps,
                    "mean_vehicle_waiting": m.mean_vehicle_waiting,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "env": "traffic-signal",
            "context": { "cars": ctx.cars, "speed": ctx.speed_limit, "length": ctx.arm_length },
            "policy": args.policy.to_string(),
            "semantics": args.semantics,
            "wall_seconds": wall,
            "episodes": list,
        });
        mbtl_fs::write_durable(path, serde_json::to_string_pretty(&doc)?.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(command: EnvCommand) -> Result<ExitCode> {
    match command {
        EnvCommand::Rollout(args) => rollout(&args),
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
