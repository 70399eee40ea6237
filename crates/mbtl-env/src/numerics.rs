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
        // Inputs where CPython 3.11's `x**2` (glibc 2.36 `pow`) differs from `x*x` by one ulp;
        // with a constant exponent LLVM would fold `pow(x, 2.0)` into `x*x` and miss them.
        let cases = [
            (-0.8843031552730771, 0.78199207042592, 0.7819920704259199),
            (2.817595433862767, 7.938844028924314, 7.938844028924313),
            (-0.39232638741312, 0.15391999426062952, 0.1539199942606295),
        ];
        for (x, python, product) in cases {
            assert_eq!(x * x, product);
            assert_eq!(py_sq(x), python, "{x}");
        }
    }
}
