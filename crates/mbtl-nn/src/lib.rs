//! # mbtl-nn
//!
//! The network core of mbtl's learners, hand-written because it is the hot path and the shapes
//! are tiny (rust-ecosystem.md §1–2: one Adam step of a 4-64-64-2 MLP on a batch of 64 took
//! ≈ 45 µs on a GEMM crate against ≈ 106 µs in burn and ≈ 565 µs in PyTorch). `mbtl bench nn`
//! measures it on the learners' own shapes.
//!
//! * [`Mlp`] — dense layers with tanh/ReLU/Mish, batched forward with a cache for
//!   [`Mlp::backward`], and an allocation-free single-observation forward for acting; products
//!   go through an unpacked AVX-512 kernel (`gemm.rs`) with a bit-identical portable path.
//! * [`Adam`] — PyTorch's Adam, on the flat parameter vector; [`clip_grad_norm`] as PyTorch's.
//! * [`io`] — parameters as safetensors with a JSON header.
//!
//! Every entry point computes with subnormal floats flushed to zero (`subnormal.rs`): they
//! cost x86 cores a microcode assist per operation, and Mish's tails make them.
//!
//! Every backward pass is checked against finite differences in the tests.

mod adam;
mod clip;
mod gemm;
pub mod io;
mod mlp;
mod subnormal;

pub use adam::Adam;
pub use clip::clip_grad_norm;
pub use mlp::{Activation, Cache, Mlp, MlpSpec};

/// The spec of `input → hidden… → output` with `hidden_act` between layers and no output
/// activation.
pub fn mlp_spec(input: usize, hidden: &[usize], output: usize, hidden_act: Activation) -> MlpSpec {
    let mut sizes = vec![input];
    sizes.extend_from_slice(hidden);
    sizes.push(output);
    MlpSpec {
        sizes,
        hidden: hidden_act,
        output: Activation::Identity,
    }
}

/// Errors of the network crate.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A file that could not be read or written; the cause (an OS, parser or format error, or
    /// mbtl's own message) is the source.
    #[error("{path}")]
    File {
        path: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("network shape mismatch: {0}")]
    Shape(String),
}
