//! mbtl's native microsimulation of the intersection: 1-s steps with SUMO's defaults as the
//! authors ran them (Euler position update, Krauss car-following with dawdling, no
//! teleporting), so that an episode takes microseconds per vehicle-step instead of SUMO's
//! process, and a 50 × 50 transfer matrix fits a laptop.
//!
//! What is modelled, each as a plain function of the state (traffic-signal-spec §1, §2.4):
//!
//! * **Car-following**: Krauss (1998): the next speed is the least of `v + a·dt`, the lane's
//!   limit, the vehicle's maximum and the safe speed `v_l + (g − v_l τ) / ((v + v_l)/(2b) + τ)`
//!   behind the leader (on this lane or, across the stop line, on the lanes the vehicle enters
//!   next); then dawdling takes a uniform share of up to `σ·min(a·dt, v)` off it.
//! * **Signal**: a red link is a standing obstacle at the stop line; a yellow one too, unless the
//!   vehicle cannot stop with its comfortable deceleration. Vehicles approaching a slower
//!   junction lane (turns) brake to its limit by the stop line.
//! * **Insertion**: per arm in departure order, on a lane drawn uniformly (`departLane =
//!   "random"`), at the lane start with the context's departure speed, only when that speed is
//!   safe behind the last car there; a blocked vehicle holds back the later ones of its arm.
//! * **Lanes**: a vehicle on a lane that does not serve its movement moves one lane towards one
//!   that does whenever the gaps to the new leader and follower are safe (strategic changes;
//!   two cars side by side that each want the other's lane trade places); one on a lane that
//!   serves it moves to a neighbouring lane that serves it too when that lane's car ahead
//!   (within 100 m) is faster by 2 m/s or more (speed gain). SUMO's LC2013 also keeps right and
//!   changes cooperatively; those are not modelled.
//! * **Junction**: the phases are conflict-free, so cars inside the box do not block foes; at
//!   speed limits of a few m/s, where crossing the box outlasts a yellow, SUMO differs.
//! * **Waiting**: every step with speed below 0.1 m/s counts a second of accumulated waiting
//!   time (SUMO's `getAccumulatedWaitingTime` with a memory as long as the episode).

use crate::demand::{Vehicle, VehicleType, STANDARD_CAR};
use crate::network::{link_index, serves, target_lane, Approach, Intersection, Movement, LANES};
use crate::signal::{light, Light};
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Speed gain: a car looks this far ahead on its lane and the neighbouring ones (m) ...
const LOOKAHEAD: f64 = 100.0;
/// ... and changes when a neighbouring lane is faster by this much (m/s).
const GAIN: f64 = 2.0;

/// Speeds below this count as waiting (SUMO's threshold).
pub const WAITING_SPEED: f64 = 0.1;

/// Where a vehicle is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// On incoming lane `lane` of an arm, towards the junction.
    Incoming { arm: Approach, lane: usize },
    /// Crossing the junction on the internal lane of signal link `link`.
    Junction { link: usize },
    /// On outgoing lane `lane` of an arm, away from the junction.
    Outgoing { arm: Approach, lane: usize },
}

/// Lane slots: 16 incoming, 20 internal (one per link), 16 outgoing.
const IN0: usize = 0;
const JUNCTION0: usize = 16;
const OUT0: usize = 36;
const SLOTS: usize = 52;
const _: () = assert!(SLOTS <= 64, "lane sets are 64-bit masks");

fn arm_index(a: Approach) -> usize {
    match a {
        Approach::West => 0,
        Approach::North => 1,
        Approach::East => 2,
        Approach::South => 3,
    }
}

fn slot(place: Place) -> usize {
    match place {
        Place::Incoming { arm, lane } => IN0 + LANES * arm_index(arm) + lane,
        Place::Junction { link } => JUNCTION0 + link,
        Place::Outgoing { arm, lane } => OUT0 + LANES * arm_index(arm) + lane,
    }
}

/// Where a vehicle stands in its episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not yet in the network (before its departure, or waiting to be inserted).
    Pending,
    Running,
    /// Left the network at the end of its exit arm.
    Arrived,
}

/// One vehicle's simulation state.
#[derive(Clone, Debug)]
pub struct Car {
    pub vehicle: Vehicle,
    pub movement: Movement,
    pub status: Status,
    pub place: Place,
    /// Front bumper's distance from the start of the current lane (m).
    pub pos: f64,
    /// Speed over the last step (m/s).
    pub speed: f64,
    /// Accumulated waiting time (s).
    pub waiting: f64,
    /// The lane drawn for insertion, once drawn.
    depart_lane: Option<usize>,
    /// The step of the last lane change: one change per step at most.
    changed: Option<u32>,
}

/// A simulation of one episode's demand on one intersection.
#[derive(Clone, Debug)]
pub struct Sim {
    ix: Intersection,
    vtype: VehicleType,
    cars: Vec<Car>,
    /// Per lane slot, the indices of its cars, front first.
    lanes: Vec<Vec<usize>>,
    /// The slots of `lanes` that have cars, as bits (kept as cars enter and leave lanes).
    occupied: u64,
    /// Per arm, the next pending vehicle's position in `by_arm`.
    queue_head: [usize; 4],
    by_arm: [Vec<usize>; 4],
    time: u32,
    phase: usize,
    rng: Pcg64Mcg,
    inserted: usize,
    arrived: usize,
    vehicle_steps: u64,
    /// Scratch: the cars that changed lanes in this step.
    transfers: Vec<usize>,
    /// Per lane slot, the last answer of a position search on it ([`partition_from`]).
    hints: [usize; SLOTS],
}

/// `ids.partition_point(|&j| pred(&cars[j]))` for a predicate that holds on a prefix of the
/// lane, started from the last answer on that lane (`hint`, updated): the lane change pass
/// asks about cars in the order they sit, so the answer mostly moves by a step or two, and a
/// walk of a few steps replaces a binary search whose every probe is a cache miss into
/// `cars`. The result is the same index either way; a walk that goes on too long falls back
/// to the binary search.
fn partition_from(
    ids: &[usize],
    cars: &[Car],
    hint: &mut usize,
    pred: impl Fn(&Car) -> bool,
) -> usize {
    const WALK: usize = 6;
    let n = ids.len();
    let mut p = (*hint).min(n);
    let mut found = None;
    for _ in 0..=WALK {
        if p < n && pred(&cars[ids[p]]) {
            p += 1;
        } else if p > 0 && !pred(&cars[ids[p - 1]]) {
            p -= 1;
        } else {
            found = Some(p);
            break;
        }
    }
    let p = found.unwrap_or_else(|| ids.partition_point(|&j| pred(&cars[j])));
    *hint = p;
    p
}

/// One step's waiting (s) of a car at `speed` after the step: a second below
/// [`WAITING_SPEED`]. Added as 0.0 otherwise, which leaves a non-negative sum as it was: no
/// branch to predict.
fn waits(speed: f64) -> f64 {
    f64::from(u8::from(speed < WAITING_SPEED))
}

/// `a.min(b)` for numbers that are never NaN, as one `minsd`: `f64::min` adds a NaN check to
/// every call, a few per car and step in the moves. Equal values (±0) give `a`, as
/// `f64::min` does on x86-64, so results stay the same to the bit.
#[inline(always)]
fn min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// `a.max(b)` for numbers that are never NaN (see [`min`]).
#[inline(always)]
fn max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// A uniform draw in [0, 1) from the top 53 bits of the next output.
fn uniform(rng: &mut Pcg64Mcg) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// The speed a car at `pos` can expect behind `leader` (the nearest car ahead on a lane): its
/// speed within `LOOKAHEAD` metres, else `limit`.
fn speed_ahead(leader: Option<&Car>, pos: f64, limit: f64) -> f64 {
    leader
        .filter(|c| c.pos - pos < LOOKAHEAD)
        .map_or(limit, |c| c.speed)
}

/// The lane slots whose bits are set in `mask`, in increasing order.
fn lanes_of(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let lane = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            lane
        })
    })
}

/// The Krauss safe speed behind a leader at speed `vl`, `gap` metres ahead (bumper to bumper
/// minus the minimum gap), for a follower at `v` with deceleration `b` and reaction time `tau`.
pub fn krauss_safe(v: f64, vl: f64, gap: f64, b: f64, tau: f64) -> f64 {
    vl + (gap - vl * tau) / ((v + vl) / (2.0 * b) + tau)
}

impl Sim {
    /// An episode of `vehicles` (in departure order, as [`crate::demand::generate`] returns
    /// them) on `ix`; `seed` drives dawdling and the insertion lanes.
    pub fn new(ix: Intersection, vehicles: &[Vehicle], seed: u64) -> Sim {
        let mut by_arm: [Vec<usize>; 4] = Default::default();
        let cars: Vec<Car> = vehicles
            .iter()
            .enumerate()
            .map(|(i, v)| {
                by_arm[arm_index(v.route.from)].push(i);
                Car {
                    vehicle: *v,
                    movement: v.route.movement().unwrap_or(Movement::Straight),
                    status: Status::Pending,
                    place: Place::Incoming {
                        arm: v.route.from,
                        lane: 0,
                    },
                    pos: 0.0,
                    speed: 0.0,
                    waiting: 0.0,
                    depart_lane: None,
                    changed: None,
                }
            })
            .collect();
        Sim {
            ix,
            vtype: STANDARD_CAR,
            cars,
            lanes: vec![Vec::new(); SLOTS],
            occupied: 0,
            queue_head: [0; 4],
            by_arm,
            time: 0,
            phase: 0,
            rng: Pcg64Mcg::seed_from_u64(seed),
            inserted: 0,
            arrived: 0,
            vehicle_steps: 0,
            transfers: Vec::new(),
            hints: [0; SLOTS],
        }
    }

    /// The lane slots with cars, as bits, counted afresh (what `occupied` must equal).
    #[cfg(test)]
    fn occupied_now(&self) -> u64 {
        self.lanes
            .iter()
            .enumerate()
            .fold(0, |m, (l, ids)| m | u64::from(!ids.is_empty()) << l)
    }

    /// Puts `ids` back as lane slot `lane`'s cars, and its bit in `occupied` with them.
    fn set_lane(&mut self, lane: usize, ids: Vec<usize>) {
        self.occupied = self.occupied & !(1 << lane) | u64::from(!ids.is_empty()) << lane;
        self.lanes[lane] = ids;
    }

    /// Seconds simulated so far.
    pub fn time(&self) -> u32 {
        self.time
    }

    /// Shows signal phase `phase` (0..8) from the next step on.
    pub fn set_phase(&mut self, phase: usize) {
        self.phase = phase;
    }

    /// Every vehicle of the episode, in departure order.
    pub fn cars(&self) -> &[Car] {
        &self.cars
    }

    /// Vehicles inserted so far.
    pub fn inserted(&self) -> usize {
        self.inserted
    }

    /// Vehicles that left the network.
    pub fn arrived(&self) -> usize {
        self.arrived
    }

    /// Σ over steps of the vehicles running after the step (SUMO's vehicle-steps).
    pub fn vehicle_steps(&self) -> u64 {
        self.vehicle_steps
    }

    /// Every running vehicle, lane by lane (incoming, junction, outgoing), each front first.
    pub fn running(&self) -> impl Iterator<Item = &Car> {
        self.lanes.iter().flatten().map(move |&i| &self.cars[i])
    }

    fn length(&self, place: Place) -> f64 {
        match place {
            Place::Incoming { .. } | Place::Outgoing { .. } => self.ix.arm_length,
            Place::Junction { link } => self.ix.internal_lane(link_movement(link)).length,
        }
    }

    fn speed_limit(&self, place: Place) -> f64 {
        match place {
            Place::Incoming { .. } | Place::Outgoing { .. } => self.ix.speed_limit,
            Place::Junction { link } => self.ix.internal_lane(link_movement(link)).speed,
        }
    }

    /// The lanes after `car`'s lane on its way, up to two (junction then exit lane).
    fn ahead(&self, car: &Car) -> [Option<Place>; 2] {
        ahead_of(car.place, car.movement, car.vehicle.route.to)
    }

    /// The gap (minus the minimum gap) and speed of the nearest vehicle ahead of the first car
    /// of lane slot `lane`, on the lanes it enters next; `None` when the way is free. (Every
    /// other car's leader is the car before it on its lane.)
    fn leader_beyond(&self, lane: usize) -> Option<(f64, f64)> {
        let car = &self.cars[self.lanes[lane][0]];
        let mut dist = self.length(car.place) - car.pos;
        for next in self.ahead(car).into_iter().flatten() {
            if let Some(&j) = self.lanes[slot(next)].last() {
                let l = &self.cars[j];
                return Some((
                    dist + l.pos - self.vtype.length - self.vtype.min_gap,
                    l.speed,
                ));
            }
            dist += self.length(next);
        }
        None
    }

    /// One second of simulation: every running vehicle moves (speeds from the state before the
    /// step), then strategic lane changes, then insertions of vehicles due by now.
    pub fn step(&mut self) {
        let vt = self.vtype;
        // Most of the 52 lanes are empty at any time: the passes visit the others only, in
        // slot order.
        let occupied = self.occupied;
        // 1. Next speeds from the state before the step, and moves (Euler: the new speed over
        //    the whole step), lane by lane in slot order. A car's leader is the car before it
        //    on its lane, whose position and speed before its move are carried in `front`, or
        //    for a lane's first car, the last car of a lane it enters next: those have higher
        //    slots (incoming, then junction, then outgoing), so they have not moved yet, and
        //    every speed comes from the state before the step, as if computed in a pass of
        //    its own. Dawdling draws in lane order, so that the random stream is
        //    reproducible. Cars that cross onto another lane enter it after this pass, at its
        //    start, behind the cars already there.
        let mut transfers = std::mem::take(&mut self.transfers);
        for lane in lanes_of(occupied) {
            let place = self.cars[self.lanes[lane][0]].place;
            // The lane's limit and the vehicles' maximum speed, as one cap (all positive, so
            // the order of the minima does not matter).
            let (len, cap) = (
                self.length(place),
                self.speed_limit(place).min(vt.max_speed),
            );
            let beyond = self.leader_beyond(lane);
            // What the stop line asks of each movement: `None` to stop (a lane that does not
            // serve it), else the light and the junction lane's limit.
            let signals = match place {
                Place::Incoming { arm, lane } => {
                    let signal = |m: Movement| {
                        serves(lane, m).then(|| {
                            let light = light(self.phase, link_index(arm, lane, m));
                            (light, self.ix.internal_lane(m).speed)
                        })
                    };
                    // Indexed by `Movement as usize`; written out, as an array's `map` did not
                    // inline.
                    [
                        signal(Movement::Right),
                        signal(Movement::Straight),
                        signal(Movement::Left),
                    ]
                }
                _ => [None; 3],
            };
            let mut ids = std::mem::take(&mut self.lanes[lane]);
            let mut front: Option<(f64, f64)> = None;
            let mut left = false;
            for &i in &ids {
                let car = &self.cars[i];
                let v = car.speed;
                let mut vs = min(v + vt.accel, cap);
                let leader = match front {
                    Some((pos, speed)) => Some((pos - vt.length - car.pos - vt.min_gap, speed)),
                    None => beyond,
                };
                if let Some((gap, vl)) = leader {
                    vs = min(vs, krauss_safe(v, vl, gap, vt.decel, vt.tau));
                }
                if let Place::Incoming { .. } = place {
                    let dist = len - car.pos;
                    let pass = signals[car.movement as usize].and_then(|(light, vj)| {
                        let stop = match light {
                            Light::Green => false,
                            Light::Red => true,
                            // Stop when it can be done with the comfortable deceleration.
                            Light::Yellow => v * v / (2.0 * vt.decel) <= dist,
                        };
                        (!stop).then_some(vj)
                    });
                    match pass {
                        None => vs = min(vs, krauss_safe(v, 0.0, dist, vt.decel, vt.tau)),
                        Some(vj) => {
                            // Braking to `vj`, the junction lane's limit, by the line binds
                            // near it only: far away the root exceeds `vs` (the margin covers
                            // `vs²`'s rounding, and a correctly rounded root of more than
                            // `vs²` is at least `vs`), and the root is skipped, with the same
                            // result.
                            let x = vj * vj + 2.0 * vt.decel * dist;
                            if x < 1.001 * (vs * vs) {
                                vs = min(vs, x.sqrt());
                            }
                        }
                    }
                }
                front = Some((car.pos, v));
                // Dawdling takes up to σ·a off the speed, but never more than σ times the
                // speed itself: a slow car (below one step's acceleration) dawdles in
                // proportion, as SUMO's Krauss does, instead of stopping at random.
                let vs = max(vs, 0.0);
                let u = uniform(&mut self.rng);
                let v = max(vs - vt.sigma * min(vs, vt.accel) * u, 0.0);
                let pos = car.pos + v;
                let car = &mut self.cars[i];
                car.speed = v;
                if pos <= len {
                    // Most cars stay on their lane.
                    car.pos = pos;
                } else {
                    left = true;
                    self.cross(i, pos, &mut transfers);
                }
                let car = &mut self.cars[i];
                if car.status == Status::Running {
                    car.waiting += waits(v);
                }
            }
            if left {
                let cars = &self.cars;
                ids.retain(|&i| cars[i].status == Status::Running && cars[i].place == place);
            }
            self.set_lane(lane, ids);
        }
        for &i in &transfers {
            self.insert_sorted(slot(self.cars[i].place), i);
        }
        transfers.clear();
        self.transfers = transfers;
        // 2. Strategic lane changes on the incoming lanes.
        self.change_lanes();
        // 3. Insertions.
        self.insert();
        // Every running car has counted this step's waiting by its speed after the step (in
        // the moves, the swaps and the insertions): the vehicles running now are those
        // inserted and not arrived.
        self.vehicle_steps += (self.inserted - self.arrived) as u64;
        self.time += 1;
    }

    /// Car `i` has driven past the end of its lane to `pos` (from that lane's start): it goes
    /// on along its way, lane by lane, and is recorded in `transfers` when it lands on another
    /// lane, or arrives at the end of its exit arm (stops keep cars off lane ends that lead
    /// nowhere for them).
    fn cross(&mut self, i: usize, mut pos: f64, transfers: &mut Vec<usize>) {
        let c = &self.cars[i];
        let (mut place, movement, to) = (c.place, c.movement, c.vehicle.route.to);
        loop {
            let len = self.length(place);
            if pos <= len {
                break;
            }
            match ahead_of(place, movement, to)[0] {
                Some(n) => {
                    pos -= len;
                    place = n;
                }
                None => {
                    let car = &mut self.cars[i];
                    car.pos = pos;
                    car.place = place;
                    car.status = Status::Arrived;
                    self.arrived += 1;
                    return;
                }
            }
        }
        let car = &mut self.cars[i];
        car.pos = pos;
        car.place = place;
        transfers.push(i);
    }

    /// Whether car `i` fits on `place` at its position: the new leader and follower can keep
    /// their speeds within a comfortable deceleration.
    fn fits(&mut self, i: usize, place: Place) -> bool {
        let vt = self.vtype;
        let car = &self.cars[i];
        // Lanes are sorted front first: only the nearest car ahead and the nearest behind can
        // be unsafe.
        let s = slot(place);
        let lane = &self.lanes[s];
        let ahead = partition_from(lane, &self.cars, &mut self.hints[s], |c| c.pos >= car.pos);
        if let Some(&j) = ahead.checked_sub(1).and_then(|a| lane.get(a)) {
            let other = &self.cars[j];
            let gap = other.pos - vt.length - car.pos - vt.min_gap;
            if gap < 0.0
                || krauss_safe(car.speed, other.speed, gap, vt.decel, vt.tau) < car.speed - vt.decel
            {
                return false;
            }
        }
        if let Some(&j) = lane.get(ahead) {
            let other = &self.cars[j];
            let gap = car.pos - vt.length - other.pos - vt.min_gap;
            if gap < 0.0
                || krauss_safe(other.speed, car.speed, gap, vt.decel, vt.tau)
                    < other.speed - vt.decel
            {
                return false;
            }
        }
        true
    }

    /// A car on `to` beside car `i` (their bodies overlap along the lane) that wants to move
    /// onto `i`'s lane.
    fn swap_partner(&self, i: usize, to: Place) -> Option<usize> {
        let car = &self.cars[i];
        let Place::Incoming { lane, .. } = car.place else {
            return None;
        };
        let reach = self.vtype.length + self.vtype.min_gap;
        self.lanes[slot(to)].iter().copied().find(|&j| {
            let other = &self.cars[j];
            let Place::Incoming { lane: lj, .. } = other.place else {
                return false;
            };
            (other.pos - car.pos).abs() < reach
                && !serves(lj, other.movement)
                && next_lane_towards(lj, other.movement) == lane
        })
    }

    /// The speed a car at `pos` can expect on incoming lane `lane`: its car ahead's speed, the
    /// limit when the lane ahead is free for `LOOKAHEAD` metres.
    fn lane_speed(&mut self, arm: Approach, lane: usize, pos: f64) -> f64 {
        let s = slot(Place::Incoming { arm, lane });
        let ids = &self.lanes[s];
        let ahead = partition_from(ids, &self.cars, &mut self.hints[s], |c| c.pos > pos);
        let leader = ahead.checked_sub(1).map(|a| &self.cars[ids[a]]);
        speed_ahead(leader, pos, self.ix.speed_limit)
    }

    /// A neighbouring lane serving car `i`'s movement where it would be clearly faster; `k`
    /// is the car's place on its own lane, whose car ahead is the one before it.
    fn faster_lane(&mut self, i: usize, k: usize, arm: Approach, lane: usize) -> Option<usize> {
        let (pos, movement) = (self.cars[i].pos, self.cars[i].movement);
        let own = &self.lanes[slot(Place::Incoming { arm, lane })];
        let leader = k.checked_sub(1).map(|a| &self.cars[own[a]]);
        let here = match leader {
            // Side by side (never seen): the search decides.
            Some(c) if c.pos <= pos => self.lane_speed(arm, lane, pos),
            // The car ahead, strictly ahead, or none: what the search would find.
            _ => speed_ahead(leader, pos, self.ix.speed_limit),
        };
        if here + GAIN >= self.ix.speed_limit {
            return None;
        }
        let mut best: Option<(usize, f64)> = None;
        for l in [lane.checked_sub(1), Some(lane + 1)].into_iter().flatten() {
            if l < LANES && serves(l, movement) {
                let v = self.lane_speed(arm, l, pos);
                // The faster neighbour; on a tie the later one (as `max_by`).
                if v > here + GAIN && best.is_none_or(|(_, b)| v.total_cmp(&b).is_ge()) {
                    best = Some((l, v));
                }
            }
        }
        best.map(|(l, _)| l)
    }

    /// Puts car `i` into lane slot `lane` where the lane's order (front first: position
    /// descending, ties by index) puts it.
    fn insert_sorted(&mut self, lane: usize, i: usize) {
        let cars = &self.cars;
        let (pos, ids) = (cars[i].pos, &self.lanes[lane]);
        let at = ids.partition_point(|&j| cars[j].pos > pos || (cars[j].pos == pos && j < i));
        self.lanes[lane].insert(at, i);
        self.occupied |= 1 << lane;
    }

    /// Moves car `i`, the `k`-th of lane `from`, onto lane `to` at its position.
    fn change_lane(&mut self, i: usize, from: Place, k: usize, to: Place) {
        let from = slot(from);
        self.lanes[from].remove(k);
        if self.lanes[from].is_empty() {
            self.occupied &= !(1 << from);
        }
        self.cars[i].place = to;
        self.cars[i].changed = Some(self.time);
        self.insert_sorted(slot(to), i);
    }

    fn change_lanes(&mut self) {
        // The incoming lanes with cars, in slot order (arm by arm as `Approach::ALL`, lane by
        // lane). A lane empty now can only receive cars that change in this step, and those
        // do not change again, so skipping it skips nothing.
        const INCOMING: u64 = (1 << JUNCTION0) - (1 << IN0);
        for s in lanes_of(self.occupied & INCOMING) {
            let (arm, lane) = (Approach::ALL[(s - IN0) / LANES], (s - IN0) % LANES);
            let from = Place::Incoming { arm, lane };
            let mut k = 0;
            while k < self.lanes[slot(from)].len() {
                let i = self.lanes[slot(from)][k];
                k += 1;
                let m = self.cars[i].movement;
                if self.cars[i].changed == Some(self.time) {
                    continue;
                }
                if serves(lane, m) {
                    // Speed gain: to a neighbouring lane that serves the movement too when
                    // its car ahead is clearly faster (or absent) and the gaps are safe.
                    if let Some(to_lane) = self.faster_lane(i, k - 1, arm, lane) {
                        let to = Place::Incoming { arm, lane: to_lane };
                        if self.fits(i, to) {
                            k -= 1;
                            self.change_lane(i, from, k, to);
                        }
                    }
                    continue;
                }
                let to_lane = next_lane_towards(lane, m);
                let to = Place::Incoming { arm, lane: to_lane };
                if self.fits(i, to) {
                    k -= 1;
                    self.change_lane(i, from, k, to);
                } else if let Some(j) = self.swap_partner(i, to) {
                    // Two cars beside each other that each want the other's lane would wait
                    // for ever (teleporting is off); they trade places instead, each taking
                    // over the other's position and speed, so every gap stays as it was.
                    let (pi, pj) = (self.cars[i].clone(), self.cars[j].clone());
                    for (a, b) in [(i, &pj), (j, &pi)] {
                        let c = &mut self.cars[a];
                        // This step's waiting goes by the speed the car now has. (Whole
                        // seconds: the sum stays exact.)
                        c.waiting += waits(b.speed) - waits(c.speed);
                        c.place = b.place;
                        c.pos = b.pos;
                        c.speed = b.speed;
                        c.changed = Some(self.time);
                    }
                    for l in [slot(from), slot(to)] {
                        for k in &mut self.lanes[l] {
                            if *k == i {
                                *k = j;
                            } else if *k == j {
                                *k = i;
                            }
                        }
                    }
                }
            }
        }
    }

    fn insert(&mut self) {
        let vt = self.vtype;
        let v0 = self.ix.depart_speed();
        for a in 0..4 {
            while let Some(&i) = self.by_arm[a].get(self.queue_head[a]) {
                if self.cars[i].vehicle.depart > f64::from(self.time) {
                    break;
                }
                let lane = match self.cars[i].depart_lane {
                    Some(l) => l,
                    None => {
                        let l = (self.rng.next_u64() % LANES as u64) as usize;
                        self.cars[i].depart_lane = Some(l);
                        l
                    }
                };
                let place = Place::Incoming {
                    arm: Approach::ALL[a],
                    lane,
                };
                let front = vt.length;
                let ok = match self.lanes[slot(place)].last() {
                    None => true,
                    Some(&j) => {
                        let l = &self.cars[j];
                        let gap = l.pos - vt.length - front - vt.min_gap;
                        gap >= 0.0 && krauss_safe(v0, l.speed, gap, vt.decel, vt.tau) >= v0
                    }
                };
                if !ok {
                    break;
                }
                let car = &mut self.cars[i];
                car.status = Status::Running;
                car.place = place;
                car.pos = front;
                car.speed = v0;
                car.waiting += waits(v0);
                self.lanes[slot(place)].push(i);
                self.occupied |= 1 << slot(place);
                self.inserted += 1;
                self.queue_head[a] += 1;
            }
        }
    }
}

/// The lanes after `place` for a car with `movement` bound for arm `to`, up to two (junction
/// then exit lane); none from a lane that does not serve the movement.
fn ahead_of(place: Place, movement: Movement, to: Approach) -> [Option<Place>; 2] {
    match place {
        Place::Incoming { arm, lane } => {
            if !serves(lane, movement) {
                return [None, None];
            }
            let link = link_index(arm, lane, movement);
            let out = Place::Outgoing {
                arm: to,
                lane: target_lane(lane, movement),
            };
            [Some(Place::Junction { link }), Some(out)]
        }
        Place::Junction { link } => {
            let out = Place::Outgoing {
                arm: to,
                lane: target_lane(link_source(link).1, movement),
            };
            [Some(out), None]
        }
        Place::Outgoing { .. } => [None, None],
    }
}

/// The lane next to `lane` in the direction of the nearest lane that serves `m`.
fn next_lane_towards(lane: usize, m: Movement) -> usize {
    let want = (0..LANES)
        .filter(|&l| serves(l, m))
        .min_by_key(|&l| l.abs_diff(lane))
        .unwrap_or(lane);
    match want.cmp(&lane) {
        std::cmp::Ordering::Greater => lane + 1,
        std::cmp::Ordering::Less => lane - 1,
        std::cmp::Ordering::Equal => lane,
    }
}

/// The movement of signal link `link` (right, three straights, left per arm).
fn link_movement(link: usize) -> Movement {
    match link % 5 {
        0 => Movement::Right,
        4 => Movement::Left,
        _ => Movement::Straight,
    }
}

/// The arm and incoming lane of signal link `link`.
fn link_source(link: usize) -> (Approach, usize) {
    let arm = match link / 5 {
        0 => Approach::North,
        1 => Approach::East,
        2 => Approach::South,
        _ => Approach::West,
    };
    let lane = match link % 5 {
        0 => 0,
        4 => 3,
        k => k - 1,
    };
    (arm, lane)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demand::{generate, TURN_SHARE};
    use crate::signal::decision_phases;

    fn run_cycle(ix: Intersection, cars: usize, seed: u32) -> Sim {
        let v = generate(seed, cars, TURN_SHARE).unwrap();
        let mut sim = Sim::new(ix, &v, 7);
        let mut prev = None;
        let mut a = 0;
        while sim.time() < crate::EPISODE_STEPS {
            for (phase, secs) in decision_phases(prev, a) {
                sim.set_phase(phase);
                for _ in 0..secs {
                    if sim.time() < crate::EPISODE_STEPS {
                        sim.step();
                        check_no_overlap(&sim);
                    }
                }
            }
            prev = Some(a);
            a = (a + 1) % 4;
        }
        sim
    }

    fn check_no_overlap(sim: &Sim) {
        assert_eq!(
            sim.occupied,
            sim.occupied_now(),
            "the lane set at t = {}",
            sim.time()
        );
        for lane in &sim.lanes {
            for w in lane.windows(2) {
                let (a, b) = (&sim.cars[w[0]], &sim.cars[w[1]]);
                assert!(
                    a.pos - STANDARD_CAR.length >= b.pos - 1e-9,
                    "overlap at t = {}: {a:?} {b:?}",
                    sim.time()
                );
            }
        }
    }

    #[test]
    fn a_hinted_search_finds_the_partition_point_from_any_hint() {
        // Lanes of 0..40 cars with repeated positions, every hint, both predicates the
        // simulation uses.
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        let template = run_cycle(Intersection::default(), 50, 0).cars[0].clone();
        for n in [0usize, 1, 2, 7, 40] {
            let cars: Vec<Car> = (0..n)
                .map(|k| Car {
                    pos: ((n - k) / 2) as f64 * 3.0,
                    ..template.clone()
                })
                .collect();
            let ids: Vec<usize> = (0..n).collect();
            for _ in 0..50 {
                let x = (rng.next_u64() % (3 * n as u64 + 4)) as f64 * 0.5 - 1.0;
                let want_gt = ids.partition_point(|&j| cars[j].pos > x);
                let want_ge = ids.partition_point(|&j| cars[j].pos >= x);
                for hint in 0..n + 3 {
                    let mut h = hint;
                    assert_eq!(partition_from(&ids, &cars, &mut h, |c| c.pos > x), want_gt);
                    assert_eq!(h, want_gt, "the hint becomes the answer");
                    let mut h = hint;
                    assert_eq!(partition_from(&ids, &cars, &mut h, |c| c.pos >= x), want_ge);
                }
            }
        }
    }

    #[test]
    fn links_round_trip() {
        for arm in Approach::ALL {
            for (lane, m) in [
                (0, Movement::Right),
                (0, Movement::Straight),
                (1, Movement::Straight),
                (2, Movement::Straight),
                (3, Movement::Left),
            ] {
                let l = link_index(arm, lane, m);
                assert_eq!(link_source(l), (arm, lane));
                assert_eq!(link_movement(l), m);
            }
        }
    }

    #[test]
    fn a_cycle_serves_the_default_demand_without_collisions() {
        let sim = run_cycle(Intersection::default(), 1000, 10_000);
        // Every vehicle counted once: inserted = arrived + running.
        let running = sim.lanes.iter().map(Vec::len).sum::<usize>();
        assert_eq!(sim.inserted(), sim.arrived() + running);
        // SUMO (traffic-signal-spec §7.2) inserts all 1000 and 999 arrive under this cycle.
        assert_eq!(sim.inserted(), 1000);
        assert!(sim.arrived() >= 990, "arrived {}", sim.arrived());
    }

    #[test]
    fn same_seed_same_episode() {
        let a = run_cycle(Intersection::default(), 300, 3);
        let b = run_cycle(Intersection::default(), 300, 3);
        assert_eq!(a.vehicle_steps(), b.vehicle_steps());
        let wa: f64 = a.cars().iter().map(|c| c.waiting).sum();
        let wb: f64 = b.cars().iter().map(|c| c.waiting).sum();
        assert_eq!(wa, wb);
    }

    #[test]
    fn only_the_movements_of_the_green_cross() {
        let v = generate(1, 400, TURN_SHARE).unwrap();
        let mut sim = Sim::new(Intersection::default(), &v, 1);
        sim.set_phase(2); // N and S left turns only
        for _ in 0..3000 {
            sim.step();
            check_no_overlap(&sim);
        }
        let crossed: Vec<String> = sim
            .cars()
            .iter()
            .filter(|c| !matches!(c.place, Place::Incoming { .. }) && c.status != Status::Pending)
            .map(|c| c.vehicle.route.id())
            .collect();
        assert!(crossed.len() >= 10, "{crossed:?}");
        assert!(
            crossed.iter().all(|r| r == "N_E" || r == "S_W"),
            "{crossed:?}"
        );
    }
}
