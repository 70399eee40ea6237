//! `C (+)= A·B` for the thin matrices of RL networks, without packing.
//!
//! Why not a general GEMM crate: `matrixmultiply` packs both operands on every call, and on
//! batches of 64–256 rows through layers 64–256 wide the packing took 17–25 % of a whole training
//! run (perf, PPO and DQN on CartPole). Here `B` is always read in place, row-major and
//! contiguous along the output columns (the network keeps its weights `in × out` for this), and
//! `A` is read through scalar broadcasts at any strides, so a transposed `A` costs nothing.
//!
//! Arithmetic, the same on every x86-64 CPU: each output element is `s = Σ_p a_p·b_p`
//! accumulated with fused multiply-adds in increasing `p` from `s = 0`, then `C = C + s` (or
//! `C = s`). The AVX-512 kernel, the AVX2+FMA kernel (CPUs without AVX-512, e.g. AMD Zen 2/3;
//! the portable loop alone was 8× slower there) and the portable loop all do exactly that, so
//! one seed trains the same weights whichever path a machine takes (tested bit for bit).

/// [`gemm`] on raw parts; the caller keeps to [`gemm`]'s bounds on a CPU with the kernel's
/// features.
type Kernel = unsafe fn(
    usize,
    usize,
    usize,
    *const f32,
    usize,
    usize,
    *const f32,
    usize,
    *mut f32,
    usize,
    bool,
);
/// [`gemm_nt`] on raw parts, likewise.
type KernelNt =
    unsafe fn(usize, usize, usize, *const f32, usize, *const f32, usize, *mut f32, usize);

/// The vector kernels this CPU runs, fastest first, detected once; none means the portable
/// loops. Every entry computes the same bits (the tests compare each with the portable path).
fn kernels() -> &'static [(&'static str, Kernel, KernelNt)] {
    static KERNELS: std::sync::OnceLock<Vec<(&'static str, Kernel, KernelNt)>> =
        std::sync::OnceLock::new();
    KERNELS.get_or_init(|| {
        #[allow(unused_mut)]
        let mut found: Vec<(&'static str, Kernel, KernelNt)> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                found.push(("avx512", avx512::gemm, avx512::gemm_nt));
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                found.push(("avx2", avx2::gemm, avx2::gemm_nt));
            }
        }
        found
    })
}

/// `C[i][j] (+)= Σ_p A[i][p]·B[p][j]` for `i < m`, `j < n`, `p < k`, where `A[i][p]` is
/// `a[i·ars + p·acs]`, `B[p][j]` is `b[p·ldb + j]` and `C[i][j]` is `c[i·ldc + j]`.
///
/// # Panics
/// When a slice is too short for the shape and strides.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        k == 0 || a.len() > (m - 1) * ars + (k - 1) * acs,
        "A too short"
    );
    assert!(k == 0 || b.len() >= (k - 1) * ldb + n, "B too short");
    assert!(c.len() >= (m - 1) * ldc + n, "C too short");
    match kernels().first() {
        // SAFETY: the kernel runs on this CPU (`kernels` checked its features), and the
        // assertions keep every element it reads or writes inside the slices (masked lanes are
        // not accessed).
        Some(&(_, kernel, _)) => unsafe {
            kernel(
                m,
                k,
                n,
                a.as_ptr(),
                ars,
                acs,
                b.as_ptr(),
                ldb,
                c.as_mut_ptr(),
                ldc,
                accumulate,
            );
        },
        None => portable(m, k, n, a, ars, acs, b, ldb, c, ldc, accumulate),
    }
}

/// The reference path, for CPUs without AVX2 and FMA and for the tests: the same per-element
/// arithmetic as the vector kernels (loop order `i`, `p`, `j`; no sum reordered).
#[allow(clippy::too_many_arguments)]
pub(crate) fn portable(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    const W: usize = 64;
    for i in 0..m {
        for j0 in (0..n).step_by(W) {
            let w = (n - j0).min(W);
            let mut s = [0.0f32; W];
            for p in 0..k {
                let av = a[i * ars + p * acs];
                let row = &b[p * ldb + j0..p * ldb + j0 + w];
                for (sj, &bj) in s[..w].iter_mut().zip(row) {
                    *sj = av.mul_add(bj, *sj);
                }
            }
            let out = &mut c[i * ldc + j0..i * ldc + j0 + w];
            for (o, &sj) in out.iter_mut().zip(&s[..w]) {
                *o = if accumulate { *o + sj } else { sj };
            }
        }
    }
}

/// `C[i][j] += Σ_p A[i][p]·B[j][p]` for `i < m`, `j < n`, `p < k`: both operands contiguous
/// along `p` (`A[i][p]` is `a[i·lda + p]`, `B[j][p]` is `b[j·ldb + p]`, `C[i][j]` is
/// `c[i·ldc + j]`). For products with few outputs per row (a value or logit head), where
/// [`gemm`] would fill one or two of its sixteen lanes.
///
/// Arithmetic, the same on every x86-64 CPU: `p` is split into sixteen lanes (`p mod 16`),
/// each a fused multiply-add chain in increasing `p` from zero (zero-padded to a multiple of
/// sixteen); the lanes are added pairwise (`l + (l+8)`, then `+4`, `+2`, `+1`), then
/// `C = C + s`.
///
/// # Panics
/// When a slice is too short for the shape and strides.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_nt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(k == 0 || a.len() >= (m - 1) * lda + k, "A too short");
    assert!(k == 0 || b.len() >= (n - 1) * ldb + k, "B too short");
    assert!(c.len() >= (m - 1) * ldc + n, "C too short");
    match kernels().first() {
        // SAFETY: the kernel runs on this CPU (`kernels` checked its features), and the
        // assertions keep every element it reads or writes inside the slices.
        Some(&(_, _, kernel)) => unsafe {
            kernel(
                m,
                k,
                n,
                a.as_ptr(),
                lda,
                b.as_ptr(),
                ldb,
                c.as_mut_ptr(),
                ldc,
            );
        },
        None => portable_nt(m, k, n, a, lda, b, ldb, c, ldc),
    }
}

/// The reference path of [`gemm_nt`]: the same lanes, chains and pairwise sum.
#[allow(clippy::too_many_arguments)]
pub(crate) fn portable_nt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    for i in 0..m {
        let x = &a[i * lda..i * lda + k];
        for j in 0..n {
            let w = &b[j * ldb..j * ldb + k];
            let mut lanes = [0.0f32; 16];
            for p0 in (0..k.div_ceil(16) * 16).step_by(16) {
                for (l, acc) in lanes.iter_mut().enumerate() {
                    let p = p0 + l;
                    let (xv, wv) = if p < k { (x[p], w[p]) } else { (0.0, 0.0) };
                    *acc = xv.mul_add(wv, *acc);
                }
            }
            for width in [8, 4, 2, 1] {
                for l in 0..width {
                    lanes[l] += lanes[l + width];
                }
            }
            c[i * ldc + j] += lanes[0];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Rows per register block: 6 rows × 4 vectors of 16 columns = 24 accumulators, plus 4
    /// vectors of `B` and one broadcast, within the 32 vector registers.
    const MR: usize = 6;
    /// Columns per register block.
    const NC: usize = 64;

    /// # Safety
    /// The CPU has AVX-512F and the pointers cover the shape (see [`super::gemm`]).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        ars: usize,
        acs: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        let mut j0 = 0;
        while j0 < n {
            let w = (n - j0).min(NC);
            let vecs = w.div_ceil(16);
            let tail = w - 16 * (vecs - 1);
            let last: __mmask16 = if tail == 16 {
                0xFFFF
            } else {
                (1u16 << tail) - 1
            };
            let mut i0 = 0;
            while i0 < m {
                let rows = (m - i0).min(MR);
                // SAFETY: the block starts inside the operands (the caller's contract).
                let (ap, bp, cp) = unsafe { (a.add(i0 * ars), b.add(j0), c.add(i0 * ldc + j0)) };
                macro_rules! go {
                    ($($r:literal),*) => {
                        match (rows, vecs) {
                            $(
                                ($r, 1) => block::<$r, 1>(k, ap, ars, acs, bp, ldb, cp, ldc, last, accumulate),
                                ($r, 2) => block::<$r, 2>(k, ap, ars, acs, bp, ldb, cp, ldc, last, accumulate),
                                ($r, 3) => block::<$r, 3>(k, ap, ars, acs, bp, ldb, cp, ldc, last, accumulate),
                                ($r, 4) => block::<$r, 4>(k, ap, ars, acs, bp, ldb, cp, ldc, last, accumulate),
                            )*
                            _ => unreachable!("rows ≤ {MR}, vectors ≤ 4"),
                        }
                    };
                }
                // SAFETY: `rows × w` lies inside C, and A and B cover it (caller's contract).
                unsafe { go!(1, 2, 3, 4, 5, 6) };
                i0 += rows;
            }
            j0 += NC;
        }
    }

    /// One `R × 16J` block of `C`; the last of the `J` vectors uses `last` as its lane mask.
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block<const R: usize, const J: usize>(
        k: usize,
        a: *const f32,
        ars: usize,
        acs: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        last: __mmask16,
        accumulate: bool,
    ) {
        // SAFETY: every pointer stays inside the operands for the lanes `mask` enables; masked
        // lanes are neither read nor written.
        unsafe {
            let mask = |v: usize| if v + 1 == J { last } else { 0xFFFF };
            let mut acc = [[_mm512_setzero_ps(); J]; R];
            let (mut ap, mut bp) = (a, b);
            for _ in 0..k {
                let mut bv = [_mm512_setzero_ps(); J];
                for (v, x) in bv.iter_mut().enumerate() {
                    *x = _mm512_maskz_loadu_ps(mask(v), bp.add(16 * v));
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*ap.add(r * ars));
                    for (x, &y) in row.iter_mut().zip(&bv) {
                        *x = _mm512_fmadd_ps(av, y, *x);
                    }
                }
                ap = ap.add(acs);
                bp = bp.add(ldb);
            }
            for (r, row) in acc.iter().enumerate() {
                for (v, &s) in row.iter().enumerate() {
                    let p = c.add(r * ldc + 16 * v);
                    let out = if accumulate {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(mask(v), p), s)
                    } else {
                        s
                    };
                    _mm512_mask_storeu_ps(p, mask(v), out);
                }
            }
        }
    }

    /// Rows per block of [`gemm_nt`]: each `B` chunk loaded once serves four rows.
    const NT_ROWS: usize = 4;

    /// # Safety
    /// The CPU has AVX-512F and the pointers cover the shape (see [`super::gemm_nt`]).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm_nt(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        let chunks = k.div_ceil(16);
        let tail = k - 16 * chunks.saturating_sub(1);
        let last: __mmask16 = if tail == 16 {
            0xFFFF
        } else {
            (1u16 << tail) - 1
        };
        let mask = |q: usize| if q + 1 == chunks { last } else { 0xFFFF };
        // SAFETY: rows `i < m` of A and C, rows `j < n` of B, lanes `p < k` only (masks).
        unsafe {
            let mut i0 = 0;
            while i0 < m {
                let rows = (m - i0).min(NT_ROWS);
                for j in 0..n {
                    let mut acc = [_mm512_setzero_ps(); NT_ROWS];
                    for q in 0..chunks {
                        let w = _mm512_maskz_loadu_ps(mask(q), b.add(j * ldb + 16 * q));
                        for (r, acc) in acc.iter_mut().enumerate().take(rows) {
                            let x = _mm512_maskz_loadu_ps(mask(q), a.add((i0 + r) * lda + 16 * q));
                            *acc = _mm512_fmadd_ps(x, w, *acc);
                        }
                    }
                    for (r, &v) in acc.iter().enumerate().take(rows) {
                        *c.add((i0 + r) * ldc + j) += pairwise_sum(v);
                    }
                }
                i0 += rows;
            }
        }
    }

    /// `((l + l₊₈) + (l₊₄ + l₊₁₂)) …`: lanes added pairwise at distance 8, 4, 2, 1.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn pairwise_sum(v: __m512) -> f32 {
        let s8 = _mm512_add_ps(v, _mm512_shuffle_f32x4::<0b11_10_11_10>(v, v));
        let s8 = _mm512_castps512_ps256(s8);
        let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<0b01>(s2, s2));
        _mm_cvtss_f32(s1)
    }
}

/// The same kernels for CPUs with AVX2 and FMA but no AVX-512 (eight lanes, sixteen registers):
/// the same fused multiply-add chains per element, so the same bits. Columns past the last full
/// vector are done element by element, with the same chains.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// 6 rows × 2 vectors = 12 accumulators, 2 vectors of `B`, one broadcast: 15 of the 16
    /// registers.
    const MR: usize = 6;
    const NC: usize = 16;

    /// # Safety
    /// The CPU has AVX2 and FMA and the pointers cover the shape (see [`super::gemm`]).
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        ars: usize,
        acs: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        let full = n / 8 * 8;
        // SAFETY: blocks stay inside rows < m, columns < full; the scalar tail inside columns
        // full..n (the caller's contract covers all of them).
        unsafe {
            let mut j0 = 0;
            while j0 < full {
                let vecs = ((full - j0) / 8).min(NC / 8);
                let mut i0 = 0;
                while i0 < m {
                    let rows = (m - i0).min(MR);
                    let (ap, bp, cp) = (a.add(i0 * ars), b.add(j0), c.add(i0 * ldc + j0));
                    macro_rules! go {
                        ($($r:literal),*) => {
                            match (rows, vecs) {
                                $(
                                    ($r, 1) => block::<$r, 1>(k, ap, ars, acs, bp, ldb, cp, ldc, accumulate),
                                    ($r, 2) => block::<$r, 2>(k, ap, ars, acs, bp, ldb, cp, ldc, accumulate),
                                )*
                                _ => unreachable!("rows ≤ {MR}, vectors ≤ 2"),
                            }
                        };
                    }
                    go!(1, 2, 3, 4, 5, 6);
                    i0 += rows;
                }
                j0 += vecs * 8;
            }
            for i in 0..m {
                for j in full..n {
                    let mut s = 0.0f32;
                    for p in 0..k {
                        s = (*a.add(i * ars + p * acs)).mul_add(*b.add(p * ldb + j), s);
                    }
                    let out = c.add(i * ldc + j);
                    *out = if accumulate { *out + s } else { s };
                }
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block<const R: usize, const J: usize>(
        k: usize,
        a: *const f32,
        ars: usize,
        acs: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        // SAFETY: the block lies inside the operands (the caller's contract).
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); J]; R];
            let (mut ap, mut bp) = (a, b);
            for _ in 0..k {
                let mut bv = [_mm256_setzero_ps(); J];
                for (v, x) in bv.iter_mut().enumerate() {
                    *x = _mm256_loadu_ps(bp.add(8 * v));
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm256_set1_ps(*ap.add(r * ars));
                    for (x, &y) in row.iter_mut().zip(&bv) {
                        *x = _mm256_fmadd_ps(av, y, *x);
                    }
                }
                ap = ap.add(acs);
                bp = bp.add(ldb);
            }
            for (r, row) in acc.iter().enumerate() {
                for (v, &s) in row.iter().enumerate() {
                    let p = c.add(r * ldc + 8 * v);
                    let out = if accumulate {
                        _mm256_add_ps(_mm256_loadu_ps(p), s)
                    } else {
                        s
                    };
                    _mm256_storeu_ps(p, out);
                }
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2 and FMA and the pointers cover the shape (see [`super::gemm_nt`]).
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm_nt(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        let full = k / 16 * 16;
        // SAFETY: full chunks read inside rows of length k; the tail is copied into
        // zero-padded buffers.
        unsafe {
            for i in 0..m {
                let x = a.add(i * lda);
                let mut xt = [0.0f32; 16];
                std::ptr::copy_nonoverlapping(x.add(full), xt.as_mut_ptr(), k - full);
                for j in 0..n {
                    let w = b.add(j * ldb);
                    let mut wt = [0.0f32; 16];
                    std::ptr::copy_nonoverlapping(w.add(full), wt.as_mut_ptr(), k - full);
                    // Lanes 0–7 and 8–15 of the sixteen-lane sum.
                    let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                    for p0 in (0..full).step_by(16) {
                        lo = _mm256_fmadd_ps(
                            _mm256_loadu_ps(x.add(p0)),
                            _mm256_loadu_ps(w.add(p0)),
                            lo,
                        );
                        hi = _mm256_fmadd_ps(
                            _mm256_loadu_ps(x.add(p0 + 8)),
                            _mm256_loadu_ps(w.add(p0 + 8)),
                            hi,
                        );
                    }
                    if full < k {
                        lo = _mm256_fmadd_ps(
                            _mm256_loadu_ps(xt.as_ptr()),
                            _mm256_loadu_ps(wt.as_ptr()),
                            lo,
                        );
                        hi = _mm256_fmadd_ps(
                            _mm256_loadu_ps(xt.as_ptr().add(8)),
                            _mm256_loadu_ps(wt.as_ptr().add(8)),
                            hi,
                        );
                    }
                    // Pairwise: l + (l+8), then +4, +2, +1.
                    let s8 = _mm256_add_ps(lo, hi);
                    let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
                    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
                    let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<0b01>(s2, s2));
                    *c.add(i * ldc + j) += _mm_cvtss_f32(s1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{RngCore, SeedableRng};

    fn random(n: usize, rng: &mut rand_pcg::Pcg64Mcg) -> Vec<f32> {
        (0..n)
            .map(|_| (rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0)
            .collect()
    }

    /// As below, for the row dot products.
    #[test]
    fn nt_matches_reference_and_is_bitwise_portable() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(9);
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 64, 2),
            (9, 17, 1),
            (256, 64, 2),
            (5, 0, 3),
            (6, 300, 4),
        ] {
            let (lda, ldb, ldc) = (k + 1, k + 3, n + 2);
            let a = random(m * lda, &mut rng);
            let b = random(n * ldb, &mut rng);
            let c0 = random(m * ldc, &mut rng);
            let mut fast = c0.clone();
            gemm_nt(m, k, n, &a, lda, &b, ldb, &mut fast, ldc);
            let mut slow = c0.clone();
            portable_nt(m, k, n, &a, lda, &b, ldb, &mut slow, ldc);
            for &(name, _, kernel) in kernels() {
                let mut mid = c0.clone();
                // SAFETY: `kernels` lists what this CPU runs; the buffers cover the shape.
                unsafe {
                    kernel(
                        m,
                        k,
                        n,
                        a.as_ptr(),
                        lda,
                        b.as_ptr(),
                        ldb,
                        mid.as_mut_ptr(),
                        ldc,
                    );
                };
                assert!(
                    mid.iter()
                        .zip(&slow)
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{name} kernel {m}×{k}×{n}"
                );
            }
            for i in 0..m {
                for j in 0..ldc {
                    let at = i * ldc + j;
                    assert_eq!(
                        fast[at].to_bits(),
                        slow[at].to_bits(),
                        "{m}×{k}×{n} ({i},{j})"
                    );
                    if j >= n {
                        assert_eq!(fast[at], c0[at], "padding untouched");
                        continue;
                    }
                    let s: f64 = (0..k)
                        .map(|p| f64::from(a[i * lda + p]) * f64::from(b[j * ldb + p]))
                        .sum::<f64>()
                        + f64::from(c0[at]);
                    assert!((s - f64::from(fast[at])).abs() < 1e-4 * (1.0 + k as f64));
                }
            }
        }
    }

    /// Every path against an `f64` reference, and the dispatched path and every kernel this
    /// CPU runs against the portable one bit for bit, over shapes that exercise each row and
    /// column tail, strided (transposed) `A`, padded `B`/`C` rows and both modes.
    #[test]
    fn matches_reference_and_is_bitwise_portable() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        let shapes = [
            (1, 1, 1),
            (1, 4, 64),
            (7, 3, 2),
            (6, 64, 64),
            (13, 17, 33),
            (64, 256, 256),
            (5, 0, 9),
            (256, 64, 1),
            (11, 2, 130),
            (20, 600, 40),
        ];
        for &(m, k, n) in &shapes {
            for transposed in [false, true] {
                for accumulate in [false, true] {
                    let (ars, acs) = if transposed { (1, m + 1) } else { (k + 2, 1) };
                    let a = random((m + 1) * (k + 2) + 1, &mut rng);
                    let ldb = n + 3;
                    let b = random(k * ldb + n, &mut rng);
                    let ldc = n + 1;
                    let c0 = random(m * ldc, &mut rng);
                    let mut fast = c0.clone();
                    gemm(m, k, n, &a, ars, acs, &b, ldb, &mut fast, ldc, accumulate);
                    let mut slow = c0.clone();
                    portable(m, k, n, &a, ars, acs, &b, ldb, &mut slow, ldc, accumulate);
                    for &(name, kernel, _) in kernels() {
                        let mut mid = c0.clone();
                        // SAFETY: `kernels` lists what this CPU runs; the buffers cover the
                        // shape.
                        unsafe {
                            kernel(
                                m,
                                k,
                                n,
                                a.as_ptr(),
                                ars,
                                acs,
                                b.as_ptr(),
                                ldb,
                                mid.as_mut_ptr(),
                                ldc,
                                accumulate,
                            );
                        };
                        assert!(
                            mid.iter()
                                .zip(&slow)
                                .all(|(x, y)| x.to_bits() == y.to_bits()),
                            "{name} kernel {m}×{k}×{n}"
                        );
                    }
                    for i in 0..m {
                        for j in 0..ldc {
                            let at = i * ldc + j;
                            assert_eq!(
                                fast[at].to_bits(),
                                slow[at].to_bits(),
                                "{m}×{k}×{n} at ({i},{j})"
                            );
                            if j >= n {
                                assert_eq!(fast[at], c0[at], "padding untouched");
                                continue;
                            }
                            let mut s = 0.0f64;
                            for p in 0..k {
                                s += f64::from(a[i * ars + p * acs]) * f64::from(b[p * ldb + j]);
                            }
                            if accumulate {
                                s += f64::from(c0[at]);
                            }
                            assert!(
                                (s - f64::from(fast[at])).abs() < 1e-4 * (1.0 + k as f64),
                                "{m}×{k}×{n} at ({i},{j}): {s} vs {}",
                                fast[at]
                            );
                        }
                    }
                }
            }
        }
    }
}
