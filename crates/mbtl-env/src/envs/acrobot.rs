//! Acrobot-v1 (envs-spec.md §2.5, "book" dynamics, one RK4 step per action; CARL quirk Q3).

use super::feat;
use crate::context::{Context, Semantics};
use crate::numerics::py_sq;
use crate::rng::EnvRng;
use crate::spec::{Action, Dynamics, EnvSpec};

use std::f64::consts::PI;

const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];
const G: f64 = 9.8;
const DT: f64 = 0.2;

#[derive(Debug, Clone)]
pub(crate) struct Acrobot {
    semantics: Semantics,
    l1: f64,
    l2: f64,
    m1: f64,
    m2: f64,
    lc1: f64,
    lc2: f64,
    moi: f64,
    max_vel_1: f64,
    max_vel_2: f64,
    torque_noise_max: f64,
    init: [f64; 4],
    state: [f64; 4],
}

impl Acrobot {
    /// The derivative of (θ1, θ2, θ̇1, θ̇2, τ); the torque's derivative is zero.
    #[inline(always)]
    fn dsdt(&self, s: &[f64; 5]) -> [f64; 5] {
        let (m1, m2, l1, lc1, lc2) = (self.m1, self.m2, self.l1, self.lc1, self.lc2);
        let (i1, i2) = (self.moi, self.moi);
        let [theta1, theta2, dtheta1, dtheta2, a] = *s;
        let cos_t2 = theta2.cos();
        let sin_t2 = theta2.sin();
        let d1 =
            m1 * py_sq(lc1) + m2 * (py_sq(l1) + py_sq(lc2) + 2.0 * l1 * lc2 * cos_t2) + i1 + i2;
        let d2 = m2 * (py_sq(lc2) + l1 * lc2 * cos_t2) + i2;
        let phi2 = m2 * lc2 * G * (theta1 + theta2 - PI / 2.0).cos();
        let phi1 = -m2 * l1 * lc2 * py_sq(dtheta2) * sin_t2
            - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin_t2
            + (m1 * lc1 + m2 * l1) * G * (theta1 - PI / 2.0).cos()
            + phi2;
        let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * py_sq(dtheta1) * sin_t2 - phi2)
            / (m2 * py_sq(lc2) + i2 - py_sq(d2) / d1);
        let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
        [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
    }

    fn terminal(&self) -> bool {
        let [t1, t2, _, _] = self.state;
        match self.semantics {
            Semantics::Carl => -t1.cos() - (t2 + t1).cos() > 1.0,
            // The tip must rise one upper-link length above the pivot.
            Semantics::Physical => -self.l1 * t1.cos() - self.l2 * (t2 + t1).cos() > self.l1,
        }
    }
}

#[inline(always)]
fn axpy(y: &[f64; 5], h: f64, k: &[f64; 5]) -> [f64; 5] {
    std::array::from_fn(|i| y[i] + h * k[i])
}

fn wrap(mut x: f64, lo: f64, hi: f64) -> f64 {
    let diff = hi - lo;
    while x > hi {
        x -= diff;
    }
    while x < lo {
        x += diff;
    }
    x
}

impl Dynamics for Acrobot {
    fn spec() -> EnvSpec {
        crate::kind::EnvKind::Acrobot.spec()
    }

    fn from_context(ctx: &Context) -> Self {
        Acrobot {
            semantics: ctx.semantics(),
            l1: feat(ctx, "LINK_LENGTH_1"),
            l2: feat(ctx, "LINK_LENGTH_2"),
            m1: feat(ctx, "LINK_MASS_1"),
            m2: feat(ctx, "LINK_MASS_2"),
            lc1: feat(ctx, "LINK_COM_POS_1"),
            lc2: feat(ctx, "LINK_COM_POS_2"),
            moi: feat(ctx, "LINK_MOI"),
            max_vel_1: feat(ctx, "MAX_VEL_1"),
            max_vel_2: feat(ctx, "MAX_VEL_2"),
            torque_noise_max: feat(ctx, "torque_noise_max"),
            init: [
                feat(ctx, "INITIAL_ANGLE_LOWER"),
                feat(ctx, "INITIAL_ANGLE_UPPER"),
                feat(ctx, "INITIAL_VELOCITY_LOWER"),
                feat(ctx, "INITIAL_VELOCITY_UPPER"),
            ],
            state: [0.0; 4],
        }
    }

    fn state(&self) -> &[f64] {
        &self.state
    }

    fn set_state(&mut self, state: &[f64]) {
        self.state.copy_from_slice(state);
    }

    fn reset(&mut self, rng: &mut EnvRng) {
        let [alo, ahi, vlo, vhi] = self.init;
        self.state = [
            rng.uniform(alo, ahi),
            rng.uniform(alo, ahi),
            rng.uniform(vlo, vhi),
            rng.uniform(vlo, vhi),
        ];
    }

    #[inline]
    fn step(&mut self, action: Action<'_>, rng: &mut EnvRng) -> (f64, bool) {
        let mut torque = AVAIL_TORQUE[action.index() as usize];
        if self.torque_noise_max > 0.0 {
            torque += rng.uniform(-self.torque_noise_max, self.torque_noise_max);
        }
        let [t1, t2, d1, d2] = self.state;
        let y0 = [t1, t2, d1, d2, torque];
        // One classical RK4 step over t = [0, dt], operation order as gymnasium's `rk4`.
        let dt = DT - 0.0;
        let dt2 = dt / 2.0;
        let k1 = self.dsdt(&y0);
        let k2 = self.dsdt(&axpy(&y0, dt2, &k1));
        let k3 = self.dsdt(&axpy(&y0, dt2, &k2));
        let k4 = self.dsdt(&axpy(&y0, dt, &k3));
        let ns: [f64; 5] =
            std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]));
        self.state = [
            wrap(ns[0], -PI, PI),
            wrap(ns[1], -PI, PI),
            ns[2].max(-self.max_vel_1).min(self.max_vel_1),
            ns[3].max(-self.max_vel_2).min(self.max_vel_2),
        ];
        let terminated = self.terminal();
        (if terminated { 0.0 } else { -1.0 }, terminated)
    }

    #[inline]
    fn observe(&self, out: &mut [f32]) {
        let [t1, t2, d1, d2] = self.state;
        // Every sine and cosine before any store, so that LLVM can pair them into `sincos`.
        let (s1, c1, s2, c2) = (t1.sin(), t1.cos(), t2.sin(), t2.cos());
        out[..6].copy_from_slice(&[
            c1 as f32, s1 as f32, c2 as f32, s2 as f32, d1 as f32, d2 as f32,
        ]);
    }
}
