//! Zero-shot evaluation: deterministic episodes of one policy on many target contexts at once.

use mbtl_env::{BatchActions, BatchEnv, Context, Episode};
use mbtl_nn::Cache;
use serde::Serialize;

use crate::policy::{greedy, Policy};
use crate::{Result, RlError};

/// Most evaluation episodes per target context.
pub const MAX_EPISODES: usize = 1_000_000;

/// Episode scores of one target context: the returns, or the environment's own score where it
/// declares one ([`mbtl_env::EnvSpec::score`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalStats {
    pub mean: f64,
    /// Population standard deviation of the episode scores.
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
    evaluate_with(policy, contexts, episodes, seed, true)
}

/// The `episodes` deterministic episodes of `policy` on `context` from `seed`, one record each
/// (return, score, length): the episodes [`evaluate`] averages for this target.
pub fn episodes(
    policy: &Policy,
    context: &Context,
    episodes: usize,
    seed: u64,
) -> Result<Vec<Episode>> {
    let mut all = run_episodes(policy, std::slice::from_ref(context), episodes, seed, true)?;
    Ok(all.pop().unwrap_or_default())
}

/// [`evaluate`], optionally without dropping finished targets from the batch (for the test
/// that dropping them changes nothing).
fn evaluate_with(
    policy: &Policy,
    contexts: &[Context],
    episodes: usize,
    seed: u64,
    compact: bool,
) -> Result<Vec<EvalStats>> {
    let per_target = run_episodes(policy, contexts, episodes, seed, compact)?;
    Ok(per_target
        .into_iter()
        .map(|eps| {
            let r: Vec<f64> = eps.iter().map(|e| e.score).collect();
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

/// Every target's first `episodes` finished episodes, all targets stepping in one batch.
fn run_episodes(
    policy: &Policy,
    contexts: &[Context],
    episodes: usize,
    seed: u64,
    compact: bool,
) -> Result<Vec<Vec<Episode>>> {
    if episodes == 0 || episodes > MAX_EPISODES {
        return Err(RlError::Episodes {
            episodes,
            max: MAX_EPISODES,
        });
    }
    let mut envs = BatchEnv::new(contexts, seed, &policy.header.context_obs)?;
    policy.check_compatible(envs.env(), &policy.header.context_obs, envs.obs_dim())?;
    let n = contexts.len();
    let a = policy.header.n_actions;
    let dim = policy
        .header
        .continuous
        .as_ref()
        .map_or(0, super::policy::ContinuousHead::dim);
    let mut out = envs.output();
    envs.reset(&mut out);
    let mut returns: Vec<Vec<Episode>> = vec![Vec::with_capacity(episodes); n];
    let mut cache = Cache::default();
    // Batch position → target. Targets with all their episodes leave the batch (in groups, so
    // the batch is not rebuilt every step); the others step on exactly as they would have.
    let mut target: Vec<usize> = (0..n).collect();
    let mut actions = vec![0u32; n];
    let mut continuous = vec![0.0f32; dim * n];
    while !target.is_empty() {
        let m = target.len();
        let head = policy.actor.forward(&out.obs, m, &mut cache);
        match &policy.header.continuous {
            Some(h) => {
                h.deterministic(head, &mut continuous[..dim * m]);
                envs.step(BatchActions::Continuous(&continuous[..dim * m]), &mut out)?;
            }
            None => {
                for (e, act) in actions[..m].iter_mut().enumerate() {
                    *act = greedy(&head[e * a..(e + 1) * a]) as u32;
                }
                envs.step(BatchActions::Discrete(&actions[..m]), &mut out)?;
            }
        }
        for ep in &out.episodes {
            let r = &mut returns[target[ep.index]];
            if r.len() < episodes {
                r.push(Episode {
                    index: target[ep.index],
                    ..*ep
                });
            }
        }
        let finished = target
            .iter()
            .filter(|&&t| returns[t].len() >= episodes)
            .count();
        if finished > 0 && (finished == m || (compact && finished * 4 >= m)) {
            envs.retain(|i| returns[target[i]].len() < episodes);
            target.retain(|&t| returns[t].len() < episodes);
            out = envs.output();
            envs.observe(&mut out.obs);
        }
    }
    Ok(returns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppo::PpoConfig;
    use crate::Train;
    use mbtl_env::{ContextObs, EnvKind, Semantics};

    #[test]
    fn dropping_finished_targets_changes_no_result() {
        // A briefly trained policy on pole lengths from easy to hopeless: episode lengths
        // differ widely, so targets finish at very different times.
        let base = Context::default_for(EnvKind::CartPole, Semantics::Physical);
        let config = PpoConfig {
            total_timesteps: 20_000,
            ..PpoConfig::zoo(EnvKind::CartPole)
        };
        let policy = config.train(&base, &ContextObs::Hidden, 2, |_| {}).unwrap();
        let contexts: Vec<Context> = [0.05, 0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0]
            .iter()
            .map(|&l| base.with("length", l).unwrap())
            .collect();
        let compact = evaluate_with(&policy, &contexts, 20, 3, true).unwrap();
        let full = evaluate_with(&policy, &contexts, 20, 3, false).unwrap();
        assert_eq!(compact, full);
        let lengths: Vec<f64> = compact.iter().map(|s| s.mean).collect();
        assert!(
            lengths.iter().cloned().fold(f64::INFINITY, f64::min) * 2.0
                < lengths.iter().cloned().fold(0.0, f64::max),
            "targets should finish at different times: {lengths:?}"
        );
    }
}
