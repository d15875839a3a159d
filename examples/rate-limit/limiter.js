'use strict'
// A fixed-window rate limiter on a shared AtomicDict: at most `limit`
// requests per client in each window of `windowMs` milliseconds, across every
// process that uses the same table (cluster workers, pm2 instances, threads).
//
// One key per client (its id, as a string key), whose 64-bit value packs
//
//   bits 63..20  the index of the client's current window: floor(now / windowMs)
//   bits 19..0   requests admitted in that window
//
// and is changed only by compare-and-swap, so a decision is a load and, when
// the request is admitted, one successful CAS (a retry per concurrent change
// to the same client). A new window overwrites the old one in place: the
// table grows with the number of distinct clients, never with time.
//
// Windows are aligned on the Unix epoch, so every process agrees on them
// without talking to the others; all processes sharing a table must use the
// same `limit` and `windowMs`.

const COUNT_BITS = 20n
const COUNT_MASK = (1n << COUNT_BITS) - 1n
/** The largest `limit`: the count's 20 bits. */
const MAX_LIMIT = Number(COUNT_MASK)
/** Window indexes have 44 bits: windows of 1 ms last until the year 2527. */
const MAX_WINDOW = (1n << (64n - COUNT_BITS)) - 1n

class FixedWindowLimiter {
  #table
  #limit
  #windowMs
  #now

  /**
   * @param {import('../..').AtomicDict} table a dict with one 64-bit key
   *   part and 64-bit values (the default shape); its capacity is the number
   *   of distinct clients it can ever hold (keys are never removed).
   * @param {{limit: number, windowMs: number, now?: () => number}} options
   *   `now` (default Date.now) is the clock in milliseconds, for tests.
   */
  constructor(table, { limit, windowMs, now = Date.now }) {
    const o = table.options
    if (o.k64 !== 1 || o.k32 !== 0 || o.valueBits !== 64) {
      throw new TypeError('table must be an AtomicDict with one 64-bit key part and 64-bit values')
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_LIMIT}, got ${limit}`)
    }
    if (!Number.isInteger(windowMs) || windowMs < 1) {
      throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`)
    }
    if (typeof now !== 'function') throw new TypeError('now must be a function')
    this.#table = table
    this.#limit = limit
    this.#windowMs = windowMs
    this.#now = now
  }

  get limit() {
    return this.#limit
  }

  get windowMs() {
    return this.#windowMs
  }

  /**
   * Counts one request of `client` (a non-empty string, or a bigint/number
   * key) if its window has room. Returns
   *
   *   { allowed, remaining, resetMs, window }
   *
   * `remaining`: requests still admitted in this window; `resetMs`: time
   * until the window ends; `window`: the window the request was counted in.
   * Throws AtomicDictFullError (code 'ERR_ATOMIC_DICT_FULL') for a client not
   * yet in a full table; clients already in it are not affected.
   */
  take(client) {
    const now = this.#now()
    let window = BigInt(Math.floor(now / this.#windowMs))
    if (window < 0n || window > MAX_WINDOW) throw new RangeError(`the clock is out of range: ${now}`)
    const table = this.#table
    let seen = table.load(client) // 0n for a new client: window 0, no requests
    for (;;) {
      const seenWindow = seen >> COUNT_BITS
      let count = 0
      if (seenWindow >= window) {
        // The same window, or a later one: another process read the clock
        // after this one and already started the next window. Counting this
        // request there (rather than going back to the old window) keeps
        // each window's count exact.
        window = seenWindow
        count = Number(seen & COUNT_MASK)
      }
      const resetMs = Number(window + 1n) * this.#windowMs - now
      if (count >= this.#limit) return { allowed: false, remaining: 0, resetMs, window: Number(window) }
      const next = (window << COUNT_BITS) | BigInt(count + 1)
      const before = table.cas(client, seen, next) // inserts a new client
      if (before === seen) return { allowed: true, remaining: this.#limit - count - 1, resetMs, window: Number(window) }
      seen = before // another process changed it first: decide again
    }
  }

  /** The requests of `client` admitted in its latest window, and that window (without counting a request). */
  peek(client) {
    const seen = this.#table.load(client)
    return { window: Number(seen >> COUNT_BITS), count: Number(seen & COUNT_MASK) }
  }
}

module.exports = { FixedWindowLimiter, MAX_LIMIT }
