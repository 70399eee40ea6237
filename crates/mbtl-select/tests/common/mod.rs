//! Fixture readers shared by the integration tests (each test binary uses a subset).
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A CSV with a header, as rows of strings keyed by column name.
pub(crate) fn read_table(rel: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(fixture(rel)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}
