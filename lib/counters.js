'use strict'
// Counters: named counters and gauges over an AtomicDict whose keys are the
// names as string keys (lib/strings.js). Any process that attaches with the
// same names, in any order, reaches the same values. Each name's value index
// is found once, when the object is made; an operation is then one Map
// lookup and one Atomics call.

const tables = require('./table-memory')
const share = require('./attach')
const { AtomicDict } = require('./atomic-dict')
const { dictOptions, checkOptions } = require('./options')
const { valueChecker } = require('./value-args')
const { typeError, codedError } = require('./errors')
const { atomicOp } = require('./atomic-op')
const { DISPOSE, INSPECT, shown, jsonValue, refuseCloning } = require('./node-conventions')
const { checkString } = require('./strings')
const { promised } = require('./wait')

/** Capacity of a new counters table when none is given: room to add names later. */
const DEFAULT_CAPACITY = 256

const FROM_DICT = Symbol('atomic-dict: counters over a dict')

function checkNames(names) {
  if (!Array.isArray(names)) throw typeError('names', 'an array of strings', names)
  if (names.length === 0) throw codedError('ERR_OUT_OF_RANGE', 'names must hold at least one name, got an empty array', RangeError)
  const seen = new Set()
  names.forEach((name, i) => {
    checkString(name, `names[${i}]`)
    if (seen.has(name)) throw codedError('ERR_INVALID_ARG_VALUE', `names must not repeat a name, got ${JSON.stringify(name)} twice`, RangeError)
    seen.add(name)
  })
  return Object.freeze([...names])
}

function geometryError(message) {
  return codedError('ERR_ATOMIC_DICT_GEOMETRY', `atomic-dict: ${message}`)
}

/** Checks that an existing table can hold counters, as `expect` says (valueBits, signed). */
function checkShape(dict, expect, what) {
  const o = dict.options
  const mismatches = []
  if (o.k64 !== 1 || o.k32 !== 0) mismatches.push(`keys of ${o.k64} 64-bit and ${o.k32} 32-bit parts (counters need one 64-bit part)`)
  for (const key of ['valueBits', 'signed']) {
    if (expect[key] !== undefined && o[key] !== expect[key]) mismatches.push(`${key} ${o[key]} (asked ${expect[key]})`)
  }
  if (mismatches.length) throw geometryError(`${what} holds a table counters cannot use as asked: ${mismatches.join(', ')}`)
}

/**
 * The value shape counters reached from elsewhere must have: `expect`'s
 * valueBits and signed, each left out being its default (64, false), so the
 * values are what the counters' TypeScript type says.
 */
function expectedShape(expect) {
  const e = checkOptions(expect, ['valueBits', 'signed'], 'counters')
  return { valueBits: e.valueBits ?? 64, signed: e.signed ?? false }
}

class Counters {
  #dict
  #view
  #values
  #slots
  #names
  #check
  #one
  #guard

  /**
   * Counters named `names` in a new table (a memfd, shared like any table).
   * @param {readonly string[]} names
   * @param {{capacity?: number, valueBits?: 32 | 64, signed?: boolean}} [options]
   */
  constructor(names, options) {
    if (names === FROM_DICT) {
      this.#bind(options.dict, options.names)
      return
    }
    names = checkNames(names)
    const o = checkOptions(options, ['capacity', 'valueBits', 'signed'], 'counters')
    const capacity = o.capacity === undefined ? Math.max(names.length, DEFAULT_CAPACITY) : o.capacity
    const dict = new AtomicDict(capacity, { valueBits: o.valueBits, signed: o.signed })
    this.#bind(dict, names)
  }

  #bind(dict, names) {
    refuseCloning(this) // use share() and Counters.attach() in a thread
    const { view } = tables.internals.get(dict)
    const slots = new Map()
    try {
      for (const name of names) slots.set(name, view.locateString(name, true))
    } catch (err) {
      dict.close()
      throw err
    }
    this.#dict = dict
    this.#view = view
    this.#values = view.values
    this.#slots = slots
    this.#names = names
    this.#check = valueChecker(view.valueBits)
    this.#one = view.valueBits === 64 ? 1n : 1
    this.#guard = tables.internals.get(dict).guard
    // Sharing (spawn/fork/shareWithCluster `share`) sees the dict's table.
    tables.internals.set(this, tables.internals.get(dict))
  }

  static #over(dict, names, expect, what) {
    try {
      checkShape(dict, expect, what)
    } catch (err) {
      dict.close()
      throw err
    }
    return new Counters(FROM_DICT, { dict, names })
  }

  /**
   * The counters a parent shared as `name` (spawn/fork `share`, or
   * shareWithCluster). `expect.valueBits`/`expect.signed`, given or left to
   * their defaults (64, false), must match the table, as for `open`.
   */
  static inherit(name, names, expect) {
    names = checkNames(names)
    expect = expectedShape(expect)
    return Counters.#over(AtomicDict.inherit(name), names, expect, `shared table ${JSON.stringify(name)}`)
  }

  /** The counters a `share()` descriptor names, in a worker thread of the same process; `expect` as for inherit. */
  static attach(descriptor, names, expect) {
    names = checkNames(names)
    expect = expectedShape(expect)
    return Counters.#over(AtomicDict.attach(descriptor), names, expect, 'the descriptor')
  }

  /**
   * The counters in the file at `path` (for pm2 and unrelated processes),
   * created when absent unless `create: false`. A new file gets
   * `options.capacity` (default max(names.length, 256)); given options must
   * match an existing one.
   */
  static open(path, names, options) {
    names = checkNames(names)
    const o = checkOptions(options, ['capacity', 'valueBits', 'signed', 'create', 'mode', 'allowInsecure'], 'counters')
    const { capacity, ...rest } = o
    const parts = share.open(path, { ...rest, capacity }, 'dict', dictOptions, Math.max(names.length, DEFAULT_CAPACITY))
    const dict = new AtomicDict(tables.FROM_NATIVE, parts)
    return Counters.#over(dict, names, expectedShape({ valueBits: o.valueBits, signed: o.signed }), path)
  }

  /** Removes a named counters file; processes that have it open keep it. */
  static unlink(path) {
    share.unlink(path)
  }

  #index(name) {
    const i = this.#slots.get(name)
    if (i !== undefined) return i
    throw typeof name === 'string'
      ? codedError('ERR_INVALID_ARG_VALUE', `name must be one of ${this.#names.map((n) => JSON.stringify(n)).join(', ')}, got ${JSON.stringify(name)}`, TypeError)
      : typeError('name', 'a string', name)
  }

  /** Adds `delta` (default 1); returns the value before. */
  add(name, delta) {
    const i = this.#index(name)
    const v = delta === undefined ? this.#one : this.#check(delta, 'delta')
    return atomicOp(Atomics.add, this.#view, this.#values, i, v)
  }

  /** Subtracts `delta` (default 1), wrapping; returns the value before. */
  sub(name, delta) {
    const i = this.#index(name)
    const v = delta === undefined ? this.#one : this.#check(delta, 'delta')
    return atomicOp(Atomics.sub, this.#view, this.#values, i, v)
  }

  /** The value. */
  get(name) {
    const i = this.#index(name)
    return atomicOp(Atomics.load, this.#view, this.#values, i)
  }

  /** Stores `value`; returns this. */
  set(name, value) {
    this.#guard.check('set')
    const i = this.#index(name)
    const v = this.#check(value, 'value')
    atomicOp(Atomics.store, this.#view, this.#values, i, v)
    return this
  }

  /** Stores `value`; returns the value before. */
  swap(name, value) {
    this.#guard.check('swap')
    const i = this.#index(name)
    const v = this.#check(value, 'value')
    return atomicOp(Atomics.exchange, this.#view, this.#values, i, v)
  }

  /** Stores `desired` if the value is `expected`; returns the value before. */
  cas(name, expected, desired) {
    this.#guard.check('cas')
    const i = this.#index(name)
    const e = this.#check(expected, 'expected')
    const d = this.#check(desired, 'desired')
    return atomicOp(Atomics.compareExchange, this.#view, this.#values, i, e, d)
  }

  /** Blocks while the counter is `expected`, until notified or `timeout` ms (AtomicDict#wait). */
  wait(name, expected, timeout) {
    this.#index(name)
    return this.#dict.wait(name, expected, timeout)
  }

  /** As `wait`, as a Promise (AtomicDict#waitAsync). */
  waitAsync(name, expected, timeout, options) {
    return promised(() => {
      this.#index(name)
      return this.#dict.waitAsync(name, expected, timeout, options)
    })
  }

  /** Wakes up to `count` (default all) waiters on the counter, in every process. */
  notify(name, count) {
    this.#index(name)
    return this.#dict.notify(name, count)
  }

  /** A handle on one counter's value (AtomicValue). */
  slot(name) {
    this.#index(name)
    return this.#dict.slot(name)
  }

  /**
   * Every counter's value, as { name: value }. Each value is read
   * atomically, one after the other: not one instant across all names.
   */
  snapshot() {
    return Object.fromEntries(this.entries())
  }

  /** Sets every counter to 0; returns each one's value just before (as `snapshot()`). */
  reset() {
    this.#guard.check('reset')
    const zero = this.#check(0, 'value')
    return Object.fromEntries(this.#names.map((n) => [n, atomicOp(Atomics.exchange, this.#view, this.#values, this.#slots.get(n), zero)]))
  }

  /** [name, value] pairs, in the order of `names` (an array). */
  entries() {
    return this.#names.map((n) => [n, this.#load(n)])
  }

  /** The names, in the order of `names` (an array, as `entries()`). */
  keys() {
    return [...this.#names]
  }

  /** The values, in the order of `names` (an array, as `entries()`). */
  values() {
    return this.#names.map((n) => this.#load(n))
  }

  /** Whether `name` is one of the names (any value: never throws). */
  has(name) {
    return this.#slots.has(name)
  }

  /** The number of names. */
  get size() {
    return this.#names.length
  }

  /** Calls `callback(value, name, counters)` for each name, in order, as Map#forEach. */
  forEach(callback, thisArg) {
    if (typeof callback !== 'function') throw typeError('callback', 'a function', callback)
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this)
  }

  /** The [name, value] pairs of `entries()`. */
  [Symbol.iterator]() {
    return this.entries()[Symbol.iterator]()
  }

  /**
   * For JSON.stringify: { name: value }, 64-bit values as decimal strings
   * (JSON has no bigint), 32-bit ones as numbers.
   */
  toJSON() {
    return Object.fromEntries(this.#names.map((n) => [n, jsonValue(this.#load(n))]))
  }

  #load(name) {
    return atomicOp(Atomics.load, this.#view, this.#values, this.#slots.get(name))
  }

  /** The names, in the order given. */
  get names() {
    return this.#names
  }

  /** The AtomicDict underneath (keys are `stringKey(name)`). */
  get table() {
    return this.#dict
  }

  /** Whether this object created the table (rather than attaching to one). */
  get created() {
    return this.#dict.created
  }

  /** A descriptor for `Counters.attach` in worker threads of this process. */
  share() {
    return this.#dict.share()
  }

  /** Releases this process's mapping; later calls throw ERR_ATOMIC_DICT_CLOSED. */
  close() {
    this.#dict.close()
  }

  /** `close()`, for `using c = counters(names)`. */
  [DISPOSE]() {
    this.close()
  }

  /** As a Map: `Counters(2) { 'requests' => 5n, 'errors' => 0n }`; `Counters(closed)` once closed. */
  [INSPECT](depth, options) {
    if (depth < 0) return options.stylize('[Counters]', 'special')
    if (this.#view.closed) return 'Counters(closed)'
    const pairs = this.entries().map(([n, v]) => `${shown(n, options)} => ${shown(v, options)}`)
    return `Counters(${this.#names.length}) { ${pairs.join(', ')} }`
  }

  get [Symbol.toStringTag]() {
    return 'Counters'
  }
}

/** `new Counters(names, options)`. */
function counters(names, options) {
  return new Counters(names, options)
}

module.exports = { Counters, counters, DEFAULT_CAPACITY, checkNames }
