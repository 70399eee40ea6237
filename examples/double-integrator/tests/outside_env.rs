//! An environment from outside mbtl, used the way a user's crate would use it: trained with
//! mbtl's PPO, evaluated in batches, saved and loaded, and run as an experiment by this
//! crate's own `mbtl-di` binary (threads and worker processes alike).

use std::path::{Path, PathBuf};
use std::process::Command;

use mbtl_env::{Action, BatchActions, BatchEnv, Context, ContextObs, Env, EnvRef, Semantics};
use mbtl_example_double_integrator::register;
use mbtl_rl::eval::evaluate;
use mbtl_rl::learner::Learner;
use mbtl_rl::policy::Policy;

fn env() -> EnvRef {
    register().unwrap()
}

fn ctx(mass: f64) -> Context {
    Context::new(env(), Semantics::Physical, &[("mass", mass)]).unwrap()
}

/// Mean return of pushing nothing at all, over `n` episodes.
fn idle_return(c: &Context, n: usize) -> f64 {
    let mut e = Env::new(c.clone(), 5).unwrap();
    let mut total = 0.0;
    for _ in 0..n {
        e.reset();
        loop {
            let t = e.step(Action::Continuous(&[0.0])).unwrap();
            total += t.reward;
            if t.done() {
                break;
            }
        }
    }
    total / n as f64
}

#[test]
fn ppo_trains_on_it_and_the_policy_evaluates_saves_and_loads() {
    let learner = Learner::zoo("ppo", env())
        .unwrap()
        .with_overrides(
            &Learner::parse_overrides(&[
                "total_timesteps=100000".into(),
                "n_envs=8".into(),
                "n_steps=256".into(),
                "batch_size=256".into(),
                "gamma=0.98".into(),
            ])
            .unwrap(),
        )
        .unwrap();
    let source = ctx(1.0);
    let targets = [ctx(0.5), ctx(1.0), ctx(2.0)];
    let idle = idle_return(&source, 20);
    // PPO with Stable-Baselines3's defaults does not train on every seed here (seed 0 drives
    // the mass away); two of three seeds must beat pushing nothing by far.
    let trained: Vec<_> = (0..3)
        .map(|seed| {
            let policy = learner
                .train(
                    std::slice::from_ref(&source),
                    &ContextObs::Hidden,
                    seed,
                    |_| {},
                )
                .unwrap();
            let stats = evaluate(&policy, &targets, 20, 1).unwrap();
            (policy, stats)
        })
        .collect();
    let good: Vec<f64> = trained.iter().map(|(_, s)| s[1].mean).collect();
    assert!(
        good.iter()
            .filter(|&&m| m > 0.2 * idle && m > -50.0)
            .count()
            >= 2,
        "trained {good:?} vs idle {idle}"
    );
    let (policy, stats) = trained.into_iter().nth(1).unwrap();
    assert_eq!(policy.header.env, "double-integrator");

    let dir = std::env::temp_dir().join(format!("mbtl-di-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.safetensors");
    policy.save(&file).unwrap();
    let back = Policy::load(&file).unwrap();
    assert_eq!(back.header, policy.header);
    assert_eq!(evaluate(&back, &targets, 20, 1).unwrap(), stats);
    // The header's context rebuilds through the registry.
    assert_eq!(Context::from_record(&back.header.context).unwrap(), source);
    let _ = std::fs::remove_dir_all(&dir);

    // A learner that needs discrete actions says why it cannot train here.
    let e = Learner::zoo("dqn", env())
        .unwrap()
        .train(&[source], &ContextObs::Hidden, 0, |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("double-integrator") && e.contains("continuous"),
        "{e}"
    );
}

#[test]
fn batches_step_it_like_single_instances_with_contexts_appended() {
    let contexts = [ctx(0.2), ctx(1.0), ctx(7.0)];
    let obs = ContextObs::Appended(vec!["mass".into()]);
    let mut batch = BatchEnv::new(&contexts, 3, &obs).unwrap();
    let mut singles: Vec<Env> = contexts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Env::new(c.clone(), mbtl_env::derive_seed(3, i as u64))
                .unwrap()
                .with_context_obs(obs.clone())
                .unwrap()
        })
        .collect();
    let mut out = batch.output();
    batch.observe(&mut out.obs);
    let mut episodes = 0;
    for t in 0..450 {
        let a: Vec<f32> = (0..3).map(|i| ((t + i) as f32 * 0.37).sin()).collect();
        batch.step(BatchActions::Continuous(&a), &mut out).unwrap();
        episodes += out.episodes.len();
        for (i, e) in singles.iter_mut().enumerate() {
            let tr = e.step(Action::Continuous(&a[i..i + 1])).unwrap();
            assert_eq!(tr.reward, out.reward[i]);
            if tr.done() {
                e.reset();
            }
            assert_eq!(e.observation(), &out.obs[i * 3..(i + 1) * 3]);
        }
    }
    assert_eq!(out.obs[2], 0.2, "the mass follows the observation");
    // The time limit (200 steps) ended two episodes in each instance, and reset them.
    assert_eq!(episodes, 6);
    assert!(batch
        .step(BatchActions::Discrete(&[0, 0, 0]), &mut out)
        .is_err());
}

fn mbtl_di() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mbtl-di"))
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mbtl-di-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn its_own_binary_runs_every_mbtl_command_on_it() {
    let dir = scratch("cli");
    let listed = ok(mbtl_di().args(["envs", "--json"]));
    assert!(listed.contains("\"double-integrator\""), "{listed}");

    let policy = dir.join("policy");
    ok(mbtl_di()
        .args(["train", "--env", "double-integrator", "--algo", "ppo"])
        .args([
            "--context",
            "mass=2.0",
            "--seed",
            "1",
            "--total-timesteps",
            "4096",
        ])
        .arg("--out")
        .arg(&policy));
    let eval = ok(mbtl_di().arg("eval").arg("--policy").arg(&policy).args([
        "--env",
        "double-integrator",
        "--contexts",
        "mass=3",
        "--episodes",
        "3",
    ]));
    assert!(
        eval.contains("double-integrator[physical] mass=3"),
        "{eval}"
    );

    // The example experiment, shortened; worker processes re-run this binary and find the
    // environment there too, so their results equal the threads'.
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("experiment.toml"))
            .unwrap()
            .replace("total_timesteps = 100000", "total_timesteps = 4096")
            .replace("n = 10", "n = 4");
    let exp = dir.join("exp.toml");
    std::fs::write(&exp, text).unwrap();
    let results = |out: &Path, extra: &[&str]| {
        ok(mbtl_di()
            .arg("run")
            .arg(&exp)
            .arg("--out")
            .arg(out)
            .args(["--workers", "2", "--no-report", "-q"])
            .args(extra));
        std::fs::read_to_string(out.join("results.json")).unwrap()
    };
    assert_eq!(
        results(&dir.join("threads"), &[]),
        results(&dir.join("processes"), &["--processes"])
    );

    let _ = std::fs::remove_dir_all(&dir);
}
