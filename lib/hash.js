'use strict'
// Key hashing and the probe sequence, identical to src/core/hash.rs (the
// vectors in __test__/vectors/hash.json are checked against both).

const M64 = (1n << 64n) - 1n
const GOLDEN = 0x9e37_79b9_7f4a_7c15n

/** splitmix64's finaliser (Stafford Mix13) on a u64 BigInt. */
function mix64(z) {
  z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & M64
  z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & M64
  return z ^ (z >> 31n)
}

/** h = 0; for each part p: h = mix64(h + p + GOLDEN), wrapping mod 2^64. */
function hashKey(parts) {
  let h = 0n
  for (let i = 0; i < parts.length; i++) h = mix64((h + parts[i] + GOLDEN) & M64)
  return h
}

/**
 * First block and step of the double-hashing sequence over `blockCount`
 * (a prime): start = (h * n) >> 64, step = 1 + ((rotl(h, 32) * (n - 1)) >> 64).
 */
function probe(h, blockCount) {
  const n = BigInt(blockCount)
  const rotated = ((h << 32n) | (h >> 32n)) & M64
  return {
    block: Number((h * n) >> 64n),
    step: 1 + Number((rotated * (n - 1n)) >> 64n),
  }
}

module.exports = { mix64, hashKey, probe }
