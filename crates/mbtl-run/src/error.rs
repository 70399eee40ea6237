//! Errors of experiments, with the file (and, for configs, the field) they concern.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The OS error is the source (printed after the path by `{:#}` and [`RunError::chain`]).
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An experiment or result file that mbtl refuses, in its own words.
    #[error("{file}: {message}")]
    Config { file: String, message: String },
    /// A field of an experiment whose value a library refused; the library's error is the
    /// source (`file: field: …` in a chain).
    #[error("{file}: {field}")]
    Field {
        file: String,
        field: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A TOML or JSON file that does not parse; the parser's error is the source.
    #[error("{file}")]
    Parse {
        file: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("run store {}: {message}", path.display())]
    Store { path: PathBuf, message: String },
    /// SQLite refused an operation on the run store; its error is the source.
    #[error("run store {}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{} was made by a different experiment; resuming it with this one is refused. Changed:\n  {}\n(run into a new --out folder, or restore the old settings; the number of trials, the selection — strategies, budget, bounds, slope, acquisition — and the report may change, and the multi-task hyper-parameters until the multi-task policy is trained)", path.display(), changes.join("\n  "))]
    ConfigChanged { path: PathBuf, changes: Vec<String> },
    #[error("run folder {} is in use by another mbtl ({holder}); one writer at a time (status and report still work)", dir.display())]
    Locked { dir: PathBuf, holder: String },
    #[error("job {job}: {message}")]
    Job { job: String, message: String },
    #[error(transparent)]
    Env(#[from] mbtl_env::EnvError),
    #[error(transparent)]
    Rl(#[from] mbtl_rl::RlError),
    #[error(transparent)]
    Select(#[from] mbtl_select::SelectError),
    /// A report or figure mbtl refuses to make, in its own words (nothing to plot).
    #[error("report: {0}")]
    Report(String),
    /// The drawing library failed inside a figure; its error is the source.
    #[error("drawing failed")]
    Draw {
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A figure that could not be made; what went wrong (a [`RunError::Draw`] or the
    /// rasteriser's error) is the source.
    #[error("figure {}", file.display())]
    Figure {
        file: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("slurm array: {0}")]
    Cluster(String),
}

impl RunError {
    /// The message with every source after it (`a: b: c`), for places that keep errors as
    /// text (the store's attempts, failure files).
    pub fn chain(&self) -> String {
        mbtl_select::error_chain(self)
    }

    pub fn io(path: &Path, source: std::io::Error) -> RunError {
        RunError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = RunError> = std::result::Result<T, E>;
