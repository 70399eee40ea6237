//! Periodic evaluation with best-model keeping (Stable-Baselines3's `EvalCallback`) for every
//! learner: it never changes the training itself, it evaluates on SB3's schedule, and it keeps
//! the first policy with the highest evaluation.

use mbtl_env::{Context, ContextObs, EnvKind, Semantics};
use mbtl_rl::callback::{EvalCallback, Kept};
use mbtl_rl::learner::{Learner, Preset};

fn learner(algo: &str, env: EnvKind, overrides: &[&str]) -> Learner {
    let pairs: Vec<String> = overrides
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    Learner::zoo(algo, env)
        .unwrap()
        .with_overrides(&Learner::parse_overrides(&pairs).unwrap())
        .unwrap()
}

fn cases() -> Vec<(Learner, Context, u64)> {
    let cartpole = Context::default_for(EnvKind::CartPole, Semantics::Physical);
    let pendulum = Context::default_for(EnvKind::Pendulum, Semantics::Physical);
    vec![
        // PPO with 8 environments: an evaluation every 25 × 8 = 200 steps.
        (
            learner("ppo", EnvKind::CartPole, &["total_timesteps=6000"]),
            cartpole.clone(),
            8,
        ),
        (
            learner("dqn", EnvKind::CartPole, &["total_timesteps=3000"]),
            cartpole,
            1,
        ),
        (
            learner(
                "sac",
                EnvKind::Pendulum,
                &[
                    "total_timesteps=600",
                    "hidden=[32,32]",
                    "learning_starts=100",
                ],
            ),
            pendulum,
            1,
        ),
    ]
}

#[test]
fn evaluations_never_change_the_training() {
    for (learner, ctx, _) in cases() {
        let plain = learner
            .train(std::slice::from_ref(&ctx), &ContextObs::Hidden, 5, |_| {})
            .unwrap();
        let cb = EvalCallback {
            eval_freq: 25,
            n_eval_episodes: 3,
            deterministic: true,
            keep_best: false,
        };
        let watched = learner
            .train_with(
                std::slice::from_ref(&ctx),
                &ContextObs::Hidden,
                5,
                Some(&cb),
                |_| {},
            )
            .unwrap();
        assert_eq!(watched.kept, Kept::Last, "{}", learner.algo());
        assert_eq!(
            watched.policy.actor.params,
            plain.actor.params,
            "{}: evaluating must not touch the training's random streams",
            learner.algo()
        );
        assert!(!watched.evals.is_empty());
    }
}

#[test]
fn the_best_evaluation_is_kept_on_sb3_schedule() {
    for (learner, ctx, n_envs) in cases() {
        let cb = EvalCallback {
            eval_freq: 25,
            n_eval_episodes: 3,
            deterministic: true,
            keep_best: true,
        };
        let mut losses = Vec::new();
        let trained = learner
            .train_with(
                std::slice::from_ref(&ctx),
                &ContextObs::Hidden,
                6,
                Some(&cb),
                |log| losses.extend(log.losses.iter().map(|(n, v)| (*n, *v))),
            )
            .unwrap();
        let algo = learner.algo();
        // One evaluation per 25 vector steps, each at a multiple of 25 × n_envs steps.
        let mbtl_rl::learner::Budget::Steps(steps) = learner.budget() else {
            panic!("{algo} trains for steps")
        };
        let expected = steps / (25 * n_envs);
        assert_eq!(trained.evals.len() as u64, expected, "{algo}");
        for (i, e) in trained.evals.iter().enumerate() {
            assert_eq!(e.env_steps, (i as u64 + 1) * 25 * n_envs, "{algo}");
            assert!(e.mean.is_finite() && e.std >= 0.0);
        }
        let best = trained
            .evals
            .iter()
            .map(|e| e.mean)
            .fold(f64::NEG_INFINITY, f64::max);
        let first = trained.evals.iter().find(|e| e.mean == best).unwrap();
        assert_eq!(
            trained.kept,
            Kept::Best {
                env_steps: first.env_steps,
                mean_return: best
            },
            "{algo}: the first of the best evaluations"
        );
        assert_eq!(trained.policy.header.env_steps, first.env_steps, "{algo}");
        assert!(
            !losses.is_empty() && losses.iter().all(|(_, v)| v.is_finite()),
            "{algo}: losses {losses:?}"
        );
    }
}

#[test]
fn bad_callbacks_and_presets_are_refused_by_name() {
    let ctx = Context::default_for(EnvKind::CartPole, Semantics::Physical);
    let l = learner("ppo", EnvKind::CartPole, &["total_timesteps=256"]);
    for (cb, field) in [
        (
            EvalCallback {
                eval_freq: 0,
                ..EvalCallback::paper()
            },
            "eval_freq",
        ),
        (
            EvalCallback {
                n_eval_episodes: 0,
                ..EvalCallback::paper()
            },
            "n_eval_episodes",
        ),
        (
            EvalCallback {
                deterministic: false,
                ..EvalCallback::paper()
            },
            "deterministic",
        ),
    ] {
        let e = l
            .train_with(
                std::slice::from_ref(&ctx),
                &ContextObs::Hidden,
                0,
                Some(&cb),
                |_| {},
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{e}");
    }
    assert!("paper".parse::<Preset>().is_err());
    // SB3's library defaults ignore the environment; the zoo tunes CartPole.
    let sb3 = Learner::preset("ppo", Preset::Sb3, EnvKind::CartPole).unwrap();
    let zoo = Learner::preset("ppo", Preset::Zoo, EnvKind::CartPole).unwrap();
    let hp = sb3.hyperparameters();
    assert_eq!(
        (hp["n_steps"].as_u64(), hp["n_envs"].as_u64()),
        (Some(2048), Some(1))
    );
    assert_eq!(hp["learning_rate"].as_f64(), Some(3e-4f32 as f64));
    assert_ne!(sb3, zoo);
    let dqn = Learner::preset("dqn", Preset::Sb3, EnvKind::CartPole)
        .unwrap()
        .hyperparameters();
    assert_eq!(
        (
            dqn["batch_size"].as_u64(),
            dqn["target_update_interval"].as_u64()
        ),
        (Some(32), Some(10_000))
    );
}
