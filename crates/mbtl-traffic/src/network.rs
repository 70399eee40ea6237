//! The intersection (traffic-signal-spec §1): one signalised junction `TL` at the origin, four
//! arms of length L with 4 lanes in each direction, right-hand traffic, no U-turns. Everything
//! that depends on a context (the arm length L, the speed limit) is a function of
//! [`Intersection`]; the rest is constant.

/// An arm of the intersection, in the order the authors' state groups use (W, N, E, S).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Approach {
    West,
    North,
    East,
    South,
}

impl Approach {
    /// All four, in state-group order.
    pub const ALL: [Approach; 4] = [
        Approach::West,
        Approach::North,
        Approach::East,
        Approach::South,
    ];

    /// The letter of SUMO's ids (`W2TL`, `TL2W`, route `W_N`).
    pub fn letter(self) -> char {
        match self {
            Approach::West => 'W',
            Approach::North => 'N',
            Approach::East => 'E',
            Approach::South => 'S',
        }
    }

    /// Position of the arm's far end for arm length `l` (SUMO coordinates, metres).
    pub fn end(self, l: f64) -> (f64, f64) {
        match self {
            Approach::West => (-l, 0.0),
            Approach::North => (0.0, l),
            Approach::East => (l, 0.0),
            Approach::South => (0.0, -l),
        }
    }

    /// The first of the four link indices of vehicles coming from this arm (§1.2: N 0, E 5,
    /// S 10, W 15; right, then straight on lanes 0–2, then left).
    pub fn first_link(self) -> usize {
        match self {
            Approach::North => 0,
            Approach::East => 5,
            Approach::South => 10,
            Approach::West => 15,
        }
    }

    /// Where a vehicle from this arm goes with `movement` (right-hand traffic: from the north,
    /// right is west, straight south, left east).
    pub fn exit(self, movement: Movement) -> Approach {
        // Clockwise order seen from above: N, E, S, W. A right turn from N leaves to W (one
        // step counter-clockwise), straight is the opposite arm, left one step clockwise.
        const CW: [Approach; 4] = [
            Approach::North,
            Approach::East,
            Approach::South,
            Approach::West,
        ];
        let i = CW.iter().position(|&a| a == self).unwrap_or(0);
        let step = match movement {
            Movement::Right => 3,
            Movement::Straight => 2,
            Movement::Left => 1,
        };
        CW[(i + step) % 4]
    }
}

/// What a vehicle does at the junction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Movement {
    Right,
    Straight,
    Left,
}

/// Lanes per edge; lane 0 is the kerb lane.
pub const LANES: usize = 4;
/// Lane width (m).
pub const LANE_WIDTH: f64 = 3.2;
/// Half the junction box: every lane shape ends 16.8 m from the centre.
pub const JUNCTION_HALF: f64 = 16.8;

/// The movements an incoming lane allows (§1.2): lane 0 right and straight, lanes 1 and 2
/// straight, lane 3 left only.
pub fn lane_movements(lane: usize) -> &'static [Movement] {
    match lane {
        0 => &[Movement::Right, Movement::Straight],
        1 | 2 => &[Movement::Straight],
        _ => &[Movement::Left],
    }
}

/// Whether incoming `lane` allows `movement` ([`lane_movements`] as one table lookup: the
/// simulator asks it for every queued car every second).
pub fn serves(lane: usize, movement: Movement) -> bool {
    // Bit `m` of entry `lane`: lane 0 right and straight, 1 and 2 straight, 3 left.
    const SERVES: [u8; LANES] = [0b011, 0b010, 0b010, 0b100];
    SERVES[lane.min(LANES - 1)] >> (movement as u8) & 1 == 1
}

/// The outgoing lane a movement from incoming `lane` enters: right turns and lane 0's straight
/// go to lane 0, straight lanes keep their index, left turns enter lane 3.
pub fn target_lane(lane: usize, movement: Movement) -> usize {
    match movement {
        Movement::Right => 0,
        Movement::Straight => lane,
        Movement::Left => LANES - 1,
    }
}

/// The signal link (index into the phase strings of [`crate::signal`]) that a movement from
/// `lane` of `from` uses.
pub fn link_index(from: Approach, lane: usize, movement: Movement) -> usize {
    let base = from.first_link();
    match movement {
        Movement::Right => base,
        Movement::Straight => base + 1 + lane.min(2),
        Movement::Left => base + 4,
    }
}

/// One origin–destination pair: the 12 routes of the authors' route files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    pub from: Approach,
    pub to: Approach,
}

impl Route {
    /// The route's id in SUMO files, `W_N` etc.
    pub fn id(self) -> String {
        format!("{}_{}", self.from.letter(), self.to.letter())
    }

    /// Its edges, as the route files write them (`W2TL TL2N`).
    pub fn edges(self) -> String {
        format!("{}2TL TL2{}", self.from.letter(), self.to.letter())
    }

    /// The movement at the junction; `None` for a U-turn, which the network has not.
    pub fn movement(self) -> Option<Movement> {
        [Movement::Right, Movement::Straight, Movement::Left]
            .into_iter()
            .find(|&m| self.from.exit(m) == self.to)
    }
}

/// The 12 routes in the order the authors' files define them.
pub fn routes() -> [Route; 12] {
    use Approach::{East as E, North as N, South as S, West as W};
    let r = |from, to| Route { from, to };
    [
        r(W, N),
        r(W, E),
        r(W, S),
        r(N, W),
        r(N, E),
        r(N, S),
        r(E, W),
        r(E, N),
        r(E, S),
        r(S, W),
        r(S, N),
        r(S, E),
    ]
}

/// An internal (junction) lane of a movement: its length and speed limit (§1.3). Only the
/// straight ones take the context's speed limit; the turns keep the template's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InternalLane {
    pub length: f64,
    pub speed: f64,
}

/// The intersection for one context: arm length L (the `length` of every normal lane, which
/// is what SUMO simulates with, not the drawn shape's L − 16.8) and the speed limit of the
/// normal lanes and straight internal lanes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Intersection {
    pub arm_length: f64,
    pub speed_limit: f64,
}

impl Default for Intersection {
    /// The authors' default context: L = 750 m and 14 m/s (their scripts pass 14, not the
    /// template's 13.89).
    fn default() -> Self {
        Intersection {
            arm_length: 750.0,
            speed_limit: 14.0,
        }
    }
}

impl Intersection {
    /// The internal lane a movement crosses the junction on.
    pub fn internal_lane(&self, movement: Movement) -> InternalLane {
        match movement {
            Movement::Straight => InternalLane {
                length: 33.6,
                speed: self.speed_limit,
            },
            Movement::Left => InternalLane {
                length: 29.67,
                speed: 11.36,
            },
            Movement::Right => InternalLane {
                length: 9.03,
                speed: 6.51,
            },
        }
    }

    /// The speed a vehicle enters the network with (`departSpeed`): the speed limit when it
    /// is below 10 m/s, else 10.
    pub fn depart_speed(&self) -> f64 {
        if self.speed_limit < 10.0 {
            self.speed_limit
        } else {
            10.0
        }
    }
}

/// Signal links (one per incoming lane and movement it serves: 5 per arm).
pub const LINKS: usize = 20;

/// Per signal link, the foes whose way through the junction crosses or joins its own, each
/// as `(foe, at, foe_at)`: the distances (m) along the link's junction lane and along the
/// foe's, from their stop lines, to the point where the two centre lines meet.
///
/// From the net SUMO 1.28's netconvert builds for this intersection (any arm length and speed
/// limit: the junction box is the same): the foes of the junction's `<request>` table and the
/// crossing points of the internal lanes' shapes. netconvert also lists, as foes of each right
/// turn, the two straight links that end on the neighbouring lanes of its exit; their centre
/// lines never meet, so they are left out. A right turn and the straight link that end on the
/// same lane meet where both lanes end. `scripts/traffic/sumo_check.sh -- --crossings` derives
/// the table from a freshly built net.
#[rustfmt::skip]
pub const CROSSINGS: [&[(usize, f64, f64)]; LINKS] = [
    &[(6, 9.03, 33.60)],
    &[(6, 5.60, 28.00), (7, 8.80, 28.00), (8, 12.00, 28.00), (14, 16.00, 24.02), (15, 33.60, 9.03), (16, 28.00, 5.60), (17, 24.80, 5.60), (18, 21.60, 5.60), (19, 17.60, 5.66)],
    &[(6, 5.60, 24.80), (7, 8.80, 24.80), (8, 12.00, 24.80), (14, 16.80, 20.67), (16, 28.00, 8.80), (17, 24.80, 8.80), (18, 21.60, 8.80), (19, 16.80, 9.01)],
    &[(6, 5.60, 21.60), (7, 8.80, 21.60), (8, 12.00, 21.60), (14, 18.72, 16.94), (16, 28.00, 12.00), (17, 24.80, 12.00), (18, 21.60, 12.00), (19, 14.88, 12.74)],
    &[(6, 5.66, 17.60), (7, 9.01, 16.80), (8, 12.74, 14.88), (9, 20.67, 9.01), (11, 24.02, 16.00), (12, 20.67, 16.80), (13, 16.94, 18.72), (19, 9.01, 20.67)],
    &[(11, 9.03, 33.60)],
    &[(0, 33.60, 9.03), (1, 28.00, 5.60), (2, 24.80, 5.60), (3, 21.60, 5.60), (4, 17.60, 5.66), (11, 5.60, 28.00), (12, 8.80, 28.00), (13, 12.00, 28.00), (19, 16.00, 24.02)],
    &[(1, 28.00, 8.80), (2, 24.80, 8.80), (3, 21.60, 8.80), (4, 16.80, 9.01), (11, 5.60, 24.80), (12, 8.80, 24.80), (13, 12.00, 24.80), (19, 16.80, 20.67)],
    &[(1, 28.00, 12.00), (2, 24.80, 12.00), (3, 21.60, 12.00), (4, 14.88, 12.74), (11, 5.60, 21.60), (12, 8.80, 21.60), (13, 12.00, 21.60), (19, 18.72, 16.94)],
    &[(4, 9.01, 20.67), (11, 5.66, 17.60), (12, 9.01, 16.80), (13, 12.74, 14.88), (14, 20.67, 9.01), (16, 24.02, 16.00), (17, 20.67, 16.80), (18, 16.94, 18.72)],
    &[(16, 9.03, 33.60)],
    &[(4, 16.00, 24.02), (5, 33.60, 9.03), (6, 28.00, 5.60), (7, 24.80, 5.60), (8, 21.60, 5.60), (9, 17.60, 5.66), (16, 5.60, 28.00), (17, 8.80, 28.00), (18, 12.00, 28.00)],
    &[(4, 16.80, 20.67), (6, 28.00, 8.80), (7, 24.80, 8.80), (8, 21.60, 8.80), (9, 16.80, 9.01), (16, 5.60, 24.80), (17, 8.80, 24.80), (18, 12.00, 24.80)],
    &[(4, 18.72, 16.94), (6, 28.00, 12.00), (7, 24.80, 12.00), (8, 21.60, 12.00), (9, 14.88, 12.74), (16, 5.60, 21.60), (17, 8.80, 21.60), (18, 12.00, 21.60)],
    &[(1, 24.02, 16.00), (2, 20.67, 16.80), (3, 16.94, 18.72), (9, 9.01, 20.67), (16, 5.66, 17.60), (17, 9.01, 16.80), (18, 12.74, 14.88), (19, 20.67, 9.01)],
    &[(1, 9.03, 33.60)],
    &[(1, 5.60, 28.00), (2, 8.80, 28.00), (3, 12.00, 28.00), (9, 16.00, 24.02), (10, 33.60, 9.03), (11, 28.00, 5.60), (12, 24.80, 5.60), (13, 21.60, 5.60), (14, 17.60, 5.66)],
    &[(1, 5.60, 24.80), (2, 8.80, 24.80), (3, 12.00, 24.80), (9, 16.80, 20.67), (11, 28.00, 8.80), (12, 24.80, 8.80), (13, 21.60, 8.80), (14, 16.80, 9.01)],
    &[(1, 5.60, 21.60), (2, 8.80, 21.60), (3, 12.00, 21.60), (9, 18.72, 16.94), (11, 28.00, 12.00), (12, 24.80, 12.00), (13, 21.60, 12.00), (14, 14.88, 12.74)],
    &[(1, 5.66, 17.60), (2, 9.01, 16.80), (3, 12.74, 14.88), (4, 20.67, 9.01), (6, 24.02, 16.00), (7, 20.67, 16.80), (8, 16.94, 18.72), (14, 9.01, 20.67)],
];

/// Per signal link, the foe links it must give way to (bit `f` set: the link yields to link
/// `f`): the `response` strings of the junction's `<request>` table in the net SUMO 1.28's
/// netconvert builds for this intersection. The table ranks the north–south road first: N and
/// S straight and right turns yield to no one. SUMO's lights override it at the stop lines;
/// inside the box mbtl uses it to break ties between two stopped cars
/// ([`crate::sim::Junction::Priority`]). `scripts/traffic/sumo_check.sh -- --responses`
/// derives it from a freshly built net.
#[rustfmt::skip]
pub const RESPONSES: [u32; LINKS] = [
    0b00000000000000000000,
    0b00000000000000000000,
    0b00000000000000000000,
    0b00000000000000000000,
    0b00000011100000000000,
    0b00000011100000000000,
    0b00000011100000011111,
    0b00000011100000011111,
    0b00000011100000011111,
    0b01110111100000010000,
    0b00000000000000000000,
    0b00000000000000000000,
    0b00000000000000000000,
    0b00000000000000000000,
    0b00000000000000001110,
    0b00000000000000001110,
    0b00000111110000001110,
    0b00000111110000001110,
    0b00000111110000001110,
    0b00000100000111011110,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_is_lane_movements() {
        for lane in 0..LANES {
            for m in [Movement::Right, Movement::Straight, Movement::Left] {
                assert_eq!(
                    serves(lane, m),
                    lane_movements(lane).contains(&m),
                    "{lane} {m:?}"
                );
            }
        }
    }

    #[test]
    fn movements_follow_the_spec_table() {
        use Approach::{East as E, North as N, South as S, West as W};
        // §1.2 "movements in route terms".
        for (from, right, straight, left) in
            [(N, W, S, E), (E, N, W, S), (S, E, N, W), (W, S, E, N)]
        {
            assert_eq!(from.exit(Movement::Right), right);
            assert_eq!(from.exit(Movement::Straight), straight);
            assert_eq!(from.exit(Movement::Left), left);
        }
        assert!(routes().iter().all(|r| r.movement().is_some()));
        assert_eq!(Route { from: N, to: N }.movement(), None);
    }

    #[test]
    fn link_indices_cover_0_to_19_once() {
        let mut seen = [0; 20];
        for a in Approach::ALL {
            seen[link_index(a, 0, Movement::Right)] += 1;
            for lane in 0..3 {
                seen[link_index(a, lane, Movement::Straight)] += 1;
            }
            seen[link_index(a, 3, Movement::Left)] += 1;
        }
        assert_eq!(seen, [1; 20]);
        assert_eq!(link_index(Approach::South, 3, Movement::Left), 14);
        assert_eq!(link_index(Approach::West, 1, Movement::Straight), 17);
    }

    #[test]
    fn crossings_are_mutual_turn_with_the_arms_and_lie_in_the_box() {
        for (link, row) in CROSSINGS.iter().enumerate() {
            for &(foe, at, foe_at) in *row {
                // Each crossing is listed from both sides, with the two distances swapped.
                assert!(
                    CROSSINGS[foe].contains(&(link, foe_at, at)),
                    "{link} × {foe} listed once"
                );
                // Foes come from other arms, and meet inside both junction lanes.
                assert_ne!(foe / 5, link / 5, "{link} × {foe}");
                let len = |l: usize| match l % 5 {
                    0 => 9.03,
                    4 => 29.67,
                    _ => 33.6,
                };
                assert!(at > 0.0 && at <= len(link) + 0.01, "{link} × {foe} at {at}");
                assert!(
                    foe_at > 0.0 && foe_at <= len(foe) + 0.01,
                    "{foe} at {foe_at}"
                );
            }
            // The junction looks the same from every arm: links 5 apart, foes 5 apart.
            let turned: Vec<_> = CROSSINGS[(link + 5) % LINKS]
                .iter()
                .map(|&(f, a, b)| ((f + LINKS - 5) % LINKS, a, b))
                .collect();
            let mut mine = row.to_vec();
            mine.sort_by_key(|c| c.0);
            let mut turned = turned;
            turned.sort_by_key(|c| c.0);
            assert_eq!(mine, turned, "link {link} turned by one arm");
        }
        // The phases are conflict-free: no two links green together are foes.
        for phase in (0..8).step_by(2) {
            for (link, row) in CROSSINGS.iter().enumerate() {
                for &(foe, _, _) in *row {
                    assert!(
                        !(crate::signal::light(phase, link) == crate::signal::Light::Green
                            && crate::signal::light(phase, foe) == crate::signal::Light::Green),
                        "phase {phase}: {link} and {foe}"
                    );
                }
            }
        }
    }
}
