'use strict'
// RedisDict: AtomicDict's operations on a table kept in Redis, awaited
// (docs/REDIS.md). Keys and values are checked by the same code as locally
// (lib/key-args.js, lib/value-args.js), synchronously and in the same order
// (the operand before the key), so a bad argument rejects with the local
// error before any round trip and changes nothing.

const options = require('../options')
const { typeError, AtomicDictFullError } = require('../errors')
const { INSPECT, refuseCloning, keyShape, valueType } = require('../node-conventions')
const { RedisCodec } = require('./codec')
const { RedisTable } = require('./redis-table')
const { scan } = require('./scan')
const bulk = require('./bulk')
const waits = require('./waits')
const { asyncOptions, countArg } = require('../wait')

const OPTIONS = ['capacity', 'k64', 'k32', 'valueBits', 'signed', 'strings']

class RedisDict {
  #t
  #c
  #shape
  #strings
  #decodeOld
  /** The last read-modify-write issued: a notify goes after it (change, then notify). */
  #last = Promise.resolve()
  #waitTarget

  /**
   * @param client an ioredis Redis or Cluster client, or fromNodeRedis(client)
   * @param {string} name the table's name; its Redis keys are "{name}:d", "{name}:meta", ...
   * @param {{capacity: number, k64?: number, k32?: number, valueBits?: 32 | 64, signed?: boolean, strings?: number}} opts
   */
  constructor(client, name, opts) {
    const { capacity, ...shape } = options.checkOptions(opts, OPTIONS, 'new RedisDict()')
    const cap = options.capacity(capacity)
    const g = options.dictOptions(shape)
    this.#shape = g
    this.#strings = g.strings > 0
    this.#t = new RedisTable(client, name, 'dict', cap, { k64: g.k64, k32: g.k32, valueBits: g.valueBits, signed: g.signed, strings: g.strings }, g.valueBits / 4)
    this.#c = new RedisCodec(g)
    this.#decodeOld = (answer) => {
      if (answer === '-') throw new AtomicDictFullError(cap)
      return this.#c.decode(answer)
    }
    const zeros = '0'.repeat(this.#c.digits)
    this.#waitTarget = {
      client: this.#t.client,
      channel: this.#t.channel,
      read: (field) => this.#t.read(['HGET', this.#t.data, field], 'waitAsync', (r) => (r === null ? zeros : r)),
      before: () => this.#last,
    }
    refuseCloning(this)
  }

  /** Makes or checks the table's metadata in Redis; every operation waits for it. */
  ready() {
    return this.#t.ready()
  }

  /** Settles an operation that failed with ERR_ATOMIC_DICT_CONNECTION_LOST, exactly once. */
  retry(err) {
    return this.#t.retry(err)
  }

  #rmw(op, key, a, b) {
    if (!this.#strings) return (this.#last = this.#t.enqueue(op === 'cas' ? [op, this.#c.field(key), a, b] : [op, this.#c.field(key), a], op, this.#decodeOld))
    const strings = []
    const field = this.#c.field(key, strings)
    const args = op === 'cas' ? [op, field, a, b] : [op, field, a]
    args.push(String(strings.length / 2), ...strings)
    return (this.#last = this.#t.enqueue(args, op, this.#decodeOld))
  }

  // Read-modify-write: each resolves with the value before and inserts the
  // key when absent; one script, applied exactly once.

  /** Adds `delta` (default 1), wrapping; resolves with the value before. */
  add(key, delta) {
    try {
      return this.#rmw('add', key, delta === undefined ? '1' : this.#c.hex(this.#c.check(delta, 'delta')), '')
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Subtracts `delta` (default 1), wrapping; resolves with the value before. */
  sub(key, delta) {
    try {
      return this.#rmw('add', key, this.#c.negatedHex(delta === undefined ? this.#c.one : this.#c.check(delta, 'delta')), '')
    } catch (err) {
      return Promise.reject(err)
    }
  }

  and(key, value) {
    return this.#op('and', key, value)
  }

  or(key, value) {
    return this.#op('or', key, value)
  }

  xor(key, value) {
    return this.#op('xor', key, value)
  }

  swap(key, value) {
    return this.#op('swap', key, value)
  }

  /** Stores `desired` when the value is `expected`; resolves with the value before (inserts an absent key as 0). */
  cas(key, expected, desired) {
    try {
      const e = this.#c.hex(this.#c.check(expected, 'expected'))
      const d = this.#c.hex(this.#c.check(desired, 'desired'))
      return this.#rmw('cas', key, e, d)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Stores `value`, inserting the key when absent; resolves with undefined. */
  store(key, value) {
    return this.#op('swap', key, value).then(nothing)
  }

  /** Stores `value`; resolves with this dict (as Map's set returns the map). */
  set(key, value) {
    return this.#op('swap', key, value).then(() => this)
  }

  #op(op, key, value) {
    try {
      return this.#rmw(op, key, this.#c.hex(this.#c.check(value, 'value')), '')
    } catch (err) {
      return Promise.reject(err)
    }
  }

  // Reads: one command each (atomic by itself, never inserts, safe to send again).

  /** The value, or 0 when the key is absent. */
  load(key) {
    try {
      const field = this.#c.field(key)
      return this.#t.read(['HGET', this.#t.data, field], 'load', (r) => (r === null ? this.#c.zero : this.#c.decode(r)))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The value, or undefined when the key is absent. */
  get(key) {
    try {
      const field = this.#c.field(key)
      return this.#t.read(['HGET', this.#t.data, field], 'get', (r) => (r === null ? undefined : this.#c.decode(r)))
    } catch (err) {
      return Promise.reject(err)
    }
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

  /** The table's shape: { capacity, k64, k32, valueBits, signed, strings }. */
  get options() {
    const g = this.#shape
    return { capacity: this.#t.capacity, k64: g.k64, k32: g.k32, valueBits: g.valueBits, signed: g.signed, strings: g.strings }
  }

  // Bulk (lib/redis/bulk.js): the local semantics; a read is one HMGET, a
  // write one atomic script step, exactly once.

  /** The values of `keys` (an array), undefined for absent keys (one HMGET; never inserts). */
  getMany(keys) {
    return bulk.readMany(this.#t, this.#c, keys, undefined, 'getMany')
  }

  /** The values of `keys` (an array), 0 for absent keys (one HMGET; never inserts). */
  loadMany(keys) {
    return bulk.readMany(this.#t, this.#c, keys, this.#c.zero, 'loadMany')
  }

  /** Adds `deltas[i]` (or `deltas` to every key), inserting absent keys; resolves with the values before. */
  addMany(keys, deltas) {
    return (this.#last = bulk.modifyMany(this.#t, this.#c, this.#strings, 'madd', keys, deltas, 'deltas'))
  }

  /** Stores `values[i]` (or `values` in every key), inserting absent keys; resolves with undefined. */
  storeMany(keys, values) {
    return (this.#last = bulk.modifyMany(this.#t, this.#c, this.#strings, 'mstore', keys, values, 'values'))
  }

  [bulk.SWAP_MANY](keys, values) {
    return (this.#last = bulk.modifyMany(this.#t, this.#c, this.#strings, 'mswap', keys, values, 'values'))
  }

  // Waiting across processes over pub/sub (lib/redis/waits.js).

  /**
   * Resolves 'ok' when a notify on the key (from any process) woke it,
   * 'not-equal' when the value is not `expected` (an absent key reads 0;
   * nothing is inserted), 'timed-out'. `(key, expected, timeout?, options?)`
   * or `(key, expected, { timeout, signal, ref })`, as AtomicDict#waitAsync.
   */
  waitAsync(key, expected, timeout, options) {
    try {
      const e = this.#c.hex(this.#c.check(expected, 'expected')).padStart(this.#c.digits, '0')
      const opts = asyncOptions(timeout, options)
      return waits.waitAsync(this.#waitTarget, this.#c.field(key), e, opts)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Wakes the key's waiters in every process, after this dict's operations
   * issued before it; resolves with the number of subscriber connections
   * that received it (not of waits). `count`: at most that many per process.
   */
  notify(key, count) {
    try {
      const c = countArg(count)
      return waits.notify(this.#waitTarget, this.#c.field(key), c)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  // Iteration: HSCAN, live as locally (keys inserted meanwhile may or may
  // not be seen; each key at most once; values as they are when read).

  /** Async iterator of [key, value]. */
  async *entries() {
    for await (const [field, hex, strings] of scan(this.#t, this.#strings)) yield [this.#c.keyOf(field, strings), this.#c.decode(hex)]
  }

  async *keys() {
    for await (const [field, , strings] of scan(this.#t, this.#strings)) yield this.#c.keyOf(field, strings)
  }

  async *values() {
    for await (const [, hex] of scan(this.#t, false)) yield this.#c.decode(hex)
  }

  /** Calls `callback(value, key, dict)` for every entry; resolves when done. */
  async forEach(callback, thisArg) {
    if (typeof callback !== 'function') throw typeError('callback', 'a function', callback)
    for await (const [key, value] of this.entries()) await callback.call(thisArg, value, key, this)
  }

  [Symbol.asyncIterator]() {
    return this.entries()
  }

  [INSPECT](depth, opts, inspect) {
    const g = this.#shape
    return `RedisDict(${inspect(this.#t.name, opts)}, capacity ${this.#t.capacity}, ${keyShape(g.k64, g.k32)} -> ${valueType(g.valueBits, g.signed)})`
  }

  get [Symbol.toStringTag]() {
    return 'RedisDict'
  }
}

function nothing() {}

module.exports = { RedisDict }
