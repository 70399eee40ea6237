//! PPO learns CartPole (mean return ≥ 475 over 100 deterministic episodes with the zoo's
//! settings and a fixed seed) and, with a Gaussian policy, Pendulum; the same seed gives the
//! same weights bit for bit.

use mbtl_env::{Context, ContextObs, EnvKind, Semantics};
use mbtl_rl::eval::evaluate;
use mbtl_rl::ppo::PpoConfig;
use mbtl_rl::Train;

#[test]
fn ppo_solves_default_cartpole() {
    let ctx = Context::default_for(EnvKind::CartPole, Semantics::Physical);
    let config = PpoConfig::zoo(EnvKind::CartPole);
    let start = std::time::Instant::now();
    let policy = config.train(&ctx, &ContextObs::Hidden, 1, |_| {}).unwrap();
    let stats = evaluate(&policy, &[ctx], 100, 7).unwrap();
    eprintln!(
        "PPO CartPole: {} steps in {:.1} s, mean return {:.1} ± {:.1}",
        policy.header.env_steps,
        start.elapsed().as_secs_f64(),
        stats[0].mean,
        stats[0].std
    );
    assert!(stats[0].mean >= 475.0, "mean return {}", stats[0].mean);
}

#[test]
fn same_seed_same_weights() {
    let ctx = Context::default_for(EnvKind::CartPole, Semantics::Physical);
    let config = PpoConfig {
        total_timesteps: 2048,
        ..PpoConfig::zoo(EnvKind::CartPole)
    };
    let a = config.train(&ctx, &ContextObs::Hidden, 3, |_| {}).unwrap();
    let b = config.train(&ctx, &ContextObs::Hidden, 3, |_| {}).unwrap();
    let c = config.train(&ctx, &ContextObs::Hidden, 4, |_| {}).unwrap();
    assert_eq!(a.actor.params, b.actor.params);
    assert_ne!(a.actor.params, c.actor.params);
}

#[test]
fn ppo_with_a_gaussian_policy_learns_default_pendulum() {
    // The zoo's Pendulum settings without its state-dependent exploration; seeds 0–3 give
    // −202, −185, −189, −189 (100 episodes). Random actions give about −1200.
    let ctx = mbtl_env::Context::default_for(mbtl_env::EnvKind::Pendulum, Semantics::Physical);
    let config = PpoConfig::zoo(mbtl_env::EnvKind::Pendulum);
    let policy = config.train(&ctx, &ContextObs::Hidden, 1, |_| {}).unwrap();
    assert!(matches!(
        policy.header.continuous,
        Some(mbtl_rl::policy::ContinuousHead::Clipped { .. })
    ));
    let stats = evaluate(&policy, &[ctx], 100, 5).unwrap();
    assert!(stats[0].mean >= -250.0, "mean return {}", stats[0].mean);
}
