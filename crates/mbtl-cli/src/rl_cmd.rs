//! `mbtl train` and `mbtl eval`: one policy on one context, and its zero-shot returns on many.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::write_file;
use anyhow::{bail, Context as _, Result};
use clap::Args;
use mbtl_env::{parse_overrides, Context, ContextObs, EnvRef, Semantics};
use mbtl_rl::callback::EvalCallback;
use mbtl_rl::eval::evaluate;
use mbtl_rl::learner::{Budget, Learner, Preset};
use mbtl_rl::policy::Policy;

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// Environment: a built-in one (`mbtl envs` lists them) or one the executable registered.
    #[arg(long, value_parser = parse_env)]
    env: EnvRef,
    /// Context overrides, e.g. length=0.25,masspole=0.2.
    #[arg(long, default_value = "")]
    context: String,
    /// How context values reach the dynamics: physical (derived quantities recomputed) or carl
    /// (CARL 1.1.1 bit for bit, dead features included).
    #[arg(long, default_value = "physical")]
    semantics: Semantics,
    /// Learner: ppo, dqn (discrete actions), sac (continuous), or dqn-episodic (the MBTL traffic
    /// experiments' DQN, with the authors' settings whatever the preset).
    #[arg(long, default_value = "ppo")]
    algo: String,
    /// Seed of the training (same seed, same weights).
    #[arg(long)]
    seed: u64,
    /// Output folder: policy.safetensors and train.json.
    #[arg(long)]
    out: PathBuf,
    /// Append every context feature to the observation (context-aware policy).
    #[arg(long)]
    context_visible: bool,
    /// Train one policy over several contexts, one per flag (`--pool length=0.25 --pool
    /// length=1.0`, each on top of `--context`): every episode draws one (the multi-task
    /// baseline; usually with `--context-visible`).
    #[arg(long)]
    pool: Vec<String>,
    /// Override the tuned number of environment steps.
    #[arg(long)]
    total_timesteps: Option<u64>,
    /// Override a tuned hyper-parameter by its Stable-Baselines3 name, e.g. `--hp n_epochs=10
    /// --hp hidden=[128,128]` (repeatable).
    #[arg(long = "hp")]
    hyperparameters: Vec<String>,
    /// Where the hyper-parameters start: zoo (rl-baselines3-zoo's tuned values) or sb3
    /// (Stable-Baselines3's library defaults, as the MBTL paper).
    #[arg(long, default_value = "zoo")]
    preset: Preset,
    /// Evaluate every N vector steps during training and keep the best policy (as
    /// Stable-Baselines3's EvalCallback; the paper: 500).
    #[arg(long, value_name = "N")]
    eval_freq: Option<u64>,
    /// Episodes per periodic evaluation.
    #[arg(long, default_value_t = 5, requires = "eval_freq")]
    eval_episodes: usize,
}

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// Folder written by `mbtl train` (or the policy file itself).
    #[arg(long)]
    policy: PathBuf,
    /// Environment; default: the one the policy file names (given, it must be that one).
    #[arg(long, value_parser = parse_env)]
    env: Option<EnvRef>,
    /// Semantics of `--contexts`; default: the policy's training context's.
    #[arg(long)]
    semantics: Option<Semantics>,
    /// Target contexts, one per flag: `--contexts length=0.5 --contexts length=1.0`; default: the
    /// policy's training context.
    #[arg(long)]
    contexts: Vec<String>,
    /// Deterministic episodes per target context.
    #[arg(long, default_value_t = 100)]
    episodes: usize,
    /// Seed of the episodes' initial states.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print `[{"context": {...}, "mean": .., "std": .., "episodes": ..}, ...]` instead of one
    /// line per context.
    #[arg(long)]
    json: bool,
}

/// An environment by name (built-in or registered), for `--env`.
pub(crate) fn parse_env(name: &str) -> std::result::Result<EnvRef, mbtl_env::EnvError> {
    EnvRef::lookup(name)
}

pub(crate) fn train_cmd(args: TrainArgs) -> Result<ExitCode> {
    let ctx = Context::new(&args.env, args.semantics, &parse_overrides(&args.context)?)?;
    let mut overrides = Learner::parse_overrides(&args.hyperparameters)?;
    if let Some(t) = args.total_timesteps {
        overrides.insert("total_timesteps".into(), t.into());
    }
    let learner =
        Learner::preset(&args.algo, args.preset, &args.env)?.with_overrides(&overrides)?;
    let callback = args.eval_freq.map(|eval_freq| EvalCallback {
        eval_freq,
        n_eval_episodes: args.eval_episodes,
        deterministic: true,
        keep_best: true,
    });
    let obs = if args.context_visible {
        ContextObs::all(&ctx)
    } else {
        ContextObs::Hidden
    };
    let pool: Vec<Context> = if args.pool.is_empty() {
        vec![ctx.clone()]
    } else {
        args.pool
            .iter()
            .map(|p| {
                let mut c = ctx.clone();
                for (name, value) in parse_overrides(p)? {
                    c.set(&name, value)?;
                }
                Ok(c)
            })
            .collect::<Result<_>>()?
    };
    let start = std::time::Instant::now();
    let budget = learner.budget();
    let bar = crate::progress::training(budget);
    let trained = learner.train_with(&pool, &obs, args.seed, callback.as_ref(), |log| {
        bar.set_position(match budget {
            Budget::Steps(_) => log.env_steps,
            Budget::Episodes(_) => log.episodes,
        });
        bar.set_message(format!("recent return {:.1}", log.recent_return));
    })?;
    bar.finish_and_clear();
    let policy = trained.policy;
    let config = learner.hyperparameters();
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}", args.out.display()))?;
    policy.save(&args.out.join("policy.safetensors"))?;
    let summary = serde_json::json!({
        "env": args.env.name(), "context": ctx.record(), "algo": args.algo, "seed": args.seed,
        "pool": pool.iter().map(Context::record).collect::<Vec<_>>(),
        "env_steps": trained.env_steps, "wall_seconds": start.elapsed().as_secs_f64(),
        "hyperparameters": config, "preset": args.preset.to_string(),
        "eval_callback": callback, "kept": trained.kept, "evaluations": trained.evals,
    });
    write_file(
        &args.out.join("train.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    if let mbtl_rl::callback::Kept::Best {
        env_steps,
        mean_return,
    } = trained.kept
    {
        println!("kept the best evaluation: {mean_return:.1} after {env_steps} steps");
    }
    println!(
        "trained {} on {} in {:.1} s ({} steps) -> {}",
        args.algo,
        if pool.len() > 1 {
            format!("{} contexts", pool.len())
        } else {
            ctx.to_string()
        },
        start.elapsed().as_secs_f64(),
        trained.env_steps,
        args.out.join("policy.safetensors").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The policy file a `--policy` names: the path itself, or `policy.safetensors` inside a
/// folder written by `mbtl train` (and the policy read from it).
pub(crate) fn load_policy(given: &std::path::Path) -> Result<(PathBuf, Policy)> {
    let path = if given.is_dir() {
        given.join("policy.safetensors")
    } else {
        given.to_path_buf()
    };
    let policy = Policy::load(&path)?;
    Ok((path, policy))
}

pub(crate) fn eval_cmd(args: EvalArgs) -> Result<ExitCode> {
    let (path, policy) = load_policy(&args.policy)?;
    let env = match &args.env {
        Some(env) if policy.header.env != env.name() => bail!(
            "{}: the policy was trained on {}, not {}",
            path.display(),
            policy.header.env,
            env
        ),
        Some(env) => env.clone(),
        None => EnvRef::lookup(&policy.header.env)
            .with_context(|| format!("{}: the policy's environment", path.display()))?,
    };
    let trained_on = Context::from_record_in(&env, &policy.header.context)?;
    let semantics = args.semantics.unwrap_or(trained_on.semantics());
    let contexts: Vec<Context> = if args.contexts.is_empty() {
        vec![trained_on]
    } else {
        args.contexts
            .iter()
            .map(|c| Ok(Context::new(&env, semantics, &parse_overrides(c)?)?))
            .collect::<Result<_>>()?
    };
    let stats = evaluate(&policy, &contexts, args.episodes, args.seed)?;
    let mut rows = Vec::new();
    for (ctx, s) in contexts.iter().zip(&stats) {
        if !args.json {
            println!("{ctx}\tmean {:.3}\tstd {:.3}", s.mean, s.std);
        }
        rows.push(serde_json::json!({"context": ctx.record(), "mean": s.mean, "std": s.std, "episodes": s.episodes}));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(ExitCode::SUCCESS)
}
