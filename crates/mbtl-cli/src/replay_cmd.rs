//! `mbtl replay`: every strategy on one or more transfer matrices; a table on stdout, CSV,
//! PNG/SVG curves and (with `--json`) one object per strategy.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::write_file;
use anyhow::{bail, Context, Result};
use clap::Args;
use mbtl_select::replay::{replay, Normalization, ReplayOptions, StrategyName};
use mbtl_select::{
    metrics, Acquisition, Candidates, GapModel, NanPolicy, TaskSpace, TransferMatrix,
};

use mbtl_run::plot::{self, Series};

#[derive(Args)]
pub(crate) struct ReplayArgs {
    /// Transfer matrices (.csv: MBTL's N×N, no header, row = source; .npy): trials of one
    /// benchmark, averaged.
    #[arg(required = true)]
    pub(crate) matrices: Vec<PathBuf>,
    /// Strategies (repeatable or comma-separated): mbtl-gp, gp-mbtl, m-mbtl, mgp-mbtl,
    /// independent, oracle, sequential-oracle, random, pseudogreedy, equidistant, multitask.
    #[arg(long = "strategy", value_delimiter = ',')]
    pub(crate) strategies: Vec<StrategyName>,
    /// Number of tasks to select (K).
    #[arg(long)]
    pub(crate) budget: usize,
    /// MBTL-GP's generalization-gap slope θ per unit of context coordinate (fixed gap).
    #[arg(long, default_value_t = 0.005)]
    pub(crate) slope: f64,
    /// MBTL-GP's gap model: fixed (θ = --slope), estimated, learned.
    #[arg(long, default_value = "fixed")]
    pub(crate) gap: String,
    /// MBTL-GP's exploration schedule: zero, one, inverse-k, sqrt-log, sampled.
    #[arg(long, default_value = "sqrt-log")]
    pub(crate) acquisition: Acquisition,
    /// Tasks form this N-D grid (row-major, last fastest), e.g. 8,8,8; default: 1-D indices.
    #[arg(long, value_delimiter = ',')]
    pub(crate) grid: Vec<usize>,
    /// Task coordinates for the strategies (e.g. physical context values): a CSV of N rows of
    /// d numbers, no header. Default: 1-D task indices (MBTL's convention), or --grid.
    #[arg(long, conflicts_with = "grid")]
    pub(crate) coords: Option<PathBuf>,
    /// Normalisation: none, minmax (global over the matrices), LOWER,UPPER bounds, or
    /// LOWER,UPPER,clip (bounds, then values clamped to [0, 1]).
    #[arg(long, default_value = "none")]
    pub(crate) normalize: String,
    /// Negate raw values before bound normalisation (costs, e.g. waiting times).
    #[arg(long)]
    pub(crate) negate: bool,
    /// NaN cells: refuse, min, or a value to impute.
    #[arg(long, default_value = "refuse")]
    pub(crate) nan: NanPolicy,
    /// Seed (Random orders, M-MBTL starts, MBTL-GP restarts). The default, 42, is the seed the
    /// MBTL authors' code gives NumPy, so a replay reproduces their outputs; experiments keep
    /// their own `seed` (default 0), which `mbtl matrix` passes on in the command it prints.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u32,
    /// Random orders per matrix, averaged.
    #[arg(long, default_value_t = 1)]
    pub(crate) random_repeats: usize,
    /// M-MBTL candidate starts: all, or a number for a random subset.
    #[arg(long, default_value = "all")]
    pub(crate) candidates: String,
    /// Per-target performance of a multi-task policy (N numbers, raw units), for `multitask`.
    #[arg(long)]
    pub(crate) multitask: Option<PathBuf>,
    /// Folder for curves.csv, orders.csv, curves.png and curves.svg.
    #[arg(long, default_value = "mbtl-replay")]
    pub(crate) out: PathBuf,
    /// Print the results as JSON (one object per strategy: strategy, order, curve, …) instead
    /// of the table; `results.json` in the output folder holds the same either way.
    #[arg(long)]
    pub(crate) json: bool,
    /// Set the MBTL paper's digitized curves of this panel beside the results (figure and a
    /// side-by-side table), e.g. CartPole_MassCart, Pendulum_Timestep, TrafficSignal_Inflow.
    #[arg(long, value_name = "PANEL")]
    pub(crate) paper: Option<String>,
}

/// Most Random orders averaged per matrix.
const MAX_RANDOM_REPEATS: usize = 100_000;

/// Numbers in any layout (one row, one column, or a grid), in reading order.
fn read_vector(path: &Path) -> Result<Vec<f64>> {
    Ok(read_points(path)?.concat())
}

/// Rows of comma- or space-separated numbers.
fn read_points(path: &Path) -> Result<Vec<Vec<f64>>> {
    let text = fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(r, line)| {
            line.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .enumerate()
                .map(|(c, t)| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .with_context(|| {
                            format!(
                                "{}: row {r}, column {c}: '{t}' is not a finite number",
                                path.display()
                            )
                        })
                })
                .collect()
        })
        .collect()
}

pub(crate) fn run(args: ReplayArgs) -> Result<ExitCode> {
    let paper = args
        .paper
        .as_deref()
        .map(mbtl_select::paper::panel)
        .transpose()
        .context("--paper")?;
    let mut matrices = args
        .matrices
        .iter()
        .map(|p| TransferMatrix::read(p, args.nan))
        .collect::<Result<Vec<_>, _>>()?;
    let mut multitask = args.multitask.as_deref().map(read_vector).transpose()?;
    // The multi-task vector goes through the same normalisation as the matrices.
    let normalization: Normalization = args
        .normalize
        .parse()
        .map_err(|e| anyhow::anyhow!("--{e}"))?;
    // Values outside [0, 1] mean bounds that do not bracket the returns. Under clipping they
    // are counted on an unclipped copy (only then: a matrix may be gigabytes), so that the
    // replay says what clipping changed.
    let clip = matches!(normalization, Normalization::Bounds { clip: true, .. });
    let unclipped: Option<Vec<TransferMatrix>> = match normalization {
        Normalization::Bounds { lower, upper, .. } if clip => {
            let mut copy = matrices.clone();
            Normalization::Bounds {
                lower,
                upper,
                clip: false,
            }
            .apply(&mut copy, args.negate)?;
            Some(copy)
        }
        _ => None,
    };
    let rescale = normalization.apply(&mut matrices, args.negate)?;
    if !matches!(normalization, Normalization::None) {
        let counted = unclipped.as_ref().unwrap_or(&matrices);
        for (m, path) in counted.iter().zip(&args.matrices) {
            if let Some((cells, lo, hi)) = m.outside_unit() {
                let (lead, then) = if clip {
                    ("note", "and were clipped to it")
                } else {
                    ("warning", "so V_k can leave [0, 1]")
                };
                eprintln!(
                    "{lead}: {}: {cells} of {} normalised values lie outside [0, 1] (from {lo:.3} to {hi:.3}): the bounds --normalize={} do not bracket the returns, {then}",
                    path.display(),
                    m.n() * m.n(),
                    args.normalize
                );
            }
        }
    }
    if let Some(v) = &mut multitask {
        for x in v.iter_mut() {
            *x = rescale.map(*x);
        }
    }
    let n = matrices[0].n();
    let space = match (&args.coords, args.grid.is_empty()) {
        (Some(path), _) => {
            TaskSpace::points(&read_points(path)?).with_context(|| format!("{}", path.display()))?
        }
        (None, true) => TaskSpace::indices(n),
        (None, false) => TaskSpace::grid(&args.grid)?,
    };
    if !(args.slope.is_finite() && args.slope >= 0.0) {
        bail!("--slope {}: need a finite θ ≥ 0", args.slope);
    }
    if args.random_repeats == 0 || args.random_repeats > MAX_RANDOM_REPEATS {
        bail!(
            "--random-repeats {}: need between 1 and {MAX_RANDOM_REPEATS}",
            args.random_repeats
        );
    }
    let gap = match args.gap.as_str() {
        "fixed" => GapModel::Fixed(args.slope),
        "estimated" => GapModel::Estimated,
        "learned" => GapModel::Learned,
        other => bail!("--gap '{other}': expected fixed, estimated or learned"),
    };
    let candidates: Candidates = args.candidates.parse()?;
    let strategies = if args.strategies.is_empty() {
        StrategyName::defaults(space.dim())
    } else {
        args.strategies.clone()
    };
    for s in &strategies {
        s.check_space(&space).context("--strategy")?;
    }
    let opts = ReplayOptions {
        budget: args.budget,
        gap,
        acquisition: args.acquisition,
        seed: args.seed,
        random_repeats: args.random_repeats,
        candidates,
        multitask,
        ..Default::default()
    };
    let results = replay(&matrices, &space, &strategies, &opts)?;

    // The reference for sample efficiency: the better of Independent and Multi-task.
    let independent =
        matrices.iter().map(metrics::independent).sum::<f64>() / matrices.len() as f64;
    let reference = opts
        .multitask
        .as_ref()
        .map_or(independent, |v| independent.max(metrics::multitask(v)));
    // The table is built first and printed at the end (or replaced by JSON with --json).
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} matri{} of {n} tasks, K = {}; sample efficiency N/k* against {:.4} (best of Independent{})",
        matrices.len(),
        if matrices.len() == 1 { "x" } else { "ces" },
        opts.budget,
        reference,
        if opts.multitask.is_some() { ", Multi-task" } else { "" }
    );
    // SD-MBTL's aggregated metric at K when both anchors were run: Random = 0, oracle = 1.
    let at_k = |s: StrategyName| {
        results
            .iter()
            .find(|r| r.strategy == s.name())
            .map(|r| r.curve[opts.budget - 1])
    };
    let anchors = at_k(StrategyName::Random).zip(at_k(StrategyName::SequentialOracle));
    let _ = writeln!(
        text,
        "{:<18} {:>8} {:>8} {:>8} {:>6} {:>8} {:>7}  first tasks",
        "strategy", "V_1", "V_K", "Average", "k*", "N/k*", "Agg@K"
    );
    for r in &results {
        let eff = metrics::sample_efficiency(&r.curve, n, reference);
        // Undefined (–) without both anchors, or when Random already equals the oracle at K.
        let agg = anchors
            .map(|(rand, oracle)| metrics::aggregated(r.curve[opts.budget - 1], rand, oracle))
            .filter(|a| a.is_finite())
            .map_or("–".to_string(), |a| format!("{a:.3}"));
        let constant = r
            .strategy
            .parse::<StrategyName>()
            .is_ok_and(StrategyName::is_constant);
        let first: Vec<String> = r.order.iter().take(8).map(usize::to_string).collect();
        let _ = writeln!(
            text,
            "{:<18} {:>8.4} {:>8.4} {:>8.4} {:>6} {:>8} {:>7}  {}",
            r.strategy,
            r.curve[0],
            r.curve[opts.budget - 1],
            r.average,
            if constant {
                "-".into()
            } else {
                eff.map_or("-".into(), |(k, _)| k.to_string())
            },
            if constant {
                "-".into()
            } else {
                eff.map_or("-".into(), |(_, e)| format!("{e:.1}x"))
            },
            agg,
            if constant {
                String::new()
            } else {
                first.join(" ")
            }
        );
    }
    if anchors.is_some() {
        text.push_str("Agg@K: (V_K − Random) / (Sequential Oracle − Random) at K (SD-MBTL's aggregated metric); – where Random already reaches the oracle\n");
    }

    fs::create_dir_all(&args.out).with_context(|| format!("{}", args.out.display()))?;
    let mut csv = String::from("k");
    for r in &results {
        csv.push_str(&format!(",{},{}_ci95", r.strategy, r.strategy));
    }
    csv.push('\n');
    for k in 0..opts.budget {
        csv.push_str(&(k + 1).to_string());
        for r in &results {
            csv.push_str(&format!(",{},{}", r.curve[k], r.curve_ci95[k]));
        }
        csv.push('\n');
    }
    write_file(&args.out.join("curves.csv"), csv.as_bytes())?;
    let mut orders = String::from("strategy,trial,order\n");
    for r in &results {
        for (t, s) in r.trials.iter().enumerate() {
            let o: Vec<String> = s.order.iter().map(usize::to_string).collect();
            orders.push_str(&format!("{},{t},{}\n", r.strategy, o.join(" ")));
        }
    }
    write_file(&args.out.join("orders.csv"), orders.as_bytes())?;
    let paper_curves: Vec<Vec<(usize, f64)>> = results
        .iter()
        .map(|r| match (&paper, r.strategy.parse::<StrategyName>()) {
            (Some(p), Ok(s)) => p.curve(s),
            _ => Vec::new(),
        })
        .collect();
    if let Some(p) = &paper {
        let ours: Vec<(StrategyName, Vec<f64>)> = results
            .iter()
            .filter_map(|r| r.strategy.parse().ok().map(|s| (s, r.curve.clone())))
            .collect();
        text.push('\n');
        text.push_str(&p.side_by_side(&ours));
    }
    let series: Vec<Series<'_>> = results
        .iter()
        .zip(&paper_curves)
        .map(|(r, p)| Series {
            name: &r.strategy,
            values: &r.curve,
            band: (matrices.len() > 1).then_some(&r.curve_ci95[..]),
            paper: (!p.is_empty()).then_some(&p[..]),
        })
        .collect();
    plot::curves(
        &args.out.join("curves"),
        &format!("Generalization vs trained tasks ({n} tasks)"),
        "trained source tasks k",
        "normalized performance V_k",
        &series,
    )?;
    let json = serde_json::to_string_pretty(&results)?;
    write_file(&args.out.join("results.json"), json.as_bytes())?;
    if args.json {
        println!("{json}");
    } else {
        print!("{text}");
    }
    eprintln!(
        "wrote {}/curves.csv, orders.csv, results.json, curves.png, curves.svg",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
