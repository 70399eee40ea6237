//! Conformance against trajectories recorded from the Python reference stack
//! (`shared/tools/make_reference_trajectories.py`): read a CSV and the `manifest.json` beside it,
//! replay the recorded actions from the recorded initial state, and compare every column.
//!
//! States and rewards compare as f64, observations as f32 (the CSV holds shortest round-trip
//! decimals, so parsing gives the exact bits). A replay is exact when every value is equal.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::context::{Context, Semantics};
use crate::env::Env;
use crate::error::{EnvError, Result};
use crate::kind::EnvKind;
use crate::spec::Action;

/// One recorded step (row 0 is the initial state and has no action or reward).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub step: u32,
    pub state: Vec<f64>,
    pub obs: Vec<f32>,
    pub action: Option<RecordedAction>,
    pub reward: Option<f64>,
    pub terminated: Option<bool>,
    pub truncated: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecordedAction {
    Discrete(u32),
    Continuous(f32),
}

/// A recorded episode with the full context it ran under.
#[derive(Debug, Clone)]
pub struct Trajectory {
    pub path: PathBuf,
    pub context: Context,
    pub initial_state: Vec<f64>,
    pub max_episode_steps: u32,
    pub rows: Vec<Row>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    versions: serde_json::Value,
    runs: Vec<ManifestRun>,
}

#[derive(Debug, Deserialize)]
struct ManifestRun {
    file: String,
    env: String,
    context_full: serde_json::Map<String, serde_json::Value>,
    initial_state: Vec<f64>,
    max_episode_steps: u32,
    /// Steps recorded after the initial row (older manifests may lack it).
    #[serde(default)]
    steps: Option<usize>,
}

fn file_err(path: &Path, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> EnvError {
    EnvError::File {
        path: path.display().to_string(),
        source: source.into(),
    }
}

impl Trajectory {
    /// Reads `csv` and the run entry for it in `manifest.json` in the same folder.
    pub fn load(csv: &Path) -> Result<Trajectory> {
        let name = csv
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| file_err(csv, "not a file name"))?;
        let manifest_path = csv.with_file_name("manifest.json");
        let text = fs::read_to_string(&manifest_path).map_err(|e| file_err(&manifest_path, e))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| file_err(&manifest_path, e))?;
        if let Some(backend) = manifest.versions.get("backend").and_then(|b| b.as_str()) {
            if backend != "carl" {
                return Err(file_err(
                    &manifest_path,
                    format!("field versions.backend = '{backend}': only 'carl' recordings (numpy 1.26 numerics) are replayed exactly"),
                ));
            }
        }
        let run = manifest
            .runs
            .iter()
            .find(|r| r.file == name)
            .ok_or_else(|| {
                file_err(
                    &manifest_path,
                    format!("no entry in 'runs' has file = '{name}'"),
                )
            })?;
        let kind: EnvKind = run
            .env
            .parse()
            .map_err(|e: EnvError| file_err(&manifest_path, e))?;
        let mut overrides = Vec::new();
        for (key, value) in &run.context_full {
            let v = value.as_f64().ok_or_else(|| {
                file_err(
                    &manifest_path,
                    format!("context_full.{key} = {value} is not a number"),
                )
            })?;
            overrides.push((key.as_str(), v));
        }
        let context = Context::new(kind, Semantics::Carl, &overrides)
            .map_err(|e| file_err(&manifest_path, format!("run '{name}': {e}")))?;
        if run.initial_state.len() != kind.state_dim() {
            return Err(file_err(
                &manifest_path,
                format!(
                    "run '{name}': initial_state has {} values, {kind} needs {}",
                    run.initial_state.len(),
                    kind.state_dim()
                ),
            ));
        }
        let rows = read_rows(csv, kind)?;
        if let Some(steps) = run.steps {
            if rows.len() != steps + 1 {
                return Err(file_err(
                    csv,
                    format!(
                        "{} rows, but manifest.json records {steps} steps after the initial row: the file is cut short or padded",
                        rows.len()
                    ),
                ));
            }
        }
        Ok(Trajectory {
            path: csv.to_path_buf(),
            context,
            initial_state: run.initial_state.clone(),
            max_episode_steps: run.max_episode_steps,
            rows,
        })
    }
}

fn read_rows(path: &Path, kind: EnvKind) -> Result<Vec<Row>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| file_err(path, e))?;
    let headers = reader.headers().map_err(|e| file_err(path, e))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| file_err(path, format!("missing column '{name}'")))
    };
    let s_cols = (0..kind.state_dim())
        .map(|i| col(&format!("s{i}")))
        .collect::<Result<Vec<_>>>()?;
    let o_cols = (0..kind.obs_dim())
        .map(|i| col(&format!("o{i}")))
        .collect::<Result<Vec<_>>>()?;
    let (c_step, c_action, c_reward, c_term, c_trunc) = (
        col("step")?,
        col("action")?,
        col("reward")?,
        col("terminated")?,
        col("truncated")?,
    );
    let discrete = kind.action_space().is_discrete();
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| file_err(path, e))?;
        let at = |c: usize| record.get(c).unwrap_or("").trim();
        let bad = |c: usize| {
            file_err(
                path,
                format!(
                    "row {} column '{}': cannot parse '{}'",
                    line + 1,
                    &headers[c],
                    at(c)
                ),
            )
        };
        let num = |c: usize| at(c).parse::<f64>().map_err(|_| bad(c));
        let opt = |c: usize| if at(c).is_empty() { None } else { Some(c) };
        let flag = |c: usize| -> Result<Option<bool>> {
            opt(c)
                .map(|c| match at(c) {
                    "0" => Ok(false),
                    "1" => Ok(true),
                    _ => Err(bad(c)),
                })
                .transpose()
        };
        rows.push(Row {
            step: at(c_step).parse().map_err(|_| bad(c_step))?,
            state: s_cols.iter().map(|&c| num(c)).collect::<Result<_>>()?,
            obs: o_cols
                .iter()
                .map(|&c| at(c).parse::<f32>().map_err(|_| bad(c)))
                .collect::<Result<_>>()?,
            action: opt(c_action)
                .map(|c| {
                    if discrete {
                        at(c)
                            .parse()
                            .map(RecordedAction::Discrete)
                            .map_err(|_| bad(c))
                    } else {
                        at(c)
                            .parse()
                            .map(RecordedAction::Continuous)
                            .map_err(|_| bad(c))
                    }
                })
                .transpose()?,
            reward: opt(c_reward).map(num).transpose()?,
            terminated: flag(c_term)?,
            truncated: flag(c_trunc)?,
        });
    }
    if rows.is_empty() {
        return Err(file_err(path, "no rows"));
    }
    Ok(rows)
}

/// The largest deviation found in one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnReport {
    pub column: String,
    pub max_abs_diff: f64,
    pub mismatches: usize,
    pub first_mismatch_step: Option<u32>,
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    pub steps: usize,
    pub columns: Vec<ColumnReport>,
}

impl ReplayReport {
    pub fn exact(&self) -> bool {
        self.columns.iter().all(|c| c.mismatches == 0)
    }
}

struct Tally(Vec<ColumnReport>);

impl Tally {
    fn record(&mut self, col: usize, step: u32, want: f64, got: f64) {
        let c = &mut self.0[col];
        let equal = want == got || (want.is_nan() && got.is_nan());
        if !equal {
            c.mismatches += 1;
            c.first_mismatch_step.get_or_insert(step);
            let d = (want - got).abs();
            c.max_abs_diff = if d.is_nan() {
                f64::INFINITY
            } else {
                c.max_abs_diff.max(d)
            };
        }
    }
}

/// Replays the recorded actions from row 0 and compares every later row.
pub fn replay(traj: &Trajectory) -> Result<ReplayReport> {
    let spec = traj.context.env().spec();
    let (ns, no) = (spec.state_dim, spec.obs_dim);
    let mut names: Vec<String> = (0..ns).map(|i| format!("s{i}")).collect();
    names.extend((0..no).map(|i| format!("o{i}")));
    names.extend(["reward", "terminated", "truncated"].map(String::from));
    let mut tally = Tally(
        names
            .into_iter()
            .map(|column| ColumnReport {
                column,
                max_abs_diff: 0.0,
                mismatches: 0,
                first_mismatch_step: None,
            })
            .collect(),
    );
    let mut env = Env::new(traj.context.clone(), 0)?.with_max_episode_steps(traj.max_episode_steps);
    env.reset_to(&traj.initial_state)?;
    let compare_state_obs = |env: &Env, row: &Row, tally: &mut Tally| {
        for (i, (&w, &g)) in row.state.iter().zip(env.state()).enumerate() {
            tally.record(i, row.step, w, g);
        }
        let obs = env.observation();
        for (i, (&w, &g)) in row.obs.iter().zip(&obs).enumerate() {
            tally.record(ns + i, row.step, f64::from(w), f64::from(g));
        }
    };
    compare_state_obs(&env, &traj.rows[0], &mut tally);
    for row in &traj.rows[1..] {
        let action = row
            .action
            .ok_or_else(|| file_err(&traj.path, format!("step {} has no action", row.step)))?;
        let tr = match action {
            RecordedAction::Discrete(a) => env.step(Action::Discrete(a))?,
            RecordedAction::Continuous(a) => env.step(Action::Continuous(&[a]))?,
        };
        compare_state_obs(&env, row, &mut tally);
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        tally.record(ns + no, row.step, row.reward.unwrap_or(f64::NAN), tr.reward);
        tally.record(
            ns + no + 1,
            row.step,
            row.terminated.map_or(f64::NAN, b),
            b(tr.terminated),
        );
        tally.record(
            ns + no + 2,
            row.step,
            row.truncated.map_or(f64::NAN, b),
            b(tr.truncated),
        );
    }
    Ok(ReplayReport {
        steps: traj.rows.len() - 1,
        columns: tally.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_error_keeps_its_cause() {
        let dir = std::env::temp_dir().join(format!("mbtl-traj-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        // No manifest beside the CSV: the OS error is the source.
        let err = Trajectory::load(&dir.join("run.csv")).unwrap_err();
        let EnvError::File { path, source } = &err else {
            panic!("{err:?}")
        };
        assert!(path.ends_with("manifest.json"), "{path}");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        // A manifest that is not JSON: serde's error is the source.
        fs::write(dir.join("manifest.json"), "{ not json").unwrap();
        let err = Trajectory::load(&dir.join("run.csv")).unwrap_err();
        let EnvError::File { source, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(
            source.downcast_ref::<serde_json::Error>().is_some(),
            "{source}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
