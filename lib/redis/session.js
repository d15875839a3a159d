'use strict'
// Exactly once across lost replies, and in order (docs/REDIS.md,
// "Connection loss").
//
// ioredis re-sends, after it reconnects, every command whose reply it had
// not received when the connection dropped (autoResendUnfulfilledCommands,
// on by default); a batch of read-modify-writes the server had applied
// would then be applied twice. So each batch carries its session's id and
// a sequence number, and the script keeps, per session, the answers of
// every batch it applied whose reply the client may still be waiting for:
// a hash "{table}:o:<session>", seq -> answers. A second arrival of a seq
// finds its answers there and changes nothing.
//
// An entry can go once the client holds its reply: a batch reports one
// run [from, to] of sequence numbers answered since, which the script
// removes (after writing its own entry, so the hash never empties and
// keeps its expiry). A run whose batch got no reply is reported again. A
// batch that failed (no reply, or a reply error that may follow a
// re-send) stays "pinned": its entry, if it was applied, is kept so that
// `retry(err)` can send the same seq again and learn the outcome exactly;
// pins older than RETRY_WINDOW_MS (on the monotonic clock, from the
// failure) are let go (their entries removed), never while a retry of
// them is in flight, and a retry is refused from then on.
//
// The hash expires RETENTION_MS after the last batch that refreshed it and
// got a reply; a batch refreshes it when that is REFRESH_MS old, so it
// lives at least RETENTION_MS - REFRESH_MS after any batch: a process that
// dies leaves nothing behind for long.
//
// Order: a batch also names the newest batch sent before it on the session
// that is not settled yet (`prev`); the script refuses it, applying nothing, when
// that one has no entry, i.e. was not applied (an EVALSHA of it failed
// with NOSCRIPT and is being sent again whole, or a Cluster redirection
// delays it), and the client sends it again once `prev` is settled.
//
// One session per client object and table name (shared by the table
// objects of that name on that client): short-lived table objects do not
// each leave a hash behind.

const crypto = require('node:crypto')
const { performance } = require('node:perf_hooks')

/** The monotonic clock of the retry window (a seam: tests move it). */
const clock = { now: () => performance.now() }

const RETENTION_MS = 3_600_000
const REFRESH_MS = 300_000
const RETRY_WINDOW_MS = 1_800_000

class Session {
  constructor() {
    /** 12 characters of base64url: 72 random bits. */
    this.id = crypto.randomBytes(9).toString('base64url')
    this.next = 1
    /** Answered sequence numbers not yet reported, as [from, to] runs in arrival order. */
    this.runs = []
    /** Failed batches kept for retry: seq -> { at: when it failed (monotonic ms), busy: retries in flight }. */
    this.pinned = new Map()
    this.refreshed = -Infinity
    /** The batches sent and not settled yet: seq -> a promise settled with the batch, in sending order. */
    this.unsettled = new Map()
    /** The newest of them ({ seq, done }), or null. */
    this.latest = null
  }

  /** The newest unsettled batch ({ seq, done }), or null. */
  newest() {
    return this.latest
  }

  /** Batch `seq` was sent; `done` settles with it. */
  sent(seq, done) {
    this.unsettled.set(seq, done)
    this.latest = { seq, done }
  }

  /** Batch `seq` settled. */
  settledBatch(seq) {
    this.unsettled.delete(seq)
    if (this.latest === null || this.latest.seq !== seq) return
    // The newest settled first: the newest left (the Map keeps sending order).
    this.latest = null
    for (const [s, done] of this.unsettled) this.latest = { seq: s, done }
  }

  /** A new sequence number. */
  take() {
    return this.next++
  }

  /** The expiry argument of a batch sent now: RETENTION_MS when a refresh is due, else "". */
  expiry(now) {
    return now - this.refreshed < REFRESH_MS ? '' : RETENTION_MS_TEXT
  }

  /** A batch sent at `at` with the expiry argument got a reply: the hash's expiry was set then. */
  refreshedAt(at) {
    if (at > this.refreshed) this.refreshed = at
  }

  /** `seq` was answered (or is let go): its entry may go. */
  answered(seq) {
    const last = this.runs.length === 0 ? null : this.runs[this.runs.length - 1]
    if (last !== null && last[1] === seq - 1) last[1] = seq
    else this.runs.push([seq, seq])
  }

  /** The run to report with a batch sent now (null for none); `unreport` it if that batch gets no reply. */
  report() {
    const now = clock.now()
    for (const [seq, pin] of this.pinned) {
      // A pin is let go once its window is over, never while a retry of it
      // is in flight (its entry must stay for an ioredis re-send of it).
      if (pin.busy > 0 || now - pin.at <= RETRY_WINDOW_MS) continue
      this.pinned.delete(seq)
      this.answered(seq)
    }
    return this.runs.shift() ?? null
  }

  unreport(run) {
    if (run !== null) this.runs.unshift(run)
  }

  /** The batch `seq` failed (now, on the monotonic clock): keep its entry for a retry. */
  pin(seq) {
    if (!this.pinned.has(seq)) this.pinned.set(seq, { at: clock.now(), busy: 0 })
  }

  /**
   * A retry of `seq` may be sent: its pin is there and in its window. Marks
   * it busy (call `release` when the retry settles); false when it is not.
   */
  claim(seq) {
    const pin = this.pinned.get(seq)
    if (pin === undefined || (pin.busy === 0 && clock.now() - pin.at > RETRY_WINDOW_MS)) return false
    pin.busy++
    return true
  }

  /** A retry of `seq` settled: `answered` (it got its answers, already reported as answered) unpins it. */
  release(seq, answered) {
    const pin = this.pinned.get(seq)
    if (pin === undefined) return
    pin.busy--
    if (answered) this.pinned.delete(seq)
  }
}

const RETENTION_MS_TEXT = String(RETENTION_MS)

/** The session of each client object (raw ioredis / node-redis object) and table name. */
const sessions = new WeakMap()

function sessionFor(client, name) {
  let byName = sessions.get(client)
  if (byName === undefined) {
    byName = new Map()
    sessions.set(client, byName)
  }
  let s = byName.get(name)
  if (s === undefined) {
    s = new Session()
    byName.set(name, s)
  }
  return s
}

module.exports = { Session, sessionFor, clock, RETENTION_MS, RETRY_WINDOW_MS }
