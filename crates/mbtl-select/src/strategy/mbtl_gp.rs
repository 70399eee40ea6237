//! MBTL-GP as in the NeurIPS 2024 code (mbtl-spec §2.3–2.4): the first task is the one nearest
//! the middle of the range; then a GP on the trained tasks' performance (scikit-learn recipe)
//! and a generalization-gap model give the estimated marginal gain (eq. 5)
//! `a_i = (1/N) Σ_j max(μ_i + λ_k σ_i − gap(i, j) − U_j, 0)`, `U_j = max(0, max_trained J[·, j])`,
//! and the untrained task with the largest `a_i` is trained next.
//!
//! Differences from the Python code, on purpose: ties go to the lowest index (numpy's unstable
//! argsort breaks them arbitrarily); the `sampled` schedule draws |N(0, 1)| from a seeded
//! generator (the code uses scipy's truncnorm on the global one); the `estimated` gap model
//! does not leak the last slope into the next step's θ.

use super::{argmax_allowed, nearest_task, History, Strategy};
use crate::error::{Result, SelectError};
use crate::gp::sklearn::SklearnGp;
use crate::gp::Hyper;
use crate::structure::{fit_slopes, Slopes};
use mbtl_rng::RandomState;

/// The exploration weight λ_k of the acquisition (k = tasks trained so far).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Acquisition {
    /// λ = 0 (`new`).
    Zero,
    /// λ = 1 (`new_ucb`).
    One,
    /// λ = 1/(k+1) (`new_ucb_beta`).
    InverseK,
    /// λ = √ln(k+1) (`new_ucb_beta_log`, the paper's default).
    SqrtLog,
    /// The acquisition averaged over `draws` values λ ~ |N(0, 1)| (`new_ucb_dist`).
    Sampled { draws: usize },
}

impl Acquisition {
    pub fn lambda(self, k: usize) -> f64 {
        match self {
            Acquisition::Zero | Acquisition::Sampled { .. } => 0.0,
            Acquisition::One => 1.0,
            Acquisition::InverseK => 1.0 / (k as f64 + 1.0),
            Acquisition::SqrtLog => (k as f64 + 1.0).ln().sqrt(),
        }
    }
}

impl std::fmt::Display for Acquisition {
    /// The name [`Acquisition::from_str`](std::str::FromStr) reads back (`sampled` always means
    /// 500 draws there).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Acquisition::Zero => "zero",
            Acquisition::One => "one",
            Acquisition::InverseK => "inverse-k",
            Acquisition::SqrtLog => "sqrt-log",
            Acquisition::Sampled { .. } => "sampled",
        })
    }
}

impl std::str::FromStr for Acquisition {
    type Err = SelectError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "zero" | "0" => Ok(Acquisition::Zero),
            "one" | "1" => Ok(Acquisition::One),
            "inverse-k" | "1/(k+1)" => Ok(Acquisition::InverseK),
            "sqrt-log" | "sqrt(ln(k+1))" => Ok(Acquisition::SqrtLog),
            "sampled" => Ok(Acquisition::Sampled { draws: 500 }),
            _ => Err(SelectError::Invalid {
                what: "acquisition",
                value: s.to_string(),
                expected: "zero, one, inverse-k, sqrt-log or sampled".into(),
            }),
        }
    }
}

/// How the generalization gap `ΔĴ(x, x')` is modelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GapModel {
    /// `θ·‖x − x'‖₁` with a fixed slope θ (the paper's setting).
    Fixed(f64),
    /// Per trained source, the least-squares slope of `|J[s, t] − J[s, s]|` against `|s − t|`;
    /// each candidate uses the slope of its nearest trained source (`linear_estimated`).
    Estimated,
    /// SD-MBTL's learned asymmetric per-dimension slopes from all revealed rows.
    Learned,
}

impl std::fmt::Display for GapModel {
    /// `fixed:θ`, `estimated` or `learned`: what [`GapModel::from_str`](std::str::FromStr)
    /// reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GapModel::Fixed(theta) => write!(f, "fixed:{theta:?}"),
            GapModel::Estimated => f.write_str("estimated"),
            GapModel::Learned => f.write_str("learned"),
        }
    }
}

impl std::str::FromStr for GapModel {
    type Err = SelectError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "estimated" => Ok(GapModel::Estimated),
            "learned" => Ok(GapModel::Learned),
            _ => {
                let theta = s
                    .strip_prefix("fixed:")
                    .and_then(|t| t.parse::<f64>().ok())
                    .filter(|t| t.is_finite() && *t >= 0.0);
                theta
                    .map(GapModel::Fixed)
                    .ok_or_else(|| SelectError::Invalid {
                        what: "gap",
                        value: s.to_string(),
                        expected: "fixed:θ (θ ≥ 0), estimated or learned".into(),
                    })
            }
        }
    }
}

/// Options of [`MbtlGp`].
#[derive(Debug, Clone, PartialEq)]
pub struct MbtlGpOptions {
    pub acquisition: Acquisition,
    pub gap: GapModel,
    pub gp: SklearnGp,
    /// Seed of the generator for GP restarts and sampled λ (the authors seed NumPy with 42).
    pub seed: u32,
}

impl Default for MbtlGpOptions {
    fn default() -> Self {
        MbtlGpOptions {
            acquisition: Acquisition::SqrtLog,
            gap: GapModel::Fixed(0.005),
            gp: SklearnGp::default(),
            seed: 42,
        }
    }
}

/// One step's model, for conformance checks and reports.
#[derive(Debug, Clone, PartialEq)]
pub struct GpStep {
    /// Tasks trained before this step.
    pub k: usize,
    pub lambda: f64,
    pub hyper: Hyper,
    pub log_marginal_likelihood: f64,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub acquisition: Vec<f64>,
    pub chosen: usize,
}

/// MBTL-GP.
#[derive(Debug, Clone)]
pub struct MbtlGp {
    options: MbtlGpOptions,
    rng: RandomState,
    trace: Vec<GpStep>,
}

impl MbtlGp {
    pub fn new(options: MbtlGpOptions) -> MbtlGp {
        MbtlGp {
            rng: RandomState::new(options.seed),
            options,
            trace: Vec::new(),
        }
    }

    /// The GP and acquisition of every step after the first.
    pub fn trace(&self) -> &[GpStep] {
        &self.trace
    }
}

/// The gap `ΔĴ(i, j)` of candidate `i` on target `j` under `model`.
fn gap_fn<'a>(model: GapModel, h: &History<'a>) -> Box<dyn Fn(usize, usize) -> f64 + 'a> {
    let space = h.space;
    let l1 = move |i: usize, j: usize| -> f64 {
        space
            .coord(i)
            .iter()
            .zip(space.coord(j))
            .map(|(a, b)| (a - b).abs())
            .sum()
    };
    match model {
        GapModel::Fixed(theta) => Box::new(move |i, j| theta * l1(i, j)),
        GapModel::Estimated => {
            let slopes: Vec<(usize, f64)> = h
                .chosen
                .iter()
                .zip(h.rows)
                .map(|(&s, row)| {
                    let xs: Vec<f64> = (0..row.len()).map(|t| l1(s, t)).collect();
                    let ys: Vec<f64> = row.iter().map(|v| (v - row[s]).abs()).collect();
                    (s, polyfit1_slope(&xs, &ys))
                })
                .collect();
            let nearest: Vec<f64> = (0..h.n())
                .map(|i| {
                    let mut best = (f64::INFINITY, 0.0);
                    for &(s, slope) in &slopes {
                        let d = l1(i, s);
                        if d < best.0 {
                            best = (d, slope);
                        }
                    }
                    best.1
                })
                .collect();
            Box::new(move |i, j| nearest[i] * l1(i, j))
        }
        GapModel::Learned => {
            let slopes: Slopes = fit_slopes(space, h.chosen, h.rows);
            Box::new(move |i, j| -slopes.term(space.coord(i), space.coord(j)))
        }
    }
}

/// Slope of the least-squares line through `(x, y)`.
fn polyfit1_slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

impl Strategy for MbtlGp {
    fn name(&self) -> String {
        "mbtl-gp".into()
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        let n = h.n();
        let dim = h.space.dim();
        if h.k() == 0 {
            let mid: Vec<f64> = (0..dim)
                .map(|d| {
                    let vals = (0..n).map(|t| h.space.coord(t)[d]);
                    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                        (a.min(v), b.max(v))
                    });
                    (lo + hi) / 2.0
                })
                .collect();
            return Ok(nearest_task(h.space, &mid));
        }
        if h.k() >= n {
            return Err(SelectError::Exhausted {
                strategy: self.name(),
            });
        }
        // GP targets: the best-so-far value at each trained task right after it was trained.
        let x: Vec<f64> = h
            .chosen
            .iter()
            .flat_map(|&t| h.space.coord(t).to_vec())
            .collect();
        let y: Vec<f64> = (0..h.k())
            .map(|l| {
                (0..=l)
                    .map(|i| h.rows[i][h.chosen[l]])
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect();
        let post = self.options.gp.fit(&x, dim, &y, &mut self.rng)?;
        let (mean, std) = post.predict(h.space.coords(), false);
        let u: Vec<f64> = h.best.iter().map(|b| b.max(0.0)).collect();
        let lambdas: Vec<f64> = match self.options.acquisition {
            Acquisition::Sampled { draws } => (0..draws)
                .map(|_| self.rng.standard_normal().abs())
                .collect(),
            _ => Vec::new(),
        };
        let gap = gap_fn(self.options.gap, h);
        let gain = |i: usize, lambda: f64| -> f64 {
            let top = mean[i] + lambda * std[i];
            (0..n)
                .map(|j| (top - gap(i, j) - u[j]).max(0.0))
                .sum::<f64>()
                / n as f64
        };
        let lambda = self.options.acquisition.lambda(h.k());
        let acquisition: Vec<f64> = match self.options.acquisition {
            Acquisition::Sampled { .. } => (0..n)
                .map(|i| lambdas.iter().map(|&l| gain(i, l)).sum::<f64>())
                .collect(),
            _ => (0..n).map(|i| gain(i, lambda)).collect(),
        };
        drop(gap);
        let chosen = argmax_allowed(&acquisition, |i| !h.is_chosen(i)).ok_or_else(|| {
            SelectError::NoFiniteAcquisition {
                strategy: self.name(),
            }
        })?;
        self.trace.push(GpStep {
            k: h.k(),
            lambda,
            hyper: post.hyper(),
            log_marginal_likelihood: post.log_marginal_likelihood,
            mean,
            std,
            acquisition,
            chosen,
        });
        Ok(chosen)
    }
}
