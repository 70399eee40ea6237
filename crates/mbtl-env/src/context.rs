//! Contexts: the full set of feature values one task runs with, and the semantics that decide
//! how those values reach the dynamics.
//!
//! A [`Context`] is always *full*: the defaults of its environment and semantics merged with
//! overrides, each value validated against the declared bounds. CARL itself hands partial
//! contexts to gymnasium, which then keeps its own values for the missing keys (envs-spec.md §0
//! finding 4); materialising every value avoids that trap and makes every result self-describing.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{EnvError, Result};
use crate::features::features;
use crate::kind::EnvKind;
use crate::spec::{EnvRef, FeatureSpec};

/// How context features act on the dynamics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Semantics {
    /// Bit-exact CARL 1.1.1 on gymnasium 0.29.1, quirks included (dead features, CARL's reset
    /// ranges and goal defaults).
    Carl,
    /// Every feature acts as the physics says; gymnasium's reset ranges and goal defaults.
    #[default]
    Physical,
}

impl Semantics {
    pub fn name(self) -> &'static str {
        match self {
            Semantics::Carl => "carl",
            Semantics::Physical => "physical",
        }
    }
}

impl fmt::Display for Semantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Semantics {
    type Err = EnvError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "carl" => Ok(Semantics::Carl),
            "physical" => Ok(Semantics::Physical),
            _ => Err(EnvError::UnknownSemantics(s.to_string())),
        }
    }
}

/// The full context of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    env: EnvRef,
    semantics: Semantics,
    values: Vec<f64>,
}

impl Context {
    /// The default context of the built-in environment `kind` under `semantics`.
    pub fn default_for(kind: EnvKind, semantics: Semantics) -> Context {
        Context {
            env: EnvRef::builtin(kind),
            semantics,
            values: features(kind, semantics)
                .iter()
                .map(|f| f.default)
                .collect(),
        }
    }

    /// The default context of any environment under `semantics` (an error if the environment
    /// does not offer that semantics).
    pub fn defaults(env: impl Into<EnvRef>, semantics: Semantics) -> Result<Context> {
        let env = env.into();
        let values = env.features(semantics)?.iter().map(|f| f.default).collect();
        Ok(Context {
            env,
            semantics,
            values,
        })
    }

    /// Defaults merged with `overrides`; every override is checked (name, finiteness, bounds).
    pub fn new<S: AsRef<str>>(
        env: impl Into<EnvRef>,
        semantics: Semantics,
        overrides: &[(S, f64)],
    ) -> Result<Context> {
        let mut ctx = Context::defaults(env, semantics)?;
        for (name, value) in overrides {
            ctx.set(name.as_ref(), *value)?;
        }
        Ok(ctx)
    }

    /// Sets one feature, validating it.
    pub fn set(&mut self, name: &str, value: f64) -> Result<()> {
        let index = self.index_of(name)?;
        self.set_at(index, value)
    }

    /// Sets the feature at position `index` of the feature table, validating it.
    pub fn set_at(&mut self, index: usize, value: f64) -> Result<()> {
        let spec = &self.features()[index];
        check_value(self.env.name(), spec, value)?;
        self.values[index] = value;
        Ok(())
    }

    /// A copy with one feature changed.
    pub fn with(&self, name: &str, value: f64) -> Result<Context> {
        let mut ctx = self.clone();
        ctx.set(name, value)?;
        Ok(ctx)
    }

    /// Position of a feature in this context's feature table, or a clear error.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.features()
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| EnvError::UnknownFeature {
                env: self.env.name().to_string(),
                semantics: self.semantics.name(),
                feature: name.to_string(),
                known: self
                    .features()
                    .iter()
                    .map(|f| f.name.as_ref())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn get(&self, name: &str) -> Result<f64> {
        Ok(self.values[self.index_of(name)?])
    }

    /// The environment this is a context of.
    pub fn env(&self) -> &EnvRef {
        &self.env
    }

    /// The built-in environment, if it is one.
    pub fn kind(&self) -> Option<EnvKind> {
        self.env.kind()
    }

    pub fn semantics(&self) -> Semantics {
        self.semantics
    }

    pub fn features(&self) -> &[FeatureSpec] {
        self.env
            .spec()
            .features(self.semantics)
            .expect("a context's semantics was checked when it was made")
    }

    /// Values in feature-table order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// `(name, value)` pairs in feature-table order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.features()
            .iter()
            .map(|f| f.name.as_ref())
            .zip(self.values.iter().copied())
    }

    /// The features that differ from the defaults, in table order.
    pub fn overrides(&self) -> Vec<(&str, f64)> {
        self.iter()
            .zip(self.features())
            .filter(|((_, v), spec)| v.to_bits() != spec.default.to_bits())
            .map(|(pair, _)| pair)
            .collect()
    }

    /// A plain, serialisable description (environment, semantics, every feature).
    pub fn record(&self) -> ContextRecord {
        ContextRecord {
            env: self.env.name().to_string(),
            semantics: self.semantics,
            features: self.iter().map(|(n, v)| (n.to_string(), v)).collect(),
        }
    }

    /// Rebuilds a context from its record, finding the environment by name
    /// ([`EnvRef::lookup`]); every value is validated again.
    pub fn from_record(record: &ContextRecord) -> Result<Context> {
        Context::from_record_in(&EnvRef::lookup(&record.env)?, record)
    }

    /// Rebuilds a context of `env` from its record (whose environment name must be `env`'s).
    pub fn from_record_in(env: &EnvRef, record: &ContextRecord) -> Result<Context> {
        if record.env != env.name() {
            return Err(EnvError::BadBatch(format!(
                "a context of '{}' where one of '{}' was expected",
                record.env,
                env.name()
            )));
        }
        let pairs: Vec<(&str, f64)> = record
            .features
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        Context::new(env, record.semantics, &pairs)
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.env, self.semantics)?;
        let overrides = self.overrides();
        if overrides.is_empty() {
            return f.write_str(" default");
        }
        for (i, (name, value)) in overrides.iter().enumerate() {
            write!(f, "{}{name}={value}", if i == 0 { " " } else { "," })?;
        }
        Ok(())
    }
}

/// A context as plain data, for result files and run stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextRecord {
    /// The environment's name.
    pub env: String,
    pub semantics: Semantics,
    pub features: BTreeMap<String, f64>,
}

pub(crate) fn check_value(env: &str, spec: &FeatureSpec, value: f64) -> Result<()> {
    if !value.is_finite() {
        return Err(EnvError::NonFinite {
            env: env.to_string(),
            feature: spec.name.to_string(),
            value,
        });
    }
    if value < spec.lower || value > spec.upper {
        return Err(EnvError::OutOfBounds {
            env: env.to_string(),
            feature: spec.name.to_string(),
            value,
            lower: spec.lower,
            upper: spec.upper,
        });
    }
    Ok(())
}

/// Parses `name=value[,name=value...]` (the `--context` syntax). Whitespace is ignored; an
/// empty string gives no overrides.
pub fn parse_overrides(text: &str) -> Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').ok_or_else(|| EnvError::BadOverride {
            text: part.to_string(),
            why: "missing '='".into(),
        })?;
        let value: f64 = value.trim().parse().map_err(|_| EnvError::BadOverride {
            text: part.to_string(),
            why: format!("'{}' is not a number", value.trim()),
        })?;
        out.push((name.trim().to_string(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_are_full_and_validated() {
        let ctx = Context::new(EnvKind::CartPole, Semantics::Carl, &[("length", 0.25)]).unwrap();
        assert_eq!(ctx.values().len(), 8);
        assert_eq!(ctx.get("length").unwrap(), 0.25);
        assert_eq!(ctx.get("gravity").unwrap(), 9.8);
        assert_eq!(ctx.overrides(), vec![("length", 0.25)]);

        let e = Context::new(EnvKind::CartPole, Semantics::Carl, &[("length", 50.0)]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("length") && msg.contains("50") && msg.contains("[0.05, 5]"),
            "{msg}"
        );

        let e =
            Context::new(EnvKind::Pendulum, Semantics::Physical, &[("gravity", 3.0)]).unwrap_err();
        assert!(matches!(e, EnvError::UnknownFeature { .. }), "{e}");
        assert!(e.to_string().contains("max_speed"));

        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = Context::new(EnvKind::Acrobot, Semantics::Carl, &[("LINK_MASS_2", bad)])
                .unwrap_err();
            assert!(matches!(e, EnvError::NonFinite { .. }), "{e}");
        }
    }

    #[test]
    fn overrides_parse_and_report_bad_text() {
        let o = parse_overrides(" length=0.25, masspole = 0.5 ").unwrap();
        assert_eq!(o, vec![("length".into(), 0.25), ("masspole".into(), 0.5)]);
        assert!(parse_overrides("length")
            .unwrap_err()
            .to_string()
            .contains("missing '='"));
        assert!(parse_overrides("length=abc")
            .unwrap_err()
            .to_string()
            .contains("'abc'"));
        assert!(parse_overrides("").unwrap().is_empty());
    }

    #[test]
    fn records_round_trip() {
        let ctx =
            Context::new(EnvKind::MountainCar, Semantics::Carl, &[("gravity", 0.004)]).unwrap();
        let json = serde_json::to_string(&ctx.record()).unwrap();
        let back: ContextRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(Context::from_record(&back).unwrap(), ctx);
    }
}
