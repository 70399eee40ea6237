//! `mbtl bench select`: the selection engine's two published-scale workloads, timed.
//! 1. SD-MBTL's full 3-D noise-0 table: 8 settings × 100 trials × Random, GP-MBTL, M-MBTL,
//!    M/GP-MBTL and the Myopic Oracle, K = 50.
//! 2. M/GP-MBTL with every task as a candidate on one 7-D matrix (4⁷ = 16 384 tasks, K = 50).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use mbtl_select::synth::{Family, GapTerm, SourceTerm, SynthSpec, TargetTerm};
use mbtl_select::table::{run_trials, synthetic_trials, TABLE_METHODS};
use mbtl_select::{run_selection, Candidates, MgpMbtl, TransferMatrix};

#[derive(Args)]
pub(crate) struct SelectBenchArgs {
    /// Trials per 3-D setting.
    #[arg(long, default_value_t = 100)]
    trials: u32,
    /// Skip the 7-D run.
    #[arg(long)]
    no_7d: bool,
    /// Skip the 3-D table.
    #[arg(long)]
    no_3d: bool,
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub(crate) fn run(args: &SelectBenchArgs) -> Result<ExitCode> {
    println!("threads: {}", rayon::current_num_threads());
    if !args.no_3d {
        let start = Instant::now();
        let mut per_method = [0.0f64; 6];
        println!(
            "3-D noise-0 table, {} trials per setting, K = 50 (V_50 mean ± 95 % CI)",
            args.trials
        );
        println!(
            "{:<34} {:>16} {:>16} {:>16} {:>16} {:>16}",
            "setting", "Random", "GP-MBTL", "M-MBTL", "M/GP-MBTL", "Myopic Oracle"
        );
        for spec in SynthSpec::table_3d(0.0) {
            let t = Instant::now();
            let matrices = synthetic_trials(&spec, args.trials)?;
            per_method[0] += t.elapsed().as_secs_f64();
            let mut res = Vec::new();
            for (i, &m) in TABLE_METHODS.iter().enumerate() {
                let t = Instant::now();
                res.extend(run_trials(
                    &matrices,
                    &spec.task_space(),
                    50,
                    &[m],
                    Candidates::All,
                )?);
                per_method[i + 1] += t.elapsed().as_secs_f64();
            }
            let cells: Vec<String> = res
                .iter()
                .map(|r| {
                    let (m, ci) = r.final_ci();
                    format!("{m:.4} ± {ci:.4}")
                })
                .collect();
            println!(
                "{:<34} {:>16} {:>16} {:>16} {:>16} {:>16}",
                spec.to_string(),
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4]
            );
        }
        println!(
            "3-D table: {:.1} s wall (generating {:.1} s; Random {:.1} s, GP-MBTL {:.1} s, M-MBTL {:.1} s, M/GP-MBTL {:.1} s, Myopic Oracle {:.1} s)",
            start.elapsed().as_secs_f64(),
            per_method[0],
            per_method[1],
            per_method[2],
            per_method[3],
            per_method[4],
            per_method[5]
        );
    }
    if !args.no_7d {
        let spec = SynthSpec {
            family: Family::D7,
            f: SourceTerm::Constant,
            g: TargetTerm::Linear,
            h: GapTerm::L1,
            noise: 5.0,
        };
        let start = Instant::now();
        let mut m = vec![spec.generate(0)?];
        TransferMatrix::normalize_minmax_global(&mut m)?;
        let generated = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let mut s = MgpMbtl::new(Candidates::All, 1);
        let sel = run_selection(&mut s, &mut &m[0], &spec.task_space(), 50)?;
        let gp_steps = sel.modes.iter().filter(|m| m.as_str() == "GP-MBTL").count();
        println!(
            "7-D M/GP-MBTL, all 16 384 candidates, K = 50 ({spec}, trial 0): {:.1} s wall (+ {generated:.1} s to generate the matrix); V_50 = {:.4}; {gp_steps} GP-MBTL steps; peak memory {:.0} MiB",
            start.elapsed().as_secs_f64(),
            sel.curve[49],
            peak_rss_mib().unwrap_or(f64::NAN)
        );
    }
    Ok(ExitCode::SUCCESS)
}
