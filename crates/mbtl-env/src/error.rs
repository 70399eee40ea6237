//! Errors of the environment crate. Every message names the environment, the feature, the value
//! and what would have been accepted, so that a bad experiment file is fixed in one go.

use thiserror::Error;

/// Everything that can go wrong when building or driving an environment. (Not `Clone`: a
/// file error keeps its cause.)
#[derive(Debug, Error)]
pub enum EnvError {
    #[error("unknown environment '{name}'; known environments: {known}")]
    UnknownEnv { name: String, known: String },

    #[error("unknown context semantics '{0}'; expected 'carl' or 'physical'")]
    UnknownSemantics(String),

    #[error("environment '{env}' ({semantics} semantics) has no context feature '{feature}'; its features are: {known}")]
    UnknownFeature {
        env: String,
        semantics: &'static str,
        feature: String,
        known: String,
    },

    #[error("context feature '{feature}' of '{env}' must be a finite number, got {value}")]
    NonFinite {
        env: String,
        feature: String,
        value: f64,
    },

    #[error(
        "context feature '{feature}' of '{env}' = {value} is outside its bounds [{lower}, {upper}]"
    )]
    OutOfBounds {
        env: String,
        feature: String,
        value: f64,
        lower: f64,
        upper: f64,
    },

    #[error(
        "cannot parse context override '{text}': {why} (expected 'name=value[,name=value...]')"
    )]
    BadOverride { text: String, why: String },

    #[error("environment '{env}' expects {expected} actions, got {got}")]
    ActionMismatch {
        env: String,
        expected: String,
        got: String,
    },

    #[error("state for '{env}' must have {expected} components, got {got}")]
    StateLength {
        env: String,
        expected: usize,
        got: usize,
    },

    #[error("environment '{0}': {1}")]
    BadSpec(String, String),

    #[error("environment '{env}' has no {semantics} semantics; it offers: {offered}")]
    NoSemantics {
        env: String,
        semantics: &'static str,
        offered: String,
    },

    #[error("environment '{env}' is declared by its context features only (an external trainer simulates it); mbtl cannot step it")]
    NotSimulated { env: String },

    #[error("a batch needs at least one environment, and all of one kind; {0}")]
    BadBatch(String),

    #[error("context space: {0}")]
    Space(String),

    /// A file that could not be read (a recorded trajectory or its manifest); the cause (an
    /// OS, JSON or CSV error, a bad field in mbtl's words, or this crate's own error for a
    /// value in it) is the source.
    #[error("{path}")]
    File {
        path: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = EnvError> = std::result::Result<T, E>;
