'use strict'
// Keys: checking what a user passes and turning it into the table's parts.
// A key is k64 64-bit parts then k32 32-bit parts, none of them 0. A one-part
// key may be given bare (bigint, number or string); any key may be given as
// an array. A string stands for a 64-bit part (lib/strings.js).

const { typeError, rangeError, codedError } = require('./errors')
const { stringKey, checkString } = require('./strings')

const MAX_U64 = (1n << 64n) - 1n
const MAX_U32 = 0xffff_ffff

function part(v, wide, name) {
  if (typeof v === 'bigint') {
    if (v >= 1n && v <= (wide ? MAX_U64 : BigInt(MAX_U32))) return v
    throw rangeError(name, wide ? 'in [1, 2^64)' : 'in [1, 2^32)', v)
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= (wide ? Number.MAX_SAFE_INTEGER : MAX_U32)) return BigInt(v)
    throw rangeError(name, wide ? 'a positive safe integer or a bigint in [1, 2^64)' : 'an integer in [1, 2^32)', v)
  }
  if (typeof v === 'string') {
    if (wide) return stringKey(v, name)
    throw typeError(name, 'a bigint or a number (a string key needs a 64-bit part)', v)
  }
  throw typeError(name, wide ? 'a bigint, a number or a string' : 'a bigint or a number', v)
}

class KeyCodec {
  constructor(k64, k32) {
    this.k64 = k64
    this.k32 = k32
    this.count = k64 + k32
  }

  /**
   * The key's parts as BigInts; throws TypeError/RangeError naming `name`.
   * Each part is read once; the string parts, when `strings` is an array,
   * are pushed onto it.
   */
  parts(key, name = 'key', strings = null) {
    if (Array.isArray(key)) {
      if (key.length !== this.count) {
        throw codedError('ERR_INVALID_ARG_VALUE', `${name} must have ${this.count} part${this.count === 1 ? '' : 's'}, got ${key.length}`, RangeError)
      }
      const parts = new Array(this.count)
      for (let i = 0; i < this.count; i++) {
        const v = key[i]
        parts[i] = part(v, i < this.k64, `${name}[${i}]`)
        if (strings !== null && typeof v === 'string') strings.push(v)
      }
      return parts
    }
    if (this.count !== 1) {
      throw typeError(name, `an array of ${this.count} parts`, key)
    }
    const one = part(key, this.k64 === 1, name)
    if (strings !== null && typeof key === 'string') strings.push(key)
    return [one]
  }

  /** A bare one-part key as a BigInt (only for tables with one part). */
  one(key, name = 'key') {
    return part(key, this.k64 === 1, name)
  }

  /** Checks a bare one-part key, as `one` does, without converting it. */
  checkOne(key, name = 'key') {
    if (typeof key === 'number' && Number.isInteger(key) && key >= 1 && key <= (this.k64 === 1 ? Number.MAX_SAFE_INTEGER : MAX_U32)) return
    if (typeof key === 'string' && this.k64 === 1) return checkString(key, name)
    part(key, this.k64 === 1, name)
  }
}

module.exports = { KeyCodec }
