//! Zero-shot evaluation: deterministic episodes of one policy on many target contexts at once.

use mbtl_env::{BatchActions, BatchEnv, Context};
use mbtl_nn::Cache;
use serde::Serialize;

use crate::policy::Policy;
use crate::{Result, RlError};

/// Returns of one target context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalStats {
    pub mean: f64,
    /// Population standard deviation of the episode returns.
    pub std: f64,
    pub episodes: usize,
}

/// Runs `episodes` deterministic episodes on each of `contexts` (all in one batch) from `seed`.
pub fn evaluate(
    policy: &Policy,
    contexts: &[Context],
    episodes: usize,
    seed: u64,
) -> Result<Vec<EvalStats>> {
    if episodes == 0 {
        return Err(RlError::Config(
            "evaluation needs at least one episode".into(),
        ));
    }
    let mut envs = BatchEnv::new(contexts, seed, &policy.header.context_obs)?;
    policy.check_compatible(envs.kind(), &policy.header.context_obs, envs.obs_dim())?;
    let n = contexts.len();
    let a = policy.header.n_actions;
    let mut out = envs.output();
    envs.reset(&mut out);
    let mut returns: Vec<Vec<f64>> = vec![Vec::with_capacity(episodes); n];
    let mut cache = Cache::default();
    let mut actions = vec![0u32; n];
    let mut continuous = vec![0.0f32; policy.header.continuous.as_ref().map_or(0, |h| h.dim()) * n];
    while returns.iter().any(|r| r.len() < episodes) {
        let head = policy.actor.forward(&out.obs, n, &mut cache);
        match &policy.header.continuous {
            Some(h) => {
                h.deterministic(head, &mut continuous);
                envs.step(BatchActions::Continuous(&continuous), &mut out)?;
            }
            None => {
                for (e, act) in actions.iter_mut().enumerate() {
                    let row = &head[e * a..(e + 1) * a];
                    let mut best = 0;
                    for (i, &l) in row.iter().enumerate() {
                        if l > row[best] {
                            best = i;
                        }
                    }
                    *act = best as u32;
                }
                envs.step(BatchActions::Discrete(&actions), &mut out)?;
            }
        }
        for ep in &out.episodes {
            if returns[ep.index].len() < episodes {
                returns[ep.index].push(ep.ret);
            }
        }
    }
    Ok(returns
        .into_iter()
        .map(|r| {
            let m = r.iter().sum::<f64>() / r.len() as f64;
            let var = r.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / r.len() as f64;
            EvalStats {
                mean: m,
                std: var.sqrt(),
                episodes: r.len(),
            }
        })
        .collect())
}
