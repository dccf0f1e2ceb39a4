//! A small deterministic random number generator.
//!
//! The generated data must be identical on every machine and with every
//! version of every dependency, so the generator is written here instead of
//! taken from a crate whose streams may change between releases: SplitMix64
//! (Steele, Lea and Flood, 2014), integer arithmetic only.

/// SplitMix64: 64 bits of state, one multiply-xorshift finaliser per draw.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for `seed` and `stream`: different streams of one seed
    /// (one per chunk of output) are independent, so chunks can be generated
    /// on any thread in any order and still give the same bytes.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = Rng {
            state: seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93),
        };
        // Mix the combined state so that nearby seeds and streams diverge at
        // once.
        rng.state = rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), by multiply-shift: the bias is below
    /// 2^-32 for the small ranges used here, which does not matter for test
    /// data.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// `true` with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A float in `[0, 1)` with 53 random bits: exact, so the same on every
    /// machine.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Index into `weights` chosen with probability proportional to each
    /// weight (weights sum to more than zero).
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_stream_give_same_numbers() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7, 3);
            (0..16).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7, 3);
            (0..16).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn streams_of_one_seed_differ() {
        let mut a = Rng::new(7, 0);
        let mut b = Rng::new(7, 1);
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn helpers_stay_in_their_ranges() {
        let mut r = Rng::new(1, 0);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let x = r.range(5, 7);
            assert!((5..=7).contains(&x));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.weighted(&[0, 3, 0, 1]) % 2 == 1);
        }
    }
}
