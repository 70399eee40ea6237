//! The off-policy learners' replay buffer (DQN, SAC): a ring of transitions with uniform
//! sampling, as Stable-Baselines3 keeps it with `handle_timeout_termination`: an episode cut by
//! the time limit is not terminal, and its next observation is the real last one.

use mbtl_env::BatchOutput;
use rand_core::RngCore;
use rand_pcg::Pcg64Mcg;

/// A ring buffer of `(s, a, r, s', terminated)`; actions are `action_len` floats (a discrete
/// action is stored as its index).
#[derive(Debug, Clone)]
pub(crate) struct Replay {
    obs_dim: usize,
    action_len: usize,
    cap: usize,
    len: usize,
    pos: usize,
    obs: Vec<f32>,
    next: Vec<f32>,
    action: Vec<f32>,
    reward: Vec<f32>,
    terminated: Vec<bool>,
}

/// A sampled minibatch, row-major.
#[derive(Debug, Clone, Default)]
pub(crate) struct Batch {
    pub obs: Vec<f32>,
    pub next: Vec<f32>,
    pub action: Vec<f32>,
    pub reward: Vec<f32>,
    pub terminated: Vec<bool>,
}

impl Replay {
    pub(crate) fn new(cap: usize, obs_dim: usize, action_len: usize) -> Replay {
        Replay {
            obs_dim,
            action_len,
            cap,
            len: 0,
            pos: 0,
            obs: vec![0.0; cap * obs_dim],
            next: vec![0.0; cap * obs_dim],
            action: vec![0.0; cap * action_len],
            reward: vec![0.0; cap],
            terminated: vec![false; cap],
        }
    }

    /// Stores the transition of instance 0 of a one-instance batch step that started from `obs`.
    pub(crate) fn push_step(&mut self, obs: &[f32], action: &[f32], out: &BatchOutput) {
        let d = self.obs_dim;
        let next = if out.terminated[0] || out.truncated[0] {
            &out.final_obs
        } else {
            &out.obs
        };
        let p = self.pos;
        self.obs[p * d..(p + 1) * d].copy_from_slice(&obs[..d]);
        self.next[p * d..(p + 1) * d].copy_from_slice(&next[..d]);
        let a = self.action_len;
        self.action[p * a..(p + 1) * a].copy_from_slice(action);
        self.reward[p] = out.reward[0] as f32;
        self.terminated[p] = out.terminated[0];
        self.pos = (p + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }

    /// Transitions held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `min(size, len)` distinct transitions drawn uniformly into `batch` (Python's
    /// `random.sample`, which the MBTL traffic DQN samples with; the whole buffer while it
    /// holds fewer than `size`), by Floyd's algorithm: one draw per sample, no shuffle of the
    /// buffer.
    pub(crate) fn sample_distinct(&self, size: usize, rng: &mut Pcg64Mcg, batch: &mut Batch) {
        let n = self.len;
        let k = size.min(n);
        let mut chosen: Vec<usize> = Vec::with_capacity(k);
        for j in n - k..n {
            let t = (rng.next_u64() % (j as u64 + 1)) as usize;
            chosen.push(if chosen.contains(&t) { j } else { t });
        }
        self.gather(&chosen, batch);
    }

    /// `size` transitions drawn uniformly with replacement into `batch`.
    pub(crate) fn sample(&self, size: usize, rng: &mut Pcg64Mcg, batch: &mut Batch) {
        let picks: Vec<usize> = (0..size)
            .map(|_| (rng.next_u64() % self.len as u64) as usize)
            .collect();
        self.gather(&picks, batch);
    }

    /// Copies the transitions at `picks` into `batch`, in that order.
    fn gather(&self, picks: &[usize], batch: &mut Batch) {
        let (d, a) = (self.obs_dim, self.action_len);
        batch.obs.clear();
        batch.next.clear();
        batch.action.clear();
        batch.reward.clear();
        batch.terminated.clear();
        for &i in picks {
            batch.obs.extend_from_slice(&self.obs[i * d..(i + 1) * d]);
            batch.next.extend_from_slice(&self.next[i * d..(i + 1) * d]);
            batch
                .action
                .extend_from_slice(&self.action[i * a..(i + 1) * a]);
            batch.reward.push(self.reward[i]);
            batch.terminated.push(self.terminated[i]);
        }
    }
}

#[cfg(test)]
impl Replay {
    pub(crate) fn obs_row(&self, i: usize) -> Vec<f32> {
        self.obs[i * self.obs_dim..(i + 1) * self.obs_dim].to_vec()
    }

    pub(crate) fn next_row(&self, i: usize) -> Vec<f32> {
        self.next[i * self.obs_dim..(i + 1) * self.obs_dim].to_vec()
    }

    /// Reward and (discrete) action of transition `i`.
    pub(crate) fn reward_action(&self, i: usize) -> (f32, usize) {
        (self.reward[i], self.action[i * self.action_len] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn step(reward: f64, terminated: bool, truncated: bool) -> BatchOutput {
        BatchOutput {
            obs: vec![9.0, 9.0],
            reward: vec![reward],
            terminated: vec![terminated],
            truncated: vec![truncated],
            final_obs: vec![7.0, 7.0],
            episodes: Vec::new(),
        }
    }

    #[test]
    fn distinct_samples_are_distinct_and_cover_the_buffer() {
        let mut r = Replay::new(10, 1, 1);
        for t in 0..7 {
            r.push_step(&[t as f32], &[0.0], &step(f64::from(t), false, false));
        }
        let mut b = Batch::default();
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        r.sample_distinct(100, &mut rng, &mut b);
        let mut seen: Vec<i32> = b.reward.iter().map(|&x| x as i32).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..7).collect::<Vec<_>>(),
            "fewer than asked: all of them"
        );
        let mut counts = [0u32; 7];
        for _ in 0..7000 {
            r.sample_distinct(3, &mut rng, &mut b);
            let mut k: Vec<i32> = b.reward.iter().map(|&x| x as i32).collect();
            k.sort_unstable();
            k.dedup();
            assert_eq!(k.len(), 3);
            k.iter().for_each(|&i| counts[i as usize] += 1);
        }
        // Each transition is in 3/7 of the draws: 3000 of 7000, within a few σ (σ ≈ 41).
        assert!(
            counts.iter().all(|&c| (2800..3200).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn keeps_the_last_cap_transitions_and_the_real_next_observation() {
        let mut r = Replay::new(2, 2, 1);
        r.push_step(&[0.0, 0.0], &[1.0], &step(1.0, false, false));
        r.push_step(&[1.0, 1.0], &[0.0], &step(2.0, false, true));
        r.push_step(&[2.0, 2.0], &[1.0], &step(3.0, true, false));
        let mut b = Batch::default();
        r.sample(64, &mut Pcg64Mcg::seed_from_u64(1), &mut b);
        assert_eq!(b.reward.len(), 64);
        for k in 0..64 {
            // The first transition was overwritten; cut or ended episodes store final_obs.
            match b.reward[k] as i32 {
                2 => assert!(!b.terminated[k] && b.next[2 * k] == 7.0 && b.obs[2 * k] == 1.0),
                3 => assert!(b.terminated[k] && b.next[2 * k] == 7.0 && b.action[k] == 1.0),
                other => panic!("reward {other} should have been overwritten"),
            }
        }
    }
}
