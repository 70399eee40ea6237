//! Errors of the selection engine. File errors name the file, the row and the column.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SelectError {
    /// A matrix file that could not be read or written; the cause (an OS, CSV or NumPy
    /// format error, or mbtl's own words) is the source.
    #[error("{path}")]
    File {
        path: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("{path}: row {row}, column {col}: {message}")]
    Cell {
        path: String,
        row: usize,
        col: usize,
        message: String,
    },

    /// An input with nothing in it (a matrix, a task space, a list of matrices).
    #[error("{what} is empty")]
    Empty { what: &'static str },

    /// Two sizes that must agree do not: `what` says which (the values of a matrix, a row,
    /// the task space against the matrix, matrices of one replay, the multi-task vector).
    #[error("{what}: {found}, expected {expected}")]
    Size {
        what: String,
        expected: usize,
        found: usize,
    },

    /// A transfer matrix entry that is not a finite number.
    #[error(
        "transfer matrix row {row}, column {col} is {value}, not a finite number (a NaN policy can impute missing values)"
    )]
    NonFinite { row: usize, col: usize, value: f64 },

    /// Normalisation bounds that do not make an interval (given ones, or a matrix's min and
    /// max under min–max normalisation).
    #[error(
        "normalisation bounds lower = {lower}, upper = {upper}: expected finite values with upper > lower"
    )]
    Bounds { lower: f64, upper: f64 },

    /// A setting or input value that does not read or is not allowed: `what` names it
    /// (strategy, gap, acquisition, NaN policy, normalize, candidates, a synthetic family's
    /// part, paper panel, grid levels, a task-space point, noise), `expected` says what would
    /// do.
    #[error("{what} '{value}': expected {expected}")]
    Invalid {
        what: &'static str,
        value: String,
        expected: String,
    },

    /// Something needed that was not given, e.g. a matrix for the oracle or the multi-task
    /// policy's per-target performance for the `multitask` baseline.
    #[error("{who} needs {what}")]
    Missing {
        who: &'static str,
        what: &'static str,
    },

    /// A budget K outside 1 ..= the number of tasks.
    #[error("budget K = {budget} must be between 1 and the number of tasks ({tasks})")]
    Budget { budget: usize, tasks: usize },

    /// A source's row could not be had: the evaluator's own error (a training that failed,
    /// a row of the wrong shape) is kept as the source.
    #[error("evaluating source task {task} failed")]
    Evaluation {
        task: usize,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// A strategy that splits a 1-D range (Pseudogreedy, Equidistant) on a space of `dims`
    /// dimensions.
    #[error(
        "strategy {strategy}: defined for 1-D task spaces only, this one has {dims} dimensions"
    )]
    OneDimensional { strategy: String, dims: usize },

    /// A strategy asked to run where it cannot: one that needs the whole matrix (a constant,
    /// the sequential oracle) where rows come one at a time.
    #[error("strategy {strategy}: {reason}")]
    Unsupported {
        strategy: String,
        reason: &'static str,
    },

    /// A strategy asked for a task when every task has been chosen.
    #[error("strategy {strategy}: every task has been chosen")]
    Exhausted { strategy: String },

    /// A strategy chose a task outside the space (a user's strategy with a bug).
    #[error("strategy {strategy} chose task {task}, but there are {tasks}")]
    OutOfRange {
        strategy: String,
        task: usize,
        tasks: usize,
    },

    /// The ask/tell protocol out of order: a row told for a task other than the one asked
    /// for (`asked`), or before any was asked for (`None`).
    #[error("told task {told}, but {}", match asked {
        Some(a) => format!("the task asked for is {a}"),
        None => "no task was asked for (call ask first)".to_string(),
    })]
    Tell { told: usize, asked: Option<usize> },

    /// A saved selector state written by another format or version.
    #[error("selector state: format {format} version {version}, expected {expected_format} version {expected_version}")]
    StateVersion {
        format: String,
        version: u32,
        expected_format: &'static str,
        expected_version: u32,
    },

    /// A saved selector state whose steps the strategy no longer repeats: it belongs to other
    /// settings or another mbtl. `step` counts from 1.
    #[error("selector state: step {step} recorded task {recorded}, but the strategy now chooses {}",
        chosen.map_or_else(|| "none".to_string(), |c| c.to_string()))]
    StateDiverged {
        step: usize,
        recorded: usize,
        chosen: Option<usize>,
    },

    /// A GP covariance that Cholesky cannot factor; `hyper` shows the hyper-parameters.
    #[error("GP covariance is not positive definite at {hyper}")]
    NotPositiveDefinite { hyper: String },

    /// Every start of a GP hyper-parameter fit failed.
    #[error("every GP fit failed ({starts} starts)")]
    NoGpFit { starts: usize },

    /// No unchosen task has a finite acquisition value (the GP's predictions are not finite).
    #[error("strategy {strategy}: no unchosen task has a finite acquisition value")]
    NoFiniteAcquisition { strategy: String },
}

pub type Result<T, E = SelectError> = std::result::Result<T, E>;

/// An error with every source after it (`a: b: c`), as the command line prints errors, for
/// the places that must keep or pass one as text: the run store's attempts and failure
/// files, Python exceptions. A source whose text already ends the message (a variant that
/// shows its source) is not repeated.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{run_selection, FnEvaluator, Random, TaskSpace};

    /// A trainer's own error type, as a user's evaluator would have.
    #[derive(Debug, thiserror::Error)]
    #[error("the simulator crashed at step {0}")]
    struct Crash(u32);

    #[test]
    fn an_evaluators_own_error_is_kept_as_the_source() {
        let mut evaluator = FnEvaluator {
            n: 4,
            f: |task| {
                Err(SelectError::Evaluation {
                    task,
                    source: Box::new(Crash(17)),
                })
            },
        };
        let err = run_selection(
            &mut Random::new(0),
            &mut evaluator,
            &TaskSpace::indices(4),
            2,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("evaluating source task"));
        let source = std::error::Error::source(&err).expect("a source");
        assert_eq!(source.downcast_ref::<Crash>().map(|c| c.0), Some(17));
    }

    #[test]
    fn invalid_settings_and_budgets_are_errors_a_caller_can_match() {
        let err = "greedy".parse::<crate::Acquisition>().unwrap_err();
        assert!(
            matches!(&err, SelectError::Invalid { what: "acquisition", value, .. } if value == "greedy"),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("acquisition 'greedy': expected "));
        let err = "randum".parse::<crate::replay::StrategyName>().unwrap_err();
        assert!(matches!(
            err,
            SelectError::Invalid {
                what: "strategy",
                ..
            }
        ));
        let m = crate::TransferMatrix::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        let options = crate::replay::ReplayOptions {
            budget: 3,
            ..Default::default()
        };
        let err = crate::replay::replay(
            &[m],
            &TaskSpace::indices(2),
            &[crate::replay::StrategyName::Random],
            &options,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                SelectError::Budget {
                    budget: 3,
                    tasks: 2
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn bad_inputs_are_variants_that_say_which_value() {
        use crate::{TaskSpace, TransferMatrix};
        let err = TransferMatrix::new(2, vec![1.0, f64::NAN, 0.0, 1.0]).unwrap_err();
        assert!(
            matches!(err, SelectError::NonFinite { row: 0, col: 1, value } if value.is_nan()),
            "{err:?}"
        );
        let err = TransferMatrix::from_rows(&[vec![1.0, 0.0], vec![1.0]]).unwrap_err();
        assert!(
            matches!(&err, SelectError::Size { expected: 2, found: 1, what } if what.contains("row 1")),
            "{err:?}"
        );
        assert!(matches!(
            TransferMatrix::new(0, vec![]),
            Err(SelectError::Empty { .. })
        ));
        let mut m = TransferMatrix::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        assert!(matches!(
            m.normalize_bounds(1.0, 1.0, false),
            Err(SelectError::Bounds { lower, upper }) if lower == 1.0 && upper == 1.0
        ));
        assert!(matches!(
            TaskSpace::grid(&[3, 0]),
            Err(SelectError::Invalid {
                what: "grid levels",
                ..
            })
        ));
        let err = TaskSpace::indices(3).check_len(4).unwrap_err();
        assert!(matches!(
            err,
            SelectError::Size {
                expected: 4,
                found: 3,
                ..
            }
        ));
        // A row of the wrong length from an evaluator: the evaluation fails, and its source
        // says how.
        let mut evaluator = FnEvaluator {
            n: 3,
            f: |_| Ok(vec![0.0; 2]),
        };
        let err = run_selection(
            &mut Random::new(0),
            &mut evaluator,
            &TaskSpace::indices(3),
            1,
        )
        .unwrap_err();
        let source = std::error::Error::source(&err).expect("a source");
        assert!(matches!(
            source.downcast_ref::<SelectError>(),
            Some(SelectError::Size {
                expected: 3,
                found: 2,
                ..
            })
        ));
        assert!(
            error_chain(&err).starts_with("evaluating source task"),
            "{}",
            error_chain(&err)
        );
        assert!(error_chain(&err).ends_with(": 2, expected 3"));
    }
}
