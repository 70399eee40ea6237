//! The intersection as an mbtl environment (`traffic-signal`), so that mbtl's learners, batched
//! evaluation, experiments and `mbtl train` work on it through the open [`Dynamics`] trait.
//!
//! One environment step is one decision of the authors' loop (traffic-signal-spec §3.1): the
//! action's green (after the previous action's yellow if it changed) until the next decision
//! point, then the reward r = W_before − W_after of the waiting totals. An episode ends when its
//! 5400 simulated seconds are over (386–540 decisions), so the time limit of 540 steps never
//! cuts one short. The observation is the 80-cell state.
//!
//! An episode scores `−Σ_k W_k / 5400` ([`Episode::waiting_per_episode_step`], negated): the
//! authors' transfer metric, the average-waiting column of their transfer CSV, in the units of
//! their normalisation bounds [−100, 0], which the environment declares. So a transfer matrix
//! of `traffic-signal` holds what the paper's traffic matrices hold (traffic-signal-spec §3.7,
//! INFERRED there: the files are not published) rather than the episode return, which
//! telescopes to the waiting total of the cars left at the end.
//!
//! Contexts: `cars` (vehicles per episode; rounded to a whole number), `speed` (m/s) and
//! `length` (m), with the quirks fixed (the `fixed` semantics of [`crate::episode`], declared as
//! mbtl's `physical`). Each episode draws its route seed and the simulator's seed from the
//! environment's generator, so episodes differ as the authors' (route seed e per training
//! episode) while staying reproducible from mbtl's seed.

use crate::context::TrafficContext;
use crate::episode::{Episode, Ledger, Semantics};
use crate::signal::ACTIONS;
use crate::state::STATE_DIM;
use mbtl_env::{Action, ActionSpace, Context, Dynamics, EnvRef, EnvRng, EnvSpec, FeatureSpec};

/// The name files and the command line use.
pub const NAME: &str = "traffic-signal";

/// Decisions in the longest episode (one action held: 5400 s / 10 s).
pub const MAX_DECISIONS: u32 = 540;

/// One instance: its context and the episode under way.
#[derive(Clone, Debug)]
pub struct TrafficSignal {
    ctx: TrafficContext,
    episode: Option<Episode>,
    ledger: Ledger,
}

impl Dynamics for TrafficSignal {
    fn spec() -> EnvSpec {
        EnvSpec {
            name: NAME.into(),
            description: "MBTL's signalised 4-arm intersection (mbtl-traffic's native simulator)"
                .into(),
            features: vec![(
                mbtl_env::Semantics::Physical,
                vec![
                    FeatureSpec::new(
                        "cars",
                        1000.0,
                        2.0,
                        100_000.0,
                        "vehicles per 5400-s episode",
                    ),
                    FeatureSpec::new("speed", 14.0, 0.1, 25.0, "speed limit, m/s"),
                    FeatureSpec::new("length", 750.0, 20.0, 10_000.0, "arm length, m"),
                ],
            )],
            obs_dim: STATE_DIM,
            state_dim: 0,
            action_space: ActionSpace::Discrete { n: ACTIONS as u32 },
            max_episode_steps: MAX_DECISIONS,
            reward_threshold: None,
            return_bounds: Some([-100.0, 0.0]),
            score: Some(
                "−Σ W / 5400: the negated average waiting total of the authors' transfer CSV"
                    .into(),
            ),
        }
    }

    fn from_context(ctx: &Context) -> Self {
        // The context was validated against the declared bounds, so every feature is there.
        let get = |name: &str| ctx.get(name).unwrap_or(f64::NAN);
        TrafficSignal {
            ctx: TrafficContext {
                cars: get("cars").round() as usize,
                speed_limit: get("speed"),
                arm_length: get("length"),
            },
            episode: None,
            ledger: Ledger::default(),
        }
    }

    fn reset(&mut self, rng: &mut EnvRng) {
        let route_seed = (rng.next_u64() >> 32) as u32;
        let sim_seed = rng.next_u64();
        // Within the declared bounds the context always validates.
        self.episode = Episode::new(&self.ctx, route_seed, sim_seed, Semantics::Fixed).ok();
        self.ledger = Ledger::default();
        if let Some(ep) = self.episode.as_mut() {
            ep.decide(&mut self.ledger);
        }
    }

    fn step(&mut self, action: Action<'_>, _rng: &mut EnvRng) -> (f64, bool) {
        let Some(ep) = self.episode.as_mut() else {
            return (0.0, true);
        };
        ep.act(action.index() as usize);
        let reward = ep.decide(&mut self.ledger);
        (reward, ep.done())
    }

    fn score(&self) -> Option<f64> {
        self.episode
            .as_ref()
            .map(|ep| -ep.waiting_per_episode_step())
    }

    fn observe(&self, out: &mut [f32]) {
        match &self.episode {
            Some(ep) => out.copy_from_slice(&ep.state()),
            None => out.fill(0.0),
        }
    }
}

/// Registers `traffic-signal` (idempotent).
pub fn register() -> mbtl_env::Result<EnvRef> {
    mbtl_env::register::<TrafficSignal>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbtl_env::Env;

    #[test]
    fn an_episode_is_one_decision_per_step_until_5400_seconds() {
        let env = register().unwrap();
        let ctx = Context::new(env, mbtl_env::Semantics::Physical, &[("cars", 300.0)]).unwrap();
        let mut e = Env::new(ctx, 7).unwrap();
        e.reset();
        let mut steps = 0;
        let mut ret = 0.0;
        loop {
            let t = e.step(Action::Discrete(steps % 4)).unwrap();
            ret += t.reward;
            steps += 1;
            if t.done() {
                assert!(t.terminated && !t.truncated, "the episode ends itself");
                break;
            }
        }
        // Every decision changes the action: ⌈5400 / 14⌉ = 386 decisions.
        assert_eq!(steps, 386);
        // The rewards telescope: their sum is minus the final waiting total of the cars still
        // on the approaches, so it cannot be positive.
        assert!(ret <= 0.0);
        let mut obs = vec![0.0f32; STATE_DIM];
        e.observe(&mut obs);
        assert!(obs.iter().all(|&x| x == 0.0 || x == 1.0));
    }

    #[test]
    fn an_episode_scores_the_authors_average_waiting_of_the_same_episode() {
        // The environment's episode against the same episode run by the metrics loop (the
        // rollout path): same route and simulator seeds, the same cycling policy.
        let env = register().unwrap();
        let ctx = Context::new(env, mbtl_env::Semantics::Physical, &[("cars", 1500.0)]).unwrap();
        let mut ts = TrafficSignal::from_context(&ctx);
        let mut rng = EnvRng::seed_from(11);
        let mut probe = rng.clone();
        ts.reset(&mut rng);
        let mut k = 0u32;
        loop {
            let (_, done) = ts.step(Action::Discrete(k % 4), &mut rng);
            k += 1;
            if done {
                break;
            }
        }
        let route_seed = (probe.next_u64() >> 32) as u32;
        let sim_seed = probe.next_u64();
        let tc = TrafficContext {
            cars: 1500,
            speed_limit: 14.0,
            arm_length: 750.0,
        };
        let mut j = 0usize;
        let m = Episode::new(&tc, route_seed, sim_seed, Semantics::Fixed)
            .unwrap()
            .run(|_| {
                j += 1;
                (j - 1) % 4
            });
        assert_eq!(m.decisions, k as usize, "one decision per environment step");
        let score = ts.score().unwrap();
        let want = -m.avg_waiting * m.decisions as f64 / f64::from(crate::EPISODE_STEPS);
        assert!(
            (score - want).abs() <= 1e-9 * want.abs(),
            "{score} vs {want}"
        );
        // Congested enough that the score is informative, and inside the authors' bounds.
        assert!((-100.0..-1.0).contains(&score), "{score}");
    }
}
