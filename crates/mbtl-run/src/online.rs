//! Online MBTL (`mbtl run`) and full transfer matrices (`mbtl matrix`).
//!
//! An online run trains only what its strategies ask for: each sequential strategy (per trial)
//! is a *lane* that chooses a task, gets its transfer row from the [`Coordinator`] (which
//! trains and evaluates the task unless some lane already did), and chooses again, K times.
//! Independent, Oracle and the sequential oracle need every row, so asking for any of them
//! trains every task; Multi-task trains one context-aware policy per trial. Lanes and
//! trainings share a pool of worker threads.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use mbtl_select::replay::{
    build_strategy, constant_selection, run_on_matrix, summarize, StrategyName, StrategyResult,
};
use mbtl_select::{
    metrics, run_selection_observed, FnEvaluator, SelectError, Selection, TransferMatrix,
};
use serde::Serialize;

use crate::coordinator::Coordinator;
use crate::error::{Result, RunError};
use crate::fsutil::write_atomic;
use crate::job::Source;
use crate::store::StepRecord;

/// File names in a run folder.
pub const RESULTS_FILE: &str = "results.json";

/// The result of an online run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub experiment: String,
    pub n_tasks: usize,
    pub budget: usize,
    pub trials: usize,
    pub bounds: [f64; 2],
    pub strategies: Vec<StrategyResult>,
    /// Trainings in the run store (what this run needed, plus any an earlier `mbtl matrix`
    /// into the same folder made): the cost MBTL economises.
    pub trainings: usize,
}

enum Item {
    Lane(usize, StrategyName),
    Train(usize, Source),
}

/// Runs `items` on `workers` threads; the first error stops new items from starting.
fn run_pool(
    workers: usize,
    items: Vec<Item>,
    work: &(dyn Fn(Item) -> Result<()> + Sync),
) -> Result<()> {
    let queue = Mutex::new(VecDeque::from(items));
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<RunError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Some(item) = queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front()
                else {
                    return;
                };
                if let Err(e) = work(item) {
                    stop.store(true, Ordering::SeqCst);
                    first_error
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .get_or_insert(e);
                    return;
                }
            });
        }
    });
    match first_error
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn select_err(task: usize, e: RunError) -> SelectError {
    SelectError::Evaluation {
        task,
        source: Box::new(e),
    }
}

/// Runs every strategy of the plan online, on `workers` threads.
pub fn run_online(coord: &Coordinator<'_>, workers: usize) -> Result<Outcome> {
    let plan = coord.plan();
    let n = plan.n_tasks();
    let k = plan.options.budget;
    let trials = plan.experiment.trials;
    let full = plan.strategies.iter().any(|&s| s.needs_every_row());
    let mut items = Vec::new();
    // Lanes first: they are chains of dependent trainings, the critical path.
    for t in 0..trials {
        for &s in plan.strategies.iter().filter(|s| s.is_online()) {
            items.push(Item::Lane(t, s));
        }
    }
    for t in 0..trials {
        if plan.strategies.contains(&StrategyName::Multitask) {
            items.push(Item::Train(t, Source::Multitask));
        }
        if full {
            items.extend((0..n).map(|i| Item::Train(t, Source::Task(i))));
        }
    }
    let lanes: Mutex<HashMap<(usize, StrategyName), Selection>> = Mutex::new(HashMap::new());
    let normalized = |t: usize, source: Source| -> Result<Vec<f64>> {
        Ok(coord
            .row(t, source)?
            .iter()
            .map(|&v| plan.normalize(v))
            .collect())
    };
    let record = |name: &str,
                  trial: usize,
                  step: usize,
                  task: Option<usize>,
                  value: f64,
                  mode: Option<&str>| {
        coord.with_store(|s| {
            s.record_step(&StepRecord {
                strategy: name.into(),
                trial,
                step,
                task,
                value,
                mode: mode.map(String::from),
            })
        })
    };
    run_pool(workers, items, &|item| match item {
        Item::Train(t, source) => coord.row(t, source).map(|_| ()),
        Item::Lane(t, name) => {
            let mut strategy =
                build_strategy(name, t, 0, &plan.options).expect("lanes are sequential strategies");
            let mut eval = FnEvaluator {
                n,
                f: |s: usize| normalized(t, Source::Task(s)).map_err(|e| select_err(s, e)),
            };
            let sel = run_selection_observed(
                strategy.as_mut(),
                &mut eval,
                &plan.task_space,
                k,
                &mut |st| {
                    record(name.name(), t, st.k, Some(st.task), st.value, st.mode)
                        .map_err(|e| select_err(st.task, e))
                },
            )?;
            lanes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert((t, name), sel);
            Ok(())
        }
    })?;

    let mut lanes = lanes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Each trial's whole (normalised) matrix, once, for the strategies that need it.
    let matrices: Vec<TransferMatrix> = if full {
        (0..trials)
            .map(|t| {
                let rows = (0..n)
                    .map(|i| normalized(t, Source::Task(i)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(TransferMatrix::from_rows(&rows)?)
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let mut outcomes = Vec::new();
    for &name in &plan.strategies {
        let mut per_trial = Vec::new();
        for t in 0..trials {
            let sel = match name {
                StrategyName::Multitask => {
                    let v = metrics::multitask(&normalized(t, Source::Multitask)?);
                    constant_selection(name, v, k, n)
                }
                _ if name.needs_every_row() => {
                    let m = matrices.get(t).expect("built when a strategy needs it");
                    let mut runs = run_on_matrix(name, t, m, &plan.task_space, &plan.options)?;
                    runs.pop().expect("one run of a constant or the oracle")
                }
                _ => lanes.remove(&(t, name)).expect("every lane ran"),
            };
            if !name.is_online() {
                // Lanes recorded their steps as they went; constants and oracles now.
                for (i, v) in sel.curve.iter().enumerate() {
                    let task = sel
                        .order
                        .get(i)
                        .copied()
                        .filter(|_| name == StrategyName::SequentialOracle);
                    record(name.name(), t, i + 1, task, *v, None)?;
                }
            }
            per_trial.push(sel);
        }
        outcomes.push(summarize(name, per_trial, trials, k));
    }
    let trainings = coord.with_store(super::store::RunStore::trainings)?.len();
    let outcome = Outcome {
        experiment: plan.experiment.name.clone(),
        n_tasks: n,
        budget: k,
        trials,
        bounds: plan.bounds,
        strategies: outcomes,
        trainings,
    };
    write_atomic(
        &coord.dir().join(RESULTS_FILE),
        serde_json::to_string_pretty(&outcome)
            .expect("outcomes serialise")
            .as_bytes(),
    )?;
    Ok(outcome)
}

/// Trains every source of every trial and writes `matrix_trial{t}.csv` (raw returns, the
/// official MBTL CSV: row = source, column = target). Returns the files written.
pub fn run_matrix(coord: &Coordinator<'_>, workers: usize) -> Result<Vec<std::path::PathBuf>> {
    let plan = coord.plan();
    let n = plan.n_tasks();
    let trials = plan.experiment.trials;
    let items = (0..trials)
        .flat_map(|t| (0..n).map(move |i| Item::Train(t, Source::Task(i))))
        .collect();
    run_pool(workers, items, &|item| match item {
        Item::Train(t, s) => coord.row(t, s).map(|_| ()),
        Item::Lane(..) => unreachable!("a matrix has no lanes"),
    })?;
    let mut files = Vec::new();
    for t in 0..trials {
        let rows = (0..n)
            .map(|i| coord.row(t, Source::Task(i)).map(|r| r.to_vec()))
            .collect::<Result<Vec<_>>>()?;
        let path = coord.dir().join(matrix_file(t));
        TransferMatrix::from_rows(&rows)?.write_csv(&path)?;
        files.push(path);
    }
    Ok(files)
}

/// The matrix file of trial `t` in a run folder.
pub fn matrix_file(t: usize) -> String {
    format!("matrix_trial{t}.csv")
}
