//! String keys: a string stands for the 64-bit key part
//! `string_key(s) = SipHash-2-4(STRING_KEY_SEED, UTF-8 bytes of s)`, with a
//! result of 0 (which is never a key part) replaced by 1.
//!
//! This is part of the format (docs/FORMAT.md, "String keys"): every process and
//! every version of the package must map a string to the same part, so the
//! seed is a constant and `__test__/vectors/strings.json` pins the results.
//! SipHash is a pseudo-random function, so different strings share a part
//! only by chance (about n²/2^65 for n strings); because the seed is public,
//! someone who chooses strings on purpose can find two that collide with
//! about 2^32 work, but finding a string that collides with one they did not
//! choose is as hard as for any good 64-bit hash (about 2^64 work).

/// The SipHash key: the 16 ASCII bytes `atomic-dict:str1`, read as two
/// little-endian `u64`s (k0, k1). Never change it: it is part of the format.
pub const STRING_KEY_SEED: [u8; 16] = *b"atomic-dict:str1";

/// The key part a string stands for (never 0).
pub fn string_key(s: &str) -> u64 {
    let (k0, k1) = seed_words(&STRING_KEY_SEED);
    match siphash24(k0, k1, s.as_bytes()) {
        0 => 1,
        h => h,
    }
}

/// The key part for a string given as UTF-16 code units (as JS holds it);
/// `None` when it is not well formed (a lone surrogate has no UTF-8 form).
/// `utf8` is scratch space, reused between calls.
pub fn string_key_utf16(units: &[u16], utf8: &mut Vec<u8>) -> Option<u64> {
    utf8_from_utf16(units, utf8).map(string_key)
}

/// The UTF-8 form of a string given as UTF-16 code units, written into
/// `utf8` (scratch space, reused between calls); `None` when it is not well
/// formed (a lone surrogate has no UTF-8 form).
pub fn utf8_from_utf16<'a>(units: &[u16], utf8: &'a mut Vec<u8>) -> Option<&'a str> {
    utf8.clear();
    let mut buf = [0u8; 4];
    for c in char::decode_utf16(units.iter().copied()) {
        utf8.extend_from_slice(c.ok()?.encode_utf8(&mut buf).as_bytes());
    }
    // The bytes came from `char`s, so they are UTF-8.
    std::str::from_utf8(utf8).ok()
}

fn seed_words(seed: &[u8; 16]) -> (u64, u64) {
    let mut k0 = [0u8; 8];
    let mut k1 = [0u8; 8];
    k0.copy_from_slice(&seed[..8]);
    k1.copy_from_slice(&seed[8..]);
    (u64::from_le_bytes(k0), u64::from_le_bytes(k1))
}

/// SipHash-2-4 (Aumasson and Bernstein, 2012) of `bytes` under the key
/// (k0, k1), as in the paper's reference implementation.
pub fn siphash24(k0: u64, k1: u64, bytes: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        compress(&mut v, u64::from_le_bytes(word), 2);
    }
    // The last word: the remaining bytes, then the length's low byte on top.
    let mut last = [0u8; 8];
    let tail = chunks.remainder();
    last[..tail.len()].copy_from_slice(tail);
    last[7] = bytes.len() as u8;
    compress(&mut v, u64::from_le_bytes(last), 2);
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn compress(v: &mut [u64; 4], m: u64, rounds: usize) {
    v[3] ^= m;
    for _ in 0..rounds {
        sip_round(v);
    }
    v[0] ^= m;
}

#[inline]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper_key() -> (u64, u64) {
        let mut seed = [0u8; 16];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        seed_words(&seed)
    }

    #[test]
    fn matches_the_siphash_paper() {
        // Appendix A of the SipHash paper: key 00..0f, message 00..0e.
        let (k0, k1) = paper_key();
        let message: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash24(k0, k1, &message), 0xa129_ca61_49be_45e5);
        // The reference implementation's first vector: the empty message.
        assert_eq!(siphash24(k0, k1, &[]), 0x726f_db47_dd0e_0e31);
    }

    #[test]
    #[allow(deprecated)] // std's SipHasher is SipHash-2-4: a second opinion.
    fn matches_std_siphash_for_every_length() {
        use std::hash::{Hasher, SipHasher};
        let (k0, k1) = seed_words(&STRING_KEY_SEED);
        let bytes: Vec<u8> = (0..300u32).map(|i| (i * 131 + 7) as u8).collect();
        for len in 0..bytes.len() {
            let mut std = SipHasher::new_with_keys(k0, k1);
            std.write(&bytes[..len]);
            assert_eq!(
                siphash24(k0, k1, &bytes[..len]),
                std.finish(),
                "length {len}"
            );
        }
    }

    #[test]
    fn utf16_form_equals_the_utf8_form() {
        let mut scratch = Vec::new();
        for s in ["", "a", "route:/api", "é", "日本語", "😀 emoji", "\u{0}"] {
            let units: Vec<u16> = s.encode_utf16().collect();
            assert_eq!(string_key_utf16(&units, &mut scratch), Some(string_key(s)));
        }
    }

    #[test]
    fn lone_surrogates_have_no_key() {
        let mut scratch = Vec::new();
        assert_eq!(string_key_utf16(&[0xd800], &mut scratch), None);
        assert_eq!(string_key_utf16(&[0x61, 0xdc00, 0x62], &mut scratch), None);
    }
}
