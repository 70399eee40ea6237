//! Cluster execution as a Slurm job array, with nothing running on the login node: the missing
//! jobs of a full transfer matrix become job files, and array task `i` runs `mbtl worker` on
//! job `i`. Workers write their policies and result files into the run folder (a shared file
//! system); the next `mbtl matrix` (or `mbtl run`) on that folder ingests the results when it
//! opens the store ([`crate::coordinator::Coordinator::new`]) and trains only what is still missing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::coordinator::{write_job_file, Coordinator, JOBS_DIR, JOB_SUFFIX, RESULT_SUFFIX};
use crate::error::{Result, RunError};
use crate::fsutil::write_atomic;
use crate::job::{Job, Source};

/// The array script of a run folder.
pub const SLURM_SCRIPT: &str = "slurm.sbatch";
/// Line `i` names the job of array task `i`.
pub const ARRAY_LIST: &str = "array.txt";

/// What [`export_slurm_array`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayExport {
    /// The script to `sbatch`; `None` when every job is already stored.
    pub script: Option<PathBuf>,
    /// Job ids, in array order.
    pub jobs: Vec<String>,
}

/// Paths go into the script unquoted on `#SBATCH` lines, so only plain characters are allowed.
fn plain(path: &Path) -> Result<String> {
    let text = path.display().to_string();
    let ok = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+@%:,=~".contains(c));
    if ok {
        Ok(text)
    } else {
        Err(RunError::Cluster(format!(
            "{text}: use a path of letters, digits and / . _ - + @ % : , = ~ only \
             (it is written into #SBATCH lines)"
        )))
    }
}

/// `#SBATCH` keys the array script sets itself and a user may not: the array's range and the
/// log files are what ties array task `i` to job `i`.
const RESERVED: [&str; 2] = ["array", "output"];
/// Keys the script sets by default, which a user's option replaces.
const DEFAULTS: [(&str, &str); 3] = [("job-name", ""), ("ntasks", "1"), ("cpus-per-task", "1")];

/// Checks `--sbatch KEY=VALUE` options (before anything is written): a key of letters, digits
/// and '-', a non-empty value without spaces or quotes, no key twice, none of the script's own.
pub fn check_sbatch_options(options: &[String]) -> Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for o in options {
        let Some((key, value)) = o.split_once('=') else {
            return Err(RunError::Cluster(format!(
                "sbatch option '{o}': expected KEY=VALUE, e.g. time=01:00:00"
            )));
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(RunError::Cluster(format!(
                "sbatch option '{o}': expected KEY=VALUE, e.g. time=01:00:00"
            )));
        }
        if value.is_empty() {
            return Err(RunError::Cluster(format!(
                "sbatch option '{o}': '{key}' needs a value"
            )));
        }
        if value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '"')
        {
            return Err(RunError::Cluster(format!(
                "sbatch option '{o}': the value may not contain spaces or quotes"
            )));
        }
        if RESERVED.contains(&key) {
            return Err(RunError::Cluster(format!(
                "sbatch option '{o}': mbtl writes --{key} itself (array task i runs job i, logs go to jobs/)"
            )));
        }
        if seen.contains(&key) {
            return Err(RunError::Cluster(format!(
                "sbatch option '{o}': '{key}' is given twice"
            )));
        }
        seen.push(key);
    }
    Ok(())
}

/// Writes a job file for every `(trial, task)` of the matrix that is not stored yet, the array
/// list and an `sbatch` script running `program worker` on each. `options` are `KEY=VALUE`
/// pairs written as `#SBATCH --KEY=VALUE` (partition, time, memory, account, …).
pub fn export_slurm_array(
    coord: &Coordinator<'_>,
    program: &Path,
    options: &[String],
) -> Result<ArrayExport> {
    let plan = coord.plan();
    let dir = std::fs::canonicalize(coord.dir()).map_err(|e| RunError::io(coord.dir(), e))?;
    let (dir_text, program_text) = (plain(&dir)?, plain(program)?);
    check_sbatch_options(options)?;
    let mut jobs = Vec::new();
    for trial in 0..plan.experiment.trials {
        for task in 0..plan.n_tasks() {
            let source = Source::Task(task);
            if coord
                .with_store(|s| s.evaluations(trial, source))?
                .is_some()
            {
                continue;
            }
            let job = Job::new(plan, trial, source);
            write_job_file(&dir, &job)?;
            jobs.push(job.id());
        }
    }
    if jobs.is_empty() {
        return Ok(ArrayExport { script: None, jobs });
    }
    let list = dir.join(JOBS_DIR).join(ARRAY_LIST);
    write_atomic(&list, (jobs.join("\n") + "\n").as_bytes())?;
    let name = &plan.experiment.name;
    let safe_name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut text = String::new();
    let _ = writeln!(text, "#!/bin/bash");
    let _ = writeln!(
        text,
        "# Written by `mbtl slurm` for experiment '{safe_name}': array task i runs job i of jobs/{ARRAY_LIST}."
    );
    let _ = writeln!(
        text,
        "# Submit with `sbatch {dir_text}/{SLURM_SCRIPT}`; afterwards `mbtl matrix EXPERIMENT --out {dir_text}`"
    );
    let _ = writeln!(
        text,
        "# ingests the results and trains only what is missing."
    );
    let given = |key: &str| {
        options
            .iter()
            .any(|o| o.split_once('=').is_some_and(|(k, _)| k == key))
    };
    for (key, value) in DEFAULTS {
        if !given(key) {
            let value = if key == "job-name" {
                format!("mbtl-{safe_name}")
            } else {
                value.to_string()
            };
            let _ = writeln!(text, "#SBATCH --{key}={value}");
        }
    }
    let _ = writeln!(text, "#SBATCH --array=0-{}", jobs.len() - 1);
    let _ = writeln!(
        text,
        "#SBATCH --output={dir_text}/{JOBS_DIR}/slurm-%A_%a.log"
    );
    for o in options {
        let _ = writeln!(text, "#SBATCH --{o}");
    }
    let _ = writeln!(text, "set -euo pipefail");
    let _ = writeln!(
        text,
        "id=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {dir_text}/{JOBS_DIR}/{ARRAY_LIST})"
    );
    let _ = writeln!(
        text,
        "exec {program_text} worker \"{dir_text}/{JOBS_DIR}/$id{JOB_SUFFIX}\" --run-dir {dir_text} --out \"{dir_text}/{JOBS_DIR}/$id{RESULT_SUFFIX}\""
    );
    let script = dir.join(SLURM_SCRIPT);
    write_atomic(&script, text.as_bytes())?;
    Ok(ArrayExport {
        script: Some(script),
        jobs,
    })
}
