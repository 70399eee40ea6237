//! `mbtl demo`: the built-in default experiment. Until online training lands (see the README's
//! status table) it is an offline MBTL experiment: three noisy trials of an SD-MBTL synthetic
//! benchmark (8×8×8 contexts, non-distance gap, so M/GP-MBTL has to switch from clustering to
//! the GP), every strategy with K = 20, a table, CSV and PNG/SVG curves.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser};
use mbtl_select::synth::{Family, GapTerm, SourceTerm, SynthSpec, TargetTerm};

use crate::Cli;

#[derive(Args)]
pub struct DemoArgs {
    /// Output folder (matrices, curves.csv, orders.csv, curves.png, curves.svg, results.json).
    #[arg(long, default_value = "mbtl-demo")]
    out: PathBuf,
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
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
        paths.push(path.display().to_string());
    }
    println!("mbtl demo: {spec}, trials 0–2 → {}", dir.display());
    let out = args.out.display().to_string();
    let json = args.out.join("results.json").display().to_string();
    let mut argv: Vec<String> = ["mbtl", "replay"].map(String::from).to_vec();
    argv.extend(paths);
    argv.extend(
        [
            "--grid",
            "8,8,8",
            "--normalize",
            "minmax",
            "--budget",
            "20",
            "--strategy",
            "mgp-mbtl,gp-mbtl,m-mbtl,random,sequential-oracle,independent,oracle",
            "--random-repeats",
            "10",
            "--out",
            &out,
            "--json",
            &json,
        ]
        .map(String::from),
    );
    crate::dispatch(Cli::parse_from(argv))
}
