//! `mbtl synth`: SD-MBTL's synthetic transfer matrices, bit-identical to the authors' NumPy.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use mbtl_select::synth::{Family, GapTerm, SourceTerm, SynthSpec, TargetTerm};

#[derive(Args)]
pub(crate) struct SynthArgs {
    /// Grid family: 3d (8³), 5d (5⁵) or 7d (4⁷).
    #[arg(long, default_value = "3d")]
    family: Family,
    /// Source quality f(x): constant or linear.
    #[arg(long, default_value = "constant")]
    f: SourceTerm,
    /// Target difficulty g(y): none or linear.
    #[arg(long, default_value = "none")]
    g: TargetTerm,
    /// Gap h(x, y): l1 (distance), nd (non-distance; 5-D: nd1), nd2 (5-D only).
    #[arg(long, default_value = "l1")]
    h: GapTerm,
    /// Noise standard deviation (raw units).
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// Trials to generate: one number or a range FIRST..END (END excluded).
    #[arg(long, default_value = "0")]
    trials: String,
    /// Output folder; files are named synth_<family>_f-<f>_g-<g>_h-<h>_noise<n>_trial<t>.<ext>.
    #[arg(long, default_value = "mbtl-synth")]
    out: PathBuf,
    /// File format: npy or csv.
    #[arg(long, default_value = "npy")]
    format: String,
}

fn parse_trials(text: &str) -> Result<std::ops::Range<u32>> {
    let bad = || anyhow::anyhow!("--trials '{text}': expected a number or FIRST..END");
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b): (u32, u32) = (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            );
            if a >= b {
                return Err(bad());
            }
            Ok(a..b)
        }
        None => {
            let t: u32 = text.trim().parse().map_err(|_| bad())?;
            Ok(t..t + 1)
        }
    }
}

pub(crate) fn run(args: SynthArgs) -> Result<ExitCode> {
    if args.format != "npy" && args.format != "csv" {
        bail!("--format '{}': expected npy or csv", args.format);
    }
    let spec = SynthSpec {
        family: args.family,
        f: args.f,
        g: args.g,
        h: args.h,
        noise: args.noise,
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}", args.out.display()))?;
    let name = spec.to_string().replace(' ', "_").replace('=', "-");
    for trial in parse_trials(&args.trials)? {
        let m = spec.generate(trial)?;
        let path = args
            .out
            .join(format!("synth_{name}_trial{trial}.{}", args.format));
        m.write(&path)?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
