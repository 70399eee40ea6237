//! The simulator's results are pinned: episodes under the `fixed` semantics (the one the
//! `traffic-signal` environment trains and evaluates with) must give these metrics to the last
//! bit, so that a speed-up or a clean-up cannot change a transfer matrix behind its back, and a
//! run folder's stored trainings stay comparable with new ones.
//!
//! `fixtures/fixed-rollouts.json` was written by the simulator as of commit 597e966 (before the
//! lane-set and carried-leader rewrite of `Sim::step`), with
//! `mbtl env rollout --env traffic-signal --context C --policy P --seed 10000 --episodes 2
//! --semantics fixed --json F` for each case in the file. A deliberate change of the dynamics
//! rewrites the fixture the same way and says so in its commit.

use mbtl_traffic::context::TrafficContext;
use mbtl_traffic::episode::{rollout, FixedPolicy, Semantics};

#[test]
fn fixed_semantics_rollouts_match_the_pinned_metrics_bit_for_bit() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fixed-rollouts.json"
    ))
    .unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let ctx = TrafficContext::parse(case["context"].as_str().unwrap()).unwrap();
        let policy: FixedPolicy = case["policy"].as_str().unwrap().parse().unwrap();
        let first_seed = u32::try_from(case["first_seed"].as_u64().unwrap()).unwrap();
        let want = case["episodes"].as_array().unwrap();
        let got = rollout(&ctx, policy, first_seed, 2, Semantics::Fixed, 0).unwrap();
        assert_eq!(got.len(), want.len());
        for (e, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(
                &serde_json::to_value(g).unwrap(),
                w,
                "{} under {}, episode {e}",
                case["context"],
                case["policy"]
            );
        }
    }
}
