//! DQN on a default environment (CartPole unless named) over several seeds: wall time, steps/s and deterministic return.
//! Run: `cargo run --release -p mbtl-rl --example dqn_seeds -- 5 [ENV]`
use mbtl_env::{Context, ContextObs, EnvKind, Semantics};
use mbtl_rl::dqn::DqnConfig;
use mbtl_rl::eval::evaluate;
use mbtl_rl::Train;

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let kind: EnvKind = std::env::args()
        .nth(2)
        .map_or(EnvKind::CartPole, |s| s.parse().unwrap());
    let ctx = Context::default_for(kind, Semantics::Physical);
    let config = DqnConfig::zoo(kind);
    for seed in 0..seeds {
        let start = std::time::Instant::now();
        let policy = config
            .train(&ctx, &ContextObs::Hidden, seed, |_| {})
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
