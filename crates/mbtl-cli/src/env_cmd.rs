//! `mbtl envs`, `mbtl env conformance` and `mbtl env rollout`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use mbtl_env::trajectory::{replay, Trajectory};
use mbtl_env::{environments, parse_overrides, Context, ContextObs, EnvRef, Semantics};
use mbtl_rl::eval::episodes;
use mbtl_rl::policy::Policy;
use mbtl_traffic::episode::FixedPolicy;
use mbtl_traffic::sim::{Junction, Rules};

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
    /// Episodes of a policy and their metrics: for `traffic-signal` (mbtl's native simulator of
    /// the MBTL intersection) the authors' per-episode averages (avg_reward, avg_waiting, ...)
    /// and vehicle counts, under a fixed policy or a trained one; for any other environment a
    /// trained policy's return, score and length per episode.
    Rollout(RolloutArgs),
}

#[derive(Args)]
pub(crate) struct RolloutArgs {
    /// The environment.
    #[arg(long, default_value = "traffic-signal")]
    env: String,
    /// The context as KEY=VALUE,...: for traffic-signal cars (vehicles per episode), speed
    /// (m/s), length (m), keys left out keeping the authors' defaults (1000, 14, 750); for
    /// other environments overrides of the policy's training context.
    #[arg(long, default_value = "")]
    context: String,
    /// A policy folder written by `mbtl train` or `mbtl matrix` (or the policy file itself),
    /// or, for traffic-signal, a fixed policy: cycle (a → a+1 mod 4 every decision),
    /// random[:SEED] (NumPy's randint(0, 4) stream) or constant:A.
    #[arg(long, default_value = "cycle")]
    policy: String,
    /// traffic-signal: route seed of the first episode, episode e using SEED + e (the authors'
    /// transfer evaluation: 10000). Other environments: the seed of the episodes' initial
    /// states, as `mbtl eval --seed`.
    #[arg(long, default_value_t = 10_000)]
    seed: u32,
    /// Episodes.
    #[arg(long, default_value_t = 1)]
    episodes: u32,
    /// traffic-signal only: reference (the authors' bookkeeping: stale waiting records, every
    /// vehicle's last speed, sums over 5400 steps) or fixed (the quirks fixed).
    #[arg(long, default_value = "fixed")]
    semantics: String,
    /// The episodes as one JSON document (environment, context, policy, wall time, one object
    /// per episode) instead of the table: printed, as `eval --json` and `replay --json` do,
    /// or with a FILE written there (durably; checked before any episode runs).
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    json: Option<Option<PathBuf>>,
    /// traffic-signal only: the simulator: native (mbtl's own) or sumo (SUMO itself over
    /// TraCI: the network built by its netconvert, the same route files, the same decision
    /// loop and bookkeeping), so a policy's metrics can be checked in the authors' simulator.
    #[arg(long, value_enum, default_value_t = Backend::Native)]
    backend: Backend,
    /// With --backend sumo: the sumo binary (default: $SUMO_HOME/bin/sumo, else sumo on
    /// PATH); netconvert is taken beside it.
    #[arg(long, value_name = "PATH")]
    sumo: Option<PathBuf>,
    /// traffic-signal's native simulator only: what a car does when its way crosses a foe's
    /// still in the junction: open (drives on, as every result so far), yield (a green car
    /// waits for it) or priority (cars give way inside the box as SUMO's were measured to, and
    /// the box can lock, as SUMO's does at low speed limits); README "Traffic-signal control".
    #[arg(long, default_value = "open")]
    junction: Junction,
    /// traffic-signal's native simulator only: SUMO's keep-right lane changes (a car moves one
    /// lane right after 6 s in which that lane promised full speed), off in every result so
    /// far; README "Traffic-signal control".
    #[arg(long)]
    keep_right: bool,
}

/// The simulator of a traffic-signal rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    Native,
    Sumo,
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

/// The policy of a rollout: a trained one from a file, or one of the traffic signal's fixed
/// ones.
enum RolloutPolicy {
    Trained(Box<Policy>),
    Fixed(FixedPolicy),
}

impl RolloutPolicy {
    fn parse(text: &str) -> Result<RolloutPolicy> {
        let path = std::path::Path::new(text);
        if path.exists() {
            let (_, policy) = crate::rl_cmd::load_policy(path)?;
            return Ok(RolloutPolicy::Trained(Box::new(policy)));
        }
        text.parse().map(RolloutPolicy::Fixed).map_err(|e: String| {
            anyhow::anyhow!("--policy {text}: no such policy file or folder, and {e}")
        })
    }
}

/// Where `--json` sends the document: standard output, or a file whose folder must exist.
fn json_target(args: &RolloutArgs) -> Result<Option<Option<&std::path::Path>>> {
    let Some(target) = &args.json else {
        return Ok(None);
    };
    let Some(path) = target else {
        return Ok(Some(None));
    };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if path.is_dir() {
        anyhow::bail!("--json {}: is a folder, not a file", path.display());
    }
    if !folder.is_dir() {
        anyhow::bail!("--json {}: no folder {}", path.display(), folder.display());
    }
    Ok(Some(Some(path)))
}

/// Prints `doc`, or writes it to `path` the one durable way.
fn emit_json(path: Option<&std::path::Path>, doc: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(doc)?;
    match path {
        None => println!("{text}"),
        Some(path) => crate::write_file(path, format!("{text}\n").as_bytes())?,
    }
    Ok(())
}

fn rollout(args: &RolloutArgs) -> Result<ExitCode> {
    // Checked once, before any episode runs.
    let json = json_target(args)?;
    let policy = RolloutPolicy::parse(&args.policy)?;
    if args.env == mbtl_traffic::env::NAME {
        return traffic_rollout(args, &policy, json);
    }
    if args.backend != Backend::Native || args.sumo.is_some() {
        anyhow::bail!(
            "--backend sumo and --sumo are traffic-signal's; --env {} runs in mbtl only",
            args.env
        );
    }
    if args.junction != Junction::Open {
        anyhow::bail!(
            "--junction {} is traffic-signal's; --env {} has no junction",
            args.junction.name(),
            args.env
        );
    }
    if args.keep_right {
        anyhow::bail!(
            "--keep-right is traffic-signal's; --env {} has no lanes",
            args.env
        );
    }
    let RolloutPolicy::Trained(policy) = policy else {
        anyhow::bail!(
            "--policy {}: fixed policies are traffic-signal's; --env {} needs a trained policy (a folder written by mbtl train)",
            args.policy,
            args.env
        );
    };
    let env = EnvRef::lookup(&args.env)?;
    if policy.header.env != env.name() {
        anyhow::bail!(
            "--policy {}: trained on {}, asked to act in {}",
            args.policy,
            policy.header.env,
            env.name()
        );
    }
    let mut ctx = Context::from_record(&policy.header.context)?;
    for (name, value) in parse_overrides(&args.context)? {
        ctx.set(&name, value)?;
    }
    let started = std::time::Instant::now();
    let list = episodes(&policy, &ctx, args.episodes as usize, u64::from(args.seed))?;
    let wall = started.elapsed().as_secs_f64();
    if let Some(path) = json {
        let doc = serde_json::json!({
            "env": env.name(),
            "context": ctx.record(),
            "policy": args.policy,
            "seed": args.seed,
            "wall_seconds": wall,
            "episodes": list,
        });
        emit_json(path, &doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{ctx}; policy {}; seed {}; {wall:.3} s",
        args.policy, args.seed
    );
    println!(
        "{:>7} {:>14} {:>14} {:>7} {:>9}",
        "episode", "return", "score", "length", "truncated"
    );
    for (e, ep) in list.iter().enumerate() {
        println!(
            "{e:>7} {:>14.4} {:>14.4} {:>7} {:>9}",
            ep.ret, ep.score, ep.length, ep.truncated
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One episode's policy in a traffic-signal rollout: state → action.
type TrafficActor<'a> = Box<dyn FnMut(&[f32; mbtl_traffic::state::STATE_DIM]) -> usize + 'a>;

fn traffic_rollout(
    args: &RolloutArgs,
    policy: &RolloutPolicy,
    json: Option<Option<&std::path::Path>>,
) -> Result<ExitCode> {
    use mbtl_traffic::episode::{rollout_with, Semantics as TrafficSemantics};
    use mbtl_traffic::state::STATE_DIM;
    let semantics = match args.semantics.as_str() {
        "reference" => TrafficSemantics::Reference,
        "fixed" => TrafficSemantics::Fixed,
        other => anyhow::bail!("--semantics {other}: traffic-signal has reference and fixed"),
    };
    let ctx = mbtl_traffic::context::TrafficContext::parse(&args.context)?;
    let rules = Rules {
        junction: args.junction,
        keep_right: args.keep_right,
    };
    if args.backend == Backend::Sumo && rules.junction != Junction::Open {
        anyhow::bail!(
            "--junction {} is a rule of the native simulator; SUMO runs its own junction model",
            rules.junction.name()
        );
    }
    if args.backend == Backend::Sumo && rules.keep_right {
        anyhow::bail!(
            "--keep-right is a rule of the native simulator; SUMO runs its own lane changes"
        );
    }
    let sumo = match args.backend {
        Backend::Native if args.sumo.is_some() => {
            anyhow::bail!("--sumo PATH is for --backend sumo")
        }
        Backend::Native => None,
        Backend::Sumo => Some(mbtl_sumo::Sumo::locate(args.sumo.as_deref())?),
    };
    // Either simulator runs the same episodes: route seeds from --seed, a fresh ledger each.
    fn simulate<'a>(
        sumo: Option<&mbtl_sumo::Sumo>,
        ctx: &mbtl_traffic::context::TrafficContext,
        args: &RolloutArgs,
        semantics: TrafficSemantics,
        rules: Rules,
        actor: &mut dyn FnMut(u32) -> TrafficActor<'a>,
    ) -> Result<Vec<mbtl_traffic::episode::Metrics>> {
        Ok(match sumo {
            None => rollout_with(ctx, actor, args.seed, args.episodes, semantics, rules, 0)?,
            Some(sumo) => sumo.rollout_with(ctx, actor, args.seed, args.episodes, semantics)?,
        })
    }
    let started = std::time::Instant::now();
    let episodes = match policy {
        RolloutPolicy::Fixed(fixed) => {
            simulate(sumo.as_ref(), &ctx, args, semantics, rules, &mut |_| {
                Box::new(fixed.actor())
            })?
        }
        RolloutPolicy::Trained(policy) => {
            // The observation the policy was trained on: the state, then the context
            // features it observes.
            let env = mbtl_traffic::env::register()?;
            let record = Context::new(
                &env,
                Semantics::Physical,
                &[
                    ("cars", ctx.cars as f64),
                    ("speed", ctx.speed_limit),
                    ("length", ctx.arm_length),
                ],
            )?;
            let mut obs = vec![0.0f32; STATE_DIM];
            if let ContextObs::Appended(names) = &policy.header.context_obs {
                for name in names {
                    obs.push(record.get(name)? as f32);
                }
            }
            policy.check_compatible(&env, &policy.header.context_obs, obs.len())?;
            simulate(sumo.as_ref(), &ctx, args, semantics, rules, &mut |_| {
                let (mut obs, mut scratch) = (obs.clone(), Vec::new());
                let mut q = vec![0.0f32; policy.header.n_actions];
                Box::new(move |state: &[f32; STATE_DIM]| {
                    obs[..STATE_DIM].copy_from_slice(state);
                    policy.act(&obs, &mut scratch, &mut q) as usize
                })
            })?
        }
    };
    let wall = started.elapsed().as_secs_f64();
    if let Some(path) = json {
        let list: Vec<_> = episodes
            .iter()
            .enumerate()
            .map(|(e, m)| {
                let mut row = serde_json::to_value(m)?;
                row["seed"] = (args.seed as usize + e).into();
                Ok(row)
            })
            .collect::<Result<_>>()?;
        let doc = serde_json::json!({
            "env": "traffic-signal",
            "context": { "cars": ctx.cars, "speed": ctx.speed_limit, "length": ctx.arm_length },
            "policy": args.policy,
            "semantics": args.semantics,
            "backend": match args.backend { Backend::Native => "native", Backend::Sumo => "sumo" },
            "junction": rules.junction.name(),
            "keep_right": rules.keep_right,
            "wall_seconds": wall,
            "episodes": list,
        });
        emit_json(path, &doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "traffic-signal: {} cars, speed {} m/s, arms {} m; policy {}; {} semantics; {} simulator; {:.3} s",
        ctx.cars,
        ctx.speed_limit,
        ctx.arm_length,
        args.policy,
        args.semantics,
        if sumo.is_some() {
            "SUMO".to_string()
        } else {
            format!(
                "native ({} junction{})",
                rules.junction.name(),
                if rules.keep_right { ", keeping right" } else { "" }
            )
        },
        wall
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
