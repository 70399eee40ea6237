//! The coordinator: hands out jobs, runs each at most once, and commits its result.
//!
//! Any number of threads may ask for the row of `(trial, source)`; the first one to ask runs
//! the job (in its own thread, or as a `mbtl worker` process), the others wait for it, and
//! every later caller reads the stored row. Jobs are pure functions of their description, so
//! the results do not depend on the number of threads or on who ran what.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};

use crate::config::Plan;
use crate::error::{Result, RunError};
use crate::job::{Job, JobResult, Source};
use crate::store::RunStore;

/// Where jobs run.
#[derive(Debug, Clone, PartialEq)]
pub enum Executor {
    /// In the calling thread.
    InProcess,
    /// As `[LAUNCHER…] PROGRAM worker JOB.json --run-dir DIR --out RESULT.json`, one process
    /// per job (the boundary a cluster scheduler uses). The launcher, when not empty, starts
    /// the worker elsewhere: `srun -N1 -n1 --exclusive` inside a Slurm allocation, an `ssh`
    /// wrapper, a container runner.
    Process {
        program: PathBuf,
        launcher: Vec<String>,
    },
}

/// Something that happened, for progress output.
#[derive(Debug, Clone)]
pub enum Event {
    JobStarted {
        id: String,
    },
    JobFinished {
        id: String,
        seconds: f64,
        done: usize,
    },
    Ingested {
        id: String,
    },
    /// An attempt failed; `attempt` of `attempts` (the last one fails the run).
    JobFailed {
        id: String,
        attempt: u32,
        attempts: u32,
        message: String,
    },
}

enum Slot {
    Running,
    Done(Arc<Vec<f64>>),
    Failed(String),
}

/// Folder of job and result files of worker processes.
pub const JOBS_DIR: &str = "jobs";

pub struct Coordinator<'a> {
    plan: &'a Plan,
    dir: PathBuf,
    store: Mutex<RunStore>,
    slots: Mutex<HashMap<(usize, Source), Slot>>,
    ready: Condvar,
    executor: Executor,
    on_event: Box<dyn Fn(&Event) + Sync + 'a>,
}

impl<'a> Coordinator<'a> {
    /// Loads every finished row from `store`, and ingests results that worker processes wrote
    /// but a killed coordinator never committed.
    pub fn new(
        plan: &'a Plan,
        dir: &Path,
        store: RunStore,
        executor: Executor,
        on_event: impl Fn(&Event) + Sync + 'a,
    ) -> Result<Coordinator<'a>> {
        let c = Coordinator {
            plan,
            dir: dir.to_path_buf(),
            store: Mutex::new(store),
            slots: Mutex::new(HashMap::new()),
            ready: Condvar::new(),
            executor,
            on_event: Box::new(on_event),
        };
        c.ingest_orphans()?;
        Ok(c)
    }

    fn store(&self) -> std::sync::MutexGuard<'_, RunStore> {
        // A panic while holding the store lock cannot leave SQLite inconsistent (transactions
        // roll back), so a poisoned lock is still usable.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn plan(&self) -> &Plan {
        self.plan
    }

    /// Runs `f` with the store (for recording selection steps).
    pub fn with_store<T>(&self, f: impl FnOnce(&RunStore) -> Result<T>) -> Result<T> {
        f(&self.store())
    }

    fn ingest_orphans(&self) -> Result<()> {
        let jobs = self.dir.join(JOBS_DIR);
        let Ok(entries) = std::fs::read_dir(&jobs) else {
            return Ok(());
        };
        let names: Vec<String> = entries
            .filter_map(std::result::Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        // Failures that array tasks recorded: into the store as failed attempts, so `status`
        // shows them; the job itself stays missing and runs again.
        let mut failed: Vec<&str> = names
            .iter()
            .filter_map(|n| n.strip_suffix(FAILURE_SUFFIX))
            .collect();
        failed.sort();
        for id in failed {
            let path = failure_file(&self.dir, id);
            if let Ok(f) = read_failure(&path) {
                self.store().record_failure(f.trial, f.source, &f.message)?;
            }
            let _ = std::fs::remove_file(&path);
        }
        let mut ids: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_suffix(RESULT_SUFFIX).map(str::to_string))
            .collect();
        ids.sort();
        for id in ids {
            let path = result_file(&self.dir, &id);
            let r = JobResult::read(&path)?;
            let store = self.store();
            if store.evaluations(r.trial, r.source)?.is_none() {
                self.check_result(&r, &path.display().to_string())?;
                store.commit(&r, None)?;
                (self.on_event)(&Event::Ingested {
                    id: path.display().to_string(),
                });
            }
            drop(store);
            remove_job_files(&self.dir, &id);
        }
        Ok(())
    }

    fn check_result(&self, r: &JobResult, origin: &str) -> Result<()> {
        let n = self.plan.n_tasks();
        let identity = self.plan.identity_of(r.source);
        if r.identity != identity {
            return Err(RunError::Job {
                job: origin.into(),
                message: format!(
                    "the result belongs to experiment identity '{}', this run folder to '{identity}' ({}); remove the file if it is not this run's",
                    r.identity, self.plan.experiment.name
                ),
            });
        }
        self.plan
            .check_job(r.trial, r.source)
            .map_err(|message| RunError::Job {
                job: origin.into(),
                message,
            })?;
        if r.targets.len() != n || r.targets.iter().any(|t| !t.mean.is_finite()) {
            return Err(RunError::Job {
                job: origin.into(),
                message: format!(
                    "expected {n} finite target returns, got {}",
                    r.targets.len()
                ),
            });
        }
        if !self.dir.join(&r.policy).exists() {
            return Err(RunError::Job {
                job: origin.into(),
                message: format!("its policy file {} is missing", r.policy),
            });
        }
        Ok(())
    }

    /// The raw mean returns of `source`'s policy on every target, training it if nobody has.
    pub fn row(&self, trial: usize, source: Source) -> Result<Arc<Vec<f64>>> {
        let key = (trial, source);
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            match slots.get(&key) {
                Some(Slot::Done(row)) => return Ok(row.clone()),
                Some(Slot::Failed(m)) => {
                    return Err(RunError::Job {
                        job: format!("trial {trial}, {source}"),
                        message: m.clone(),
                    })
                }
                Some(Slot::Running) => {
                    slots = self
                        .ready
                        .wait(slots)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                None => break,
            }
        }
        if let Some(stored) = self.store().evaluations(trial, source)? {
            let row = Arc::new(stored.iter().map(|t| t.mean).collect::<Vec<_>>());
            slots.insert(key, Slot::Done(row.clone()));
            return Ok(row);
        }
        slots.insert(key, Slot::Running);
        drop(slots);

        let outcome = self.run_job(trial, source);
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let result = match outcome {
            Ok(row) => {
                slots.insert(key, Slot::Done(row.clone()));
                Ok(row)
            }
            Err(e) => {
                slots.insert(key, Slot::Failed(e.chain()));
                Err(e)
            }
        };
        self.ready.notify_all();
        result
    }

    /// Runs a job, trying again after a failure as often as the learner allows; every attempt
    /// is recorded.
    fn run_job(&self, trial: usize, source: Source) -> Result<Arc<Vec<f64>>> {
        let job = Job::new(self.plan, trial, source);
        let id = job.id();
        let attempts = self.plan.learner.attempts();
        let start = std::time::Instant::now();
        let mut tried = 0;
        let (result, attempt) = loop {
            tried += 1;
            let attempt = self.store().begin_attempt(trial, source)?;
            (self.on_event)(&Event::JobStarted { id: id.clone() });
            let result = match &self.executor {
                Executor::InProcess => job.execute(self.plan, &self.dir),
                Executor::Process { program, launcher } => self.run_worker(&job, program, launcher),
            };
            match result.and_then(|r| self.check_result(&r, &id).map(|()| r)) {
                Ok(r) => break (r, attempt),
                Err(e) => {
                    let message = e.chain();
                    self.store().fail_attempt(attempt, &message)?;
                    (self.on_event)(&Event::JobFailed {
                        id: id.clone(),
                        attempt: tried,
                        attempts,
                        message,
                    });
                    if tried >= attempts {
                        return Err(e);
                    }
                }
            }
        };
        let store = self.store();
        store.commit(&result, Some(attempt))?;
        let done = store.trainings()?.len();
        drop(store);
        if let Executor::Process { .. } = self.executor {
            remove_job_files(&self.dir, &id);
        }
        (self.on_event)(&Event::JobFinished {
            id,
            seconds: start.elapsed().as_secs_f64(),
            done,
        });
        Ok(Arc::new(result.means()))
    }

    fn run_worker(&self, job: &Job, program: &Path, launcher: &[String]) -> Result<JobResult> {
        let id = job.id();
        let job_file = write_job_file(&self.dir, job)?;
        let result_file = result_file(&self.dir, &id);
        let mut command = match launcher.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        };
        let output = command
            .arg("worker")
            .arg(&job_file)
            .arg("--run-dir")
            .arg(&self.dir)
            .arg("--out")
            .arg(&result_file)
            .output()
            .map_err(|e| RunError::io(launcher.first().map_or(program, Path::new), e))?;
        // The worker's stderr carries its error; the failure file it left is not needed.
        let _ = std::fs::remove_file(failure_file(&self.dir, &id));
        if !output.status.success() {
            return Err(RunError::Job {
                job: id,
                message: format!(
                    "worker exited with {}: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        JobResult::read(&result_file)
    }
}

/// Suffix of a job file in [`JOBS_DIR`] (after the job's id).
pub const JOB_SUFFIX: &str = ".job.json";
/// Suffix of a worker's result file in [`JOBS_DIR`].
pub const RESULT_SUFFIX: &str = ".result.json";

/// Suffix of the file a worker leaves in [`JOBS_DIR`] when its job failed.
pub const FAILURE_SUFFIX: &str = ".failure.json";

/// The failure file of job `id` in the run folder `dir`.
pub fn failure_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(JOBS_DIR).join(format!("{id}{FAILURE_SUFFIX}"))
}

/// What a worker whose job failed leaves for the coordinator (a Slurm array task has nobody
/// else to tell).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Failure {
    trial: usize,
    source: Source,
    message: String,
}

fn read_failure(path: &Path) -> Result<Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| RunError::Parse {
        file: path.display().to_string(),
        source: e.into(),
    })
}

/// Refuses a job that is not one of `run_dir`'s: the folder must be an existing run folder of
/// the same experiment (by identity), and the trial and source must exist in it. Nothing is
/// written before this passes.
fn check_job(job: &Job, plan: &Plan, run_dir: &Path, origin: &str) -> Result<()> {
    let fail = |message: String| RunError::Job {
        job: origin.to_string(),
        message,
    };
    let own = plan.identity_of(job.source);
    if job.identity != own {
        return Err(fail(format!(
            "its identity '{}' is not that of the experiment it holds ('{own}'): the file was edited",
            job.identity
        )));
    }
    let (_, stored) = crate::store::RunStore::open_existing(run_dir)
        .map_err(|e| fail(format!("--run-dir {}: {e}", run_dir.display())))?;
    let theirs = stored.identity_of(job.source);
    if theirs != own {
        return Err(fail(format!(
            "it belongs to experiment '{}' (identity {own}), but run folder {} holds experiment '{}' (identity {})",
            job.experiment.name,
            run_dir.display(),
            stored.name,
            theirs
        )));
    }
    plan.check_job(job.trial, job.source).map_err(fail)
}

/// The job file of job `id` in the run folder `dir`.
pub fn job_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(JOBS_DIR).join(format!("{id}{JOB_SUFFIX}"))
}

/// The result file a worker writes for job `id` in the run folder `dir`.
pub fn result_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(JOBS_DIR).join(format!("{id}{RESULT_SUFFIX}"))
}

/// Removes job `id`'s job and result files once its result is stored.
fn remove_job_files(dir: &Path, id: &str) {
    let _ = std::fs::remove_file(job_file(dir, id));
    let _ = std::fs::remove_file(result_file(dir, id));
}

/// Writes `job` as its [`job_file`] (atomically) for a worker process to run.
pub fn write_job_file(dir: &Path, job: &Job) -> Result<PathBuf> {
    let jobs = dir.join(JOBS_DIR);
    std::fs::create_dir_all(&jobs).map_err(|e| RunError::io(&jobs, e))?;
    let path = job_file(dir, &job.id());
    crate::fsutil::write_atomic(
        &path,
        serde_json::to_string_pretty(job)
            .expect("jobs serialise")
            .as_bytes(),
    )?;
    Ok(path)
}

/// What `mbtl worker` does: runs one job file and writes its result file. A job that fails
/// leaves a failure file in the run folder, which the next coordinator records as a failed
/// attempt (so a Slurm array task's failure shows in `mbtl status`).
pub fn run_worker_job(job_file: &Path, run_dir: &Path, out: &Path) -> Result<JobResult> {
    let job = Job::read(job_file)?;
    let origin = job_file.display().to_string();
    let mut plan = job.experiment.plan(&origin)?;
    plan.workdir = job.workdir.clone();
    check_job(&job, &plan, run_dir, &origin)?;
    match job
        .execute(&plan, run_dir)
        .and_then(|r| r.write(out).map(|()| r))
    {
        Ok(r) => Ok(r),
        Err(e) => {
            let failure = Failure {
                trial: job.trial,
                source: job.source,
                message: e.chain(),
            };
            let jobs = run_dir.join(JOBS_DIR);
            if std::fs::create_dir_all(&jobs).is_ok() {
                let _ = crate::fsutil::write_atomic(
                    &failure_file(run_dir, &job.id()),
                    serde_json::to_string_pretty(&failure)
                        .expect("failures serialise")
                        .as_bytes(),
                );
            }
            Err(e)
        }
    }
}
