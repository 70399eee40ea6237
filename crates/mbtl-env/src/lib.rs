//! # mbtl-env
//!
//! Contextual classic-control environments for mbtl: CartPole, Pendulum, MountainCar,
//! MountainCarContinuous and Acrobot, with CARL's context features.
//!
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
pub mod trajectory;

pub use batch::{BatchActions, BatchEnv, BatchOutput, Episode};
pub use context::{parse_overrides, Context, ContextRecord, Semantics};
pub use env::{Action, ContextObs, Env, Transition};
pub use error::{EnvError, Result};
pub use features::{feature_index, features, FeatureSpec};
pub use kind::{ActionSpace, EnvKind};
pub use rng::{derive_seed, EnvRng};
pub use space::{Axis, ContextSpace, Spacing};
