//! The context features of every environment, per semantics: names, defaults, declared bounds
//! and what each one does. Numbers follow envs-spec.md §3.3 (CARL 1.1.1; ConfigSpace rounds
//! defaults and bounds to 13 decimals, hence the Acrobot velocity literals).

use std::borrow::Cow;

use crate::context::Semantics;
use crate::kind::EnvKind;
use crate::spec::FeatureSpec;

const INF: f64 = f64::INFINITY;

/// π as ConfigSpace stores it (rounded to 13 decimals): CARL's default, not `std::f64::consts::PI`.
#[allow(clippy::approx_constant)]
const CARL_PI: f64 = 3.1415926535898;

const fn f(
    name: &'static str,
    default: f64,
    lower: f64,
    upper: f64,
    effect: &'static str,
) -> FeatureSpec {
    FeatureSpec {
        name: Cow::Borrowed(name),
        default,
        lower,
        upper,
        effect: Cow::Borrowed(effect),
    }
}

const CARTPOLE_CARL: &[FeatureSpec] = &[
    f("gravity", 9.8, 0.1, INF, "g"),
    f(
        "masscart",
        1.0,
        0.1,
        10.0,
        "none: CARL never recomputes total mass (stays 1.1)",
    ),
    f(
        "masspole",
        0.1,
        0.01,
        1.0,
        "only the m_p·cos²θ/M term of the angular denominator",
    ),
    f(
        "length",
        0.5,
        0.05,
        5.0,
        "only the l factor of the angular denominator (m_p·l stays 0.05)",
    ),
    f("force_mag", 10.0, 1.0, 100.0, "push force"),
    f("tau", 0.02, 0.002, 0.2, "Euler time step"),
    f(
        "initial_state_lower",
        -0.1,
        -INF,
        INF,
        "reset: state ~ U(lower, upper)^4",
    ),
    f(
        "initial_state_upper",
        0.1,
        -INF,
        INF,
        "reset: state ~ U(lower, upper)^4",
    ),
];

const CARTPOLE_PHYSICAL: &[FeatureSpec] = &[
    f("gravity", 9.8, 0.1, INF, "g"),
    f(
        "masscart",
        1.0,
        0.1,
        10.0,
        "cart mass: total mass M = m_c + m_p",
    ),
    f(
        "masspole",
        0.1,
        0.01,
        1.0,
        "pole mass: M = m_c + m_p and m_p·l",
    ),
    f(
        "length",
        0.5,
        0.05,
        5.0,
        "half pole length: every l, including m_p·l",
    ),
    f("force_mag", 10.0, 1.0, 100.0, "push force"),
    f("tau", 0.02, 0.002, 0.2, "Euler time step"),
    f(
        "initial_state_lower",
        -0.05,
        -INF,
        INF,
        "reset: state ~ U(lower, upper)^4 (gymnasium range)",
    ),
    f(
        "initial_state_upper",
        0.05,
        -INF,
        INF,
        "reset: state ~ U(lower, upper)^4 (gymnasium range)",
    ),
];

const PENDULUM_CARL: &[FeatureSpec] = &[
    f("gravity", 8.0, -INF, INF, "none: the dynamics read g"),
    f("dt", 0.05, 0.0, INF, "time step"),
    f("g", 10.0, 0.0, INF, "gravitational acceleration"),
    f("m", 1.0, 1e-6, INF, "mass"),
    f("l", 1.0, 1e-6, INF, "length"),
    f(
        "initial_angle_max",
        CARL_PI,
        0.0,
        INF,
        "reset: theta ~ U(0, max), stored as f32",
    ),
    f(
        "initial_velocity_max",
        1.0,
        0.0,
        INF,
        "reset: theta_dot ~ U(0, max), stored as f32",
    ),
];

const PENDULUM_PHYSICAL: &[FeatureSpec] = &[
    f("dt", 0.05, 0.0, INF, "time step"),
    f("g", 10.0, 0.0, INF, "gravitational acceleration"),
    f("m", 1.0, 1e-6, INF, "mass"),
    f("l", 1.0, 1e-6, INF, "length"),
    f(
        "max_speed",
        8.0,
        0.0,
        INF,
        "angular velocity clip (a CARL 0.x feature, swept by MBTL)",
    ),
    f("max_torque", 2.0, 0.0, INF, "torque clip"),
    f(
        "initial_angle_max",
        std::f64::consts::PI,
        0.0,
        INF,
        "reset: theta ~ U(-max, max)",
    ),
    f(
        "initial_velocity_max",
        1.0,
        0.0,
        INF,
        "reset: theta_dot ~ U(-max, max)",
    ),
];

const MOUNTAINCAR_CARL: &[FeatureSpec] = &[
    f("min_position", -1.2, -INF, INF, "left wall"),
    f("max_position", 0.6, -INF, INF, "right wall"),
    f("max_speed", 0.07, 0.0, INF, "velocity clip"),
    f(
        "goal_position",
        0.45,
        -INF,
        INF,
        "goal (CARL default 0.45; gymnasium 0.5)",
    ),
    f(
        "goal_velocity",
        0.0,
        -INF,
        INF,
        "minimum velocity at the goal",
    ),
    f("force", 0.001, -INF, INF, "engine force"),
    f("gravity", 0.0025, 0.0, INF, "gravity"),
    f(
        "min_position_start",
        -0.6,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    f(
        "max_position_start",
        -0.4,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    f(
        "min_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
    f(
        "max_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
];

const MOUNTAINCAR_PHYSICAL: &[FeatureSpec] = &[
    f("min_position", -1.2, -INF, INF, "left wall"),
    f("max_position", 0.6, -INF, INF, "right wall"),
    f("max_speed", 0.07, 0.0, INF, "velocity clip"),
    f("goal_position", 0.5, -INF, INF, "goal (gymnasium default)"),
    f(
        "goal_velocity",
        0.0,
        -INF,
        INF,
        "minimum velocity at the goal",
    ),
    f("force", 0.001, -INF, INF, "engine force"),
    f("gravity", 0.0025, 0.0, INF, "gravity"),
    f(
        "min_position_start",
        -0.6,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    f(
        "max_position_start",
        -0.4,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    f(
        "min_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
    f(
        "max_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
];

const MOUNTAINCARCONTINUOUS_CARL: &[FeatureSpec] = &[
    f("min_position", -1.2, -INF, INF, "left wall"),
    f("max_position", 0.6, -INF, INF, "right wall"),
    f("max_speed", 0.07, 0.0, INF, "velocity clip"),
    f(
        "goal_position",
        0.5,
        -INF,
        INF,
        "goal (CARL default 0.5; gymnasium 0.45)",
    ),
    f(
        "goal_velocity",
        0.0,
        -INF,
        INF,
        "minimum velocity at the goal",
    ),
    f("power", 0.0015, -INF, INF, "engine power"),
    f(
        "min_position_start",
        -0.6,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    f(
        "max_position_start",
        -0.4,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    f(
        "min_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
    f(
        "max_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
];

const MOUNTAINCARCONTINUOUS_PHYSICAL: &[FeatureSpec] = &[
    f("min_position", -1.2, -INF, INF, "left wall"),
    f("max_position", 0.6, -INF, INF, "right wall"),
    f("max_speed", 0.07, 0.0, INF, "velocity clip"),
    f("goal_position", 0.45, -INF, INF, "goal (gymnasium default)"),
    f(
        "goal_velocity",
        0.0,
        -INF,
        INF,
        "minimum velocity at the goal",
    ),
    f("power", 0.0015, -INF, INF, "engine power"),
    f(
        "gravity",
        0.0025,
        0.0,
        INF,
        "gravity (a literal in gymnasium, so not a CARL feature)",
    ),
    f(
        "min_position_start",
        -0.6,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    f(
        "max_position_start",
        -0.4,
        -INF,
        INF,
        "reset: position ~ U(min, max)",
    ),
    f(
        "min_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
    f(
        "max_velocity_start",
        0.0,
        -INF,
        INF,
        "reset: velocity ~ U(min, max)",
    ),
];

const ACROBOT_CARL: &[FeatureSpec] = &[
    f("LINK_LENGTH_1", 1.0, 0.1, 10.0, "l1"),
    f("LINK_LENGTH_2", 1.0, 0.1, 10.0, "none: rendering only"),
    f("LINK_MASS_1", 1.0, 0.1, 10.0, "m1"),
    f("LINK_MASS_2", 1.0, 0.1, 10.0, "m2"),
    f("LINK_COM_POS_1", 0.5, 0.0, 1.0, "lc1 (absolute)"),
    f("LINK_COM_POS_2", 0.5, 0.0, 1.0, "lc2 (absolute)"),
    f("LINK_MOI", 1.0, 0.1, 10.0, "I1 = I2"),
    f(
        "MAX_VEL_1",
        12.5663706143592,
        1.2566370614359,
        125.6637061435917,
        "velocity clip 1",
    ),
    f(
        "MAX_VEL_2",
        28.2743338823081,
        2.8274333882308,
        282.7433388230814,
        "velocity clip 2",
    ),
    f(
        "torque_noise_max",
        0.0,
        -1.0,
        1.0,
        "torque noise U(-n, n) when n > 0",
    ),
    f(
        "INITIAL_ANGLE_LOWER",
        -0.1,
        -INF,
        INF,
        "reset: angles ~ U(lower, upper)",
    ),
    f(
        "INITIAL_ANGLE_UPPER",
        0.1,
        -INF,
        INF,
        "reset: angles ~ U(lower, upper)",
    ),
    f(
        "INITIAL_VELOCITY_LOWER",
        -0.1,
        -INF,
        INF,
        "reset: velocities ~ U(lower, upper)",
    ),
    f(
        "INITIAL_VELOCITY_UPPER",
        0.1,
        -INF,
        INF,
        "reset: velocities ~ U(lower, upper)",
    ),
];

const ACROBOT_PHYSICAL: &[FeatureSpec] = &[
    f(
        "LINK_LENGTH_1",
        1.0,
        0.1,
        10.0,
        "l1, in the dynamics and the goal height",
    ),
    f(
        "LINK_LENGTH_2",
        1.0,
        0.1,
        10.0,
        "l2: the tip height that ends the episode",
    ),
    f("LINK_MASS_1", 1.0, 0.1, 10.0, "m1"),
    f("LINK_MASS_2", 1.0, 0.1, 10.0, "m2"),
    f("LINK_COM_POS_1", 0.5, 0.0, 1.0, "lc1 (absolute)"),
    f("LINK_COM_POS_2", 0.5, 0.0, 1.0, "lc2 (absolute)"),
    f("LINK_MOI", 1.0, 0.1, 10.0, "I1 = I2"),
    f(
        "MAX_VEL_1",
        12.5663706143592,
        1.2566370614359,
        125.6637061435917,
        "velocity clip 1",
    ),
    f(
        "MAX_VEL_2",
        28.2743338823081,
        2.8274333882308,
        282.7433388230814,
        "velocity clip 2",
    ),
    f(
        "torque_noise_max",
        0.0,
        -1.0,
        1.0,
        "torque noise U(-n, n) when n > 0",
    ),
    f(
        "INITIAL_ANGLE_LOWER",
        -0.1,
        -INF,
        INF,
        "reset: angles ~ U(lower, upper)",
    ),
    f(
        "INITIAL_ANGLE_UPPER",
        0.1,
        -INF,
        INF,
        "reset: angles ~ U(lower, upper)",
    ),
    f(
        "INITIAL_VELOCITY_LOWER",
        -0.1,
        -INF,
        INF,
        "reset: velocities ~ U(lower, upper)",
    ),
    f(
        "INITIAL_VELOCITY_UPPER",
        0.1,
        -INF,
        INF,
        "reset: velocities ~ U(lower, upper)",
    ),
];

/// The feature table of `kind` under `semantics`, in the order contexts store their values.
pub fn features(kind: EnvKind, semantics: Semantics) -> &'static [FeatureSpec] {
    use EnvKind::*;
    use Semantics::*;
    match (kind, semantics) {
        (CartPole, Carl) => CARTPOLE_CARL,
        (CartPole, Physical) => CARTPOLE_PHYSICAL,
        (Pendulum, Carl) => PENDULUM_CARL,
        (Pendulum, Physical) => PENDULUM_PHYSICAL,
        (MountainCar, Carl) => MOUNTAINCAR_CARL,
        (MountainCar, Physical) => MOUNTAINCAR_PHYSICAL,
        (MountainCarContinuous, Carl) => MOUNTAINCARCONTINUOUS_CARL,
        (MountainCarContinuous, Physical) => MOUNTAINCARCONTINUOUS_PHYSICAL,
        (Acrobot, Carl) => ACROBOT_CARL,
        (Acrobot, Physical) => ACROBOT_PHYSICAL,
    }
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
