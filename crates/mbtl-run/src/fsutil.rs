//! File helpers shared by the run store's neighbours (results, reports, worker files).

use std::path::Path;

use crate::error::{Result, RunError};

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so a kill at
/// any moment leaves either the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    mbtl_select::matrix::write_atomic(path, bytes).map_err(|e| RunError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}
