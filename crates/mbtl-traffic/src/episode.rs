//! The authors' decision loop and episode metrics (traffic-signal-spec §3.1, §3.4, §3.6) over
//! mbtl's simulator: a decision every 10 s (same action) or 14 s (a change, through the old
//! action's yellow), the waiting-time reward, and the five averages the authors write per
//! episode.
//!
//! Two semantics, as for the classic-control environments:
//!
//! * [`Semantics::Reference`] keeps the authors' bookkeeping: the waiting and speed records are
//!   keyed by vehicle id (ids repeat across episodes) and live as long as the caller keeps its
//!   [`Ledger`] (their training never resets it, quirk Q1); a vehicle that leaves the approach
//!   between two decisions keeps its entry (Q2); speeds average over every vehicle seen,
//!   arrived ones included (Q5); and the sums are divided by 5400 steps (Q4).
//! * [`Semantics::Fixed`] (the default) measures what the names say: the waiting total of the
//!   vehicles on the approaches now, the mean speed of the vehicles in the network now, and
//!   averages over the decisions actually taken.

use crate::context::TrafficContext;
use crate::demand::{generate, TURN_SHARE};
use crate::network::Route;
use crate::signal::decision_phases;
use crate::sim::{Place, Rules, Sim, Status};
use crate::state::{encode, STATE_DIM};
use crate::{TrafficError, EPISODE_STEPS};

/// Which bookkeeping the episode keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Semantics {
    /// The authors' code, quirks included.
    Reference,
    /// The quirks fixed.
    #[default]
    Fixed,
}

/// The authors' per-vehicle records: accumulated waiting of vehicles seen on an approach, and
/// the last speed of every vehicle seen, keyed by vehicle id. Under the reference semantics a
/// training loop keeps one ledger over all its episodes (Q1); evaluation starts each episode
/// with a new one.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    waiting: Record,
    speeds: Record,
}

/// A Python dict of floats as the authors' records use it: iteration follows insertion, an
/// update keeps the key's place, a deletion frees it and a later insertion of the key goes to
/// the end; its sum adds the values one by one in that order, as `sum(d.values())` did before
/// Python 3.12 (which compensates the rounding), so that no last digit depends on a hash
/// function.
///
/// The sum is asked for at every decision over every vehicle seen (a thousand speeds), while
/// only the few dozen running vehicles change: the partial sums before the first entry changed
/// since the last sum are kept, and the sum goes on from there. The result is the same
/// left-to-right sum, to the last bit.
#[derive(Clone, Debug, Default)]
struct Record {
    /// Key → its entry's index ([`ABSENT`] for none); keys are small and dense
    /// (see [`key`]), so a table does what a hash map would.
    index: Vec<usize>,
    /// Keys present.
    live: usize,
    /// Keys and values in insertion order; `None` where a key was deleted.
    entries: Vec<Option<(usize, f64)>>,
    /// `partial[j]`: the sum of the live entries before `j`, valid for `j <= clean`.
    partial: Vec<f64>,
    /// Entries before this index have not changed since their partial sums were taken.
    clean: usize,
}

/// No entry for this key.
const ABSENT: usize = usize::MAX;

impl Record {
    fn insert(&mut self, key: usize, value: f64) {
        if key >= self.index.len() {
            self.index.resize(key + 1, ABSENT);
        }
        let at = match self.index[key] {
            ABSENT => {
                self.index[key] = self.entries.len();
                self.entries.push(Some((key, value)));
                self.live += 1;
                self.entries.len() - 1
            }
            at => {
                self.entries[at] = Some((key, value));
                at
            }
        };
        self.clean = self.clean.min(at);
    }

    fn remove(&mut self, key: usize) {
        let Some(&at) = self.index.get(key).filter(|&&at| at != ABSENT) else {
            return;
        };
        self.index[key] = ABSENT;
        self.live -= 1;
        self.entries[at] = None;
        self.clean = self.clean.min(at);
        // Keep the holes fewer than the live entries: compact, order kept.
        if 2 * self.live < self.entries.len() {
            self.entries.retain(Option::is_some);
            for (at, e) in self.entries.iter().enumerate() {
                if let Some((k, _)) = e {
                    self.index[*k] = at;
                }
            }
            self.clean = 0;
        }
    }

    fn len(&self) -> usize {
        self.live
    }

    /// Σ of the values in insertion order, left to right.
    fn sum(&mut self) -> f64 {
        let n = self.entries.len();
        self.partial.resize(n + 1, 0.0);
        let start = self.clean.min(n);
        let mut s = self.partial[start];
        for j in start..n {
            if let Some((_, v)) = self.entries[j] {
                s += v;
            }
            self.partial[j + 1] = s;
        }
        self.clean = n;
        s
    }
}

/// A vehicle's id `<route>_<index>` as a small number: the same id, the same key, across
/// episodes (16 codes per index: 4 origins × 4 destinations), whichever simulator runs it.
pub fn vehicle_key(route: Route, index: usize) -> usize {
    16 * index + 4 * route.from as usize + route.to as usize
}

/// Where a running vehicle is, as a decision point's bookkeeping sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Road {
    /// On one of the four incoming edges (the approaches).
    Incoming,
    /// On one of the four outgoing edges.
    Outgoing,
    /// Inside the junction.
    Junction,
}

/// One running vehicle as a decision point samples it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seen {
    /// [`vehicle_key`] of its id.
    pub key: usize,
    pub road: Road,
    /// Its accumulated waiting time (s).
    pub waiting: f64,
    /// Its speed now (m/s).
    pub speed: f64,
}

/// The authors' per-decision sums over one episode (spec §3.4, §3.6), whichever simulator
/// produced the vehicles: mbtl's own ([`Episode`]) or SUMO (the `mbtl-sumo` backend), so that
/// both are scored by one piece of bookkeeping.
#[derive(Clone, Debug)]
pub struct Tally {
    semantics: Semantics,
    last_w: f64,
    sums: [f64; 5],
    decisions: usize,
}

impl Tally {
    pub fn new(semantics: Semantics) -> Tally {
        Tally {
            semantics,
            last_w: 0.0,
            sums: [0.0; 5],
            decisions: 0,
        }
    }

    /// A decision point over the vehicles running now, in the simulator's order: updates the
    /// ledger, and returns the reward r_k = W_{k−1} − W_k. With `sample` false (past the last
    /// decision point, which the authors' loop `while step < 5400` never samples) only the
    /// reward is computed.
    pub fn decide(
        &mut self,
        ledger: &mut Ledger,
        running: impl IntoIterator<Item = Seen>,
        sample: bool,
    ) -> f64 {
        // One pass over the running vehicles samples what either semantics needs (each sum
        // in the vehicles' order, -0.0 first as `Iterator::sum` starts).
        let reference = self.semantics == Semantics::Reference;
        let (mut waiting, mut speeds, mut count) = (-0.0, 0.0, 0usize);
        let (mut current, mut passed) = (0usize, 0usize);
        for c in running {
            count += 1;
            speeds += c.speed;
            match c.road {
                Road::Incoming => {
                    current += 1;
                    waiting += c.waiting;
                }
                Road::Outgoing => passed += 1,
                Road::Junction => {}
            }
            if reference {
                if c.road == Road::Incoming {
                    ledger.waiting.insert(c.key, c.waiting);
                } else {
                    ledger.waiting.remove(c.key);
                }
                ledger.speeds.insert(c.key, c.speed);
            }
        }
        let (w, speed) = match self.semantics {
            Semantics::Reference => {
                let speed = match ledger.speeds.len() {
                    0 => 0.0,
                    n => ledger.speeds.sum() / n as f64,
                };
                (ledger.waiting.sum(), speed)
            }
            Semantics::Fixed => {
                let speed = match count {
                    0 => 0.0,
                    n => speeds / n as f64,
                };
                (waiting, speed)
            }
        };
        let reward = self.last_w - w;
        self.last_w = w;
        if !sample {
            return reward;
        }
        self.sums[0] += reward.min(0.0);
        self.sums[1] += w;
        self.sums[2] += speed;
        self.sums[3] += current as f64;
        self.sums[4] += passed as f64;
        self.decisions += 1;
        reward
    }

    /// Decision points sampled.
    pub fn decisions(&self) -> usize {
        self.decisions
    }

    /// Σ_k W_k / 5400 (see [`Episode::waiting_per_episode_step`]).
    pub fn waiting_per_episode_step(&self) -> f64 {
        self.sums[1] / f64::from(EPISODE_STEPS)
    }

    /// The episode's metrics from these sums and the simulator's counts.
    pub fn metrics(
        &self,
        inserted: usize,
        arrived: usize,
        vehicle_steps: u64,
        mean_vehicle_waiting: f64,
    ) -> Metrics {
        let div = match self.semantics {
            Semantics::Reference => f64::from(EPISODE_STEPS),
            Semantics::Fixed => self.decisions.max(1) as f64,
        };
        Metrics {
            avg_reward: self.sums[0] / div,
            avg_waiting: self.sums[1] / div,
            avg_average_speed: self.sums[2] / div,
            avg_current_veh: self.sums[3] / div,
            avg_passed_veh: self.sums[4] / div,
            decisions: self.decisions,
            inserted,
            arrived,
            vehicle_steps,
            mean_vehicle_waiting,
        }
    }
}

/// The averages of one episode, as the authors' CSV columns, plus counts for checking the
/// simulator against SUMO.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Sum of the negative rewards over the divisor.
    pub avg_reward: f64,
    /// Sum of the waiting totals W_k over the divisor.
    pub avg_waiting: f64,
    pub avg_average_speed: f64,
    /// Sum over decisions of the vehicles on the incoming edges, over the divisor.
    pub avg_current_veh: f64,
    /// Sum over decisions of the vehicles on the outgoing edges, over the divisor.
    pub avg_passed_veh: f64,
    pub decisions: usize,
    pub inserted: usize,
    pub arrived: usize,
    pub vehicle_steps: u64,
    /// Mean accumulated waiting time per inserted vehicle at the end (SUMO's tripinfo
    /// `waitingTime` for the ones that arrived).
    pub mean_vehicle_waiting: f64,
}

/// One episode under RL control.
#[derive(Clone, Debug)]
pub struct Episode {
    ctx: TrafficContext,
    sim: Sim,
    previous: Option<usize>,
    tally: Tally,
}

impl Episode {
    /// The episode with route seed `route_seed` (the authors: e for training episode e,
    /// 10000 + e for transfer) on `ctx`; `sim_seed` drives the simulator's own randomness.
    pub fn new(
        ctx: &TrafficContext,
        route_seed: u32,
        sim_seed: u64,
        semantics: Semantics,
    ) -> Result<Episode, TrafficError> {
        ctx.validate()?;
        let vehicles = generate(route_seed, ctx.cars, TURN_SHARE)?;
        Ok(Episode {
            ctx: *ctx,
            sim: Sim::new(ctx.intersection(), &vehicles, sim_seed),
            previous: None,
            tally: Tally::new(semantics),
        })
    }

    /// The episode under the opt-in simulator rules `rules` ([`Rules::default`] unless set).
    ///
    /// # Panics
    /// Once the simulation has stepped (after the first action).
    pub fn with_rules(mut self, rules: Rules) -> Episode {
        self.sim.set_rules(rules);
        self
    }

    /// The simulation.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Whether the 5400 steps are over.
    pub fn done(&self) -> bool {
        self.sim.time() >= EPISODE_STEPS
    }

    /// The 80-cell state now.
    pub fn state(&self) -> [f32; STATE_DIM] {
        let l = self.ctx.arm_length;
        encode(
            self.sim.running().filter_map(|c| match c.place {
                Place::Incoming { arm, lane } => Some((arm, lane, l - c.pos)),
                _ => None,
            }),
            l,
        )
    }

    /// A decision point: updates the ledger, samples the metric inputs and returns the
    /// reward r_k = W_{k−1} − W_k. Called once the episode is [`Episode::done`], it only
    /// returns the reward (what an environment step ending the episode needs).
    pub fn decide(&mut self, ledger: &mut Ledger) -> f64 {
        let sample = !self.done();
        let running = self.sim.running().map(|c| Seen {
            key: vehicle_key(c.vehicle.route, c.vehicle.index),
            road: match c.place {
                Place::Incoming { .. } => Road::Incoming,
                Place::Outgoing { .. } => Road::Outgoing,
                Place::Junction { .. } => Road::Junction,
            },
            waiting: c.waiting,
            speed: c.speed,
        });
        self.tally.decide(ledger, running, sample)
    }

    /// Shows `action`'s green (after the previous action's yellow if it changed) and simulates
    /// until the next decision point or the episode's end.
    pub fn act(&mut self, action: usize) {
        for (phase, secs) in decision_phases(self.previous, action) {
            self.sim.set_phase(phase);
            for _ in 0..secs {
                if self.done() {
                    break;
                }
                self.sim.step();
            }
        }
        self.previous = Some(action);
    }

    /// Σ_k W_k / 5400: the authors' `avg_waiting` column, their divisor (Q4) included, over
    /// this episode's own bookkeeping. The authors normalise their transfer matrices in its
    /// units (bounds [−100, 0] on its negation, traffic-signal-spec §3.7), so it is what the
    /// environment scores an episode by under either semantics; under the reference semantics
    /// it equals [`Metrics::avg_waiting`].
    pub fn waiting_per_episode_step(&self) -> f64 {
        self.tally.waiting_per_episode_step()
    }

    /// The episode's metrics (call when [`Episode::done`]).
    pub fn metrics(&self) -> Metrics {
        let inserted = self.sim.inserted();
        let total_wait: f64 = self
            .sim
            .cars()
            .iter()
            .filter(|c| matches!(c.status, Status::Running | Status::Arrived))
            .map(|c| c.waiting)
            .sum();
        let mean_vehicle_waiting = if inserted == 0 {
            0.0
        } else {
            total_wait / inserted as f64
        };
        self.tally.metrics(
            inserted,
            self.sim.arrived(),
            self.sim.vehicle_steps(),
            mean_vehicle_waiting,
        )
    }

    /// Runs the whole episode with `policy` (state → action) from a fresh ledger, as the
    /// authors' transfer evaluation does.
    pub fn run(mut self, mut policy: impl FnMut(&[f32; STATE_DIM]) -> usize) -> Metrics {
        let mut ledger = Ledger::default();
        while !self.done() {
            self.decide(&mut ledger);
            let a = policy(&self.state());
            self.act(a);
        }
        self.metrics()
    }
}

/// The fixed policies for checking the simulator and for baselines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixedPolicy {
    /// a → (a + 1) mod 4 at every decision from action 0: a fixed-time cycle of 10-s greens
    /// and 4-s yellows (56 s), the check of traffic-signal-spec §7.1.
    Cycle,
    /// Uniform actions from NumPy's legacy generator seeded with `seed` (`randint(0, 4)` per
    /// decision), so that a Python driver of SUMO can take the very same actions.
    Random { seed: u32 },
    /// One action for ever.
    Constant(usize),
}

impl FixedPolicy {
    /// The policy as a closure over the state.
    pub fn actor(self) -> impl FnMut(&[f32; STATE_DIM]) -> usize {
        let mut next = 0usize;
        let mut rng = match self {
            FixedPolicy::Random { seed } => Some(mbtl_rng::RandomState::new(seed)),
            _ => None,
        };
        move |_| match self {
            FixedPolicy::Cycle => {
                let a = next;
                next = (next + 1) % crate::signal::ACTIONS;
                a
            }
            FixedPolicy::Random { .. } => rng.as_mut().map_or(0, |r| {
                r.randint_range(0, crate::signal::ACTIONS as i64) as usize
            }),
            FixedPolicy::Constant(a) => a,
        }
    }
}

impl std::fmt::Display for FixedPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FixedPolicy::Cycle => write!(f, "cycle"),
            FixedPolicy::Random { seed } => write!(f, "random:{seed}"),
            FixedPolicy::Constant(a) => write!(f, "constant:{a}"),
        }
    }
}

impl std::str::FromStr for FixedPolicy {
    type Err = String;

    /// `cycle`, `random` (seed 0), `random:SEED` or `constant:A`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("policy '{s}': expected cycle, random, random:SEED or constant:0..3");
        match s.split_once(':') {
            None if s == "cycle" => Ok(FixedPolicy::Cycle),
            None if s == "random" => Ok(FixedPolicy::Random { seed: 0 }),
            Some(("random", seed)) => seed
                .parse()
                .map(|seed| FixedPolicy::Random { seed })
                .map_err(|_| bad()),
            Some(("constant", a)) => match a.parse::<usize>() {
                Ok(a) if a < crate::signal::ACTIONS => Ok(FixedPolicy::Constant(a)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

/// `episodes` evaluation episodes of `policy` on `ctx`, episode e with route seed
/// `first_seed + e` (the authors' transfer: 10000 + e) and a fresh ledger, as the authors'
/// transfer evaluation; the simulator's own randomness is seeded with `sim_seed + e`.
pub fn rollout(
    ctx: &TrafficContext,
    policy: FixedPolicy,
    first_seed: u32,
    episodes: u32,
    semantics: Semantics,
    sim_seed: u64,
) -> Result<Vec<Metrics>, TrafficError> {
    rollout_with(
        ctx,
        |_| policy.actor(),
        first_seed,
        episodes,
        semantics,
        Rules::default(),
        sim_seed,
    )
}

/// [`rollout`] with any policy and simulator rules: `actor(e)` makes episode e's (state →
/// action), so a stateful fixed policy restarts every episode and a trained one is simply
/// reused.
pub fn rollout_with<A: FnMut(&[f32; STATE_DIM]) -> usize>(
    ctx: &TrafficContext,
    mut actor: impl FnMut(u32) -> A,
    first_seed: u32,
    episodes: u32,
    semantics: Semantics,
    rules: Rules,
    sim_seed: u64,
) -> Result<Vec<Metrics>, TrafficError> {
    (0..episodes)
        .map(|e| {
            let ep = Episode::new(ctx, first_seed + e, sim_seed + u64::from(e), semantics)?
                .with_rules(rules);
            Ok(ep.run(actor(e)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_takes_386_decisions_and_a_fixed_action_540() {
        let ctx = TrafficContext::default();
        let m = Episode::new(&ctx, 10_000, 0, Semantics::Reference)
            .unwrap()
            .run(FixedPolicy::Cycle.actor());
        // ⌈5400 / 14⌉ decisions when every decision changes the action (spec §3.1).
        assert_eq!(m.decisions, 386);
        let m = Episode::new(&ctx, 10_000, 0, Semantics::Reference)
            .unwrap()
            .run(FixedPolicy::Constant(0).actor());
        assert_eq!(m.decisions, 540);
        // With one green forever, E and W traffic never leaves: most cars wait.
        assert!(m.arrived < 700, "arrived {}", m.arrived);
    }

    #[test]
    fn semantics_differ_only_in_bookkeeping() {
        let ctx = TrafficContext::default();
        let run = |semantics| {
            rollout(
                &ctx,
                FixedPolicy::Random { seed: 3 },
                10_000,
                1,
                semantics,
                0,
            )
            .unwrap()[0]
                .clone()
        };
        let (r, f) = (run(Semantics::Reference), run(Semantics::Fixed));
        // The same traffic.
        assert_eq!(r.vehicle_steps, f.vehicle_steps);
        assert_eq!(r.arrived, f.arrived);
        // The reference divides by 5400 rather than by the 386 decisions.
        let ratio = f.avg_current_veh / r.avg_current_veh;
        assert!(
            (ratio - 5400.0 / r.decisions as f64).abs() < 1e-9,
            "{ratio}"
        );
        assert!(r.avg_reward <= 0.0);
    }

    #[test]
    fn records_keep_a_python_dicts_order_and_sum_left_to_right() {
        // A model of the dict: (key, value) in iteration order.
        let mut model: Vec<(usize, f64)> = Vec::new();
        let mut record = Record::default();
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        for step in 0..20_000 {
            let key = (next() % 300) as usize;
            // Values of very different sizes, so that the order shows in the last digits.
            let value = (next() % 1000) as f64 * [1e-3, 1.0, 1e6][(next() % 3) as usize];
            if next() % 3 == 0 {
                model.retain(|&(k, _)| k != key);
                record.remove(key);
            } else {
                match model.iter_mut().find(|(k, _)| *k == key) {
                    Some(e) => e.1 = value,
                    None => model.push((key, value)),
                }
                record.insert(key, value);
            }
            if step % 7 == 0 {
                let want = model.iter().fold(0.0, |s, &(_, v)| s + v);
                assert_eq!(record.sum().to_bits(), want.to_bits(), "step {step}");
                assert_eq!(record.len(), model.len());
            }
        }
    }

    #[test]
    fn same_seed_same_metrics_to_the_last_bit() {
        // Each ledger is new, as each would be in a new process: the float sums over it must
        // not depend on a map's iteration order.
        let ctx = TrafficContext::parse("cars=300").unwrap();
        let run = || rollout(&ctx, FixedPolicy::Cycle, 10_000, 3, Semantics::Reference, 0).unwrap();
        let first = run();
        for _ in 0..5 {
            assert_eq!(run(), first);
        }
    }

    #[test]
    fn policies_parse_and_refuse_with_the_text() {
        assert_eq!("cycle".parse::<FixedPolicy>(), Ok(FixedPolicy::Cycle));
        assert_eq!(
            "random:7".parse::<FixedPolicy>(),
            Ok(FixedPolicy::Random { seed: 7 })
        );
        assert!("constant:4"
            .parse::<FixedPolicy>()
            .unwrap_err()
            .contains("constant:4"));
        // NumPy's randint(0, 4) stream, seed 0: 0, 3, 1, 0, 3 (np.random.seed(0);
        // [np.random.randint(0, 4) for _ in range(5)]).
        let mut a = FixedPolicy::Random { seed: 0 }.actor();
        let s = [0.0; STATE_DIM];
        let got: Vec<usize> = (0..5).map(|_| a(&s)).collect();
        assert_eq!(got, [0, 3, 1, 0, 3]);
    }
}
