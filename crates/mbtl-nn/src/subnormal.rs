//! Subnormal floats flushed to zero while the network computes.
//!
//! An x86 core meets an operand or a result below `f32::MIN_POSITIVE` (1.18·10⁻³⁸, a
//! *subnormal*) with a microcode assist of about a hundred cycles instead of one. Networks
//! make such values: Mish is `x·tanh(softplus(x)) ≈ x·eˣ` far left of zero, its derivative
//! there is as small, and Adam squares gradients. Once they appear, the products that consume
//! them run several times slower: MBTL's traffic DQN (Mish, 80 → 4 × 400 → 4) took 125 s
//! for its first 12 episodes with subnormals and 63 s without (README, Learners).
//!
//! [`FlushSubnormals`] flushes them for the duration of a network call: on x86-64 the
//! MXCSR's flush-to-zero (results) and denormals-are-zero (operands) bits, on AArch64 FPCR.FZ,
//! which does both; elsewhere nothing, and the results keep their subnormals. A result changes
//! only where a value below 1.18·10⁻³⁸ took part, and by less than that; every entry point of
//! the crate (forward, backward, Adam, clipping) computes under it, so every learner,
//! evaluation and binding sees one arithmetic. Rust does not model the floating-point
//! environment: the switch is an instruction with a memory clobber at the start and end of
//! each call, and the work between reads its operands from memory, so no arithmetic moves
//! across it.

/// Flush-to-zero (bit 15) and denormals-are-zero (bit 6) of the x86-64 MXCSR.
#[cfg(target_arch = "x86_64")]
const MXCSR_FTZ_DAZ: u32 = 0x8040;

/// FZ (bit 24) of the AArch64 FPCR: subnormal operands and results are zero.
#[cfg(target_arch = "aarch64")]
const FPCR_FZ: u64 = 1 << 24;

/// Subnormals are flushed to zero on this thread until the guard drops, which restores the
/// mode it found (so guards nest, and code outside the crate is untouched).
pub(crate) struct FlushSubnormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
    #[cfg(target_arch = "aarch64")]
    saved: u64,
}

impl FlushSubnormals {
    #[inline]
    pub(crate) fn new() -> FlushSubnormals {
        #[cfg(target_arch = "x86_64")]
        {
            let saved = mxcsr();
            set_mxcsr(saved | MXCSR_FTZ_DAZ);
            FlushSubnormals { saved }
        }
        #[cfg(target_arch = "aarch64")]
        {
            let saved = fpcr();
            set_fpcr(saved | FPCR_FZ);
            FlushSubnormals { saved }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        FlushSubnormals {}
    }
}

impl Drop for FlushSubnormals {
    #[inline]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        set_mxcsr(self.saved);
        #[cfg(target_arch = "aarch64")]
        set_fpcr(self.saved);
    }
}

#[cfg(target_arch = "x86_64")]
fn mxcsr() -> u32 {
    let mut csr = 0u32;
    // SAFETY: `stmxcsr` stores the 4-byte control register into `csr`, a live local.
    unsafe {
        core::arch::asm!("stmxcsr [{p}]", p = in(reg) &mut csr, options(nostack, preserves_flags));
    }
    csr
}

#[cfg(target_arch = "x86_64")]
fn set_mxcsr(csr: u32) {
    // SAFETY: `ldmxcsr` loads a value read from the register with only the FTZ and DAZ bits
    // changed (or the saved one), so no reserved bit is set; no `nomem`: it orders the
    // surrounding memory accesses, and with them the arithmetic on what they load.
    unsafe {
        core::arch::asm!("ldmxcsr [{p}]", p = in(reg) &csr, options(nostack, preserves_flags));
    }
}

#[cfg(target_arch = "aarch64")]
fn fpcr() -> u64 {
    let fpcr: u64;
    // SAFETY: reading FPCR has no side effect.
    unsafe {
        core::arch::asm!("mrs {r}, fpcr", r = out(reg) fpcr, options(nostack, preserves_flags));
    }
    fpcr
}

#[cfg(target_arch = "aarch64")]
fn set_fpcr(fpcr: u64) {
    // SAFETY: writes back a value read from FPCR with only FZ changed (or the saved one).
    unsafe {
        core::arch::asm!("msr fpcr, {r}", r = in(reg) fpcr, options(nostack, preserves_flags));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product whose exact value is subnormal, computed from memory so that it happens at
    /// run time under the mode in force.
    fn tiny_product(x: &[f32; 2]) -> f32 {
        std::hint::black_box(x[0]) * std::hint::black_box(x[1])
    }

    #[test]
    fn subnormals_flush_inside_the_guard_only_and_the_mode_is_restored() {
        let x = [1e-20f32, 1e-20];
        let before = tiny_product(&x);
        assert!(
            before > 0.0 && before < f32::MIN_POSITIVE,
            "{before:e} is subnormal"
        );
        {
            let _outer = FlushSubnormals::new();
            {
                let _inner = FlushSubnormals::new();
                if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
                    assert_eq!(tiny_product(&x), 0.0, "flushed");
                    // A subnormal operand counts as zero too.
                    let y = [std::hint::black_box(before), 1.0e10];
                    assert_eq!(tiny_product(&y), 0.0, "a subnormal operand reads as zero");
                }
            }
            if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
                assert_eq!(tiny_product(&x), 0.0, "the outer guard still holds");
            }
        }
        assert_eq!(tiny_product(&x), before, "restored");
        // Normal numbers are untouched.
        let _g = FlushSubnormals::new();
        assert_eq!(tiny_product(&[3.0, 0.5]), 1.5);
    }
}
