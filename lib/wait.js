'use strict'
// Waiting for a value to change, across processes: Linux futexes on the
// value's word of the shared mapping (src/futex.rs). `wait` blocks the
// calling thread in the kernel; `waitAsync` hands the wait to this thread's
// wait pool (src/wait/: io_uring futex waits that this thread submits and
// its own event loop reaps, or a thread per distinct word on kernels and
// sandboxes without them; none of libuv's threads). `notify` wakes waiters
// of that word in every process.
//
// A futex is a 32-bit word. A 32-bit value is its own word. A 64-bit value
// is compared whole when the wait starts, then sleeps on both halves:
// `wait` on both (and on the process's interrupt word) with futex_waitv,
// or, where the kernel or a seccomp profile refuses that, on the low half
// in short slices, re-reading the high half between them (src/futex.rs,
// wait_words); `waitAsync` on both, in its pool. `notify` wakes the low
// half (docs/WAITING.md).

const binding = require('./binding')
const native = require('./native')
const { typeError, rangeError, closedError, codedError, systemError } = require('./errors')
const { checkOptions } = require('./options')

const RESULTS = ['ok', 'timed-out']

// When the process exits, threads blocked in wait() must not hold it up:
// process.exit() stops worker threads and joins them, so the main thread
// ends every blocking wait first (src/futex.rs, interrupt_all). Loading the
// module adds no listener: the main thread adds it when it first makes,
// opens or attaches a table (lib/table-memory.js). A worker stopped
// otherwise (worker.terminate(), or an exit of a main thread that never had
// a table) notices within 250 ms, between two slices of its wait.
const { isMainThread } = require('node:worker_threads')
let exitListener = false

/** Adds the 'exit' listener that interrupts blocking waits, once, in the main thread. */
function interruptWaitsAtExit() {
  if (exitListener || !isMainThread) return
  exitListener = true
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
  const e = codedError('ABORT_ERR', 'The operation was aborted')
  e.name = 'AbortError'
  e.cause = signal.reason
  return e
}

function checkSignal(signal, name) {
  if (signal === undefined) return undefined
  if (
    signal === null ||
    typeof signal !== 'object' ||
    typeof signal.aborted !== 'boolean' ||
    typeof signal.addEventListener !== 'function' ||
    typeof signal.removeEventListener !== 'function'
  ) {
    throw typeError(name, 'an AbortSignal', signal)
  }
  return signal
}

/**
 * signal -> { waits: Set<PendingWait>, listener }: one 'abort' listener per
 * signal however many waits share it (no MaxListenersExceededWarning).
 */
const bySignal = new WeakMap()

function listen(w) {
  let entry = bySignal.get(w.signal)
  if (entry === undefined) {
    const { signal } = w // not `w`: the listener must not keep this wait alive
    const waits = new Set()
    const listener = () => {
      bySignal.delete(signal)
      for (const x of [...waits]) x.abort()
    }
    entry = { waits, listener }
    bySignal.set(signal, entry)
    signal.addEventListener('abort', listener, { once: true })
  }
  entry.waits.add(w)
}

function unlisten(w) {
  const entry = bySignal.get(w.signal)
  if (entry === undefined) return
  entry.waits.delete(w)
  if (entry.waits.size === 0) {
    bySignal.delete(w.signal)
    w.signal.removeEventListener('abort', entry.listener)
  }
}

const WAIT_OPTIONS = ['timeout', 'signal', 'ref']

/**
 * The options of a Promise-returning wait, `{ timeout, signal, ref }`,
 * given as `(options)`, `(timeout)` or `(timeout, options)`. `allowed`
 * narrows the option names; without 'timeout' only `(options)` is
 * taken. Returns `{ timeout (ms, -1 for none), signal, ref }`.
 */
function asyncOptions(first, second, allowed = WAIT_OPTIONS) {
  let timeout
  let options = second
  if (!allowed.includes('timeout')) options = first // checked as an object below
  else if (first !== null && typeof first === 'object') {
    if (second !== undefined) throw typeError('options', 'left out when the options come first', second)
    options = first
  } else timeout = first
  if (options === undefined) return { timeout: timeoutArg(timeout), signal: undefined, ref: true }
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object', options)
  // A signal where the options go would otherwise pass as options with no
  // keys, and never abort anything.
  if (typeof options.addEventListener === 'function') throw typeError('options', 'an object such as { signal }, not the signal itself', options)
  checkOptions(options, allowed, 'this wait')
  if (options.timeout !== undefined) {
    if (timeout !== undefined) throw typeError('options.timeout', 'left out when a timeout argument is given', options.timeout)
    timeout = options.timeout
  }
  const ref = options.ref === undefined ? true : options.ref
  if (typeof ref !== 'boolean') throw typeError('options.ref', 'a boolean', ref)
  return { timeout: timeoutArg(timeout), signal: checkSignal(options.signal, 'options.signal'), ref }
}

/** Runs `fn`, turning a synchronous throw into a rejected Promise. */
function promised(fn) {
  try {
    return fn()
  } catch (err) {
    return Promise.reject(err)
  }
}

// ------------------------------------------------------------ the wait pool

/** This thread's pool, made on first use. */
let pool = null
/** id -> its PendingWait */
const pending = new Map()
let nextId = 1
/** Pending waits made with `ref: true` (the default). */
let referenced = 0
/** An interval, referenced while such waits are pending: they keep the process alive, as a timer does. */
let keepAlive = null

function noop() {}

function track() {
  // One interval for the thread's life, referenced only while referenced
  // waits are pending (ref/unref is cheaper than a new timer each time).
  if (referenced > 0) {
    if (keepAlive === null) keepAlive = setInterval(noop, 0x7fff_ffff)
    else if (!keepAlive.hasRef()) keepAlive.ref()
  } else if (keepAlive !== null && keepAlive.hasRef()) keepAlive.unref()
}

/** Forgets a pending wait (settled, cancelled or failed to start). */
function forget(id) {
  const w = pending.get(id)
  if (w === undefined) return undefined
  pending.delete(id)
  if (w.ref) referenced--
  return w
}

function onReports(ids, codes) {
  // Every report is settled even if settling one throws (the first error
  // is rethrown afterwards, as an uncaught exception of this callback).
  let failed = false
  let error
  for (let i = 0; i < ids.length; i++) {
    const w = forget(ids[i])
    if (w === undefined) continue
    try {
      w.settle(codes[i])
    } catch (err) {
      if (!failed) error = err
      failed = true
    }
  }
  track()
  if (failed) throw error
}

function thePool() {
  if (pool === null) pool = native.call(() => new binding.WaitPool(onReports))
  return pool
}

/** One pending waitAsync call. */
class PendingWait {
  constructor(waits, id, signal, ref) {
    this.waits = waits
    this.id = id
    this.signal = signal
    this.ref = ref
    this.resolve = null
    this.reject = null
  }

  #done() {
    this.waits.ids.delete(this.id)
    if (this.signal !== undefined) unlisten(this)
  }

  /** The pool reported it: 0 woken, 1 timed out, -errno failed. */
  settle(code) {
    this.#done()
    if (code >= 0) this.resolve(RESULTS[code])
    else {
      this.reject(systemError(-code, 'futex', 'waitAsync failed'))
    }
  }

  /** Ended here (the table closed): rejects with `err`. */
  fail(err) {
    this.#done()
    this.reject(err)
  }

  abort() {
    if (pool.cancel(this.id)) {
      forget(this.id)
      track()
      this.fail(abortError(this.signal))
    }
  }
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
    // thread in one piece, so no wake can fall between two slices (except
    // for a 64-bit value where futex_waitv is missing: see wait_words'
    // slices, docs/WAITING.md). A change of either half after the
    // comparison above ends the wait ('ok').
    return native.call(() => this.table.wait(w.offset, w.low, w.highOffset, w.high, timeout, !isMainThread))
  }

  /**
   * A Promise of the same results as `wait`; see AtomicDict#waitAsync.
   * `opts` is what asyncOptions returned.
   */
  waitAsync(index, expected, opts) {
    const { timeout, signal, ref } = opts
    const e = this.normal(expected)
    if (this.view.closed) return Promise.reject(closedError())
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal))
    if (Atomics.load(this.view.values, index) !== e) return Promise.resolve('not-equal')
    if (timeout === 0) return Promise.resolve('timed-out')
    const p = thePool()
    const w = new PendingWait(this, nextId++, signal, ref)
    const promise = new Promise((resolve, reject) => {
      w.resolve = resolve
      w.reject = reject
    })
    pending.set(w.id, w)
    if (ref) referenced++
    const words = this.words(index, e)
    try {
      p.add(this.table, w.id, words.offset, words.low, words.highOffset, words.high, timeout)
    } catch (err) {
      forget(w.id)
      return Promise.reject(native.convert(err))
    }
    this.ids.add(w.id)
    if (signal !== undefined) listen(w)
    if (ref) track()
    return promise
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
      if (pool !== null && pool.cancel(id)) {
        const w = forget(id)
        if (w !== undefined) w.fail(closedError())
      }
    }
    track()
  }
}

/** Pending waitAsync calls of this thread, and its pool's backend and threads (for tests and diagnostics). */
function poolStats() {
  return {
    pending: pending.size,
    native: pool === null ? 0 : pool.pending,
    threads: pool === null ? 0 : pool.threads,
    backend: pool === null ? null : pool.backend,
    fallbackReason: pool === null ? null : pool.fallbackReason,
  }
}

module.exports = { interruptWaitsAtExit, Waits, timeoutArg, deadlineOf, countArg, asyncOptions, promised, abortError, checkTable, poolStats }
