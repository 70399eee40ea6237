//! MountainCar-v0 (envs-spec.md §2.3; every CARL feature takes effect).

use super::feat;
use crate::context::Context;
use crate::rng::EnvRng;
use crate::spec::{Action, Dynamics, EnvSpec};

#[derive(Debug, Clone)]
pub(crate) struct MountainCar {
    min_position: f64,
    max_position: f64,
    max_speed: f64,
    goal_position: f64,
    goal_velocity: f64,
    force: f64,
    gravity: f64,
    start: [f64; 4],
    state: [f64; 2],
}

impl Dynamics for MountainCar {
    fn spec() -> EnvSpec {
        crate::kind::EnvKind::MountainCar.spec()
    }

    fn from_context(ctx: &Context) -> Self {
        MountainCar {
            min_position: feat(ctx, "min_position"),
            max_position: feat(ctx, "max_position"),
            max_speed: feat(ctx, "max_speed"),
            goal_position: feat(ctx, "goal_position"),
            goal_velocity: feat(ctx, "goal_velocity"),
            force: feat(ctx, "force"),
            gravity: feat(ctx, "gravity"),
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
        let push = f64::from(action.index() as i32 - 1);
        let velocity = velocity + (push * self.force + (3.0 * position).cos() * (-self.gravity));
        let mut velocity = velocity.clamp(-self.max_speed, self.max_speed);
        let position = (position + velocity).clamp(self.min_position, self.max_position);
        if position == self.min_position && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= self.goal_position && velocity >= self.goal_velocity;
        self.state = [position, velocity];
        (-1.0, terminated)
    }

    #[inline]
    fn observe(&self, out: &mut [f32]) {
        out[0] = self.state[0] as f32;
        out[1] = self.state[1] as f32;
    }
}
