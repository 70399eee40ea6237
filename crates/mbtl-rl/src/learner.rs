//! One name for "an algorithm with its hyper-parameters": the tuned zoo defaults of an
//! environment with the user's overrides on top, so experiments, the command line and policy
//! headers all speak of learners the same way.

use mbtl_env::{Context, ContextObs, EnvRef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::callback::{EvalCallback, Monitor, TrainLog, Trained};
use crate::dqn::DqnConfig;
use crate::episodic_dqn::{self, EpisodicDqnConfig};
use crate::policy::Policy;
use crate::ppo::PpoConfig;
use crate::sac::SacConfig;
use crate::{Result, RlError, Train};

/// Most environment steps one training may take.
pub const MAX_TIMESTEPS: u64 = 100_000_000_000;
/// Most hidden layers, and units per layer.
pub const MAX_LAYERS: usize = 64;
pub const MAX_WIDTH: usize = 65_536;
/// Most parameters of one network (800 MB of f32 weights).
pub const MAX_PARAMS: usize = 200_000_000;
/// Most parallel training environments.
pub const MAX_ENVS: usize = 65_536;
/// Most samples in one rollout or one minibatch.
pub const MAX_BATCH: usize = 10_000_000;
/// Most transitions a replay buffer may hold.
pub const MAX_BUFFER: usize = 100_000_000;

/// Checks a replay buffer's and a minibatch's sizes against the limits.
pub(crate) fn check_buffer(
    algo: &'static str,
    buffer_size: usize,
    batch_size: usize,
) -> Result<()> {
    if buffer_size > MAX_BUFFER || batch_size > MAX_BATCH {
        return Err(RlError::HyperParameter {
            algo,
            message: format!(
                "buffer_size = {buffer_size}, batch_size = {batch_size}: at most {MAX_BUFFER} transitions and {MAX_BATCH} samples per batch"
            ),
        });
    }
    Ok(())
}

/// Algorithms by their command-line names.
pub const ALGORITHMS: [&str; 4] = ["ppo", "dqn", "sac", episodic_dqn::ALGO];

/// How long a learner trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Environment steps (`total_timesteps`).
    Steps(u64),
    /// Whole episodes (`total_episodes`).
    Episodes(u64),
}

/// Where a learner's hyper-parameters start before the user's overrides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// rl-baselines3-zoo's values tuned for the environment (Stable-Baselines3's defaults for
    /// an environment the zoo does not tune).
    #[default]
    Zoo,
    /// Stable-Baselines3's library defaults, whatever the environment: what the MBTL paper
    /// trained with ("default hyper-parameters"). Stable-Baselines3 has no default budget;
    /// `total_timesteps` is the zoo's untuned one (PPO and SAC 10⁶, DQN 10⁵) until overridden.
    Sb3,
}

impl Preset {
    pub const NAMES: [&'static str; 2] = ["zoo", "sb3"];
}

impl std::str::FromStr for Preset {
    type Err = RlError;
    fn from_str(s: &str) -> Result<Preset> {
        match s {
            "zoo" => Ok(Preset::Zoo),
            "sb3" => Ok(Preset::Sb3),
            _ => Err(RlError::UnknownName {
                what: "preset",
                name: s.to_owned(),
                known: &Preset::NAMES,
            }),
        }
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Preset::Zoo => "zoo",
            Preset::Sb3 => "sb3",
        })
    }
}

/// A learner with every hyper-parameter set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algo", rename_all = "lowercase")]
pub enum Learner {
    Ppo(PpoConfig),
    Dqn(DqnConfig),
    Sac(SacConfig),
    /// `dqn-episodic`: the MBTL traffic experiments' DQN ([`crate::episodic_dqn`]); its one
    /// preset is the authors' settings, whatever the preset named.
    #[serde(rename = "dqn-episodic")]
    EpisodicDqn(EpisodicDqnConfig),
}

impl Learner {
    /// The zoo's tuned settings of `algo` for `env` (Stable-Baselines3's defaults for an
    /// environment the zoo does not tune, outside environments included).
    pub fn zoo(algo: &str, env: impl Into<EnvRef>) -> Result<Learner> {
        Learner::preset(algo, Preset::Zoo, env)
    }

    /// `algo`'s hyper-parameters from `preset` for `env`.
    pub fn preset(algo: &str, preset: Preset, env: impl Into<EnvRef>) -> Result<Learner> {
        let kind = match preset {
            Preset::Zoo => env.into().kind(),
            Preset::Sb3 => None,
        };
        match algo {
            "ppo" => Ok(Learner::Ppo(PpoConfig::zoo(kind))),
            "dqn" => Ok(Learner::Dqn(DqnConfig::zoo(kind))),
            "sac" => Ok(Learner::Sac(SacConfig::zoo(kind))),
            episodic_dqn::ALGO => Ok(Learner::EpisodicDqn(EpisodicDqnConfig::authors())),
            _ => Err(RlError::UnknownName {
                what: "algorithm",
                name: algo.to_owned(),
                known: &ALGORITHMS,
            }),
        }
    }

    pub fn algo(&self) -> &'static str {
        match self {
            Learner::Ppo(_) => "ppo",
            Learner::Dqn(_) => "dqn",
            Learner::Sac(_) => "sac",
            Learner::EpisodicDqn(_) => episodic_dqn::ALGO,
        }
    }

    /// The hyper-parameters as a JSON object (names as in Stable-Baselines3).
    pub fn hyperparameters(&self) -> Value {
        let v = match self {
            Learner::Ppo(c) => serde_json::to_value(c),
            Learner::Dqn(c) => serde_json::to_value(c),
            Learner::Sac(c) => serde_json::to_value(c),
            Learner::EpisodicDqn(c) => serde_json::to_value(c),
        };
        v.expect("hyper-parameter structs serialise to JSON")
    }

    /// Replaces the named hyper-parameters. An unknown name or a value of the wrong type is an
    /// error naming both.
    pub fn with_overrides(&self, overrides: &Map<String, Value>) -> Result<Learner> {
        let Value::Object(mut hp) = self.hyperparameters() else {
            unreachable!("hyper-parameters are a JSON object")
        };
        for (name, value) in overrides {
            let Some(slot) = hp.get_mut(name) else {
                return Err(RlError::UnknownHyperParameter {
                    algo: self.algo(),
                    name: name.clone(),
                    known: hp.keys().cloned().collect(),
                });
            };
            *slot = value.clone();
            let probe = Value::Object(hp.clone());
            let check = match self {
                Learner::Ppo(_) => serde_json::from_value::<PpoConfig>(probe).map(|_| ()),
                Learner::Dqn(_) => serde_json::from_value::<DqnConfig>(probe).map(|_| ()),
                Learner::Sac(_) => serde_json::from_value::<SacConfig>(probe).map(|_| ()),
                Learner::EpisodicDqn(_) => {
                    serde_json::from_value::<EpisodicDqnConfig>(probe).map(|_| ())
                }
            };
            check.map_err(|source| RlError::HyperParameterType {
                algo: self.algo(),
                name: name.clone(),
                value: value.to_string(),
                source,
            })?;
        }
        let all = Value::Object(hp);
        Ok(match self {
            Learner::Ppo(_) => Learner::Ppo(serde_json::from_value(all).expect("checked above")),
            Learner::Dqn(_) => Learner::Dqn(serde_json::from_value(all).expect("checked above")),
            Learner::Sac(_) => Learner::Sac(serde_json::from_value(all).expect("checked above")),
            Learner::EpisodicDqn(_) => {
                Learner::EpisodicDqn(serde_json::from_value(all).expect("checked above"))
            }
        })
    }

    /// Parses `name=value` pairs from the command line (values as JSON, so `hidden=[128,128]`
    /// and `learning_rate=3e-4` both work; a bare word is a string).
    pub fn parse_overrides(pairs: &[String]) -> Result<Map<String, Value>> {
        let mut map = Map::new();
        for pair in pairs {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| RlError::OverrideSyntax { pair: pair.clone() })?;
            let value = serde_json::from_str(value.trim())
                .unwrap_or_else(|_| Value::String(value.trim().into()));
            map.insert(name.trim().into(), value);
        }
        Ok(map)
    }

    /// The network widths (actor and critics share them).
    pub fn hidden(&self) -> &[usize] {
        match self {
            Learner::Ppo(c) => &c.hidden,
            Learner::Dqn(c) => &c.hidden,
            Learner::Sac(c) => &c.hidden,
            Learner::EpisodicDqn(c) => &c.hidden,
        }
    }

    /// Checks every hyper-parameter, and that the algorithm fits `env`'s actions, before
    /// anything is trained or written: a value out of range or sizes that would exhaust memory
    /// are errors naming the hyper-parameter and its value.
    pub fn validate(&self, env: &EnvRef) -> Result<()> {
        let algo = self.algo();
        let bad = |message: String| Err(RlError::HyperParameter { algo, message });
        match self.budget() {
            Budget::Steps(n) if n == 0 || n > MAX_TIMESTEPS => {
                return bad(format!(
                    "total_timesteps = {n} must be between 1 and {MAX_TIMESTEPS}"
                ));
            }
            Budget::Episodes(n) if n == 0 || n > MAX_TIMESTEPS => {
                return bad(format!(
                    "total_episodes = {n} must be between 1 and {MAX_TIMESTEPS}"
                ));
            }
            _ => {}
        }
        let hidden = self.hidden();
        if hidden.len() > MAX_LAYERS || hidden.iter().any(|&w| w == 0 || w > MAX_WIDTH) {
            return bad(format!(
                "hidden = {hidden:?}: at most {MAX_LAYERS} layers of 1 to {MAX_WIDTH} units"
            ));
        }
        // Parameters of the largest network (inputs: the observation and every feature).
        let spec = env.spec();
        let inputs = spec.obs_dim
            + spec
                .features
                .iter()
                .map(|(_, f)| f.len())
                .max()
                .unwrap_or(0);
        let mut params = 0usize;
        let mut fan_in = inputs;
        for &w in hidden
            .iter()
            .chain(std::iter::once(&(2 * spec.action_space.size().max(1))))
        {
            params = params.saturating_add((fan_in + 1).saturating_mul(w));
            fan_in = w;
        }
        if params > MAX_PARAMS {
            return bad(format!(
                "hidden = {hidden:?} makes networks of about {params} parameters; at most {MAX_PARAMS}"
            ));
        }
        match self {
            Learner::Ppo(c) => c.validate(),
            Learner::Dqn(c) => {
                crate::policy::discrete_actions(env, algo)?;
                c.validate()
            }
            Learner::EpisodicDqn(c) => {
                crate::policy::discrete_actions(env, algo)?;
                c.validate()
            }
            Learner::Sac(c) => {
                if spec.action_space.is_discrete() {
                    return Err(RlError::ActionSpace {
                        algo,
                        env: env.to_string(),
                        has: "discrete",
                        needs: "continuous",
                    });
                }
                c.validate()
            }
        }
    }

    /// How long the learner trains.
    pub fn budget(&self) -> Budget {
        match self {
            Learner::Ppo(c) => Budget::Steps(c.total_timesteps),
            Learner::Dqn(c) => Budget::Steps(c.total_timesteps),
            Learner::Sac(c) => Budget::Steps(c.total_timesteps),
            Learner::EpisodicDqn(c) => Budget::Episodes(c.total_episodes),
        }
    }

    /// Trains a policy on `contexts` (one context, or a pool drawn from per episode); the last
    /// policy.
    pub fn train(
        &self,
        contexts: &[Context],
        context_obs: &ContextObs,
        seed: u64,
        progress: impl FnMut(&TrainLog),
    ) -> Result<Policy> {
        Ok(self
            .train_with(contexts, context_obs, seed, None, progress)?
            .policy)
    }

    /// [`Learner::train`] with an optional periodic evaluation, which keeps the best policy
    /// when it is asked to ([`crate::callback`]).
    pub fn train_with(
        &self,
        contexts: &[Context],
        context_obs: &ContextObs,
        seed: u64,
        callback: Option<&EvalCallback>,
        mut progress: impl FnMut(&TrainLog),
    ) -> Result<Trained> {
        if let Some(first) = contexts.first() {
            self.validate(first.env())?;
        }
        let mut monitor = Monitor::new(callback, contexts, seed, &mut progress)?;
        let last = match self {
            Learner::Ppo(c) => c.fit(contexts, context_obs, seed, &mut monitor),
            Learner::Dqn(c) => c.fit(contexts, context_obs, seed, &mut monitor),
            Learner::Sac(c) => c.fit(contexts, context_obs, seed, &mut monitor),
            Learner::EpisodicDqn(c) => c.fit(contexts, context_obs, seed, &mut monitor),
        }?;
        Ok(monitor.finish(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbtl_env::{EnvKind, Semantics};

    #[test]
    fn overrides_replace_named_values_and_reject_unknown_or_mistyped_ones() {
        let zoo = Learner::zoo("ppo", EnvKind::CartPole).unwrap();
        let o = Learner::parse_overrides(&[
            "n_epochs=3".into(),
            "hidden=[32, 32]".into(),
            "learning_rate=3e-4".into(),
        ])
        .unwrap();
        let Learner::Ppo(c) = zoo.with_overrides(&o).unwrap() else {
            panic!("still ppo")
        };
        assert_eq!((c.n_epochs, c.hidden.clone()), (3, vec![32, 32]));
        assert_eq!(c.learning_rate, 3e-4);
        assert_eq!(c.n_steps, 32, "others keep the zoo value");

        let e = zoo
            .with_overrides(&Learner::parse_overrides(&["n_epoch=3".into()]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown hyper-parameter 'n_epoch'") && e.contains("n_epochs"));
        let e = zoo
            .with_overrides(&Learner::parse_overrides(&["n_epochs=many".into()]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("'n_epochs' = \"many\""), "{e}");
        assert!(Learner::parse_overrides(&["n_epochs".into()]).is_err());
        assert!(Learner::zoo("a2c", EnvKind::Pendulum).is_err());
    }

    #[test]
    fn a_pool_policy_records_its_contexts() {
        let base = Context::default_for(EnvKind::CartPole, Semantics::Physical);
        let pool = vec![
            base.with("length", 0.25).unwrap(),
            base.with("length", 1.0).unwrap(),
        ];
        let learner = Learner::zoo("ppo", EnvKind::CartPole)
            .unwrap()
            .with_overrides(&Learner::parse_overrides(&["total_timesteps=512".into()]).unwrap())
            .unwrap();
        let policy = learner
            .train(&pool, &ContextObs::all(&base), 3, |_| {})
            .unwrap();
        assert_eq!(policy.header.context_pool.len(), 2);
        assert_eq!(policy.header.context_pool[1], pool[1].record());
        assert_eq!(policy.header.obs_dim, 4 + base.values().len());
    }
}
