'use strict'
// Exactly once across lost replies (docs/REDIS.md, "Connection loss").
//
// ioredis re-sends, after it reconnects, every command whose reply it had
// not received when the connection dropped (autoResendUnfulfilledCommands,
// on by default); a read-modify-write the server had applied would then be
// applied twice. So each one carries this session's id and a sequence
// number, and the script keeps, per session, the answer of every operation
// it applied whose reply the client may still be waiting for: a sorted set
// "{table}:o:<session>" of "<seq>:<answer>" scored by seq. A second arrival
// of a seq finds its answer there and changes nothing.
//
// An entry can go once the client holds its reply: every operation tells
// the script one run [from, to] of sequence numbers answered since (none
// pinned), which it removes. An operation that failed with a connection
// error stays "pinned" (its entry, if it was applied, kept) so that
// `retry(err)` can send the same seq again and learn the outcome exactly.
// The hash expires RETENTION_MS after the last batch that refreshed it; a
// batch refreshes it when the last refresh is REFRESH_MS old (one PEXPIRE
// every few minutes, not one per batch), so it lives at least
// RETENTION_MS - REFRESH_MS after any batch: a process that dies leaves
// nothing behind for long, and a retry is refused once it is older than
// RETRY_WINDOW_MS, well inside that.

const crypto = require('node:crypto')

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
    this.refreshed = -Infinity
  }

  /** The expiry argument of a batch sent now: RETENTION_MS when a refresh is due, else "". */
  expiry(now) {
    if (now - this.refreshed < REFRESH_MS) return ''
    this.refreshed = now
    return RETENTION_MS_TEXT
  }

  /** A new sequence number. */
  take() {
    return this.next++
  }

  /** `seq` was answered: its entry may go. */
  answered(seq) {
    const last = this.runs.length === 0 ? null : this.runs[this.runs.length - 1]
    if (last !== null && last[1] === seq - 1) last[1] = seq
    else this.runs.push([seq, seq])
  }

  /** The run to report with the next operation, as two strings ("0", "0" for none). */
  report() {
    const run = this.runs.shift()
    return run === undefined ? NONE : [String(run[0]), String(run[1])]
  }
}

const NONE = ['0', '0']
const RETENTION_MS_TEXT = String(RETENTION_MS)

module.exports = { Session, RETENTION_MS, RETRY_WINDOW_MS }
