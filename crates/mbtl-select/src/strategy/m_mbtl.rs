//! M-MBTL (sdmbtl-spec §3.2): under Mountain structure, maximising `V_k` greedily is a
//! sequential L1 clustering of the task space, `x_k = argmin_x E_y[min_{x' ∈ S ∪ {x}} ‖x' − y‖₁]`.
//! Each step tries every candidate start for one new centre, moves only that centre with Lloyd
//! updates (mean of its members; existing centres frozen), keeps the cheapest, rounds it to the
//! grid (half to even) and trains that task. It ignores the transfer matrix entirely.
//!
//! Faithful to the published results: every task is a candidate by default (the authors' shipped
//! code samples 400; that reproduces the published 3-D numbers only with all tasks), weights
//! 0.01 per dimension, at most 300 Lloyd iterations with tolerance 1e-6, strict-inequality
//! switching for points of frozen clusters, and the cost cache of the authors' "technique 2":
//! from the third round a candidate is refitted only if its last cluster intersects the last
//! chosen candidate's, otherwise its cost drops by the last accepted improvement.

use std::collections::HashMap;
use std::sync::Mutex;

use rayon::prelude::*;

use super::{argmax_tol, nearest_task, History, Strategy, TIE_TOL};
use crate::error::Result;
use crate::space::TaskSpace;
use mbtl_rng::RandomState;

const WEIGHT: f64 = 0.01;
const MAX_ITER: usize = 300;
const TOL: f64 = 1e-6;
/// Lloyd states remembered per fit (see [`Memo`]).
const MEMO_ITERS: usize = 1;

/// Which tasks are tried as the start of a new centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// Every task (reproduces the published 3-D results).
    All,
    /// A random subset of this size, drawn once (`np.random.choice(N, m, replace=False)`).
    Subset(usize),
}

impl std::fmt::Display for Candidates {
    /// `all` or the subset size: what [`Candidates::from_str`](std::str::FromStr) reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Candidates::All => f.write_str("all"),
            Candidates::Subset(m) => write!(f, "{m}"),
        }
    }
}

impl std::str::FromStr for Candidates {
    type Err = crate::SelectError;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "all" => Ok(Candidates::All),
            m => match m.parse::<usize>() {
                Ok(m) if m > 0 => Ok(Candidates::Subset(m)),
                _ => Err(crate::SelectError::Invalid {
                    what: "candidates",
                    value: s.to_string(),
                    expected: "all or a number ≥ 1".into(),
                }),
            },
        }
    }
}

#[derive(Debug, Clone)]
struct Fit {
    cost: f64,
    members: Vec<u64>,
}

/// Weighted L1 distance, `Σ_d w·|a_d − b_d|` summed in this order: membership ties
/// (`dist(x, new) == dist(x, old)`) are decided by these exact bits, as in the reference.
#[inline]
fn dist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        s += WEIGHT * (x - y).abs();
    }
    s
}

/// Task coordinates by dimension (structure of arrays) and, on a grid, its split into blocks:
/// the last dimensions (at least [`BLOCK`] points) form a block, so that a block whose nearest
/// possible point is farther from the new centre than all of its points are from their frozen
/// centres is skipped without computing its distances.
#[derive(Debug, Clone)]
struct Columns {
    n: usize,
    cols: Vec<Vec<f64>>,
    levels: Option<Vec<usize>>,
    /// Number of leading (head) dimensions; the rest form a block.
    head_dims: usize,
    block: usize,
}

const BLOCK: usize = 16;

impl Columns {
    fn new(space: &TaskSpace) -> Columns {
        let n = space.len();
        let cols = (0..space.dim())
            .map(|d| (0..n).map(|t| space.coord(t)[d]).collect())
            .collect();
        let levels = space.levels().map(<[usize]>::to_vec);
        let (mut head_dims, mut block) = (space.dim(), 1);
        if let Some(l) = &levels {
            while head_dims > 0 && block < BLOCK {
                head_dims -= 1;
                block *= l[head_dims];
            }
        } else {
            (head_dims, block) = (0, n);
        }
        Columns {
            n,
            cols,
            levels,
            head_dims,
            block,
        }
    }

    /// `Σ_x min(dist(x, c), dmin[x])`, block by block; a block that `c` cannot reach
    /// contributes its `dmin` sum.
    #[inline(always)]
    fn cost(&self, c: &[f64], dmin: &[f64], bmax: &[f64]) -> f64 {
        let tail_min = self.tail_min(c);
        let tail_terms = self.tail_terms(c);
        let heads = self.heads(c);
        let mut d0 = vec![0.0; self.block];
        let mut total = 0.0;
        for (b, &bm) in bmax.iter().enumerate() {
            let x0 = b * self.block;
            let block_dmin = &dmin[x0..x0 + self.block];
            let head = heads[b];
            if head + tail_min > bm * (1.0 + 1e-12) {
                total += block_dmin.iter().sum::<f64>();
                continue;
            }
            d0.fill(head);
            for terms in &tail_terms {
                for (o, t) in d0.iter_mut().zip(terms) {
                    *o += t;
                }
            }
            total += d0
                .iter()
                .zip(block_dmin)
                .map(|(d, m)| d.min(*m))
                .sum::<f64>();
        }
        total
    }

    /// Per tail dimension, `w·|x_d − c_d|` for the points of a block. Every block of a
    /// row-major grid has the same tail coordinates, so these are computed once per centre.
    fn tail_terms(&self, c: &[f64]) -> Vec<Vec<f64>> {
        self.cols[self.head_dims..]
            .iter()
            .zip(&c[self.head_dims..])
            .map(|(col, &cd)| {
                col[..self.block]
                    .iter()
                    .map(|&v| WEIGHT * (v - cd).abs())
                    .collect()
            })
            .collect()
    }

    /// Distance over the head dimensions of every block, expanded dimension by dimension from
    /// per-level tables: the same additions in the same order as summing each block's head
    /// dimensions one after the other, at one addition per block.
    fn heads(&self, c: &[f64]) -> Vec<f64> {
        let nb = self.n / self.block;
        let mut out = vec![0.0; nb];
        let Some(levels) = &self.levels else {
            return out;
        };
        let mut len = 1;
        for (&l, &cd) in levels[..self.head_dims].iter().zip(c) {
            let table: Vec<f64> = (0..l).map(|v| WEIGHT * (v as f64 - cd).abs()).collect();
            for p in (0..len).rev() {
                let base = out[p];
                for (y, t) in table.iter().enumerate().rev() {
                    out[p * l + y] = base + t;
                }
            }
            len *= l;
        }
        out
    }

    /// A lower bound of the tail part of the distance to `c` over any block.
    #[inline(always)]
    fn tail_min(&self, c: &[f64]) -> f64 {
        (self.head_dims..self.cols.len())
            .map(|d| match &self.levels {
                Some(l) => (0..l[d])
                    .map(|v| WEIGHT * (v as f64 - c[d]).abs())
                    .fold(f64::INFINITY, f64::min),
                None => 0.0,
            })
            .sum()
    }

    /// Per block, the largest `dmin` of its points.
    fn block_max(&self, dmin: &[f64]) -> Vec<f64> {
        dmin.chunks(self.block)
            .map(|b| b.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .collect()
    }
}

/// Cost, member bitset and final centre of one fit.
type FitResult = (f64, Vec<u64>, Vec<f64>);

/// Within one round (fixed frozen centres), the Lloyd trajectory from a state (centre, members)
/// is determined by that state, and many candidate starts reach the same state after one
/// update; their fits are then computed once. Keys are exact bits, so results are unchanged.
type Memo = Mutex<HashMap<(Vec<u64>, Vec<u64>), FitResult>>;

fn bitset(member: &[bool]) -> Vec<u64> {
    let mut bits = vec![0u64; member.len().div_ceil(64)];
    for (x, &m) in member.iter().enumerate() {
        if m {
            bits[x / 64] |= 1 << (x % 64);
        }
    }
    bits
}

/// Fits one new centre from `start` with the others frozen (`dmin[x]` = distance of point `x`
/// to its nearest frozen centre, `bmax` its maximum per block). Returns the cost, the member
/// bitset and the final centre.
fn fit_centre(cols: &Columns, dmin: &[f64], bmax: &[f64], start: &[f64], memo: &Memo) -> FitResult {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { fit_centre_avx2(cols, dmin, bmax, start, memo) };
    }
    fit_centre_generic(cols, dmin, bmax, start, memo)
}

/// The same code compiled with AVX2 enabled (wider vectors for the distance loops; IEEE
/// arithmetic, so the results are bit-identical to [`fit_centre_generic`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fit_centre_avx2(
    cols: &Columns,
    dmin: &[f64],
    bmax: &[f64],
    start: &[f64],
    memo: &Memo,
) -> FitResult {
    fit_centre_generic(cols, dmin, bmax, start, memo)
}

#[inline(always)]
fn fit_centre_generic(
    cols: &Columns,
    dmin: &[f64],
    bmax: &[f64],
    start: &[f64],
    memo: &Memo,
) -> FitResult {
    let n = cols.n;
    let dim = cols.cols.len();
    let nb = n / cols.block;
    let mut c = start.to_vec();
    let mut member = vec![false; n];
    let mut active = vec![false; nb];
    let mut d0 = vec![0.0; cols.block];
    let mut sums = vec![0.0; dim];
    let mut states = Vec::new();
    for it in 0..MAX_ITER {
        // Head distance of each block (its first point's head coordinates) and a lower bound
        // on the tail part.
        let tail_min = cols.tail_min(&c);
        let tail_terms = cols.tail_terms(&c);
        let heads = cols.heads(&c);
        let first = it == 0;
        let mut count = 0usize;
        sums.fill(0.0);
        for b in 0..nb {
            let x0 = b * cols.block;
            let head = heads[b];
            let was_active = active[b];
            if head + tail_min > bmax[b] * (1.0 + 1e-12) {
                if was_active {
                    member[x0..x0 + cols.block].fill(false);
                }
                active[b] = false;
                continue;
            }
            active[b] = true;
            // Exact distances of the block, summed in dimension order.
            d0.fill(head);
            for terms in &tail_terms {
                for (o, t) in d0.iter_mut().zip(terms) {
                    *o += t;
                }
            }
            let mut in_block = 0usize;
            for ((m, &d), &dm) in member[x0..x0 + cols.block]
                .iter_mut()
                .zip(&d0)
                .zip(&dmin[x0..x0 + cols.block])
            {
                // Members stay while no farther than their frozen centre; others join only when
                // strictly nearer; in the first iteration ties go to the new centre.
                *m = (d < dm) | ((first | *m) & (d == dm));
                in_block += *m as usize;
            }
            if in_block > 0 {
                count += in_block;
                // Head coordinates are constant over a block; coordinates are integers on a
                // grid, so these sums are exact in any order.
                for (s, col) in sums[..cols.head_dims].iter_mut().zip(&cols.cols) {
                    *s += in_block as f64 * col[x0];
                }
                for (s, col) in sums[cols.head_dims..]
                    .iter_mut()
                    .zip(&cols.cols[cols.head_dims..])
                {
                    *s += col[x0..x0 + cols.block]
                        .iter()
                        .zip(&member[x0..x0 + cols.block])
                        .map(|(v, &m)| if m { *v } else { 0.0 })
                        .sum::<f64>();
                }
            }
        }
        if count == 0 {
            break;
        }
        let mut shift: f64 = 0.0;
        for (ci, s) in c.iter_mut().zip(&sums) {
            let mean = s / count as f64;
            shift = shift.max((mean - *ci).abs());
            *ci = mean;
        }
        if shift < TOL {
            break;
        }
        if it < MEMO_ITERS {
            let key = (
                c.iter().map(|v| v.to_bits()).collect::<Vec<u64>>(),
                bitset(&member),
            );
            if let Some(hit) = memo.lock().expect("memo lock").get(&key) {
                return hit.clone();
            }
            states.push(key);
        }
    }
    let result = (cols.cost(&c, dmin, bmax), bitset(&member), c);
    let mut memo = memo.lock().expect("memo lock");
    for key in states {
        memo.insert(key, result.clone());
    }
    result
}

fn intersects(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).any(|(x, y)| x & y != 0)
}

/// The clustering state shared by M-MBTL and M/GP-MBTL.
#[derive(Debug, Clone)]
pub(crate) struct Clustering {
    candidates: Option<Vec<usize>>,
    cols: Option<Columns>,
    mode: Candidates,
    seed: u32,
    rng: RandomState,
    dmin: Vec<f64>,
    centres: usize,
    cost: f64,
    delta: f64,
    cache: Option<Vec<Fit>>,
    last: Option<usize>,
}

impl Clustering {
    pub(crate) fn new(mode: Candidates, seed: u32) -> Clustering {
        Clustering {
            candidates: None,
            cols: None,
            mode,
            seed,
            rng: RandomState::new(seed),
            dmin: Vec::new(),
            centres: 0,
            cost: 0.0,
            delta: 0.0,
            cache: None,
            last: None,
        }
    }

    fn init(&mut self, space: &TaskSpace) {
        let n = space.len();
        self.candidates = Some(match self.mode {
            Candidates::All => (0..n).collect(),
            Candidates::Subset(m) if m < n => self.rng.permutation(n)[..m].to_vec(),
            Candidates::Subset(_) => (0..n).collect(),
        });
        self.dmin = vec![f64::INFINITY; n];
        self.cols = Some(Columns::new(space));
    }

    fn task_of(space: &TaskSpace, c: &[f64]) -> usize {
        space
            .grid_index(c)
            .unwrap_or_else(|| nearest_task(space, c))
    }

    /// Accepts a centre at task `task`'s coordinates (rounded already).
    fn accept(&mut self, space: &TaskSpace, centre: &[f64]) {
        for (x, d) in self.dmin.iter_mut().enumerate() {
            *d = d.min(dist(space.coord(x), centre));
        }
        let cost: f64 = self.dmin.iter().sum();
        self.delta = self.cost - cost;
        self.cost = cost;
        self.centres += 1;
    }

    /// One clustering step: the next task to train.
    pub(crate) fn step(&mut self, space: &TaskSpace) -> usize {
        if self.candidates.is_none() {
            self.init(space);
        }
        let candidates = self.candidates.clone().expect("initialised");
        let cols = self.cols.as_ref().expect("initialised");
        let bmax = cols.block_max(&self.dmin);
        let memo = Memo::default();
        let start_task = if self.centres == 0 {
            self.rng.randint(space.len())
        } else {
            let fits: Vec<Fit> = match (&mut self.cache, self.last) {
                (Some(cache), Some(last)) if self.centres >= 2 => {
                    let last_members = cache[last].members.clone();
                    let delta = self.delta;
                    let dmin = &self.dmin;
                    cache
                        .par_iter()
                        .zip(candidates.par_iter())
                        .map(|(old, &p)| {
                            if intersects(&old.members, &last_members) {
                                let (cost, members, _) =
                                    fit_centre(cols, dmin, &bmax, space.coord(p), &memo);
                                Fit { cost, members }
                            } else {
                                Fit {
                                    cost: old.cost - delta,
                                    members: old.members.clone(),
                                }
                            }
                        })
                        .collect()
                }
                _ => candidates
                    .par_iter()
                    .map(|&p| {
                        let (cost, members, _) =
                            fit_centre(cols, &self.dmin, &bmax, space.coord(p), &memo);
                        Fit { cost, members }
                    })
                    .collect(),
            };
            let neg: Vec<f64> = fits.iter().map(|f| -f.cost).collect();
            let best = argmax_tol(&neg, |_| true, TIE_TOL).expect("at least one candidate");
            self.cache = Some(fits);
            self.last = Some(best);
            candidates[best]
        };
        let (_, _, centre) = fit_centre(cols, &self.dmin, &bmax, space.coord(start_task), &memo);
        let rounded: Vec<f64> = centre.iter().map(|v| v.round_ties_even()).collect();
        let task = Self::task_of(space, &rounded);
        self.accept(space, space.coord(task));
        task
    }

    /// Records a task chosen by another strategy as a frozen centre (M/GP-MBTL's sync).
    pub(crate) fn sync(&mut self, space: &TaskSpace, task: usize) {
        if self.candidates.is_none() {
            self.init(space);
        }
        self.accept(space, space.coord(task));
        if let Some(pos) = self
            .candidates
            .as_ref()
            .and_then(|c| c.iter().position(|&p| p == task))
        {
            self.last = Some(pos);
        }
    }
}

/// M-MBTL: sequential L1 clustering.
#[derive(Debug, Clone)]
pub struct MMbtl {
    state: Clustering,
}

impl MMbtl {
    /// `seed` drives the random first start and the optional candidate subset.
    pub fn new(candidates: Candidates, seed: u32) -> MMbtl {
        MMbtl {
            state: Clustering::new(candidates, seed),
        }
    }
}

impl Strategy for MMbtl {
    fn name(&self) -> String {
        "m-mbtl".into()
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        if h.k() == 0 {
            // A new run starts the same stream again.
            self.state = Clustering::new(self.state.mode, self.state.seed);
        }
        Ok(self.state.step(h.space))
    }
}
