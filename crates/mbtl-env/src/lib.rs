//! # mbtl-env
//!
//! Contextual environments for mbtl: an open interface any simulator can implement
//! ([`Dynamics`] with its [`EnvSpec`], found by name through [`EnvRef`]), and mbtl's own
//! implementations of CartPole, Pendulum, MountainCar, MountainCarContinuous and Acrobot with
//! CARL's context features.
//!
//! * [`Dynamics`], [`EnvSpec`], [`EnvRef`], [`register`] — bring your own environment: a crate
//!   implements `Dynamics` for its simulator, registers it, and trains, evaluates and runs
//!   experiments on it like on the built-in ones.
//! * [`Context`] — a full, validated context of one environment under one [`Semantics`]
//!   (`carl`: bit-exact CARL 1.1.1 on gymnasium 0.29.1; `physical`: every feature acts as the
//!   physics says).
//! * [`Env`] — one seeded instance (time limit, context hidden or appended to observations).
//! * [`BatchEnv`] — many instances stepped at once with auto-reset; contexts may differ.
//! * [`ContextSpace`] — the indexed task sets MBTL selects from (1-D and N-D grids, lists).
//! * [`trajectory`] — replay of recorded Python reference trajectories (conformance).

mod batch;
mod context;
mod env;
mod envs;
mod error;
mod features;
mod kind;
mod numerics;
mod rng;
mod space;
mod spec;
pub mod trajectory;

pub use batch::{BatchActions, BatchEnv, BatchOutput, Episode};
pub use context::{parse_overrides, Context, ContextRecord, Semantics};
pub use env::{ContextObs, Env, Transition};
pub use error::{EnvError, Result};
pub use features::{feature_index, features};
pub use kind::EnvKind;
pub use rng::{derive_seed, EnvRng};
pub use space::{Axis, ContextSpace, Spacing, MAX_TASKS};
pub use spec::{
    environments, register, Action, ActionSpace, Dynamics, EnvRef, EnvSpec, FeatureSpec,
};
