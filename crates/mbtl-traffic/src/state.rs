//! The state the authors' DQN observes (traffic-signal-spec §3.2): 80 binary cells, 10 distance
//! cells along each of 8 lane groups, 1 where at least one vehicle is (occupancy, not count).
//! Only vehicles on the four incoming edges count; outgoing and junction lanes are ignored.

use crate::network::{Approach, LANES};

/// Cells per lane group and lane groups: 10 × 8 = 80 inputs.
pub const CELLS: usize = 10;
pub const GROUPS: usize = 8;
pub const STATE_DIM: usize = CELLS * GROUPS;

/// Upper bounds of cells 0–8 in metres from the stop line at L = 750 m; they scale with
/// L / 750 (quirk Q13: at L = 50 the first cell is 0.47 m long). Cell 9 is the rest of the arm.
const BOUNDS_750: [f64; CELLS - 1] = [7.0, 14.0, 21.0, 28.0, 40.0, 60.0, 100.0, 160.0, 400.0];

/// The cell of a vehicle `distance` metres before the stop line (front bumper) on an arm of
/// length `arm_length`: the first cell whose bound the distance is strictly below, else cell 9
/// while the distance is at most L; `None` beyond the arm.
pub fn cell(distance: f64, arm_length: f64) -> Option<usize> {
    cell_within(distance, arm_length, &scaled_bounds(arm_length))
}

/// The upper bounds of cells 0–8 on an arm of length `arm_length`.
fn scaled_bounds(arm_length: f64) -> [f64; CELLS - 1] {
    let scale = arm_length / 750.0;
    BOUNDS_750.map(|b| b * scale)
}

/// [`cell`] with the bounds scaled already (once per state, not once per vehicle).
fn cell_within(distance: f64, arm_length: f64, bounds: &[f64; CELLS - 1]) -> Option<usize> {
    match bounds.iter().position(|&b| distance < b) {
        Some(c) => Some(c),
        None if distance <= arm_length => Some(CELLS - 1),
        None => None,
    }
}

/// The lane group of an incoming lane: two per arm in W, N, E, S order, the left-only lane
/// (index 3) apart from the three others.
pub fn group(approach: Approach, lane: usize) -> usize {
    let base = Approach::ALL
        .iter()
        .position(|&a| a == approach)
        .unwrap_or(0);
    2 * base + usize::from(lane == LANES - 1)
}

/// The state from the vehicles on incoming lanes, each as (arm, lane, distance to the stop
/// line).
pub fn encode(
    vehicles: impl IntoIterator<Item = (Approach, usize, f64)>,
    arm_length: f64,
) -> [f32; STATE_DIM] {
    let bounds = scaled_bounds(arm_length);
    let mut s = [0.0f32; STATE_DIM];
    for (approach, lane, distance) in vehicles {
        if let Some(c) = cell_within(distance, arm_length, &bounds) {
            s[CELLS * group(approach, lane) + c] = 1.0;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_follow_the_spec_bounds_strictly() {
        assert_eq!(cell(0.0, 750.0), Some(0));
        assert_eq!(cell(6.99, 750.0), Some(0));
        assert_eq!(cell(7.0, 750.0), Some(1));
        assert_eq!(cell(399.0, 750.0), Some(8));
        assert_eq!(cell(400.0, 750.0), Some(9));
        assert_eq!(cell(750.0, 750.0), Some(9));
        assert_eq!(cell(750.1, 750.0), None);
        // Scaled with the arm: at L = 1500 the first cell is 14 m long.
        assert_eq!(cell(13.0, 1500.0), Some(0));
        assert_eq!(cell(0.5, 50.0), Some(1));
    }

    #[test]
    fn groups_put_the_left_lane_apart() {
        assert_eq!(group(Approach::West, 0), 0);
        assert_eq!(group(Approach::West, 2), 0);
        assert_eq!(group(Approach::West, 3), 1);
        assert_eq!(group(Approach::South, 3), 7);
        let s = encode(
            [
                (Approach::North, 1, 3.0),
                (Approach::North, 2, 5.0),
                (Approach::East, 3, 500.0),
            ],
            750.0,
        );
        assert_eq!(s.iter().sum::<f32>(), 2.0, "occupancy, not count");
        assert_eq!(s[20], 1.0);
        assert_eq!(s[59], 1.0);
    }
}
