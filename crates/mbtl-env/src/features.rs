//! The context features of every environment, per semantics: names, defaults, declared bounds
//! and what each one does. Numbers follow envs-spec.md §3.3 (CARL 1.1.1; ConfigSpace rounds
//! defaults and bounds to 13 decimals, hence the Acrobot velocity literals).
//!
//! Each environment's features are written once, as rows: a feature has one name and one
//! pair of bounds, and per semantics a default and an effect, or no entry where that semantics
//! lacks it (Pendulum's dead `gravity` exists only under `carl`). The per-semantics tables are
//! the rows in order with the other semantics' features left out; that order is the order in
//! which contexts store their values and policies observe them.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::context::Semantics;
use crate::kind::EnvKind;
use crate::spec::FeatureSpec;

const INF: f64 = f64::INFINITY;

/// π as ConfigSpace stores it (rounded to 13 decimals): CARL's default, not `std::f64::consts::PI`.
#[allow(clippy::approx_constant)]
const CARL_PI: f64 = 3.1415926535898;

/// One feature: name and bounds, then (default, effect) under `carl` and under `physical`.
struct Row {
    name: &'static str,
    lower: f64,
    upper: f64,
    carl: Option<(f64, &'static str)>,
    physical: Option<(f64, &'static str)>,
}

/// A feature whose default and effect differ between the semantics, or that only one has.
const fn row(
    name: &'static str,
    lower: f64,
    upper: f64,
    carl: Option<(f64, &'static str)>,
    physical: Option<(f64, &'static str)>,
) -> Row {
    Row {
        name,
        lower,
        upper,
        carl,
        physical,
    }
}

/// A feature that is the same under both semantics.
const fn same(
    name: &'static str,
    default: f64,
    lower: f64,
    upper: f64,
    effect: &'static str,
) -> Row {
    row(
        name,
        lower,
        upper,
        Some((default, effect)),
        Some((default, effect)),
    )
}

const CARTPOLE: &[Row] = &[
    same("gravity", 9.8, 0.1, INF, "g"),
    row(
        "masscart",
        0.1,
        10.0,
        Some((1.0, "none: CARL never recomputes total mass (stays 1.1)")),
        Some((1.0, "cart mass: total mass M = m_c + m_p")),
    ),
    row(
        "masspole",
        0.01,
        1.0,
        Some((0.1, "only the m_p·cos²θ/M term of the angular denominator")),
        Some((0.1, "pole mass: M = m_c + m_p and m_p·l")),
    ),
    row(
        "length",
        0.05,
        5.0,
        Some((
            0.5,
            "only the l factor of the angular denominator (m_p·l stays 0.05)",
        )),
        Some((0.5, "half pole length: every l, including m_p·l")),
    ),
    same("force_mag", 10.0, 1.0, 100.0, "push force"),
    same("tau", 0.02, 0.002, 0.2, "Euler time step"),
    row(
        "initial_state_lower",
        -INF,
        INF,
        Some((-0.1, "reset: state ~ U(lower, upper)^4")),
        Some((-0.05, "reset: state ~ U(lower, upper)^4 (gymnasium range)")),
    ),
    row(
        "initial_state_upper",
        -INF,
        INF,
        Some((0.1, "reset: state ~ U(lower, upper)^4")),
        Some((0.05, "reset: state ~ U(lower, upper)^4 (gymnasium range)")),
    ),
];

const PENDULUM: &[Row] = &[
    row(
        "gravity",
        -INF,
        INF,
        Some((8.0, "none: the dynamics read g")),
        None,
    ),
    same("dt", 0.05, 0.0, INF, "time step"),
    same("g", 10.0, 0.0, INF, "gravitational acceleration"),
    same("m", 1.0, 1e-6, INF, "mass"),
    same("l", 1.0, 1e-6, INF, "length"),
    row(
        "max_speed",
        0.0,
        INF,
        None,
        Some((
            8.0,
            "angular velocity clip (a CARL 0.x feature, swept by MBTL)",
        )),
    ),
    row("max_torque", 0.0, INF, None, Some((2.0, "torque clip"))),
    row(
        "initial_angle_max",
        0.0,
        INF,
        Some((CARL_PI, "reset: theta ~ U(0, max), stored as f32")),
        Some((std::f64::consts::PI, "reset: theta ~ U(-max, max)")),
    ),
    row(
        "initial_velocity_max",
        0.0,
        INF,
        Some((1.0, "reset: theta_dot ~ U(0, max), stored as f32")),
        Some((1.0, "reset: theta_dot ~ U(-max, max)")),
    ),
];

const MOUNTAINCAR: &[Row] = &[
    same("min_position", -1.2, -INF, INF, "left wall"),
    same("max_position", 0.6, -INF, INF, "right wall"),
    same("max_speed", 0.07, 0.0, INF, "velocity clip"),
    row(
        "goal_position",
        -INF,
        INF,
        Some((0.45, "goal (CARL default 0.45; gymnasium 0.5)")),
        Some((0.5, "goal (gymnasium default)")),
    ),
    same(
        "goal_velocity",
        0.0,
        -INF,
        INF,
        "minimum velocity at the goal",
    ),
    same("force", 0.001, -INF, INF, "engine force"),
    same("gravity", 0.0025, 0.0, INF, "gravity"),
    same(
        "min_position_start",
        -0.6,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    same(
        "max_position_start",
        -0.4,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    same(
        "min_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
    same(
        "max_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
];

const MOUNTAINCARCONTINUOUS: &[Row] = &[
    same("min_position", -1.2, -INF, INF, "left wall"),
    same("max_position", 0.6, -INF, INF, "right wall"),
    same("max_speed", 0.07, 0.0, INF, "velocity clip"),
    row(
        "goal_position",
        -INF,
        INF,
        Some((0.5, "goal (CARL default 0.5; gymnasium 0.45)")),
        Some((0.45, "goal (gymnasium default)")),
    ),
    same(
        "goal_velocity",
        0.0,
        -INF,
        INF,
        "minimum velocity at the goal",
    ),
    same("power", 0.0015, -INF, INF, "engine power"),
    row(
        "gravity",
        0.0,
        INF,
        None,
        Some((
            0.0025,
            "gravity (a literal in gymnasium, so not a CARL feature)",
        )),
    ),
    same(
        "min_position_start",
        -0.6,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    same(
        "max_position_start",
        -0.4,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    same(
        "min_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
    same(
        "max_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
];

const ACROBOT: &[Row] = &[
    row(
        "LINK_LENGTH_1",
        0.1,
        10.0,
        Some((1.0, "l1")),
        Some((1.0, "l1, in the dynamics and the goal height")),
    ),
    row(
        "LINK_LENGTH_2",
        0.1,
        10.0,
        Some((1.0, "none: rendering only")),
        Some((1.0, "l2: the tip height that ends the episode")),
    ),
    same("LINK_MASS_1", 1.0, 0.1, 10.0, "m1"),
    same("LINK_MASS_2", 1.0, 0.1, 10.0, "m2"),
    same("LINK_COM_POS_1", 0.5, 0.0, 1.0, "lc1 (absolute)"),
    same("LINK_COM_POS_2", 0.5, 0.0, 1.0, "lc2 (absolute)"),
    same("LINK_MOI", 1.0, 0.1, 10.0, "I1 = I2"),
    same(
        "MAX_VEL_1",
        12.5663706143592,
        1.2566370614359,
        125.6637061435917,
        "velocity clip 1",
    ),
    same(
        "MAX_VEL_2",
        28.2743338823081,
        2.8274333882308,
        282.7433388230814,
        "velocity clip 2",
    ),
    same(
        "torque_noise_max",
        0.0,
        -1.0,
        1.0,
        "torque noise U(-n, n) when n > 0",
    ),
    same(
        "INITIAL_ANGLE_LOWER",
        -0.1,
        -INF,
        INF,
        "reset: angles ~ U(lower, upper)",
    ),
    same(
        "INITIAL_ANGLE_UPPER",
        0.1,
        -INF,
        INF,
        "reset: angles ~ U(lower, upper)",
    ),
    same(
        "INITIAL_VELOCITY_LOWER",
        -0.1,
        -INF,
        INF,
        "reset: velocities ~ U(lower, upper)",
    ),
    same(
        "INITIAL_VELOCITY_UPPER",
        0.1,
        -INF,
        INF,
        "reset: velocities ~ U(lower, upper)",
    ),
];

fn rows(kind: EnvKind) -> &'static [Row] {
    match kind {
        EnvKind::CartPole => CARTPOLE,
        EnvKind::Pendulum => PENDULUM,
        EnvKind::MountainCar => MOUNTAINCAR,
        EnvKind::MountainCarContinuous => MOUNTAINCARCONTINUOUS,
        EnvKind::Acrobot => ACROBOT,
    }
}

fn table(kind: EnvKind, semantics: Semantics) -> Vec<FeatureSpec> {
    rows(kind)
        .iter()
        .filter_map(|r| {
            let (default, effect) = match semantics {
                Semantics::Carl => r.carl,
                Semantics::Physical => r.physical,
            }?;
            Some(FeatureSpec {
                name: Cow::Borrowed(r.name),
                default,
                lower: r.lower,
                upper: r.upper,
                effect: Cow::Borrowed(effect),
            })
        })
        .collect()
}

/// Every (environment, semantics) table, built once from the rows.
static TABLES: LazyLock<Vec<[Vec<FeatureSpec>; 2]>> = LazyLock::new(|| {
    EnvKind::ALL
        .iter()
        .map(|&k| [table(k, Semantics::Carl), table(k, Semantics::Physical)])
        .collect()
});

/// The feature table of `kind` under `semantics`, in the order contexts store their values.
pub fn features(kind: EnvKind, semantics: Semantics) -> &'static [FeatureSpec] {
    let k = EnvKind::ALL.iter().position(|&e| e == kind).unwrap_or(0);
    let s = match semantics {
        Semantics::Carl => 0,
        Semantics::Physical => 1,
    };
    &TABLES[k][s]
}

/// Position of `name` in the feature table, if the environment has it.
pub fn feature_index(kind: EnvKind, semantics: Semantics, name: &str) -> Option<usize> {
    features(kind, semantics)
        .iter()
        .position(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_lie_within_bounds_and_names_are_unique() {
        for kind in EnvKind::ALL {
            for sem in [Semantics::Carl, Semantics::Physical] {
                let table = features(kind, sem);
                for (i, spec) in table.iter().enumerate() {
                    assert!(
                        spec.lower <= spec.default && spec.default <= spec.upper,
                        "{kind} {}",
                        spec.name
                    );
                    assert!(
                        table[..i].iter().all(|o| o.name != spec.name),
                        "{kind} dup {}",
                        spec.name
                    );
                }
            }
        }
    }

    #[test]
    fn carl_goal_defaults_are_swapped_relative_to_gymnasium() {
        let goal = |k, s| features(k, s)[feature_index(k, s, "goal_position").unwrap()].default;
        assert_eq!(goal(EnvKind::MountainCar, Semantics::Carl), 0.45);
        assert_eq!(goal(EnvKind::MountainCar, Semantics::Physical), 0.5);
        assert_eq!(goal(EnvKind::MountainCarContinuous, Semantics::Carl), 0.5);
        assert_eq!(
            goal(EnvKind::MountainCarContinuous, Semantics::Physical),
            0.45
        );
    }
}
