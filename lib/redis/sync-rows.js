'use strict'
// The synced table's side of a sync (docs/SYNC.md), a "source": where each
// row's value is, the Redis field of a row's key, and a change as sync.lua
// takes it. Rows never move (keys are never removed), so each process
// learns a row's place and field once. A source has: rows, wide (64-bit
// values), u32 and u64 (views of the table's buffer), floats (whether
// some rows are floats, kept in "{t}:f"), low(r), value(r), key(r),
// delta(entry, t, a). This one is an AtomicDict's (or Counters').

const { Words } = require('../table-view')
const { stringKey } = require('../strings')

/** Rows a batch holds at most (a batch is one script run: Redis does nothing else meanwhile). */
const MAX_BATCH_KEYS = 10_000

class LocalRows {
  #view
  /** u32 index of each row's value (its low half, for 64-bit values). */
  #low
  #fields = new Map()
  #words

  /** `view`: the synced table's TableView. */
  constructor(view) {
    this.#view = view
    this.rows = view.rows
    this.wide = view.valueBits === 64
    this.u32 = view.u32
    this.u64 = view.u64
    this.floats = false
    const low = new Float64Array(view.rows)
    for (let r = 0; r < view.rows; r++) low[r] = this.wide ? 2 * view.valueIndex(r) : view.valueIndex(r)
    this.#low = low
    this.#words = new Words(2 + 1 + view.parts)
  }

  /** The u32 index of row `r`'s value (its low half). */
  low(r) {
    return this.#low[r]
  }

  /** Row `r`'s value as stored (its bits, a bigint), read atomically. */
  value(r) {
    const i = this.#low[r]
    return this.wide ? Atomics.load(this.u64, i / 2) : BigInt(Atomics.load(this.u32, i))
  }

  /**
   * Row `r`'s Redis field and the [part, string] pairs of its string parts
   * (as flat strings), or null when the row holds no complete key (or, in
   * other sources, is not synced).
   */
  key(r) {
    const known = this.#fields.get(r)
    if (known !== undefined) return known
    const view = this.#view
    const words = this.#words
    if (!view.rowKey(r, words)) return null
    const parts = []
    const strings = []
    for (let i = 0; i < view.parts; i++) {
      if (i < view.k64) {
        const part = words.u64[3 + i]
        parts.push(part.toString())
        if (view.hasStrings) {
          const s = view.partString(words.u32[2 * (3 + i)], words.u32[2 * (3 + i) + 1])
          if (s !== null && stringKey(s) === part) strings.push(part.toString(), s)
        }
      } else {
        parts.push(String(words.u32[2 * (3 + i)]))
      }
    }
    const entry = { field: parts.join(':'), strings }
    this.#fields.set(r, entry)
    return entry
  }

  /**
   * The change of a row from `a` to `t` (its bits, bigints) as sync.lua
   * reads it: unpadded hex of the 64-bit delta, two's complement. 32-bit
   * values: the change as a signed 32-bit number, widened.
   */
  delta(entry, t, a) {
    const d = this.wide ? t - a : BigInt((Number(t) - Number(a)) | 0)
    return BigInt.asUintN(64, d).toString(16)
  }
}

module.exports = { LocalRows, MAX_BATCH_KEYS }
