//! `mbtl run`, `mbtl matrix`, `mbtl status`, `mbtl report` and `mbtl worker`: experiments from
//! TOML files, kept in a run folder (SQLite store, policies, results, report).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;
use indicatif::ProgressBar;
use mbtl_run::config::{Experiment, Plan};
use mbtl_run::coordinator::{Event, Executor};
use mbtl_run::{coordinator, report, status};

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Experiment file (see examples/*.toml).
    pub experiment: PathBuf,
    /// Run folder; default: runs/<experiment name>. Running again resumes it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a setting of the experiment file, e.g. --set
    /// learner.hyperparameters.total_timesteps=200000 (dotted key, TOML value); repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Do not write the HTML report at the end.
    #[arg(long)]
    pub no_report: bool,
}

#[derive(Args)]
pub(crate) struct ExecArgs {
    /// Worker threads (default: every core). Results do not depend on it.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Run every job as a separate `mbtl worker` process instead of a thread.
    #[arg(long)]
    pub processes: bool,
    /// Start each worker process through this command (implies --processes), e.g.
    /// "srun -N1 -n1 --exclusive" inside a Slurm allocation; split at whitespace.
    #[arg(long, value_name = "COMMAND")]
    pub launcher: Option<String>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// Run folder.
    pub dir: PathBuf,
    /// Print the status as JSON (per strategy and trial: tasks chosen so far and the curve).
    #[arg(long)]
    pub json: bool,
    /// Also write every training's curves (training return, periodic evaluations, losses
    /// against environment steps) to this file as long-format CSV: trial,source,series,step,value.
    #[arg(long, value_name = "FILE")]
    pub curves: Option<PathBuf>,
    /// Also write every training's curves as TensorBoard event files under this folder (one
    /// run per source: trial0/task0042, …): `tensorboard --logdir FOLDER`.
    #[arg(long, value_name = "FOLDER")]
    pub tensorboard: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// Run folder.
    pub dir: PathBuf,
}

#[derive(Args)]
pub(crate) struct WorkerArgs {
    /// Job file written by the coordinator.
    pub job: PathBuf,
    /// The run folder (policies are saved under it).
    #[arg(long)]
    pub run_dir: PathBuf,
    /// Result file to write (atomically).
    #[arg(long)]
    pub out: PathBuf,
}

fn load(path: &Path, sets: &[String]) -> Result<(Plan, String)> {
    let plan = Experiment::load_with(path, sets)?;
    let name = plan.experiment.name.clone();
    Ok((plan, name))
}

/// Progress: a bar on a terminal; otherwise one line per finished job on stderr, with
/// "i of N" and an estimate of the time left when N is known (none with `--quiet`). The bar is
/// returned too, so that it is cleared before the summary is printed.
fn progress(quiet: bool, total: Option<u64>) -> (impl Fn(&Event) + Sync, ProgressBar) {
    let start = Instant::now();
    let bar = crate::progress::jobs(total, quiet);
    let lines = !quiet && !crate::progress::on_terminal();
    // Trainings finished by this process (a resumed run's stored ones cost nothing).
    let here = AtomicU64::new(0);
    let handle = bar.clone();
    let on_event = move |e: &Event| match e {
        Event::JobStarted { id } => bar.set_message(format!("training {id}")),
        Event::JobFinished { id, seconds, done } => {
            bar.inc(1);
            let finished = here.fetch_add(1, Ordering::Relaxed) + 1;
            if lines {
                let t = start.elapsed().as_secs_f64();
                let of = match total {
                    Some(n) => {
                        let left = n.saturating_sub(*done as u64);
                        let eta = t / finished as f64 * left as f64;
                        format!("{done} of {n} trainings stored, about {eta:.0} s left")
                    }
                    None => format!("{done} trainings stored"),
                };
                eprintln!("[{t:7.1} s] done {id} in {seconds:.1} s ({of})");
            }
        }
        Event::Ingested { id } => {
            bar.inc(1);
            if lines {
                eprintln!("ingested worker result {id}");
            }
        }
        Event::JobFailed {
            id,
            attempt,
            attempts,
            message,
        } => {
            // Failures are always shown: they cost time (and the last one ends the run).
            let then = if attempt < attempts {
                "trying again"
            } else {
                "giving up"
            };
            bar.suspend(|| {
                eprintln!("attempt {attempt} of {attempts} of {id} failed ({then}): {message}");
            });
        }
    };
    (on_event, handle)
}

/// This `mbtl` executable: what worker processes and array tasks run.
fn this_program() -> Result<PathBuf> {
    std::env::current_exe().context("locating the mbtl executable")
}

fn executor(args: &ExecArgs) -> Result<Executor> {
    let launcher: Vec<String> = args
        .launcher
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if args.launcher.is_some() && launcher.is_empty() {
        anyhow::bail!("--launcher: empty command");
    }
    Ok(if args.processes || !launcher.is_empty() {
        Executor::Process {
            program: this_program()?,
            launcher,
        }
    } else {
        Executor::InProcess
    })
}

fn workers(args: &ExecArgs) -> usize {
    args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZero::get)
            .unwrap_or(1)
    })
}

fn out_dir(out: &Option<PathBuf>, name: &str) -> PathBuf {
    out.clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(name))
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode> {
    let (plan, name) = load(&args.experiment, &args.set)?;
    let dir = out_dir(&args.out, &name);
    run_plan(&plan, &dir, &args.exec, !args.no_report)
}

/// Runs a resolved experiment into `dir` and prints its table (shared with `mbtl demo`).
pub(crate) fn run_plan(
    plan: &Plan,
    dir: &Path,
    exec: &ExecArgs,
    with_report: bool,
) -> Result<ExitCode> {
    let start = Instant::now();
    let (on_event, bar) = progress(exec.quiet, None);
    let coord = coordinator(plan, dir, executor(exec)?, on_event)?;
    let outcome = mbtl_run::online::run_online(&coord, workers(exec));
    bar.finish_and_clear();
    let outcome = outcome?;
    println!(
        "{}: {} tasks, K = {}, {} trial(s); {} trainings in {:.1} s → {}",
        outcome.experiment,
        outcome.n_tasks,
        outcome.budget,
        outcome.trials,
        outcome.trainings,
        start.elapsed().as_secs_f64(),
        dir.display()
    );
    println!(
        "{:<18} {:>8} {:>8}  tasks (trial 0)",
        "strategy", "V_K", "Average"
    );
    for s in &outcome.strategies {
        let order = &s.trials[0].order;
        let tasks = if order.is_empty() || order.len() == outcome.n_tasks {
            "-".to_string()
        } else {
            format!("{order:?}")
        };
        println!(
            "{:<18} {:>8.4} {:>8.4}  {tasks}",
            s.strategy,
            s.curve.last().copied().unwrap_or(f64::NAN),
            s.average
        );
    }
    if with_report {
        let page = report::write_report(dir)?;
        println!("report: {}", page.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn matrix(args: RunArgs) -> Result<ExitCode> {
    let (plan, name) = load(&args.experiment, &args.set)?;
    let dir = out_dir(&args.out, &name);
    let start = Instant::now();
    let total = (plan.n_tasks() * plan.experiment.trials) as u64;
    let (on_event, bar) = progress(args.exec.quiet, Some(total));
    let coord = coordinator(&plan, &dir, executor(&args.exec)?, on_event)?;
    let files = mbtl_run::online::run_matrix(&coord, workers(&args.exec));
    bar.finish_and_clear();
    let files = files?;
    println!(
        "{}: {} × {} transfer matrix, {} trial(s), in {:.1} s",
        name,
        plan.n_tasks(),
        plan.n_tasks(),
        plan.experiment.trials,
        start.elapsed().as_secs_f64()
    );
    for f in &files {
        println!("wrote {}", f.display());
    }
    println!("compare strategies on it: {}", plan.replay_command(&files));
    if !args.no_report {
        let page = report::write_report(&dir)?;
        println!("report: {}", page.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub(crate) struct SlurmArgs {
    /// Experiment file (see examples/*.toml).
    pub experiment: PathBuf,
    /// Run folder on a file system the cluster's nodes share; default: runs/<experiment name>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a setting of the experiment file (as for `mbtl matrix`); repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// `#SBATCH --KEY=VALUE` lines to add (repeatable), e.g. --sbatch partition=cpu
    /// --sbatch time=00:30:00 --sbatch mem=2G.
    #[arg(long, value_name = "KEY=VALUE")]
    pub sbatch: Vec<String>,
}

/// `mbtl slurm`: the matrix's missing jobs as a Slurm array (see `mbtl_run::cluster`).
pub(crate) fn slurm(args: SlurmArgs) -> Result<ExitCode> {
    let (plan, name) = load(&args.experiment, &args.set)?;
    let dir = out_dir(&args.out, &name);
    // Everything is checked before the run folder is made.
    mbtl_run::cluster::check_sbatch_options(&args.sbatch)?;
    let program = this_program()?;
    let coord = coordinator(&plan, &dir, Executor::InProcess, |_: &Event| {})?;
    let export = mbtl_run::cluster::export_slurm_array(&coord, &program, &args.sbatch)?;
    let total = plan.n_tasks() * plan.experiment.trials;
    match &export.script {
        None => println!(
            "{name}: all {total} jobs are stored in {}; nothing to submit (mbtl matrix {} --out {} writes the matrix)",
            dir.display(),
            args.experiment.display(),
            dir.display()
        ),
        Some(script) => {
            println!(
                "{name}: {} of {total} jobs to run, one per array task",
                export.jobs.len()
            );
            println!("submit:     sbatch {}", script.display());
            let sets: String = args.set.iter().map(|s| format!(" --set '{s}'")).collect();
            println!(
                "afterwards: mbtl matrix {}{sets} --out {}   (ingests the results, trains only what is missing)",
                args.experiment.display(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn status_cmd(args: StatusArgs) -> Result<ExitCode> {
    let s = status::status(&args.dir)?;
    if let Some(path) = &args.curves {
        let csv = status::curves_csv(&args.dir)?;
        crate::write_file(path, csv.as_bytes())?;
    }
    if let Some(folder) = &args.tensorboard {
        let files = mbtl_run::tensorboard::export(&args.dir, folder)?;
        eprintln!(
            "wrote {} TensorBoard event file(s) under {}",
            files.len(),
            folder.display()
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", s.render());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn report_cmd(args: ReportArgs) -> Result<ExitCode> {
    let page = report::write_report(&args.dir)?;
    println!("{}", page.display());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn worker(args: WorkerArgs) -> Result<ExitCode> {
    let r = mbtl_run::coordinator::run_worker_job(&args.job, &args.run_dir, &args.out)?;
    eprintln!(
        "job trial {} {}: trained in {:.1} s, evaluated in {:.1} s → {}",
        r.trial,
        r.source,
        r.train_seconds,
        r.eval_seconds,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
