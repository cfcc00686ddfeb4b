//! The random number generator behind every table: a small, fast generator whose streams
//! are derived from the seed, a table name and a part index, so each part is reproducible
//! on its own, whatever order the parts are written in.

use rand::RngCore;

/// Names the independent random streams drawn from one seed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    /// The product catalog.
    Products = 1,
    /// The attributes of the customers of one part.
    Profiles = 2,
    /// The purchase history of the customers of one part.
    Purchases = 3,
}

/// xoshiro256++ with a fixed seeding procedure, so a seed means the same data on every
/// platform and with every version of the `rand` crate.
#[derive(Clone, Debug)]
pub(crate) struct PartRng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl PartRng {
    /// The generator for `stream` of part `part` under `seed`.
    pub(crate) fn new(seed: u64, stream: Stream, part: u64) -> Self {
        let mut state = seed;
        let a = splitmix64(&mut state);
        let mut state = a ^ (stream as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let b = splitmix64(&mut state);
        let mut state = b ^ part.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
        let mut s = [0u64; 4];
        for word in &mut s {
            *word = splitmix64(&mut state);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }
}

impl RngCore for PartRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, stream, part| {
            let mut rng = PartRng::new(seed, stream, part);
            (0..4).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, Stream::Profiles, 3), draw(7, Stream::Profiles, 3));
        assert_ne!(draw(7, Stream::Profiles, 3), draw(7, Stream::Profiles, 4));
        assert_ne!(draw(7, Stream::Profiles, 3), draw(7, Stream::Purchases, 3));
        assert_ne!(draw(7, Stream::Profiles, 3), draw(8, Stream::Profiles, 3));
    }

    #[test]
    fn uniform_draws_look_uniform() {
        let mut rng = PartRng::new(1, Stream::Products, 0);
        let n = 100_000;
        let mean = (0..n).map(|_| rng.random::<f64>()).sum::<f64>() / f64::from(n);
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }
}
