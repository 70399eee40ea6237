//! The run store: one SQLite file per experiment (`run.sqlite` in the run folder) holding the
//! experiment, its tasks, every training attempt, every evaluation and every selection step.
//! Policies live as safetensors files beside it.
//!
//! Each finished job is committed in one transaction (training row, all its evaluations, and
//! its attempt marked finished), after its policy file is in place; each selection step in its
//! own. A kill at any moment therefore loses at most the jobs that were running, and the same
//! command picks up from the last commit.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::config::{differences, training_differences, Experiment};
use crate::error::{Result, RunError};
use crate::job::{CurvePoint, JobResult, Source, TargetReturn};
use mbtl_rl::callback::Kept;

/// File name of the store inside a run folder.
pub const STORE_FILE: &str = "run.sqlite";
/// Version of the schema below.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    task INTEGER PRIMARY KEY,
    context TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trial INTEGER NOT NULL,
    source INTEGER NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
    error TEXT
);
CREATE TABLE IF NOT EXISTS trainings (
    trial INTEGER NOT NULL,
    source INTEGER NOT NULL,
    seed TEXT NOT NULL,
    policy TEXT NOT NULL,
    env_steps INTEGER NOT NULL,
    train_seconds REAL NOT NULL,
    eval_seconds REAL NOT NULL,
    attempt INTEGER NOT NULL REFERENCES attempts(id),
    PRIMARY KEY (trial, source)
);
CREATE TABLE IF NOT EXISTS evaluations (
    trial INTEGER NOT NULL,
    source INTEGER NOT NULL,
    target INTEGER NOT NULL,
    mean REAL NOT NULL,
    std REAL,
    episodes INTEGER,
    PRIMARY KEY (trial, source, target)
);
CREATE TABLE IF NOT EXISTS curves (
    trial INTEGER NOT NULL,
    source INTEGER NOT NULL,
    series TEXT NOT NULL,
    idx INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (trial, source, series, idx)
);
CREATE TABLE IF NOT EXISTS kept (
    trial INTEGER NOT NULL,
    source INTEGER NOT NULL,
    which TEXT NOT NULL CHECK (which IN ('last', 'best')),
    step INTEGER,
    value REAL,
    PRIMARY KEY (trial, source)
);
CREATE TABLE IF NOT EXISTS artifacts (
    trial INTEGER NOT NULL,
    source INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (trial, source, idx)
);
CREATE TABLE IF NOT EXISTS steps (
    strategy TEXT NOT NULL,
    trial INTEGER NOT NULL,
    step INTEGER NOT NULL,
    task INTEGER,
    value REAL NOT NULL,
    mode TEXT,
    PRIMARY KEY (strategy, trial, step)
);
";

/// One recorded selection step (`task` is `None` for constant levels such as Independent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    pub strategy: String,
    pub trial: usize,
    pub step: usize,
    pub task: Option<usize>,
    pub value: f64,
    pub mode: Option<String>,
}

/// A finished training.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingRecord {
    pub trial: usize,
    pub source: Source,
    /// Policy file, relative to the run folder.
    pub policy: String,
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

/// One stored point of a training's learning curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveRow {
    pub trial: usize,
    pub source: Source,
    /// The series ([`crate::job::series`]).
    pub series: String,
    pub step: u64,
    pub value: f64,
}

/// A failed attempt, with what went wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedAttempt {
    pub trial: usize,
    pub source: Source,
    /// Seconds since the Unix epoch.
    pub finished: f64,
    pub error: String,
}

/// An attempt the store records as running (its process may have died since: the next
/// writer marks such attempts interrupted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunningAttempt {
    pub trial: usize,
    pub source: Source,
    /// Seconds since the Unix epoch.
    pub started: f64,
}

/// Counts of attempts by status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AttemptCounts {
    pub finished: usize,
    pub running: usize,
    pub failed: usize,
    pub interrupted: usize,
}

/// File a writer holds locked (`flock`) while it has a run folder open: the operating system
/// releases it when the process ends, however it ends, so a killed run never leaves it stuck.
pub const LOCK_FILE: &str = "run.lock";

/// An open run store.
pub struct RunStore {
    conn: Connection,
    path: PathBuf,
    /// Held for the store's lifetime by the one writer (`None` for read-only stores).
    _lock: Option<std::fs::File>,
}

/// Who holds a run folder's lock, as its lock file says.
fn lock_holder(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(", "))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "a process that has not written its name yet".into())
}

/// Takes the run folder's writer lock, or says who holds it.
fn take_lock(dir: &Path) -> Result<std::fs::File> {
    use std::io::Write as _;
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| RunError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(RunError::Locked {
                dir: dir.to_path_buf(),
                holder: lock_holder(&path),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(RunError::io(&path, e)),
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let text = format!(
        "pid={} host={} since={:.0}\n",
        std::process::id(),
        host.trim(),
        now()
    );
    file.set_len(0)
        .and_then(|()| file.write_all(text.as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(|e| RunError::io(&path, e))?;
    Ok(file)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl RunStore {
    fn err(&self, source: rusqlite::Error) -> RunError {
        RunError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn connect(path: &Path, lock: std::fs::File) -> Result<RunStore> {
        let store_err = |source: rusqlite::Error| RunError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(store_err)?;
        // WAL keeps readers (`mbtl status`) off the writer's back; FULL sync makes every
        // commit durable before the next job starts.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(store_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(store_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(store_err)?;
        Ok(RunStore {
            conn,
            path: path.to_path_buf(),
            _lock: Some(lock),
        })
    }

    /// Whether a multi-task training is stored, in any trial.
    fn has_multitask_training(&self) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM trainings WHERE source = ?1)",
                params![Source::Multitask.key()],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Creates the store for `experiment` in `dir`, or reopens it. Reopening with an
    /// experiment whose settings differ is refused with the list of changed fields.
    /// `contexts` are the tasks' contexts as JSON, recorded once.
    pub fn open(dir: &Path, experiment: &Experiment, contexts: &[String]) -> Result<RunStore> {
        std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
        let lock = take_lock(dir)?;
        let path = dir.join(STORE_FILE);
        let store = Self::connect(&path, lock)?;
        store.conn.execute_batch(SCHEMA).map_err(|e| store.err(e))?;
        let canonical = experiment.canonical();
        match store.meta("experiment")? {
            Some(old_text) => {
                let old = Experiment::parse(&old_text, &path.display().to_string())?;
                let changes = differences(&old, experiment);
                // The multi-task settings decide one training: changing them is refused only
                // once it is stored (which trial does not matter: they all used the old ones).
                let multitask_changed = old.multitask_identity() != experiment.multitask_identity()
                    && store.has_multitask_training()?;
                if multitask_changed || !training_differences(&old, experiment).is_empty() {
                    return Err(RunError::ConfigChanged { path, changes });
                }
                if old_text != canonical {
                    // Only the selection, the report or how jobs run changed: the trainings
                    // stay, the experiment is the new one, and selection steps recorded under
                    // other selection settings are dropped (they are replayed from the stored
                    // rows, which costs no training).
                    let tx = store
                        .conn
                        .unchecked_transaction()
                        .map_err(|e| store.err(e))?;
                    if !changes.is_empty() {
                        tx.execute("DELETE FROM steps", [])
                            .map_err(|e| store.err(e))?;
                    }
                    tx.execute(
                        "UPDATE meta SET value = ?1 WHERE key = 'experiment'",
                        params![canonical],
                    )
                    .map_err(|e| store.err(e))?;
                    tx.commit().map_err(|e| store.err(e))?;
                }
            }
            None => {
                let tx = store
                    .conn
                    .unchecked_transaction()
                    .map_err(|e| store.err(e))?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('experiment', ?1), ('schema_version', ?2), ('created', ?3), ('mbtl_version', ?4)",
                    params![canonical, SCHEMA_VERSION.to_string(), now().to_string(), env!("CARGO_PKG_VERSION")],
                )
                .map_err(|e| store.err(e))?;
                for (i, c) in contexts.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO tasks (task, context) VALUES (?1, ?2)",
                        params![i as i64, c],
                    )
                    .map_err(|e| store.err(e))?;
                }
                tx.commit().map_err(|e| store.err(e))?;
            }
        }
        // Attempts left running by a killed process will never finish.
        store
            .conn
            .execute(
                "UPDATE attempts SET status = 'interrupted' WHERE status = 'running'",
                [],
            )
            .map_err(|e| store.err(e))?;
        Ok(store)
    }

    /// Opens an existing store read-only (status, report, workers checking their run folder),
    /// returning its experiment: it takes no lock, so it works while a run holds the folder,
    /// and it never writes (a damaged or empty store file is reported, not rewritten).
    pub fn open_existing(dir: &Path) -> Result<(RunStore, Experiment)> {
        let path = dir.join(STORE_FILE);
        if !path.is_file() {
            return Err(RunError::Store {
                path,
                message:
                    "no run store here (expected a folder written by `mbtl run` or `mbtl matrix`)"
                        .into(),
            });
        }
        let store_err = |source: rusqlite::Error| RunError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(store_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(store_err)?;
        let store = RunStore {
            conn,
            path: path.clone(),
            _lock: None,
        };
        let text = store
            .meta("experiment")
            .ok()
            .flatten()
            .ok_or_else(|| RunError::Store {
                path: path.clone(),
                message:
                    "the store holds no experiment (empty, unfinished or not an mbtl run store)"
                        .into(),
            })?;
        let exp = Experiment::parse(&text, &path.display().to_string())?;
        Ok((store, exp))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        // A store being created has no meta table yet when opened read-only elsewhere.
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records that a job starts; returns the attempt id.
    pub fn begin_attempt(&self, trial: usize, source: Source) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO attempts (trial, source, started, status) VALUES (?1, ?2, ?3, 'running')",
                params![trial as i64, source.key(), now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records a failed attempt that ran elsewhere (a Slurm array task's failure file).
    pub fn record_failure(&self, trial: usize, source: Source, error: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO attempts (trial, source, started, finished, status, error) VALUES (?1, ?2, ?3, ?3, 'failed', ?4)",
                params![trial as i64, source.key(), now(), error],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The most recent `limit` failed attempts, newest first.
    pub fn failed_attempts(&self, limit: usize) -> Result<Vec<FailedAttempt>> {
        let sql = "SELECT trial, source, finished, error FROM attempts WHERE status = 'failed' ORDER BY id DESC LIMIT ?1";
        self.rows(sql, [limit as i64], |r| {
            Ok(FailedAttempt {
                trial: r.get::<_, i64>(0)? as usize,
                source: Source::from_key(r.get(1)?),
                finished: r.get::<_, Option<f64>>(2)?.unwrap_or(0.0),
                error: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            })
        })
    }

    /// The attempts recorded as running, oldest first.
    pub fn running_attempts(&self) -> Result<Vec<RunningAttempt>> {
        self.rows(
            "SELECT trial, source, started FROM attempts WHERE status = 'running' ORDER BY id",
            [],
            |r| {
                Ok(RunningAttempt {
                    trial: r.get::<_, i64>(0)? as usize,
                    source: Source::from_key(r.get(1)?),
                    started: r.get(2)?,
                })
            },
        )
    }

    pub fn fail_attempt(&self, attempt: i64, error: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE attempts SET status = 'failed', finished = ?2, error = ?3 WHERE id = ?1",
                params![attempt, now(), error],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Commits a finished job: its training, every evaluation, and its attempt, in one
    /// transaction. `attempt` is `None` for results ingested from a worker's file.
    pub fn commit(&self, result: &JobResult, attempt: Option<i64>) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let attempt = match attempt {
            Some(a) => {
                tx.execute(
                    "UPDATE attempts SET status = 'finished', finished = ?2 WHERE id = ?1",
                    params![a, now()],
                )
                .map_err(|e| self.err(e))?;
                a
            }
            None => {
                tx.execute(
                    "INSERT INTO attempts (trial, source, started, finished, status) VALUES (?1, ?2, ?3, ?3, 'finished')",
                    params![result.trial as i64, result.source.key(), now()],
                )
                .map_err(|e| self.err(e))?;
                tx.last_insert_rowid()
            }
        };
        tx.execute(
            "INSERT INTO trainings (trial, source, seed, policy, env_steps, train_seconds, eval_seconds, attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                result.trial as i64,
                result.source.key(),
                result.seed.to_string(),
                result.policy,
                result.env_steps as i64,
                result.train_seconds,
                result.eval_seconds,
                attempt
            ],
        )
        .map_err(|e| self.err(e))?;
        {
            let mut ins = tx
                .prepare_cached("INSERT INTO evaluations (trial, source, target, mean, std, episodes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(|e| self.err(e))?;
            for (t, r) in result.targets.iter().enumerate() {
                ins.execute(params![
                    result.trial as i64,
                    result.source.key(),
                    t as i64,
                    r.mean,
                    r.std,
                    r.episodes.map(|e| e as i64)
                ])
                .map_err(|e| self.err(e))?;
            }
            let mut ins = tx
                .prepare_cached("INSERT INTO curves (trial, source, series, idx, step, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(|e| self.err(e))?;
            for (series, points) in &result.curves {
                for (i, p) in points.iter().enumerate() {
                    ins.execute(params![
                        result.trial as i64,
                        result.source.key(),
                        series,
                        i as i64,
                        i64::try_from(p.step).unwrap_or(i64::MAX),
                        p.value
                    ])
                    .map_err(|e| self.err(e))?;
                }
            }
            if let Some(kept) = &result.kept {
                let (which, step, value) = match *kept {
                    Kept::Last => ("last", None, None),
                    Kept::Best {
                        env_steps,
                        mean_return,
                    } => (
                        "best",
                        Some(i64::try_from(env_steps).unwrap_or(i64::MAX)),
                        Some(mean_return),
                    ),
                };
                tx.execute(
                    "INSERT INTO kept (trial, source, which, step, value) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![result.trial as i64, result.source.key(), which, step, value],
                )
                .map_err(|e| self.err(e))?;
            }
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO artifacts (trial, source, idx, path) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| self.err(e))?;
            for (i, a) in result.artifacts.iter().enumerate() {
                ins.execute(params![
                    result.trial as i64,
                    result.source.key(),
                    i as i64,
                    a
                ])
                .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The per-target returns of a finished training, if any.
    pub fn evaluations(&self, trial: usize, source: Source) -> Result<Option<Vec<TargetReturn>>> {
        let sql = "SELECT mean, std, episodes FROM evaluations WHERE trial = ?1 AND source = ?2 ORDER BY target";
        let rows: Vec<TargetReturn> = self.rows(sql, params![trial as i64, source.key()], |r| {
            Ok(TargetReturn {
                mean: r.get(0)?,
                std: r.get(1)?,
                episodes: r.get::<_, Option<i64>>(2)?.map(|e| e as usize),
            })
        })?;
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }

    /// The learning curve stored with a training (empty when the learner reported none).
    pub fn learning_curve(&self, trial: usize, source: Source) -> Result<Vec<CurvePoint>> {
        let sql = "SELECT step, value FROM curves WHERE trial = ?1 AND source = ?2 AND series = 'return' ORDER BY idx";
        self.rows(sql, params![trial as i64, source.key()], |r| {
            Ok(CurvePoint {
                step: r.get::<_, i64>(0)? as u64,
                value: r.get(1)?,
            })
        })
    }

    /// Every stored learning-curve point, by trial, source, series and order.
    pub fn all_curves(&self) -> Result<Vec<CurveRow>> {
        // A store written before curves were kept, opened read-only, has no such table.
        if !self.has_table("curves")? {
            return Ok(Vec::new());
        }
        let sql = "SELECT trial, source, series, step, value FROM curves ORDER BY trial, source, series, idx";
        self.rows(sql, [], |r| {
            Ok(CurveRow {
                trial: r.get::<_, i64>(0)? as usize,
                source: Source::from_key(r.get(1)?),
                series: r.get(2)?,
                step: r.get::<_, i64>(3)? as u64,
                value: r.get(4)?,
            })
        })
    }

    /// Which policy each training kept, by (trial, source); trainings that did not say
    /// (external trainers, stores from before periodic evaluation) are absent.
    pub fn kept(&self) -> Result<Vec<(usize, Source, Kept)>> {
        if !self.has_table("kept")? {
            return Ok(Vec::new());
        }
        self.rows(
            "SELECT trial, source, which, step, value FROM kept ORDER BY trial, source",
            [],
            |r| {
                let which: String = r.get(2)?;
                let kept = match (which.as_str(), r.get::<_, Option<i64>>(3)?, r.get(4)?) {
                    ("best", Some(step), Some(value)) => Kept::Best {
                        env_steps: step as u64,
                        mean_return: value,
                    },
                    _ => Kept::Last,
                };
                Ok((
                    r.get::<_, i64>(0)? as usize,
                    Source::from_key(r.get(1)?),
                    kept,
                ))
            },
        )
    }

    /// When each finished training's attempt ended (seconds since the Unix epoch).
    pub fn finish_times(&self) -> Result<std::collections::BTreeMap<(usize, Source), f64>> {
        let sql = "SELECT t.trial, t.source, a.finished FROM trainings t JOIN attempts a ON a.id = t.attempt";
        let rows = self.rows(sql, [], |r| {
            Ok((
                (r.get::<_, i64>(0)? as usize, Source::from_key(r.get(1)?)),
                r.get::<_, Option<f64>>(2)?.unwrap_or(0.0),
            ))
        })?;
        Ok(rows.into_iter().collect())
    }

    /// Every row of `sql` with `params`, each made by `row` (statements are cached; errors
    /// name the store's file).
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut q = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = q
            .query_map(params, row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Whether the store has `table` (one opened read-only may predate it).
    fn has_table(&self, table: &str) -> Result<bool> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// The artifacts an external trainer named for a training.
    pub fn artifacts(&self, trial: usize, source: Source) -> Result<Vec<String>> {
        self.rows(
            "SELECT path FROM artifacts WHERE trial = ?1 AND source = ?2 ORDER BY idx",
            params![trial as i64, source.key()],
            |r| r.get(0),
        )
    }

    /// Every finished training as `(trial, source)`.
    pub fn trainings(&self) -> Result<Vec<(usize, Source)>> {
        self.rows(
            "SELECT trial, source FROM trainings ORDER BY trial, source",
            [],
            |r| Ok((r.get::<_, i64>(0)? as usize, Source::from_key(r.get(1)?))),
        )
    }

    /// Every finished training with its policy file and timings.
    pub fn training_records(&self) -> Result<Vec<TrainingRecord>> {
        let sql = "SELECT trial, source, policy, train_seconds, eval_seconds FROM trainings ORDER BY trial, source";
        self.rows(sql, [], |r| {
            Ok(TrainingRecord {
                trial: r.get::<_, i64>(0)? as usize,
                source: Source::from_key(r.get(1)?),
                policy: r.get(2)?,
                train_seconds: r.get(3)?,
                eval_seconds: r.get(4)?,
            })
        })
    }

    pub fn attempt_counts(&self) -> Result<AttemptCounts> {
        let mut c = AttemptCounts::default();
        let rows: Vec<(String, i64)> = self.rows(
            "SELECT status, COUNT(*) FROM attempts GROUP BY status",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (status, n) in rows {
            let n = n as usize;
            match status.as_str() {
                "finished" => c.finished = n,
                "running" => c.running = n,
                "failed" => c.failed = n,
                _ => c.interrupted = n,
            }
        }
        Ok(c)
    }

    /// Records (or re-records, on resume) one selection step in its own transaction.
    pub fn record_step(&self, s: &StepRecord) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO steps (strategy, trial, step, task, value, mode) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    s.strategy,
                    s.trial as i64,
                    s.step as i64,
                    s.task.map(|t| t as i64),
                    s.value,
                    s.mode
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every recorded step, by strategy, trial and step.
    pub fn steps(&self) -> Result<Vec<StepRecord>> {
        let sql = "SELECT strategy, trial, step, task, value, mode FROM steps ORDER BY strategy, trial, step";
        self.rows(sql, [], |r| {
            Ok(StepRecord {
                strategy: r.get(0)?,
                trial: r.get::<_, i64>(1)? as usize,
                step: r.get::<_, i64>(2)? as usize,
                task: r.get::<_, Option<i64>>(3)?.map(|t| t as usize),
                value: r.get(4)?,
                mode: r.get(5)?,
            })
        })
    }
}
