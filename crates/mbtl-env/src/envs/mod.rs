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
use crate::kind::EnvKind;
use crate::rng::EnvRng;

/// An action after validation: a discrete index in range, or the first component of a
/// continuous action (every continuous environment here has one component).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Act {
    Discrete(u32),
    Continuous(f32),
}

impl Act {
    #[inline(always)]
    fn discrete(self) -> u32 {
        match self {
            Act::Discrete(a) => a,
            Act::Continuous(_) => unreachable!("validated by Env::step"),
        }
    }

    #[inline(always)]
    fn continuous(self) -> f32 {
        match self {
            Act::Continuous(a) => a,
            Act::Discrete(_) => unreachable!("validated by Env::step"),
        }
    }
}

/// What every simulator implements. The time limit, observation layout and seeding live in
/// [`crate::Env`], once for all of them.
pub(crate) trait Dynamics: Clone + Send + Sync {
    fn from_context(ctx: &Context) -> Self;
    fn state(&self) -> &[f64];
    /// `state.len()` has been checked against the environment's state dimension.
    fn set_state(&mut self, state: &[f64]);
    fn reset(&mut self, rng: &mut EnvRng);
    /// One transition: returns `(reward, terminated)`.
    fn step(&mut self, action: Act, rng: &mut EnvRng) -> (f64, bool);
    /// Writes the base observation (`EnvKind::obs_dim` values).
    fn observe(&self, out: &mut [f32]);
}

/// Static dispatch over the simulators; a `match` per step costs less than the physics.
#[derive(Debug, Clone)]
pub(crate) enum Sim {
    CartPole(CartPole),
    Pendulum(Pendulum),
    MountainCar(MountainCar),
    MountainCarContinuous(MountainCarContinuous),
    Acrobot(Acrobot),
}

macro_rules! dispatch {
    ($self:expr, $sim:ident => $body:expr) => {
        match $self {
            Sim::CartPole($sim) => $body,
            Sim::Pendulum($sim) => $body,
            Sim::MountainCar($sim) => $body,
            Sim::MountainCarContinuous($sim) => $body,
            Sim::Acrobot($sim) => $body,
        }
    };
}

impl Sim {
    pub(crate) fn new(ctx: &Context) -> Sim {
        match ctx.kind() {
            EnvKind::CartPole => Sim::CartPole(CartPole::from_context(ctx)),
            EnvKind::Pendulum => Sim::Pendulum(Pendulum::from_context(ctx)),
            EnvKind::MountainCar => Sim::MountainCar(MountainCar::from_context(ctx)),
            EnvKind::MountainCarContinuous => {
                Sim::MountainCarContinuous(MountainCarContinuous::from_context(ctx))
            }
            EnvKind::Acrobot => Sim::Acrobot(Acrobot::from_context(ctx)),
        }
    }

    #[inline]
    pub(crate) fn state(&self) -> &[f64] {
        dispatch!(self, s => s.state())
    }

    #[inline]
    pub(crate) fn set_state(&mut self, state: &[f64]) {
        dispatch!(self, s => s.set_state(state))
    }

    #[inline]
    pub(crate) fn reset(&mut self, rng: &mut EnvRng) {
        dispatch!(self, s => s.reset(rng))
    }

    #[inline]
    pub(crate) fn step(&mut self, action: Act, rng: &mut EnvRng) -> (f64, bool) {
        dispatch!(self, s => s.step(action, rng))
    }

    #[inline]
    pub(crate) fn observe(&self, out: &mut [f32]) {
        dispatch!(self, s => s.observe(out))
    }
}

/// Reads a feature that the feature table guarantees to exist.
pub(crate) fn feat(ctx: &Context, name: &str) -> f64 {
    ctx.get(name)
        .unwrap_or_else(|e| panic!("feature table and simulator disagree: {e}"))
}
