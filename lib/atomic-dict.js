'use strict'
// AtomicDict: the Map-like face of a table with values.

const tables = require('./table-memory')
const options = require('./options')
const { typeError } = require('./errors')
const { addAliases, OpGuard } = require('./atomic-op')
const { Keyed, keyCount } = require('./key-cache')
const { SharedTable, KIND, GEOMETRY } = require('./table-base')
const { valueChecker, valuesArg } = require('./value-args')
const { AtomicValue, CONSTRUCT } = require('./atomic-value')
const { jsonKey, jsonValue } = require('./node-conventions')
const { Waits, timeoutArg, countArg, asyncOptions, promised } = require('./wait')

class AtomicDict extends SharedTable {
  static [KIND] = 'dict'
  static [GEOMETRY] = options.dictOptions

  #view
  #keys
  #values
  #check
  #zero
  #one
  #waits
  #guard = new OpGuard()

  /**
   * @param {number} capacity keys guaranteed to fit
   * @param {{k64?: number, k32?: number, valueBits?: 32 | 64, signed?: boolean, strings?: number}} [opts]
   */
  constructor(capacity, opts) {
    super()
    const parts =
      capacity === tables.FROM_NATIVE
        ? opts
        : tables.createTable(false, options.capacity(capacity), options.dictOptions(opts))
    const view = parts.view
    this.#view = view
    const keys = new Keyed(view)
    this.#keys = keys
    this.#values = view.values
    this.#check = valueChecker(view.valueBits)
    this.#zero = view.valueBits === 64 ? 0n : 0
    this.#one = view.valueBits === 64 ? 1n : 1
    this.#waits = new Waits(parts.native, view)
    tables.internals.set(this, { ...parts, kind: 'dict', keys, waits: this.#waits, guard: this.#guard })
  }

  // Read-modify-write: each returns the value before and inserts the key
  // when absent. The operand is checked before the key is touched, so a
  // call that throws changes nothing.

  /** Adds `delta` (default 1); returns the value before. */
  add(key, delta) {
    const v = delta === undefined ? this.#one : this.#check(delta, 'delta')
    return Atomics.add(this.#values, this.#keys.slot(key, true), v)
  }

  /** Subtracts `delta` (default 1), wrapping; returns the value before. */
  sub(key, delta) {
    const v = delta === undefined ? this.#one : this.#check(delta, 'delta')
    return Atomics.sub(this.#values, this.#keys.slot(key, true), v)
  }

  and(key, value) {
    this.#guard.check('and')
    const v = this.#check(value, 'value')
    return Atomics.and(this.#values, this.#keys.slot(key, true), v)
  }

  or(key, value) {
    this.#guard.check('or')
    const v = this.#check(value, 'value')
    return Atomics.or(this.#values, this.#keys.slot(key, true), v)
  }

  xor(key, value) {
    this.#guard.check('xor')
    const v = this.#check(value, 'value')
    return Atomics.xor(this.#values, this.#keys.slot(key, true), v)
  }

  swap(key, value) {
    this.#guard.check('swap')
    const v = this.#check(value, 'value')
    return Atomics.exchange(this.#values, this.#keys.slot(key, true), v)
  }

  cas(key, expected, desired) {
    this.#guard.check('cas')
    const e = this.#check(expected, 'expected')
    const d = this.#check(desired, 'desired')
    return Atomics.compareExchange(this.#values, this.#keys.slot(key, true), e, d)
  }

  store(key, value) {
    this.#guard.check('store')
    const v = this.#check(value, 'value')
    Atomics.store(this.#values, this.#keys.slot(key, true), v)
  }

  /** The value, or 0 when the key is absent (which does not insert it). */
  load(key) {
    const i = this.#keys.slot(key, false)
    return i < 0 ? this.#zero : Atomics.load(this.#values, i)
  }

  // Map-like.

  /** The value, or undefined when the key is absent (never inserts). */
  get(key) {
    const i = this.#keys.slot(key, false)
    return i < 0 ? undefined : Atomics.load(this.#values, i)
  }

  has(key) {
    return this.#keys.slot(key, false) >= 0
  }

  set(key, value) {
    this.#guard.check('set')
    this.store(key, value)
    return this
  }

  /** Keys in the table (exact; O(1)). */
  get size() {
    return this.#view.size()
  }

  /** Keys guaranteed to fit. */
  get capacity() {
    return this.#view.capacity
  }

  /** The table's shape: { capacity, k64, k32, valueBits, signed, strings }. */
  get options() {
    const v = this.#view
    return { capacity: v.capacity, k64: v.k64, k32: v.k32, valueBits: v.valueBits, signed: v.signed, strings: v.stringBytes }
  }

  /** A handle on the key's value (inserting the key when absent). */
  slot(key) {
    return new AtomicValue(CONSTRUCT, this.#view, this.#keys.slot(key, true), this.#check, this.#waits, key, this.#guard)
  }

  // Bulk: many keys in one call into the core, which overlaps their memory
  // misses. Every key and value is checked before anything changes; keys
  // are taken in order (a key given twice is changed twice). An insert that
  // finds the table full throws ERR_ATOMIC_DICT_FULL before any value has
  // changed: its `done` keys before the one that did not fit were found or
  // inserted (with value 0), `inserted[i]` says which. The per-process key
  // caches are neither read nor filled.

  /** The values of `keys` (an array), `undefined` for absent keys (never inserts). */
  getMany(keys) {
    const values = this.#values
    return this.#keys.many(keys, false, (r, n) => {
      const out = new Array(n)
      for (let i = 0; i < n; i++) out[i] = r[i] < 0 ? undefined : Atomics.load(values, r[i] / 2)
      return out
    })
  }

  /** The values of `keys` (an array), 0 for absent keys (never inserts). */
  loadMany(keys) {
    const values = this.#values
    const zero = this.#zero
    return this.#keys.many(keys, false, (r, n) => {
      const out = new Array(n)
      for (let i = 0; i < n; i++) out[i] = r[i] < 0 ? zero : Atomics.load(values, r[i] / 2)
      return out
    })
  }

  /**
   * Adds `deltas[i]` (or `deltas`, one value for every key) to each key's
   * value, inserting absent keys; returns the values before, in order.
   */
  addMany(keys, deltas) {
    const count = keyCount(keys)
    const each = Array.isArray(deltas)
    const d = valuesArg(deltas, count, this.#check, 'deltas')
    const values = this.#values
    return this.#keys.many(keys, true, (r, n) => {
      const out = new Array(n)
      for (let i = 0; i < n; i++) out[i] = Atomics.add(values, slotOf(r[i]), each ? d[i] : d)
      return out
    }, count)
  }

  /** Stores `values[i]` (or `values`, one value for every key) in each key, inserting absent keys. */
  storeMany(keys, values) {
    this.#guard.check('storeMany')
    const count = keyCount(keys)
    const each = Array.isArray(values)
    const v = valuesArg(values, count, this.#check, 'values')
    const slots = this.#values
    this.#keys.many(keys, true, (r, n) => {
      for (let i = 0; i < n; i++) Atomics.store(slots, slotOf(r[i]), each ? v[i] : v)
    }, count)
  }

  // Waiting across processes (lib/wait.js, docs/WAITING.md).

  /**
   * Blocks the calling thread while the key's value is `expected`, until a
   * `notify` on the key (from any process) or `timeout` ms (default: none).
   * Returns 'ok', 'not-equal' (the value was not `expected`) or
   * 'timed-out', as Atomics.wait. An absent key reads as 0: waiting for 0
   * inserts it.
   */
  wait(key, expected, timeout) {
    const e = this.#check(expected, 'expected')
    const t = timeoutArg(timeout)
    const i = this.#waitIndex(key, e)
    return i < 0 ? 'not-equal' : this.#waits.wait(i, e, t)
  }

  /**
   * As `wait`, but a Promise of the result that never blocks the thread.
   * Takes `(key, expected, timeout?, options?)` or `(key, expected,
   * options)` with options `{ timeout, signal, ref }`: `signal` (an
   * AbortSignal) rejects it with an AbortError; `ref: false` lets the
   * process exit while it is pending. Bad arguments reject.
   */
  waitAsync(key, expected, timeout, options) {
    return promised(() => {
      const e = this.#check(expected, 'expected')
      const opts = asyncOptions(timeout, options)
      const i = this.#waitIndex(key, e)
      return i < 0 ? Promise.resolve('not-equal') : this.#waits.waitAsync(i, e, opts)
    })
  }

  /** Wakes up to `count` (default all) waiters on the key, in every process; returns how many it woke. */
  notify(key, count) {
    const c = countArg(count)
    const i = this.#keys.slot(key, false)
    return i < 0 ? 0 : this.#waits.notify(i, c)
  }

  #waitIndex(key, e) {
    const i = this.#keys.slot(key, false)
    if (i >= 0) return i
    return this.#waits.normal(e) === this.#zero ? this.#keys.slot(key, true) : -1
  }

  // Iteration is live: it reads rows as it goes, so it sees keys inserted
  // behind it or not, and values as they are when it reaches them.

  *entries() {
    for (const [key, slot] of this.#keys.rows()) yield [key, Atomics.load(this.#values, slot)]
  }

  *keys() {
    for (const [key] of this.#keys.rows()) yield key
  }

  *values() {
    for (const [, slot] of this.#keys.rows()) yield Atomics.load(this.#values, slot)
  }

  forEach(callback, thisArg) {
    if (typeof callback !== 'function') throw typeError('callback', 'a function', callback)
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this)
  }

  [Symbol.iterator]() {
    return this.entries()
  }

  /**
   * For JSON.stringify: the entries as [key, value] pairs, 64-bit values and
   * key parts as decimal strings (JSON has no bigint), 32-bit ones as
   * numbers, string parts as strings; a composite key is an array of parts.
   * Read live, as `entries()`.
   */
  toJSON() {
    const out = []
    for (const [key, value] of this.entries()) out.push([jsonKey(key), jsonValue(value)])
    return out
  }

  get [Symbol.toStringTag]() {
    return 'AtomicDict'
  }
}

/** The slot of a bulk insert's result (slot · 2 + inserted). */
function slotOf(r) {
  return (r - (r % 2)) / 2
}

addAliases(AtomicDict.prototype)

module.exports = { AtomicDict }
