//! One learner with its zoo settings on a default environment over several seeds: wall time,
//! steps/s and deterministic return (100 episodes).
//! Run: `cargo run --release -p mbtl-rl --example seeds -- ALGO [SEEDS] [ENV]`, e.g.
//! `-- ppo 8`, `-- dqn 2 acrobot`, `-- sac 2 pendulum` (ENV defaults to CartPole).
use mbtl_env::{Context, ContextObs, EnvKind, Semantics};
use mbtl_rl::eval::evaluate;
use mbtl_rl::learner::Learner;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let algo = args.get(1).map_or("ppo", String::as_str);
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let kind: EnvKind = args
        .get(3)
        .map_or(EnvKind::CartPole, |s| s.parse().unwrap());
    let ctx = Context::default_for(kind, Semantics::Physical);
    let learner = Learner::zoo(algo, kind).unwrap();
    for seed in 0..seeds {
        let start = std::time::Instant::now();
        let policy = learner
            .train(
                std::slice::from_ref(&ctx),
                &ContextObs::Hidden,
                seed,
                |_| {},
            )
            .unwrap();
        let secs = start.elapsed().as_secs_f64();
        let stats = evaluate(&policy, std::slice::from_ref(&ctx), 100, 1000 + seed).unwrap();
        println!(
            "seed {seed}: {:.2} s, {:.0} env steps/s, mean return {:.1} ± {:.1}",
            secs,
            policy.header.env_steps as f64 / secs,
            stats[0].mean,
            stats[0].std
        );
    }
}
