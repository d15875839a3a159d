'use strict'
// AtomicSet: a table of keys without values.

const tables = require('./table-memory')
const options = require('./options')
const { typeError } = require('./errors')
const { Keyed } = require('./key-cache')
const { SharedTable, KIND, GEOMETRY } = require('./table-base')

class AtomicSet extends SharedTable {
  static [KIND] = 'set'
  static [GEOMETRY] = options.setOptions

  #view
  #keys

  /**
   * @param {number} capacity keys guaranteed to fit
   * @param {{k64?: number, k32?: number, strings?: number}} [opts]
   */
  constructor(capacity, opts) {
    super()
    const parts =
      capacity === tables.FROM_NATIVE
        ? opts
        : tables.createTable(true, options.capacity(capacity), options.setOptions(opts))
    const view = parts.view
    this.#view = view
    const keys = new Keyed(view)
    this.#keys = keys
    tables.internals.set(this, { ...parts, kind: 'set', keys })
  }

  /** The set's shape: { capacity, k64, k32, strings }. */
  get options() {
    const v = this.#view
    return { capacity: v.capacity, k64: v.k64, k32: v.k32, strings: v.stringBytes }
  }

  /** Inserts the key; true only for the call (in any process) that inserted it. */
  add(key) {
    const keys = this.#keys
    if (keys.cached(key) >= 0) return false
    this.#view.inserted = false
    keys.miss(key, true)
    return this.#view.inserted
  }

  /**
   * Inserts every key of `keys` (an array) in one call into the core, which
   * overlaps their memory misses; returns, in order, whether this call
   * inserted each (a key given twice is inserted once). Every key is
   * checked before any is inserted; a full table throws
   * ERR_ATOMIC_DICT_FULL, whose `done` counts the keys before the one that
   * did not fit and `inserted[i]` says whether this call inserted key i.
   */
  addMany(keys) {
    return this.#keys.many(keys, true, (r, n) => {
      const out = new Array(n)
      for (let i = 0; i < n; i++) out[i] = r[i] % 2 === 1
      return out
    })
  }

  has(key) {
    return this.#keys.slot(key, false) >= 0
  }

  get size() {
    return this.#view.size()
  }

  get capacity() {
    return this.#view.capacity
  }

  *keys() {
    for (const [key] of this.#keys.rows()) yield key
  }

  values() {
    return this.keys()
  }

  *entries() {
    for (const key of this.keys()) yield [key, key]
  }

  forEach(callback, thisArg) {
    if (typeof callback !== 'function') throw typeError('callback', 'a function', callback)
    for (const key of this.keys()) callback.call(thisArg, key, key, this)
  }

  [Symbol.iterator]() {
    return this.keys()
  }

  get [Symbol.toStringTag]() {
    return 'AtomicSet'
  }
}

module.exports = { AtomicSet }
