'use strict'
// Latch: a one-shot barrier across processes. `parties` arrivals open it;
// waiters (blocking or async) are released when it opens. Its state is one
// value of a shared dict: the number of arrivals so far, so every process
// can make its own Latch object over the same key without setting it up
// first (the value starts at 0).

const { typeError, rangeError } = require('./errors')
const { INSPECT, inspected, shown, refuseCloning } = require('./node-conventions')
const { asyncOptions, promised, timeoutArg, deadlineOf, checkTable } = require('./wait')

const now = () => performance.now()

class Latch {
  #table
  #key
  #parties
  #one

  /**
   * @param {import('./atomic-dict').AtomicDict} table a dict every party shares
   * @param {*} key the key whose value counts arrivals (any key of `table`)
   * @param {number} parties arrivals that open the latch
   */
  constructor(table, key, parties) {
    checkTable(table)
    refuseCloning(this)
    if (typeof parties !== 'number') throw typeError('parties', 'a number', parties)
    if (!Number.isInteger(parties) || parties < 1 || parties > 0xffff_ffff) {
      throw rangeError('parties', 'an integer from 1 to 2^32 - 1', parties)
    }
    table.get(key) // checks the key (never inserts)
    this.#table = table
    this.#key = key
    this.#parties = parties
    this.#one = table.options.valueBits === 64 ? 1n : 1
  }

  /** Arrivals so far (in every process). */
  get arrived() {
    return Number(this.#table.load(this.#key))
  }

  /** Arrivals still needed to open the latch (0 once open). */
  get remaining() {
    return Math.max(0, this.#parties - this.arrived)
  }

  /** Whether `parties` have arrived. */
  get isOpen() {
    return this.arrived >= this.#parties
  }

  /** Counts this party's arrival; the last one wakes every waiter. Returns the arrivals still needed. */
  arrive() {
    const before = Number(this.#table.add(this.#key, this.#one))
    // The value changes before the notify, so a waiter that read the old
    // value and has not slept yet sees 'not-equal' instead of sleeping.
    if (before + 1 === this.#parties) this.#table.notify(this.#key)
    return Math.max(0, this.#parties - before - 1)
  }

  /** Blocks until the latch is open or `timeout` ms pass; true when open. */
  wait(timeout) {
    const deadline = deadlineOf(timeout)
    for (;;) {
      const v = this.#table.load(this.#key)
      if (Number(v) >= this.#parties) return true
      const left = deadline - now()
      if (left <= 0) return false
      this.#table.wait(this.#key, v, left)
    }
  }

  /**
   * As `wait`, without blocking: a Promise of true (open) or false (timed
   * out). Takes `(timeout?, options?)` or `(options)`, options
   * `{ timeout, signal, ref }` as AtomicDict#waitAsync; bad arguments reject.
   */
  waitAsync(timeout, options) {
    return promised(() => this.#waitUntil(asyncOptions(timeout, options)))
  }

  async #waitUntil({ timeout, signal, ref }) {
    const deadline = timeout < 0 ? Infinity : now() + timeout
    for (;;) {
      const v = this.#table.load(this.#key)
      if (Number(v) >= this.#parties) return true
      const left = deadline - now()
      if (left <= 0) return false
      await this.#table.waitAsync(this.#key, v, { timeout: left, signal, ref })
    }
  }

  /** `arrive()`, then `wait(timeout)`. */
  arriveAndWait(timeout) {
    timeoutArg(timeout)
    this.arrive()
    return this.wait(timeout)
  }

  /** `arrive()`, then `waitAsync(timeout, options)`. */
  arriveAndWaitAsync(timeout, options) {
    return promised(() => {
      const opts = asyncOptions(timeout, options)
      this.arrive()
      return this.#waitUntil(opts)
    })
  }

  /** `Latch(key 'start', arrived 2 / parties 4)`: arrivals in every process. */
  [INSPECT](depth, options) {
    return inspected('Latch', depth, options, () => {
      const arrived = this.#table.closed ? 'table closed' : `arrived ${this.arrived} / parties ${this.#parties}`
      return `key ${shown(this.#key, options)}, ${arrived}`
    })
  }

  get [Symbol.toStringTag]() {
    return 'Latch'
  }
}

module.exports = { Latch }
