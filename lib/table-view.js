'use strict'
// A table's view in JS: typed arrays over its memory, and the native
// functions that find, insert and list its keys (src/binding/locate.rs),
// which answer with slots (a value's index in the values view). The Rust core is the one implementation of the
// format's probe; this file never reads the shared header, and never probes:
// it is built from the layout Rust validated at attach.

const { AtomicDictFullError, closedError, typeError, rangeError, codedError } = require('./errors')
const { checkString } = require('./strings')
const { OFF, MAX_STRING_LEN } = require('./format')

const ENTRIES = OFF.ENTRIES / 8
// The string area's counters (u64 words), and the low half of the count
// (a u32 word: it changes whenever a string is published).
const STRINGS_USED = OFF.STRINGS_USED / 8
const STRINGS_COUNT = OFF.STRINGS_COUNT / 8
const STRINGS_REFUSED = OFF.STRINGS_REFUSED / 8
const STRINGS_COUNT_LOW = OFF.STRINGS_COUNT / 4

// Results of the native functions (src/binding/locate.rs).
const ABSENT = -1
const FULL = -2
const CLOSED = -3
const BAD_ARGUMENT = -4
const INTERNAL = -5
const NO_MEMORY = -6
const REFUSED = -7
const NO_STRINGS = -8

/** The largest scratch of words a view keeps between calls (64 Ki words, 512 KiB). */
const SPARE_LIMIT = 1 << 16

/** The most entries of a view's cache of decoded parts (and of interned strings). */
const STRING_CACHE_LIMIT = 1 << 16

/**
 * Words for the native calls: one buffer seen as u64s (key parts as
 * bigints), u32 pairs (key parts from numbers, no BigInt) and f64s (results).
 */
class Words {
  /** Words over a new buffer of `count` u64s, or over an existing ArrayBuffer. */
  constructor(count) {
    const buffer = typeof count === 'number' ? new ArrayBuffer(8 * count) : count
    this.count = buffer.byteLength / 8
    this.u64 = new BigUint64Array(buffer)
    this.u32 = new Uint32Array(buffer)
    this.f64 = new Float64Array(buffer)
  }
}

function internalError(what, r) {
  return codedError('ERR_ATOMIC_DICT_INTERNAL', `atomic-dict: internal error in the native ${what} (${r})`)
}

function noStringsError() {
  return codedError('ERR_ATOMIC_DICT_NO_STRINGS', 'atomic-dict: the table has no string area (make it with the strings option)')
}

class TableView {
  /**
   * `buffer`: an ArrayBuffer over the whole region (not a copy); `layout`:
   * NativeTable#layout(); `functions`: NativeTable#locator().
   */
  constructor(buffer, layout, functions) {
    if (buffer.byteLength !== layout.totalBytes) {
      throw codedError('ERR_ATOMIC_DICT_INTERNAL', `atomic-dict: the table's buffer has ${buffer.byteLength} bytes, its layout ${layout.totalBytes}`)
    }
    this.buffer = buffer
    this.u32 = new Uint32Array(buffer)
    this.u64 = new BigUint64Array(buffer)
    this.isSet = layout.isSet
    this.signed = layout.signed
    this.k64 = layout.k64
    this.k32 = layout.k32
    this.parts = layout.k64 + layout.k32
    this.valueBits = layout.valueBits
    this.capacity = layout.capacity
    this.rowBytes = layout.rowBytes
    this.rowsPerBlock = layout.rowsPerBlock
    this.blockCount = layout.blockCount
    this.rows = layout.rows
    this.valueOffset = layout.valueOffset
    this.headerBytes = layout.headerBytes
    this.blockBytes = layout.blockBytes
    this.valueBytes = layout.valueBits / 8
    // The view whose element type gives values their width and signedness.
    if (layout.valueBits === 64) this.values = layout.signed ? new BigInt64Array(buffer) : this.u64
    else if (layout.valueBits === 32) this.values = layout.signed ? new Int32Array(buffer) : this.u32
    else this.values = null
    this.nativeLocate = functions.locate
    this.nativeFind = functions.find
    this.nativeInsert = functions.insert
    // The find/insert functions' words (Rust's memory): the key in word 0,
    // the result in word 1.
    this.key = new Words(functions.words)
    this.nativeLocateMany = functions.locateMany
    this.nativeKeyRows = functions.keyRows
    // The string area (docs/FORMAT.md, "String area"), when the table has one.
    this.stringBytes = layout.stringBytes
    this.stringSlots = layout.stringSlots
    this.hasStrings = layout.stringBytes > 0
    this.nativeIntern = functions.intern
    this.nativeDecode = functions.decode
    /** Set by `decode`: the user word's u64 index of the string it returned (-1 after none). */
    this.decodedWord = -1
    // Made on first use: strings known interned (string -> user word
    // index), and a direct-mapped cache of decoded parts (see `partString`).
    this.internedStrings = null
    this.decoded = null
    // Words for one composite key or a bulk call; taken while in use, so a
    // call made meanwhile (from a getter of a key array) gets its own.
    this.spare = new Words(Math.max(8, this.parts))
    /** Set by the locate functions: whether the last call inserted the key. */
    this.inserted = false
    this.closed = false
  }

  /** After this, every method throws ERR_ATOMIC_DICT_CLOSED. */
  close() {
    this.closed = true
  }

  // A row's offsets: for tests that compare the slots the core answers with
  // the rows its napi methods report, and for syncToRedis, which reads the
  // rows in order.

  rowOffset(row) {
    const rpb = this.rowsPerBlock
    return this.headerBytes + Math.floor(row / rpb) * this.blockBytes + (row % rpb) * this.rowBytes
  }

  /** Index of a row's value in `this.values`. */
  valueIndex(row) {
    // Division, not a shift: offsets pass 2^31 in tables over 2 GiB.
    return (this.rowOffset(row) + this.valueOffset) / this.valueBytes
  }

  size() {
    if (this.closed) throw closedError()
    return Number(Atomics.load(this.u64, ENTRIES))
  }

  /**
   * The slot (locate.rs: a dict's value index, a set's row) of the string
   * key `s` of a one-part 64-bit table (hashed natively), inserting it when
   * `insert`; -1 when absent. Sets `inserted`. Throws AtomicDictFullError
   * having changed nothing.
   */
  locateString(s, insert) {
    return this.answer(this.nativeLocate(s, insert), s)
  }

  /**
   * As locateString, for the one-part key whose 64 bits are `high`·2^32 +
   * `low` (checked): written into the key word, found by one N-API call
   * without arguments, no BigInt needed.
   */
  locateHalves(low, high, insert) {
    const key = this.key
    key.u32[0] = low
    key.u32[1] = high
    // Reset first: a call that fails before writing it leaves an internal error.
    key.f64[1] = INTERNAL
    if (insert) this.nativeInsert()
    else this.nativeFind()
    return this.answer(key.f64[1])
  }

  /** The slot in a locate function's result (slot · 2 + inserted), setting `inserted`. */
  answer(r, want) {
    if (r >= 0) {
      const inserted = r % 2
      this.inserted = inserted === 1
      return (r - inserted) / 2
    }
    this.inserted = false
    if (r === ABSENT) return -1
    throw this.failure(r, 'locate', want)
  }

  /** Words for `count` u64s, taken until `give` hands them back. */
  take(count) {
    const w = this.spare
    if (w !== null && w.count >= count) {
      this.spare = null
      return w
    }
    return new Words(Math.max(count, 2 * (w === null ? 0 : w.count)))
  }

  give(words) {
    // Kept for the next call unless it is bigger than a bulk call usually
    // needs (a call of a million keys should not pin megabytes for good).
    if (words.count > SPARE_LIMIT) return
    if (this.spare === null || this.spare.count < words.count) this.spare = words
  }

  /**
   * Locates the `n` keys in `words` (n · parts u64s, checked); their results
   * replace the first n words (`words.f64[i]`: slot · 2 + inserted, or -1).
   */
  locateWords(words, n, insert) {
    const r = this.nativeLocateMany(words.u64, n, insert)
    if (r !== n) throw this.failure(r, 'locateMany')
  }

  /**
   * Fills `words` with complete keys from row `from` on (see keyRows in
   * locate.rs): f64 count and next row, then for each, its slot and parts.
   */
  keyRows(from, words) {
    if (this.closed) throw closedError()
    const r = this.nativeKeyRows(from, words.u64)
    if (r !== 0) throw this.failure(r, 'keyRows')
  }

  /**
   * Fills `words` (room for one key) as keyRows does with the key of row
   * `row`, its parts from word 3; returns whether the row holds a complete
   * key (keyRows gives the first at or after `row`: the row's own only if
   * its slot is the row's).
   */
  rowKey(row, words) {
    this.keyRows(row, words)
    return words.f64[0] >= 1 && words.f64[2] === this.valueIndex(row)
  }

  // The string area.

  /**
   * Interns the string `s` in the table's string area: the index of its
   * user word in a u64 view of the buffer (`this.u64`), or -1 when refused
   * (no room; counted in the area's `refused`). Throws a TypeError for a
   * value that is not a string or has a lone surrogate, a RangeError for a
   * string longer than 2^20 UTF-8 bytes, ERR_ATOMIC_DICT_CLOSED, and
   * ERR_ATOMIC_DICT_NO_STRINGS for a table without a string area.
   */
  intern(s) {
    if (this.closed) throw closedError()
    const r = this.nativeIntern(s)
    if (r >= 0) return r
    if (r === REFUSED) return -1
    if (r === NO_STRINGS) throw noStringsError()
    if (r === BAD_ARGUMENT) {
      checkString(s, 'string')
      throw rangeError("string's UTF-8 length", `at most ${MAX_STRING_LEN} bytes to be interned`, Buffer.byteLength(s))
    }
    throw this.failure(r, 'intern')
  }

  /**
   * Interns a string part of a key about to be inserted (the key itself has
   * been checked): known strings cost a Map lookup, others a native call. A
   * refusal or a string too long to intern leaves the key to its hash.
   */
  internPart(s) {
    let known = this.internedStrings
    if (known === null) known = this.internedStrings = new Map()
    else if (known.has(s)) return
    const r = this.nativeIntern(s)
    if (r >= 0) {
      if (known.size >= STRING_CACHE_LIMIT) known.clear()
      known.set(s, r)
    } else if (r === CLOSED) {
      throw closedError()
    } else if (r !== REFUSED && r !== BAD_ARGUMENT) {
      throw this.failure(r, 'intern')
    }
  }

  /**
   * The string whose key part is the bigint `part`, or undefined when the
   * table's string area does not hold it (or there is none). After a
   * string, `decodedWord` is its user word's index in `this.u64`.
   */
  decode(part) {
    if (this.closed) throw closedError()
    if (typeof part !== 'bigint') throw typeError('part', 'a bigint', part)
    if (BigInt.asUintN(64, part) !== part) throw rangeError('part', 'in [0, 2^64)', part)
    const key = this.key
    key.u64[0] = part
    return this.decodeKeyWord()
  }

  /** `decode` of the part in the key word. */
  decodeKeyWord() {
    const key = this.key
    // Reset first: a call that fails before writing it leaves an internal error.
    key.f64[1] = INTERNAL
    const s = this.nativeDecode()
    const r = key.f64[1]
    if (typeof s === 'string') {
      this.decodedWord = r
      return s
    }
    this.decodedWord = -1
    if (r === ABSENT || r === NO_STRINGS) return undefined
    throw this.failure(r, 'decode')
  }

  /**
   * The string the 64-bit part `high`·2^32 + `low` decodes as, or null:
   * for iteration, which reads parts as u32 halves. Each part is decoded
   * natively once per view: a direct-mapped cache (at most
   * STRING_CACHE_LIMIT entries) remembers strings for good (a published
   * string never changes) and misses until the area's count of strings
   * changes (the part's string may be interned later).
   */
  partString(low, high) {
    let d = this.decoded
    if (d === null) {
      // Direct-mapped: room for 4 entries per 64-bit part the table can hold, so few collide.
      let size = 64
      while (size < STRING_CACHE_LIMIT && size < 4 * this.capacity * this.k64) size *= 2
      d = this.decoded = new DecodedParts(size)
    }
    const i = low & d.mask
    if (d.low[i] === low && d.high[i] === high) {
      const s = d.strings[i]
      if (s !== null || d.count[i] === Atomics.load(this.u32, STRINGS_COUNT_LOW)) return s
    }
    // The count before the lookup: a string published after it changes it.
    const count = Atomics.load(this.u32, STRINGS_COUNT_LOW)
    const key = this.key
    key.u32[0] = low
    key.u32[1] = high
    const s = this.decodeKeyWord()
    d.low[i] = low
    d.high[i] = high
    d.strings[i] = s === undefined ? null : s
    d.count[i] = count
    return d.strings[i]
  }

  /** The string area's { bytes, slots, used, count, refused } now, or null without one. */
  stringStats() {
    if (this.closed) throw closedError()
    if (!this.hasStrings) return null
    const u64 = this.u64
    return {
      bytes: this.stringBytes,
      slots: this.stringSlots,
      used: Number(Atomics.load(u64, STRINGS_USED)),
      count: Number(Atomics.load(u64, STRINGS_COUNT)),
      refused: Number(Atomics.load(u64, STRINGS_REFUSED)),
    }
  }

  failure(r, what, want) {
    if (r === FULL) return new AtomicDictFullError(this.capacity)
    if (r === NO_MEMORY) return codedError('ERR_OUT_OF_RANGE', 'keys: too many keys for one call (out of memory): split the call', RangeError)
    if (r === CLOSED) return closedError()
    if (r === BAD_ARGUMENT && typeof want === 'string') checkString(want, 'key')
    return internalError(what, r)
  }
}

/**
 * A view's cache of decoded parts: entry i holds a part's halves, its
 * string (null: not a string) and, for a miss, the low half of the area's
 * count of strings when it was looked up. Empty entries hold part 0, which
 * is no key part.
 */
class DecodedParts {
  constructor(size) {
    this.mask = size - 1
    this.low = new Uint32Array(size)
    this.high = new Uint32Array(size)
    this.count = new Uint32Array(size)
    this.strings = new Array(size).fill(null)
  }
}

module.exports = { TableView, Words }
