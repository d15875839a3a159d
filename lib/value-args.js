'use strict'
// Values: checking what a user passes. 64-bit tables take a bigint or a safe
// integer in [-2^63, 2^64) and hand back bigints; 32-bit tables take the same
// in [-2^31, 2^32) and hand back numbers. Negative inputs are two's
// complement; whether results read as signed depends on the table's view
// (BigInt64Array/Int32Array vs BigUint64Array/Uint32Array), so Atomics does
// the wrapping and the interpretation.

const { typeError, rangeError, codedError } = require('./errors')


function value64(v, name) {
  if (typeof v === 'bigint') {
    // In [0, 2^64) or in [-(2^63), 0): asUintN/asIntN return v itself then
    // (cheaper than two BigInt compares on the hot path).
    if (BigInt.asUintN(64, v) === v || BigInt.asIntN(64, v) === v) return v
    throw rangeError(name, 'in [-(2^63), 2^64)', v)
  }
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return BigInt(v)
    throw rangeError(name, 'a safe integer or a bigint', v)
  }
  throw typeError(name, 'a bigint or a number', v)
}

function value32(v, name) {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -0x8000_0000 && v <= 0xffff_ffff) return v
    throw rangeError(name, 'an integer in [-(2^31), 2^32)', v)
  }
  if (typeof v === 'bigint') {
    if (v >= -0x8000_0000n && v <= 0xffff_ffffn) return Number(v)
    throw rangeError(name, 'in [-(2^31), 2^32)', v)
  }
  throw typeError(name, 'a number or a bigint', v)
}

/** The value checker for a table of `bits`-bit values. */
function valueChecker(bits) {
  return bits === 64 ? value64 : value32
}

/**
 * The values of a bulk call for `n` keys, checked with `check`: `given` is
 * an array of `n` values (a checked copy is returned), or one value for
 * every key (returned checked, never expanded into an array: the keys may
 * not even be valid). Names the element at fault (`deltas[3]`).
 */
function valuesArg(given, n, check, name) {
  if (!Array.isArray(given)) {
    if (ArrayBuffer.isView(given)) throw typeError(name, `an Array of ${n} values, or one value`, given)
    return check(given, name)
  }
  if (given.length !== n) {
    throw codedError('ERR_INVALID_ARG_VALUE', `${name} must have one value per key (${n}), got ${given.length}`, RangeError)
  }
  const out = new Array(n)
  for (let i = 0; i < n; i++) {
    const v = given[i]
    try {
      out[i] = check(v, name)
    } catch {
      check(v, `${name}[${i}]`)
    }
  }
  return out
}

module.exports = { valueChecker, valuesArg }
