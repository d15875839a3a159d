'use strict'
// What every table kept in Redis shares: its name and Redis keys, the
// metadata made or checked once (ready), running the scripts, the session
// that keeps read-modify-writes exactly once, and turning client errors into
// coded ones (docs/REDIS.md).

const { codedError, typeError } = require('../errors')
const { adapt, isReplyError } = require('./client')
const { SCRIPTS } = require('./scripts')
const { Session, RETRY_WINDOW_MS } = require('./session')

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
 * ERR_ATOMIC_DICT_CONNECTION_LOST (the operation may or may not have been
 * applied), a reply error ERR_ATOMIC_DICT_REDIS (the server refused it; a
 * script refused before it ran changed nothing). `cause` is the client's error.
 */
function commandError(err, what) {
  if (isReplyError(err)) {
    const e = codedError('ERR_ATOMIC_DICT_REDIS', `atomic-dict: Redis refused ${what}: ${err.message}`)
    e.cause = err
    return e
  }
  const e = codedError('ERR_ATOMIC_DICT_CONNECTION_LOST', `atomic-dict: ${what} has no reply: the connection to Redis failed (${err instanceof Error ? err.message : String(err)}); it may or may not have been applied: retry(err) settles it exactly once`)
  e.cause = err
  return e
}

/** Operations per script run at most (ARGV stays well under Lua's stack limits). */
const MAX_BATCH = 256

/** Operations sent together; `again` is the retry in flight or done. */
class Batch {
  constructor(seq, ops, at) {
    this.seq = seq
    this.ops = ops
    this.at = at
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
  #session = new Session()
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
    this.#meta = `{${name}}:meta`
    this.capacity = capacity
    this.capacityText = String(capacity)
    this.digits = String(digits)
    this.data = `{${name}}:d`
    this.strings = `{${name}}:s`
    this.answers = `{${name}}:o:${this.#session.id}`
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
      const load = this.#client.script(SCRIPTS.rmw, [this.data, this.answers, this.strings], ['0', '0', '0', this.capacityText, this.digits, ''], true)
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
          throw commandError(err, `attaching table ${JSON.stringify(this.#name)}`)
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
    for (const entry of queue) {
      if (entry.send === undefined) {
        run.push(entry)
        if (run.length === MAX_BATCH) {
          this.#send(new Batch(this.#session.take(), run, Date.now()))
          run = []
        }
        continue
      }
      if (run.length > 0) {
        this.#send(new Batch(this.#session.take(), run, Date.now()))
        run = []
      }
      entry.send().then(entry.resolve, entry.reject)
    }
    if (run.length > 0) this.#send(new Batch(this.#session.take(), run, Date.now()))
  }

  /** The table could not be made ready: everything queued fails with its error. */
  #failQueue = (err) => {
    const queue = this.#queue
    this.#queue = []
    for (const entry of queue) entry.reject(err)
  }

  /** Sends `batch`; its operations settle with their answers or with the error. */
  #send(batch) {
    this.#sendOnce(batch).then(
      (answers) => {
        for (let i = 0; i < batch.ops.length; i++) settle(batch.ops[i], answers[i])
      },
      (err) => {
        for (let i = 0; i < batch.ops.length; i++) {
          const op = batch.ops[i]
          const e = commandError(err, op.what)
          // Pinned: the batch's entry, if it was applied, stays until it is
          // retried (or expires), so retry(e) learns the outcome exactly.
          if (e.code === 'ERR_ATOMIC_DICT_CONNECTION_LOST') e[RETRY] = { table: this, at: batch.at, again: () => this.#again(batch).then((a) => op.decode(a[i])) }
          op.reject(e)
        }
      },
    )
  }

  /** One attempt at `batch` under its sequence number: resolves with its answers (an array). */
  #sendOnce(batch) {
    const [from, to] = this.#session.report()
    const args = [String(batch.seq), from, to, this.capacityText, this.digits, this.#session.expiry(Date.now())]
    for (const op of batch.ops) for (const a of op.args) args.push(a)
    // ready() loaded the script: an EVALSHA failing with NOSCRIPT would be
    // sent again as EVAL only once its error is back, after the commands
    // sent behind it (reads, later batches) were served, out of the order
    // they were issued in. (After a SCRIPT FLUSH or a failover to a server
    // without it, that can still happen, once.)
    return this.#client.script(SCRIPTS.rmw, [this.data, this.answers, this.strings], args).then(
      (reply) => {
        this.#session.answered(batch.seq)
        return String(reply).split(',')
      },
      (err) => {
        // A reply error: the script did not run or changed nothing (see
        // lib/redis/scripts.js), so the entry need not be kept.
        if (isReplyError(err)) this.#session.answered(batch.seq)
        throw err
      },
    )
  }

  /** `batch` sent again (once for all of its operations' retries, until one attempt has an answer). */
  #again(batch) {
    if (batch.again === null) {
      const again = this.#sendOnce(batch).catch((err) => {
        if (batch.again === again) batch.again = null
        throw commandError(err, batch.ops[0].what)
      })
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
        if (e.code === 'ERR_ATOMIC_DICT_CONNECTION_LOST') e[RETRY] = { table: this, at: Date.now(), again: send }
        throw e
      })
    return new Promise((resolve, reject) => this.#push({ send, resolve, reject }))
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
    if (Date.now() - r.at > RETRY_WINDOW_MS) {
      return Promise.reject(codedError('ERR_ATOMIC_DICT_RETRY_EXPIRED', `atomic-dict: the operation failed more than ${RETRY_WINDOW_MS / 60_000} minutes ago: whether it was applied is no longer kept`))
    }
    return r.again()
  }
}

module.exports = { RedisTable, commandError, tableName }
