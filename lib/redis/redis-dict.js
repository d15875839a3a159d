'use strict'
// RedisDict: AtomicDict's operations on a table kept in Redis, awaited.
// Keys and values are checked by the same code as locally (lib/key-args.js,
// lib/value-args.js), synchronously, so a bad argument rejects before any
// round trip and changes nothing. Layout and exactness: docs/REDIS-DESIGN.md.

const options = require('../options')
const { KeyCodec } = require('../key-args')
const { valueChecker } = require('../value-args')
const { typeError, codedError, AtomicDictFullError } = require('../errors')
const { SCRIPTS, run } = require('./scripts')

/** Bumped when the layout in Redis changes; stored in the metadata. */
const FORMAT = '1'
const REDIS_OPTIONS = ['capacity', 'k64', 'k32', 'valueBits', 'signed']

function tableName(name) {
  if (typeof name !== 'string') throw typeError('name', 'a string', name)
  if (name.length === 0 || /[{}]/.test(name) || !name.isWellFormed()) {
    throw codedError('ERR_INVALID_ARG_VALUE', `name must be a non-empty well-formed string without { or }, got ${JSON.stringify(name)}`, TypeError)
  }
  return name
}

function checkClient(client) {
  if (client === null || typeof client !== 'object' || typeof client.callBuffer !== 'function') {
    throw typeError('client', 'an ioredis client (Redis or Cluster)', client)
  }
  return client
}

class RedisDict {
  #client
  #geometry
  #capacity
  #codec
  #check
  #width
  #signed
  #zero
  #one
  #data
  #meta
  #attached = null

  /**
   * @param {import('ioredis').Redis | import('ioredis').Cluster} client
   * @param {string} name the table's name; its Redis keys are "{name}:d" and "{name}:meta"
   * @param {{capacity: number, k64?: number, k32?: number, valueBits?: 32 | 64, signed?: boolean}} opts
   */
  constructor(client, name, opts) {
    this.#client = checkClient(client)
    tableName(name)
    const { capacity, ...shape } = options.checkOptions(opts, REDIS_OPTIONS, 'new RedisDict()')
    this.#capacity = options.capacity(capacity)
    const geometry = options.dictOptions(shape)
    this.#geometry = geometry
    this.#codec = new KeyCodec(geometry.k64, geometry.k32)
    this.#check = valueChecker(geometry.valueBits)
    this.#width = geometry.valueBits / 8
    this.#signed = geometry.signed
    this.#zero = geometry.valueBits === 64 ? 0n : 0
    this.#one = geometry.valueBits === 64 ? 1n : 1
    // One hash tag: every key of a table is in one Redis Cluster slot, as a
    // script's keys must be.
    this.#data = `{${name}}:d`
    this.#meta = `{${name}}:meta`
  }

  // Encoding. A key is its parts as fixed-width big-endian bytes (8 for a
  // 64-bit part, 4 for a 32-bit part); a value is `width` bytes, big-endian
  // two's complement (the same bits for -1 and 2^64-1, as locally).

  #key(key) {
    const parts = this.#codec.parts(key)
    const k64 = this.#geometry.k64
    const buf = Buffer.allocUnsafe(8 * k64 + 4 * this.#geometry.k32)
    for (let i = 0; i < parts.length; i++) {
      if (i < k64) buf.writeBigUInt64BE(parts[i], 8 * i)
      else buf.writeUInt32BE(Number(parts[i]), 8 * k64 + 4 * (i - k64))
    }
    return buf
  }

  #encode(v) {
    const buf = Buffer.allocUnsafe(this.#width)
    if (this.#width === 8) buf.writeBigUInt64BE(BigInt.asUintN(64, v))
    else buf.writeUInt32BE(v >>> 0)
    return buf
  }

  #negate(v) {
    return this.#width === 8 ? BigInt.asUintN(64, -v) : (-v) >>> 0
  }

  #decode(buf) {
    if (buf.length !== this.#width) {
      throw codedError('ERR_ATOMIC_DICT_INTERNAL', `atomic-dict: Redis held a ${buf.length}-byte value in a table of ${this.#width}-byte values`)
    }
    if (this.#width === 8) return this.#signed ? buf.readBigInt64BE(0) : buf.readBigUInt64BE(0)
    return this.#signed ? buf.readInt32BE(0) : buf.readUInt32BE(0)
  }

  /** Makes the table's metadata in Redis or checks it (once; again after a failure). */
  ready() {
    if (this.#attached === null) {
      const g = this.#geometry
      const fields = ['format', FORMAT, 'kind', 'dict', 'capacity', String(this.#capacity), 'k64', String(g.k64), 'k32', String(g.k32), 'valueBits', String(g.valueBits), 'signed', String(g.signed)]
      const attached = run(this.#client, SCRIPTS.attach, [this.#meta], fields).then(
        (diff) => {
          if (diff.length === 0) return
          const parts = []
          for (let i = 0; i < diff.length; i += 3) parts.push(`${diff[i]} ${diff[i + 1]} (asked ${diff[i + 2]})`)
          throw codedError('ERR_ATOMIC_DICT_GEOMETRY', `atomic-dict: Redis holds a table ${this.#data.slice(0, -2)} of another geometry: ${parts.join(', ')}`)
        },
      )
      this.#attached = attached
      attached.catch(() => {
        if (this.#attached === attached) this.#attached = null
      })
    }
    return this.#attached
  }

  async #rmw(op, key, a, b) {
    await this.ready()
    const args = b === undefined ? [op, key, String(this.#capacity), a] : [op, key, String(this.#capacity), a, b]
    const r = await run(this.#client, SCRIPTS.rmw, [this.#data], args)
    if (typeof r === 'number') throw new AtomicDictFullError(this.#capacity)
    return this.#decode(r)
  }

  // Read-modify-write: each resolves with the value before and inserts the
  // key when absent. As locally, the operand is checked before the key.

  /** Adds `delta` (default 1), wrapping; resolves with the value before. */
  add(key, delta) {
    try {
      const v = delta === undefined ? this.#one : this.#check(delta, 'delta')
      return this.#rmw('add', this.#key(key), this.#encode(v))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Subtracts `delta` (default 1), wrapping; resolves with the value before. */
  sub(key, delta) {
    try {
      const v = delta === undefined ? this.#one : this.#check(delta, 'delta')
      return this.#rmw('add', this.#key(key), this.#encode(this.#negate(v)))
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

  cas(key, expected, desired) {
    try {
      const e = this.#check(expected, 'expected')
      const d = this.#check(desired, 'desired')
      return this.#rmw('cas', this.#key(key), this.#encode(e), this.#encode(d))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Stores `value`, inserting the key when absent; resolves with undefined. */
  async store(key, value) {
    await this.#op('swap', key, value)
  }

  #op(op, key, value) {
    try {
      const v = this.#check(value, 'value')
      return this.#rmw(op, this.#key(key), this.#encode(v))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  // Reads: one HGET/HEXISTS/HLEN each (a single command is atomic); never insert.

  /** The value, or 0 when the key is absent. */
  async load(key) {
    const v = await this.get(key)
    return v === undefined ? this.#zero : v
  }

  /** The value, or undefined when the key is absent. */
  get(key) {
    try {
      const k = this.#key(key)
      return this.#read('HGET', k).then((r) => (r === null ? undefined : this.#decode(r)))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  has(key) {
    try {
      const k = this.#key(key)
      return this.#read('HEXISTS', k).then((r) => r === 1)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Keys in the table (exact). */
  async size() {
    await this.ready()
    return this.#client.callBuffer('HLEN', this.#data)
  }

  /** Keys guaranteed to fit (no round trip). */
  get capacity() {
    return this.#capacity
  }

  /** The table's shape: { capacity, k64, k32, valueBits, signed }. */
  get options() {
    const g = this.#geometry
    return { capacity: this.#capacity, k64: g.k64, k32: g.k32, valueBits: g.valueBits, signed: g.signed }
  }

  async #read(command, k) {
    await this.ready()
    return this.#client.callBuffer(command, this.#data, k)
  }
}

module.exports = { RedisDict }
