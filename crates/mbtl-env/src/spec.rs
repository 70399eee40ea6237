//! The open environment interface: what any contextual environment tells mbtl about itself
//! ([`EnvSpec`], plain data), what one simulated instance does ([`Dynamics`]), and the handle
//! that contexts, batches, policies and experiments carry ([`EnvRef`]).
//!
//! mbtl's five classic-control environments implement [`Dynamics`] like any outside crate
//! would; they keep a statically dispatched fast path inside [`crate::Env`], while an outside
//! environment is stepped through one virtual call per step (measured in the README:
//! `mbtl bench envs`). An environment is found by name through a process-wide registry
//! ([`register`], [`EnvRef::lookup`]), because names are what files hold: experiment TOML,
//! policy headers and job files say `env = "lqr"`, and whoever reads them must get the same
//! environment back. A binary that registers its environments before it parses anything
//! (`mbtl_cli::main_with`) therefore runs every mbtl command on them, worker processes and
//! Slurm array tasks included.
//!
//! An environment can also be *declared*: its context features known, its dynamics not
//! ([`EnvRef::declared`]). That is what an external trainer (a Python script with its own
//! simulator) needs: mbtl builds, validates and records its contexts, and never steps it.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use crate::context::{Context, Semantics};
use crate::error::{EnvError, Result};
use crate::kind::EnvKind;
use crate::rng::EnvRng;

/// One context feature: its name, default value, declared bounds (inclusive) and its effect.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSpec {
    pub name: Cow<'static, str>,
    pub default: f64,
    pub lower: f64,
    pub upper: f64,
    /// What the feature does under this semantics (shown by `mbtl envs`).
    pub effect: Cow<'static, str>,
}

impl FeatureSpec {
    /// A feature with finite or infinite bounds; `default` must lie within them (checked when
    /// the environment is registered or declared).
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        default: f64,
        lower: f64,
        upper: f64,
        effect: impl Into<Cow<'static, str>>,
    ) -> FeatureSpec {
        FeatureSpec {
            name: name.into(),
            default,
            lower,
            upper,
            effect: effect.into(),
        }
    }
}

/// What an agent may send to an environment.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpace {
    /// Actions `0..n`.
    Discrete { n: u32 },
    /// A box of `low.len()` real components; values outside are clipped by the dynamics.
    Continuous { low: Vec<f32>, high: Vec<f32> },
}

impl ActionSpace {
    /// Number of discrete actions, or number of continuous components.
    pub fn size(&self) -> usize {
        match self {
            ActionSpace::Discrete { n } => *n as usize,
            ActionSpace::Continuous { low, .. } => low.len(),
        }
    }

    pub fn is_discrete(&self) -> bool {
        matches!(self, ActionSpace::Discrete { .. })
    }

    /// Describes the space for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            ActionSpace::Discrete { n } => format!("discrete actions in 0..{n}"),
            ActionSpace::Continuous { low, .. } => {
                format!("continuous actions of {} component(s)", low.len())
            }
        }
    }
}

/// An action for one instance: a discrete index, or the components of a continuous action.
/// [`crate::Env`] and [`crate::BatchEnv`] check it against the action space before
/// [`Dynamics::step`] sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action<'a> {
    Discrete(u32),
    Continuous(&'a [f32]),
}

impl Action<'_> {
    /// The discrete index (0 for a continuous action, which validation rules out).
    #[inline(always)]
    pub fn index(self) -> u32 {
        match self {
            Action::Discrete(a) => a,
            Action::Continuous(_) => 0,
        }
    }

    /// The first continuous component (0 for a discrete action, which validation rules out).
    #[inline(always)]
    pub fn first(self) -> f32 {
        match self {
            Action::Continuous(a) => a.first().copied().unwrap_or(0.0),
            Action::Discrete(_) => 0.0,
        }
    }
}

/// Everything fixed about an environment family: its name, context features per semantics,
/// observation and action spaces, time limit. Plain data, written once per environment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSpec {
    /// The name files and the command line use (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// One line for `mbtl envs`.
    pub description: String,
    /// The context features under each semantics this environment offers, in the order
    /// contexts store their values. Most environments offer [`Semantics::Physical`] only.
    pub features: Vec<(Semantics, Vec<FeatureSpec>)>,
    /// Length of the (f32) observation without appended context features.
    pub obs_dim: usize,
    /// Length of the internal (f64) state [`Dynamics::state`] exposes (0: none).
    pub state_dim: usize,
    pub action_space: ActionSpace,
    /// Episode limit (gymnasium's TimeLimit); 0 = none.
    pub max_episode_steps: u32,
    /// The return at which the environment counts as solved, where there is one.
    pub reward_threshold: Option<f64>,
    /// MBTL's normalisation `[lo, hi]` of raw episode scores (the return, or [`EnvSpec::score`])
    /// for this environment (MBTL §4.3), where one is known; experiments use it when they give
    /// no `select.bounds`.
    pub return_bounds: Option<[f64; 2]>,
    /// What an episode scores in evaluation when it is not the undiscounted return (one line
    /// for `mbtl envs`); the dynamics then report it through [`Dynamics::score`]. Transfer
    /// matrices, periodic evaluations and best-model keeping all use the score, as the papers'
    /// benchmarks measure transfer by their own metric (MBTL's traffic tasks: the negated
    /// average waiting time).
    pub score: Option<String>,
}

impl EnvSpec {
    /// The feature table under `semantics`, if the environment offers it.
    pub fn features(&self, semantics: Semantics) -> Option<&[FeatureSpec]> {
        self.features
            .iter()
            .find(|(s, _)| *s == semantics)
            .map(|(_, f)| f.as_slice())
    }

    /// Checks what the rest of mbtl relies on: a usable name, unique feature names, defaults
    /// within bounds, a non-empty action space.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EnvError::BadSpec(self.name.clone(), m));
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad("the name must be non-empty letters, digits, '-', '_' or '.'".into());
        }
        if self.features.is_empty() {
            return bad("no semantics offered (give at least the physical feature table)".into());
        }
        for (i, (sem, table)) in self.features.iter().enumerate() {
            if self.features[..i].iter().any(|(s, _)| s == sem) {
                return bad(format!("the {sem} feature table is given twice"));
            }
            for (j, f) in table.iter().enumerate() {
                if f.name.is_empty() || table[..j].iter().any(|o| o.name == f.name) {
                    return bad(format!(
                        "{sem} features: '{}' is empty or listed twice",
                        f.name
                    ));
                }
                if !(f.default.is_finite() && f.lower <= f.default && f.default <= f.upper) {
                    return bad(format!(
                        "{sem} feature '{}': default {} is not finite or outside [{}, {}]",
                        f.name, f.default, f.lower, f.upper
                    ));
                }
            }
        }
        match &self.action_space {
            ActionSpace::Discrete { n: 0 } => bad("a discrete action space needs n ≥ 1".into()),
            ActionSpace::Continuous { low, high }
                if low.is_empty()
                    || low.len() != high.len()
                    || low
                        .iter()
                        .zip(high)
                        .any(|(l, h)| l.is_nan() || h.is_nan() || l > h) =>
            {
                bad("a continuous action space needs low ≤ high, of equal non-zero length".into())
            }
            _ => Ok(()),
        }
    }
}

/// One simulated instance of a contextual environment: the dynamics, with the context's values
/// read once at construction. The time limit, observation layout (context appended or not),
/// seeding, action checks and auto-reset live in [`crate::Env`] and [`crate::BatchEnv`], once
/// for every environment; an implementation only simulates.
///
/// ```
/// use mbtl_env::{Action, ActionSpace, Context, Dynamics, EnvRng, EnvSpec, FeatureSpec, Semantics};
///
/// /// A point mass on a line pushed left or right; the context is its mass.
/// #[derive(Clone)]
/// struct Slider { mass: f64, x: f64, v: f64 }
///
/// impl Dynamics for Slider {
///     fn spec() -> EnvSpec {
///         EnvSpec {
///             name: "slider".into(),
///             description: "a point mass pushed towards the origin".into(),
///             features: vec![(Semantics::Physical, vec![
///                 FeatureSpec::new("mass", 1.0, 0.1, 10.0, "the mass"),
///             ])],
///             obs_dim: 2,
///             state_dim: 2,
///             action_space: ActionSpace::Discrete { n: 2 },
///             max_episode_steps: 100,
///             reward_threshold: None,
///             return_bounds: Some([-100.0, 0.0]),
///             score: None,
///         }
///     }
///     fn from_context(ctx: &Context) -> Self {
///         Slider { mass: ctx.get("mass").unwrap(), x: 0.0, v: 0.0 }
///     }
///     fn reset(&mut self, rng: &mut EnvRng) {
///         (self.x, self.v) = (rng.uniform(-1.0, 1.0), 0.0);
///     }
///     fn step(&mut self, action: Action<'_>, _rng: &mut EnvRng) -> (f64, bool) {
///         let force = if action.index() == 1 { 1.0 } else { -1.0 };
///         self.v += 0.05 * force / self.mass;
///         self.x += 0.05 * self.v;
///         (-self.x.abs(), false)
///     }
///     fn observe(&self, out: &mut [f32]) {
///         out[0] = self.x as f32;
///         out[1] = self.v as f32;
///     }
/// }
///
/// let env = mbtl_env::EnvRef::of::<Slider>().unwrap();
/// let ctx = Context::new(env, Semantics::Physical, &[("mass", 2.0)]).unwrap();
/// let mut instance = mbtl_env::Env::new(ctx, 0).unwrap();
/// instance.step(Action::Discrete(1)).unwrap();
/// ```
pub trait Dynamics: Clone + Send + Sync + 'static {
    /// The environment family this simulates.
    fn spec() -> EnvSpec;
    /// An instance for `ctx`, a full context of this environment whose values are already
    /// checked against the declared bounds. [`Dynamics::reset`] is called before any step.
    fn from_context(ctx: &Context) -> Self;
    /// Starts a new episode from the context's initial-state distribution.
    fn reset(&mut self, rng: &mut EnvRng);
    /// One transition under `action` (already checked against the action space): returns
    /// `(reward, terminated)`. Truncation by the time limit is not the dynamics' business.
    fn step(&mut self, action: Action<'_>, rng: &mut EnvRng) -> (f64, bool);
    /// Writes the observation ([`EnvSpec::obs_dim`] values).
    fn observe(&self, out: &mut [f32]);
    /// The internal state ([`EnvSpec::state_dim`] values), for conformance replays.
    fn state(&self) -> &[f64] {
        &[]
    }
    /// Sets the internal state; `state.len()` has been checked against
    /// [`EnvSpec::state_dim`].
    fn set_state(&mut self, _state: &[f64]) {}
    /// The finished episode's score, for an environment that declares [`EnvSpec::score`]: asked
    /// once the episode has terminated or been truncated, before the next reset. `None` (the
    /// default) scores the episode by its undiscounted return.
    fn score(&self) -> Option<f64> {
        None
    }
}

/// [`Dynamics`] behind a pointer (the trait itself is not object safe: it is `Clone` and has
/// constructors).
pub(crate) trait DynDynamics: Send + Sync {
    fn reset(&mut self, rng: &mut EnvRng);
    fn step(&mut self, action: Action<'_>, rng: &mut EnvRng) -> (f64, bool);
    fn observe(&self, out: &mut [f32]);
    fn state(&self) -> &[f64];
    fn set_state(&mut self, state: &[f64]);
    fn score(&self) -> Option<f64>;
    fn clone_box(&self) -> Box<dyn DynDynamics>;
}

impl<D: Dynamics> DynDynamics for D {
    fn reset(&mut self, rng: &mut EnvRng) {
        Dynamics::reset(self, rng);
    }
    fn step(&mut self, action: Action<'_>, rng: &mut EnvRng) -> (f64, bool) {
        Dynamics::step(self, action, rng)
    }
    fn observe(&self, out: &mut [f32]) {
        Dynamics::observe(self, out);
    }
    fn state(&self) -> &[f64] {
        Dynamics::state(self)
    }
    fn set_state(&mut self, state: &[f64]) {
        Dynamics::set_state(self, state);
    }
    fn score(&self) -> Option<f64> {
        Dynamics::score(self)
    }
    fn clone_box(&self) -> Box<dyn DynDynamics> {
        Box::new(self.clone())
    }
}

/// How instances of an environment come to be.
pub(crate) enum Maker {
    /// One of mbtl's own simulators, stepped without dynamic dispatch.
    Builtin(EnvKind),
    /// An outside [`Dynamics`] implementation.
    Custom(fn(&Context) -> Box<dyn DynDynamics>),
    /// Features only: an external trainer simulates it.
    Declared,
}

struct Entry {
    spec: EnvSpec,
    maker: Maker,
}

/// A cheap, shareable handle on an environment family: its [`EnvSpec`] and how to simulate it.
/// Two handles are equal when their names are (names are unique in a registry).
#[derive(Clone)]
pub struct EnvRef(Arc<Entry>);

fn construct<D: Dynamics>(ctx: &Context) -> Box<dyn DynDynamics> {
    Box::new(D::from_context(ctx))
}

impl EnvRef {
    /// A handle on an outside environment, without registering it (a library user who builds
    /// contexts in code needs no registry; files and the command line do).
    pub fn of<D: Dynamics>() -> Result<EnvRef> {
        let spec = D::spec();
        spec.validate()?;
        Ok(EnvRef(Arc::new(Entry {
            spec,
            maker: Maker::Custom(construct::<D>),
        })))
    }

    /// An environment known by its context features only (an external trainer simulates
    /// it): contexts and context spaces work, [`crate::Env::new`] refuses it.
    pub fn declared(name: &str, description: &str, features: Vec<FeatureSpec>) -> Result<EnvRef> {
        let spec = EnvSpec {
            name: name.into(),
            description: description.into(),
            features: vec![(Semantics::Physical, features)],
            obs_dim: 0,
            state_dim: 0,
            // Never stepped; validation only needs a well-formed value.
            action_space: ActionSpace::Discrete { n: 1 },
            max_episode_steps: 0,
            reward_threshold: None,
            return_bounds: None,
            score: None,
        };
        spec.validate()?;
        Ok(EnvRef(Arc::new(Entry {
            spec,
            maker: Maker::Declared,
        })))
    }

    /// One of mbtl's own environments.
    pub fn builtin(kind: EnvKind) -> EnvRef {
        static BUILTINS: OnceLock<Vec<EnvRef>> = OnceLock::new();
        let all = BUILTINS.get_or_init(|| {
            EnvKind::ALL
                .iter()
                .map(|&k| {
                    EnvRef(Arc::new(Entry {
                        spec: k.spec(),
                        maker: Maker::Builtin(k),
                    }))
                })
                .collect()
        });
        all[EnvKind::ALL
            .iter()
            .position(|&k| k == kind)
            .expect("ALL lists every kind")]
        .clone()
    }

    /// The environment called `name`: a built-in one (by short name, gymnasium id or CARL class
    /// name, case-insensitively) or a registered one (by its exact name).
    pub fn lookup(name: &str) -> Result<EnvRef> {
        if let Some(found) = registry()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|e| e.name() == name)
        {
            return Ok(found.clone());
        }
        match name.parse::<EnvKind>() {
            Ok(kind) => Ok(EnvRef::builtin(kind)),
            Err(_) => Err(EnvError::UnknownEnv {
                name: name.to_string(),
                known: known_names().join(", "),
            }),
        }
    }

    pub fn spec(&self) -> &EnvSpec {
        &self.0.spec
    }

    pub fn name(&self) -> &str {
        &self.0.spec.name
    }

    /// The built-in environment this is, if it is one.
    pub fn kind(&self) -> Option<EnvKind> {
        match self.0.maker {
            Maker::Builtin(k) => Some(k),
            _ => None,
        }
    }

    /// Whether mbtl can step this environment (false for a declared one).
    pub fn is_simulated(&self) -> bool {
        !matches!(self.0.maker, Maker::Declared)
    }

    /// The feature table under `semantics`, or an error naming what the environment offers.
    pub fn features(&self, semantics: Semantics) -> Result<&[FeatureSpec]> {
        self.0
            .spec
            .features(semantics)
            .ok_or_else(|| EnvError::NoSemantics {
                env: self.name().to_string(),
                semantics: semantics.name(),
                offered: self
                    .0
                    .spec
                    .features
                    .iter()
                    .map(|(s, _)| s.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub(crate) fn maker(&self) -> &Maker {
        &self.0.maker
    }
}

impl From<EnvKind> for EnvRef {
    fn from(kind: EnvKind) -> EnvRef {
        EnvRef::builtin(kind)
    }
}

impl From<&EnvRef> for EnvRef {
    fn from(env: &EnvRef) -> EnvRef {
        env.clone()
    }
}

impl PartialEq for EnvRef {
    fn eq(&self, other: &EnvRef) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.name() == other.name()
    }
}

impl fmt::Debug for EnvRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnvRef({})", self.name())
    }
}

impl fmt::Display for EnvRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn registry() -> &'static RwLock<Vec<EnvRef>> {
    static REGISTRY: OnceLock<RwLock<Vec<EnvRef>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(Vec::new()))
}

/// Registers an outside environment under its [`EnvSpec::name`], so that experiment files,
/// policy files, job files and the command line find it. Registering the same type again is a
/// no-op; another environment under a taken name (a built-in one included) is refused.
pub fn register<D: Dynamics>() -> Result<EnvRef> {
    let env = EnvRef::of::<D>()?;
    let mut reg = registry()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(existing) = reg.iter().find(|e| e.name() == env.name()) {
        let same = matches!(
            (existing.maker(), env.maker()),
            (Maker::Custom(a), Maker::Custom(b)) if std::ptr::fn_addr_eq(*a, *b)
        );
        return if same && existing.spec() == env.spec() {
            Ok(existing.clone())
        } else {
            Err(EnvError::BadSpec(
                env.name().to_string(),
                "another environment is registered under this name".into(),
            ))
        };
    }
    if env.name().parse::<EnvKind>().is_ok() {
        return Err(EnvError::BadSpec(
            env.name().to_string(),
            "the name is taken by a built-in environment".into(),
        ));
    }
    reg.push(env.clone());
    Ok(env)
}

/// Every environment a name can find: the built-in ones, then the registered ones.
pub fn environments() -> Vec<EnvRef> {
    let mut all: Vec<EnvRef> = EnvKind::ALL.iter().map(|&k| EnvRef::builtin(k)).collect();
    all.extend(
        registry()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned(),
    );
    all
}

fn known_names() -> Vec<String> {
    environments()
        .iter()
        .map(|e| e.name().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-feature test environment; `N` makes distinct types with the same name.
    #[derive(Clone)]
    struct Probe<const N: u32>(f64);

    impl<const N: u32> Dynamics for Probe<N> {
        fn spec() -> EnvSpec {
            EnvSpec {
                name: if N == 9 {
                    "cartpole".into()
                } else {
                    "probe".into()
                },
                description: String::new(),
                features: vec![(
                    Semantics::Physical,
                    vec![FeatureSpec::new("gain", 1.0, 0.0, 2.0, "")],
                )],
                obs_dim: 1,
                state_dim: 0,
                action_space: ActionSpace::Discrete { n: 2 },
                max_episode_steps: 3,
                reward_threshold: None,
                return_bounds: None,
                score: None,
            }
        }
        fn from_context(ctx: &Context) -> Self {
            Probe(ctx.get("gain").unwrap())
        }
        fn reset(&mut self, _: &mut EnvRng) {}
        fn step(&mut self, a: Action<'_>, _: &mut EnvRng) -> (f64, bool) {
            (self.0 * f64::from(a.index()), false)
        }
        fn observe(&self, out: &mut [f32]) {
            out[0] = self.0 as f32;
        }
    }

    #[test]
    fn registered_environments_are_found_by_name_and_names_are_not_shared() {
        let env = register::<Probe<0>>().unwrap();
        assert_eq!(
            register::<Probe<0>>().unwrap(),
            env,
            "registering again is a no-op"
        );
        assert_eq!(EnvRef::lookup("probe").unwrap(), env);
        assert!(environments().contains(&env));
        let e = register::<Probe<1>>().unwrap_err().to_string();
        assert!(
            e.contains("'probe'") && e.contains("another environment"),
            "{e}"
        );
        let e = register::<Probe<9>>().unwrap_err().to_string();
        assert!(e.contains("built-in"), "{e}");
        let e = EnvRef::lookup("prob").unwrap_err().to_string();
        assert!(
            e.contains("'prob'") && e.contains("probe") && e.contains("acrobot"),
            "{e}"
        );

        let ctx = Context::new(&env, Semantics::Physical, &[("gain", 1.5)]).unwrap();
        let mut inst = crate::Env::new(ctx.clone(), 0).unwrap();
        assert_eq!(inst.step(Action::Discrete(1)).unwrap().reward, 1.5);
        assert!(inst.step(Action::Discrete(2)).is_err());
        let e = Context::new(&env, Semantics::Carl, &[("gain", 1.0)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no carl semantics") && e.contains("physical"),
            "{e}"
        );
        let e = Context::new(&env, Semantics::Physical, &[("gain", 3.0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("'probe'") && e.contains("[0, 2]"), "{e}");
        assert_eq!(Context::from_record(&ctx.record()).unwrap(), ctx);
    }

    #[test]
    fn declared_environments_have_contexts_but_no_instances() {
        let env = EnvRef::declared(
            "crop",
            "",
            vec![FeatureSpec::new("rain", 500.0, 0.0, f64::INFINITY, "mm")],
        )
        .unwrap();
        assert!(!env.is_simulated());
        let ctx = Context::new(&env, Semantics::Physical, &[("rain", 800.0)]).unwrap();
        assert_eq!(ctx.values(), &[800.0]);
        let e = crate::Env::new(ctx, 0).unwrap_err().to_string();
        assert!(
            e.contains("'crop'") && e.contains("external trainer"),
            "{e}"
        );
        for bad in [
            EnvRef::declared("", "", vec![]),
            EnvRef::declared("a b", "", vec![]),
            EnvRef::declared("x", "", vec![FeatureSpec::new("f", 5.0, 0.0, 1.0, "")]),
            EnvRef::declared(
                "x",
                "",
                vec![
                    FeatureSpec::new("f", 0.5, 0.0, 1.0, ""),
                    FeatureSpec::new("f", 0.5, 0.0, 1.0, ""),
                ],
            ),
        ] {
            assert!(matches!(bad, Err(EnvError::BadSpec(..))));
        }
    }
}
