//! A contextual environment that mbtl does not ship, written the way a user's crate would:
//! a double integrator (a mass on a frictional rail) pushed by a bounded force towards the
//! origin, whose context is the mass, the friction and the force limit.
//!
//! Implementing [`mbtl_env::Dynamics`] is all it takes: mbtl's PPO and SAC train on it, batched
//! zero-shot evaluation runs on it, and once [`register`]ed, experiment files, policy files and
//! the command line (`src/main.rs`) find it by its name, `double-integrator`.
//!
//! Dynamics (semi-implicit Euler, `dt` = 0.05 s): `v ← v + dt·(u_max·a − c·v)/m`,
//! `x ← x + dt·v`, with the action `a` clipped to [−1, 1]. Reward per step:
//! `−(x² + 0.1·v² + 0.01·a²)`; 200 steps per episode; start `x ~ U(−1, 1)`, `v ~ U(−0.5, 0.5)`.
//! No termination: the time limit ends every episode.

use mbtl_env::{
    Action, ActionSpace, Context, Dynamics, EnvRef, EnvRng, EnvSpec, FeatureSpec, Semantics,
};

/// Seconds per step.
const DT: f64 = 0.05;

/// One instance: the context's values, read once, and the state.
#[derive(Debug, Clone)]
pub struct DoubleIntegrator {
    mass: f64,
    friction: f64,
    force: f64,
    state: [f64; 2],
}

impl Dynamics for DoubleIntegrator {
    fn spec() -> EnvSpec {
        EnvSpec {
            name: "double-integrator".into(),
            description: "a mass on a frictional rail pushed towards the origin (outside example)"
                .into(),
            features: vec![(
                Semantics::Physical,
                vec![
                    FeatureSpec::new("mass", 1.0, 0.05, 50.0, "kg"),
                    FeatureSpec::new("friction", 0.1, 0.0, 10.0, "viscous friction, N·s/m"),
                    FeatureSpec::new("force", 1.0, 0.01, 100.0, "largest push, N"),
                ],
            )],
            obs_dim: 2,
            state_dim: 2,
            action_space: ActionSpace::Continuous {
                low: vec![-1.0],
                high: vec![1.0],
            },
            max_episode_steps: 200,
            reward_threshold: None,
            // Standing at the origin scores 0; drifting at |x| ≈ 1 scores about −200.
            return_bounds: Some([-200.0, 0.0]),
            score: None,
        }
    }

    fn from_context(ctx: &Context) -> Self {
        // The context was validated against the spec, so every feature is there.
        let get = |name: &str| ctx.get(name).unwrap_or(f64::NAN);
        DoubleIntegrator {
            mass: get("mass"),
            friction: get("friction"),
            force: get("force"),
            state: [0.0; 2],
        }
    }

    fn reset(&mut self, rng: &mut EnvRng) {
        self.state = [rng.uniform(-1.0, 1.0), rng.uniform(-0.5, 0.5)];
    }

    fn step(&mut self, action: Action<'_>, _rng: &mut EnvRng) -> (f64, bool) {
        let a = f64::from(action.first()).clamp(-1.0, 1.0);
        let [x, v] = self.state;
        let v = v + DT * (self.force * a - self.friction * v) / self.mass;
        let x = x + DT * v;
        self.state = [x, v];
        (-(x * x + 0.1 * v * v + 0.01 * a * a), false)
    }

    fn observe(&self, out: &mut [f32]) {
        out[0] = self.state[0] as f32;
        out[1] = self.state[1] as f32;
    }

    fn state(&self) -> &[f64] {
        &self.state
    }

    fn set_state(&mut self, state: &[f64]) {
        self.state.copy_from_slice(state);
    }
}

/// Registers the environment under `double-integrator` (idempotent).
pub fn register() -> mbtl_env::Result<EnvRef> {
    mbtl_env::register::<DoubleIntegrator>()
}
