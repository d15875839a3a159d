'use strict'
// A table's view in JS: typed arrays over its memory, and the native
// functions that find, insert and list its keys (src/binding/locate.rs),
// which answer with slots (a value's index in the values view). The Rust core is the one implementation of the
// format's probe; this file never reads the shared header, and never probes:
// it is built from the layout Rust validated at attach.

const { AtomicDictFullError, closedError } = require('./errors')
const { checkString } = require('./strings')
const { OFF } = require('./format')

const ENTRIES = OFF.ENTRIES / 8

// Results of the native functions (src/binding/locate.rs).
const ABSENT = -1
const FULL = -2
const CLOSED = -3
const BAD_ARGUMENT = -4
const INTERNAL = -5
const NO_MEMORY = -6

/** The largest scratch of words a view keeps between calls (64 Ki words, 512 KiB). */
const SPARE_LIMIT = 1 << 16

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
  return new Error(`atomic-dict: internal error in the native ${what} (${r})`)
}

class TableView {
  /**
   * `buffer`: an ArrayBuffer over the whole region (not a copy); `layout`:
   * NativeTable#layout(); `functions`: NativeTable#locator().
   */
  constructor(buffer, layout, functions) {
    if (buffer.byteLength !== layout.totalBytes) {
      throw new Error(`atomic-dict: the table's buffer has ${buffer.byteLength} bytes, its layout ${layout.totalBytes}`)
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

  // A row's offsets, for tests that compare the slots the core answers with
  // the rows its napi methods report (the JS layer itself never needs them).

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

  failure(r, what, want) {
    if (r === FULL) return new AtomicDictFullError(this.capacity)
    if (r === NO_MEMORY) return new RangeError('keys: too many keys for one call (out of memory): split the call')
    if (r === CLOSED) return closedError()
    if (r === BAD_ARGUMENT && typeof want === 'string') checkString(want, 'key')
    return internalError(what, r)
  }
}

module.exports = { TableView, Words }
