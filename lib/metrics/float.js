'use strict'
// Float64 values kept as their bits in a table's 64-bit words: Atomics works
// on integer arrays only, so a value is read and written as a bigint whose
// bits a small scratch reinterprets. An add is a compare-and-swap loop on
// the bits (lock-free: a retry means another writer's add went in).
//
// A stored NaN keeps whatever bits it was written with; the loop compares
// the bits it loaded, never a re-encoded float, so it cannot spin on a NaN.

const F64 = new Float64Array(1)
const BITS = new BigUint64Array(F64.buffer)

/** The float held by word `i` of `words` (a BigUint64Array). */
function loadFloat(words, i) {
  BITS[0] = Atomics.load(words, i)
  return F64[0]
}

/** Stores the float `v` in word `i`. */
function storeFloat(words, i, v) {
  F64[0] = v
  Atomics.store(words, i, BITS[0])
}

/**
 * Adds `v` to the float in word `i`, atomically. A word holding the bits
 * `unset` (when given) counts as 0.
 */
function addFloat(words, i, v, unset) {
  for (;;) {
    const old = Atomics.load(words, i)
    BITS[0] = old
    if (old === unset) F64[0] = v
    else F64[0] += v
    if (Atomics.compareExchange(words, i, old, BITS[0]) === old) return
  }
}

/** The bits of the float `v` (a bigint). */
function bitsOf(v) {
  F64[0] = v
  return BITS[0]
}

module.exports = { loadFloat, storeFloat, addFloat, bitsOf }
