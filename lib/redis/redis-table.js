'use strict'
// What every table kept in Redis shares: its name and Redis keys, the
// metadata made or checked once (ready), running the scripts, the session
// that keeps read-modify-writes exactly once, and turning client errors into
// coded ones (docs/REDIS.md).

const { codedError, typeError } = require('../errors')
const { adapt, isReplyError } = require('./client')
const { SCRIPTS } = require('./scripts')
const { sessionFor, RETENTION_MS, RETRY_WINDOW_MS } = require('./session')

const RETENTION_TEXT = String(RETENTION_MS)

/** Bumped when the layout in Redis changes; kept in the metadata. */
const FORMAT = '1'

/** What `retry(err)` needs, on the errors of this module's operations. */
const RETRY = Symbol('atomic-dict.redis.retry')

function tableName(name) {
  if (typeof name !== 'string') throw typeError('name', 'a string', name)
  if (name.length === 0 || name.length > 200 || /[{}]/.test(name) || !name.isWellFormed()) {
    throw codedError('ERR_INVALID_ARG_VALUE', `name must be a well-formed string of 1 to 200 characters without { or }, got ${JSON.stringify(name.slice(0, 60))}`, TypeError)
  }
  return name
}

/**
 * The coded error for a failed command: a connection error is
 * ERR_ATOMIC_DICT_CONNECTION_LOST (the command may or may not have been
 * applied), a reply error ERR_ATOMIC_DICT_REDIS (the server refused it).
 * `kind` says what retry(err) can do for it: 'rmw' (a read-modify-write:
 * settle it exactly once, also after a refusal, which may answer a re-send
 * of an applied batch), 'read' (read again), 'once' (nothing: waits and
 * notifies are not retried). `cause` is the client's error.
 */
function commandError(err, what, kind = 'read') {
  if (isReplyError(err)) {
    const maybe = kind === 'rmw' ? '; not applied, unless a first sending was applied before a reconnect: retry(err) settles it exactly once' : ''
    const e = codedError('ERR_ATOMIC_DICT_REDIS', `atomic-dict: Redis refused ${what}: ${err.message}${maybe}`)
    e.cause = err
    return e
  }
  const advice = kind === 'rmw' ? '; it may or may not have been applied: retry(err) settles it exactly once' : kind === 'read' ? '; retry(err) reads again' : ''
  const e = codedError('ERR_ATOMIC_DICT_CONNECTION_LOST', `atomic-dict: ${what} has no reply: the connection to Redis failed (${err instanceof Error ? err.message : String(err)})${advice}`)
  e.cause = err
  return e
}

/** Whether `err` is rmw.lua refusing a batch that came before the batch it follows (see session.js). */
function isOrder(err) {
  return isReplyError(err) && String(err.message).startsWith('ORDER ')
}

/** Operations per script run at most (ARGV stays well under Lua's stack limits). */
const MAX_BATCH = 256
/**
 * Arguments per script run at most, across its operations (a bulk call
 * alone may have more: it is one atomic step): a batch holds Redis for its
 * whole run, so several big bulk calls issued together go one by one.
 */
const MAX_ARGS = 100_000

/**
 * Operations sent together: `prev` the batch sent before it with no reply
 * yet ("0": none) and `prevDone` settled with that one; `done` settled
 * with this one's first sending (ORDER re-sends included); `again` the
 * retry in flight or done.
 */
class Batch {
  constructor(seq, ops, at) {
    this.seq = seq
    this.ops = ops
    this.at = at
    this.prev = '0'
    this.prevDone = null
    this.done = null
    this.again = null
  }
}

function settle(op, answer) {
  let result
  try {
    result = op.decode(answer)
  } catch (err) {
    op.reject(err)
    return
  }
  op.resolve(result)
}

class RedisTable {
  #client
  #name
  #meta
  #fields
  #ready = null
  #isReady = false
  #session
  #queue = []

  /**
   * @param client an ioredis Redis or Cluster, or fromNodeRedis(client)
   * @param name the table's name: its Redis keys are "{name}:..." (one hash tag: one Cluster slot)
   * @param kind 'dict' | 'set'
   * @param shape the checked geometry, stored and compared field by field
   * @param digits hex digits of a value (16 or 8; 0 for a set)
   */
  constructor(client, name, kind, capacity, shape, digits) {
    this.#client = adapt(client)
    this.#name = tableName(name)
    this.#session = sessionFor(this.#client.client, name)
    this.#meta = `{${name}}:meta`
    this.capacity = capacity
    this.capacityText = String(capacity)
    this.digits = String(digits)
    this.data = `{${name}}:d`
    this.strings = `{${name}}:s`
    this.answers = `{${name}}:o:${this.#session.id}`
    // The Redis keys of a batch: the strings' hash only for a table that
    // keeps strings. (In a Cluster slot being migrated, Redis refuses with
    // TRYAGAIN a command naming keys of which some exist and some do not;
    // ready() makes each of these exist.)
    this.scriptKeys = shape.strings > 0 ? [this.data, this.answers, this.strings] : [this.data, this.answers]
    this.channel = `{${name}}:n`
    this.#fields = ['format', FORMAT, 'kind', kind, 'capacity', String(capacity)]
    for (const [k, v] of Object.entries(shape)) this.#fields.push(k, String(v))
  }

  get name() {
    return this.#name
  }

  get client() {
    return this.#client
  }

  /**
   * Makes the table's metadata in Redis, or checks it matches (once; again
   * after a failure). Every operation waits for it; call it to learn early.
   */
  ready() {
    if (this.#ready === null) {
      // With it, rmw.lua as an empty batch sent whole (EVAL loads it): the
      // batches' EVALSHA then do not fail NOSCRIPT and send EVAL after the
      // reads issued behind them.
      const attach = this.#client.script(SCRIPTS.attach, [this.#meta], this.#fields)
      // The empty batch also makes the session's answers hash (and the
      // strings' hash) exist, with the answers' expiry.
      const at = Date.now()
      const load = this.#client.script(SCRIPTS.rmw, this.scriptKeys, ['0', '0', '0', this.capacityText, this.digits, RETENTION_TEXT], true).then((r) => {
        this.#session.refreshedAt(at)
        return r
      })
      const ready = Promise.all([attach, load]).then(
        ([diff]) => {
          if (diff.length > 0) {
            for (let i = 0; i < diff.length; i += 3) {
              if (diff[i] === 'kind') throw codedError('ERR_ATOMIC_DICT_WRONG_KIND', `atomic-dict: Redis holds ${JSON.stringify(this.#name)} as a ${diff[i + 1]}, not a ${diff[i + 2]}`)
            }
            const parts = []
            for (let i = 0; i < diff.length; i += 3) parts.push(`${diff[i]} ${diff[i + 1]} (asked ${diff[i + 2]})`)
            throw codedError('ERR_ATOMIC_DICT_GEOMETRY', `atomic-dict: Redis holds a table ${JSON.stringify(this.#name)} of another shape: ${parts.join(', ')}`)
          }
          this.#isReady = true
        },
        (err) => {
          throw commandError(err, `attaching table ${JSON.stringify(this.#name)}`, 'once')
        },
      )
      this.#ready = ready
      ready.catch(() => {
        if (this.#ready === ready) this.#ready = null
      })
    }
    return this.#ready
  }

  /**
   * Queues one read-modify-write: `op` and its fields as rmw.lua reads them
   * (op, field, operand, desired, n, then n string pairs). Operations queued
   * in one tick go to Redis as one batch, one script applying them in order
   * (each atomic, as if sent one by one, for one round trip and one script
   * run); the batch is sent exactly once (lib/redis/session.js). Resolves
   * with `decode(answer)` (the answer a string, "-" when the table was full;
   * `decode` may throw).
   */
  enqueue(args, what, decode) {
    return new Promise((resolve, reject) => this.#push({ args, what, decode, resolve, reject }))
  }

  /** Queues `entry`; the queue goes out once this tick is over (once ready). */
  #push(entry) {
    this.#queue.push(entry)
    if (this.#queue.length === 1) {
      if (this.#isReady) queueMicrotask(this.#flush)
      else this.ready().then(this.#flush, this.#failQueue)
    }
  }

  /**
   * Sends the queue in the order it was issued: each run of
   * read-modify-writes as batches, each read as its own command between
   * them. One table's commands share one connection (one slot in a
   * Cluster), which Redis serves in order, so every operation sees exactly
   * the ones issued before it.
   */
  #flush = () => {
    const queue = this.#queue
    if (queue.length === 0) return
    this.#queue = []
    let run = []
    let args = 0
    for (const entry of queue) {
      if (entry.send === undefined) {
        if (run.length > 0 && args + entry.args.length > MAX_ARGS) {
          this.#send(new Batch(this.#session.take(), run, Date.now()))
          run = []
          args = 0
        }
        run.push(entry)
        args += entry.args.length
        if (run.length === MAX_BATCH) {
          this.#send(new Batch(this.#session.take(), run, Date.now()))
          run = []
          args = 0
        }
        continue
      }
      if (run.length > 0) {
        this.#send(new Batch(this.#session.take(), run, Date.now()))
        run = []
        args = 0
      }
      entry.send().then(entry.resolve, entry.reject)
    }
    if (run.length > 0) this.#send(new Batch(this.#session.take(), run, Date.now()))
  }

  /**
   * The table could not be made ready: everything queued fails, not sent,
   * each with its own error; one of the connection or a refusal can be
   * retried (retry(e) queues it again).
   */
  #failQueue = (err) => {
    const queue = this.#queue
    this.#queue = []
    for (const entry of queue) {
      const retryable = err.code === 'ERR_ATOMIC_DICT_CONNECTION_LOST' || err.code === 'ERR_ATOMIC_DICT_REDIS'
      const e = codedError(err.code, `atomic-dict: ${entry.what ?? 'a read'} was not sent: ${String(err.message).replace(/^atomic-dict: /, '')}${retryable ? '; retry(err) sends it' : ''}`)
      e.cause = err.cause ?? err
      if (retryable) {
        const again = entry.send === undefined ? () => this.enqueue(entry.args, entry.what, entry.decode) : () => new Promise((resolve, reject) => this.#push({ send: entry.send, resolve, reject }))
        e[RETRY] = { table: this, again }
      }
      entry.reject(e)
    }
  }

  /** Sends `batch`; its operations settle with their answers or with the error. */
  #send(batch) {
    const session = this.#session
    // Order: this batch names the newest batch sent before it that is not
    // settled yet (an older one when the newer ones settled first).
    const prev = session.newest()
    batch.prev = prev === null ? '0' : String(prev.seq)
    batch.prevDone = prev === null ? null : prev.done
    const done = this.#sendOnce(batch, true)
    batch.done = done.then(nothing, nothing)
    session.sent(batch.seq, batch.done)
    batch.done.then(() => session.settledBatch(batch.seq))
    done.then(
      (answers) => {
        for (let i = 0; i < batch.ops.length; i++) settle(batch.ops[i], answers[i])
      },
      (err) => {
        // Pinned: the batch's entry, if it was applied, stays until it is
        // retried (or let go after RETRY_WINDOW_MS), so retry(e) learns the
        // outcome exactly. Also after a reply error: it may answer a re-send
        // of a batch that had been applied before the connection dropped.
        session.pin(batch.seq)
        for (let i = 0; i < batch.ops.length; i++) batch.ops[i].reject(this.#failure(err, batch, i))
      },
    )
  }

  /** The coded error of operation `i` of `batch` for `err`, with what retry(e) needs. */
  #failure(err, batch, i) {
    const op = batch.ops[i]
    const e = commandError(err, op.what, 'rmw')
    e[RETRY] = {
      table: this,
      again: () =>
        this.#again(batch).then(
          (a) => op.decode(a[i]),
          (err2) => {
            throw err2.code === 'ERR_ATOMIC_DICT_RETRY_EXPIRED' ? err2 : this.#failure(err2, batch, i)
          },
        ),
    }
    return e
  }

  /**
   * One attempt at `batch` under its sequence number: resolves with its
   * answers (an array). `ordered`: the first sending, which names the batch
   * before it (retries do not: they are sent on their own, later).
   */
  #sendOnce(batch, ordered) {
    const session = this.#session
    const now = Date.now()
    const run = session.report()
    const expiry = session.expiry(now)
    const args = [String(batch.seq), run === null ? '0' : String(run[0]), run === null ? '0' : String(run[1]), this.capacityText, this.digits, expiry, ordered ? batch.prev : '0']
    for (const op of batch.ops) for (const a of op.args) args.push(a)
    // ready() loaded the script. An EVALSHA failing with NOSCRIPT (after a
    // SCRIPT FLUSH or a failover to a server without it) is sent again as
    // EVAL once its error is back, after the batches sent behind it: those
    // are refused ("ORDER", see rmw.lua) until it is applied, and sent again.
    return this.#client.script(SCRIPTS.rmw, this.scriptKeys, args).then(
      (reply) => {
        if (expiry !== '') session.refreshedAt(now)
        return String(reply).split(',')
      },
      (err) => {
        // Its report did not surely arrive: report that run again.
        session.unreport(run)
        if (ordered && isOrder(err)) {
          return batch.prevDone.then(() => this.#sendOnce(batch, false))
        }
        throw err
      },
    ).then((answers) => {
      session.answered(batch.seq)
      return answers
    })
  }

  /**
   * `batch` sent again (once for all of its operations' retries, until one
   * attempt has an answer), while its pin is kept: the pin is claimed for
   * the time the retry is in flight, so its entry stays for an ioredis
   * re-send of the retry itself.
   */
  #again(batch) {
    if (batch.again === null) {
      const session = this.#session
      if (!session.claim(batch.seq)) {
        return Promise.reject(codedError('ERR_ATOMIC_DICT_RETRY_EXPIRED', `atomic-dict: the operation failed more than ${RETRY_WINDOW_MS / 60_000} minutes ago: whether it was applied is no longer kept`))
      }
      const again = this.#sendOnce(batch, false).then(
        (answers) => {
          session.release(batch.seq, true)
          return answers
        },
        (err) => {
          session.release(batch.seq, false)
          if (batch.again === again) batch.again = null
          throw err
        },
      )
      batch.again = again
    }
    return batch.again
  }

  /**
   * One command that reads (safe to send again); `decode` turns the reply
   * into the result. Queued with the read-modify-writes, so it is sent
   * after those issued before it and before those issued after it.
   */
  read(args, what, decode) {
    const send = () =>
      this.#client.send(args).then(decode, (err) => {
        const e = commandError(err, what)
        if (e.code === 'ERR_ATOMIC_DICT_CONNECTION_LOST') e[RETRY] = { table: this, again: send }
        throw e
      })
    return new Promise((resolve, reject) => this.#push({ send, resolve, reject }))
  }

  /** Whether the key of `field` is in the table (one HEXISTS). */
  has(field) {
    return this.read(['HEXISTS', this.data, field], 'has', (r) => r === 1)
  }

  /** The number of keys (exact: one HLEN; the tables are insert-only). */
  size() {
    return this.read(['HLEN', this.data], 'size', Number)
  }

  /**
   * Settles an operation of this table that failed with
   * ERR_ATOMIC_DICT_CONNECTION_LOST: sends it again under its first
   * sequence number, so it resolves with its first answer when the server
   * had applied it, and is applied now when it had not: exactly once.
   */
  retry(err) {
    const r = err !== null && typeof err === 'object' ? err[RETRY] : undefined
    if (r === undefined || r.table !== this) {
      return Promise.reject(codedError('ERR_INVALID_ARG_VALUE', 'retry(err) takes an ERR_ATOMIC_DICT_CONNECTION_LOST error of an operation of this table', TypeError))
    }
    return r.again()
  }
}

function nothing() {}

module.exports = { RedisTable, commandError, tableName }
