//! The numerics the reference environments rely on (envs-spec.md §2.6).

/// `x**2` as Python computes it: glibc's `pow(x, 2.0)`, which differs from the correctly rounded
/// `x*x` in about 0.08 % of inputs. The exponent goes through `black_box` so that LLVM cannot fold
/// the call into a multiplication; without this Acrobot (a chaotic system) leaves the reference
/// trajectory after 8 steps.
#[inline(always)]
pub(crate) fn py_sq(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// Python's floored modulo for a positive divisor (`rem_euclid`, not `%`).
#[inline(always)]
pub(crate) fn py_mod(x: f64, m: f64) -> f64 {
    let r = x % m;
    if r != 0.0 && r < 0.0 {
        r + m
    } else if r == 0.0 {
        0.0
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floored_modulo_matches_python() {
        assert_eq!(py_mod(-1.0, 3.0), 2.0);
        assert_eq!(py_mod(4.0, 3.0), 1.0);
        assert_eq!(py_mod(-3.0, 3.0).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn square_is_libm_pow_not_multiplication() {
        // A value where glibc pow(x, 2) and x*x are known to differ would pin the libm; at least
        // check that it agrees with the C library's pow for a spread of inputs.
        extern "C" {
            fn pow(x: f64, y: f64) -> f64;
        }
        let mut x = 0.123456789f64;
        for _ in 0..10_000 {
            // SAFETY: `pow` from the C math library is a pure function on two doubles.
            let want = unsafe { pow(x, 2.0) };
            assert_eq!(py_sq(x).to_bits(), want.to_bits());
            x = x * 1.618033988749 + 0.377;
            if x > 1e6 {
                x /= 1e6;
            }
        }
    }
}
