'use strict'
// RedisCounters: named counters (lib/counters.js) in a RedisDict whose keys
// are the names as string keys (stringKey(name), as locally), awaited
// (docs/REDIS.md). Names and values are checked by the same code and in the
// same order as locally (the name, then the value), before any round trip.
//
// Over the network:
// - ready() attaches the table and inserts every name (value 0 when new) in
//   one atomic step, as the local constructor does: ERR_ATOMIC_DICT_FULL
//   when they do not fit. Every operation waits for it.
// - snapshot(), entries(), values() read every name in one HMGET: one
//   instant across all names (locally each is read one after the other).
// - reset() swaps every name to 0 in one atomic step (rmw.lua's mswap).
// - keys(), has(), size and names need no Redis and stay synchronous.
// - toJSON() cannot wait for Redis: JSON.stringify(counters) gives
//   { name, names }, not values; `await counters.json()` gives what the
//   local toJSON() does ({ name: value }, 64-bit values as decimal strings).
// - waitAsync/notify are RedisDict's (over pub/sub); wait (blocking),
//   slot, share/close/open/attach have no counterpart here (the client's
//   connection is the caller's).

const { checkOptions } = require('../options')
const { valueChecker } = require('../value-args')
const { asyncOptions, countArg } = require('../wait')
const { typeError, codedError } = require('../errors')
const { INSPECT, jsonValue, refuseCloning } = require('../node-conventions')
const { RedisDict } = require('./redis-dict')
const { SWAP_MANY } = require('./bulk')

// The names are checked and the default capacity is as locally.
const { checkNames, DEFAULT_CAPACITY } = require('../counters')

class RedisCounters {
  #dict
  #names
  #known
  #check
  #one
  #zero
  #ready = null
  #isReady = false

  /**
   * @param client an ioredis Redis or Cluster client, or fromNodeRedis(client)
   * @param {string} name the table's name (a RedisDict's: its Redis keys are "{name}:d", ...)
   * @param {readonly string[]} names
   * @param {{capacity?: number, valueBits?: 32 | 64, signed?: boolean}} [options]
   *   capacity defaults to max(names.length, 256), as locally; it is part of
   *   the table's shape, so every client of the table must agree on it.
   */
  constructor(client, name, names, options) {
    names = checkNames(names)
    const o = checkOptions(options, ['capacity', 'valueBits', 'signed'], 'new RedisCounters()')
    const capacity = o.capacity === undefined ? Math.max(names.length, DEFAULT_CAPACITY) : o.capacity
    this.#dict = new RedisDict(client, name, { capacity, valueBits: o.valueBits, signed: o.signed })
    this.#names = names
    this.#known = new Set(names)
    const bits = this.#dict.options.valueBits
    this.#check = valueChecker(bits)
    this.#one = bits === 64 ? 1n : 1
    this.#zero = bits === 64 ? 0n : 0
    refuseCloning(this)
  }

  /** Attaches the table and inserts the names (once; again after a failure). Every operation waits for it. */
  ready() {
    if (this.#ready === null) {
      const ready = this.#dict.addMany(this.#names, this.#zero).then(() => {
        this.#isReady = true
      })
      this.#ready = ready
      ready.catch(() => {
        if (this.#ready === ready) this.#ready = null
      })
    }
    return this.#ready
  }

  /** Settles an operation that failed with ERR_ATOMIC_DICT_CONNECTION_LOST, exactly once. */
  retry(err) {
    return this.#dict.retry(err)
  }

  #index(name) {
    if (this.#known.has(name)) return
    throw typeof name === 'string'
      ? codedError('ERR_INVALID_ARG_VALUE', `name must be one of ${this.#names.map((n) => JSON.stringify(n)).join(', ')}, got ${JSON.stringify(name)}`, TypeError)
      : typeError('name', 'a string', name)
  }

  /** Runs `fn` once the names are in the table. */
  #then(fn) {
    return this.#isReady ? fn() : this.ready().then(fn)
  }

  /** Adds `delta` (default 1), wrapping; resolves with the value before. */
  add(name, delta) {
    try {
      this.#index(name)
      const v = delta === undefined ? this.#one : this.#check(delta, 'delta')
      return this.#then(() => this.#dict.add(name, v))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Subtracts `delta` (default 1), wrapping; resolves with the value before. */
  sub(name, delta) {
    try {
      this.#index(name)
      const v = delta === undefined ? this.#one : this.#check(delta, 'delta')
      return this.#then(() => this.#dict.sub(name, v))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The value. */
  get(name) {
    try {
      this.#index(name)
      return this.#then(() => this.#dict.load(name))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Stores `value`; resolves with this. */
  set(name, value) {
    try {
      this.#index(name)
      const v = this.#check(value, 'value')
      return this.#then(() => this.#dict.store(name, v)).then(() => this)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Stores `value`; resolves with the value before. */
  swap(name, value) {
    try {
      this.#index(name)
      const v = this.#check(value, 'value')
      return this.#then(() => this.#dict.swap(name, v))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Stores `desired` if the value is `expected`; resolves with the value before. */
  cas(name, expected, desired) {
    try {
      this.#index(name)
      const e = this.#check(expected, 'expected')
      const d = this.#check(desired, 'desired')
      return this.#then(() => this.#dict.cas(name, e, d))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** As RedisDict#waitAsync, on one counter (across hosts, over pub/sub). */
  waitAsync(name, expected, timeout, options) {
    try {
      // Checked now, as locally (the operand, then the options, then the
      // name), before the names are made in Redis.
      this.#check(expected, 'expected')
      asyncOptions(timeout, options)
      this.#index(name)
      return this.#then(() => this.#dict.waitAsync(name, expected, timeout, options))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** As RedisDict#notify, on one counter: after this object's earlier changes. */
  notify(name, count) {
    try {
      countArg(count)
      this.#index(name)
      return this.#then(() => this.#dict.notify(name, count))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Every counter's value, as { name: value }: one HMGET, one instant across all names. */
  snapshot() {
    return this.entries().then(Object.fromEntries)
  }

  /** Sets every counter to 0 in one atomic step; resolves with each one's value just before (as snapshot()). */
  reset() {
    const names = this.#names
    return this.#then(() => this.#dict[SWAP_MANY](names, this.#zero)).then((before) => Object.fromEntries(names.map((n, i) => [n, before[i]])))
  }

  /** [name, value] pairs, in the order of `names` (one HMGET). */
  entries() {
    const names = this.#names
    return this.#then(() => this.#dict.loadMany(names)).then((values) => names.map((n, i) => [n, values[i]]))
  }

  /** The names, in the order of `names` (an array, at once: no Redis). */
  keys() {
    return [...this.#names]
  }

  /** The values, in the order of `names` (one HMGET). */
  values() {
    return this.#then(() => this.#dict.loadMany(this.#names))
  }

  /** Whether `name` is one of the names (any value: never throws; no Redis). */
  has(name) {
    return this.#known.has(name)
  }

  /** The number of names. */
  get size() {
    return this.#names.length
  }

  /** Calls `callback(value, name, counters)` for each name, in order, with the values of one HMGET; resolves when done. */
  async forEach(callback, thisArg) {
    if (typeof callback !== 'function') throw typeError('callback', 'a function', callback)
    for (const [name, value] of await this.entries()) await callback.call(thisArg, value, name, this)
  }

  /** Async iterator of the [name, value] pairs of entries(). */
  async *[Symbol.asyncIterator]() {
    yield* await this.entries()
  }

  /** What the local toJSON() gives: { name: value }, 64-bit values as decimal strings, 32-bit ones as numbers (one HMGET). */
  json() {
    return this.entries().then((pairs) => Object.fromEntries(pairs.map(([n, v]) => [n, jsonValue(v)])))
  }

  /** For JSON.stringify, which cannot wait for Redis: { name, names }, no values (use `await counters.json()`). */
  toJSON() {
    return { name: this.#dict.name, names: this.#names }
  }

  /** The names, in the order given. */
  get names() {
    return this.#names
  }

  get name() {
    return this.#dict.name
  }

  /** The table's value shape: { capacity, valueBits, signed }. */
  get options() {
    const o = this.#dict.options
    return { capacity: o.capacity, valueBits: o.valueBits, signed: o.signed }
  }

  /** The RedisDict underneath (keys are the names, as string keys). */
  get table() {
    return this.#dict
  }

  /** `RedisCounters("name", 2 names: 'requests', 'errors')`: values need a round trip (await snapshot()). */
  [INSPECT](depth, opts, inspect) {
    return `RedisCounters(${inspect(this.#dict.name, opts)}, ${this.#names.length} name${this.#names.length === 1 ? '' : 's'}: ${this.#names.map((n) => inspect(n, opts)).join(', ')})`
  }

  get [Symbol.toStringTag]() {
    return 'RedisCounters'
  }
}

module.exports = { RedisCounters, DEFAULT_CAPACITY }
