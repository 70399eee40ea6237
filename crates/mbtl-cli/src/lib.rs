//! `mbtl`: argument parsing and printing; the work happens in the library crates.
//!
//! The command line is a library too, so that a crate with its own environments can ship the
//! whole of it: register the environments, then hand over to [`main`]. Worker processes and
//! Slurm array tasks re-run the same executable, so they find the same environments.
//!
//! ```no_run
//! # #[derive(Clone)] struct MyEnv;
//! # impl mbtl_env::Dynamics for MyEnv {
//! #     fn spec() -> mbtl_env::EnvSpec { unimplemented!() }
//! #     fn from_context(_: &mbtl_env::Context) -> Self { MyEnv }
//! #     fn reset(&mut self, _: &mut mbtl_env::EnvRng) {}
//! #     fn step(&mut self, _: mbtl_env::Action<'_>, _: &mut mbtl_env::EnvRng) -> (f64, bool) { (0.0, false) }
//! #     fn observe(&self, _: &mut [f32]) {}
//! # }
//! fn main() -> std::process::ExitCode {
//!     if let Err(e) = mbtl_env::register::<MyEnv>() {
//!         eprintln!("error: {e}");
//!         return std::process::ExitCode::from(2);
//!     }
//!     mbtl_cli::main()
//! }
//! ```

mod bench_cmd;
mod bench_nn;
mod bench_select;
mod bench_traffic;
mod demo_cmd;
mod env_cmd;
mod progress;
mod replay_cmd;
mod rl_cmd;
mod run_cmd;
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
    /// The built-in default experiment: online MBTL on CartPole pole lengths (20 tasks, K = 5).
    Demo(demo_cmd::DemoArgs),
    /// Online MBTL from an experiment file: train only the tasks the strategies pick.
    Run(run_cmd::RunArgs),
    /// Train every source of an experiment and write its full transfer matrix (MBTL CSV).
    Matrix(run_cmd::RunArgs),
    /// Progress of a run folder (tasks chosen, curves, trainings).
    Status(run_cmd::StatusArgs),
    /// Write the HTML report of a run folder.
    Report(run_cmd::ReportArgs),
    /// Run one job file (a training with its evaluations) and write its result file. Internal:
    /// what the coordinator, `--processes`, launchers and Slurm array tasks start.
    #[command(hide = true)]
    Worker(run_cmd::WorkerArgs),
    /// Write a matrix's missing jobs as a Slurm job array (script + job files) to `sbatch`.
    Slurm(run_cmd::SlurmArgs),
    /// List the environments with their context features, defaults and bounds.
    Envs(env_cmd::EnvsArgs),
    /// Replay selection strategies on transfer matrices (offline MBTL).
    Replay(replay_cmd::ReplayArgs),
    /// Train one policy on one context (PPO, DQN or SAC).
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

/// Parses the process's arguments and runs the command; what the `mbtl` binary does.
pub fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`mbtl envs | head -1`) made every
    // `println!` panic with "failed printing to stdout". A command-line tool ends quietly
    // there, as any Unix tool does: restore the signal's default action.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_DFL at the start of `main`, before any
    // thread exists, touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The simulators mbtl ships outside mbtl-env register here, so that every command (and
    // every worker process, which re-runs this binary) finds them by name.
    if let Err(err) = mbtl_traffic::env::register() {
        eprintln!("error: {err:#}");
        return ExitCode::from(2);
    }
    match dispatch(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Writes a file the one durable way ([`mbtl_fs::write_durable`]: temporary file beside it,
/// fsync, rename, fsync of the folder), naming the file in the error.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    mbtl_fs::write_durable(path, bytes).with_context(|| path.display().to_string())
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo_cmd::run(args),
        Command::Envs(args) => env_cmd::envs(&args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::Run(args) => run_cmd::run(args),
        Command::Matrix(args) => run_cmd::matrix(args),
        Command::Status(args) => run_cmd::status_cmd(args),
        Command::Report(args) => run_cmd::report_cmd(args),
        Command::Worker(args) => run_cmd::worker(args),
        Command::Slurm(args) => run_cmd::slurm(args),
        Command::Synth(args) => synth_cmd::run(args),
        Command::Train(args) => rl_cmd::train_cmd(args),
        Command::Eval(args) => rl_cmd::eval_cmd(args),
        Command::Env { command } => env_cmd::run(command),
        Command::Bench { command } => bench_cmd::run(command),
    }
}
