//! The environments mbtl ships and what is fixed about each of them (spaces, episode limits).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::context::Semantics;
use crate::error::EnvError;
use crate::features::features;
use crate::spec::{ActionSpace, EnvSpec};

/// One of the contextual classic-control environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvKind {
    CartPole,
    Pendulum,
    MountainCar,
    MountainCarContinuous,
    Acrobot,
}

impl EnvKind {
    /// Every environment, in the order `mbtl envs` lists them.
    pub const ALL: [EnvKind; 5] = [
        EnvKind::CartPole,
        EnvKind::Pendulum,
        EnvKind::MountainCar,
        EnvKind::MountainCarContinuous,
        EnvKind::Acrobot,
    ];

    /// The short name used on the command line, in files and in results.
    pub fn name(self) -> &'static str {
        match self {
            EnvKind::CartPole => "cartpole",
            EnvKind::Pendulum => "pendulum",
            EnvKind::MountainCar => "mountaincar",
            EnvKind::MountainCarContinuous => "mountaincarcontinuous",
            EnvKind::Acrobot => "acrobot",
        }
    }

    /// The gymnasium id whose dynamics this reproduces.
    pub fn gym_id(self) -> &'static str {
        match self {
            EnvKind::CartPole => "CartPole-v1",
            EnvKind::Pendulum => "Pendulum-v1",
            EnvKind::MountainCar => "MountainCar-v0",
            EnvKind::MountainCarContinuous => "MountainCarContinuous-v0",
            EnvKind::Acrobot => "Acrobot-v1",
        }
    }

    /// Length of the internal (f64) state.
    pub fn state_dim(self) -> usize {
        match self {
            EnvKind::CartPole | EnvKind::Acrobot => 4,
            EnvKind::Pendulum | EnvKind::MountainCar | EnvKind::MountainCarContinuous => 2,
        }
    }

    /// Length of the (f32) observation without context features.
    pub fn obs_dim(self) -> usize {
        match self {
            EnvKind::CartPole => 4,
            EnvKind::Pendulum => 3,
            EnvKind::MountainCar | EnvKind::MountainCarContinuous => 2,
            EnvKind::Acrobot => 6,
        }
    }

    pub fn action_space(self) -> ActionSpace {
        match self {
            EnvKind::CartPole => ActionSpace::Discrete { n: 2 },
            EnvKind::MountainCar | EnvKind::Acrobot => ActionSpace::Discrete { n: 3 },
            EnvKind::Pendulum => ActionSpace::Continuous {
                low: vec![-2.0],
                high: vec![2.0],
            },
            EnvKind::MountainCarContinuous => ActionSpace::Continuous {
                low: vec![-1.0],
                high: vec![1.0],
            },
        }
    }

    /// gymnasium's `max_episode_steps` (the TimeLimit wrapper).
    pub fn max_episode_steps(self) -> u32 {
        match self {
            EnvKind::CartPole | EnvKind::Acrobot => 500,
            EnvKind::Pendulum | EnvKind::MountainCar => 200,
            EnvKind::MountainCarContinuous => 999,
        }
    }

    /// gymnasium's `reward_threshold`, where it has one.
    pub fn reward_threshold(self) -> Option<f64> {
        match self {
            EnvKind::CartPole => Some(475.0),
            EnvKind::Pendulum => None,
            EnvKind::MountainCar => Some(-110.0),
            EnvKind::MountainCarContinuous => Some(90.0),
            EnvKind::Acrobot => Some(-100.0),
        }
    }

    /// The environment's [`EnvSpec`]: what [`crate::EnvRef::builtin`] hands out.
    pub fn spec(self) -> EnvSpec {
        EnvSpec {
            name: self.name().into(),
            description: format!("{} (gymnasium 0.29.1; CARL 1.1.1 features)", self.gym_id()),
            features: [Semantics::Physical, Semantics::Carl]
                .into_iter()
                .map(|s| (s, features(self, s).to_vec()))
                .collect(),
            obs_dim: self.obs_dim(),
            state_dim: self.state_dim(),
            action_space: self.action_space(),
            max_episode_steps: self.max_episode_steps(),
            reward_threshold: self.reward_threshold(),
            return_bounds: self.return_bounds(),
            score: None,
        }
    }

    /// MBTL's normalisation bounds of raw returns (mbtl-spec §4.3), where the paper gives them.
    pub fn return_bounds(self) -> Option<[f64; 2]> {
        match self {
            EnvKind::CartPole => Some([0.0, 500.0]),
            EnvKind::Pendulum => Some([-2200.0, -500.0]),
            _ => None,
        }
    }

    fn known_names() -> String {
        EnvKind::ALL.map(EnvKind::name).join(", ")
    }
}

impl fmt::Display for EnvKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EnvKind {
    type Err = EnvError;

    /// Accepts the short name, the gymnasium id or the CARL class name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .to_ascii_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let key = key.strip_prefix("carl").unwrap_or(&key);
        for kind in EnvKind::ALL {
            let gym: String = kind
                .gym_id()
                .to_ascii_lowercase()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            if key == kind.name() || key == gym {
                return Ok(kind);
            }
        }
        Err(EnvError::UnknownEnv {
            name: s.to_string(),
            known: EnvKind::known_names(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_ids_and_carl_classes() {
        assert_eq!("cartpole".parse::<EnvKind>().unwrap(), EnvKind::CartPole);
        assert_eq!("CartPole-v1".parse::<EnvKind>().unwrap(), EnvKind::CartPole);
        assert_eq!(
            "CARLMountainCarContinuous".parse::<EnvKind>().unwrap(),
            EnvKind::MountainCarContinuous
        );
        assert_eq!(
            "MountainCar-v0".parse::<EnvKind>().unwrap(),
            EnvKind::MountainCar
        );
        let err = "lunarlander".parse::<EnvKind>().unwrap_err().to_string();
        assert!(
            err.contains("lunarlander") && err.contains("acrobot"),
            "{err}"
        );
    }
}
