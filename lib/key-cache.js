'use strict'
// The per-process key cache in front of a table view, and the way keys reach
// the native core on a miss. A key's row never changes once inserted (keys
// are never removed, the table never grows), so a row found once is valid
// for ever, in every process: the caches never need invalidating, only
// bounding. Nothing here probes the table: misses go to the Rust core
// (lib/table-view.js, src/binding/locate.rs).
//
// Bare one-part keys: a direct-mapped cache in one typed array, at the index
// given by the key's low bits, an entry a half cache line (the key as a
// number, the slot, the key's halves), so a first use writes one line. A
// number key is compared as a number; a bigint key is split into 32-bit
// halves through a BigUint64Array (no BigInt arithmetic, no allocation) and
// compared half by half, so 5 and 5n share an entry. Nothing is hashed or allocated (a JS Map needs ~350 ns to hash a
// freshly computed bigint, and Number(bigint) ~16 ns). String keys are
// cached in a Map (V8 keeps a string's hash in the string, so a lookup does
// not rehash it), cleared when it reaches the same bound.
//
// Keys given as arrays (composite keys): lib/parts-cache.js, a two-way
// cache of the parts exactly as given, compared with ===.
//
// A collision simply replaces an entry; a miss costs a call into the core.
// Only keys the core has checked are ever cached, so a hit needs no checks.

const { KeyCodec } = require('./key-args')
const { closedError, typeError, codedError, AtomicDictFullError } = require('./errors')
const { failpoint, FAILPOINTS } = require('./failpoint')
const { stringPart } = require('./strings')
const { partsCache } = require('./parts-cache')
const { Words } = require('./table-view')

/** The largest cache, in entries (32 bytes each), per table and process. */
const CACHE_LIMIT = 1 << 16
/** The largest cache of keys given as arrays, in entries, per table and process. */
const PARTS_CACHE_LIMIT = 1 << 14

// A bigint's halves, read through a little-endian u64 (the addon is built
// for little-endian machines only: x86-64 and aarch64).
const SPLIT64 = new BigUint64Array(1)
const SPLIT32 = new Uint32Array(SPLIT64.buffer)
const LOW = 0
const HIGH = 1

class Keyed {
  /**
   * A key's slot is what the core's functions answer for it: the index of
   * its value in the values view (a dict), or its row (a set).
   */
  constructor(view) {
    this.view = view
    this.codec = new KeyCodec(view.k64, view.k32)
    this.count = this.codec.count
    let size = 64
    while (size < CACHE_LIMIT && size < view.capacity * 2) size *= 2
    this.mask = size - 1
    // Entry i: f64[4i] the key as a number (NaN when above 2^53), f64[4i+1]
    // its slot, u32[8i+4] and u32[8i+5] its low and high halves. Empty
    // entries hold NaN and 0/0, which no valid key equals (keys are never
    // 0); only valid keys are ever stored, so a hit needs no further checks.
    const entries = new ArrayBuffer(32 * size)
    this.f64 = new Float64Array(entries)
    this.u32 = new Uint32Array(entries)
    this.strings = new Map()
    this.stringLimit = size
    // Keys given as arrays; made on the first one.
    this.parts = null
    this.empty()
    this.partsSize = Math.min(size, PARTS_CACHE_LIMIT)
    // The largest number a bare key may be.
    this.maxNumber = view.k64 === 1 ? Number.MAX_SAFE_INTEGER : 0xffff_ffff
    // The width of a one-part key: a bigint key is valid when asUintN keeps it.
    this.partBits = view.k64 === 1 ? 64 : 32
  }

  /** Empties every cache: from now on each key is a miss, which asks the view. */
  empty() {
    this.u32.fill(0)
    for (let i = 0; i < this.f64.length; i += 4) this.f64[i] = NaN
    this.strings.clear()
    this.parts = null
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
      const i = (key & this.mask) * 4
      return this.f64[i] === key ? this.f64[i + 1] : -1
    }
    // asUintN(64, key) === key: key in [0, 2^64) (cheaper than two compares).
    if (typeof key === 'bigint' && BigInt.asUintN(64, key) === key && key !== 0n) {
      SPLIT64[0] = key
      const low = SPLIT32[LOW]
      const i = (low & this.mask) * 4
      return this.u32[2 * i + 4] === low && this.u32[2 * i + 5] === SPLIT32[HIGH] ? this.f64[i + 1] : -1
    }
    if (typeof key === 'string') {
      const slot = this.strings.get(key)
      return slot === undefined ? -1 : slot
    }
    if (this.parts !== null && Array.isArray(key)) {
      const slot = this.parts.get(key)
      // Reading a part may run a getter, which may close the table.
      if (slot >= 0 && this.view.closed) throw closedError()
      return slot
    }
    return -1
  }

  miss(key, insert) {
    if (Array.isArray(key) || this.count !== 1) return this.missParts(key, insert)
    const view = this.view
    if (typeof key === 'string') {
      // Hashed by the native core along with the probe (docs/FORMAT.md), which
      // refuses a lone surrogate (then locate throws the TypeError
      // checkString gives), and a string for a 32-bit part.
      if (view.k64 !== 1) this.codec.one(key)
      const slot = this.found(view.locateString(key, insert))
      if (slot < 0) return -1
      if (this.strings.size >= this.stringLimit) this.strings.clear()
      this.strings.set(key, slot)
      return slot
    }
    let low, high
    if (typeof key === 'number') {
      // Number keys go to the native core as numbers: no BigInt at all.
      this.codec.checkOne(key)
      low = key >>> 0
      high = (key - low) / 4294967296
    } else {
      // A bigint in range needs no more checks than asUintN (cheaper than
      // the codec's two BigInt compares); anything else gets the codec's
      // checks and errors.
      const k = typeof key === 'bigint' && key !== 0n && BigInt.asUintN(this.partBits, key) === key ? key : this.codec.one(key)
      SPLIT64[0] = k
      low = SPLIT32[LOW]
      high = SPLIT32[HIGH]
    }
    const slot = this.found(view.locateHalves(low, high, insert))
    if (slot < 0) return -1
    const i = (low & this.mask) * 4
    // The key as a number, when it is one (below 2^53): from the halves,
    // which costs less than Number(bigint).
    this.f64[i] = high < 0x20_0000 ? high * 4294967296 + low : NaN
    this.f64[i + 1] = slot
    this.u32[2 * i + 4] = low
    this.u32[2 * i + 5] = high
    return slot
  }

  /** A located slot (-1 stays -1), after the after-claim failpoint. */
  found(slot) {
    if (FAILPOINTS && slot >= 0 && this.view.inserted) failpoint('after-claim')
    return slot
  }

  /** A key given as an array (or a composite key given otherwise, which throws). */
  missParts(key, insert) {
    // The parts are read once, by index (not by the array's own slice or
    // species, which a subclass may change): the cache keeps what was checked.
    const given = Array.isArray(key) ? copyParts(key) : key
    const parts = this.codec.parts(given)
    const view = this.view
    // A table with a string area gets the key's strings before the key
    // (`given` is this call's own copy: reading it again runs no getter).
    if (insert && view.hasStrings) internParts(view, given, this.view.k64)
    const words = view.take(this.count)
    let r
    try {
      for (let i = 0; i < parts.length; i++) words.u64[i] = parts[i]
      view.locateWords(words, 1, insert)
      r = words.f64[0]
    } finally {
      view.give(words)
    }
    view.inserted = r >= 0 && r % 2 === 1
    const slot = this.found(r < 0 ? -1 : (r - (r % 2)) / 2)
    if (slot < 0) return -1
    if (this.parts === null) this.parts = partsCache(this.count, this.partsSize)
    this.parts.set(given, slot)
    return slot
  }

  /**
   * Locates every key of the array `keys` in one native call (the core
   * overlaps their memory misses), checking all of them first: a bad key
   * throws (naming `keys[i]`) before anything changes. Calls
   * `use(results, n)` with the results (`results[i]`: slot · 2 + inserted, or
   * -1 when absent), valid during the call only. Bypasses the caches.
   * `n`: the number of keys, when the caller has counted them already (it
   * has checked as many values).
   */
  many(keys, insert, use, n = keyCount(keys)) {
    const view = this.view
    if (view.closed) throw closedError()
    if (n === 0) return use(null, 0)
    const count = this.count
    // The scratch grows as keys are written, so a bad key early in a huge
    // (or sparse) array throws before its whole size is allocated.
    let words = view.take(Math.min(n, FIRST_KEYS) * count)
    // An insert into a table with a string area collects the keys' strings
    // as it reads them (each key is read once), to intern them before the
    // keys are inserted, once every key has been checked.
    const strings = insert && view.hasStrings ? [] : null
    try {
      for (let i = 0; i < n; i++) {
        if ((i + 1) * count > words.count) words = grown(view, words, Math.min(n * count, 2 * words.count), i * count)
        writeKey(this, words, i * count, keys[i], i, strings)
      }
      // Reading a key or a value may have run a getter that changed the
      // array or closed the table: refuse the call before anything changes.
      if (keys.length !== n) throw codedError('ERR_INVALID_ARG_VALUE', `keys changed length while the call read them (${n}, now ${keys.length})`, RangeError)
      if (view.closed) throw closedError()
      if (strings !== null) for (let i = 0; i < strings.length; i++) view.internPart(strings[i])
      try {
        view.locateWords(words, n, insert)
      } catch (err) {
        if (err instanceof AtomicDictFullError) describeFull(err, words.f64, n)
        throw err
      }
      return use(words.f64, n)
    } finally {
      view.give(words)
    }
  }

  /**
   * Live iteration over complete keys: [user-facing key, slot] pairs, read
   * from the core's scan in batches (src/binding/locate.rs, keyRows).
   */
  *rows() {
    const view = this.view
    const count = this.count
    // Its own words: iterations may interleave with each other and with
    // every other call.
    const words = new Words(2 + BATCH * (1 + count))
    // A table with a string area hands back 64-bit parts that decode as
    // strings as those strings.
    const read = view.hasStrings ? keyWithStrings : keyAt
    let from = 0
    while (from < view.rows) {
      view.keyRows(from, words)
      const found = words.f64[0]
      from = words.f64[1]
      for (let j = 0; j < found; j++) {
        if (view.closed) throw closedError()
        const at = 2 + j * (1 + count)
        yield [read(words, at + 1, count, view.k64, view), words.f64[at]]
      }
    }
    // An iteration resumed after close() throws, even past its last key.
    if (view.closed) throw closedError()
  }
}

/** Keys a bulk call makes room for before it has read any. */
const FIRST_KEYS = 4096

/** Bigger words holding the first `used` of `words`, which go back to the view. */
function grown(view, words, count, used) {
  const bigger = new Words(count)
  bigger.u64.set(words.u64.subarray(0, used))
  view.give(words)
  return bigger
}

/** The length of a bulk call's `keys`, which must be an array. */
function keyCount(keys) {
  if (!Array.isArray(keys)) throw typeError('keys', 'an array of keys', keys)
  return keys.length
}

/** A key's parts, copied by index. */
function copyParts(key) {
  const n = key.length
  const out = new Array(n)
  for (let i = 0; i < n; i++) out[i] = key[i]
  return out
}

/**
 * Writes key `i` of a bulk call at word `w` of `words`, checked (a module
 * function: `keyed` may be closed meanwhile); its string parts go to
 * `strings` unless it is null.
 */
function writeKey(keyed, words, w, key, i, strings) {
  if (keyed.count === 1) {
    if (typeof key === 'number' && key >= 1 && key <= keyed.maxNumber && Number.isInteger(key)) {
      const low = key >>> 0
      words.u32[2 * w] = low
      words.u32[2 * w + 1] = (key - low) / 4294967296
      return
    }
    if (typeof key === 'bigint' && key >= 1n && BigInt.asUintN(keyed.partBits, key) === key) {
      words.u64[w] = key
      return
    }
    if (typeof key === 'string' && keyed.view.k64 === 1) {
      const part = stringPart(key)
      if (part !== null) {
        words.u64[w] = part
        if (strings !== null) strings.push(key)
        return
      }
    }
  }
  const parts = keyed.codec.parts(key, `keys[${i}]`, strings)
  for (let j = 0; j < parts.length; j++) words.u64[w + j] = parts[j]
}

/**
 * What a bulk insert that found the table full did before it stopped: `done`
 * keys (those before the one that did not fit) were found or inserted, no
 * value changed; `inserted[i]` says whether this call inserted key i.
 */
function describeFull(err, results, n) {
  let done = 0
  while (done < n && results[done] >= 0) done++
  err.done = done
  err.inserted = new Array(done)
  for (let i = 0; i < done; i++) err.inserted[i] = results[i] % 2 === 1
}

/** Keys an iteration reads from the core per call. */
const BATCH = 128

/** The user-facing key whose parts are at word `w`: 64-bit parts as bigints, 32-bit ones as numbers. */
function keyAt(words, w, count, k64) {
  if (count === 1) return k64 === 1 ? words.u64[w] : words.u32[2 * w]
  const out = new Array(count)
  for (let i = 0; i < count; i++) out[i] = i < k64 ? words.u64[w + i] : words.u32[2 * (w + i)]
  return out
}

/** As keyAt, for a table with a string area: a 64-bit part its area decodes is its string. */
function keyWithStrings(words, w, count, k64, view) {
  if (count === 1) return k64 === 1 ? wide(words, w, view) : words.u32[2 * w]
  const out = new Array(count)
  for (let i = 0; i < count; i++) out[i] = i < k64 ? wide(words, w + i, view) : words.u32[2 * (w + i)]
  return out
}

/** The 64-bit part at word `w`: its string, or the bigint. */
function wide(words, w, view) {
  const s = view.partString(words.u32[2 * w], words.u32[2 * w + 1])
  return s === null ? words.u64[w] : s
}

/** Interns the string parts among the first `k64` parts of a checked key (an array this call owns). */
function internParts(view, parts, k64) {
  for (let i = 0; i < k64; i++) if (typeof parts[i] === 'string') view.internPart(parts[i])
}

module.exports = { Keyed, CACHE_LIMIT, keyCount }
