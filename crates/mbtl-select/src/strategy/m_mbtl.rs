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

use rayon::prelude::*;

use super::{argmax_tol, nearest_task, History, Strategy, TIE_TOL};
use crate::error::Result;
use crate::numpy_rng::RandomState;
use crate::space::TaskSpace;

const WEIGHT: f64 = 0.01;
const MAX_ITER: usize = 300;
const TOL: f64 = 1e-6;

/// Which tasks are tried as the start of a new centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// Every task (reproduces the published 3-D results).
    All,
    /// A random subset of this size, drawn once (`np.random.choice(N, m, replace=False)`).
    Subset(usize),
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

/// Task coordinates by dimension (structure of arrays), so that distances to one centre are
/// computed for every point in vectorisable loops.
#[derive(Debug, Clone)]
struct Columns {
    n: usize,
    cols: Vec<Vec<f64>>,
}

impl Columns {
    fn new(space: &TaskSpace) -> Columns {
        let n = space.len();
        let cols = (0..space.dim())
            .map(|d| (0..n).map(|t| space.coord(t)[d]).collect())
            .collect();
        Columns { n, cols }
    }

    /// `out[x] = dist(x, c)`, summed over dimensions in order (the same bits as [`dist`]).
    fn distances(&self, c: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for (col, &cd) in self.cols.iter().zip(c) {
            for (o, &v) in out.iter_mut().zip(col) {
                *o += WEIGHT * (v - cd).abs();
            }
        }
    }
}

/// Fits one new centre from `start` with the others frozen (`dmin[x]` = distance of point `x`
/// to its nearest frozen centre). Returns the cost, the member bitset and the final centre.
fn fit_centre(cols: &Columns, dmin: &[f64], start: &[f64]) -> (f64, Vec<u64>, Vec<f64>) {
    let n = cols.n;
    let dim = cols.cols.len();
    let mut c = start.to_vec();
    let mut member = vec![false; n];
    let mut d0 = vec![0.0; n];
    let mut sum = vec![0.0; dim];
    for it in 0..MAX_ITER {
        cols.distances(&c, &mut d0);
        let mut count = 0usize;
        for x in 0..n {
            let inside = if it == 0 || member[x] {
                d0[x] <= dmin[x]
            } else {
                d0[x] < dmin[x]
            };
            member[x] = inside;
            count += inside as usize;
        }
        if count == 0 {
            break;
        }
        for (s, col) in sum.iter_mut().zip(&cols.cols) {
            *s = col
                .iter()
                .zip(&member)
                .filter(|(_, &m)| m)
                .map(|(v, _)| v)
                .sum();
        }
        let mut shift: f64 = 0.0;
        for (ci, s) in c.iter_mut().zip(&sum) {
            let m = s / count as f64;
            shift = shift.max((m - *ci).abs());
            *ci = m;
        }
        if shift < TOL {
            break;
        }
    }
    cols.distances(&c, &mut d0);
    let cost = d0.iter().zip(dmin).map(|(d, m)| d.min(*m)).sum();
    let mut bits = vec![0u64; n.div_ceil(64)];
    for (x, &m) in member.iter().enumerate() {
        if m {
            bits[x / 64] |= 1 << (x % 64);
        }
    }
    (cost, bits, c)
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
                                let (cost, members, _) = fit_centre(cols, dmin, space.coord(p));
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
                        let (cost, members, _) = fit_centre(cols, &self.dmin, space.coord(p));
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
        let (_, _, centre) = fit_centre(cols, &self.dmin, space.coord(start_task));
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
