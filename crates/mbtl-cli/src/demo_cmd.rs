//! `mbtl demo`: the built-in default experiment, `examples/cartpole-pole-length.toml` (compiled
//! in): online MBTL on 20 CartPole pole lengths with PPO, K = 5, against Random, Equidistant,
//! Independent and Multi-task, ending in an HTML report.
//!
//! `mbtl demo --synthetic` is the offline alternative that needs no training: three noisy trials
//! of an SD-MBTL synthetic benchmark (8×8×8 contexts, non-distance gap, so M/GP-MBTL has to
//! switch from clustering to the GP), every strategy with K = 20.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use mbtl_select::replay::StrategyName;
use mbtl_select::synth::{Family, GapTerm, SourceTerm, SynthSpec, TargetTerm};
use mbtl_select::{Acquisition, NanPolicy};

/// The default experiment, as shipped in `examples/`.
pub(crate) const DEFAULT_EXPERIMENT: &str =
    include_str!("../../../examples/cartpole-pole-length.toml");

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Output folder (run store, policies, results.json, report/); running again resumes.
    #[arg(long, default_value = "mbtl-demo")]
    out: PathBuf,
    /// The offline synthetic demo instead (no training).
    #[arg(long)]
    synthetic: bool,
    #[command(flatten)]
    exec: crate::run_cmd::ExecArgs,
}

pub(crate) fn run(args: DemoArgs) -> Result<ExitCode> {
    if args.synthetic {
        return synthetic(args);
    }
    let exp = mbtl_run::config::Experiment::parse(
        DEFAULT_EXPERIMENT,
        "examples/cartpole-pole-length.toml",
    )?;
    let plan = exp.plan("examples/cartpole-pole-length.toml")?;
    println!(
        "mbtl demo: online MBTL on {} CartPole pole lengths (PPO), K = {} → {}",
        plan.n_tasks(),
        plan.options.budget,
        args.out.display()
    );
    crate::run_cmd::run_plan(&plan, &args.out, &args.exec, true)
}

fn synthetic(args: DemoArgs) -> Result<ExitCode> {
    let spec = SynthSpec {
        family: Family::D3,
        f: SourceTerm::Constant,
        g: TargetTerm::Linear,
        h: GapTerm::NonDistance,
        noise: 5.0,
    };
    let dir = args.out.join("matrices");
    std::fs::create_dir_all(&dir)?;
    let mut paths = Vec::new();
    for trial in 0..3 {
        let path = dir.join(format!("trial{trial}.npy"));
        spec.generate(trial)?.write(&path)?;
        paths.push(path);
    }
    println!("mbtl demo: {spec}, trials 0–2 → {}", dir.display());
    crate::replay_cmd::run(crate::replay_cmd::ReplayArgs {
        matrices: paths,
        strategies: [
            StrategyName::MgpMbtl,
            StrategyName::GpMbtl,
            StrategyName::MMbtl,
            StrategyName::Random,
            StrategyName::SequentialOracle,
            StrategyName::Independent,
            StrategyName::Oracle,
        ]
        .to_vec(),
        budget: 20,
        slope: 0.005,
        gap: "fixed".into(),
        acquisition: Acquisition::SqrtLog,
        grid: vec![8, 8, 8],
        coords: None,
        normalize: "minmax".into(),
        negate: false,
        nan: NanPolicy::Refuse,
        seed: 42,
        random_repeats: 10,
        candidates: "all".into(),
        multitask: None,
        out: args.out,
        json: false,
        paper: None,
    })
}
