//! Key hashing and the probe sequence. This is part of the on-memory format
//! (docs/FORMAT.md), implemented here only; `__test__/vectors/format.json` holds
//! the vectors that pin it (tests/vectors.rs, __test__/format.test.js).

/// The golden-ratio increment of splitmix64.
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 finaliser (Stafford's "Mix13"): a bijection of `u64` with
/// full avalanche.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a key given as its parts (the 64-bit parts first, then the 32-bit
/// parts, each as a `u64`): `h = 0; for p in parts { h = mix64(h + p + GOLDEN) }`.
/// For a one-part key this is exactly splitmix64's output for state `p`.
#[inline]
pub fn hash_key(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0u64, |h, &p| mix64(h.wrapping_add(p).wrapping_add(GOLDEN)))
}

/// Double hashing over `blocks` blocks (`blocks` is prime, so every step in
/// `1..blocks` visits every block once in `blocks` steps).
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    pub block: u64,
    pub step: u64,
    blocks: u64,
}

impl Probe {
    /// Start block: `(h * blocks) >> 64`; step: `1 + ((rotl(h, 32) * (blocks - 1)) >> 64)`.
    #[inline]
    pub fn new(hash: u64, blocks: u64) -> Probe {
        debug_assert!(blocks >= 2);
        let block = ((hash as u128 * blocks as u128) >> 64) as u64;
        let step = 1 + ((hash.rotate_left(32) as u128 * (blocks - 1) as u128) >> 64) as u64;
        Probe {
            block,
            step,
            blocks,
        }
    }

    /// Moves to the next block of the sequence.
    #[inline]
    pub fn advance(&mut self) {
        // block < blocks and step < blocks, so one subtraction wraps it.
        self.block += self.step;
        if self.block >= self.blocks {
            self.block -= self.blocks;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_part_hash_is_splitmix64() {
        // splitmix64 seeded with 0: first outputs are well known.
        assert_eq!(hash_key(&[0]), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix64(GOLDEN.wrapping_mul(2)), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn probe_visits_every_block_once() {
        for blocks in [2u64, 3, 5, 7, 11, 13, 101, 1009] {
            for h in [0u64, 1, u64::MAX, 0xDEAD_BEEF_0123_4567, GOLDEN] {
                let mut p = Probe::new(h, blocks);
                let mut seen = vec![false; blocks as usize];
                for _ in 0..blocks {
                    assert!(!seen[p.block as usize]);
                    seen[p.block as usize] = true;
                    p.advance();
                }
                assert!(seen.iter().all(|&s| s));
            }
        }
    }
}
