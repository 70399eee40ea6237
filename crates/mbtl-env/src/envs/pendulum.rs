//! Pendulum-v1 (envs-spec.md §2.2, CARL quirks Q2 and Q6).

use super::feat;
use crate::context::{Context, Semantics};
use crate::numerics::{py_mod, py_sq};
use crate::rng::EnvRng;
use crate::spec::{Action, Dynamics, EnvSpec};

use std::f64::consts::PI;

#[derive(Debug, Clone)]
pub(crate) struct Pendulum {
    semantics: Semantics,
    dt: f64,
    g: f64,
    m: f64,
    l: f64,
    max_speed: f64,
    max_torque: f32,
    init_angle_max: f64,
    init_velocity_max: f64,
    state: [f64; 2],
    /// CARL's reset stores an f32 state but computes the first observation from the f64 draws.
    reset_obs: Option<[f64; 2]>,
}

fn angle_normalize(x: f64) -> f64 {
    py_mod(x + PI, 2.0 * PI) - PI
}

impl Dynamics for Pendulum {
    fn spec() -> EnvSpec {
        crate::kind::EnvKind::Pendulum.spec()
    }

    fn from_context(ctx: &Context) -> Self {
        let (max_speed, max_torque) = match ctx.semantics() {
            Semantics::Carl => (8.0, 2.0),
            Semantics::Physical => (feat(ctx, "max_speed"), feat(ctx, "max_torque")),
        };
        Pendulum {
            semantics: ctx.semantics(),
            dt: feat(ctx, "dt"),
            g: feat(ctx, "g"),
            m: feat(ctx, "m"),
            l: feat(ctx, "l"),
            max_speed,
            max_torque: max_torque as f32,
            init_angle_max: feat(ctx, "initial_angle_max"),
            init_velocity_max: feat(ctx, "initial_velocity_max"),
            state: [0.0; 2],
            reset_obs: None,
        }
    }

    fn state(&self) -> &[f64] {
        &self.state
    }

    fn set_state(&mut self, state: &[f64]) {
        self.state.copy_from_slice(state);
        self.reset_obs = None;
    }

    fn reset(&mut self, rng: &mut EnvRng) {
        match self.semantics {
            Semantics::Carl => {
                let theta = rng.uniform(0.0, self.init_angle_max);
                let theta_dot = rng.uniform(0.0, self.init_velocity_max);
                self.state = [theta as f32 as f64, theta_dot as f32 as f64];
                self.reset_obs = Some([theta, theta_dot]);
            }
            Semantics::Physical => {
                let theta = rng.uniform(-self.init_angle_max, self.init_angle_max);
                let theta_dot = rng.uniform(-self.init_velocity_max, self.init_velocity_max);
                self.state = [theta, theta_dot];
                self.reset_obs = None;
            }
        }
    }

    #[inline]
    fn step(&mut self, action: Action<'_>, _rng: &mut EnvRng) -> (f64, bool) {
        let [th, thdot] = self.state;
        let u = f64::from(action.first().clamp(-self.max_torque, self.max_torque));
        let costs = py_sq(angle_normalize(th)) + 0.1 * py_sq(thdot) + 0.001 * (u * u);
        let newthdot = thdot
            + (3.0 * self.g / (2.0 * self.l) * th.sin() + 3.0 / (self.m * py_sq(self.l)) * u)
                * self.dt;
        let newthdot = newthdot.clamp(-self.max_speed, self.max_speed);
        let newth = th + newthdot * self.dt;
        self.state = [newth, newthdot];
        self.reset_obs = None;
        (-costs, false)
    }

    #[inline]
    fn observe(&self, out: &mut [f32]) {
        let [th, thdot] = self.reset_obs.unwrap_or(self.state);
        // Both before any store, so that LLVM can make them one `sincos` call.
        let (sin, cos) = (th.sin(), th.cos());
        out[..3].copy_from_slice(&[cos as f32, sin as f32, thdot as f32]);
    }
}
