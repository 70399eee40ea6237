//! The traffic light (traffic-signal-spec §1.4, §3.1, §3.3): a static program of 8 phases over
//! the 20 links of [`crate::network::link_index`], of which the RL agent only ever sets the four
//! green phases and the yellow that follows a change.

/// The state strings of the 8 phases, one character per link (`G` green, `y` yellow, `r` red).
/// Phase 2a is action a's green, 2a + 1 its yellow.
pub const PHASES: [&str; 8] = [
    "GGGGrrrrrrGGGGrrrrrr", // 0: N and S, right + straight
    "yyyyrrrrrryyyyrrrrrr",
    "rrrrGrrrrrrrrrGrrrrr", // 2: N and S, left
    "rrrryrrrrrrrrryrrrrr",
    "rrrrrGGGGrrrrrrGGGGr", // 4: E and W, right + straight
    "rrrrryyyyrrrrrryyyyr",
    "rrrrrrrrrGrrrrrrrrrG", // 6: E and W, left
    "rrrrrrrrryrrrrrrrrry",
];

/// Length of every phase of the net's own static program (yellows included), in seconds: the
/// fixed-time baseline of §7.2, never used under RL control.
pub const STATIC_PHASE_SECONDS: u32 = 100;
/// Green time per decision (`green_duration`).
pub const GREEN_SECONDS: u32 = 10;
/// Yellow time between two different actions (`yellow_duration`).
pub const YELLOW_SECONDS: u32 = 4;
/// The number of actions (green phases).
pub const ACTIONS: usize = 4;

/// A link's signal in a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Light {
    Green,
    Yellow,
    Red,
}

/// The signal of `link` (0..20) in `phase` (0..8).
pub fn light(phase: usize, link: usize) -> Light {
    match PHASES[phase].as_bytes()[link] {
        b'G' => Light::Green,
        b'y' => Light::Yellow,
        _ => Light::Red,
    }
}

/// The green phase of an action.
pub fn green_phase(action: usize) -> usize {
    2 * action
}

/// The yellow phase shown after `action`'s green when the next action differs.
pub fn yellow_phase(action: usize) -> usize {
    2 * action + 1
}

/// The phases one decision shows, with their durations, before clipping to the episode's end:
/// the previous action's yellow for 4 s if the action changed (not at the first decision),
/// then the new green for 10 s (a repeated action extends the green with no yellow).
pub fn decision_phases(previous: Option<usize>, action: usize) -> Vec<(usize, u32)> {
    let mut out = Vec::with_capacity(2);
    if let Some(p) = previous {
        if p != action {
            out.push((yellow_phase(p), YELLOW_SECONDS));
        }
    }
    out.push((green_phase(action), GREEN_SECONDS));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{link_index, Approach, Movement};

    #[test]
    fn each_green_serves_exactly_its_movements() {
        use Approach::{East, North, South, West};
        let served = |phase: usize| -> Vec<usize> {
            (0..20)
                .filter(|&l| light(phase, l) == Light::Green)
                .collect()
        };
        let mut ns: Vec<usize> = [North, South]
            .into_iter()
            .flat_map(|a| {
                let mut v = vec![link_index(a, 0, Movement::Right)];
                v.extend((0..3).map(|lane| link_index(a, lane, Movement::Straight)));
                v
            })
            .collect();
        ns.sort_unstable();
        assert_eq!(served(0), ns);
        assert_eq!(
            served(2),
            vec![
                link_index(North, 3, Movement::Left),
                link_index(South, 3, Movement::Left)
            ]
        );
        assert_eq!(
            served(6),
            vec![
                link_index(East, 3, Movement::Left),
                link_index(West, 3, Movement::Left)
            ]
        );
        // Each yellow shows yellow exactly where its green showed green.
        for a in 0..ACTIONS {
            for l in 0..20 {
                assert_eq!(
                    light(green_phase(a), l) == Light::Green,
                    light(yellow_phase(a), l) == Light::Yellow
                );
            }
        }
    }

    #[test]
    fn a_change_costs_a_yellow_and_a_repeat_does_not() {
        assert_eq!(decision_phases(None, 2), vec![(4, 10)]);
        assert_eq!(decision_phases(Some(2), 2), vec![(4, 10)]);
        assert_eq!(decision_phases(Some(2), 0), vec![(5, 4), (0, 10)]);
    }
}
