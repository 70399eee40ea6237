//! A small dense Cholesky factorisation for the GP's training covariance (n ≤ a few hundred).
//! Hand-written because it is the hot path of every hyper-parameter fit (an inverse per
//! optimiser iteration): row-major storage and plain loops measured 3–4× faster here than the
//! generic triangular solves of nalgebra for these sizes.

/// Dot product with four interleaved accumulators: a fixed summation order (the same result on
/// every machine) that the compiler can keep in vector registers.
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let chunks = n / 4;
    for i in 0..chunks {
        for l in 0..4 {
            acc[l] += a[4 * i + l] * b[4 * i + l];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..n {
        s += a[i] * b[i];
    }
    s
}

/// `K = L·Lᵀ` with `L` lower-triangular, row-major.
#[derive(Debug, Clone)]
pub struct Chol {
    n: usize,
    l: Vec<f64>,
}

impl Chol {
    /// Factorises the symmetric `n × n` row-major matrix `a`; `None` if it is not positive
    /// definite.
    #[inline(always)]
    pub fn new(n: usize, a: &[f64]) -> Option<Chol> {
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let s = a[i * n + j] - dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
                if i == j {
                    if s.is_nan() || s <= 0.0 || s.is_infinite() {
                        return None;
                    }
                    l[i * n + i] = s.sqrt();
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        Some(Chol { n, l })
    }

    pub fn n(&self) -> usize {
        self.n
    }

    /// `log det K = 2 Σ log L_ii`, halved.
    pub fn half_log_det(&self) -> f64 {
        (0..self.n).map(|i| self.l[i * self.n + i].ln()).sum()
    }

    /// Solves `L·x = b` in place.
    #[inline(always)]
    pub fn forward(&self, b: &mut [f64]) {
        let n = self.n;
        for i in 0..n {
            let s = dot(&self.l[i * n..i * n + i], &b[..i]);
            b[i] = (b[i] - s) / self.l[i * n + i];
        }
    }

    /// Solves `Lᵀ·x = b` in place.
    #[inline(always)]
    pub fn backward(&self, b: &mut [f64]) {
        let n = self.n;
        for i in (0..n).rev() {
            let mut s = b[i];
            for (k, bk) in b.iter().enumerate().skip(i + 1) {
                s -= self.l[k * n + i] * bk;
            }
            b[i] = s / self.l[i * n + i];
        }
    }

    /// Solves `K·x = b`.
    #[inline(always)]
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let mut x = b.to_vec();
        self.forward(&mut x);
        self.backward(&mut x);
        x
    }

    /// `K⁻¹` (row-major, symmetric) as `L⁻ᵀ·L⁻¹`.
    #[inline(always)]
    pub fn inverse(&self) -> Vec<f64> {
        let n = self.n;
        // Row j of `wt` is column j of W = L⁻¹ (non-zero from index j on), so that both the
        // substitution and the product below read contiguous memory.
        let mut wt = vec![0.0; n * n];
        for j in 0..n {
            let c = &mut wt[j * n..(j + 1) * n];
            for i in j..n {
                let s = dot(&self.l[i * n + j..i * n + i], &c[j..i]);
                let delta = if i == j { 1.0 } else { 0.0 };
                c[i] = (delta - s) / self.l[i * n + i];
            }
        }
        let mut inv = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                // K⁻¹_ij = Σ_k W_ki W_kj over k ≥ max(i, j) = i.
                let s = dot(&wt[i * n + i..(i + 1) * n], &wt[j * n + i..(j + 1) * n]);
                inv[i * n + j] = s;
                inv[j * n + i] = s;
            }
        }
        inv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_nalgebra() {
        let n = 7;
        let b = nalgebra::DMatrix::from_fn(n, n, |i, j| ((i * 7 + j * 3) % 11) as f64 / 5.0 - 1.0);
        let k = &b * b.transpose() + nalgebra::DMatrix::identity(n, n) * 0.5;
        let rows: Vec<f64> = (0..n * n).map(|x| k[(x / n, x % n)]).collect();
        let c = Chol::new(n, &rows).unwrap();
        let want = k.clone().cholesky().unwrap().inverse();
        let inv = c.inverse();
        for i in 0..n {
            for j in 0..n {
                assert!((inv[i * n + j] - want[(i, j)]).abs() < 1e-10);
            }
        }
        let rhs: Vec<f64> = (0..n).map(|i| i as f64 - 2.0).collect();
        let x = c.solve(&rhs);
        let back: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| rows[i * n + j] * x[j]).sum())
            .collect();
        for (a, b) in back.iter().zip(&rhs) {
            assert!((a - b).abs() < 1e-10);
        }
        assert!(Chol::new(2, &[1.0, 2.0, 2.0, 1.0]).is_none());
    }
}
