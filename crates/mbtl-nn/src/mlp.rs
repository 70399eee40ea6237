//! A multi-layer perceptron on one flat `f32` parameter vector: for each layer, the weight
//! matrix `W` (`out × in`, row-major) followed by the bias `b` (`out`).

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::NnError;

/// Element-wise non-linearity after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Identity,
    Tanh,
    Relu,
}

/// `tanh` as a rational function of odd degree 13 over even degree 6 on `[-9, 9]` (the
/// minimax fit Eigen uses for `float`; |error| < 5e-7 against the exact value, tested below).
/// libm's scalar `tanhf` took 72 % of a PPO run; this one vectorises.
#[inline(always)]
pub fn fast_tanh(x: f32) -> f32 {
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
        p = p * x2 + a;
    }
    let q = ((B[3] * x2 + B[2]) * x2 + B[1]) * x2 + B[0];
    x * p / q
}

/// `y = f(y)` in place over a layer's outputs: the AVX2 build where the CPU has it (the same
/// IEEE operations, eight lanes instead of four: identical results).
fn apply_activation(act: Activation, out: &mut [f32]) {
    #[inline(always)]
    fn generic(act: Activation, out: &mut [f32]) {
        match act {
            Activation::Identity => {}
            Activation::Tanh => out.iter_mut().for_each(|v| *v = fast_tanh(*v)),
            Activation::Relu => out.iter_mut().for_each(|v| *v = v.max(0.0)),
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn avx2(act: Activation, out: &mut [f32]) {
        generic(act, out)
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { avx2(act, out) };
    }
    generic(act, out)
}

impl Activation {
    #[inline(always)]
    fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Tanh => fast_tanh(x),
            Activation::Relu => x.max(0.0),
        }
    }

    /// Derivative expressed through the output `y = f(x)`.
    #[inline(always)]
    fn derivative_from_output(self, y: f32) -> f32 {
        match self {
            Activation::Identity => 1.0,
            Activation::Tanh => 1.0 - y * y,
            Activation::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
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
    delta: Vec<f32>,
    delta_next: Vec<f32>,
}

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

/// `C = A·B (+ C when accumulate)` for row-major `A` (`m × k`, row stride `ars`, column stride
/// `acs`) and `B` (`k × n`, strides `brs`, `bcs`); `C` is row-major `m × n`.
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    brs: usize,
    bcs: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    assert!(m == 0 || k == 0 || a.len() > (m - 1) * ars + (k - 1) * acs);
    assert!(k == 0 || n == 0 || b.len() > (k - 1) * brs + (n - 1) * bcs);
    assert!(c.len() >= m * n);
    // SAFETY: the assertions above keep every index the kernel touches inside the slices; the
    // output does not alias the inputs (distinct borrows).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            ars as isize,
            acs as isize,
            b.as_ptr(),
            brs as isize,
            bcs as isize,
            if accumulate { 1.0 } else { 0.0 },
            c.as_mut_ptr(),
            n as isize,
            1,
        );
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
            let bound = 1.0 / (w[0] as f32).sqrt();
            let gain = if l + 1 == layers { output_gain } else { 1.0 };
            let off = offsets[l];
            for (i, p) in params[off..off + w[0] * w[1] + w[1]].iter_mut().enumerate() {
                let u = (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
                let v = (2.0 * u - 1.0) * bound;
                *p = if i < w[0] * w[1] { v * gain } else { v };
            }
        }
        Ok(Mlp {
            spec,
            offsets,
            params,
        })
    }

    /// Rebuilds a network from its spec and parameters.
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
        let layers = self.spec.sizes.len() - 1;
        cache.batch = batch;
        cache.acts.resize(layers + 1, Vec::new());
        cache.acts[0].clear();
        cache.acts[0].extend_from_slice(x);
        for l in 0..layers {
            let (i, o, w, b, act) = self.layer(l);
            let (head, tail) = cache.acts.split_at_mut(l + 1);
            let (input, out) = (&head[l], &mut tail[0]);
            out.resize(batch * o, 0.0);
            for row in out.chunks_exact_mut(o) {
                row.copy_from_slice(b);
            }
            // out += X · Wᵀ  (Wᵀ[j][k] = W[k][j]: row stride 1, column stride i)
            gemm(batch, i, o, input, i, 1, w, 1, i, out, true);
            apply_activation(act, out);
        }
        cache.output()
    }

    /// Forward of one observation with plain loops (acting); `out` has `output_dim` values.
    pub fn forward_one(&self, x: &[f32], scratch: &mut Vec<f32>, out: &mut [f32]) {
        let layers = self.spec.sizes.len() - 1;
        let widest = *self.spec.sizes.iter().max().expect("sizes");
        scratch.resize(2 * widest, 0.0);
        let (a, b) = scratch.split_at_mut(widest);
        a[..x.len()].copy_from_slice(x);
        let (mut cur, mut next) = (a, b);
        for l in 0..layers {
            let (i, o, w, bias, act) = self.layer(l);
            for j in 0..o {
                let row = &w[j * i..(j + 1) * i];
                let s: f32 = row.iter().zip(&cur[..i]).map(|(w, x)| w * x).sum::<f32>() + bias[j];
                next[j] = act.apply(s);
            }
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
        let batch = cache.batch;
        let layers = self.spec.sizes.len() - 1;
        assert_eq!(grad_out.len(), batch * self.output_dim());
        if let Some(g) = &grads {
            assert_eq!(g.len(), self.params.len());
        }
        let mut delta = std::mem::take(&mut cache.delta);
        let mut delta_next = std::mem::take(&mut cache.delta_next);
        delta.clear();
        delta.extend_from_slice(grad_out);
        for l in (0..layers).rev() {
            let (i, o, w, _, act) = self.layer(l);
            // δ = ∂L/∂y ⊙ f'(y): the gradient at the pre-activation.
            if act != Activation::Identity {
                for (d, &y) in delta.iter_mut().zip(&cache.acts[l + 1]) {
                    *d *= act.derivative_from_output(y);
                }
            }
            if let Some(grads) = grads.as_deref_mut() {
                let off = self.offsets[l];
                let (gw, gb) = grads[off..off + i * o + o].split_at_mut(i * o);
                // ∂W += δᵀ · X  (δᵀ: row stride 1, column stride o)
                gemm(o, batch, i, &delta, 1, o, &cache.acts[l], i, 1, gw, true);
                for row in delta.chunks_exact(o) {
                    for (g, d) in gb.iter_mut().zip(row) {
                        *g += d;
                    }
                }
            }
            if l > 0 || grad_input.is_some() {
                // ∂X = δ · W
                delta_next.resize(batch * i, 0.0);
                gemm(batch, o, i, &delta, o, 1, w, i, 1, &mut delta_next, false);
                std::mem::swap(&mut delta, &mut delta_next);
            }
        }
        if let Some(gi) = grad_input {
            gi.copy_from_slice(&delta[..batch * self.input_dim()]);
        }
        cache.delta = delta;
        cache.delta_next = delta_next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for hidden in [Activation::Tanh, Activation::Relu] {
            let mut m = net(hidden);
            let batch = 4;
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
    fn single_forward_equals_batched_forward() {
        let m = net(Activation::Tanh);
        let x = [0.3f32, -0.7, 1.1];
        let mut cache = Cache::default();
        let batched = m.forward(&x, 1, &mut cache).to_vec();
        let mut out = [0.0f32; 2];
        m.forward_one(&x, &mut Vec::new(), &mut out);
        for (a, b) in out.iter().zip(&batched) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn same_seed_same_weights() {
        assert_eq!(net(Activation::Tanh), net(Activation::Tanh));
        let other = Mlp::new(net(Activation::Tanh).spec.clone(), 1.0, 8).unwrap();
        assert_ne!(other.params, net(Activation::Tanh).params);
    }
}
