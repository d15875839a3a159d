'use strict'
// AtomicSet: a table of keys without values.

const { createTable } = require('./create')
const options = require('./options')
const { Keyed } = require('./keyed')

class AtomicSet {
  #view
  #keys

  /**
   * @param {number} capacity keys guaranteed to fit
   * @param {{k64?: number, k32?: number}} [opts]
   */
  constructor(capacity, opts) {
    const cap = options.capacity(capacity)
    const geometry = options.setOptions(opts)
    const { view } = createTable(true, cap, geometry)
    this.#view = view
    this.#keys = new Keyed(view, (row) => row)
  }

  /** Inserts the key; true only for the call (in any process) that inserted it. */
  add(key) {
    const keys = this.#keys
    if (keys.bare.has(key)) return false
    this.#view.inserted = false
    keys.miss(key, true)
    return this.#view.inserted
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
    if (typeof callback !== 'function') throw new TypeError('callback must be a function')
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
