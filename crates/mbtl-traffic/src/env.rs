//! The intersection as an mbtl environment (`traffic-signal`), so that mbtl's learners, batched
//! evaluation, experiments and `mbtl train` work on it through the open [`Dynamics`] trait.
//!
//! One environment step is one decision of the authors' loop (traffic-signal-spec §3.1): the
//! action's green (after the previous action's yellow if it changed) until the next decision
//! point, then the reward r = W_before − W_after of the waiting totals. An episode ends when its
//! 5400 simulated seconds are over (386–540 decisions), so the time limit of 540 steps never
//! cuts one short. The observation is the 80-cell state.
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
            return_bounds: None,
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
}
