'use strict'
// RedisSet: AtomicSet's operations on a set kept in Redis, awaited
// (docs/REDIS.md). Keys are checked by the same code as locally
// (lib/key-args.js), before any round trip. The set is a hash like a
// dict's, each field's value "" (rmw.lua's `ins`); its metadata says kind
// "set", so a RedisDict of the same name refuses it and it refuses the dict
// (ERR_ATOMIC_DICT_WRONG_KIND).

const options = require('../options')
const { typeError, AtomicDictFullError } = require('../errors')
const { INSPECT, refuseCloning, keyShape } = require('../node-conventions')
const { RedisCodec } = require('./codec')
const { RedisTable } = require('./redis-table')
const { scan } = require('./scan')
const bulk = require('./bulk')

const OPTIONS = ['capacity', 'k64', 'k32', 'strings']

class RedisSet {
  #t
  #c
  #shape
  #strings
  #decodeAdded

  /**
   * @param client an ioredis Redis or Cluster client, or fromNodeRedis(client)
   * @param {string} name the set's name; its Redis keys are "{name}:d", "{name}:meta", ...
   * @param {{capacity: number, k64?: number, k32?: number, strings?: number}} opts
   */
  constructor(client, name, opts) {
    const { capacity, ...shape } = options.checkOptions(opts, OPTIONS, 'new RedisSet()')
    const cap = options.capacity(capacity)
    const g = options.setOptions(shape)
    this.#shape = g
    this.#strings = g.strings > 0
    this.#t = new RedisTable(client, name, 'set', cap, { k64: g.k64, k32: g.k32, strings: g.strings }, 0)
    // The codec's value side is unused: a set's hash values are "".
    this.#c = new RedisCodec({ k64: g.k64, k32: g.k32, valueBits: 64, signed: false })
    this.#decodeAdded = (answer) => {
      if (answer === '-') throw new AtomicDictFullError(cap)
      return answer === '1'
    }
    refuseCloning(this)
  }

  /** Makes or checks the set's metadata in Redis; every operation waits for it. */
  ready() {
    return this.#t.ready()
  }

  /** Settles an operation that failed with ERR_ATOMIC_DICT_CONNECTION_LOST, exactly once. */
  retry(err) {
    return this.#t.retry(err)
  }

  /** Inserts the key; resolves with true only for the call (of any client) that inserted it. */
  add(key) {
    try {
      if (!this.#strings) return this.#t.enqueue(['ins', this.#c.field(key)], 'add', this.#decodeAdded)
      const strings = []
      const field = this.#c.field(key, strings)
      return this.#t.enqueue(['ins', field, String(strings.length / 2), ...strings], 'add', this.#decodeAdded)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Inserts every key of `keys` (an array) in one atomic step; resolves
   * with, in order, whether this call inserted each (a key given twice is
   * inserted once). Full: ERR_ATOMIC_DICT_FULL with `done` and `inserted`
   * as locally (docs/API.md, "Bulk").
   */
  addMany(keys) {
    return bulk.insertMany(this.#t, this.#c, this.#strings, keys)
  }

  has(key) {
    try {
      return this.#t.has(this.#c.field(key))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The number of keys (exact: one HLEN). Locally a getter; here it needs a round trip. */
  size() {
    return this.#t.size()
  }

  /** Keys guaranteed to fit (no round trip). */
  get capacity() {
    return this.#t.capacity
  }

  get name() {
    return this.#t.name
  }

  /** The set's shape: { capacity, k64, k32, strings }. */
  get options() {
    const g = this.#shape
    return { capacity: this.#t.capacity, k64: g.k64, k32: g.k32, strings: g.strings }
  }

  // Iteration: HSCAN, live as locally (keys inserted meanwhile may or may
  // not be seen; each key at most once). String parts come back as strings
  // when the set has the `strings` option.

  async *keys() {
    for await (const [field, , strings] of scan(this.#t, this.#strings)) yield this.#c.keyOf(field, strings)
  }

  values() {
    return this.keys()
  }

  /** Async iterator of [key, key], as Set#entries. */
  async *entries() {
    for await (const key of this.keys()) yield [key, key]
  }

  /** Calls `callback(key, key, set)` for every key; resolves when done. */
  async forEach(callback, thisArg) {
    if (typeof callback !== 'function') throw typeError('callback', 'a function', callback)
    for await (const key of this.keys()) await callback.call(thisArg, key, key, this)
  }

  [Symbol.asyncIterator]() {
    return this.keys()
  }

  [INSPECT](depth, opts, inspect) {
    const g = this.#shape
    return `RedisSet(${inspect(this.#t.name, opts)}, capacity ${this.#t.capacity}, ${keyShape(g.k64, g.k32)})`
  }

  get [Symbol.toStringTag]() {
    return 'RedisSet'
  }
}

module.exports = { RedisSet }
