//! The vehicles of one episode (traffic-signal-spec §2): departure times from a Weibull(2)
//! profile stretched over the episode, and a route per vehicle, drawn from NumPy's legacy
//! generator seeded with the episode's seed, so that the list is bit for bit the one in the
//! authors' route files (training episode e uses seed e, transfer episode e seed 10000 + e).

use crate::network::{Approach, Route};
use crate::{TrafficError, EPISODE_STEPS};
use mbtl_rng::RandomState;
use std::fmt::Write as _;

/// The share of turning vehicles in every MBTL run. The authors call it `left_turn`, but it is
/// the total turning share: half turn left, half right (§2.2, Q11).
pub const TURN_SHARE: f64 = 0.25;

/// One vehicle: its index in departure order (its id is `<route>_<index>`), departure step
/// and route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vehicle {
    pub index: usize,
    /// Departure time in seconds, a whole number (NumPy's `rint` of the rescaled draw).
    pub depart: f64,
    pub route: Route,
}

impl Vehicle {
    /// The SUMO id, e.g. `S_N_0`. Ids repeat across episodes, as in the authors' files.
    pub fn id(&self) -> String {
        format!("{}_{}", self.route.id(), self.index)
    }
}

/// The straight routes in the order `randint(1, 5)` picks them (1 → W_E … 4 → S_N).
const STRAIGHT: [(Approach, Approach); 4] = [
    (Approach::West, Approach::East),
    (Approach::East, Approach::West),
    (Approach::North, Approach::South),
    (Approach::South, Approach::North),
];
/// The turning routes in the order `randint(1, 9)` picks them (1 → W_N … 8 → S_E).
const TURNING: [(Approach, Approach); 8] = [
    (Approach::West, Approach::North),
    (Approach::West, Approach::South),
    (Approach::North, Approach::West),
    (Approach::North, Approach::East),
    (Approach::East, Approach::North),
    (Approach::East, Approach::South),
    (Approach::South, Approach::West),
    (Approach::South, Approach::East),
];

/// The `cars` vehicles of the episode with route seed `seed`, in departure order.
///
/// Departures: `cars` Weibull(2) draws, sorted; with `lo = floor(t[1])` (the *second*
/// smallest, the authors' quirk Q10) and `hi = ceil(t[n−1])`, each becomes
/// `rint(5400 / (hi − lo) · (t − hi) + 5400)`, rounding half to even as NumPy. Routes are drawn
/// afterwards, one per vehicle in departure order: a uniform draw below `1 − turn_share` picks
/// a straight route with `randint(1, 5)`, otherwise a turning one with `randint(1, 9)`.
pub fn generate(seed: u32, cars: usize, turn_share: f64) -> Result<Vec<Vehicle>, TrafficError> {
    check_cars(cars)?;
    if !(0.0..=1.0).contains(&turn_share) {
        return Err(TrafficError::Context {
            name: "turn_share",
            value: turn_share,
            requirement: "a share lies in [0, 1]",
        });
    }
    let mut rng = RandomState::new(seed);
    let mut t: Vec<f64> = (0..cars).map(|_| rng.weibull(2.0)).collect();
    t.sort_by(f64::total_cmp);
    let lo = t[1].floor();
    let hi = t[cars - 1].ceil();
    let span = f64::from(EPISODE_STEPS);
    // hi > lo always: hi ≥ t[n−1] ≥ t[1] ≥ lo, and equality would need an integral draw
    // that is both the maximum and the second smallest; guarded all the same.
    let scale = if hi > lo { span / (hi - lo) } else { 0.0 };
    let mut vehicles = Vec::with_capacity(cars);
    for (index, &ti) in t.iter().enumerate() {
        let depart = (scale * (ti - hi) + span).round_ties_even();
        let (from, to) = if rng.uniform(0.0, 1.0) < 1.0 - turn_share {
            STRAIGHT[(rng.randint_range(1, 5) - 1) as usize]
        } else {
            TURNING[(rng.randint_range(1, 9) - 1) as usize]
        };
        vehicles.push(Vehicle {
            index,
            depart,
            route: Route { from, to },
        });
    }
    Ok(vehicles)
}

/// An episode needs at least 2 vehicles: the rescaling reads the second-smallest draw (NumPy
/// would raise an IndexError).
pub(crate) fn check_cars(cars: usize) -> Result<(), TrafficError> {
    if cars < 2 {
        return Err(TrafficError::Context {
            name: "cars",
            value: cars as f64,
            requirement: "an episode needs at least 2 vehicles",
        });
    }
    Ok(())
}

/// The vehicle type of every car (§2.4): SUMO's default Krauss model with these parameters;
/// `speedFactor` norm(1, 0) makes every car drive exactly at the limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VehicleType {
    pub accel: f64,
    pub decel: f64,
    pub length: f64,
    pub min_gap: f64,
    pub max_speed: f64,
    /// Krauss's dawdling: each step a car may fall short of its safe speed by up to
    /// `sigma · accel · dt`.
    pub sigma: f64,
    /// SUMO's default reaction time τ (not written in the files).
    pub tau: f64,
    /// SUMO's default emergency deceleration (not written in the files).
    pub emergency_decel: f64,
}

/// The authors' `standard_car`.
pub const STANDARD_CAR: VehicleType = VehicleType {
    accel: 1.0,
    decel: 4.5,
    length: 5.0,
    min_gap: 2.5,
    max_speed: 25.0,
    sigma: 0.5,
    tau: 1.0,
    emergency_decel: 9.0,
};

/// A SUMO route file (`.rou.xml`) for `vehicles`: the vehicle type, the 12 routes and one
/// `vehicle` element per car with `departLane="random"` and the context's departure speed
/// (written `%f`-style with 6 decimals, departures `%s`-style, e.g. `66.0`, as the authors'
/// files). The same demand then runs in SUMO and in mbtl's simulator.
pub fn route_file(vehicles: &[Vehicle], depart_speed: f64) -> String {
    let c = STANDARD_CAR;
    let mut s = String::from("<routes>\n");
    let _ = writeln!(
        s,
        "    <vType id=\"standard_car\" accel=\"{:?}\" decel=\"{:?}\" length=\"{:?}\" minGap=\"{:?}\" maxSpeed=\"{}\" sigma=\"{:?}\" speedFactor=\"norm(1,0)\"/>",
        c.accel, c.decel, c.length, c.min_gap, c.max_speed, c.sigma
    );
    for r in crate::network::routes() {
        let _ = writeln!(s, "    <route id=\"{}\" edges=\"{}\"/>", r.id(), r.edges());
    }
    for v in vehicles {
        let _ = writeln!(
            s,
            "    <vehicle id=\"{}\" type=\"standard_car\" route=\"{}\" depart=\"{:?}\" departLane=\"random\" departSpeed=\"{depart_speed:.6}\"/>",
            v.id(),
            v.route.id(),
            v.depart
        );
    }
    s.push_str("</routes>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn seed_10000_is_the_authors_shipped_route_file() {
        // traffic-signal-spec §2.3: the test vectors of seed 10000, n = 1000, turn share 0.25
        // (the route file shipped in the authors' repository).
        let v = generate(10_000, 1000, TURN_SHARE).unwrap();
        let departs: Vec<f64> = v.iter().map(|x| x.depart).collect();
        assert_eq!(departs[..5], [66.0, 78.0, 123.0, 124.0, 132.0]);
        assert_eq!(departs[997..], [4377.0, 4409.0, 5319.0]);
        assert_eq!(departs.iter().sum::<f64>(), 1_556_691.0);
        let first: Vec<String> = v[..5].iter().map(|x| x.route.id()).collect();
        assert_eq!(first, ["S_N", "E_W", "W_E", "W_E", "E_W"]);
        let mut counts = BTreeMap::new();
        for x in &v {
            *counts.entry(x.route.id()).or_insert(0) += 1;
        }
        let want = [
            ("E_N", 32),
            ("E_S", 23),
            ("E_W", 201),
            ("N_E", 39),
            ("N_S", 166),
            ("N_W", 34),
            ("S_E", 37),
            ("S_N", 210),
            ("S_W", 30),
            ("W_E", 178),
            ("W_N", 26),
            ("W_S", 24),
        ];
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            want.map(|(k, n)| (k.to_string(), n)).to_vec()
        );
        assert_eq!(v[0].id(), "S_N_0");
    }

    #[test]
    fn seed_0_matches_the_spec() {
        let v = generate(0, 1000, TURN_SHARE).unwrap();
        let departs: Vec<f64> = v.iter().map(|x| x.depart).collect();
        assert_eq!(departs[..3], [42.0, 67.0, 94.0]);
        assert_eq!(departs.iter().sum::<f64>(), 1_591_980.0);
    }

    #[test]
    fn bad_demand_is_refused_with_its_value() {
        let e = generate(0, 1, TURN_SHARE).unwrap_err().to_string();
        assert!(e.contains("cars = 1"), "{e}");
        assert!(generate(0, 100, 1.5).is_err());
    }

    #[test]
    fn route_file_lists_every_vehicle_as_the_authors_write_it() {
        let v = generate(10_000, 1000, TURN_SHARE).unwrap();
        let xml = route_file(&v, 10.0);
        assert_eq!(xml.matches("<vehicle ").count(), 1000);
        assert_eq!(xml.matches("<route ").count(), 12);
        assert!(xml.contains("<route id=\"W_N\" edges=\"W2TL TL2N\"/>"));
        assert!(xml.contains(
            "<vehicle id=\"S_N_0\" type=\"standard_car\" route=\"S_N\" depart=\"66.0\" departLane=\"random\" departSpeed=\"10.000000\"/>"
        ));
        assert!(xml.contains("accel=\"1.0\" decel=\"4.5\" length=\"5.0\" minGap=\"2.5\" maxSpeed=\"25\" sigma=\"0.5\""));
    }
}
