//! Context spaces: the finite sets of tasks MBTL chooses from, with task index ↔ context both
//! ways. A space is either a grid (one axis per varied feature; row-major, the last axis varies
//! fastest, as SD-MBTL enumerates its N-D grids) or an explicit list of points.

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::{EnvError, Result};

/// How the values of one axis are laid out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "spacing", deny_unknown_fields)]
pub enum Spacing {
    /// `n` evenly spaced values from `lo` to `hi` inclusive (numpy `linspace`).
    Linear { lo: f64, hi: f64, n: usize },
    /// `n` geometrically spaced values from `lo` to `hi` inclusive (both > 0).
    Log { lo: f64, hi: f64, n: usize },
    /// MBTL's sweeps: `s × base` for `s = 0.1, 0.2, …, n/10` in decimal arithmetic (the authors'
    /// Slurm scripts compute these with `bc`), so 0.1 × 10 … 10 × the base value with `n = 100`.
    /// `base` defaults to the feature's default.
    Scaled {
        #[serde(default)]
        base: Option<f64>,
        #[serde(default = "default_scaled_n")]
        n: usize,
    },
    /// The values as given.
    Values { values: Vec<f64> },
}

fn default_scaled_n() -> usize {
    100
}

/// Most tasks a context space may hold (per axis and in all): a hundred thousand tasks are a
/// 10¹⁰-pair transfer matrix already, and a typo such as `n = 1000000000` must be an error,
/// not an allocation.
pub const MAX_TASKS: usize = 100_000;

impl Spacing {
    /// The axis values; `default` is the feature's default (for [`Spacing::Scaled`]).
    pub fn values(&self, default: f64) -> Result<Vec<f64>> {
        let bad = |m: String| Err(EnvError::Space(m));
        let n = match self {
            Spacing::Linear { n, .. } | Spacing::Log { n, .. } | Spacing::Scaled { n, .. } => *n,
            Spacing::Values { values } => values.len(),
        };
        if n > MAX_TASKS {
            return bad(format!("{n} values on one axis: at most {MAX_TASKS}"));
        }
        if let Spacing::Linear { lo, hi, n } | Spacing::Log { lo, hi, n } = *self {
            if n > 1 && lo >= hi {
                return bad(format!(
                    "lo = {lo} must be below hi = {hi} for n = {n} values (ascending, no repeats)"
                ));
            }
        }
        match *self {
            Spacing::Linear { lo, hi, n } => {
                if n == 0 || !lo.is_finite() || !hi.is_finite() {
                    return bad(format!(
                        "linear spacing needs n ≥ 1 and finite ends, got lo={lo}, hi={hi}, n={n}"
                    ));
                }
                if n == 1 {
                    return Ok(vec![lo]);
                }
                let step = (hi - lo) / (n - 1) as f64;
                Ok((0..n)
                    .map(|i| if i == n - 1 { hi } else { lo + i as f64 * step })
                    .collect())
            }
            Spacing::Log { lo, hi, n } => {
                if n == 0 || !(lo > 0.0 && hi > 0.0 && lo.is_finite() && hi.is_finite()) {
                    return bad(format!(
                        "log spacing needs n ≥ 1 and finite ends > 0, got lo={lo}, hi={hi}, n={n}"
                    ));
                }
                if n == 1 {
                    return Ok(vec![lo]);
                }
                let (a, b) = (lo.ln(), hi.ln());
                let step = (b - a) / (n - 1) as f64;
                Ok((0..n)
                    .map(|i| match i {
                        0 => lo,
                        i if i == n - 1 => hi,
                        i => (a + i as f64 * step).exp(),
                    })
                    .collect())
            }
            Spacing::Scaled { base, n } => {
                let base = base.unwrap_or(default);
                if n == 0 || !base.is_finite() {
                    return bad(format!(
                        "scaled spacing needs n ≥ 1 and a finite base, got base={base}, n={n}"
                    ));
                }
                Ok((1..=n as u64).map(|k| decimal_scale(base, k)).collect())
            }
            Spacing::Values { ref values } => {
                if values.is_empty() {
                    return bad("an explicit axis needs at least one value".into());
                }
                if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                    return bad(format!("values: {v} is not a finite number"));
                }
                for (i, v) in values.iter().enumerate() {
                    if values[..i].contains(v) {
                        return bad(format!("values: {v} is listed twice (tasks must differ)"));
                    }
                }
                Ok(values.clone())
            }
        }
    }
}

/// `(k / 10) × base` computed on the shortest decimal form of `base`, then rounded once to f64
/// (so 3 × 0.05 gives 0.15, not 0.15000000000000002).
fn decimal_scale(base: f64, k: u64) -> f64 {
    let text = format!("{:e}", base); // shortest round-trip digits, e.g. "5e-1", "1.5e0"
    let (mantissa, exp) = text.split_once('e').expect("{:e} always has an exponent");
    let exp: i64 = exp.parse().expect("integer exponent");
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let frac_digits = mantissa.split_once('.').map_or(0, |(_, f)| f.len() as i64);
    let digits: u128 = mantissa.replace('.', "").parse().expect("decimal digits");
    let product = digits * u128::from(k);
    let value: f64 = format!(
        "{}{}e{}",
        if neg { "-" } else { "" },
        product,
        exp - frac_digits - 1
    )
    .parse()
    .expect("a decimal literal");
    value
}

/// One varied feature and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub feature: String,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
enum Layout {
    Grid(Vec<(usize, Vec<f64>)>),
    List {
        features: Vec<usize>,
        points: Vec<Vec<f64>>,
    },
}

/// A finite, indexed set of contexts of one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextSpace {
    base: Context,
    layout: Layout,
    len: usize,
}

impl ContextSpace {
    /// A grid over `axes` (first axis slowest), every other feature as in `base`. Every point is
    /// validated against the feature bounds here, so [`ContextSpace::context`] cannot fail later.
    pub fn grid(base: Context, axes: Vec<Axis>) -> Result<ContextSpace> {
        if axes.is_empty() {
            return Err(EnvError::Space("a grid needs at least one axis".into()));
        }
        let mut resolved = Vec::with_capacity(axes.len());
        for axis in axes {
            let index = base.index_of(&axis.feature)?;
            if resolved.iter().any(|(i, _)| *i == index) {
                return Err(EnvError::Space(format!(
                    "feature '{}' appears on two axes",
                    axis.feature
                )));
            }
            if axis.values.is_empty() {
                return Err(EnvError::Space(format!(
                    "axis '{}' has no values",
                    axis.feature
                )));
            }
            let mut probe = base.clone();
            for &v in &axis.values {
                probe.set_at(index, v)?;
            }
            resolved.push((index, axis.values));
        }
        let len = resolved
            .iter()
            .try_fold(1usize, |acc, (_, v)| acc.checked_mul(v.len()))
            .filter(|&n| n <= MAX_TASKS)
            .ok_or_else(|| {
                EnvError::Space(format!(
                    "the grid {:?} has more than {MAX_TASKS} tasks",
                    resolved.iter().map(|(_, v)| v.len()).collect::<Vec<_>>()
                ))
            })?;
        Ok(ContextSpace {
            base,
            layout: Layout::Grid(resolved),
            len,
        })
    }

    /// Explicit points: `points[t][j]` is the value of `features[j]` in task `t`.
    pub fn list(base: Context, features: &[&str], points: Vec<Vec<f64>>) -> Result<ContextSpace> {
        if points.is_empty() {
            return Err(EnvError::Space(
                "a list space needs at least one point".into(),
            ));
        }
        let indices = features
            .iter()
            .map(|f| base.index_of(f))
            .collect::<Result<Vec<_>>>()?;
        for (t, p) in points.iter().enumerate() {
            if p.len() != indices.len() {
                return Err(EnvError::Space(format!(
                    "point {t} has {} values for {} features",
                    p.len(),
                    indices.len()
                )));
            }
            let mut probe = base.clone();
            for (&i, &v) in indices.iter().zip(p) {
                probe.set_at(i, v)?;
            }
        }
        let len = points.len();
        Ok(ContextSpace {
            base,
            layout: Layout::List {
                features: indices,
                points,
            },
            len,
        })
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The context every task starts from.
    pub fn base(&self) -> &Context {
        &self.base
    }

    /// Names of the varied features (the coordinate order).
    pub fn feature_names(&self) -> Vec<&str> {
        let table = self.base.features();
        self.feature_indices()
            .iter()
            .map(|&i| table[i].name.as_ref())
            .collect()
    }

    fn feature_indices(&self) -> Vec<usize> {
        match &self.layout {
            Layout::Grid(axes) => axes.iter().map(|(i, _)| *i).collect(),
            Layout::List { features, .. } => features.clone(),
        }
    }

    /// Grid shape (one entry per axis); a list space is one axis of `len` points.
    pub fn shape(&self) -> Vec<usize> {
        match &self.layout {
            Layout::Grid(axes) => axes.iter().map(|(_, v)| v.len()).collect(),
            Layout::List { points, .. } => vec![points.len()],
        }
    }

    fn check_task(&self, task: usize) -> Result<()> {
        if task >= self.len {
            return Err(EnvError::Space(format!(
                "task {task} is out of range: the space has {} tasks",
                self.len
            )));
        }
        Ok(())
    }

    /// Per-axis indices of a grid task (row-major, last axis fastest).
    pub fn multi_index(&self, task: usize) -> Result<Vec<usize>> {
        self.check_task(task)?;
        let shape = self.shape();
        let mut rest = task;
        let mut idx = vec![0; shape.len()];
        for (d, &n) in shape.iter().enumerate().rev() {
            idx[d] = rest % n;
            rest /= n;
        }
        Ok(idx)
    }

    /// The values of the varied features in task `task`.
    pub fn coords(&self, task: usize) -> Result<Vec<f64>> {
        self.check_task(task)?;
        Ok(match &self.layout {
            Layout::Grid(axes) => {
                let idx = self.multi_index(task)?;
                axes.iter().zip(idx).map(|((_, v), i)| v[i]).collect()
            }
            Layout::List { points, .. } => points[task].clone(),
        })
    }

    /// The full context of task `task`.
    pub fn context(&self, task: usize) -> Result<Context> {
        let coords = self.coords(task)?;
        let mut ctx = self.base.clone();
        for (i, v) in self.feature_indices().into_iter().zip(coords) {
            ctx.set_at(i, v)?;
        }
        Ok(ctx)
    }

    /// Every context, in task order.
    pub fn contexts(&self) -> Result<Vec<Context>> {
        (0..self.len).map(|t| self.context(t)).collect()
    }

    /// The task whose varied features equal `coords` exactly, if any.
    pub fn task_of_coords(&self, coords: &[f64]) -> Option<usize> {
        match &self.layout {
            Layout::Grid(axes) => {
                if coords.len() != axes.len() {
                    return None;
                }
                let mut task = 0;
                for ((_, values), c) in axes.iter().zip(coords) {
                    let i = values.iter().position(|v| v == c)?;
                    task = task * values.len() + i;
                }
                Some(task)
            }
            Layout::List { points, .. } => points.iter().position(|p| p.as_slice() == coords),
        }
    }

    /// The task equal to `ctx` (same environment, semantics and every feature), if any.
    pub fn task_of(&self, ctx: &Context) -> Option<usize> {
        if ctx.env() != self.base.env() || ctx.semantics() != self.base.semantics() {
            return None;
        }
        let coords: Vec<f64> = self
            .feature_indices()
            .iter()
            .map(|&i| ctx.values()[i])
            .collect();
        let task = self.task_of_coords(&coords)?;
        (self.context(task).ok()? == *ctx).then_some(task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Semantics;
    use crate::kind::EnvKind;

    #[test]
    fn spacings() {
        let lin = Spacing::Linear {
            lo: 0.0,
            hi: 1.0,
            n: 5,
        }
        .values(0.0)
        .unwrap();
        assert_eq!(lin, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let log = Spacing::Log {
            lo: 0.1,
            hi: 10.0,
            n: 3,
        }
        .values(0.0)
        .unwrap();
        assert_eq!(log[0], 0.1);
        assert!((log[1] - 1.0).abs() < 1e-12);
        assert_eq!(log[2], 10.0);
        let scaled = Spacing::Scaled { base: None, n: 100 }.values(0.5).unwrap();
        assert_eq!(scaled.len(), 100);
        assert_eq!(scaled[0], 0.05);
        assert_eq!(scaled[2], 0.15);
        assert_eq!(scaled[99], 5.0);
        assert!(Spacing::Log {
            lo: 0.0,
            hi: 1.0,
            n: 3
        }
        .values(0.0)
        .is_err());
    }

    #[test]
    fn grids_are_row_major_and_invertible() {
        let base = Context::default_for(EnvKind::CartPole, Semantics::Physical);
        let space = ContextSpace::grid(
            base,
            vec![
                Axis {
                    feature: "length".into(),
                    values: vec![0.25, 0.5, 1.0],
                },
                Axis {
                    feature: "masspole".into(),
                    values: vec![0.05, 0.1],
                },
            ],
        )
        .unwrap();
        assert_eq!(space.len(), 6);
        assert_eq!(space.coords(1).unwrap(), vec![0.25, 0.1]);
        assert_eq!(space.coords(2).unwrap(), vec![0.5, 0.05]);
        assert_eq!(space.multi_index(5).unwrap(), vec![2, 1]);
        for t in 0..space.len() {
            let ctx = space.context(t).unwrap();
            assert_eq!(space.task_of(&ctx), Some(t));
        }
        assert!(space.context(6).is_err());
        assert_eq!(space.task_of_coords(&[0.5, 0.3]), None);
    }

    #[test]
    fn out_of_bounds_points_are_refused_up_front() {
        let base = Context::default_for(EnvKind::CartPole, Semantics::Carl);
        let e = ContextSpace::grid(
            base.clone(),
            vec![Axis {
                feature: "length".into(),
                values: vec![1.0, 50.0],
            }],
        );
        assert!(e.unwrap_err().to_string().contains("50"));
        let e = ContextSpace::list(base, &["tau"], vec![vec![0.02], vec![f64::NAN]]);
        assert!(e.is_err());
    }
}
