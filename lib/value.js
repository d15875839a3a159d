'use strict'
// AtomicValue: a handle bound to one key's value (`dict.slot(key)`). Its
// operations go straight to Atomics on the row.

const { closedError, codedError } = require('./errors')
const { timeoutArg, countArg, asyncOptions, promised } = require('./wait')

const CONSTRUCT = Symbol('AtomicValue')

class AtomicValue {
  #view
  #values
  #index
  #check
  #waits

  /** @private made by AtomicDict#slot */
  constructor(token, view, index, check, waits) {
    if (token !== CONSTRUCT) throw codedError('ERR_ILLEGAL_CONSTRUCTOR', 'AtomicValue is made by dict.slot(key)', TypeError)
    this.#view = view
    this.#values = view.values
    this.#index = index
    this.#check = check
    this.#waits = waits
  }

  // Once the table is closed its buffer is detached: Atomics on the empty
  // view throws (never touches memory); say why. try/catch costs nothing
  // while nothing throws.
  #explain(err) {
    return this.#view.closed ? closedError() : err
  }

  load() {
    try {
      return Atomics.load(this.#values, this.#index)
    } catch (err) {
      throw this.#explain(err)
    }
  }

  store(value) {
    try {
      Atomics.store(this.#values, this.#index, this.#check(value, 'value'))
    } catch (err) {
      throw this.#explain(err)
    }
  }

  add(delta) {
    try {
      return Atomics.add(this.#values, this.#index, this.#check(delta, 'delta'))
    } catch (err) {
      throw this.#explain(err)
    }
  }

  sub(delta) {
    try {
      return Atomics.sub(this.#values, this.#index, this.#check(delta, 'delta'))
    } catch (err) {
      throw this.#explain(err)
    }
  }

  and(value) {
    try {
      return Atomics.and(this.#values, this.#index, this.#check(value, 'value'))
    } catch (err) {
      throw this.#explain(err)
    }
  }

  or(value) {
    try {
      return Atomics.or(this.#values, this.#index, this.#check(value, 'value'))
    } catch (err) {
      throw this.#explain(err)
    }
  }

  xor(value) {
    try {
      return Atomics.xor(this.#values, this.#index, this.#check(value, 'value'))
    } catch (err) {
      throw this.#explain(err)
    }
  }

  swap(value) {
    try {
      return Atomics.exchange(this.#values, this.#index, this.#check(value, 'value'))
    } catch (err) {
      throw this.#explain(err)
    }
  }

  cas(expected, desired) {
    const e = this.#check(expected, 'expected')
    const d = this.#check(desired, 'desired')
    try {
      return Atomics.compareExchange(this.#values, this.#index, e, d)
    } catch (err) {
      throw this.#explain(err)
    }
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

  get [Symbol.toStringTag]() {
    return 'AtomicValue'
  }
}

const p = AtomicValue.prototype
p.band = p.and
p.bor = p.or
p.bxor = p.xor
p.exchange = p.swap
p.compareExchange = p.cas

module.exports = { AtomicValue, CONSTRUCT }
