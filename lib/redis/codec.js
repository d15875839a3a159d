'use strict'
// How keys and values travel to Redis and are kept there (docs/REDIS.md,
// "Layout"). Text only, so replies need no Buffers and `redis-cli` shows
// what is stored:
// - a key is its parts in decimal joined by ":" ("42", "7:3"): canonical
//   decimal is injective, so two keys share a field only when they are equal;
// - a value is fixed-width lowercase hex of its bits (16 digits for 64-bit
//   tables, 8 for 32-bit), two's complement: -1 and 2^64-1 are one value, as
//   locally where signedness is only how the bits are read.
// Operands are sent as unpadded hex; the scripts never turn a 64-bit value
// into a Lua number (a double): they work on its 32-bit halves.

const { KeyCodec } = require('../key-args')
const { valueChecker } = require('../value-args')
const { codedError } = require('../errors')
const { stringKey } = require('../strings')

class RedisCodec {
  #keys
  #single

  /** @param {{k64: number, k32: number, valueBits: 32 | 64, signed: boolean}} shape */
  constructor(shape) {
    this.#keys = new KeyCodec(shape.k64, shape.k32)
    this.#single = shape.k64 + shape.k32 === 1
    this.wide = shape.valueBits === 64
    this.signed = shape.signed
    this.check = valueChecker(shape.valueBits)
    this.zero = this.wide ? 0n : 0
    this.one = this.wide ? 1n : 1
    this.digits = this.wide ? 16 : 8
  }

  /**
   * The hash field of `key`; throws the local TypeError/RangeError for a bad
   * key. When `strings` is an array, [part, string] pairs of the key's string
   * parts are pushed onto it (for the string table). `name` is the
   * argument's in errors ('keys[3]' in a bulk call).
   */
  field(key, strings = null, name = 'key') {
    if (this.#single && typeof key === 'number' && strings === null) {
      this.#keys.checkOne(key, name)
      return String(key)
    }
    const found = strings === null ? null : []
    const parts = this.#keys.parts(key, name, found)
    if (found !== null && found.length > 0) {
      for (const s of found) strings.push(stringKey(s).toString(), s)
    }
    return parts.length === 1 ? parts[0].toString() : parts.join(':')
  }

  /** The key a field stands for, as local iteration gives it: a bigint or number, or an array of parts (bigints, then numbers). */
  parts(field) {
    const text = field.split(':')
    const k64 = this.#keys.k64
    const parts = text.map((t, i) => (i < k64 ? BigInt(t) : Number(t)))
    return parts.length === 1 ? parts[0] : parts
  }

  /**
   * The key `field` stands for, its 64-bit parts that `strings` (a Map from
   * decimal part to string, or null) names given back as those strings, as
   * local iteration gives a table with a string area.
   */
  keyOf(field, strings) {
    const key = this.parts(field)
    const k64 = this.#keys.k64
    if (strings === null || k64 === 0) return key
    if (!Array.isArray(key)) return strings.get(field) ?? key
    for (let i = 0; i < k64; i++) key[i] = strings.get(String(key[i])) ?? key[i]
    return key
  }

  /** A checked value (as `check` returns it) as unpadded hex of its bits. */
  hex(v) {
    return this.wide ? BigInt.asUintN(64, v).toString(16) : (v >>> 0).toString(16)
  }

  /** A checked value negated modulo 2^bits, as hex (sub is add of this). */
  negatedHex(v) {
    return this.wide ? BigInt.asUintN(64, -v).toString(16) : (-v >>> 0).toString(16)
  }

  /** The value stored as `hex` (fixed width), read as the table reads it. */
  decode(hex) {
    if (typeof hex !== 'string' || hex.length !== this.digits) {
      throw codedError('ERR_ATOMIC_DICT_REDIS', `atomic-dict: Redis holds ${JSON.stringify(String(hex).slice(0, 40))} where a ${this.digits}-digit hex value belongs`)
    }
    if (this.wide) {
      const v = BigInt('0x' + hex)
      return this.signed ? BigInt.asIntN(64, v) : v
    }
    const v = parseInt(hex, 16)
    return this.signed ? v | 0 : v
  }
}

module.exports = { RedisCodec }
