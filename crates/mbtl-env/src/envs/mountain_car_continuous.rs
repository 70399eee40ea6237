//! MountainCarContinuous-v0 (envs-spec.md §2.4). The state is rounded to f32 after every step,
//! as gymnasium stores it in a float32 array; termination is decided before that rounding.

use super::feat;
use crate::context::{Context, Semantics};
use crate::rng::EnvRng;
use crate::spec::{Action, Dynamics, EnvSpec};

/// gymnasium hard-codes this gravity; only `physical` semantics exposes it as a feature.
const GYM_GRAVITY: f64 = 0.0025;

#[derive(Debug, Clone)]
pub(crate) struct MountainCarContinuous {
    min_position: f64,
    max_position: f64,
    max_speed: f64,
    goal_position: f64,
    goal_velocity: f64,
    power: f64,
    gravity: f64,
    start: [f64; 4],
    state: [f64; 2],
}

impl Dynamics for MountainCarContinuous {
    fn spec() -> EnvSpec {
        crate::kind::EnvKind::MountainCarContinuous.spec()
    }

    fn from_context(ctx: &Context) -> Self {
        let gravity = match ctx.semantics() {
            Semantics::Carl => GYM_GRAVITY,
            Semantics::Physical => feat(ctx, "gravity"),
        };
        MountainCarContinuous {
            min_position: feat(ctx, "min_position"),
            max_position: feat(ctx, "max_position"),
            max_speed: feat(ctx, "max_speed"),
            goal_position: feat(ctx, "goal_position"),
            goal_velocity: feat(ctx, "goal_velocity"),
            power: feat(ctx, "power"),
            gravity,
            start: [
                feat(ctx, "min_position_start"),
                feat(ctx, "max_position_start"),
                feat(ctx, "min_velocity_start"),
                feat(ctx, "max_velocity_start"),
            ],
            state: [0.0; 2],
        }
    }

    fn state(&self) -> &[f64] {
        &self.state
    }

    fn set_state(&mut self, state: &[f64]) {
        self.state.copy_from_slice(state);
    }

    fn reset(&mut self, rng: &mut EnvRng) {
        let p = rng.uniform(self.start[0], self.start[1]);
        let v = rng.uniform(self.start[2], self.start[3]);
        self.state = [p, v];
    }

    #[inline]
    fn step(&mut self, action: Action<'_>, _rng: &mut EnvRng) -> (f64, bool) {
        let [position, velocity] = self.state;
        let a = action.first();
        let force = f64::from(a.clamp(-1.0, 1.0));
        let mut velocity = velocity + (force * self.power - self.gravity * (3.0 * position).cos());
        if velocity > self.max_speed {
            velocity = self.max_speed;
        }
        if velocity < -self.max_speed {
            velocity = -self.max_speed;
        }
        let mut position = position + velocity;
        if position > self.max_position {
            position = self.max_position;
        }
        if position < self.min_position {
            position = self.min_position;
        }
        if position == self.min_position && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= self.goal_position && velocity >= self.goal_velocity;
        let a = f64::from(a);
        let reward = (if terminated { 100.0 } else { 0.0 }) - a * a * 0.1;
        self.state = [position as f32 as f64, velocity as f32 as f64];
        (reward, terminated)
    }

    #[inline]
    fn observe(&self, out: &mut [f32]) {
        out[0] = self.state[0] as f32;
        out[1] = self.state[1] as f32;
    }
}
