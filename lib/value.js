'use strict'
// AtomicValue: a handle bound to one key's value (`dict.slot(key)`). Its
// operations go straight to Atomics on the row.

const CONSTRUCT = Symbol('AtomicValue')

class AtomicValue {
  #values
  #index
  #check

  /** @private made by AtomicDict#slot */
  constructor(token, values, index, check) {
    if (token !== CONSTRUCT) throw new TypeError('AtomicValue is made by dict.slot(key)')
    this.#values = values
    this.#index = index
    this.#check = check
  }

  load() {
    return Atomics.load(this.#values, this.#index)
  }

  store(value) {
    Atomics.store(this.#values, this.#index, this.#check(value, 'value'))
  }

  add(delta) {
    return Atomics.add(this.#values, this.#index, this.#check(delta, 'delta'))
  }

  sub(delta) {
    return Atomics.sub(this.#values, this.#index, this.#check(delta, 'delta'))
  }

  and(value) {
    return Atomics.and(this.#values, this.#index, this.#check(value, 'value'))
  }

  or(value) {
    return Atomics.or(this.#values, this.#index, this.#check(value, 'value'))
  }

  xor(value) {
    return Atomics.xor(this.#values, this.#index, this.#check(value, 'value'))
  }

  swap(value) {
    return Atomics.exchange(this.#values, this.#index, this.#check(value, 'value'))
  }

  cas(expected, desired) {
    const e = this.#check(expected, 'expected')
    const d = this.#check(desired, 'desired')
    return Atomics.compareExchange(this.#values, this.#index, e, d)
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
