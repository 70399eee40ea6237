//! A multi-layer perceptron on one flat `f32` parameter vector: for each layer, the weight
//! matrix `W` stored `in × out` (row-major, so `W[p][j]` is the weight from input `p` to output
//! `j`), followed by the bias `b` (`out`).
//!
//! Why `in × out` and not PyTorch's `out × in`: the forward product `X·W` and the weight
//! gradient `Xᵀ·δ` then read `W` and `δ` contiguously along the outputs, which the unpacked
//! kernel in `gemm.rs` needs; the input gradient `δ·Wᵀ` and the forward pass of thin heads use
//! a transposed copy of `W`, made per call (cheap beside the products: `in·out` moves against
//! `batch·in·out` multiply-adds). Files keep PyTorch's layout ([`Mlp::torch_layout`]).

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use multiversion::multiversion;

use crate::gemm::{gemm, gemm_nt};
use crate::subnormal::FlushSubnormals;
use crate::NnError;

/// Element-wise non-linearity after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Identity,
    Tanh,
    Relu,
    /// `x·tanh(softplus(x))` (Misra 2019): the MBTL traffic experiments' DQN uses it.
    Mish,
}

/// `tanh` as a rational function of odd degree 13 over even degree 6 on `[-9, 9]` (the
/// minimax fit Eigen uses for `float`; |error| < 5e-7 against the exact value, tested below).
/// libm's scalar `tanhf` took 72 % of a PPO run; this one vectorises. Horner steps are fused
/// multiply-adds, so every path (AVX-512, AVX2, portable `mul_add`) gives the same bits.
#[inline(always)]
pub(crate) fn fast_tanh(x: f32) -> f32 {
    const A: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const B: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-9.0, 9.0);
    let x2 = x * x;
    let mut p = A[6];
    for &a in A[..6].iter().rev() {
        p = p.mul_add(x2, a);
    }
    let q = B[3].mul_add(x2, B[2]).mul_add(x2, B[1]).mul_add(x2, B[0]);
    x * p / q
}

/// `eˣ` by Cephes' `expf` recipe: `x = k·ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-7
/// polynomial in `r` and `2ᵏ` from the exponent bits (relative error < 3e-7, tested). Like
/// [`fast_tanh`] it vectorises and its Horner steps are fused multiply-adds, so every path
/// gives the same bits; `x` is clamped to `[-87, 88]`, where `2ᵏ` stays a normal float.
#[inline(always)]
pub(crate) fn fast_exp(x: f32) -> f32 {
    const P: [f32; 6] = [
        1.987_569_1e-4,
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ];
    let x = x.clamp(-87.0, 88.0);
    let k = x.mul_add(std::f32::consts::LOG2_E, 0.5).floor();
    // ln 2 in two parts, the first exact in few bits, so k·C1 is exact.
    let r = k.mul_add(-0.693_359_4, x);
    let r = k.mul_add(2.121_944_4e-4, r);
    let mut p = P[0];
    for &c in &P[1..] {
        p = p.mul_add(r, c);
    }
    let y = p.mul_add(r * r, r) + 1.0;
    // 2ᵏ through integer lanes: the bits of 1.5·2²³ + k are 0x4B40_0000 + k for the integer
    // k (|k| ≤ 126 here). `k as i32` would saturate per lane and stay scalar.
    let k_bits = (k + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000);
    y * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

/// Above this Mish is the identity in `f32` (`tanh(softplus(20))` rounds to 1).
const MISH_LINEAR: f32 = 20.0;

/// Mish through one exponential: with `e = eˣ` and `n = e(e + 2)`,
/// `tanh(ln(1 + e)) = n / (n + 2)`.
#[inline(always)]
fn mish(x: f32) -> f32 {
    let e = fast_exp(x);
    let n = e * (e + 2.0);
    if x > MISH_LINEAR {
        x
    } else {
        x * n / (n + 2.0)
    }
}

/// Mish′(x) = n/(n + 2) + x·4e(e + 1)/(n + 2)², with `e` and `n` as in [`mish`].
#[inline(always)]
fn mish_derivative(x: f32) -> f32 {
    let e = fast_exp(x.min(MISH_LINEAR));
    let n = e * (e + 2.0);
    let d = n + 2.0;
    if x > MISH_LINEAR {
        1.0
    } else {
        n / d + x * (4.0 * e * (e + 1.0)) / (d * d)
    }
}

/// `y = f(y)` in place over a layer's outputs. Multiversioned (AVX-512, AVX2, baseline): the
/// same IEEE operations on more lanes, so identical results on every path.
#[multiversion(targets("x86_64+avx512f+fma", "x86_64+avx2+fma"))]
fn apply_activation(act: Activation, out: &mut [f32]) {
    match act {
        Activation::Identity => {}
        Activation::Tanh => out.iter_mut().for_each(|v| *v = fast_tanh(*v)),
        Activation::Relu => out.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Mish => out.iter_mut().for_each(|v| *v = mish(*v)),
    }
}

/// `y = f(y + b)` row by row (`out` is `rows × b.len()`): bias and activation in one pass over
/// a product computed without its bias.
#[multiversion(targets("x86_64+avx512f+fma", "x86_64+avx2+fma"))]
fn add_bias_and_activate(act: Activation, b: &[f32], out: &mut [f32]) {
    for row in out.chunks_exact_mut(b.len()) {
        match act {
            Activation::Identity => row.iter_mut().zip(b).for_each(|(v, b)| *v += b),
            Activation::Tanh => row
                .iter_mut()
                .zip(b)
                .for_each(|(v, b)| *v = fast_tanh(*v + b)),
            Activation::Relu => row
                .iter_mut()
                .zip(b)
                .for_each(|(v, b)| *v = (*v + b).max(0.0)),
            Activation::Mish => row.iter_mut().zip(b).for_each(|(v, b)| *v = mish(*v + b)),
        }
    }
}

/// `δ ← δ ⊙ f′`: the gradient at the pre-activation from the one at the output `y`, or, for
/// Mish (whose derivative is no function of its output), at the pre-activation `pre`.
#[multiversion(targets("x86_64+avx512f+fma", "x86_64+avx2+fma"))]
fn times_derivative(act: Activation, delta: &mut [f32], y: &[f32], pre: &[f32]) {
    match act {
        Activation::Identity => {}
        Activation::Tanh => {
            for (d, &y) in delta.iter_mut().zip(y) {
                *d *= 1.0 - y * y;
            }
        }
        Activation::Relu => {
            for (d, &y) in delta.iter_mut().zip(y) {
                *d *= if y > 0.0 { 1.0 } else { 0.0 };
            }
        }
        Activation::Mish => {
            for (d, &x) in delta.iter_mut().zip(pre) {
                *d *= mish_derivative(x);
            }
        }
    }
}

/// Layer sizes and activations: all that is needed to rebuild a network from its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpSpec {
    pub sizes: Vec<usize>,
    pub hidden: Activation,
    pub output: Activation,
}

/// A dense feed-forward network.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    spec: MlpSpec,
    /// Offset of each layer's weights in `params`.
    offsets: Vec<usize>,
    pub params: Vec<f32>,
}

/// Activations of a batched forward pass, kept for [`Mlp::backward`].
#[derive(Debug, Clone, Default)]
pub struct Cache {
    batch: usize,
    /// `acts[0]` is the input; `acts[l + 1]` the output of layer `l` (after its activation).
    acts: Vec<Vec<f32>>,
    /// `pre[l + 1]`: the pre-activation of layer `l`, kept only where the derivative needs it
    /// (Mish); empty elsewhere.
    pre: Vec<Vec<f32>>,
    delta: Vec<f32>,
    delta_next: Vec<f32>,
    /// `Wᵀ` (`out × in`) of one layer: for the input gradient, and a thin head's forward.
    w_t: Vec<f32>,
    /// `(Xᵀ·δ)ᵀ` of a thin layer (see [`THIN`]).
    product_t: Vec<f32>,
}

/// Layers with fewer outputs than this (value and logit heads) are computed along their inputs
/// instead of their outputs, which would fill one or two of sixteen vector lanes: the forward
/// product as row-by-row dot products ([`gemm_nt`], the layer's own arithmetic, whatever the
/// batch), the weight gradient as `(Xᵀ·δ)ᵀ = δᵀ·X` (the same fused multiply-add chains as
/// `Xᵀ·δ`, since `fma(a, b, s) = fma(b, a, s)`).
const THIN: usize = 16;

impl Cache {
    /// The network output of the last forward pass (`batch × out`).
    pub fn output(&self) -> &[f32] {
        self.acts.last().map_or(&[], Vec::as_slice)
    }

    /// The input of the last layer in the last forward pass (`batch × width`): the features
    /// a state-dependent exploration noise is built on.
    pub fn last_hidden(&self) -> &[f32] {
        let n = self.acts.len();
        if n < 2 {
            return &[];
        }
        &self.acts[n - 2]
    }
}

impl Mlp {
    /// A network with PyTorch's default initialisation (weights and biases uniform in
    /// `±1/√fan_in`), the last layer's weights scaled by `output_gain`, from `seed`.
    pub fn new(spec: MlpSpec, output_gain: f32, seed: u64) -> Result<Mlp, NnError> {
        if spec.sizes.len() < 2 || spec.sizes.contains(&0) {
            return Err(NnError::Shape(format!(
                "layer sizes {:?}: need at least input and output, all > 0",
                spec.sizes
            )));
        }
        let mut offsets = Vec::new();
        let mut total = 0;
        for w in spec.sizes.windows(2) {
            offsets.push(total);
            total += w[0] * w[1] + w[1];
        }
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut params = vec![0.0f32; total];
        let layers = spec.sizes.len() - 1;
        for (l, w) in spec.sizes.windows(2).enumerate() {
            let (fan_in, out) = (w[0], w[1]);
            let bound = 1.0 / (fan_in as f32).sqrt();
            let gain = if l + 1 == layers { output_gain } else { 1.0 };
            let off = offsets[l];
            // Drawn in PyTorch's order (row `j` of `out × in`, then the bias), stored `in × out`.
            for t in 0..fan_in * out + out {
                let u = (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
                let v = (2.0 * u - 1.0) * bound;
                if t < fan_in * out {
                    let (j, p) = (t / fan_in, t % fan_in);
                    params[off + p * out + j] = v * gain;
                } else {
                    params[off + t] = v;
                }
            }
        }
        Ok(Mlp {
            spec,
            offsets,
            params,
        })
    }

    /// Rebuilds a network from its spec and parameters in its own layout ([`Mlp::params`]).
    pub fn from_params(spec: MlpSpec, params: Vec<f32>) -> Result<Mlp, NnError> {
        let mut net = Mlp::new(spec, 1.0, 0)?;
        if params.len() != net.params.len() {
            return Err(NnError::Shape(format!(
                "{} parameters given, the network has {}",
                params.len(),
                net.params.len()
            )));
        }
        net.params = params;
        Ok(net)
    }

    /// The parameters in PyTorch's layout (each weight `out × in`, then its bias): what files
    /// hold, so a policy reads the same in any tool.
    pub fn torch_layout(&self) -> Vec<f32> {
        let mut out = self.params.clone();
        for l in 0..self.offsets.len() {
            let (i, o, w, _, _) = self.layer(l);
            let dst = &mut out[self.offsets[l]..self.offsets[l] + i * o];
            transpose(w, i, o, dst);
        }
        out
    }

    /// Rebuilds a network from parameters in PyTorch's layout ([`Mlp::torch_layout`]).
    pub fn from_torch_layout(spec: MlpSpec, params: Vec<f32>) -> Result<Mlp, NnError> {
        let mut net = Mlp::from_params(spec, params)?;
        for l in 0..net.offsets.len() {
            let (i, o) = (net.spec.sizes[l], net.spec.sizes[l + 1]);
            let off = net.offsets[l];
            let torch = net.params[off..off + i * o].to_vec();
            transpose(&torch, o, i, &mut net.params[off..off + i * o]);
        }
        Ok(net)
    }

    pub fn spec(&self) -> &MlpSpec {
        &self.spec
    }

    pub fn input_dim(&self) -> usize {
        self.spec.sizes[0]
    }

    pub fn output_dim(&self) -> usize {
        *self.spec.sizes.last().expect("at least two sizes")
    }

    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    /// Whether every weight and bias is a finite number (a file of NaNs is refused on load).
    pub fn all_finite(&self) -> bool {
        self.params.iter().all(|p| p.is_finite())
    }

    fn layer(&self, l: usize) -> (usize, usize, &[f32], &[f32], Activation) {
        let (i, o) = (self.spec.sizes[l], self.spec.sizes[l + 1]);
        let off = self.offsets[l];
        let act = if l + 2 == self.spec.sizes.len() {
            self.spec.output
        } else {
            self.spec.hidden
        };
        (
            i,
            o,
            &self.params[off..off + i * o],
            &self.params[off + i * o..off + i * o + o],
            act,
        )
    }

    /// Batched forward of `x` (`batch × in`); the output stays in `cache`.
    pub fn forward<'c>(&self, x: &[f32], batch: usize, cache: &'c mut Cache) -> &'c [f32] {
        assert_eq!(
            x.len(),
            batch * self.input_dim(),
            "input is batch × input_dim"
        );
        let _flush = FlushSubnormals::new();
        let layers = self.spec.sizes.len() - 1;
        cache.batch = batch;
        cache.acts.resize(layers + 1, Vec::new());
        cache.pre.resize(layers + 1, Vec::new());
        cache.acts[0].clear();
        cache.acts[0].extend_from_slice(x);
        for l in 0..layers {
            let (i, o, w, b, act) = self.layer(l);
            let (head, tail) = cache.acts.split_at_mut(l + 1);
            let (input, out) = (&head[l], &mut tail[0]);
            out.resize(batch * o, 0.0);
            if o < THIN {
                cache.w_t.resize(o * i, 0.0);
            }
            if act == Activation::Mish {
                // f(b + X·W) in two passes, keeping b + X·W: the same roundings as one.
                layer_forward(i, o, w, b, Activation::Identity, input, out, &mut cache.w_t);
                cache.pre[l + 1].clone_from(out);
                apply_activation(act, out);
            } else {
                cache.pre[l + 1].clear();
                layer_forward(i, o, w, b, act, input, out, &mut cache.w_t);
            }
        }
        cache.output()
    }

    /// Forward of one observation (acting) without a cache; `out` has `output_dim` values,
    /// bit for bit the row [`Mlp::forward`] gives for `x` in any batch.
    pub fn forward_one(&self, x: &[f32], scratch: &mut Vec<f32>, out: &mut [f32]) {
        assert_eq!(x.len(), self.input_dim(), "one input of input_dim values");
        let _flush = FlushSubnormals::new();
        let layers = self.spec.sizes.len() - 1;
        let widest = *self.spec.sizes.iter().max().expect("sizes");
        let thin = self
            .spec
            .sizes
            .windows(2)
            .filter(|w| w[1] < THIN)
            .map(|w| w[0] * w[1])
            .max()
            .unwrap_or(0);
        scratch.resize(2 * widest + thin, 0.0);
        let (a, rest) = scratch.split_at_mut(widest);
        let (b, w_t) = rest.split_at_mut(widest);
        a[..x.len()].copy_from_slice(x);
        let (mut cur, mut next) = (a, b);
        for l in 0..layers {
            let (i, o, w, bias, act) = self.layer(l);
            layer_forward(i, o, w, bias, act, &cur[..i], &mut next[..o], w_t);
            std::mem::swap(&mut cur, &mut next);
        }
        out.copy_from_slice(&cur[..self.output_dim()]);
    }

    /// Backward of the last [`Mlp::forward`]: adds `∂L/∂θ` to `grads` given `∂L/∂output`
    /// (`batch × out`), and writes `∂L/∂input` to `grad_input` when given.
    pub fn backward(
        &self,
        cache: &mut Cache,
        grad_out: &[f32],
        grads: &mut [f32],
        grad_input: Option<&mut [f32]>,
    ) {
        self.backward_impl(cache, grad_out, Some(grads), grad_input);
    }

    /// Only `∂L/∂input` of the last [`Mlp::forward`] (no parameter gradients): what an actor
    /// needs from a critic it differentiates through, at a third less work.
    pub fn backward_input(&self, cache: &mut Cache, grad_out: &[f32], grad_input: &mut [f32]) {
        self.backward_impl(cache, grad_out, None, Some(grad_input));
    }

    fn backward_impl(
        &self,
        cache: &mut Cache,
        grad_out: &[f32],
        mut grads: Option<&mut [f32]>,
        grad_input: Option<&mut [f32]>,
    ) {
        let _flush = FlushSubnormals::new();
        let batch = cache.batch;
        let layers = self.spec.sizes.len() - 1;
        assert_eq!(grad_out.len(), batch * self.output_dim());
        if let Some(g) = &grads {
            assert_eq!(g.len(), self.params.len());
        }
        let mut delta = std::mem::take(&mut cache.delta);
        let mut delta_next = std::mem::take(&mut cache.delta_next);
        let mut w_t = std::mem::take(&mut cache.w_t);
        delta.clear();
        delta.extend_from_slice(grad_out);
        for l in (0..layers).rev() {
            let (i, o, w, _, act) = self.layer(l);
            times_derivative(act, &mut delta, &cache.acts[l + 1], &cache.pre[l + 1]);
            if let Some(grads) = grads.as_deref_mut() {
                let off = self.offsets[l];
                let (gw, gb) = grads[off..off + i * o + o].split_at_mut(i * o);
                if o < THIN {
                    // (∂W)ᵀ = δᵀ·X  (δᵀ: row stride 1, column stride o), added transposed.
                    let prod = &mut cache.product_t;
                    prod.resize(o * i, 0.0);
                    gemm(o, batch, i, &delta, 1, o, &cache.acts[l], i, prod, i, false);
                    for (p, row) in gw.chunks_exact_mut(o).enumerate() {
                        for (j, g) in row.iter_mut().enumerate() {
                            *g += prod[j * i + p];
                        }
                    }
                } else {
                    // ∂W += Xᵀ·δ  (Xᵀ: row stride 1, column stride i)
                    gemm(i, batch, o, &cache.acts[l], 1, i, &delta, o, gw, o, true);
                }
                // ∂b += 1ᵀ·δ (a stride-0 row of ones): summed down the batch in vector lanes.
                gemm(1, batch, o, &[1.0], 0, 0, &delta, o, gb, o, true);
            }
            if l > 0 || grad_input.is_some() {
                // ∂X = δ·Wᵀ
                w_t.resize(o * i, 0.0);
                transpose(w, i, o, &mut w_t);
                delta_next.resize(batch * i, 0.0);
                gemm(
                    batch,
                    o,
                    i,
                    &delta,
                    o,
                    1,
                    &w_t,
                    i,
                    &mut delta_next,
                    i,
                    false,
                );
                std::mem::swap(&mut delta, &mut delta_next);
            }
        }
        if let Some(gi) = grad_input {
            gi.copy_from_slice(&delta[..batch * self.input_dim()]);
        }
        cache.delta = delta;
        cache.delta_next = delta_next;
        cache.w_t = w_t;
    }
}

/// One layer: `out` (`m × o`) = `f(b + X·W)` for `x` (`m × i`); `w_t` holds at least `o·i`
/// values of scratch when the layer is thin.
#[allow(clippy::too_many_arguments)]
fn layer_forward(
    i: usize,
    o: usize,
    w: &[f32],
    b: &[f32],
    act: Activation,
    x: &[f32],
    out: &mut [f32],
    w_t: &mut [f32],
) {
    let m = out.len() / o;
    if o < THIN {
        for row in out.chunks_exact_mut(o) {
            row.copy_from_slice(b);
        }
        transpose(w, i, o, &mut w_t[..o * i]);
        gemm_nt(m, i, o, x, i, w_t, i, out, o);
        apply_activation(act, out);
    } else {
        gemm(m, i, o, x, i, 1, w, o, out, o, false);
        add_bias_and_activate(act, b, out);
    }
}

/// `dst` (`cols × rows`) = `src`ᵀ for a row-major `rows × cols` `src`: 16 × 16 tiles through
/// registers where the CPU has AVX-512 (a DQN run spent a tenth of its time in the scalar loop),
/// the edges element by element.
fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
    let (mut full_r, mut full_c) = (0, 0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        (full_r, full_c) = (rows / 16 * 16, cols / 16 * 16);
        for r0 in (0..full_r).step_by(16) {
            for c0 in (0..full_c).step_by(16) {
                // SAFETY: AVX-512F is present (checked above); the tile's 16 rows of 16 values
                // start at (r0, c0) inside `src` and at (c0, r0) inside `dst`.
                unsafe {
                    transpose16(
                        src.as_ptr().add(r0 * cols + c0),
                        cols,
                        dst.as_mut_ptr().add(c0 * rows + r0),
                        rows,
                    );
                };
            }
        }
    }
    for r in 0..rows {
        let c_start = if r < full_r { full_c } else { 0 };
        for c in c_start..cols {
            dst[c * rows + r] = src[r * cols + c];
        }
    }
}

/// One 16 × 16 tile: rows of `src` (stride `lds`) become columns of `dst` (stride `ldd`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn transpose16(src: *const f32, lds: usize, dst: *mut f32, ldd: usize) {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees 16 rows of 16 values at both ends.
    unsafe {
        let r: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.add(i * lds)));
        // Pairs of rows interleaved by element, then by element pair, then 128-bit blocks
        // regrouped twice.
        let t: [__m512; 16] = std::array::from_fn(|i| {
            let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
            if i % 2 == 0 {
                _mm512_unpacklo_ps(a, b)
            } else {
                _mm512_unpackhi_ps(a, b)
            }
        });
        let u: [__m512; 16] = std::array::from_fn(|i| {
            let base = i / 4 * 4;
            let (a, b) = (
                _mm512_castps_pd(t[base + (i % 4) / 2]),
                _mm512_castps_pd(t[base + (i % 4) / 2 + 2]),
            );
            _mm512_castpd_ps(if i % 2 == 0 {
                _mm512_unpacklo_pd(a, b)
            } else {
                _mm512_unpackhi_pd(a, b)
            })
        });
        let v: [__m512; 16] = std::array::from_fn(|i| {
            let base = i / 8 * 8;
            let (a, b) = (u[base + i % 4], u[base + i % 4 + 4]);
            if (i % 8) < 4 {
                _mm512_shuffle_f32x4::<0x88>(a, b)
            } else {
                _mm512_shuffle_f32x4::<0xdd>(a, b)
            }
        });
        for i in 0..16 {
            let (a, b) = (v[i % 8], v[i % 8 + 8]);
            let w = if i < 8 {
                _mm512_shuffle_f32x4::<0x88>(a, b)
            } else {
                _mm512_shuffle_f32x4::<0xdd>(a, b)
            };
            _mm512_storeu_ps(dst.add(i * ldd), w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlp_spec;

    fn net(hidden: Activation) -> Mlp {
        Mlp::new(
            MlpSpec {
                sizes: vec![3, 5, 4, 2],
                hidden,
                output: Activation::Identity,
            },
            1.0,
            7,
        )
        .unwrap()
    }

    /// L = Σ c_k · y_k for fixed random c: ∂L/∂y = c.
    fn loss(net: &Mlp, x: &[f32], batch: usize, c: &[f32]) -> f64 {
        let mut cache = Cache::default();
        net.forward(x, batch, &mut cache)
            .iter()
            .zip(c)
            .map(|(y, c)| f64::from(y * c))
            .sum()
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // perturbs parameter p in place
    fn backward_matches_finite_differences() {
        // Narrow layers (every product thin, small batch) and wide ones (17, 18 outputs: the
        // direct products; batch 20: the transposed thin head). The wide net is checked with
        // tanh only: with 340 ReLU pre-activations some sit within a step of the kink, where
        // a finite difference is no reference.
        let cases = [
            (Activation::Tanh, vec![3, 5, 4, 2], 4),
            (Activation::Relu, vec![3, 5, 4, 2], 4),
            (Activation::Tanh, vec![3, 17, 18, 2], 20),
            (Activation::Mish, vec![3, 5, 4, 2], 4),
            (Activation::Mish, vec![3, 17, 18, 2], 20),
        ];
        for (hidden, sizes, batch) in cases {
            let mut m = Mlp::new(
                MlpSpec {
                    sizes: sizes.clone(),
                    hidden,
                    output: Activation::Identity,
                },
                1.0,
                7,
            )
            .unwrap();
            let x: Vec<f32> = (0..batch * 3)
                .map(|i| ((i * 37 % 11) as f32 / 5.0) - 1.0)
                .collect();
            let c: Vec<f32> = (0..batch * 2)
                .map(|i| ((i * 13 % 7) as f32 / 3.0) - 1.0)
                .collect();
            let mut cache = Cache::default();
            m.forward(&x, batch, &mut cache);
            let mut grads = vec![0.0; m.n_params()];
            let mut gx = vec![0.0; x.len()];
            m.backward(&mut cache, &c, &mut grads, Some(&mut gx));
            let mut gx_only = vec![0.0; x.len()];
            m.forward(&x, batch, &mut cache);
            m.backward_input(&mut cache, &c, &mut gx_only);
            assert_eq!(
                gx, gx_only,
                "input-only backward gives the same input gradient"
            );
            let h = 1e-2f32;
            for p in 0..m.n_params() {
                let orig = m.params[p];
                m.params[p] = orig + h;
                let up = loss(&m, &x, batch, &c);
                m.params[p] = orig - h;
                let down = loss(&m, &x, batch, &c);
                m.params[p] = orig;
                let fd = (up - down) / (2.0 * f64::from(h));
                assert!(
                    (fd - f64::from(grads[p])).abs() < 2e-3 * (1.0 + fd.abs()),
                    "{hidden:?} param {p}: fd {fd} vs {}",
                    grads[p]
                );
            }
            for k in 0..x.len() {
                let mut xp = x.clone();
                xp[k] += h;
                let mut xm = x.clone();
                xm[k] -= h;
                let fd =
                    (loss(&m, &xp, batch, &c) - loss(&m, &xm, batch, &c)) / (2.0 * f64::from(h));
                assert!(
                    (fd - f64::from(gx[k])).abs() < 2e-3 * (1.0 + fd.abs()),
                    "{hidden:?} input {k}: fd {fd} vs {}",
                    gx[k]
                );
            }
        }
    }

    #[test]
    fn transpose_matches_definition() {
        for (rows, cols) in [
            (1, 1),
            (16, 16),
            (256, 256),
            (33, 50),
            (64, 2),
            (4, 64),
            (17, 16),
        ] {
            let src: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
            let mut dst = vec![-1.0; rows * cols];
            transpose(&src, rows, cols, &mut dst);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        dst[c * rows + r],
                        src[r * cols + c],
                        "{rows}×{cols} ({r},{c})"
                    );
                }
            }
        }
    }

    #[test]
    fn fast_tanh_is_accurate() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            worst = worst.max((f64::from(fast_tanh(x)) - f64::from(x).tanh()).abs());
        }
        for x in [-50.0f32, -9.5, 9.5, 1e3] {
            worst = worst.max((f64::from(fast_tanh(x)) - f64::from(x).tanh()).abs());
        }
        assert!(worst < 5e-7, "max |error| {worst:e}");
        assert_eq!(fast_tanh(0.0), 0.0);
        assert_eq!(fast_tanh(-1.0), -fast_tanh(1.0));
    }

    #[test]
    fn fast_exp_and_mish_are_accurate() {
        let mut worst_exp = 0.0f64;
        let mut worst_mish = 0.0f64;
        let mut worst_grad = 0.0f64;
        for i in -300_000..=300_000 {
            let x = i as f32 * 3e-4;
            let xd = f64::from(x);
            let e = xd.exp();
            if x.abs() <= 87.0 {
                worst_exp = worst_exp.max((f64::from(fast_exp(x)) - e).abs() / e);
            }
            let sp = e.ln_1p();
            let exact = xd * sp.tanh();
            worst_mish = worst_mish.max((f64::from(mish(x)) - exact).abs() / (1.0 + xd.abs()));
            let sig = 1.0 / (1.0 + (-xd).exp());
            let grad = sp.tanh() + xd * (1.0 - sp.tanh().powi(2)) * sig;
            worst_grad =
                worst_grad.max((f64::from(mish_derivative(x)) - grad).abs() / (1.0 + xd.abs()));
        }
        assert!(worst_exp < 3e-7, "exp: max relative error {worst_exp:e}");
        assert!(worst_mish < 1e-6, "mish: max error {worst_mish:e}");
        assert!(worst_grad < 1e-6, "mish′: max error {worst_grad:e}");
        // The tails: linear above, vanishing below, no NaN or infinity anywhere.
        assert_eq!((mish(1e4), mish_derivative(1e4)), (1e4, 1.0));
        for x in [-1e30f32, -1e4, -100.0, 88.0, 1e30] {
            assert!(mish(x).is_finite() && mish_derivative(x).is_finite(), "{x}");
        }
        assert!(mish(-100.0).abs() < 1e-30);
    }

    #[test]
    fn single_forward_equals_batched_forward_bit_for_bit() {
        // Batch 1 takes the direct product everywhere, batch 24 the transposed thin head.
        for act in [Activation::Tanh, Activation::Mish] {
            let m = Mlp::new(mlp_spec(3, &[40, 33], 2, act), 1.0, 3).unwrap();
            let x: Vec<f32> = (0..24 * 3)
                .map(|i| ((i * 29 % 13) as f32 / 6.0) - 1.0)
                .collect();
            let mut cache = Cache::default();
            let batched = m.forward(&x, 24, &mut cache).to_vec();
            for (row, want) in x.chunks_exact(3).zip(batched.chunks_exact(2)) {
                let mut out = [0.0f32; 2];
                m.forward_one(row, &mut Vec::new(), &mut out);
                assert_eq!(out[0].to_bits(), want[0].to_bits(), "{act:?}");
                assert_eq!(out[1].to_bits(), want[1].to_bits(), "{act:?}");
            }
        }
    }

    #[test]
    fn files_hold_pytorch_layout() {
        // y_j = b_j + Σ_p W[j][p]·x_p with W given out × in.
        let spec = MlpSpec {
            sizes: vec![3, 2],
            hidden: Activation::Identity,
            output: Activation::Identity,
        };
        let torch = vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 0.5, -0.5];
        let m = Mlp::from_torch_layout(spec, torch.clone()).unwrap();
        let mut out = [0.0f32; 2];
        m.forward_one(&[1.0, 1.0, 2.0], &mut Vec::new(), &mut out);
        assert_eq!(out, [9.5, 89.5]);
        assert_eq!(m.torch_layout(), torch);
    }

    #[test]
    fn same_seed_same_weights() {
        assert_eq!(net(Activation::Tanh), net(Activation::Tanh));
        let other = Mlp::new(net(Activation::Tanh).spec.clone(), 1.0, 8).unwrap();
        assert_ne!(other.params, net(Activation::Tanh).params);
    }
}
