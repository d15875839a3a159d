'use strict'
// syncToRedis: a shared-memory table counted at local speed, its totals over
// every host kept in Redis, each change counted there exactly once
// (docs/SYNC.md has the protocol and why each step is where it is).
//
// Every process of a host calls syncToRedis on the same table; one of them,
// the one holding the host's lease (lib/redis/sync-state.js), is the
// flusher: every `interval` ms it finds the rows whose value changed since
// their last acknowledged value (a scan of raw words, no key decoded for
// rows that did not change), stages them in the shared state, and sends
// their deltas as one batch numbered for the host (lib/redis/sync.lua).
// Redis applies a batch only if its number follows the host's last; the
// state forgets it only once Redis has answered. Whoever holds the lease
// next re-sends a batch left pending.

const crypto = require('node:crypto')
const fs = require('node:fs')
const tables = require('../table-memory')
const { OFF } = require('../format')
const { AtomicDict } = require('../atomic-dict')
const { Counters } = require('../counters')
const { checkOptions, integer, boolean } = require('../options')
const { typeError, rangeError, codedError, closedError } = require('../errors')
const { failpoint } = require('../failpoint')
const { DISPOSE, ASYNC_DISPOSE, INSPECT, inspected, refuseCloning } = require('../node-conventions')
const { promised } = require('../wait')
const { storeMetric } = require('../metrics/store')
const { adapt, hashReply } = require('./client')
const { SCRIPTS } = require('./scripts')
const { RedisDict } = require('./redis-dict')
const { RedisCodec } = require('./codec')
const { tableName, commandError } = require('./redis-table')
const { reply } = require('./sync-commands')
const { SyncTotals } = require('./sync-totals')
const { SyncState, W, ERRORS, stateError } = require('./sync-state')
const { LocalRows, MAX_BATCH_KEYS } = require('./sync-rows')
const { guard } = require('./sync-guard')
const { metricsSource } = require('./sync-metrics')
const { readMetrics } = require('./sync-metrics-read')

const OPTIONS = ['interval', 'state', 'maxBackoff', 'timeout', 'ref', 'flush', 'totalsCapacity']

/** The most rows a synced table may have (its state holds two 64-bit words a row). */
const MAX_ROWS = 2 ** 29

/** Table objects with a sync in this thread. */
const synced = new WeakSet()

/** Batches a tick sends at most (each up to MAX_BATCH_KEYS keys). */
const BATCHES_PER_TICK = 8

/** The capacity of the Redis table of totals (no host refuses a key: every local key has a total). */
const REDIS_CAPACITY = 2 ** 31

function errorCode(err) {
  const i = ERRORS.indexOf(err?.code)
  return i < 0 ? ERRORS.indexOf('ERR_ATOMIC_DICT_INTERNAL') : i
}

/**
 * The header word SYNC_ID (lib/format.js) holds a table's sync id (random,
 * odd) with OWNED set once a state was the table's: until then the table
 * counts as one that never synced (a syncToRedis that failed leaves it so).
 */
const OWNED = 2n

/** The sync id of the table whose view is `view`, and whether it never owned a state. */
function syncId(view) {
  const fresh = (crypto.randomBytes(8).readBigUInt64BE() | 1n) & ~OWNED
  const word = Atomics.compareExchange(view.u64, OFF.SYNC_ID / 8, 0n, fresh) || fresh
  return { id: word & ~OWNED, fresh: (word & OWNED) === 0n }
}

/** The table whose view is `view` owns a state (see syncId). */
function owned(view) {
  Atomics.or(view.u64, OFF.SYNC_ID / 8, OWNED)
}

/** Blocks the thread for `ms` (a constructor waiting out another process's takeover). */
function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** How long syncToRedis waits for another process of the same table to take a state over. */
const TAKEOVER_WAIT_MS = 250

function realpath(path) {
  try {
    return fs.realpathSync(path)
  } catch {
    return path // unlinked since it was opened: its name as given
  }
}

/**
 * What a sync reads of `table`: { dict (the AtomicDict under it: one sync
 * per dict object), rows() (its source: lib/redis/sync-rows.js), guard(name)
 * (refuses what does not sync; returns the function that lifts that) }.
 */
function sourceOf(table) {
  if (table instanceof AtomicDict || table instanceof Counters) {
    const dict = table instanceof Counters ? table.table : table
    const { view } = tables.internals.get(dict)
    return { dict, rows: () => new LocalRows(view), guard: (name) => guard(dict, name) }
  }
  const metrics = metricsSource(table)
  if (metrics !== null) return metrics
  throw typeError('table', 'an AtomicDict, Counters or a MetricsStore', table)
}

class Sync {
  #dict
  #view
  #state
  #rows
  #client
  #name
  #redis
  #codec
  #keys
  #interval
  #maxBackoff
  #timeout
  #ref
  #mayFlush
  #totalsCapacity
  #shape
  #lift
  /** 'table' (an AtomicDict or Counters) or 'metrics' (a MetricsStore). */
  #kind
  #timer = null
  #closed = false
  #closing = null
  #running = null
  #failures = 0
  #lastError = null
  /** `sync.totals`, once read (lib/redis/sync-totals.js). */
  #totals = null
  #totalsError = null
  /** The synced table's sync id (a bigint). */
  #id
  /** Another table took the state over: this sync flushes no more. */
  #orphaned = false
  /** The last sending of a batch: { seq, reply (a Promise), failed }. */
  #sending = null
  /** The row the next scan starts at (scans take turns: no row waits behind others that keep changing). */
  #cursor = 0
  /**
   * The flusher's copy of the acked words in row order (two u32 a row),
   * made when it first flushes with the lease (#prepare), kept by #fold: a
   * scan reads it in order rather than the state's words, which sit in
   * hashed places. Only the lease holder changes the acked words, so the
   * copy stays exact while it holds the lease.
   */
  #shadow = null
  /** Rows the last scan looked at in full (all of them, unless its batch ran out of room). */
  #covered = 0
  /** The number (W.SCANS) of this flusher's last scan. */
  #scan = 0
  /** Rows whose keys' strings Redis has (sent with an acknowledged batch). */
  #named = new Set()

  constructor(table, client, name, options) {
    const source = sourceOf(table)
    this.#kind = source.kind ?? 'table'
    const t = tables.internals.get(table)
    if (t.view.closed) throw closedError()
    this.#client = adapt(client)
    this.#name = tableName(name)
    const o = checkOptions(options, OPTIONS, 'syncToRedis')
    this.#interval = integer(o, 'interval', 100, 1, 3_600_000)
    this.#maxBackoff = integer(o, 'maxBackoff', Math.max(5000, this.#interval), this.#interval, 3_600_000)
    this.#timeout = integer(o, 'timeout', 10_000, 1, 3_600_000)
    this.#ref = boolean(o, 'ref', false)
    this.#mayFlush = boolean(o, 'flush', true)
    const view = t.view
    this.#totalsCapacity = integer(o, 'totalsCapacity', view.capacity, 1, 2 ** 31)
    let path = o.state
    if (path === undefined) {
      if (t.path === undefined) {
        throw codedError('ERR_INVALID_ARG_VALUE', 'options.state is needed: the table was not opened by path (AtomicDict.open / Counters.open), so there is no default `<path>.sync` for its sync state', TypeError)
      }
      // The file's real path: a table reached through a symlink has the same state.
      path = `${realpath(t.path)}.sync`
    } else if (typeof path !== 'string' || path.length === 0) {
      throw typeError('options.state', 'a non-empty string (a file path)', path)
    }
    if (view.rows > MAX_ROWS) throw rangeError('table', `a table of at most ${MAX_ROWS} rows to sync`, view.rows)
    const dict = source.dict
    if (synced.has(dict)) {
      throw codedError('ERR_INVALID_STATE', 'atomic-dict: this table object is synced already (one syncToRedis per table object; close() the other first)')
    }
    this.#dict = dict
    this.#view = view
    const { id, fresh } = syncId(view)
    this.#id = id
    this.#state = new SyncState(path, view.rows, view.valueBits, this.#name)
    try {
      this.#state.probe()
      this.#own(path, fresh)
      owned(view)
      this.#rows = source.rows()
      const shape = { k64: view.k64, k32: view.k32, valueBits: 64, signed: view.signed }
      if (view.stringBytes > 0) shape.strings = view.stringBytes
      this.#redis = new RedisDict(client, this.#name, { capacity: REDIS_CAPACITY, ...shape })
      this.#codec = new RedisCodec(shape)
      this.#shape = shape
    } catch (err) {
      this.#state.close()
      throw err
    }
    const n = this.#name
    this.#keys = [`{${n}}:d`, `{${n}}:h`, `{${n}}:c`]
    if (view.stringBytes > 0 || this.#rows.floats) this.#keys.push(`{${n}}:s`)
    if (this.#rows.floats) this.#keys.push(`{${n}}:f`)
    synced.add(dict)
    this.#lift = source.guard(this.#name)
    refuseCloning(this)
    // A batch a dead flusher left goes at once; changes at the first interval.
    this.#schedule(this.#state.get(W.PENDING) === 0 ? this.#interval : 0)
  }

  /**
   * Makes sure the state's acked words are this table's. A new state
   * becomes its own. Another table's is taken over (SyncState#adopt) only
   * by a table this call gave its sync id (a table that never synced: one
   * that has would send its whole value again), holding the lease, with
   * nothing of the other table pending; else refused. Another process of
   * this table taking the state over right now is waited for, briefly.
   */
  #own(path, fresh) {
    const st = this.#state
    const id = this.#id
    const until = Date.now() + TAKEOVER_WAIT_MS
    for (;;) {
      // Ours, a new state, or ours being taken over (the lease holder finishes that: #checkOwner).
      if (st.claimOwner(id) || st.adopter === id) return
      if (fresh && this.#mayFlush && st.lease()) {
        // Checked with the lease held: only its holder stages a batch.
        if (st.get(W.PENDING) !== 0) {
          st.release()
          throw stateError(path, `holds batch ${st.get(W.PENDING)} of another table (sync id ${st.owner}) that Redis has not acknowledged: start a process on that table to deliver it, or delete the state file (losing that batch)`)
        }
        st.adopt(id)
        return
      }
      if (Date.now() >= until) break
      pause(5)
    }
    throw stateError(
      path,
      fresh
        ? `is the sync state of another table (sync id ${st.owner}), synced now by pid ${st.get(W.PID)}: stop its processes, or give this table a state file of its own`
        : `is the sync state of another table (sync id ${st.owner}); this table (sync id ${id.toString(16)}) has synced before, so it does not take the state over (it would send its whole value again): give it its own state file`,
    )
  }

  // ---------------------------------------------------------------- timers

  #schedule(ms) {
    if (this.#closed || this.#closing !== null) return
    this.#timer = setTimeout(() => this.#tick(), ms)
    if (!this.#ref) this.#timer.unref()
  }

  async #tick() {
    this.#timer = null
    if (this.#closed || this.#closing !== null) return
    if (this.#view.closed) {
      // The table was closed under the sync: nothing more to read.
      this.#stop()
      return
    }
    let delay = this.#interval
    if (this.#mayFlush && !this.#orphaned) {
      try {
        // More changed keys than a batch holds go in batches back to back
        // (a few per tick: the totals' refresh and the next tick come too).
        if (this.#state.lease()) await this.#flushAll(BATCHES_PER_TICK)
        this.#failures = 0
      } catch (err) {
        // A flush's failure is kept already (#flushOnce); the lease's here.
        if (err !== this.#lastError) this.#failed(err)
        this.#failures++
        // Exponential, with jitter: hosts that lost Redis together do not come back in step.
        const backoff = Math.min(this.#maxBackoff, this.#interval * 2 ** Math.min(this.#failures, 20))
        delay = Math.round(backoff * (0.5 + Math.random() / 2))
      }
    }
    if (this.#totals !== null) {
      try {
        await this.#ready()
        await this.#totals.refresh((args) => reply(this.#client.send(args), this.#timeout, `${args[0]} ${args[1]}`))
        this.#totalsError = null
      } catch (err) {
        this.#totalsError = err
      }
    }
    this.#schedule(delay)
  }

  // ---------------------------------------------------------------- flushing

  /** Runs one flush after any running one (one at a time per object). */
  #run() {
    const before = this.#running ?? Promise.resolve()
    const next = before.catch(() => {}).then(() => this.#flushOnce())
    this.#running = next
    next.then(
      () => {
        if (this.#running === next) this.#running = null
      },
      () => {
        if (this.#running === next) this.#running = null
      },
    )
    return next
  }

  /**
   * One batch: the pending one again if there is one, else the rows changed
   * now. Resolves with { outcome, seq, keys }; rejects (the batch kept) when
   * Redis fails or refuses it.
   */
  async #flushOnce() {
    const st = this.#state
    if (!st.leased) return { outcome: 'not-flusher', seq: st.get(W.ACKED), keys: 0 }
    try {
      if (this.#view.closed) throw closedError()
      this.#checkOwner()
      if (this.#shadow === null) this.#prepare()
      // The scan comes first, so that lag and pending count the changes
      // while Redis cannot be reached (ready() waits for it too).
      let seq = st.get(W.PENDING)
      const staged = seq === 0
      let batch
      if (staged) {
        batch = this.#stage()
        if (batch.length === 0) {
          st.set(W.SCAN_DONE, this.#scan)
          return { outcome: 'idle', seq: st.get(W.ACKED), keys: 0 }
        }
        seq = st.get(W.PENDING)
      } else {
        batch = this.#pendingRows()
      }
      const args = this.#args(seq, batch)
      await this.#ready()
      const answer = String(await reply(this.#sendBatch(seq, args), this.#timeout, `sync batch ${seq} of ${JSON.stringify(this.#name)}`))
      // This sending is answered: the next attempt sends again.
      this.#sending = null
      if (answer.startsWith('old ')) {
        st.bump(W.CONFLICTS)
        throw codedError(
          'ERR_ATOMIC_DICT_SYNC_CONFLICT',
          `atomic-dict: Redis has applied batch ${answer.slice(4)} of host ${st.hostHex} for ${JSON.stringify(this.#name)}, after this host's batch ${seq}: ` +
            `another host uses the same state (a copy of ${st.path}?); the batch is kept, not sent`,
        )
      }
      if (answer !== 'ok' && answer !== 'dup' && !answer.startsWith('gap ')) {
        throw codedError('ERR_ATOMIC_DICT_INTERNAL', `atomic-dict: sync.lua answered ${JSON.stringify(answer.slice(0, 60))}`)
      }
      failpoint('sync-after-apply')
      this.#fold(seq, batch)
      // The scan that staged it is done when nothing it saw is left behind.
      if (staged && st.get(W.PENDING_KEYS) === 0) st.set(W.SCAN_DONE, this.#scan)
      if (answer === 'dup') st.bump(W.DUPLICATES)
      if (answer.startsWith('gap ')) st.bump(W.GAPS)
      st.set(W.FAILURES, 0)
      st.set(W.ERROR, 0)
      this.#lastError = null
      return { outcome: answer === 'ok' ? 'applied' : answer === 'dup' ? 'duplicate' : 'gap', seq, keys: batch.length, staged, covered: staged ? this.#covered : 0 }
    } catch (err) {
      this.#failed(err)
      throw err
    }
  }

  /** Keeps `err` as the last error, here and (unless this sync is orphaned: the state is another table's now) in the state. */
  #failed(err) {
    if (!this.#closed && !this.#orphaned) {
      this.#state.bump(W.FAILURES)
      this.#state.set(W.ERROR, errorCode(err))
    }
    this.#lastError = err
  }

  /** The Redis table's metadata made or checked (once), within the timeout. */
  #ready() {
    return reply(this.#redis.ready(), this.#timeout, `attaching ${JSON.stringify(this.#name)}`)
  }

  /**
   * Sends batch `seq` (its sync.lua arguments `args`), or, while an earlier
   * sending of the same batch has no answer yet (given up on after the
   * timeout), waits for that one: a long outage then keeps one copy of the
   * batch in the client's queue, not one per attempt.
   */
  #sendBatch(seq, args) {
    const o = this.#sending
    if (o !== null && o.seq === seq && !o.failed) return o.reply
    const sending = { seq, failed: false, reply: this.#client.script(SCRIPTS.sync, this.#keys, args) }
    sending.reply.catch(() => {
      sending.failed = true
    })
    this.#sending = sending
    return sending.reply
  }

  /**
   * Throws unless this table's rows are the ones the state's acked words
   * are (see SyncState#adopt): a table that took the state over from this
   * one leaves this sync without a lease for good. Finishes an adoption
   * for this table that a SIGKILL cut short.
   */
  #checkOwner() {
    const st = this.#state
    if (st.owns(this.#id)) return
    if (st.adopter === this.#id) {
      st.adopt(this.#id)
      this.#shadow = null
      return
    }
    this.#orphaned = true
    st.release()
    throw stateError(st.path, `is now the sync state of another table file (${st.owner}): this table (an older file at the same path?) no longer syncs`)
  }

  /**
   * Copies the acked words into the shadow and, when no batch is pending,
   * sets back to their acked value the targets a flusher killed while
   * staging left (with a batch pending, the targets that differ are that
   * batch, and the rest are clean: a scan starts from a clean state and
   * writes the targets of its batch only).
   */
  #prepare() {
    const st = this.#state
    const s = st.u32
    const n = this.#rows.rows
    const shadow = new Uint32Array(2 * n)
    const clean = st.get(W.PENDING) === 0
    for (let r = 0; r < n; r++) {
      const ai = st.ackedLow(r)
      shadow[2 * r] = s[ai]
      shadow[2 * r + 1] = s[ai + 1]
      if (clean) {
        const ti = st.targetLow(r)
        if (s[ti] !== s[ai] || s[ti + 1] !== s[ai + 1]) st.setTarget(r, st.acked(r))
      }
    }
    this.#shadow = shadow
  }

  /**
   * Stages the rows whose value differs from their acked value (at most
   * MAX_BATCH_KEYS, from the cursor on), and commits the batch (PENDING)
   * when it has rows. Returns its rows.
   */
  #stage() {
    const st = this.#state
    st.bump(W.SCANS)
    this.#scan = st.get(W.SCANS)
    const rows = this.#rows
    const n = rows.rows
    const l = rows.u32
    const a = this.#shadow
    const wide = rows.wide
    const out = []
    let changed = 0
    let next = -1
    const start = this.#cursor < n ? this.#cursor : 0
    for (let i = 0; i < n; i++) {
      const r = start + i < n ? start + i : start + i - n
      const li = rows.low(r)
      // Halves compared without Atomics: a torn read at most delays a change
      // to the next scan; the value staged is read atomically.
      if ((wide ? l[li] !== a[2 * r] || l[li + 1] !== a[2 * r + 1] : l[li] !== a[2 * r]) && rows.key(r) !== null) {
        changed++
        if (out.length === MAX_BATCH_KEYS && next < 0) next = r
        if (out.length < MAX_BATCH_KEYS) {
          const v = rows.value(r)
          if (v !== st.acked(r)) {
            st.setTarget(r, v)
            out.push(r)
            if (out.length === 1) failpoint('sync-mid-stage')
          }
        }
      }
    }
    // The next scan starts at the first changed row this batch had no room
    // for; the rows before it were all looked at.
    this.#cursor = next < 0 ? 0 : next
    this.#covered = next < 0 ? n : (next - start + n) % n
    const now = Date.now()
    st.set(W.PENDING_KEYS, changed)
    if (changed === 0) st.set(W.CHANGED_AT, 0)
    else if (st.get(W.CHANGED_AT) === 0) st.set(W.CHANGED_AT, now)
    if (out.length > 0) {
      st.set(W.STAGED_AT, now)
      st.set(W.PENDING, st.get(W.ACKED) + 1)
      failpoint('sync-after-stage')
    }
    return out
  }

  /** The pending batch's rows: those whose target differs from their acked value. */
  #pendingRows() {
    const st = this.#state
    const s = st.u32
    const out = []
    for (let r = 0; r < this.#rows.rows; r++) {
      const ai = st.ackedLow(r)
      const ti = st.targetLow(r)
      if (s[ti] !== s[ai] || s[ti + 1] !== s[ai + 1]) out.push(r)
    }
    return out
  }

  /** sync.lua's arguments for batch `seq` of `batch` (rows). */
  #args(seq, batch) {
    const st = this.#state
    const rows = this.#rows
    const pairs = []
    const deltas = []
    const sent = new Set()
    for (const r of batch) {
      const key = rows.key(r)
      if (key === null) throw codedError('ERR_ATOMIC_DICT_INTERNAL', `atomic-dict: row ${r} of the pending batch holds no key`)
      if (key.strings.length > 0 && !this.#named.has(r)) {
        // Rows share strings (a metrics series' rows, its descriptor): each part once a batch.
        for (let i = 0; i < key.strings.length; i += 2) {
          if (sent.has(key.strings[i])) continue
          sent.add(key.strings[i])
          pairs.push(key.strings[i], key.strings[i + 1])
        }
      }
      deltas.push(key.field, rows.delta(key, st.target(r), st.acked(r)))
    }
    return [st.hostHex, String(seq), String(pairs.length / 2), ...pairs, deltas.join(' ')]
  }

  /** Redis applied batch `seq` (now or before): its rows' acked values become their targets. */
  #fold(seq, batch) {
    const st = this.#state
    const half = batch.length >> 1
    const shadow = this.#shadow
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]
      const t = st.target(r)
      st.setAcked(r, t)
      shadow[2 * r] = Number(t & 0xffff_ffffn)
      shadow[2 * r + 1] = Number(t >> 32n)
      this.#named.add(r)
      if (i === half && batch.length > 1) failpoint('sync-mid-fold')
    }
    const left = st.get(W.PENDING_KEYS) - batch.length
    st.set(W.ACKED, seq)
    st.set(W.PENDING, 0)
    st.set(W.PENDING_KEYS, Math.max(0, left))
    // Nothing seen is left: the next scan dates what changed since.
    if (left <= 0) st.set(W.CHANGED_AT, 0)
    st.set(W.ACK_AT, Date.now())
    st.bump(W.BATCHES)
    st.bump(W.KEYS, batch.length)
  }

  /**
   * Flushes now, if this process is (or can become) the host's flusher:
   * the pending batch, then the changed rows, until none is left. Resolves
   * with { outcome, seq, keys } ('applied', 'duplicate', 'gap', 'idle' or
   * 'not-flusher'; `keys` sent in all); rejects when Redis fails (the
   * changes stay, for the next flush).
   */
  flush() {
    return promised(() => {
      if (this.#closed || this.#closing !== null) throw closedError()
      return this.#flushAll()
    })
  }

  /**
   * Flushes until what changed before the call has gone: the pending batch
   * again if there is one, then batches until the scans made since the
   * call have looked at every row (scans take turns over the rows, so this
   * ends while keys keep changing). `most`: a cap on batches.
   */
  async #flushAll(most = Infinity) {
    if (this.#orphaned) throw this.#lastError
    if (!this.#mayFlush || !this.#state.lease()) return { outcome: 'not-flusher', seq: this.#state.get(W.ACKED), keys: 0 }
    let last = null
    let keys = 0
    let covered = 0
    for (let n = 0; n < most; n++) {
      const r = await this.#run()
      if (r.outcome === 'idle' || r.outcome === 'not-flusher') break
      last = r
      keys += r.keys
      if (r.staged) {
        covered += r.covered
        if (covered >= this.#rows.rows) break
      }
    }
    return last === null ? { outcome: 'idle', seq: this.#state.get(W.ACKED), keys: 0 } : { outcome: last.outcome, seq: last.seq, keys }
  }

  // ---------------------------------------------------------------- totals

  /** The total of `key` over every host, as Redis has it (a bigint). */
  total(key) {
    return promised(() => {
      if (this.#closed) throw closedError()
      return this.#redis.load(key)
    })
  }

  /**
   * This process's table of the totals (64-bit values), refreshed every
   * interval from the keys changed in Redis since its last refresh. Made at
   * the first read; write nothing to it.
   */
  get totals() {
    if (this.#closed) throw closedError()
    if (this.#totals === null) this.#totals = new SyncTotals(this.#totalsCapacity, this.#shape, this.#codec, this.#keys)
    return this.#totals.table
  }

  /**
   * A MetricsStore's sync: the global totals of every host's counters and
   * histograms in Redis (as of their last flushes), as a Prometheus text
   * exposition (readSyncedMetrics, lib/redis/sync-metrics-read.js).
   */
  metrics() {
    return promised(() => {
      if (this.#closed) throw closedError()
      if (this.#kind !== 'metrics') throw codedError('ERR_INVALID_STATE', 'atomic-dict: metrics() is for the sync of a MetricsStore; use total() or totals')
      return readMetrics(this.#client, this.#name)
    })
  }

  // ---------------------------------------------------------------- state

  /** Whether this process holds the host's lease (it is the one that flushes). */
  get flusher() {
    return !this.#closed && this.#state.leased
  }

  /** Milliseconds since the oldest change not yet acknowledged by Redis was seen (0: none waits). */
  get lag() {
    if (this.#closed) throw closedError()
    const at = this.#state.get(W.CHANGED_AT)
    return at === 0 ? 0 : Math.max(0, Date.now() - at)
  }

  /** Keys with changes not yet acknowledged by Redis, as of the flusher's last scan. */
  get pending() {
    if (this.#closed) throw closedError()
    return this.#state.get(W.PENDING_KEYS)
  }

  /** The host's sync state, as every process of it sees it. */
  stats() {
    if (this.#closed) throw closedError()
    const st = this.#state
    const ackAt = st.get(W.ACK_AT)
    return {
      name: this.#name,
      state: st.path,
      host: st.hostHex,
      seq: st.get(W.ACKED),
      pendingSeq: st.get(W.PENDING),
      pending: st.get(W.PENDING_KEYS),
      lag: this.lag,
      flusher: this.flusher,
      flusherPid: st.get(W.PID),
      batches: st.get(W.BATCHES),
      keys: st.get(W.KEYS),
      duplicates: st.get(W.DUPLICATES),
      gaps: st.get(W.GAPS),
      conflicts: st.get(W.CONFLICTS),
      failures: st.get(W.FAILURES),
      lastError: ERRORS[st.get(W.ERROR)] || null,
      lastFlushAt: ackAt === 0 ? null : ackAt,
      totalsError: (this.#totalsError ?? this.#totals?.full)?.code ?? null,
    }
  }

  /** The last error this process's flushes met (null after a flush that worked). */
  get lastError() {
    return this.#lastError
  }

  /** The Redis table of the totals (a RedisDict with 64-bit values). */
  get redis() {
    return this.#redis
  }

  /**
   * Registers the sync's metrics in `register` (a prom-client registry):
   * atomic_dict_sync_lag_seconds, _pending_keys, _batches_total,
   * _keys_total, _failures, _flusher (1 in the process that flushes), each
   * labelled { table: name }, prefixed with `prefix`.
   */
  collectMetrics(options) {
    const o = checkOptions(options, ['register', 'prefix'], 'collectMetrics')
    const register = o.register
    if (register === null || typeof register !== 'object' || typeof register.registerMetric !== 'function') {
      throw typeError('options.register', 'a registry (an object with registerMetric)', register)
    }
    const prefix = o.prefix ?? ''
    if (typeof prefix !== 'string') throw typeError('options.prefix', 'a string', prefix)
    const labels = { table: this.#name }
    const read = (w) => () => (this.#closed ? 0 : this.#state.get(w))
    const made = [
      storeMetric(`${prefix}atomic_dict_sync_lag_seconds`, 'Age of the oldest local change Redis has not acknowledged (this host)', 'gauge', () => (this.#closed ? 0 : this.lag / 1000), labels),
      storeMetric(`${prefix}atomic_dict_sync_pending_keys`, 'Keys with changes Redis has not acknowledged (this host)', 'gauge', read(W.PENDING_KEYS), labels),
      storeMetric(`${prefix}atomic_dict_sync_batches_total`, 'Batches Redis acknowledged (this host)', 'counter', read(W.BATCHES), labels),
      storeMetric(`${prefix}atomic_dict_sync_keys_total`, 'Keys sent in acknowledged batches (this host)', 'counter', read(W.KEYS), labels),
      storeMetric(`${prefix}atomic_dict_sync_failures`, 'Flushes that failed in a row (this host)', 'gauge', read(W.FAILURES), labels),
      storeMetric(`${prefix}atomic_dict_sync_flusher`, '1 in the process that flushes this host to Redis', 'gauge', () => (this.flusher ? 1 : 0), labels),
    ]
    // Every process of a host reads the same host-wide words: not summed.
    for (const m of made) if (m.name !== `${prefix}atomic_dict_sync_flusher`) m.aggregator = 'max'
    for (const m of made) register.registerMetric(m)
    return made
  }

  // ---------------------------------------------------------------- closing

  /**
   * Stops syncing in this process. The flusher (or a process that can take
   * the lease) flushes first; if that fails, it rejects with
   * ERR_ATOMIC_DICT_SYNC_UNDELIVERED (`err.pending` keys), the changes
   * staying in the state for the next process of the host.
   */
  close() {
    if (this.#closing === null) this.#closing = this.#close()
    return this.#closing
  }

  async #close() {
    // Stopped already: the table was closed under it.
    if (this.#closed) return
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    let failure = null
    if (!this.#orphaned && !this.#view.closed) {
      try {
        const r = await this.#flushAll()
        if (r.outcome === 'not-flusher') await this.#delivered()
      } catch (err) {
        failure = err
      }
    } else if (this.#running !== null) {
      await this.#running.catch(() => {})
    }
    const pending = this.#state.get(W.PENDING_KEYS)
    this.#stop()
    if (failure !== null) {
      const e = codedError(
        'ERR_ATOMIC_DICT_SYNC_UNDELIVERED',
        `atomic-dict: ${pending} changed key(s) of ${JSON.stringify(this.#name)} were not delivered to Redis (${failure.message}); ` +
          `they stay in ${this.#state.path}, for the next process of this host that syncs`,
      )
      e.pending = pending
      e.cause = failure
      throw e
    }
  }

  /**
   * For a close() without the lease: waits until the changes made before it
   * are in Redis, through the flusher's scan begun after it, or this
   * process's own flush once it can take the lease (the flusher closed
   * meanwhile); rejects with ERR_ATOMIC_DICT_SYNC_TIMEOUT after `timeout`.
   */
  async #delivered() {
    const st = this.#state
    const after = st.get(W.SCANS)
    const until = Date.now() + this.#timeout
    for (;;) {
      if (st.get(W.SCAN_DONE) > after) return
      if (this.#mayFlush && st.lease()) {
        await this.#flushAll()
        return
      }
      if (Date.now() >= until) {
        throw codedError('ERR_ATOMIC_DICT_SYNC_TIMEOUT', `atomic-dict: the host's flusher (pid ${st.get(W.PID)}) did not deliver this process's changes within ${this.#timeout} ms (it still may)`)
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.#interval, 10)))
    }
  }

  #stop() {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#lift()
    synced.delete(this.#dict)
    this.#state.close()
    if (this.#totals !== null) this.#totals.close()
  }

  /** `using`: closes without waiting (an undelivered change stays in the state, for the next process). */
  [DISPOSE]() {
    this.close().catch(() => {})
  }

  /** `await using`: close(), whose rejection (ERR_ATOMIC_DICT_SYNC_UNDELIVERED) reaches the caller. */
  [ASYNC_DISPOSE]() {
    return this.close()
  }

  [INSPECT](depth, options) {
    return inspected('Sync', depth, options, () => (this.#closed ? 'closed' : `${JSON.stringify(this.#name)}, seq ${this.#state.get(W.ACKED)}, ${this.pending} pending${this.flusher ? ', flusher' : ''}`))
  }

  get [Symbol.toStringTag]() {
    return 'Sync'
  }
}

/**
 * Syncs `table` (an AtomicDict or Counters in shared memory) to the Redis
 * table `name` through `client`: returns a Sync (see the class).
 */
function syncToRedis(table, client, name, options) {
  return new Sync(table, client, name, options)
}

/**
 * Every host that has flushed to the Redis table `name`: [{ host, seq, at }]
 * (its last applied batch and when, ms since the epoch), by host.
 */
async function syncStatus(client, name) {
  const c = adapt(client)
  const n = tableName(name)
  let r
  try {
    r = await c.send(['HGETALL', `{${n}}:h`])
  } catch (err) {
    throw commandError(err, `reading the sync status of ${JSON.stringify(n)}`)
  }
  const hosts = new Map()
  for (const [f, value] of hashReply(r)) {
    const v = Number(value)
    if (/^[0-9a-f]{16}$/.test(f)) hosts.set(f, { host: f, seq: v, at: hosts.get(f)?.at ?? null })
    else if (/^[0-9a-f]{16}:at$/.test(f)) {
      const h = f.slice(0, 16)
      hosts.set(h, { host: h, seq: hosts.get(h)?.seq ?? 0, at: v })
    }
  }
  return [...hosts.values()].sort((a, b) => (a.host < b.host ? -1 : 1))
}

module.exports = { syncToRedis, syncStatus, Sync }
