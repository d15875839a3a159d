'use strict'
// The per-process key cache in front of a table view. A key's row never
// changes once inserted (keys are never removed, the table never grows), so a
// row found once is valid for ever, in every process: the cache never needs
// invalidating, only bounding.
//
// The cache is direct-mapped, in typed arrays: a one-part key lives at the
// index given by its low bits. A number key is compared as a number; a bigint
// key is split into 32-bit halves through a BigUint64Array (no BigInt
// arithmetic, no allocation) and compared half by half, so 5 and 5n share an
// entry. Nothing is hashed or allocated (a JS Map needs ~350 ns to hash a
// freshly computed bigint, and Number(bigint) ~16 ns). A collision simply
// replaces the entry; a miss costs a probe of the table itself. String keys
// are cached in a Map (V8 keeps a string's hash in the string, so a lookup
// does not rehash it), cleared when it reaches the same bound. Composite
// keys always probe the table.

const { KeyCodec } = require('./keys')
const { closedError } = require('./errors')
const { failpoint, FAILPOINTS } = require('./failpoint')

/** The largest cache, in entries (12 bytes each), per table and process. */
const CACHE_LIMIT = 1 << 16

// A bigint's halves, read through a little-endian u64 (see lib/hash.js).
const SPLIT64 = new BigUint64Array(1)
const SPLIT32 = new Uint32Array(SPLIT64.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const LOW = LITTLE_ENDIAN ? 0 : 1
const HIGH = 1 - LOW

class Keyed {
  /**
   * `toSlot(row)` maps a row to what callers want cached for it (a dict
   * caches the index of the row's value in its values view).
   */
  constructor(view, toSlot) {
    this.view = view
    this.codec = new KeyCodec(view.k64, view.k32)
    this.toSlot = toSlot
    let size = 64
    while (size < CACHE_LIMIT && size < view.capacity * 2) size *= 2
    this.mask = size - 1
    // A key as a number (NaN when above 2^53), and as halves. Empty entries
    // hold NaN and 0/0, which no valid key equals (keys are never 0); only
    // valid keys are ever stored, so a hit needs no further checks.
    this.cacheNumber = new Float64Array(size).fill(NaN)
    this.cacheLow = new Uint32Array(size)
    this.cacheHigh = new Uint32Array(size)
    this.cacheSlot = new Float64Array(size)
    this.strings = new Map()
    this.stringLimit = size
  }

  /**
   * The slot of `key`, finding it (and inserting it when `insert`) on a
   * cache miss; -1 when absent and not inserting. Throws TypeError/RangeError
   * for a bad key before anything changes. `view.inserted` is set only when
   * the table was searched (see AtomicSet#add).
   */
  slot(key, insert) {
    const hit = this.cached(key)
    return hit >= 0 ? hit : this.miss(key, insert)
  }

  /** The cached slot of `key`, or -1. Only valid keys are ever cached. */
  cached(key) {
    if (typeof key === 'number') {
      const i = key & this.mask
      return this.cacheNumber[i] === key ? this.cacheSlot[i] : -1
    }
    // asUintN(64, key) === key: key in [0, 2^64) (cheaper than two compares).
    if (typeof key === 'bigint' && BigInt.asUintN(64, key) === key && key !== 0n) {
      SPLIT64[0] = key
      const low = SPLIT32[LOW]
      const i = low & this.mask
      return this.cacheLow[i] === low && this.cacheHigh[i] === SPLIT32[HIGH] ? this.cacheSlot[i] : -1
    }
    if (typeof key === 'string') {
      const slot = this.strings.get(key)
      return slot === undefined ? -1 : slot
    }
    return -1
  }

  miss(key, insert) {
    const view = this.view
    let k, row
    if (view.nativeLocate !== null && typeof key === 'number') {
      // Number keys go to the native core as numbers: no BigInt at all.
      this.codec.checkOne(key)
      row = view.locateNative(key, insert)
      if (row < 0) return -1
      if (FAILPOINTS && view.inserted) failpoint('after-claim')
      const slot = this.toSlot(row)
      const low = key >>> 0
      const i = low & this.mask
      this.cacheNumber[i] = key
      this.cacheLow[i] = low
      this.cacheHigh[i] = (key - low) / 4294967296
      this.cacheSlot[i] = slot
      return slot
    }
    if (view.nativeLocate !== null && typeof key === 'string') {
      // Hashed by the native core along with the probe (FORMAT.md), which
      // also refuses a lone surrogate (then locateNative throws the
      // TypeError checkString gives).
      row = view.locateNative(key, insert)
      if (row < 0) return -1
      if (FAILPOINTS && view.inserted) failpoint('after-claim')
      const slot = this.toSlot(row)
      if (this.strings.size >= this.stringLimit) this.strings.clear()
      this.strings.set(key, slot)
      return slot
    }
    if (view.oneWidePart && !Array.isArray(key)) {
      k = this.codec.one(key)
      row = view.nativeLocate === null ? view.locate([k], insert) : view.locateNative(k, insert)
    } else {
      const parts = this.codec.parts(key)
      row = view.locate(parts, insert)
      k = parts.length === 1 ? parts[0] : undefined
    }
    if (row < 0) return -1
    if (FAILPOINTS && view.inserted) failpoint('after-claim')
    const slot = this.toSlot(row)
    if (k !== undefined) {
      SPLIT64[0] = k
      const low = SPLIT32[LOW]
      const high = SPLIT32[HIGH]
      const i = low & this.mask
      // The same key as a number, when it is one (below 2^53): from the
      // halves, which costs less than Number(bigint).
      this.cacheNumber[i] = high < 0x20_0000 ? high * 4294967296 + low : NaN
      this.cacheLow[i] = low
      this.cacheHigh[i] = high
      this.cacheSlot[i] = slot
    }
    return slot
  }

  /** Live iteration over complete keys: [user-facing key, row] pairs. */
  *rows() {
    const view = this.view
    for (let row = 0; row < view.rows; row++) {
      const parts = view.readKey(row)
      if (parts !== null) yield [this.codec.fromParts(parts), row]
    }
  }
}

/** What a closed table's methods reach: everything throws ERR_ATOMIC_DICT_CLOSED. */
class ClosedKeys {
  slot() {
    throw closedError()
  }

  cached() {
    throw closedError()
  }

  miss() {
    throw closedError()
  }

  rows() {
    throw closedError()
  }
}

module.exports = { Keyed, ClosedKeys, CACHE_LIMIT }
