//! Offline replay: every requested strategy on one or more transfer matrices (trials of one
//! benchmark), as MBTL's `collect_result.py` does — but any matrix, any strategy, one call.

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Result, SelectError};
use crate::matrix::TransferMatrix;
use crate::metrics;
use crate::space::TaskSpace;
use crate::strategy::{
    curve_of, run_selection, Acquisition, Candidates, Equidistant, GapModel, GpMbtl, MMbtl, MbtlGp,
    MbtlGpOptions, MgpMbtl, Pseudogreedy, Random, Selection, SequentialOracle, Strategy,
};

/// The strategies `mbtl replay` knows, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    MbtlGp,
    GpMbtl,
    MMbtl,
    MgpMbtl,
    Independent,
    Oracle,
    SequentialOracle,
    Random,
    Pseudogreedy,
    Equidistant,
    Multitask,
}

impl StrategyName {
    pub const ALL: [StrategyName; 11] = [
        StrategyName::MbtlGp,
        StrategyName::GpMbtl,
        StrategyName::MMbtl,
        StrategyName::MgpMbtl,
        StrategyName::Independent,
        StrategyName::Oracle,
        StrategyName::SequentialOracle,
        StrategyName::Random,
        StrategyName::Pseudogreedy,
        StrategyName::Equidistant,
        StrategyName::Multitask,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrategyName::MbtlGp => "mbtl-gp",
            StrategyName::GpMbtl => "gp-mbtl",
            StrategyName::MMbtl => "m-mbtl",
            StrategyName::MgpMbtl => "mgp-mbtl",
            StrategyName::Independent => "independent",
            StrategyName::Oracle => "oracle",
            StrategyName::SequentialOracle => "sequential-oracle",
            StrategyName::Random => "random",
            StrategyName::Pseudogreedy => "pseudogreedy",
            StrategyName::Equidistant => "equidistant",
            StrategyName::Multitask => "multitask",
        }
    }

    /// What `mbtl replay` (and `mbtl.replay`) run when no strategy is named: the MBTL
    /// variants, Random and the sequential oracle; Pseudogreedy and Equidistant on 1-D spaces;
    /// Independent and Oracle.
    pub fn defaults(dim: usize) -> Vec<StrategyName> {
        let mut s = vec![
            StrategyName::MbtlGp,
            StrategyName::MgpMbtl,
            StrategyName::Random,
            StrategyName::SequentialOracle,
        ];
        if dim == 1 {
            s.extend([StrategyName::Pseudogreedy, StrategyName::Equidistant]);
        }
        s.extend([StrategyName::Independent, StrategyName::Oracle]);
        s
    }

    /// Constant levels that train all tasks (or one multi-task policy), not a sequence.
    pub fn is_constant(self) -> bool {
        matches!(
            self,
            StrategyName::Independent | StrategyName::Oracle | StrategyName::Multitask
        )
    }

    /// Whether the strategy needs every source's row (so an online run trains every task):
    /// Independent, Oracle and the sequential oracle.
    pub fn needs_every_row(self) -> bool {
        matches!(
            self,
            StrategyName::Independent | StrategyName::Oracle | StrategyName::SequentialOracle
        )
    }

    /// Whether the strategy can run on `space`, checked before anything is trained:
    /// Pseudogreedy and Equidistant split a 1-D range, so they refuse N-D spaces.
    pub fn check_space(self, space: &TaskSpace) -> Result<()> {
        if matches!(self, StrategyName::Pseudogreedy | StrategyName::Equidistant)
            && space.dim() != 1
        {
            return Err(SelectError::OneDimensional {
                strategy: self.name().into(),
                dims: space.dim(),
            });
        }
        Ok(())
    }

    /// A sequence that sees only the rows revealed so far (everything but the constants and
    /// the sequential oracle), so it can choose while the rows are being trained.
    pub fn is_online(self) -> bool {
        !self.is_constant() && self != StrategyName::SequentialOracle
    }
}

impl fmt::Display for StrategyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StrategyName {
    type Err = SelectError;
    fn from_str(s: &str) -> Result<Self> {
        StrategyName::ALL
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| SelectError::Invalid {
                what: "strategy",
                value: s.to_string(),
                expected: format!(
                    "one of {}",
                    StrategyName::ALL.map(StrategyName::name).join(", ")
                ),
            })
    }
}

/// How raw matrices are put on a common scale before a replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Normalization {
    /// As given.
    None,
    /// SD-MBTL: one global min and max over all matrices.
    MinMax,
    /// MBTL: `(±J − lower)/(upper − lower)` with per-benchmark bounds, then, with `clip`,
    /// clamped to `[0, 1]`. The authors' code does not clip (mbtl-spec §4.3), but bounds
    /// that do not bracket every return (a traffic policy that jams a heavier inflow scores
    /// far below the lower bound) leave values below 0 that dominate `V_k`; whether their
    /// published traffic curves were clipped is unknown (traffic-signal-spec U1), so both are
    /// offered.
    Bounds { lower: f64, upper: f64, clip: bool },
}

/// The map a [`Normalization`] applied to the matrices, for other values in raw units (a
/// multi-task vector): `x ↦ x·scale + shift`, clamped to `[0, 1]` when `clip`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rescale {
    pub scale: f64,
    pub shift: f64,
    pub clip: bool,
}

impl Rescale {
    pub fn map(&self, x: f64) -> f64 {
        let y = x * self.scale + self.shift;
        if self.clip {
            y.clamp(0.0, 1.0)
        } else {
            y
        }
    }
}

impl FromStr for Normalization {
    type Err = SelectError;
    /// `none`, `minmax`, `LOWER,UPPER`, or `LOWER,UPPER,clip`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Normalization::None),
            "minmax" => Ok(Normalization::MinMax),
            given => {
                let (bounds, clip) = match given.rsplit_once(',') {
                    Some((b, last)) if last.trim() == "clip" => (b, true),
                    _ => (given, false),
                };
                let parts: Vec<f64> = bounds
                    .split(',')
                    .map(|p| p.trim().parse::<f64>())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| SelectError::Invalid {
                        what: "normalize",
                        value: given.to_string(),
                        expected: "none, minmax, LOWER,UPPER or LOWER,UPPER,clip".into(),
                    })?;
                let [lower, upper] = parts[..] else {
                    return Err(SelectError::Invalid {
                        what: "normalize",
                        value: given.to_string(),
                        expected: "two bounds LOWER,UPPER (and optionally ,clip)".into(),
                    });
                };
                Ok(Normalization::Bounds { lower, upper, clip })
            }
        }
    }
}

impl Normalization {
    /// Normalises `matrices` in place (`negate` first for bounds, e.g. costs) and returns the
    /// map it applied, so that other values in raw units (a multi-task vector) go on the same
    /// scale.
    pub fn apply(self, matrices: &mut [TransferMatrix], negate: bool) -> Result<Rescale> {
        let affine = |scale, shift| Rescale {
            scale,
            shift,
            clip: false,
        };
        match self {
            Normalization::None => Ok(affine(1.0, 0.0)),
            Normalization::MinMax => {
                let (lo, hi) = TransferMatrix::normalize_minmax_global(matrices)?;
                Ok(affine(1.0 / (hi - lo), -lo / (hi - lo)))
            }
            Normalization::Bounds { lower, upper, clip } => {
                for m in matrices.iter_mut() {
                    m.normalize_bounds(lower, upper, negate)?;
                    if clip {
                        m.clip_unit();
                    }
                }
                let sign = if negate { -1.0 } else { 1.0 };
                Ok(Rescale {
                    clip,
                    ..affine(sign / (upper - lower), -lower / (upper - lower))
                })
            }
        }
    }
}

/// Settings shared by the strategies of one replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    /// Number of tasks to select (K).
    pub budget: usize,
    /// MBTL-GP's generalization-gap model.
    pub gap: GapModel,
    pub acquisition: Acquisition,
    /// Base seed: trial `t` of Random uses `seed + t·repeats + r`, MBTL-GP's restarts `seed`.
    pub seed: u32,
    /// Random orders per matrix, averaged (1 = SD-MBTL's harness).
    pub random_repeats: usize,
    pub candidates: Candidates,
    /// Per-target performance of a multi-task policy, for `multitask`.
    pub multitask: Option<Vec<f64>>,
    /// How runs are seeded, and what the sequential oracle knows.
    pub harness: Harness,
}

/// Whose conventions a multi-trial run follows: seeds, and the sequential oracle's knowledge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Harness {
    /// mbtl's: trial `t`, repeat `r` of a strategy draws from `seed + t·repeats + r` (MBTL-GP's
    /// restarts from `seed`); the sequential oracle knows its own trial's matrix.
    #[default]
    Mbtl,
    /// SD-MBTL's tables: Random from `(t + 1)·50`, the other strategies from `t + 1`; the
    /// (myopic) sequential oracle chooses one order knowing every trial's matrix, and that
    /// order is scored on each.
    SdMbtl,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            budget: 10,
            gap: GapModel::Fixed(0.005),
            acquisition: Acquisition::SqrtLog,
            seed: 42,
            random_repeats: 1,
            candidates: Candidates::All,
            multitask: None,
            harness: Harness::Mbtl,
        }
    }
}

/// One strategy over all matrices (or an online run's trials): the one result type of a
/// selection, whatever produced the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyResult {
    pub strategy: String,
    /// Selection order on the first matrix.
    pub order: Vec<usize>,
    /// Mean curve over matrices (and repeats).
    pub curve: Vec<f64>,
    /// 95 % CI half-width of the curve over matrices (0 for one matrix).
    pub curve_ci95: Vec<f64>,
    /// Mean of the curve over k (MBTL's `Average`).
    pub average: f64,
    /// Every run: one per matrix (per repeat for Random).
    pub trials: Vec<Selection>,
}

impl StrategyResult {
    /// `V_K` of every run.
    pub fn final_values(&self) -> Vec<f64> {
        self.trials
            .iter()
            .map(|s| *s.curve.last().unwrap_or(&f64::NAN))
            .collect()
    }

    /// The curve's average (MBTL's `Average`) of every run.
    pub fn averages(&self) -> Vec<f64> {
        self.trials
            .iter()
            .map(|s| metrics::average(&s.curve))
            .collect()
    }

    /// Mean and 95 % confidence half-width of `V_K` over the runs.
    pub fn final_ci(&self) -> (f64, f64) {
        metrics::mean_ci95(&self.final_values())
    }

    /// Mean and 95 % confidence half-width of the average over the runs.
    pub fn average_ci(&self) -> (f64, f64) {
        metrics::mean_ci95(&self.averages())
    }
}

fn constant(name: StrategyName, m: &TransferMatrix, opts: &ReplayOptions) -> Result<Selection> {
    let v = match name {
        StrategyName::Independent => metrics::independent(m),
        StrategyName::Oracle => metrics::oracle_transfer(m),
        _ => {
            let per_target = opts
                .multitask
                .as_ref()
                .ok_or_else(|| SelectError::Missing {
                    who: "strategy 'multitask'",
                    what: "the multi-task policy's per-target performance",
                })?;
            if per_target.len() != m.n() {
                return Err(SelectError::Size {
                    what: "values in the multi-task vector (one per task)".into(),
                    expected: m.n(),
                    found: per_target.len(),
                });
            }
            metrics::multitask(per_target)
        }
    };
    Ok(constant_selection(name, v, opts.budget, m.n()))
}

/// A constant level (Independent, Oracle, Multi-task) as a selection: the same value at every
/// k; its order lists every task (none for Multi-task, which trains one pooled policy).
pub fn constant_selection(name: StrategyName, value: f64, budget: usize, n: usize) -> Selection {
    let order = if name == StrategyName::Multitask {
        Vec::new()
    } else {
        (0..n).collect()
    };
    Selection {
        strategy: name.name().into(),
        order,
        curve: vec![value; budget],
        modes: Vec::new(),
    }
}

/// Builds a sequential strategy that needs no oracle knowledge (everything but the constants
/// and the sequential oracle, which `None` stands for), seeded for `trial` and `repeat` as
/// [`replay`] seeds it. Online runs build their strategies here too, so that a replay of their
/// matrix makes the same choices.
pub fn build_strategy(
    name: StrategyName,
    trial: usize,
    repeat: usize,
    opts: &ReplayOptions,
) -> Option<Box<dyn Strategy>> {
    name.is_online().then(|| build(name, trial, repeat, opts))
}

fn build(
    name: StrategyName,
    trial: usize,
    repeat: usize,
    opts: &ReplayOptions,
) -> Box<dyn Strategy> {
    let seed = match opts.harness {
        Harness::Mbtl => opts
            .seed
            .wrapping_add((trial * opts.random_repeats + repeat) as u32),
        Harness::SdMbtl if name == StrategyName::Random => (trial as u32 + 1) * 50,
        Harness::SdMbtl => trial as u32 + 1,
    };
    match name {
        StrategyName::MbtlGp => Box::new(MbtlGp::new(MbtlGpOptions {
            acquisition: opts.acquisition,
            gap: opts.gap,
            seed: opts.seed,
            ..Default::default()
        })),
        StrategyName::GpMbtl => Box::new(GpMbtl::new()),
        StrategyName::MMbtl => Box::new(MMbtl::new(opts.candidates, seed)),
        StrategyName::MgpMbtl => Box::new(MgpMbtl::new(opts.candidates, seed)),
        StrategyName::Random => Box::new(Random::new(seed)),
        StrategyName::Pseudogreedy => Box::new(Pseudogreedy),
        StrategyName::Equidistant => Box::new(Equidistant {
            budget: opts.budget,
        }),
        _ => unreachable!("constants and oracles are built elsewhere"),
    }
}

/// Every run of `name` on the matrix of trial `t`: one selection, or `random_repeats` of
/// them for Random. The one dispatcher over strategy kinds (constants, the sequential oracle,
/// sequential strategies), shared by [`replay`] and online runs.
pub fn run_on_matrix(
    name: StrategyName,
    t: usize,
    m: &TransferMatrix,
    space: &TaskSpace,
    opts: &ReplayOptions,
) -> Result<Vec<Selection>> {
    if name.is_constant() {
        return Ok(vec![constant(name, m, opts)?]);
    }
    if name == StrategyName::SequentialOracle {
        let mut s = SequentialOracle::new(vec![m.clone()])?;
        return Ok(vec![run_selection(&mut s, &mut &*m, space, opts.budget)?]);
    }
    let repeats = if name == StrategyName::Random {
        opts.random_repeats.max(1)
    } else {
        1
    };
    (0..repeats)
        .map(|r| {
            let mut s = build(name, t, r, opts);
            run_selection(s.as_mut(), &mut &*m, space, opts.budget)
        })
        .collect()
}

/// One strategy's runs over `n_matrices` trials as one result: repeats of a matrix averaged
/// first, so that the mean and its 95 % confidence half-width are over trials.
pub fn summarize(
    name: StrategyName,
    trials: Vec<Selection>,
    n_matrices: usize,
    budget: usize,
) -> StrategyResult {
    let per_matrix = (trials.len() / n_matrices.max(1)).max(1);
    let matrix_curves: Vec<Vec<f64>> = trials
        .chunks(per_matrix)
        .map(|c| {
            (0..budget)
                .map(|k| c.iter().map(|s| s.curve[k]).sum::<f64>() / c.len() as f64)
                .collect()
        })
        .collect();
    let (curve, curve_ci95): (Vec<f64>, Vec<f64>) = (0..budget)
        .map(|k| metrics::mean_ci95(&matrix_curves.iter().map(|c| c[k]).collect::<Vec<_>>()))
        .unzip();
    StrategyResult {
        strategy: name.name().into(),
        order: trials.first().map(|s| s.order.clone()).unwrap_or_default(),
        average: metrics::average(&curve),
        curve,
        curve_ci95,
        trials,
    }
}

/// Runs `names` on every matrix.
pub fn replay(
    matrices: &[TransferMatrix],
    space: &TaskSpace,
    names: &[StrategyName],
    opts: &ReplayOptions,
) -> Result<Vec<StrategyResult>> {
    let n = TransferMatrix::common_size(matrices, "replay")?;
    space.check_len(n)?;
    if opts.budget == 0 || opts.budget > n {
        return Err(SelectError::Budget {
            budget: opts.budget,
            tasks: n,
        });
    }
    let mut results = Vec::new();
    for &name in names {
        let trials: Vec<Selection> =
            if name == StrategyName::SequentialOracle && opts.harness == Harness::SdMbtl {
                // One order chosen knowing every trial, scored on each.
                let order = SequentialOracle::new(matrices.to_vec())?.order(opts.budget);
                matrices
                    .iter()
                    .map(|m| Selection {
                        strategy: name.name().into(),
                        order: order.clone(),
                        curve: curve_of(m, &order),
                        modes: Vec::new(),
                    })
                    .collect()
            } else {
                // Trials are independent and each is deterministic: in parallel, in order.
                let per_matrix: Vec<Vec<Selection>> = matrices
                    .par_iter()
                    .enumerate()
                    .map(|(t, m)| run_on_matrix(name, t, m, space, opts))
                    .collect::<Result<_>>()?;
                per_matrix.into_iter().flatten().collect()
            };
        results.push(summarize(name, trials, matrices.len(), opts.budget));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_normalisation_clips_only_when_asked() {
        let raw = TransferMatrix::from_fn(2, |s, t| [[-5.0, -50.0], [-500.0, 20.0]][s][t]).unwrap();
        let parse = |s: &str| s.parse::<Normalization>().unwrap();
        assert_eq!(
            parse("-100, 0"),
            Normalization::Bounds {
                lower: -100.0,
                upper: 0.0,
                clip: false
            }
        );
        let mut plain = [raw.clone()];
        let unclipped = parse("-100,0").apply(&mut plain, false).unwrap();
        assert_eq!(plain[0].data(), &[0.95, 0.5, -4.0, 1.2]);
        let mut clipped = [raw];
        let rescale = parse("-100,0,clip").apply(&mut clipped, false).unwrap();
        assert_eq!(clipped[0].data(), &[0.95, 0.5, 0.0, 1.0]);
        // A multi-task vector goes on the same scale, clipped alike.
        assert_eq!(unclipped.map(-500.0), -4.0);
        assert_eq!((rescale.map(-500.0), rescale.map(-50.0)), (0.0, 0.5));
        for bad in ["-100,0,clap", "clip", "-100,clip", "1,2,3"] {
            assert!(
                matches!(
                    bad.parse::<Normalization>(),
                    Err(SelectError::Invalid {
                        what: "normalize",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn replays_every_strategy_on_a_small_matrix() {
        let n = 12;
        let m = TransferMatrix::from_fn(n, |s, t| {
            (0.9 - 0.05 * (s as f64 - t as f64).abs()).max(0.0)
        })
        .unwrap();
        let opts = ReplayOptions {
            budget: 4,
            multitask: Some(vec![0.5; n]),
            ..Default::default()
        };
        let res = replay(
            &[m.clone(), m],
            &TaskSpace::indices(n),
            &StrategyName::ALL,
            &opts,
        )
        .unwrap();
        assert_eq!(res.len(), 11);
        for r in &res {
            assert_eq!(r.curve.len(), 4, "{}", r.strategy);
            if !["independent", "oracle", "multitask"].contains(&r.strategy.as_str()) {
                assert_eq!(r.order.len(), 4, "{}", r.strategy);
                assert!(
                    r.curve.windows(2).all(|w| w[1] >= w[0] - 1e-12),
                    "{} not monotone",
                    r.strategy
                );
            }
        }
        assert!("nope"
            .parse::<StrategyName>()
            .unwrap_err()
            .to_string()
            .contains("mgp-mbtl"));
        let bad = ReplayOptions {
            budget: 13,
            ..Default::default()
        };
        assert!(replay(
            &[TransferMatrix::from_fn(n, |_, _| 1.0).unwrap()],
            &TaskSpace::indices(n),
            &[StrategyName::Random],
            &bad
        )
        .is_err());
    }
}
