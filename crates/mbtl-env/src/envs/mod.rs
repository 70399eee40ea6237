//! The five classic-control dynamics, each in its own module, written from envs-spec.md §2
//! (gymnasium 0.29.1) and §3.3 (how CARL 1.1.1 applies a context). Products and sums keep the
//! reference's left-to-right order and squares use libm `pow`, so that `carl` semantics is
//! bit-exact against the recorded Python trajectories.

mod acrobot;
mod cartpole;
mod mountain_car;
mod mountain_car_continuous;
mod pendulum;

pub(crate) use acrobot::Acrobot;
pub(crate) use cartpole::CartPole;
pub(crate) use mountain_car::MountainCar;
pub(crate) use mountain_car_continuous::MountainCarContinuous;
pub(crate) use pendulum::Pendulum;

use crate::context::Context;
use crate::error::{EnvError, Result};
use crate::kind::EnvKind;
use crate::rng::EnvRng;
use crate::spec::{Action, DynDynamics, Dynamics, Maker};

/// Static dispatch over mbtl's own simulators, plus one boxed variant for every outside one: a
/// `match` per step costs less than the physics, and a built-in environment never pays for a
/// virtual call.
pub(crate) enum Sim {
    CartPole(CartPole),
    Pendulum(Pendulum),
    MountainCar(MountainCar),
    MountainCarContinuous(MountainCarContinuous),
    Acrobot(Acrobot),
    Custom(Box<dyn DynDynamics>),
}

macro_rules! dispatch {
    ($self:expr, $sim:ident => $body:expr, $custom:ident => $cbody:expr) => {
        match $self {
            Sim::CartPole($sim) => $body,
            Sim::Pendulum($sim) => $body,
            Sim::MountainCar($sim) => $body,
            Sim::MountainCarContinuous($sim) => $body,
            Sim::Acrobot($sim) => $body,
            Sim::Custom($custom) => $cbody,
        }
    };
}

impl Clone for Sim {
    fn clone(&self) -> Sim {
        match self {
            Sim::CartPole(s) => Sim::CartPole(s.clone()),
            Sim::Pendulum(s) => Sim::Pendulum(s.clone()),
            Sim::MountainCar(s) => Sim::MountainCar(s.clone()),
            Sim::MountainCarContinuous(s) => Sim::MountainCarContinuous(s.clone()),
            Sim::Acrobot(s) => Sim::Acrobot(s.clone()),
            Sim::Custom(s) => Sim::Custom(s.clone_box()),
        }
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sim::CartPole(_) => "Sim::CartPole",
            Sim::Pendulum(_) => "Sim::Pendulum",
            Sim::MountainCar(_) => "Sim::MountainCar",
            Sim::MountainCarContinuous(_) => "Sim::MountainCarContinuous",
            Sim::Acrobot(_) => "Sim::Acrobot",
            Sim::Custom(_) => "Sim::Custom",
        })
    }
}

impl Sim {
    /// The simulator of `ctx`'s environment, or an error for a declared (unsimulated) one.
    pub(crate) fn new(ctx: &Context) -> Result<Sim> {
        Ok(match ctx.env().maker() {
            Maker::Builtin(kind) => match kind {
                EnvKind::CartPole => Sim::CartPole(CartPole::from_context(ctx)),
                EnvKind::Pendulum => Sim::Pendulum(Pendulum::from_context(ctx)),
                EnvKind::MountainCar => Sim::MountainCar(MountainCar::from_context(ctx)),
                EnvKind::MountainCarContinuous => {
                    Sim::MountainCarContinuous(MountainCarContinuous::from_context(ctx))
                }
                EnvKind::Acrobot => Sim::Acrobot(Acrobot::from_context(ctx)),
            },
            Maker::Custom(make) => Sim::Custom(make(ctx)),
            Maker::Declared => {
                return Err(EnvError::NotSimulated {
                    env: ctx.env().name().to_string(),
                })
            }
        })
    }

    #[inline]
    pub(crate) fn state(&self) -> &[f64] {
        dispatch!(self, s => Dynamics::state(s), c => c.state())
    }

    #[inline]
    pub(crate) fn set_state(&mut self, state: &[f64]) {
        dispatch!(self, s => Dynamics::set_state(s, state), c => c.set_state(state));
    }

    #[inline]
    pub(crate) fn reset(&mut self, rng: &mut EnvRng) {
        dispatch!(self, s => Dynamics::reset(s, rng), c => c.reset(rng));
    }

    #[inline]
    pub(crate) fn step(&mut self, action: Action<'_>, rng: &mut EnvRng) -> (f64, bool) {
        dispatch!(self, s => Dynamics::step(s, action, rng), c => c.step(action, rng))
    }

    /// The finished episode's score where the environment declares one.
    #[inline]
    pub(crate) fn score(&self) -> Option<f64> {
        dispatch!(self, s => Dynamics::score(s), c => c.score())
    }

    #[inline]
    pub(crate) fn observe(&self, out: &mut [f32]) {
        dispatch!(self, s => Dynamics::observe(s, out), c => c.observe(out));
    }
}

/// Reads a feature that the feature table guarantees to exist.
pub(crate) fn feat(ctx: &Context, name: &str) -> f64 {
    ctx.get(name)
        .unwrap_or_else(|e| panic!("feature table and simulator disagree: {e}"))
}
