//! `mbtl report`: one self-contained HTML page per run folder, with its figures as PNG (shown)
//! and SVG (linked) beside it — the generalization curves of every strategy, the transfer
//! matrix as far as it was trained, the GP posterior of the set point over the context axis
//! with the chosen tasks, and a summary table (Average, `N/k*`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mbtl_rng::RandomState;
use mbtl_select::gp::sklearn::SklearnGp;
use mbtl_select::metrics;
use mbtl_select::replay::StrategyName;

use crate::config::Plan;
use crate::error::Result;
use crate::fsutil::write_atomic;
use crate::job::Source;
use crate::plot::{self, Series};
use crate::store::{RunStore, StepRecord};

/// Folder (inside the run folder) the report is written to.
pub const REPORT_DIR: &str = "report";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub strategy: String,
    /// Trials with all K steps.
    pub trials: usize,
    pub final_value: f64,
    pub average: f64,
    /// `(k*, N/k*)` against the better of Independent and Multi-task, when both are known
    /// and the curve reaches it.
    pub efficiency: Option<(usize, f64)>,
}

/// Mean curve over the trials of each strategy that recorded all K steps.
fn mean_curves(plan: &Plan, steps: &[StepRecord]) -> Vec<(String, usize, Vec<f64>)> {
    curves_with_bands(plan, steps)
        .into_iter()
        .map(|(name, trials, curve, _)| (name, trials, curve))
        .collect()
}

/// [`mean_curves`] with the 95 % confidence half-width over trials at each k (0 for one trial).
fn curves_with_bands(
    plan: &Plan,
    steps: &[StepRecord],
) -> Vec<(String, usize, Vec<f64>, Vec<f64>)> {
    let k = plan.options.budget;
    let mut out = Vec::new();
    for name in &plan.strategies {
        let mut per_trial: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for s in steps.iter().filter(|s| s.strategy == name.name()) {
            per_trial.entry(s.trial).or_default().push(s.value);
        }
        let full: Vec<&Vec<f64>> = per_trial.values().filter(|c| c.len() == k).collect();
        if full.is_empty() {
            continue;
        }
        let (curve, band): (Vec<f64>, Vec<f64>) = (0..k)
            .map(|i| {
                let at: Vec<f64> = full.iter().map(|c| c[i]).collect();
                let mean = at.iter().sum::<f64>() / at.len() as f64;
                let band = if at.len() > 1 {
                    metrics::mean_ci95(&at).1
                } else {
                    0.0
                };
                (mean, band)
            })
            .unzip();
        out.push((name.name().to_string(), full.len(), curve, band));
    }
    out
}

/// The summary table from the mean curves.
pub fn summary(plan: &Plan, curves: &[(String, usize, Vec<f64>)]) -> Vec<SummaryRow> {
    let level = |s: StrategyName| curves.iter().find(|c| c.0 == s.name()).map(|c| c.2[0]);
    let reference = match (
        level(StrategyName::Independent),
        level(StrategyName::Multitask),
    ) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    curves
        .iter()
        .map(|(name, trials, curve)| SummaryRow {
            strategy: name.clone(),
            trials: *trials,
            final_value: *curve.last().expect("K ≥ 1"),
            average: metrics::average(curve),
            // Constant levels have no k*; the reference needs Independent or Multi-task.
            efficiency: match (name.parse::<StrategyName>(), reference) {
                (Ok(s), _) if s.is_constant() => None,
                (_, None) => None,
                (_, Some(r)) => metrics::sample_efficiency(curve, plan.n_tasks(), r),
            },
        })
        .collect()
}

/// The sorted distinct values of `feature` over the tasks.
fn axis_values_of(contexts: &[mbtl_env::Context], feature: &str) -> Vec<f64> {
    let mut v: Vec<f64> = Vec::new();
    for c in contexts {
        if let Ok(x) = c.get(feature) {
            if !v.contains(&x) {
                v.push(x);
            }
        }
    }
    v.sort_by(f64::total_cmp);
    v
}

/// How the trainings of one trial went.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialTrainings {
    pub trial: usize,
    /// Trained sources (tasks, not the multi-task policy).
    pub sources: usize,
    /// Tasks whose policy scores below the threshold on its own task.
    pub failed: Vec<usize>,
    /// Trainings that kept their best periodic evaluation's policy.
    pub kept_best: usize,
    pub median_kept_step: Option<u64>,
}

/// Every trial's trainings, and the figure's curves for trial 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Trainings {
    pub threshold: f64,
    pub trials: Vec<TrialTrainings>,
    /// Every source of trial 0, when curves were stored.
    pub figure: Option<Vec<plot::SourceCurve>>,
    /// Which series the figure shows (`eval` or `return`).
    pub series_shown: &'static str,
}

/// Reads which trainings trained (own-task normalised return ≥ the report's threshold), which
/// policy each kept, and trial 0's learning curves.
pub fn training_outcomes(store: &RunStore, plan: &Plan) -> Result<Trainings> {
    let threshold = plan.experiment.report.trained_threshold();
    let kept = store.kept()?;
    let mut trials = Vec::new();
    let mut trained_of_trial0 = BTreeMap::new();
    for trial in 0..plan.experiment.trials {
        let (mut sources, mut failed) = (0, Vec::new());
        for task in 0..plan.n_tasks() {
            if let Some(row) = store.evaluations(trial, Source::Task(task))? {
                sources += 1;
                let ok = plan.normalize(row[task].mean) >= threshold;
                if !ok {
                    failed.push(task);
                }
                if trial == 0 {
                    trained_of_trial0.insert(task, ok);
                }
            }
        }
        let mut steps: Vec<u64> = kept
            .iter()
            .filter(|(t, s, _)| *t == trial && matches!(s, Source::Task(_)))
            .filter_map(|(_, _, k)| match k {
                mbtl_rl::callback::Kept::Best { env_steps, .. } => Some(*env_steps),
                mbtl_rl::callback::Kept::Last => None,
            })
            .collect();
        steps.sort_unstable();
        trials.push(TrialTrainings {
            trial,
            sources,
            failed,
            kept_best: steps.len(),
            median_kept_step: steps.get(steps.len() / 2).copied(),
        });
    }
    let rows = store.all_curves()?;
    let has_eval = rows
        .iter()
        .any(|r| r.trial == 0 && r.series == crate::job::series::EVAL);
    let series_shown = if has_eval {
        crate::job::series::EVAL
    } else {
        crate::job::series::RETURN
    };
    let mut by_task: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| r.trial == 0 && r.series == series_shown)
    {
        if let Source::Task(t) = r.source {
            by_task.entry(t).or_default().push((r.step as f64, r.value));
        }
    }
    let figure = (!by_task.is_empty()).then(|| {
        by_task
            .into_iter()
            .map(|(t, points)| plot::SourceCurve {
                points,
                trained: trained_of_trial0.get(&t).copied().unwrap_or(true),
            })
            .collect()
    });
    Ok(Trainings {
        threshold,
        trials,
        figure,
        series_shown,
    })
}

/// Writes `report/index.html` and its figures for the run in `dir`; returns the page's path.
pub fn write_report(dir: &Path) -> Result<PathBuf> {
    let (store, exp) = RunStore::open_existing(dir)?;
    let plan = exp.plan(&store.path().display().to_string())?;
    let out = dir.join(REPORT_DIR);
    std::fs::create_dir_all(&out).map_err(|e| crate::error::RunError::io(&out, e))?;
    let n = plan.n_tasks();
    let steps = store.steps()?;
    let banded = curves_with_bands(&plan, &steps);
    let curves = mean_curves(&plan, &steps);
    let mut figures: Vec<(&str, &str)> = Vec::new();

    let paper =
        match &exp.report.paper {
            Some(name) => Some(mbtl_select::paper::panel(name).map_err(|e| {
                crate::error::RunError::Config {
                    file: store.path().display().to_string(),
                    message: format!("report.paper: {e}"),
                }
            })?),
            None => None,
        };
    let paper_curves: Vec<Vec<(usize, f64)>> = curves
        .iter()
        .map(
            |(name, _, _)| match (&paper, name.parse::<StrategyName>()) {
                (Some(p), Ok(s)) => p.curve(s),
                _ => Vec::new(),
            },
        )
        .collect();
    if !curves.is_empty() {
        let series: Vec<Series<'_>> = curves
            .iter()
            .zip(&paper_curves)
            .zip(&banded)
            .map(|(((name, trials, c), p), b)| Series {
                name,
                values: c,
                band: (*trials > 1).then_some(&b.3[..]),
                paper: (!p.is_empty()).then_some(&p[..]),
            })
            .collect();
        plot::curves(
            &out.join("curves"),
            &format!("{}: generalization vs trained tasks", exp.name),
            "number of trained tasks k",
            "V_k (normalised, mean over trials)",
            &series,
        )?;
        figures.push(("curves", if paper.is_some() {
            "Generalized performance V_k against the number of trained source tasks, per strategy (mean over trials, shaded: 95 % confidence interval over trials); dashed with markers: the paper's digitized curve of the same strategy."
        } else {
            "Generalized performance V_k against the number of trained source tasks, per strategy (mean over trials, shaded: 95 % confidence interval over trials)."
        }));
    }
    let trainings = training_outcomes(&store, &plan)?;
    if let Some(curves) = &trainings.figure {
        plot::save(
            &out.join("training"),
            &plot::TrainingCurves {
                title: &format!("trial 0: {} curve of every source", trainings.series_shown),
                curves,
                y_label: "return",
            },
        )?;
        figures.push(("training", "Learning curve of every source of trial 0 (periodic evaluations where the learner ran them, else the training return); red: trainings whose kept policy scores below the threshold on its own task."));
    }

    // Trial 0's transfer matrix, as far as it was trained.
    let raw_rows: Vec<Option<Vec<f64>>> = (0..n)
        .map(|s| {
            store
                .evaluations(0, Source::Task(s))
                .map(|r| r.map(|r| r.iter().map(|t| t.mean).collect()))
        })
        .collect::<Result<_>>()?;
    let rows: Vec<Option<Vec<f64>>> = raw_rows
        .iter()
        .map(|r| {
            r.as_ref()
                .map(|r| r.iter().map(|&v| plan.normalize(v)).collect())
        })
        .collect();
    let trained = rows.iter().filter(|r| r.is_some()).count();
    // A 1-D space is labelled in its feature's values.
    let axis_values: Option<(String, Vec<f64>)> = match exp.space.axes.as_slice() {
        [axis] => plan
            .contexts
            .iter()
            .map(|c| c.get(&axis.feature))
            .collect::<std::result::Result<Vec<f64>, _>>()
            .ok()
            .map(|v| (axis.feature.clone(), v)),
        _ => None,
    };
    if trained > 0 {
        plot::save(
            &out.join("matrix"),
            &plot::Heatmap {
                title: &format!("transfer matrix, trial 0 ({trained} of {n} sources trained)"),
                rows: &rows,
                axis: axis_values
                    .as_ref()
                    .map(|(f, v)| (f.as_str(), v.as_slice())),
            },
        )?;
        figures.push(("matrix", "Normalised zero-shot return of the policy trained on each source (row) on each target (column); grey rows were never trained."));
    }

    // The GP posterior of the set point given the tasks the first model-based strategy chose.
    let lane = [
        StrategyName::MbtlGp,
        StrategyName::GpMbtl,
        StrategyName::MgpMbtl,
        StrategyName::MMbtl,
    ]
    .iter()
    .find_map(|strategy| {
        let name = strategy.name();
        let chosen: Vec<usize> = steps
            .iter()
            .filter(|s| s.strategy == name && s.trial == 0)
            .filter_map(|s| s.task)
            .collect();
        (!chosen.is_empty()).then_some((name, chosen))
    });
    if let Some((name, chosen)) = lane {
        let mut unique = Vec::new();
        for t in chosen {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        let dim = plan.task_space.dim();
        let xs: Vec<f64> = unique
            .iter()
            .flat_map(|&t| plan.task_space.coord(t).to_vec())
            .collect();
        let ys: Vec<f64> = unique
            .iter()
            .map(|&t| rows[t].as_ref().map_or(f64::NAN, |r| r[t]))
            .collect();
        if ys.iter().all(|y| y.is_finite()) {
            let gp = SklearnGp::default().fit(
                &xs,
                dim,
                &ys,
                &mut RandomState::new(plan.options.seed),
            )?;
            let (mean, std) = gp.predict(plan.task_space.coords(), false);
            let title = format!(
                "{name}, trial 0: GP posterior of the set point after {} tasks",
                unique.len()
            );
            if dim == 1 {
                let feature = &exp.space.axes[0].feature;
                let axis_x: Vec<f64> = plan
                    .contexts
                    .iter()
                    .map(|c| c.get(feature))
                    .collect::<std::result::Result<_, _>>()?;
                let marks: Vec<(f64, f64, usize)> = unique
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| (axis_x[t], ys[i], i + 1))
                    .collect();
                plot::save(
                    &out.join("posterior"),
                    &plot::Posterior {
                        title: &title,
                        x_label: &format!("context: {feature}"),
                        x: &axis_x,
                        mean: &mean,
                        std: &std,
                        chosen: &marks,
                    },
                )?;
                figures.push(("posterior", "Gaussian-process posterior (mean ± 2σ) of the training performance over the context axis, fitted to the tasks the strategy trained (numbered in the order chosen)."));
            } else if let Some(levels) = plan.task_space.levels() {
                // A 2-D slice: the first two axes, the others at the first chosen task's values.
                let at = plan.task_space.coord(unique[0])[2..].to_vec();
                let (nx, ny) = (levels[0], levels[1]);
                let mut slice = vec![f64::NAN; nx * ny];
                for (t, &m) in mean.iter().enumerate().take(n) {
                    let c = plan.task_space.coord(t);
                    if c[2..] == at[..] {
                        slice[c[1] as usize * nx + c[0] as usize] = m;
                    }
                }
                let axis_values =
                    |d: usize| axis_values_of(&plan.contexts, &exp.space.axes[d].feature);
                let (xs, ys_axis) = (axis_values(0), axis_values(1));
                let marks: Vec<(usize, usize, usize)> = unique
                    .iter()
                    .enumerate()
                    .filter(|(_, &t)| plan.task_space.coord(t)[2..] == at[..])
                    .map(|(i, &t)| {
                        let c = plan.task_space.coord(t);
                        (c[0] as usize, c[1] as usize, i + 1)
                    })
                    .collect();
                let fixed: Vec<String> = exp.space.axes[2..]
                    .iter()
                    .zip(&at)
                    .map(|(a, &level)| {
                        let v = axis_values_of(&plan.contexts, &a.feature);
                        format!(
                            "{} = {}",
                            a.feature,
                            v.get(level as usize).copied().unwrap_or(level)
                        )
                    })
                    .collect();
                if slice.iter().all(|v| v.is_finite()) && xs.len() == nx && ys_axis.len() == ny {
                    plot::save(
                        &out.join("posterior"),
                        &plot::PosteriorMap {
                            title: &title,
                            x_label: &exp.space.axes[0].feature,
                            y_label: &exp.space.axes[1].feature,
                            xs: &xs,
                            ys: &ys_axis,
                            mean: &slice,
                            chosen: &marks,
                        },
                    )?;
                    figures.push(("posterior", if fixed.is_empty() {
                        "Gaussian-process posterior mean of the training performance over the grid, fitted to the tasks the strategy trained (numbered in the order chosen)."
                    } else {
                        "Gaussian-process posterior mean of the training performance on a 2-D slice of the grid (the other features at the first chosen task's values), fitted to the tasks the strategy trained (those in the slice numbered in the order chosen)."
                    }));
                }
            }
        }
    }

    let table = summary(&plan, &curves);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mbtl report: {name}</title>\n<style>body{{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 10px;text-align:right}}th:first-child,td:first-child{{text-align:left}}img{{max-width:100%;border:1px solid #ddd}}figure{{margin:1.5em 0}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}</style></head>\n<body>\n<h1>{name}</h1>\n<p>{kind}, {n} tasks, {trials} trial(s), K = {k}, learner {algo}, {episodes} evaluation episodes per pair; returns normalised with bounds [{lo}, {hi}]{clip}. {trainings} trainings in the store.</p>\n",
        name = escape(&exp.name),
        kind = escape(plan.env.name()),
        trials = exp.trials,
        k = plan.options.budget,
        algo = escape(&plan.learner.describe()),
        episodes = plan.eval_episodes(),
        lo = plan.bounds[0],
        hi = plan.bounds[1],
        clip = if plan.clip { ", clipped to [0, 1]" } else { "" },
        trainings = store.trainings()?.len(),
    );
    // Counted before clipping, so that a clipped run still says how much clipping changed.
    let cells: Vec<f64> = raw_rows
        .iter()
        .flatten()
        .flatten()
        .map(|&v| plan.normalize_unclipped(v))
        .collect();
    let outside = cells.iter().filter(|v| !(0.0..=1.0).contains(*v)).count();
    if outside > 0 {
        let (lo, hi) = cells
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (lead, then) = if plan.clip {
            (
                "Note:",
                "and were clipped to it (<code>select.clip</code>), so a policy that fails a target counts as 0 there.",
            )
        } else {
            (
                "Warning:",
                "so V<sub>k</sub> can leave [0, 1] (<code>select.clip = true</code> clamps them).",
            )
        };
        let _ = writeln!(
            html,
            "<p id=\"bounds-warning\"><strong>{lead}</strong> {outside} of the {} normalised returns of trial 0 lie outside [0, 1] (from {lo:.3} to {hi:.3}): the bounds [{}, {}] do not bracket the returns, {then}</p>",
            cells.len(),
            plan.bounds[0],
            plan.bounds[1]
        );
    }
    html.push_str("<h2>Summary</h2>\n<table id=\"summary\"><tr><th>strategy</th><th>trials</th><th>V<sub>K</sub></th><th>Average</th><th>k*</th><th>N/k*</th></tr>\n");
    for r in &table {
        let (ks, eff) = match r.efficiency {
            Some((k, e)) => (k.to_string(), format!("{e:.1}×")),
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{ks}</td><td>{eff}</td></tr>",
            escape(&r.strategy),
            r.trials,
            r.final_value,
            r.average
        );
    }
    html.push_str("</table>\n<p>k*: first k at which the strategy reaches the better of Independent and Multi-task (when run); N/k*: MBTL's sample efficiency.</p>\n");
    if let Some(p) = &paper {
        let ours: Vec<(StrategyName, Vec<f64>)> = curves
            .iter()
            .filter_map(|(name, _, c)| name.parse().ok().map(|s| (s, c.clone())))
            .collect();
        let _ = write!(
            html,
            "<h2>Beside the paper</h2>\n<p>mbtl's mean over trials / the paper's digitized value (panel {}, ±0.005), at the k the paper's tables use; Oracle against the zero-shot bar chart.</p>\n<pre id=\"paper\">{}</pre>\n",
            escape(&p.name),
            escape(&p.side_by_side(&ours))
        );
    }
    let _ = write!(
        html,
        "<h2>Trainings</h2>\n<p>A training counts as trained when its policy scores at least {thr} (normalised) on its own task.</p>\n<table id=\"trainings\"><tr><th>trial</th><th>sources</th><th>trained</th><th>did not train</th><th>kept the best evaluation</th><th>median step of the kept policy</th></tr>\n",
        thr = trainings.threshold
    );
    for t in &trainings.trials {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.trial,
            t.sources,
            t.sources - t.failed.len(),
            if t.failed.is_empty() {
                "0".to_string()
            } else {
                format!("{}: tasks {:?}", t.failed.len(), t.failed)
            },
            t.kept_best,
            t.median_kept_step.map_or("–".into(), |s| s.to_string()),
        );
    }
    html.push_str("</table>\n");
    for (stem, caption) in &figures {
        let _ = writeln!(
            html,
            "<figure><img class=\"figure\" src=\"{stem}.png\" alt=\"{stem}\"><figcaption>{caption} (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>"
        );
    }
    let _ = write!(
        html,
        "<h2>Experiment</h2>\n<pre>{}</pre>\n<script>\nwindow.addEventListener('load', function () {{\n  var imgs = document.querySelectorAll('img.figure'), ok = 0;\n  imgs.forEach(function (i) {{ if (i.complete && i.naturalWidth > 0) ok++; }});\n  document.body.setAttribute('data-figures', imgs.length);\n  document.body.setAttribute('data-figures-loaded', ok);\n}});\n</script>\n</body></html>\n",
        escape(&exp.canonical())
    );
    let page = out.join("index.html");
    write_atomic(&page, html.as_bytes())?;
    Ok(page)
}
