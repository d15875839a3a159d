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

/** Adds `v` to the float in word `i`, atomically. */
function addFloat(words, i, v) {
  for (;;) {
    const old = Atomics.load(words, i)
    BITS[0] = old
    F64[0] += v
    if (Atomics.compareExchange(words, i, old, BITS[0]) === old) return
  }
}

// Keyed words: a value that may be "not set" is kept as its bits XOR `key`
// (a NaN pattern arithmetic never makes), so that the word 0 (a new row, or
// one zeroed by reset() or by a contributor taking over a dead one's slot)
// means "not set", with no window in which it reads as the value 0.

/** The float in the keyed word `i`, or undefined when it is not set. */
function loadKeyed(words, i, key) {
  const raw = Atomics.load(words, i)
  if (raw === 0n) return undefined
  BITS[0] = raw ^ key
  return F64[0]
}

/** Stores the float `v` in the keyed word `i`. */
function storeKeyed(words, i, v, key) {
  F64[0] = v
  Atomics.store(words, i, BITS[0] ^ key)
}

/** Adds `v` to the float in the keyed word `i` (not set counts as 0), atomically. */
function addKeyed(words, i, v, key) {
  for (;;) {
    const old = Atomics.load(words, i)
    if (old === 0n) {
      F64[0] = v
    } else {
      BITS[0] = old ^ key
      F64[0] += v
    }
    if (Atomics.compareExchange(words, i, old, BITS[0] ^ key) === old) return
  }
}

/** The bits of the float `v` (a bigint). */
function bitsOf(v) {
  F64[0] = v
  return BITS[0]
}

module.exports = { loadFloat, storeFloat, addFloat, bitsOf, loadKeyed, storeKeyed, addKeyed }
