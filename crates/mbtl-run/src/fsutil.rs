//! File helpers shared by the run store's neighbours (results, reports, worker files).

use std::path::Path;

use crate::error::{Result, RunError};

/// Writes `bytes` durably and atomically ([`mbtl_fs::write_durable`]: temporary file, fsync,
/// rename, fsync of the folder), with the path in the error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    mbtl_fs::write_durable(path, bytes).map_err(|e| RunError::io(path, e))
}
