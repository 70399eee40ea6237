//! Errors of the selection engine. File errors name the file, the row and the column.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SelectError {
    #[error("{path}: {message}")]
    File { path: String, message: String },

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

    #[error("evaluating source task {task} failed: {message}")]
    Evaluation { task: usize, message: String },

    #[error("strategy {strategy}: {message}")]
    Strategy { strategy: String, message: String },

    #[error("numerical failure: {0}")]
    Numerical(String),
}

pub type Result<T, E = SelectError> = std::result::Result<T, E>;
