//! The simulator's results are pinned: episodes under the `fixed` semantics (the one the
//! `traffic-signal` environment trains and evaluates with) and the `reference` semantics (the
//! one SUMO is compared under) must give these metrics to the last bit, so that a speed-up or a clean-up cannot change a transfer matrix behind its back, and a
//! run folder's stored trainings stay comparable with new ones.
//!
//! `fixtures/fixed-rollouts.json` was written by the simulator as of commit 597e966 (before the
//! lane-set and carried-leader rewrite of `Sim::step`), with
//! `mbtl env rollout --env traffic-signal --context C --policy P --seed 10000 --episodes 2
//! --semantics fixed --json` for each case in the file (its `episodes`, each without `seed`). A deliberate change of the dynamics
//! rewrites the fixture the same way and says so in its commit.

use mbtl_traffic::context::TrafficContext;
use mbtl_traffic::episode::{rollout, FixedPolicy, Semantics};

#[test]
fn fixed_semantics_rollouts_match_the_pinned_metrics_bit_for_bit() {
    check("fixed-rollouts.json", 6, Semantics::Fixed);
}

/// The `reference` semantics (the authors' bookkeeping, what the SUMO comparison runs):
/// `fixtures/reference-rollouts.json` was written as of commit f276f1a, with the same command
/// and `--semantics reference`, and the lane-major rewrite of `Sim` left it unchanged.
#[test]
fn reference_semantics_rollouts_match_the_pinned_metrics_bit_for_bit() {
    check("reference-rollouts.json", 5, Semantics::Reference);
}

/// Replays every case of fixture `file` (`n` of them) under `semantics` and compares each
/// episode's metrics with the stored ones.
fn check(file: &str, n: usize, semantics: Semantics) {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), n, "{file}");
    for case in cases {
        let ctx = TrafficContext::parse(case["context"].as_str().unwrap()).unwrap();
        let policy: FixedPolicy = case["policy"].as_str().unwrap().parse().unwrap();
        let first_seed = u32::try_from(case["first_seed"].as_u64().unwrap()).unwrap();
        let want = case["episodes"].as_array().unwrap();
        let got = rollout(&ctx, policy, first_seed, 2, semantics, 0).unwrap();
        assert_eq!(got.len(), want.len());
        for (e, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(
                &serde_json::to_value(g).unwrap(),
                w,
                "{file}: {} under {}, episode {e}",
                case["context"],
                case["policy"]
            );
        }
    }
}
