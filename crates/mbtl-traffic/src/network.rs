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
}
