'use strict'
// waitAsync and notify across hosts, over Redis pub/sub (docs/REDIS.md).
//
// A table has one channel, "{name}:n" (its hash tag: on a Cluster it lives
// on the table's shard). notify(key) publishes the key's field there
// ("<field>", or "<field> <count>"); each process's subscriber wakes its
// waiters on that field.
//
// No lost wakeup: a wait subscribes first, and reads the value only once
// the subscription is confirmed. A change made before the read is seen by
// the read ('not-equal'); a notify sent after it reaches the subscription
// ('ok'). A subscriber connection that drops misses what was published
// meanwhile, so once it is back (resubscribed, confirmed) every pending
// wait reads its value again and ends with 'ok' when it is no longer
// `expected`.
//
// A safety net under both: while waits are pending, every RECHECK_MS each
// (table, key) waited on is read once more, and its waits end with 'ok'
// when it is no longer `expected`. So a notify missed for any reason (a
// subscriber its client did not report lost or did not bring back, as
// ioredis' Cluster sharded subscribers sometimes do) delays a wake-up by at
// most about RECHECK_MS instead of losing it, as long as the value changed
// (change, then notify), as locally where a wait re-checks in slices.
//
// One subscriber connection per client (the ioredis Redis or Cluster
// object, the node-redis client or cluster) per process, a duplicate of it,
// shared by every table and wait: a channel is unsubscribed when its last
// wait ends, and the connection closed when no wait is left, so it never
// keeps a process alive by itself. Its socket is referenced only while a
// wait made with `ref: true` (the default) is pending.
//
// The connection itself is the client adapter's `subscriber(sink)`
// (lib/redis/client.js): ioredis or node-redis, standalone (SUBSCRIBE /
// PUBLISH) or Cluster (sharded pub/sub, SSUBSCRIBE / SPUBLISH, Redis 7.0+,
// so a notify goes to the table's shard only instead of every node); this
// module knows no client library.
//
// What a table gives this module (RedisDict builds it):
//   client   its client adapter (lib/redis/client.js)
//   channel  "{name}:n"
//   read(field)  a Promise of the value stored under `field`, as a string
//                that equals `expected` when the value does (absent: zeros)
//   before() a Promise settled once the table's operations issued before
//            now have settled (a notify goes after them: change, then notify)

const { abortError } = require('../wait')
const { commandError } = require('./redis-table')

/**
 * A test seam: `afterSubscribe(channel, field)`, when set, runs (and is
 * awaited) between a wait's confirmed subscription and its read of the
 * value.
 */
const hooks = { afterSubscribe: null }

/** How often pending waits re-read their values, whatever the subscriber says. */
const RECHECK_MS = 1000

/** The subscriber of each client object (ioredis or node-redis) of this process. */
const subscribers = new WeakMap()

function subscriberOf(adapter) {
  const raw = adapter.client
  let s = subscribers.get(raw)
  if (s === undefined) {
    s = new Subscriber(adapter)
    subscribers.set(raw, s)
  }
  return s
}

/** One pending waitAsync. */
class Waiter {
  constructor(target, field, expected, ref, signal) {
    this.target = target
    this.field = field
    this.expected = expected
    this.ref = ref
    this.signal = signal
    /** Its subscription is confirmed: a message on its channel now wakes it. */
    this.armed = false
    this.done = false
    this.timer = null
    this.onAbort = null
    this.resolve = null
    this.reject = null
    this.channel = null
  }
}

/** A channel subscribed for some waits: `waiters` in arrival order, `confirmed` a Promise. */
class Channel {
  constructor(name) {
    this.name = name
    this.waiters = new Set()
    this.confirmed = null
    this.isConfirmed = false
  }
}

class Subscriber {
  #adapter
  #conn = null
  /** channel name -> Channel */
  #channels = new Map()
  #waiters = 0
  #referenced = 0
  /** The periodic re-read (an unreferenced interval) while waits are pending. */
  #poll = null

  constructor(adapter) {
    this.#adapter = adapter
  }

  stats() {
    return { waiters: this.#waiters, channels: this.#channels.size, connected: this.#conn !== null }
  }

  /** Adds `w` to its channel, subscribing when it is the channel's first; resolves once the subscription is confirmed. */
  join(w) {
    // The connection first: when it cannot be made, nothing is counted.
    const conn = this.#connection()
    this.#waiters++
    if (this.#poll === null) {
      this.#poll = setInterval(() => this.#recheckAll(), RECHECK_MS)
      this.#poll.unref()
    }
    if (w.ref) this.#referenced++
    let ch = this.#channels.get(w.target.channel)
    if (ch === undefined) {
      ch = new Channel(w.target.channel)
      this.#channels.set(ch.name, ch)
      const confirmed = conn.subscribe(ch.name).then(() => {
        ch.isConfirmed = true
        for (const x of ch.waiters) x.armed = true
      })
      ch.confirmed = confirmed
      confirmed.catch(() => {
        if (this.#channels.get(ch.name) === ch) this.#channels.delete(ch.name)
      })
    }
    ch.waiters.add(w)
    w.channel = ch
    if (ch.isConfirmed) w.armed = true
    this.#reference()
    return ch.confirmed
  }

  /** `w` ended: unsubscribes its channel when it was the last there, closes the connection when no wait is left. */
  leave(w) {
    const ch = w.channel
    if (ch === null) return
    w.channel = null
    this.#waiters--
    if (w.ref) this.#referenced--
    ch.waiters.delete(w)
    const conn = this.#conn
    if (ch.waiters.size === 0 && this.#channels.get(ch.name) === ch) {
      this.#channels.delete(ch.name)
      if (conn !== null && this.#waiters > 0) conn.unsubscribe(ch.name).catch(nothing)
    }
    if (this.#waiters === 0 && this.#poll !== null) {
      clearInterval(this.#poll)
      this.#poll = null
    }
    if (this.#waiters === 0 && conn !== null) {
      this.#conn = null
      this.#channels.clear()
      conn.close()
    } else this.#reference()
  }

  /** The subscriber connection (the client adapter's, lib/redis/client.js), made on first use. */
  #connection() {
    if (this.#conn !== null) return this.#conn
    let conn = null
    const current = () => conn !== null && this.#conn === conn
    conn = this.#adapter.subscriber({
      message: (channel, message) => {
        if (current()) this.#message(channel, message)
      },
      // Back, its channels confirmed again: a notify sent while it was away was missed.
      reconnected: () => {
        if (!current()) return
        this.#reference()
        for (const ch of this.#channels.values()) for (const w of ch.waiters) if (w.armed) recheck(w)
      },
      ended: (cause) => {
        if (!current()) return
        // No more reconnection: every pending wait fails.
        this.#conn = null
        const err = commandError(cause instanceof Error ? cause : new Error('the subscriber connection was closed'), 'waitAsync', 'once')
        const all = []
        for (const ch of this.#channels.values()) all.push(...ch.waiters)
        this.#channels.clear()
        for (const w of all) fail(w, err)
      },
    })
    this.#conn = conn
    return conn
  }

  /** Every armed wait reads its value again, one read per (table, key). */
  #recheckAll() {
    const reads = new Map()
    for (const ch of this.#channels.values()) {
      for (const w of ch.waiters) {
        if (!w.armed || w.done) continue
        const id = `${ch.name} ${w.field}`
        let read = reads.get(id)
        if (read === undefined) {
          read = w.target.read(w.field)
          read.catch(nothing)
          reads.set(id, read)
        }
        read.then((v) => {
          if (!w.done && v !== w.expected) finish(w, 'ok')
        }, nothing)
      }
    }
  }

  #message(channel, message) {
    const ch = this.#channels.get(channel)
    if (ch === undefined) return
    const space = message.indexOf(' ')
    const field = space < 0 ? message : message.slice(0, space)
    let count = space < 0 ? Infinity : Number(message.slice(space + 1))
    if (!(count >= 0)) count = Infinity
    for (const w of [...ch.waiters]) {
      if (count <= 0) break
      if (w.field !== field || !w.armed || w.done) continue
      count--
      finish(w, 'ok')
    }
  }

  /** References the socket while a `ref: true` wait is pending, else lets the process exit. */
  #reference() {
    const conn = this.#conn
    if (conn === null) return
    if (this.#referenced > 0) conn.ref()
    else conn.unref()
  }
}

/** A pending wait's value is read again (its subscriber reconnected): 'ok' when it is no longer `expected`. */
function recheck(w) {
  w.target.read(w.field).then(
    (v) => {
      if (!w.done && v !== w.expected) finish(w, 'ok')
    },
    nothing, // the wait goes on; its timeout or a later recheck ends it
  )
}

function finish(w, result) {
  if (w.done) return
  end(w)
  w.resolve(result)
}

function fail(w, err) {
  if (w.done) return
  end(w)
  w.reject(err)
}

function end(w) {
  w.done = true
  if (w.timer !== null) clearTimeout(w.timer)
  if (w.onAbort !== null) w.signal.removeEventListener('abort', w.onAbort)
  if (w.channel !== null) subscriberOf(w.target.client).leave(w)
}

/**
 * Waits while the value under `field` reads `expected`: resolves 'ok' (a
 * notify woke it, or the value changed while its subscriber was
 * reconnecting), 'not-equal' (the value was not `expected` when first
 * read, after subscribing) or 'timed-out'; rejects with an AbortError when
 * `signal` aborts, a coded error when Redis fails. `opts` is what
 * lib/wait.js asyncOptions returned: { timeout (-1: none), signal, ref }.
 */
function waitAsync(target, field, expected, opts) {
  const { timeout, signal, ref } = opts
  if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal))
  if (timeout === 0) {
    // Nothing to sleep for: compare only.
    return target.read(field).then((v) => (v === expected ? 'timed-out' : 'not-equal'))
  }
  const w = new Waiter(target, field, expected, ref, signal)
  const promise = new Promise((resolve, reject) => {
    w.resolve = resolve
    w.reject = reject
  })
  let confirmed
  try {
    confirmed = subscriberOf(target.client).join(w)
  } catch (err) {
    return Promise.reject(err)
  }
  if (timeout > 0) {
    w.timer = setTimeout(() => finish(w, 'timed-out'), timeout)
    if (!ref) w.timer.unref()
  }
  if (signal !== undefined) {
    w.onAbort = () => fail(w, abortError(signal))
    signal.addEventListener('abort', w.onAbort, { once: true })
  }
  confirmed
    .then(async () => {
      if (w.done) return
      if (hooks.afterSubscribe !== null) await hooks.afterSubscribe(target.channel, field)
      if (w.done) return
      const v = await target.read(field)
      if (v !== expected) finish(w, 'not-equal')
    })
    .catch((err) => fail(w, err.code === undefined ? commandError(err, 'waitAsync', 'once') : err))
  return promise
}

/**
 * Publishes a notify for `field` on the table's channel, after the table's
 * earlier operations: resolves with the number of subscriber connections
 * that received it (PUBLISH's / SPUBLISH's reply), not a number of waits.
 * `count` (as lib/wait.js countArg returned it; 0xffffffff for all) goes
 * with it: each receiving process wakes at most `count` of its waits on
 * the key, the oldest first.
 */
function notify(target, field, count) {
  if (count === 0) return Promise.resolve(0)
  const message = count >= 0xffff_ffff ? field : `${field} ${count}`
  const publish = () =>
    target.client.send([target.client.cluster ? 'SPUBLISH' : 'PUBLISH', target.channel, message]).then(Number, (err) => {
      throw commandError(err, 'notify', 'once')
    })
  return target.before().then(publish, publish)
}

/** Pending waits and subscribed channels of the subscriber of `client` (an ioredis or node-redis object), for tests. */
function stats(client) {
  const s = subscribers.get(client)
  return s === undefined ? { waiters: 0, channels: 0, connected: false } : s.stats()
}

function nothing() {}

module.exports = { waitAsync, notify, hooks, stats }
