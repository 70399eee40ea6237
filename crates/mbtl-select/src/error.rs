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

    #[error("invalid transfer matrix: {0}")]
    Matrix(String),

    #[error("invalid task space: {0}")]
    Space(String),

    #[error("invalid option: {0}")]
    Option(String),

    /// A named setting whose value does not read: `what` names the setting (strategy, gap,
    /// acquisition, NaN policy, normalize, candidates, a synthetic family's part, paper
    /// panel), `expected` says what would.
    #[error("{what} '{value}': expected {expected}")]
    Unreadable {
        what: &'static str,
        value: String,
        expected: String,
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

    #[error("strategy {strategy}: {message}")]
    Strategy { strategy: String, message: String },

    #[error("numerical failure: {0}")]
    Numerical(String),
}

pub type Result<T, E = SelectError> = std::result::Result<T, E>;

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
    fn unreadable_settings_and_budgets_are_errors_a_caller_can_match() {
        let err = "greedy".parse::<crate::Acquisition>().unwrap_err();
        assert!(
            matches!(&err, SelectError::Unreadable { what: "acquisition", value, .. } if value == "greedy"),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("acquisition 'greedy': expected "));
        let err = "randum".parse::<crate::replay::StrategyName>().unwrap_err();
        assert!(matches!(
            err,
            SelectError::Unreadable {
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
}
