//! `mbtl bench envs`: single-core environment throughput, one instance and batched, with random
//! actions drawn every step (as gymnasium's `action_space.sample()` loop does).

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use mbtl_env::{
    environments, Action, ActionSpace, BatchActions, BatchEnv, Context, ContextObs, Env, EnvRef,
    EnvRng, Semantics,
};
use serde_json::json;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Steps per second of every environment, one instance and batched (single thread).
    Envs(EnvBenchArgs),
    /// The selection engine: SD-MBTL's full 3-D table and M/GP-MBTL on a 7-D matrix.
    Select(crate::bench_select::SelectBenchArgs),
    /// The network core on the learners' shapes: training step, forward, acting (one thread).
    Nn(crate::bench_nn::NnBenchArgs),
    /// mbtl's native traffic-signal simulator: wall time per episode (one thread).
    Traffic(crate::bench_traffic::TrafficBenchArgs),
}

#[derive(Args)]
pub(crate) struct EnvBenchArgs {
    /// Environment steps per measurement.
    #[arg(long, default_value_t = 2_000_000)]
    steps: u64,
    /// Instances in the batched measurement (contexts spread over the batch).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Repeats; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Only these environments (default: every one, registered ones included).
    #[arg(long, value_delimiter = ',', value_parser = crate::rl_cmd::parse_env)]
    env: Vec<EnvRef>,
    /// Context semantics of the benchmarked environments: carl or physical.
    #[arg(long, default_value = "carl")]
    semantics: Semantics,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Envs(args) => envs(&args),
        BenchCommand::Select(args) => crate::bench_select::run(&args),
        BenchCommand::Nn(args) => crate::bench_nn::run(&args),
        BenchCommand::Traffic(args) => crate::bench_traffic::run(&args),
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn random_action(space: &ActionSpace, rng: &mut EnvRng, buf: &mut [f32]) -> Option<u32> {
    match space {
        ActionSpace::Discrete { n } => Some((rng.next_u64() % u64::from(*n)) as u32),
        ActionSpace::Continuous { low, high } => {
            for ((b, &lo), &hi) in buf.iter_mut().zip(low).zip(high) {
                *b = rng.uniform(f64::from(lo), f64::from(hi)) as f32;
            }
            None
        }
    }
}

fn single(kind: &EnvRef, semantics: Semantics, steps: u64) -> Result<f64> {
    let mut env = Env::new(Context::defaults(kind, semantics)?, 1)?;
    let space = env.action_space().clone();
    let mut rng = EnvRng::seed_from(2);
    let mut buf = vec![0.0f32; space.size()];
    let mut obs = vec![0.0f32; env.obs_dim()];
    let start = Instant::now();
    for _ in 0..steps {
        let tr = match random_action(&space, &mut rng, &mut buf) {
            Some(a) => env.step(Action::Discrete(a))?,
            None => env.step(Action::Continuous(&buf))?,
        };
        if tr.done() {
            env.reset();
        }
        env.observe(&mut obs);
        black_box(&obs);
    }
    Ok(steps as f64 / start.elapsed().as_secs_f64())
}

fn batched(kind: &EnvRef, semantics: Semantics, steps: u64, n: usize) -> Result<f64> {
    // Spread one feature over the batch so that contexts differ inside it.
    let base = Context::defaults(kind, semantics)?;
    let first = base.iter().next().map(|(n, v)| (n.to_string(), v));
    let contexts: Vec<Context> = (0..n)
        .map(|i| match &first {
            Some((name, default)) => {
                let scale = 0.9 + 0.2 * i as f64 / n.max(2) as f64;
                base.with(name, default * scale)
                    .unwrap_or_else(|_| base.clone())
            }
            None => base.clone(),
        })
        .collect();
    let mut batch = BatchEnv::new(&contexts, 1, &ContextObs::Hidden)?;
    let mut out = batch.output();
    batch.reset(&mut out);
    let space = batch.action_space().clone();
    let mut rng = EnvRng::seed_from(2);
    let mut discrete = vec![0u32; n];
    let mut continuous = vec![0.0f32; n * space.size()];
    let rounds = (steps / n as u64).max(1);
    let start = Instant::now();
    for _ in 0..rounds {
        if space.is_discrete() {
            for a in &mut discrete {
                *a = random_action(&space, &mut rng, &mut []).unwrap_or(0);
            }
            batch.step(BatchActions::Discrete(&discrete), &mut out)?;
        } else {
            for chunk in continuous.chunks_exact_mut(space.size()) {
                random_action(&space, &mut rng, chunk);
            }
            batch.step(BatchActions::Continuous(&continuous), &mut out)?;
        }
        black_box(&out.obs);
    }
    Ok((rounds * n as u64) as f64 / start.elapsed().as_secs_f64())
}

fn envs(args: &EnvBenchArgs) -> Result<ExitCode> {
    let kinds: Vec<EnvRef> = if args.env.is_empty() {
        environments()
            .into_iter()
            .filter(|e| e.is_simulated() && e.spec().features(args.semantics).is_some())
            .collect()
    } else {
        args.env.clone()
    };
    if !args.json {
        println!(
            "single thread, {} semantics, random actions, {} steps × {} repeats (median)",
            args.semantics, args.steps, args.repeats
        );
        println!(
            "{:<24} {:>16} {:>22}",
            "environment",
            "1 instance /s",
            format!("batch of {} /s", args.batch)
        );
    }
    for kind in kinds {
        let one = median(
            (0..args.repeats)
                .map(|_| single(&kind, args.semantics, args.steps))
                .collect::<Result<_>>()?,
        );
        let many = median(
            (0..args.repeats)
                .map(|_| batched(&kind, args.semantics, args.steps, args.batch))
                .collect::<Result<_>>()?,
        );
        if args.json {
            println!(
                "{}",
                json!({"env": kind.name(), "semantics": args.semantics.name(), "single_steps_per_s": one,
                       "batch": args.batch, "batched_steps_per_s": many})
            );
        } else {
            println!("{:<24} {:>16.0} {:>22.0}", kind.name(), one, many);
        }
    }
    Ok(ExitCode::SUCCESS)
}
