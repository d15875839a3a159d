'use strict'
// AtomicSet: a table of keys without values.

const tables = require('./tables')
const share = require('./share')
const options = require('./options')
const { Keyed, ClosedKeys } = require('./keyed')

class AtomicSet {
  #view
  #keys

  /**
   * @param {number} capacity keys guaranteed to fit
   * @param {{k64?: number, k32?: number}} [opts]
   */
  constructor(capacity, opts) {
    const parts =
      capacity === tables.FROM_NATIVE
        ? opts
        : tables.createTable(true, options.capacity(capacity), options.setOptions(opts))
    const view = parts.view
    this.#view = view
    this.#keys = new Keyed(view, (row) => row)
    tables.internals.set(this, { ...parts, kind: 'set' })
  }

  /** The set a parent shared as `name` (spawn/fork `share` option, or shareWithCluster). */
  static inherit(name) {
    return new AtomicSet(tables.FROM_NATIVE, share.inherit(name, 'set'))
  }

  /** The set a `share()` descriptor names, in a worker thread of the same process. */
  static attach(descriptor) {
    return new AtomicSet(tables.FROM_NATIVE, share.attachDescriptor(descriptor, 'set'))
  }

  /** The set in the file at `path`, created when absent (unless `create: false`). */
  static open(path, opts) {
    return new AtomicSet(tables.FROM_NATIVE, share.open(path, opts, 'set', options.setOptions))
  }

  /** Removes a named table's file; processes that have it open keep it. */
  static unlink(path) {
    share.unlink(path)
  }

  /** A plain, structured-clonable descriptor for `AtomicSet.attach` in worker threads. */
  share() {
    return share.describe(this)
  }

  /** Whether this object created the set (rather than attaching to an existing one). */
  get created() {
    return tables.internals.get(this).native.created
  }

  /**
   * Audits every row: no key in two rows, every key reachable from its home
   * block, the entry count equal to the complete rows. Meant for a table no
   * one is inserting into at the moment (inserts in flight show as partial
   * rows). Returns { ok, entries, reserved, completeRows, partialRows,
   * duplicateKeys, unreachableKeys, problems }.
   */
  verify() {
    return tables.verify(tables.internals.get(this))
  }

  /**
   * Recounts `size` and the admission counter from the rows, for a table
   * nobody is changing at the moment: a process killed in the instant
   * between inserting a key and counting it leaves `size` one short (and
   * `verify()` says so). Returns the audit from before the repair.
   */
  repairCounts() {
    return tables.repairCounts(tables.internals.get(this))
  }

  /** Releases this process's mapping; later calls throw ERR_ATOMIC_DICT_CLOSED. */
  close() {
    const parts = tables.internals.get(this)
    if (parts.view.closed) return
    this.#keys = new ClosedKeys()
    tables.closeTable(parts)
  }

  /** The set's shape: { capacity, k64, k32 }. */
  get options() {
    const v = this.#view
    return { capacity: v.capacity, k64: v.k64, k32: v.k32 }
  }

  /** Inserts the key; true only for the call (in any process) that inserted it. */
  add(key) {
    const keys = this.#keys
    if (keys.cached(key) >= 0) return false
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
