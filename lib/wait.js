'use strict'
// Waiting for a value to change, across processes: Linux futexes on the
// value's word of the shared mapping (src/futex.rs). `wait` blocks the
// calling thread in the kernel; `waitAsync` hands the wait to this thread's
// wait pool (src/wait/: io_uring futex waits reaped by one native thread,
// or futex_waitv on older kernels; none of libuv's threads), which reports
// back through a thread-safe function. `notify` wakes waiters of that word
// in every process.
//
// A futex is a 32-bit word. A 32-bit value is its own word. A 64-bit value
// is compared whole when the wait starts, then waited on through both its
// halves: `wait` sleeps on both (and on the process's interrupt word) with
// futex_waitv, or, where the kernel or a seccomp profile refuses that, on
// the low half in short slices, re-reading the high half between them
// (src/futex.rs, wait_words); `notify` wakes the low half. `waitAsync` also
// re-checks the high half whenever its pool re-arms (README, "Waiting").

const binding = require('./binding')
const native = require('./native')
const { typeError, rangeError, closedError } = require('./errors')

const RESULTS = ['ok', 'timed-out']

// When the process exits, threads blocked in wait() must not hold it up:
// process.exit() stops worker threads and joins them, so the main thread
// ends every blocking wait first (src/futex.rs, interrupt_all). A worker
// stopped on its own (worker.terminate()) notices within 250 ms.
const { isMainThread } = require('node:worker_threads')
if (isMainThread) {
  process.on('exit', () => binding.interruptWaits())
}

/** The timeout argument in ms: -1 for none (undefined or Infinity). */
function timeoutArg(timeout) {
  if (timeout === undefined || timeout === Infinity) return -1
  if (typeof timeout !== 'number') throw typeError('timeout', 'a number of milliseconds', timeout)
  if (!(timeout >= 0)) throw rangeError('timeout', 'a number of milliseconds >= 0 (or Infinity)', timeout)
  return timeout
}

/** The moment (performance.now()) a `timeout` argument runs out: Infinity for none. */
function deadlineOf(timeout) {
  const t = timeoutArg(timeout)
  return t < 0 ? Infinity : performance.now() + t
}

/** Checks the table argument of Latch and Semaphore. */
function checkTable(table) {
  if (table === null || typeof table !== 'object' || typeof table.waitAsync !== 'function') {
    throw typeError('table', 'an AtomicDict', table)
  }
}

/** The count argument of notify: how many waiters to wake (default all). */
function countArg(count) {
  if (count === undefined || count === Infinity) return 0xffff_ffff
  if (typeof count !== 'number') throw typeError('count', 'a number', count)
  if (!Number.isInteger(count) || count < 0) throw rangeError('count', 'an integer >= 0 (or Infinity)', count)
  return Math.min(count, 0xffff_ffff)
}

function abortError(signal) {
  const e = new Error('The operation was aborted')
  e.name = 'AbortError'
  e.code = 'ABORT_ERR'
  e.cause = signal.reason
  return e
}

function signalArg(options) {
  if (options === undefined) return undefined
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object', options)
  const { signal } = options
  if (signal === undefined) return undefined
  if (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw typeError('options.signal', 'an AbortSignal', signal)
  }
  return signal
}

// ------------------------------------------------------------ the wait pool

/** This thread's pool, made on first use. */
let pool = null
/** id -> the wait's { settle(code), waits } */
const pending = new Map()
let nextId = 1
/** A referenced timer while waits are pending: they keep the process alive, as a timer does. */
let keepAlive = null

function noop() {}

function track() {
  if (pending.size > 0 && keepAlive === null) keepAlive = setInterval(noop, 0x7fff_ffff)
  else if (pending.size === 0 && keepAlive !== null) {
    clearInterval(keepAlive)
    keepAlive = null
  }
}

function onReports(ids, codes) {
  for (let i = 0; i < ids.length; i++) {
    const w = pending.get(ids[i])
    if (w === undefined) continue // cancelled meanwhile
    pending.delete(ids[i])
    w.settle(codes[i])
  }
  track()
}

function thePool() {
  if (pool === null) pool = native.call(() => new binding.WaitPool(onReports))
  return pool
}

// ------------------------------------------------------------ per table

/**
 * Wait and notify on one table object's values. `view.values` is the typed
 * array the dict uses; an index into it names a value.
 */
class Waits {
  constructor(table, view) {
    this.table = table // the NativeTable
    this.view = view
    this.bits = view.valueBits
    this.signed = view.signed
    /** Ids of this object's pending waitAsync calls. */
    this.ids = new Set()
  }

  /** `expected` (already checked) as the values view reads it. */
  normal(expected) {
    if (this.bits === 64) return this.signed ? BigInt.asIntN(64, expected) : BigInt.asUintN(64, expected)
    return this.signed ? expected | 0 : expected >>> 0
  }

  /** The futex word of the value at `index`, and the expected value's halves. */
  words(index, e) {
    if (this.bits === 64) {
      const u = BigInt.asUintN(64, e)
      const offset = index * 8 // little-endian: the low half comes first
      return { offset, low: Number(u & 0xffff_ffffn), highOffset: offset + 4, high: Number(u >> 32n) }
    }
    return { offset: index * 4, low: e >>> 0, highOffset: -1, high: 0 }
  }

  /** Blocks until notified, or the timeout; see AtomicDict#wait. */
  wait(index, expected, timeout) {
    const e = this.normal(expected)
    if (this.view.closed) throw closedError()
    if (Atomics.load(this.view.values, index) !== e) return 'not-equal'
    const w = this.words(index, e)
    // A worker thread sleeps in slices, to notice terminate(); the main
    // thread in one piece, so no wake can fall between two slices. A change
    // of either half after the comparison above ends the wait ('ok').
    return native.call(() => this.table.wait(w.offset, w.low, w.highOffset, w.high, timeout, !isMainThread))
  }

  /** A Promise of the same results as `wait`; see AtomicDict#waitAsync. */
  waitAsync(index, expected, timeout, signal) {
    const e = this.normal(expected)
    if (this.view.closed) return Promise.reject(closedError())
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal))
    if (Atomics.load(this.view.values, index) !== e) return Promise.resolve('not-equal')
    if (timeout === 0) return Promise.resolve('timed-out')
    const w = this.words(index, e)
    const id = nextId++
    const p = thePool()
    return new Promise((resolve, reject) => {
      const done = () => {
        this.ids.delete(id)
        if (signal !== undefined) signal.removeEventListener('abort', onAbort)
      }
      const onAbort = () => {
        if (p.cancel(id)) {
          pending.delete(id)
          done()
          track()
          reject(abortError(signal))
        }
      }
      pending.set(id, {
        waits: this,
        settle: (code) => {
          done()
          if (code >= 0) resolve(RESULTS[code])
          else {
            const err = new Error(`atomic-dict: waitAsync failed (errno ${-code})`)
            err.code = 'ERR_ATOMIC_DICT_IO'
            reject(err)
          }
        },
        reject: (err) => {
          done()
          reject(err)
        },
      })
      try {
        native.call(() => p.add(this.table, id, w.offset, w.low, w.highOffset, w.high, timeout))
      } catch (err) {
        pending.delete(id)
        throw err
      }
      this.ids.add(id)
      if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true })
      track()
    })
  }

  /** Wakes up to `count` waiters on the value at `index`; see AtomicDict#notify. */
  notify(index, count) {
    if (this.view.closed) throw closedError()
    const offset = this.bits === 64 ? index * 8 : index * 4
    return native.call(() => this.table.notify(offset, count))
  }

  /** The table object is closing: its pending waitAsync calls reject. */
  close() {
    for (const id of [...this.ids]) {
      const w = pending.get(id)
      if (w !== undefined && pool !== null && pool.cancel(id)) {
        pending.delete(id)
        w.reject(closedError())
      }
    }
    track()
  }
}

/** Pending waitAsync calls of this thread and the threads its pool runs (for tests). */
function poolStats() {
  return {
    pending: pending.size,
    native: pool === null ? 0 : pool.pending,
    threads: pool === null ? 0 : pool.threads,
    backend: pool === null ? null : pool.backend,
  }
}

module.exports = { Waits, timeoutArg, deadlineOf, countArg, signalArg, abortError, checkTable, poolStats }
