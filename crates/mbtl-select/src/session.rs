//! Selection one step at a time, driven from outside: [`Selector::ask`] says which task to
//! train next, [`Selector::tell`] hands back the row the caller measured. A study that runs
//! for weeks (one training per step, in Python, on a cluster) keeps its [`SelectorState`] as
//! JSON and picks up where it was: restoring replays the recorded steps through a freshly
//! built strategy, which is deterministic, so its internal state is the same as before.
//!
//! [`crate::run_selection`] is this loop with an [`crate::Evaluator`] answering the asks.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SelectError};
use crate::replay::{build_strategy, ReplayOptions, StrategyName};
use crate::space::TaskSpace;
use crate::strategy::{absorb, check_row, Selection, Step, Strategy};

/// A strategy being driven step by step.
pub struct Selector {
    name: StrategyName,
    trial: usize,
    options: ReplayOptions,
    space: TaskSpace,
    strategy: Box<dyn Strategy>,
    chosen: Vec<usize>,
    rows: Vec<Vec<f64>>,
    best: Vec<f64>,
    curve: Vec<f64>,
    modes: Vec<String>,
    /// The task asked for and not yet told.
    pending: Option<usize>,
}

/// Everything needed to rebuild a [`Selector`]: its settings and every step told so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectorState {
    pub format: String,
    pub version: u32,
    pub strategy: String,
    pub trial: usize,
    pub budget: usize,
    pub seed: u32,
    /// Task coordinates (one row per task).
    pub coords: Vec<Vec<f64>>,
    /// Grid shape when the space is a grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<Vec<usize>>,
    /// The options that shape the strategies, as their command-line text.
    pub gap: String,
    pub acquisition: String,
    pub candidates: String,
    /// Tasks told so far, in order, with their rows.
    pub steps: Vec<(usize, Vec<f64>)>,
}

const STATE_FORMAT: &str = "mbtl.selector";
const STATE_VERSION: u32 = 1;

impl Selector {
    /// A selector of `name` over `space` (only strategies that choose from revealed rows: not
    /// the constants, not the sequential oracle), seeded for `trial` as `mbtl replay` seeds it.
    pub fn new(
        name: StrategyName,
        space: TaskSpace,
        options: ReplayOptions,
        trial: usize,
    ) -> Result<Selector> {
        let n = space.len();
        if options.budget == 0 || options.budget > n {
            return Err(SelectError::Budget {
                budget: options.budget,
                tasks: n,
            });
        }
        let strategy = build_strategy(name, trial, 0, &options).ok_or_else(|| {
            SelectError::Unsupported {
                strategy: name.to_string(),
                reason: "not a sequential strategy (constants and the sequential oracle need the whole matrix; use replay)",
            }
        })?;
        Ok(Selector {
            name,
            trial,
            options,
            strategy,
            chosen: Vec::new(),
            rows: Vec::new(),
            best: vec![f64::NEG_INFINITY; n],
            curve: Vec::new(),
            modes: Vec::new(),
            pending: None,
            space,
        })
    }

    pub fn n_tasks(&self) -> usize {
        self.space.len()
    }

    pub fn budget(&self) -> usize {
        self.options.budget
    }

    pub fn strategy(&self) -> StrategyName {
        self.name
    }

    pub fn space(&self) -> &TaskSpace {
        &self.space
    }

    /// Whether all K steps are told.
    pub fn done(&self) -> bool {
        self.chosen.len() >= self.options.budget
    }

    /// Tasks told so far, in order.
    pub fn order(&self) -> &[usize] {
        &self.chosen
    }

    /// `V_k` after each step told so far.
    pub fn curve(&self) -> &[f64] {
        &self.curve
    }

    /// The row told for `task`, if it was chosen before (a strategy may choose a task again;
    /// its row is then known and needs no training).
    pub fn known_row(&self, task: usize) -> Option<&[f64]> {
        self.chosen
            .iter()
            .position(|&c| c == task)
            .map(|i| self.rows[i].as_slice())
    }

    /// The next task to train, or `None` once K steps are told. Asking again before telling
    /// returns the same task.
    pub fn ask(&mut self) -> Result<Option<usize>> {
        if self.done() {
            return Ok(None);
        }
        if let Some(t) = self.pending {
            return Ok(Some(t));
        }
        let task = self.strategy.select(&crate::strategy::History {
            space: &self.space,
            chosen: &self.chosen,
            rows: &self.rows,
            best: &self.best,
        })?;
        let n = self.n_tasks();
        if task >= n {
            return Err(SelectError::OutOfRange {
                strategy: self.strategy.name(),
                task,
                tasks: n,
            });
        }
        self.pending = Some(task);
        Ok(Some(task))
    }

    /// Records the zero-shot row (one value per target, finite) of the task last asked for.
    pub fn tell(&mut self, task: usize, row: Vec<f64>) -> Result<Step<'_>> {
        let n = self.n_tasks();
        match self.pending {
            Some(p) if p == task => {}
            Some(p) => {
                return Err(SelectError::Tell {
                    told: task,
                    asked: Some(p),
                })
            }
            None => {
                return Err(SelectError::Tell {
                    told: task,
                    asked: None,
                })
            }
        }
        check_row(task, n, &row)?;
        self.pending = None;
        let value = absorb(&mut self.best, &row);
        self.curve.push(value);
        self.chosen.push(task);
        self.rows.push(row);
        let mode = self.strategy.mode();
        if let Some(m) = mode {
            self.modes.push(m.to_string());
        }
        Ok(Step {
            k: self.chosen.len(),
            task,
            value,
            mode,
        })
    }

    /// The selection so far.
    pub fn selection(&self) -> Selection {
        Selection {
            strategy: self.strategy.name(),
            order: self.chosen.clone(),
            curve: self.curve.clone(),
            modes: self.modes.clone(),
        }
    }

    /// The state to save (settings and the steps told; a pending ask is not part of it).
    pub fn state(&self) -> SelectorState {
        SelectorState {
            format: STATE_FORMAT.into(),
            version: STATE_VERSION,
            strategy: self.name.name().into(),
            trial: self.trial,
            budget: self.options.budget,
            seed: self.options.seed,
            coords: (0..self.n_tasks())
                .map(|t| self.space.coord(t).to_vec())
                .collect(),
            grid: self.space.levels().map(<[usize]>::to_vec),
            gap: self.options.gap.to_string(),
            acquisition: self.options.acquisition.to_string(),
            candidates: self.options.candidates.to_string(),
            steps: self
                .chosen
                .iter()
                .copied()
                .zip(self.rows.iter().cloned())
                .collect(),
        }
    }

    /// Rebuilds a selector from a saved state: every recorded step is asked again and must be
    /// chosen again (else the state belongs to other settings or another mbtl), then told.
    pub fn restore(state: &SelectorState) -> Result<Selector> {
        if state.format != STATE_FORMAT || state.version != STATE_VERSION {
            return Err(SelectError::StateVersion {
                format: state.format.clone(),
                version: state.version,
                expected_format: STATE_FORMAT,
                expected_version: STATE_VERSION,
            });
        }
        let space = match &state.grid {
            Some(shape) => TaskSpace::grid(shape)?,
            None => TaskSpace::points(&state.coords)?,
        };
        let options = ReplayOptions {
            budget: state.budget,
            seed: state.seed,
            gap: state.gap.parse()?,
            acquisition: state.acquisition.parse()?,
            candidates: state.candidates.parse()?,
            ..Default::default()
        };
        let mut sel = Selector::new(state.strategy.parse()?, space, options, state.trial)?;
        for (k, (task, row)) in state.steps.iter().enumerate() {
            let asked = sel.ask()?;
            if asked != Some(*task) {
                return Err(SelectError::StateDiverged {
                    step: k + 1,
                    recorded: *task,
                    chosen: asked,
                });
            }
            sel.tell(*task, row.clone())?;
        }
        Ok(sel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::TransferMatrix;
    use crate::strategy::run_selection;

    fn matrix(n: usize) -> TransferMatrix {
        TransferMatrix::from_fn(n, |s, t| {
            (0.95 - 0.04 * (s as f64 - t as f64).abs() - 0.01 * s as f64).max(0.0)
        })
        .unwrap()
    }

    #[test]
    fn ask_and_tell_equal_replay_and_a_saved_state_resumes_identically() {
        let n = 15;
        let m = matrix(n);
        for name in ["mbtl-gp", "m-mbtl", "random", "equidistant", "gp-mbtl"] {
            let name: StrategyName = name.parse().unwrap();
            let opts = ReplayOptions {
                budget: 6,
                ..Default::default()
            };
            let mut replayed = build_strategy(name, 0, 0, &opts).unwrap();
            let want =
                run_selection(replayed.as_mut(), &mut &m, &TaskSpace::indices(n), 6).unwrap();

            let mut sel = Selector::new(name, TaskSpace::indices(n), opts.clone(), 0).unwrap();
            let mut saved = None;
            while let Some(task) = sel.ask().unwrap() {
                assert_eq!(
                    sel.ask().unwrap(),
                    Some(task),
                    "asking twice gives the same task"
                );
                let row = match sel.known_row(task) {
                    Some(r) => r.to_vec(),
                    None => m.row(task).to_vec(),
                };
                sel.tell(task, row).unwrap();
                if sel.order().len() == 3 {
                    let json = serde_json::to_string(&sel.state()).unwrap();
                    saved = Some(json);
                }
            }
            assert_eq!(sel.selection(), want, "{name}");
            // Restored halfway, it goes on to the same choices.
            let state: SelectorState = serde_json::from_str(&saved.unwrap()).unwrap();
            let mut back = Selector::restore(&state).unwrap();
            while let Some(task) = back.ask().unwrap() {
                let row = m.row(task).to_vec();
                back.tell(task, row).unwrap();
            }
            assert_eq!(back.selection(), want, "{name} restored");
        }
    }

    #[test]
    fn misuse_is_an_error() {
        let n = 5;
        let opts = ReplayOptions {
            budget: 2,
            ..Default::default()
        };
        let mut sel =
            Selector::new(StrategyName::Random, TaskSpace::indices(n), opts.clone(), 0).unwrap();
        assert!(matches!(
            sel.tell(0, vec![0.0; n]).unwrap_err(),
            SelectError::Tell {
                told: 0,
                asked: None
            }
        ));
        let t = sel.ask().unwrap().unwrap();
        let other = (t + 1) % n;
        let err = sel.tell(other, vec![0.0; n]).unwrap_err();
        assert!(
            matches!(err, SelectError::Tell { told, asked: Some(a) } if told == other && a == t),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("told task {other}, but the task asked for is {t}")
        );
        assert!(sel.tell(t, vec![0.0; n - 1]).is_err());
        assert!(sel.tell(t, vec![f64::NAN; n]).is_err());
        sel.tell(t, vec![0.5; n]).unwrap();
        assert!(matches!(
            Selector::new(StrategyName::Oracle, TaskSpace::indices(n), opts, 0),
            Err(SelectError::Unsupported { .. })
        ));
        let mut state = sel.state();
        state.steps[0].0 = (t + 1) % n;
        // A state the strategy does not reproduce.
        assert!(matches!(
            Selector::restore(&state),
            Err(SelectError::StateDiverged { step: 1, recorded, chosen: Some(c) })
                if recorded == (t + 1) % n && c == t
        ));
        state.version += 1;
        assert!(matches!(
            Selector::restore(&state),
            Err(SelectError::StateVersion { .. })
        ));
    }
}
