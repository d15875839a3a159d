'use strict'
// Semaphore: at most `permits` holders at once across every process that
// shares the table. Its state is one value of a shared dict: the number of
// permits held, so every process makes its own Semaphore over the same key
// without setting it up (the value starts at 0). `acquire()` takes a permit
// with a compare-and-swap, or waits (waitAsync) for the value to change.
//
// Each process also counts the permits it holds, under the string key
// `${name}/held-by/${pid}`: when a process dies holding permits, the value
// stays too high (its permits are never released by it), and any process
// that knows it is dead can give them back with `releaseHeldBy(pid)` (a
// cluster primary on 'exit'; docs/WAITING.md). The count is changed
// after taking a permit and before giving one back, so a crash in between
// can leave a permit unreleasable (one permit fewer), never two holders
// too many.

const { typeError, rangeError, codedError } = require('./errors')
const { DISPOSE, INSPECT, inspected, shown, refuseCloning } = require('./node-conventions')
const { asyncOptions, promised, deadlineOf, abortError, checkTable } = require('./wait')

const now = () => performance.now()

class Semaphore {
  #table
  #name
  #permits
  #mine
  #one

  /**
   * @param {import('./atomic-dict').AtomicDict} table a dict with one 64-bit key part, shared by every user
   * @param {string} name the semaphore's key (a string key)
   * @param {number} permits holders allowed at once
   */
  constructor(table, name, permits) {
    checkTable(table)
    refuseCloning(this)
    const o = table.options
    if (o.k64 !== 1 || o.k32 !== 0) throw typeError('table', 'an AtomicDict whose keys are one 64-bit part', table)
    if (typeof name !== 'string') throw typeError('name', 'a string', name)
    if (typeof permits !== 'number') throw typeError('permits', 'a number', permits)
    if (!Number.isInteger(permits) || permits < 1 || permits > 0x7fff_ffff) {
      throw rangeError('permits', 'an integer from 1 to 2^31 - 1', permits)
    }
    table.get(name) // checks the name as a key (never inserts)
    this.#table = table
    this.#name = name
    this.#permits = permits
    this.#mine = Semaphore.holderKey(name, process.pid)
    this.#one = o.valueBits === 64 ? 1n : 1
  }

  /** The key under which process `pid` counts the permits of semaphore `name` it holds. */
  static holderKey(name, pid) {
    return `${name}/held-by/${pid}`
  }

  /** Permits held now, by every process. */
  get held() {
    return Number(this.#table.load(this.#name))
  }

  /** Permits this process holds. */
  get heldHere() {
    return Number(this.#table.load(this.#mine))
  }

  /**
   * Makes sure this process's holder count exists before a permit is taken,
   * so that a full table throws here, holding nothing.
   */
  #ready() {
    if (!this.#table.has(this.#mine)) this.#table.add(this.#mine, this.#one - this.#one)
  }

  /** Takes a permit if one is free now; true when taken. Never waits. */
  tryAcquire() {
    this.#ready()
    const t = this.#table
    for (;;) {
      const v = t.load(this.#name)
      if (Number(v) >= this.#permits) return false
      if (t.cas(this.#name, v, v + this.#one) === v) {
        t.add(this.#mine, this.#one)
        return true
      }
    }
  }

  /**
   * A Promise of a Permit, once this caller holds a permit. It waits
   * without blocking the thread. Options `{ timeout, signal, ref }`: `timeout` (ms) rejects it with
   * ERR_ATOMIC_DICT_TIMEOUT, `signal` (an AbortSignal) with an AbortError
   * (ABORT_ERR), both holding nothing; `ref: false` lets the process exit
   * while it waits. Bad arguments reject.
   */
  acquire(options) {
    return promised(() => this.#acquire(acquireOptions(options)))
  }

  /**
   * Acquires a permit (`options` as `acquire`), runs `fn()` (sync or async)
   * and releases the permit when it returns, throws or settles; a Promise
   * of what `fn` returns, or rejected with what it throws.
   */
  run(fn, options) {
    return promised(() => {
      if (typeof fn !== 'function') throw typeError('fn', 'a function', fn)
      return this.#run(fn, acquireOptions(options))
    })
  }

  async #run(fn, opts) {
    const permit = await this.#acquire(opts)
    try {
      return await fn()
    } finally {
      permit.release()
    }
  }

  async #acquire({ timeout, signal, ref }) {
    this.#ready()
    const t = this.#table
    const deadline = timeout < 0 ? Infinity : now() + timeout
    for (let woken = false; ; ) {
      if (signal !== undefined && signal.aborted) {
        // A release may have woken this caller (notify 1) just as it gave
        // up: pass the wakeup on, or the permit could wait with nobody told.
        if (woken) t.notify(this.#name, 1)
        throw abortError(signal)
      }
      const v = t.load(this.#name)
      if (Number(v) < this.#permits) {
        if (t.cas(this.#name, v, v + this.#one) === v) {
          t.add(this.#mine, this.#one)
          return new Permit(PERMIT, this)
        }
        continue
      }
      const left = deadline - now()
      if (left <= 0) {
        if (woken) t.notify(this.#name, 1) // as above
        throw timeoutError(this.#name, timeout)
      }
      // Full: sleep until a release changes the value (or it changed
      // already), or the time is up.
      let r
      try {
        r = await t.waitAsync(this.#name, v, { timeout: left === Infinity ? undefined : left, signal, ref })
      } catch (err) {
        if (err.name === 'AbortError') t.notify(this.#name, 1) // as above
        throw err
      }
      woken = r === 'ok'
    }
  }

  /** Blocks the thread until it holds a permit, or `timeout` ms; true when it holds one. */
  acquireSync(timeout) {
    const deadline = deadlineOf(timeout)
    this.#ready()
    const t = this.#table
    for (let woken = false; ; ) {
      if (this.tryAcquire()) return true
      const v = t.load(this.#name)
      if (Number(v) < this.#permits) continue
      const left = deadline - now()
      if (left <= 0) {
        if (woken) t.notify(this.#name, 1) // pass on a wakeup it will not use
        return false
      }
      woken = t.wait(this.#name, v, left) === 'ok'
    }
  }

  /** Gives back a permit this process holds and wakes one waiter. */
  release() {
    const t = this.#table
    if (Number(t.sub(this.#mine, this.#one)) <= 0) {
      t.add(this.#mine, this.#one)
      throw codedError('ERR_INVALID_STATE', 'atomic-dict: Semaphore#release(): this process holds no permit of ' + JSON.stringify(this.#name))
    }
    t.sub(this.#name, this.#one)
    t.notify(this.#name, 1)
  }

  /**
   * Gives back every permit that process `pid` held, for a process known
   * to be dead (a killed worker); returns how many. Calling it for a live
   * process lets more than `permits` hold at once.
   */
  releaseHeldBy(pid) {
    if (typeof pid !== 'number') throw typeError('pid', 'a process id (a number)', pid)
    if (!Number.isInteger(pid) || pid < 1) throw rangeError('pid', 'a process id', pid)
    const t = this.#table
    const key = Semaphore.holderKey(this.#name, pid)
    if (!t.has(key)) return 0
    const n = t.swap(key, this.#one - this.#one)
    if (Number(n) > 0) {
      t.sub(this.#name, n)
      t.notify(this.#name, Number(n))
    }
    return Number(n)
  }

  /** `Semaphore('jobs', held 1 / permits 3)`: held in every process. */
  [INSPECT](depth, options) {
    return inspected('Semaphore', depth, options, () => {
      const held = this.#table.closed ? 'table closed' : `held ${this.held} / permits ${this.#permits}`
      return `${shown(this.#name, options)}, ${held}`
    })
  }

  get [Symbol.toStringTag]() {
    return 'Semaphore'
  }
}

const PERMIT = Symbol('Permit')

/**
 * One permit `acquire()` took: `release()` gives it back once (later calls
 * do nothing and return false), and so does leaving the scope of
 * `using permit = await semaphore.acquire()`.
 */
class Permit {
  #semaphore
  #released = false

  /** @private made by Semaphore#acquire */
  constructor(token, semaphore) {
    if (token !== PERMIT) throw codedError('ERR_ILLEGAL_CONSTRUCTOR', 'a Permit is made by Semaphore#acquire()', TypeError)
    this.#semaphore = semaphore
  }

  /** Whether the permit has been given back. */
  get released() {
    return this.#released
  }

  /** Gives the permit back (Semaphore#release); true the first time, false (doing nothing) after. */
  release() {
    if (this.#released) return false
    this.#semaphore.release()
    this.#released = true
    return true
  }

  [DISPOSE]() {
    this.release()
  }

  /** `Permit(held)` or `Permit(released)`. */
  [INSPECT](depth, options) {
    return inspected('Permit', depth, options, () => (this.#released ? 'released' : 'held'))
  }

  get [Symbol.toStringTag]() {
    return 'Permit'
  }
}

/** The options of acquire() and run(): an object (a bare number is not taken as a timeout). */
function acquireOptions(options) {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw typeError('options', 'an object', options)
  return asyncOptions(options)
}

/** The error of an acquire whose `timeout` ran out. */
function timeoutError(name, timeout) {
  return codedError('ERR_ATOMIC_DICT_TIMEOUT', `atomic-dict: Semaphore ${JSON.stringify(name)}: no permit within ${timeout} ms`)
}

module.exports = { Semaphore, Permit }
