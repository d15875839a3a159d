'use strict'
// Key hashing and the probe sequence, identical to src/core/hash.rs (the
// vectors in __test__/vectors/format.json are checked against both).
//
// 64-bit values are kept as two uint32 halves in plain numbers, so hashing
// allocates nothing and needs no BigInt arithmetic: the products are built
// from 16-bit pieces, every intermediate stays below 2^53 and so is exact.

const TWO32 = 4294967296

// Module state lives in a typed array: numbers above 2^31 stored in plain
// `let` variables would be boxed (a heap allocation per store).
const S = new Uint32Array(4)
const HI = 0 // hash state, high half
const LO = 1 // hash state, low half
const PRODUCT_LO = 2 // low half of the last mul32
const STEP = 3 // probe step of the last probeStart

// mul32(a, b) returns the high half of the 64-bit product of two uint32s and
// leaves the low half in S[PRODUCT_LO].
function mul32(a, b) {
  const a0 = a & 0xffff
  const a1 = a >>> 16
  const b0 = b & 0xffff
  const b1 = b >>> 16
  const mid = a0 * b1 + a1 * b0 // < 2^33
  const low = a0 * b0 + (mid & 0xffff) * 65536 // < 2^33 (mid & 0xffff is mid mod 2^16: ToInt32 keeps low bits)
  S[PRODUCT_LO] = low
  return a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / TWO32)
}

// z = mix64(z) on the hash state: splitmix64's finaliser (Stafford Mix13).
function mix() {
  let hi = S[HI]
  let l = S[LO]
  l = (l ^ ((l >>> 30) | (hi << 2))) >>> 0
  hi = (hi ^ (hi >>> 30)) >>> 0
  // * 0xBF58476D1CE4E5B9 (mod 2^64)
  hi = (mul32(l, 0x1ce4e5b9) + Math.imul(hi, 0x1ce4e5b9) + Math.imul(l, 0xbf58476d)) >>> 0
  l = S[PRODUCT_LO]
  l = (l ^ ((l >>> 27) | (hi << 5))) >>> 0
  hi = (hi ^ (hi >>> 27)) >>> 0
  // * 0x94D049BB133111EB (mod 2^64)
  hi = (mul32(l, 0x133111eb) + Math.imul(hi, 0x133111eb) + Math.imul(l, 0x94d049bb)) >>> 0
  l = S[PRODUCT_LO]
  S[LO] = l ^ ((l >>> 31) | (hi << 1))
  S[HI] = hi ^ (hi >>> 31)
}

// h = mix64(h + part + GOLDEN), the part given as halves.
function absorb(partHi, partLo) {
  const low = S[LO] + partLo + 0x7f4a7c15 // GOLDEN = 0x9E3779B9_7F4A7C15
  S[LO] = low
  S[HI] = S[HI] + partHi + 0x9e3779b9 + Math.floor(low / TWO32)
  mix()
}

// Splits a u64 BigInt into halves without BigInt arithmetic (which
// allocates): store it in a BigUint64Array, read two Uint32Array lanes.
const PART64 = new BigUint64Array(1)
const PART32 = new Uint32Array(PART64.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const PART_HI = LITTLE_ENDIAN ? 1 : 0
const PART_LO = LITTLE_ENDIAN ? 0 : 1

/** Hashes key parts given as BigInts; leaves the hash in the module state. */
function hashParts(parts) {
  S[HI] = 0
  S[LO] = 0
  for (let i = 0; i < parts.length; i++) {
    PART64[0] = parts[i]
    absorb(PART32[PART_HI], PART32[PART_LO])
  }
}

// floor((hi·2^32 + l) · n / 2^64) for n < 2^32.
function mulHigh(hi, l, n) {
  const topOfLow = mul32(l, n)
  const high = mul32(hi, n)
  return high + (S[PRODUCT_LO] + topOfLow >= TWO32 ? 1 : 0)
}

/**
 * The probe sequence of the last `hashParts` over `blockCount` (a prime
 * below 2^32): start = (h · n) >> 64, step = 1 + ((rotl(h, 32) · (n − 1)) >> 64).
 * The start block is returned; `probeStep()` then gives the step.
 */
function probeStart(blockCount) {
  S[STEP] = 1 + mulHigh(S[LO], S[HI], blockCount - 1)
  return mulHigh(S[HI], S[LO], blockCount)
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

module.exports = { hashParts, probeStart, probeStep, hashKey, probe }
