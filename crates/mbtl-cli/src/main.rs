//! `mbtl`: argument parsing and printing; the work happens in the library crates.

mod bench_cmd;
mod bench_select;
mod demo_cmd;
mod env_cmd;
mod plot;
mod replay_cmd;
mod rl_cmd;
mod synth_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mbtl",
    version,
    about = "Model-based transfer learning for contextual RL"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// The built-in default experiment (a small offline MBTL experiment on synthetic data).
    Demo(demo_cmd::DemoArgs),
    /// List the environments with their context features, defaults and bounds.
    Envs(env_cmd::EnvsArgs),
    /// Replay selection strategies on transfer matrices (offline MBTL).
    Replay(replay_cmd::ReplayArgs),
    /// Train one policy on one context (PPO so far).
    Train(rl_cmd::TrainArgs),
    /// Evaluate a policy zero-shot on target contexts.
    Eval(rl_cmd::EvalArgs),
    /// Generate SD-MBTL's synthetic transfer matrices.
    Synth(synth_cmd::SynthArgs),
    /// Environment tools (conformance replay).
    Env {
        #[command(subcommand)]
        command: env_cmd::EnvCommand,
    },
    /// Benchmarks (throughput of the hot paths).
    Bench {
        #[command(subcommand)]
        command: bench_cmd::BenchCommand,
    },
}

fn main() -> ExitCode {
    match dispatch(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo_cmd::run(args),
        Command::Envs(args) => env_cmd::envs(&args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::Synth(args) => synth_cmd::run(args),
        Command::Train(args) => rl_cmd::train_cmd(args),
        Command::Eval(args) => rl_cmd::eval_cmd(args),
        Command::Env { command } => env_cmd::run(command),
        Command::Bench { command } => bench_cmd::run(command),
    }
}
