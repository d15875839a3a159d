'use strict'
// Finding and inserting keys over a view of a table's memory: the JS twin of
// src/core/table.rs (read its invariants there; this file follows the same
// steps, in the same order, with Atomics in place of Rust's atomics).

const { HEADER_BYTES, BLOCK_BYTES, OFF, FORMAT_VERSION } = require('./format')
const { readHeader } = require('./format')
const { hashParts, probeStart, probeStep } = require('./hash')
const { AtomicDictFullError, closedError } = require('./errors')
const { failpoint, afterAdmit, refused, admitterPaused, FAILPOINTS } = require('./failpoint')
const { checkString } = require('./strings')

const ENTRIES = OFF.ENTRIES / 8
const RESERVED = OFF.RESERVED / 8
// A refused insert's wait for the admissions in flight, as in table.rs
// (ADMISSION_WAIT, SPINS, YIELDS): busy re-reads, then zero-length waits
// (JS has no yield), then 50 µs sleeps, 100 ms in all at most.
const ADMISSION_WAIT_MS = 100
const SPINS = 64
const YIELDS = 64
const SLEEP = new Int32Array(new SharedArrayBuffer(4))

class TableView {
  /** `buffer` is an ArrayBuffer over the whole region (not a copy). */
  constructor(buffer) {
    this.buffer = buffer
    this.u32 = new Uint32Array(buffer)
    this.u64 = new BigUint64Array(buffer)
    const h = readHeader(this.u32, this.u64)
    if (h.version !== FORMAT_VERSION || h.headerBytes !== HEADER_BYTES) {
      throw new Error(`atomic-dict: unsupported table format ${h.version}`)
    }
    Object.assign(this, h)
    this.parts = h.k64 + h.k32
    this.capacityBig = BigInt(h.capacity)
    this.rows = h.blockCount * h.rowsPerBlock
    // Byte offset of each key part inside a row, and the value's.
    this.partOffsets = []
    for (let i = 0; i < this.parts; i++) this.partOffsets.push(i < h.k64 ? 8 * i : 8 * h.k64 + 4 * (i - h.k64))
    const keyBytes = 8 * h.k64 + 4 * h.k32
    const valueBytes = h.valueBits / 8
    this.valueOffset = valueBytes ? Math.ceil(keyBytes / valueBytes) * valueBytes : 0
    // The view whose element type gives values their width and signedness.
    if (h.valueBits === 64) this.values = h.signed ? new BigInt64Array(buffer) : this.u64
    else if (h.valueBits === 32) this.values = h.signed ? new Int32Array(buffer) : this.u32
    else this.values = null
    this.valueBytes = valueBytes
    // A table whose key is one 64-bit part (the default) gets a native
    // locate function (lib/tables.js, src/binding/locate.rs).
    this.oneWidePart = h.k64 === 1 && h.k32 === 0
    /** Set by `locate`: whether the last call inserted the key. */
    this.inserted = false
    this.closed = false
    /** The native locate(keyBigInt, insert) for one-part tables (see tables.js). */
    this.nativeLocate = null
  }

  /**
   * `locate` of a one-part key (a BigInt, a safe-integer number, or a
   * string) through the native core (src/binding/locate.rs); same results
   * as `locate`.
   */
  locateNative(want, insert) {
    const r = this.nativeLocate(want, insert)
    if (r >= 0) {
      const inserted = r % 2
      this.inserted = inserted === 1
      return (r - inserted) / 2
    }
    this.inserted = false
    if (r === -1) return -1
    if (r === -2) throw new AtomicDictFullError(this.capacity)
    if (r === -3) throw closedError()
    if (r === -4 && typeof want === 'string') checkString(want, 'key')
    throw new Error(`atomic-dict: internal error in the native locate (${r})`)
  }

  /** After this, every method throws ERR_ATOMIC_DICT_CLOSED. */
  close() {
    this.closed = true
  }

  rowOffset(row) {
    const rpb = this.rowsPerBlock
    return HEADER_BYTES + Math.floor(row / rpb) * BLOCK_BYTES + (row % rpb) * this.rowBytes
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
   * The row holding the key with these parts (BigInts, already checked), or
   * -1 when absent and `insert` is false. Inserting may throw
   * AtomicDictFullError, having changed nothing: only once `capacity` keys
   * are in (or admissions in flight did not resolve within the wait's
   * bound), never while a caller of the same key is inserting it.
   */
  locate(parts, insert) {
    if (this.closed) throw closedError()
    this.inserted = false
    const n = this.blockCount
    const rpb = this.rowsPerBlock
    hashParts(parts)
    let block = probeStart(n)
    const step = probeStep()
    // After a refusal (table.rs, "Refused admissions"): whether `entries`
    // read `capacity` before the row was read again, and the waits so far.
    let full = false
    let waits = 0
    let deadline = 0
    for (let visited = 0; visited < n; visited++) {
      const first = block * rpb
      for (let row = first; row < first + rpb; row++) {
        for (;;) {
          const m = this.matchRow(row, parts, insert)
          if (m === FOUND) return row
          if (m === ABSENT) return -1
          if (m === OTHER) break
          // REFUSED: read the same row again, unless the table is full for this key.
          if (full) throw new AtomicDictFullError(this.capacity)
          if (Atomics.load(this.u64, ENTRIES) >= this.capacityBig) {
            full = true
            continue
          }
          if (waits === 0 && FAILPOINTS) refused(this.u64)
          waits++
          if (waits <= SPINS) continue
          const now = performance.now()
          // Tests only: no bound while a pause-after-admit failpoint holds an admitter.
          if (deadline === 0 || (FAILPOINTS && admitterPaused(this.u64))) deadline = now + ADMISSION_WAIT_MS
          else if (now >= deadline) throw new AtomicDictFullError(this.capacity)
          Atomics.wait(SLEEP, 0, 0, waits <= SPINS + YIELDS ? 0 : 0.05)
        }
      }
      block += step
      if (block >= n) block -= n
    }
    // Only reachable if peers scribbled over the rows (see table.rs).
    if (insert) throw new AtomicDictFullError(this.capacity)
    return -1
  }

  matchRow(row, parts, insert) {
    const base = this.rowOffset(row)
    const last = parts.length - 1
    for (let i = 0; i <= last; i++) {
      const want = parts[i]
      const wide = i < this.k64
      const off = base + this.partOffsets[i]
      const current = wide ? Atomics.load(this.u64, off / 8) : BigInt(Atomics.load(this.u32, off / 4))
      if (current === want) continue
      if (current !== 0n) return OTHER
      if (!insert) return ABSENT
      if (i === 0) {
        if (!this.admit()) return REFUSED
        if (FAILPOINTS) afterAdmit(this.u64)
      }
      const actual = wide
        ? Atomics.compareExchange(this.u64, off / 8, 0n, want)
        : BigInt(Atomics.compareExchange(this.u32, off / 4, 0, Number(want)))
      if (actual === 0n) {
        if (i === last) {
          if (FAILPOINTS) failpoint('before-count')
          Atomics.add(this.u64, ENTRIES, 1n)
          this.inserted = true
        } else if (FAILPOINTS) {
          failpoint('after-part')
        }
      } else {
        // Someone else took this row; give our admission back.
        if (i === 0) Atomics.sub(this.u64, RESERVED, 1n)
        if (actual !== want) return OTHER
      }
    }
    return FOUND
  }

  /**
   * Takes one unit of capacity for a row claim, or returns false when all
   * are taken: a compare-and-swap from below capacity, so `reserved` never
   * exceeds it and a refusal changes nothing (as Table::admit).
   */
  admit() {
    let seen = Atomics.load(this.u64, RESERVED)
    while (seen < this.capacityBig) {
      const before = Atomics.compareExchange(this.u64, RESERVED, seen, seen + 1n)
      if (before === seen) return true
      seen = before
    }
    return false
  }

  /** A row's key parts (BigInts), or null when it holds no complete key. */
  readKey(row) {
    if (this.closed) throw closedError()
    const base = this.rowOffset(row)
    const out = new Array(this.parts)
    for (let i = 0; i < this.parts; i++) {
      const off = base + this.partOffsets[i]
      const p = i < this.k64 ? Atomics.load(this.u64, off / 8) : BigInt(Atomics.load(this.u32, off / 4))
      if (p === 0n) return null
      out[i] = p
    }
    return out
  }
}

const FOUND = 1
const OTHER = 0
const ABSENT = -1
const REFUSED = 2

module.exports = { TableView }
