//! NumPy's legacy `RandomState` (MT19937), bit for bit: the authors of MBTL and SD-MBTL draw
//! their synthetic noise, random orders and restarts from it (`np.random.seed(s)` and friends),
//! and the MBTL traffic benchmark its vehicles' departures and routes, so reproducing their
//! numbers needs the same stream. Its own crate because both the selection core and the
//! simulators use it. Written from the published MT19937 algorithm and NumPy's documented
//! legacy conventions:
//!
//! * `seed(s)`: MT19937 `init_genrand(s)`;
//! * `random_sample()`: `(a >> 5, b >> 6)` of two 32-bit draws → 53-bit double;
//! * `weibull(k)`: the legacy inverse transform `(−ln(1 − u))^(1/k)`;
//! * `normal`/`standard_normal`: the polar Box–Muller method, the second variate cached;
//! * `randint(0, n)` / `choice(n)`: masked rejection on 32-bit draws;
//! * `permutation(n)`: Fisher–Yates from the end with masked-rejection intervals.

const N: usize = 624;
const M: usize = 397;

/// The legacy NumPy generator.
#[derive(Clone)]
pub struct RandomState {
    mt: [u32; N],
    pos: usize,
    gauss: Option<f64>,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState")
            .field("pos", &self.pos)
            .finish()
    }
}

impl RandomState {
    /// `np.random.seed(seed)`.
    pub fn new(seed: u32) -> RandomState {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        RandomState {
            mt,
            pos: N,
            gauss: None,
        }
    }

    fn twist(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..N {
            let y = (self.mt[i] & UPPER) | (self.mt[(i + 1) % N] & LOWER);
            let mut v = self.mt[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= MATRIX_A;
            }
            self.mt[i] = v;
        }
        self.pos = 0;
    }

    /// One tempered 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.twist();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `np.random.random_sample()`: uniform in [0, 1) with 53 bits.
    pub fn random_sample(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `np.random.uniform(lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.random_sample()
    }

    /// `np.random.standard_normal()` (legacy polar method).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `np.random.normal(loc, scale)`.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.standard_normal()
    }

    /// `np.random.weibull(shape)` (legacy): the standard exponential `−ln(1 − u)` of one
    /// `random_sample`, raised to `1/shape`; 0 for shape 0, as NumPy.
    pub fn weibull(&mut self, shape: f64) -> f64 {
        if shape == 0.0 {
            return 0.0;
        }
        (-(1.0 - self.random_sample()).ln()).powf(1.0 / shape)
    }

    /// `np.random.randint(lo, hi)` for a scalar, `hi` exclusive: one masked-rejection draw
    /// over `0..=hi − lo − 1`, each attempt a whole 32-bit output.
    pub fn randint_range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(
            hi > lo && hi - lo <= i64::from(u32::MAX) + 1,
            "randint range"
        );
        lo + i64::from(self.interval((hi - lo - 1) as u32))
    }

    /// A uniform integer in `0..=max` by masked rejection (NumPy's `random_interval` and the
    /// legacy bounded-integer path agree for ranges below 2³²).
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `np.random.randint(0, n)` and `np.random.choice(list_of_len_n)`.
    pub fn randint(&mut self, n: usize) -> usize {
        assert!(n > 0 && n <= u32::MAX as usize + 1, "randint range");
        self.interval((n - 1) as u32) as usize
    }

    /// `np.random.permutation(n)`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u32) as usize;
            v.swap(i, j);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weibull_and_randint_match_the_traffic_spec_vectors() {
        // traffic-signal-spec §2.3: seed 10000's first raw u32 and its first Weibull(2) draws.
        assert_eq!(RandomState::new(10_000).next_u32(), 2_342_776_460);
        let mut r = RandomState::new(10_000);
        let w: Vec<f64> = (0..3).map(|_| r.weibull(2.0)).collect();
        for (got, want) in w.iter().zip([0.887_970_55, 0.434_257_38, 1.384_506_74]) {
            assert!((got - want).abs() < 5e-9, "{got} vs {want}");
        }
        let mut r = RandomState::new(1);
        for _ in 0..1000 {
            let v = r.randint_range(1, 9);
            assert!((1..9).contains(&v));
        }
    }

    #[test]
    fn mt19937_reference_outputs() {
        // The first outputs of init_genrand(5489), the reference implementation's default seed.
        let mut r = RandomState::new(5489);
        let first: Vec<u32> = (0..3).map(|_| r.next_u32()).collect();
        assert_eq!(first, vec![3_499_211_612, 581_869_302, 3_890_346_734]);
        // The 10000th output for seed 5489 is 4123659995 (C++ std::mt19937 requirement).
        let mut r = RandomState::new(5489);
        let x = (0..10_000).map(|_| r.next_u32()).last().unwrap();
        assert_eq!(x, 4_123_659_995);
    }

    #[test]
    fn numpy_seed_zero_values() {
        // np.random.seed(0); np.random.random_sample() == 0.5488135039273248
        let mut r = RandomState::new(0);
        assert_eq!(r.random_sample(), 0.548_813_503_927_324_8);
        // np.random.seed(0); np.random.standard_normal() == 1.764052345967664
        let mut r = RandomState::new(0);
        assert_eq!(r.standard_normal(), 1.764_052_345_967_664);
        assert_eq!(r.standard_normal(), 0.400_157_208_367_223_3);
    }

    #[test]
    fn matches_numpy_1_26_choice_permutation_and_normal() {
        // Values printed by numpy 1.26.4 (see the comment beside each).
        let mut r = RandomState::new(50); // [np.random.choice(list(range(512))) for _ in range(3)]
        assert_eq!(
            (0..3).map(|_| r.randint(512)).collect::<Vec<_>>(),
            vec![176, 480, 395]
        );
        let mut r = RandomState::new(7); // np.random.permutation(10)
        assert_eq!(r.permutation(10), vec![8, 5, 0, 2, 1, 9, 7, 3, 6, 4]);
        let mut r = RandomState::new(42); // np.random.choice(30, 5, replace=False)
        assert_eq!(r.permutation(30)[..5], [27, 15, 23, 17, 8]);
        let mut r = RandomState::new(3); // np.random.normal(0, 1, size=(2, 3))
        let want = [
            1.7886284734303186,
            0.43650985051198943,
            0.09649746807200862,
            -1.8634927033644908,
            -0.27738820251439905,
            -0.35475897926898675,
        ];
        for w in want {
            assert_eq!(r.normal(0.0, 1.0), w);
        }
    }
}
