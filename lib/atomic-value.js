'use strict'
// AtomicValue: a handle bound to one key's value (`dict.slot(key)`). Its
// operations go straight to Atomics on the row.

const { codedError } = require('./errors')
const { atomicOp, addAliases } = require('./atomic-op')
const { INSPECT, inspected, shown, refuseCloning } = require('./node-conventions')
const { timeoutArg, countArg, asyncOptions, promised } = require('./wait')

const CONSTRUCT = Symbol('AtomicValue')

class AtomicValue {
  #view
  #values
  #index
  #check
  #waits
  #one
  #key
  #guard

  /** @private made by AtomicDict#slot */
  constructor(token, view, index, check, waits, key, guard) {
    if (token !== CONSTRUCT) throw codedError('ERR_ILLEGAL_CONSTRUCTOR', 'AtomicValue is made by dict.slot(key)', TypeError)
    refuseCloning(this)
    this.#view = view
    this.#values = view.values
    this.#index = index
    this.#check = check
    this.#waits = waits
    this.#one = view.valueBits === 64 ? 1n : 1
    this.#key = key
    this.#guard = guard
  }

  load() {
    return atomicOp(Atomics.load, this.#view, this.#values, this.#index)
  }

  store(value) {
    this.#guard.check('store')
    atomicOp(Atomics.store, this.#view, this.#values, this.#index, this.#check(value, 'value'))
  }

  /** Adds `delta` (default 1); returns the value before. */
  add(delta) {
    return atomicOp(Atomics.add, this.#view, this.#values, this.#index, this.#delta(delta))
  }

  /** Subtracts `delta` (default 1); returns the value before. */
  sub(delta) {
    return atomicOp(Atomics.sub, this.#view, this.#values, this.#index, this.#delta(delta))
  }

  and(value) {
    this.#guard.check('and')
    return atomicOp(Atomics.and, this.#view, this.#values, this.#index, this.#check(value, 'value'))
  }

  or(value) {
    this.#guard.check('or')
    return atomicOp(Atomics.or, this.#view, this.#values, this.#index, this.#check(value, 'value'))
  }

  xor(value) {
    this.#guard.check('xor')
    return atomicOp(Atomics.xor, this.#view, this.#values, this.#index, this.#check(value, 'value'))
  }

  swap(value) {
    this.#guard.check('swap')
    return atomicOp(Atomics.exchange, this.#view, this.#values, this.#index, this.#check(value, 'value'))
  }

  cas(expected, desired) {
    this.#guard.check('cas')
    const e = this.#check(expected, 'expected')
    const d = this.#check(desired, 'desired')
    return atomicOp(Atomics.compareExchange, this.#view, this.#values, this.#index, e, d)
  }

  #delta(delta) {
    return delta === undefined ? this.#one : this.#check(delta, 'delta')
  }

  /** Blocks while the value is `expected`, until notified or `timeout` ms: 'ok' | 'not-equal' | 'timed-out'. */
  wait(expected, timeout) {
    const e = this.#check(expected, 'expected')
    return this.#waits.wait(this.#index, e, timeoutArg(timeout))
  }

  /** As `wait`, as a Promise, without blocking; options `{ timeout, signal, ref }` as AtomicDict#waitAsync. */
  waitAsync(expected, timeout, options) {
    return promised(() => {
      const e = this.#check(expected, 'expected')
      return this.#waits.waitAsync(this.#index, e, asyncOptions(timeout, options))
    })
  }

  /** Wakes up to `count` (default all) waiters on this value, in every process; returns how many. */
  notify(count) {
    return this.#waits.notify(this.#index, countArg(count))
  }

  /** `AtomicValue(key 7 = 5n)`: the key as given to `slot()`, the value now; `AtomicValue(closed)`. */
  [INSPECT](depth, options) {
    return inspected('AtomicValue', depth, options, () =>
      this.#view.closed ? 'closed' : `key ${shown(this.#key, options)} = ${shown(this.load(), options)}`,
    )
  }

  get [Symbol.toStringTag]() {
    return 'AtomicValue'
  }
}

addAliases(AtomicValue.prototype)

module.exports = { AtomicValue, CONSTRUCT }
