//! Online MBTL end to end on a tiny CartPole experiment: determinism across thread counts,
//! agreement with an offline replay of the same matrix, resuming, and refusal of a changed
//! configuration.

use std::path::{Path, PathBuf};

use mbtl_run::config::Experiment;
use mbtl_run::coordinator::Executor;
use mbtl_run::job::Source;
use mbtl_run::online::Outcome;
use mbtl_run::online::{run_matrix, run_online};
use mbtl_run::store::RunStore;
use mbtl_run::{coordinator, RunError};
use mbtl_select::replay::{replay, StrategyName};
use mbtl_select::{NanPolicy, TransferMatrix};

const TINY: &str = r#"
name = "tiny"
seed = 7
trials = 2

[env]
name = "cartpole"

[[space.axes]]
feature = "length"
spacing = "linear"
lo = 0.2
hi = 1.2
n = 6

[learner]
algo = "ppo"
hyperparameters = { total_timesteps = 4096, n_epochs = 4 }

[eval]
episodes = 4

[select]
strategies = ["mbtl-gp", "m-mbtl", "random", "independent", "sequential-oracle", "multitask"]
budget = 3
slope = 0.05
"#;

/// A scratch folder removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("mbtl-run-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(text: &str, dir: &Path, workers: usize) -> Result<Outcome, RunError> {
    let exp = Experiment::parse(text, "tiny.toml")?;
    let plan = exp.plan("tiny.toml")?;
    let coord = coordinator(&plan, dir, Executor::InProcess, |_| {})?;
    run_online(&coord, workers)
}

fn attempts(dir: &Path) -> usize {
    let (store, _) = RunStore::open_existing(dir).unwrap();
    store.attempt_counts().unwrap().finished
}

#[test]
fn results_do_not_depend_on_threads_and_resuming_retrains_nothing() {
    let (a, b) = (Scratch::new("one-thread"), Scratch::new("two-threads"));
    let one = run(TINY, &a.0, 1).unwrap();
    let two = run(TINY, &b.0, 2).unwrap();
    assert_eq!(one, two, "1 and 2 worker threads give the same outcome");
    // Every task of both trials (Independent needs them) plus one multi-task policy per trial.
    assert_eq!(one.trainings, 2 * 6 + 2);
    for s in &one.strategies {
        assert_eq!(s.curve.len(), 3, "{}", s.strategy);
        assert_eq!(s.trials.len(), 2, "{}", s.strategy);
    }
    let (sa, _) = RunStore::open_existing(&a.0).unwrap();
    let (sb, _) = RunStore::open_existing(&b.0).unwrap();
    for t in 0..2 {
        for s in 0..6 {
            assert_eq!(
                sa.evaluations(t, Source::Task(s)).unwrap(),
                sb.evaluations(t, Source::Task(s)).unwrap()
            );
        }
    }

    // Running again resumes: nothing is retrained and the outcome is the same.
    let before = attempts(&a.0);
    let again = run(TINY, &a.0, 2).unwrap();
    assert_eq!(again, one);
    assert_eq!(attempts(&a.0), before, "a finished run retrains nothing");

    // A changed training setting is refused, naming what changed; a changed selection
    // (here K) reuses the stored trainings.
    let changed = TINY.replace("episodes = 4", "episodes = 5");
    let err = run(&changed, &a.0, 1).unwrap_err().to_string();
    assert!(err.contains("eval.episodes: 4 → 5"), "{err}");
    let longer = run(&TINY.replace("budget = 3", "budget = 4"), &a.0, 1).unwrap();
    assert_eq!(longer.budget, 4);
    assert!(attempts(&a.0) >= before);
}

#[test]
fn online_choices_equal_an_offline_replay_of_the_same_matrix() {
    let dir = Scratch::new("replay");
    let online = run(TINY, &dir.0, 2).unwrap();
    let exp = Experiment::parse(TINY, "tiny.toml").unwrap();
    let plan = exp.plan("tiny.toml").unwrap();
    let coord = coordinator(&plan, &dir.0, Executor::InProcess, |_| {}).unwrap();
    let files = run_matrix(&coord, 1).unwrap();
    assert_eq!(
        attempts(&dir.0),
        online.trainings,
        "the matrix reused every training"
    );
    let mut matrices: Vec<TransferMatrix> = files
        .iter()
        .map(|f| TransferMatrix::read(f, NanPolicy::Refuse).unwrap())
        .collect();
    for m in &mut matrices {
        m.normalize_bounds(0.0, 500.0, false).unwrap();
    }
    let names = [
        StrategyName::MbtlGp,
        StrategyName::MMbtl,
        StrategyName::Random,
    ];
    let offline = replay(&matrices, &plan.task_space, &names, &plan.options).unwrap();
    for (name, off) in names.iter().zip(&offline) {
        let on = online
            .strategies
            .iter()
            .find(|s| s.strategy == name.name())
            .unwrap();
        for t in 0..2 {
            assert_eq!(on.trials[t].order, off.trials[t].order, "{name} trial {t}");
            for (x, y) in on.trials[t].curve.iter().zip(&off.trials[t].curve) {
                assert!((x - y).abs() < 1e-12, "{name} trial {t}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn a_sequential_strategy_alone_trains_only_what_it_picks() {
    let dir = Scratch::new("lean");
    let text = TINY
        .replace(
            r#"strategies = ["mbtl-gp", "m-mbtl", "random", "independent", "sequential-oracle", "multitask"]"#,
            r#"strategies = ["mbtl-gp"]"#,
        )
        .replace("trials = 2", "trials = 1");
    let out = run(&text, &dir.0, 2).unwrap();
    let chosen = &out.strategies[0].trials[0].order;
    let mut distinct = chosen.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(out.trainings, distinct.len());
    assert!(out.trainings <= 3);
}

#[test]
fn multitask_settings_can_be_added_to_a_run_and_keep_its_task_trainings() {
    let dir = Scratch::new("multitask-later");
    let without = TINY
        .replace("trials = 2", "trials = 1")
        .replace(r#", "sequential-oracle", "multitask""#, "");
    let first = run(&without, &dir.0, 2).unwrap();
    let before = attempts(&dir.0);
    assert_eq!(before, first.trainings);

    // The multi-task baseline with settings of its own: one more training, the per-task ones
    // reused (the run folder's identity is theirs).
    let with = without
        .replace(r#""independent"]"#, r#""independent", "multitask"]"#)
        .replace(
            "[eval]",
            "multitask_hyperparameters = { total_timesteps = 2048 }\n[eval]",
        );
    let second = run(&with, &dir.0, 2).unwrap();
    assert_eq!(
        attempts(&dir.0),
        before + 1,
        "only the multi-task policy trains"
    );
    assert!(second.strategies.iter().any(|s| s.strategy == "multitask"));
    let (store, experiment) = RunStore::open_existing(&dir.0).unwrap();
    // Trained for the overridden budget: its learning curve ends at 2048 steps, not 4096.
    let curve = store.learning_curve(0, Source::Multitask).unwrap();
    assert_eq!(curve.iter().map(|p| p.step).max(), Some(2048), "{curve:?}");
    assert_eq!(
        experiment.identity(),
        Experiment::parse(&without, "t").unwrap().identity()
    );
    drop(store);

    // Once that policy is stored, its settings are part of the run.
    let err = run(
        &with.replace("total_timesteps = 2048 }", "total_timesteps = 4096 }"),
        &dir.0,
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("learner.multitask_hyperparameters"), "{err}");
}
