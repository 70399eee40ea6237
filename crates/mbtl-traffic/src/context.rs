//! The three contexts of the traffic benchmark (traffic-signal-spec §5) and the authors' 50-task
//! grids. The other two stay at their defaults while one varies.

use crate::network::Intersection;
use crate::TrafficError;

/// One task of the family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrafficContext {
    /// Vehicles per 5400-s episode (the "inflow").
    pub cars: usize,
    /// Speed limit of the approach and exit lanes and the straight junction lanes (m/s).
    pub speed_limit: f64,
    /// Length of each arm (m).
    pub arm_length: f64,
}

impl Default for TrafficContext {
    /// The authors' defaults: 1000 cars, 14 m/s, 750 m.
    fn default() -> Self {
        TrafficContext {
            cars: 1000,
            speed_limit: 14.0,
            arm_length: 750.0,
        }
    }
}

/// Which feature a grid varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    Inflow,
    SpeedLimit,
    ArmLength,
}

/// Tasks per grid.
pub const GRID_TASKS: usize = 50;

impl TrafficContext {
    /// Task `i` (0-based) of the authors' 50-task grid for `feature`: 50·(i+1) cars,
    /// 0.5·(i+1) m/s or 50·(i+1) m.
    pub fn grid(feature: Feature, i: usize) -> TrafficContext {
        let k = (i + 1) as f64;
        let mut c = TrafficContext::default();
        match feature {
            Feature::Inflow => c.cars = 50 * (i + 1),
            Feature::SpeedLimit => c.speed_limit = 0.5 * k,
            Feature::ArmLength => c.arm_length = 50.0 * k,
        }
        c
    }

    /// Checks the values the scenario can simulate.
    pub fn validate(&self) -> Result<(), TrafficError> {
        crate::demand::check_cars(self.cars)?;
        if !(self.speed_limit.is_finite() && self.speed_limit > 0.0) {
            return Err(TrafficError::Context {
                name: "speed_limit",
                value: self.speed_limit,
                requirement: "a positive speed in m/s",
            });
        }
        // The state's cells and the insertion of a 5-m car need some arm beyond the junction.
        if !(self.arm_length.is_finite() && self.arm_length >= 20.0) {
            return Err(TrafficError::Context {
                name: "arm_length",
                value: self.arm_length,
                requirement: "at least 20 m",
            });
        }
        Ok(())
    }

    /// `KEY=VALUE,...` with keys `cars`, `speed` (m/s) and `length` (m); keys left out keep
    /// the authors' defaults. The result is validated.
    pub fn parse(text: &str) -> Result<TrafficContext, TrafficError> {
        let mut c = TrafficContext::default();
        for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
            let syntax = |reason: &'static str| TrafficError::ContextSyntax {
                pair: pair.to_string(),
                reason,
            };
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| syntax("expected KEY=VALUE"))?;
            let x: f64 = v
                .trim()
                .parse()
                .map_err(|_| syntax("the value is not a number"))?;
            match k.trim() {
                "cars" => {
                    if x.fract() != 0.0 || !(0.0..=1e7).contains(&x) {
                        return Err(syntax("cars is a whole number of vehicles"));
                    }
                    c.cars = x as usize;
                }
                "speed" => c.speed_limit = x,
                "length" => c.arm_length = x,
                _ => return Err(syntax("keys are cars, speed and length")),
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// The intersection this context simulates.
    pub fn intersection(&self) -> Intersection {
        Intersection {
            arm_length: self.arm_length,
            speed_limit: self.speed_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_are_the_authors() {
        assert_eq!(TrafficContext::grid(Feature::Inflow, 0).cars, 50);
        assert_eq!(TrafficContext::grid(Feature::Inflow, 49).cars, 2500);
        assert_eq!(
            TrafficContext::grid(Feature::SpeedLimit, 27).speed_limit,
            14.0
        );
        assert_eq!(
            TrafficContext::grid(Feature::ArmLength, 14).arm_length,
            750.0
        );
        let c = TrafficContext::grid(Feature::SpeedLimit, 0);
        assert_eq!((c.cars, c.arm_length), (1000, 750.0));
        assert_eq!(c.intersection().depart_speed(), 0.5);
        for f in [Feature::Inflow, Feature::SpeedLimit, Feature::ArmLength] {
            for i in 0..GRID_TASKS {
                TrafficContext::grid(f, i).validate().unwrap();
            }
        }
        let bad = TrafficContext {
            speed_limit: -1.0,
            ..TrafficContext::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("speed_limit = -1"));
        let c = TrafficContext::parse("cars=500, speed=7.5").unwrap();
        assert_eq!((c.cars, c.speed_limit, c.arm_length), (500, 7.5, 750.0));
        for (text, says) in [
            ("lanes=3", "keys are cars"),
            ("cars=1.5", "whole number"),
            ("speed", "KEY=VALUE"),
            ("length=x", "not a number"),
            ("length=5", "at least 20 m"),
        ] {
            let e = TrafficContext::parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
