//! CartPole-v1 (envs-spec.md §2.1, CARL quirk Q1).

use super::feat;
use crate::context::{Context, Semantics};
use crate::numerics::py_sq;
use crate::rng::EnvRng;
use crate::spec::{Action, Dynamics, EnvSpec};

/// gymnasium's construction-time values, which CARL never recomputes.
const GYM_MASSCART: f64 = 1.0;
const GYM_MASSPOLE: f64 = 0.1;
const GYM_LENGTH: f64 = 0.5;
const X_THRESHOLD: f64 = 2.4;

#[derive(Debug, Clone)]
pub(crate) struct CartPole {
    gravity: f64,
    masspole: f64,
    length: f64,
    force_mag: f64,
    tau: f64,
    /// `M = m_p + m_c`; frozen at gymnasium's 1.1 under `carl` semantics.
    total_mass: f64,
    /// `m_p·l`; frozen at 0.05 under `carl` semantics.
    polemass_length: f64,
    theta_threshold: f64,
    init_low: f64,
    init_high: f64,
    state: [f64; 4],
    /// gymnasium gives reward 0 for steps taken after termination.
    terminated: bool,
}

impl Dynamics for CartPole {
    fn spec() -> EnvSpec {
        crate::kind::EnvKind::CartPole.spec()
    }

    fn from_context(ctx: &Context) -> Self {
        let masscart = feat(ctx, "masscart");
        let masspole = feat(ctx, "masspole");
        let length = feat(ctx, "length");
        let (total_mass, polemass_length) = match ctx.semantics() {
            Semantics::Carl => (GYM_MASSPOLE + GYM_MASSCART, GYM_MASSPOLE * GYM_LENGTH),
            Semantics::Physical => (masspole + masscart, masspole * length),
        };
        CartPole {
            gravity: feat(ctx, "gravity"),
            masspole,
            length,
            force_mag: feat(ctx, "force_mag"),
            tau: feat(ctx, "tau"),
            total_mass,
            polemass_length,
            theta_threshold: 12.0 * 2.0 * std::f64::consts::PI / 360.0,
            init_low: feat(ctx, "initial_state_lower"),
            init_high: feat(ctx, "initial_state_upper"),
            state: [0.0; 4],
            terminated: false,
        }
    }

    fn state(&self) -> &[f64] {
        &self.state
    }

    fn set_state(&mut self, state: &[f64]) {
        self.state.copy_from_slice(state);
        self.terminated = false;
    }

    fn reset(&mut self, rng: &mut EnvRng) {
        for s in &mut self.state {
            *s = rng.uniform(self.init_low, self.init_high);
        }
        self.terminated = false;
    }

    #[inline]
    fn step(&mut self, action: Action<'_>, _rng: &mut EnvRng) -> (f64, bool) {
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action.index() == 1 {
            self.force_mag
        } else {
            -self.force_mag
        };
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let temp = (force + self.polemass_length * py_sq(theta_dot) * sintheta) / self.total_mass;
        let thetaacc = (self.gravity * sintheta - costheta * temp)
            / (self.length * (4.0 / 3.0 - self.masspole * py_sq(costheta) / self.total_mass));
        let xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass;
        let x = x + self.tau * x_dot;
        let x_dot = x_dot + self.tau * xacc;
        let theta = theta + self.tau * theta_dot;
        let theta_dot = theta_dot + self.tau * thetaacc;
        self.state = [x, x_dot, theta, theta_dot];
        // Four comparisons as gymnasium writes them: a NaN state does not terminate.
        #[allow(clippy::manual_range_contains)]
        let terminated = x < -X_THRESHOLD
            || x > X_THRESHOLD
            || theta < -self.theta_threshold
            || theta > self.theta_threshold;
        let reward = if self.terminated { 0.0 } else { 1.0 };
        self.terminated |= terminated;
        (reward, terminated)
    }

    #[inline]
    fn observe(&self, out: &mut [f32]) {
        for (o, s) in out.iter_mut().zip(self.state) {
            *o = s as f32;
        }
    }
}
