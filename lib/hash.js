'use strict'
// Key hashing and the probe sequence, identical to src/core/hash.rs (the
// vectors in __test__/vectors/format.json are checked against both).
//
// 64-bit values are kept as two uint32 halves in plain numbers, so hashing
// allocates nothing and needs no BigInt arithmetic: 64-bit products are
// built from 32-bit ones (Math.imul for the low half, `mulhu` for the high
// half), all in int32 operations.

// Module state lives in a typed array: numbers above 2^31 stored in plain
// `let` variables would be boxed (a heap allocation per store).
const S = new Uint32Array(3)
const HI = 0 // hash, high half
const LO = 1 // hash, low half
const STEP = 2 // probe step of the last probeStart

/** High 32 bits of the 64-bit product of two uint32s (Hacker's Delight mulhu). */
function mulhu(a, b) {
  const a0 = a & 0xffff
  const a1 = a >>> 16
  const b0 = b & 0xffff
  const b1 = b >>> 16
  const t = a1 * b0 + ((a0 * b0) >>> 16) // < 2^32
  const u = a0 * b1 + (t & 0xffff) // < 2^32
  return (a1 * b1 + (t >>> 16) + (u >>> 16)) >>> 0
}

// Splits a u64 BigInt into halves without BigInt arithmetic (which
// allocates): store it in a BigUint64Array, read two Uint32Array lanes.
const PART64 = new BigUint64Array(1)
const PART32 = new Uint32Array(PART64.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const PART_HI = LITTLE_ENDIAN ? 1 : 0
const PART_LO = LITTLE_ENDIAN ? 0 : 1

/**
 * h = mix64(h + part + GOLDEN) on the hash state, the part given as halves.
 * mix64 is splitmix64's finaliser (Stafford Mix13):
 *   z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31
 */
function absorb(partHi, partLo) {
  const sum = S[LO] + partLo + 0x7f4a7c15 // GOLDEN = 0x9E3779B9_7F4A7C15; < 2^34
  let l = sum >>> 0
  let h = (S[HI] + partHi + 0x9e3779b9 + Math.floor(sum / 4294967296)) >>> 0
  l = (l ^ ((l >>> 30) | (h << 2))) >>> 0
  h = (h ^ (h >>> 30)) >>> 0
  h = (mulhu(l, 0x1ce4e5b9) + Math.imul(h, 0x1ce4e5b9) + Math.imul(l, 0xbf58476d)) >>> 0
  l = Math.imul(l, 0x1ce4e5b9) >>> 0
  l = (l ^ ((l >>> 27) | (h << 5))) >>> 0
  h = (h ^ (h >>> 27)) >>> 0
  h = (mulhu(l, 0x133111eb) + Math.imul(h, 0x133111eb) + Math.imul(l, 0x94d049bb)) >>> 0
  l = Math.imul(l, 0x133111eb) >>> 0
  S[LO] = l ^ ((l >>> 31) | (h << 1))
  S[HI] = h ^ (h >>> 31)
}

/** Hashes key parts given as BigInts; leaves the hash in the module state. */
function hashParts(parts) {
  S[HI] = 0
  S[LO] = 0
  for (let i = 0; i < parts.length; i++) {
    PART64[0] = parts[i]
    absorb(PART32[PART_HI], PART32[PART_LO])
  }
}

// floor((hi·2^32 + lo) · n / 2^64) for n < 2^32.
function mulHigh(hi, lo, n) {
  const carry = (Math.imul(hi, n) >>> 0) + mulhu(lo, n) > 0xffffffff ? 1 : 0
  return mulhu(hi, n) + carry
}

/**
 * The probe sequence of the last hash over `blockCount` (a prime below
 * 2^32): start = (h · n) >> 64, step = 1 + ((rotl(h, 32) · (n − 1)) >> 64).
 * The start block is returned; `probeStep()` then gives the step.
 */
function probeStart(blockCount) {
  const hi = S[HI]
  const lo = S[LO]
  S[STEP] = 1 + mulHigh(lo, hi, blockCount - 1)
  return mulHigh(hi, lo, blockCount)
}

function probeStep() {
  return S[STEP]
}

/** The 64-bit hash of key parts (BigInts), as a BigInt: for tests. */
function hashKey(parts) {
  hashParts(parts)
  return (BigInt(S[HI]) << 32n) | BigInt(S[LO])
}

/** Start block and step over `blockCount` for key parts (BigInts): for tests. */
function probe(parts, blockCount) {
  hashParts(parts)
  const block = probeStart(blockCount)
  return { block, step: probeStep() }
}

module.exports = { hashParts, probeStart, probeStep, hashKey, probe, mulhu }
