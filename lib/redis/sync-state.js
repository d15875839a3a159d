'use strict'
// A host's sync state (docs/SYNC.md): a table of its own in shared memory,
// beside the synced table (default `<path>.sync`), which every process of
// the host opens. It outlives any of them, so the batch a flusher staged is
// still there for the next one when it dies.
//
// It is an AtomicDict with 64-bit values whose keys are word numbers + 1:
// HEADER words, then two per row of the synced table:
//   acked(r)   the row's value as of the last batch Redis acknowledged
//   target(r)  the value the batch in flight brings it to (== acked(r)
//              when the row is not in it)
// The batch in flight ("pending") is every row whose target differs from
// its acked value, under the sequence number in the PENDING word. Only the
// flusher (the process holding the lease: an OFD lock on this file, which
// the kernel drops when its holder dies) writes, in this order:
//   stage:  target(r) = the row's value for changed rows (and = acked(r)
//           for rows a dead flusher left staged), then PENDING = ACKED + 1
//   ack:    acked(r) = target(r) for the batch's rows, then ACKED = seq,
//           then PENDING = 0
// Each step can be cut short by a SIGKILL: staging before PENDING is
// written is redone from scratch; an ack is idempotent (a store, not an
// add) and redone after the re-sent batch comes back "dup".

const crypto = require('node:crypto')
const tables = require('../table-memory')
const { AtomicDict } = require('../atomic-dict')
const { openContributors } = require('../contributors')
const { codedError } = require('../errors')
const { stringKey } = require('../strings')
const { failpoint } = require('../failpoint')

/** Header words (word n is the key n + 1). */
const W = Object.freeze({
  MAGIC: 0,
  HOST: 1,
  ROWS: 2,
  NAME: 3,
  PENDING: 4,
  ACKED: 5,
  PID: 6,
  ACK_AT: 7,
  TRY_AT: 8,
  FAILURES: 9,
  BATCHES: 10,
  KEYS: 11,
  DUPLICATES: 12,
  GAPS: 13,
  PENDING_KEYS: 14,
  CHANGED_AT: 15,
  STAGED_AT: 16,
  CONFLICTS: 17,
  ERROR: 18,
  VALUE_BITS: 19,
  // The synced table's sync id (its header's SYNC_ID word): the acked
  // words are its rows'.
  OWNER: 20,
  // A table whose sync is taking the state over (see adopt()).
  ADOPT: 21,
  // Scans the flushers made (counted at their start), and the last of them
  // whose changes Redis has (nothing changed, or its batch acknowledged):
  // a process that closes without the lease waits for a scan begun after
  // its close() to be done.
  SCANS: 22,
  SCAN_DONE: 23,
})
const HEADER = 32

/** "ADSYNC01": a state file's first word. */
const MAGIC = 0x4144_5359_4e43_3031n

/** Codes of the last error a flusher met (the ERROR word). */
const ERRORS = Object.freeze([
  '',
  'ERR_ATOMIC_DICT_CONNECTION_LOST',
  'ERR_ATOMIC_DICT_REDIS',
  'ERR_ATOMIC_DICT_SYNC_CONFLICT',
  'ERR_ATOMIC_DICT_SYNC_TIMEOUT',
  'ERR_ATOMIC_DICT_INTERNAL',
  // Redis holds `name` as a table of another shape or kind (a RedisDict made by hand, say).
  'ERR_ATOMIC_DICT_GEOMETRY',
  'ERR_ATOMIC_DICT_WRONG_KIND',
  'ERR_ATOMIC_DICT_SYNC_STATE',
  'ERR_ATOMIC_DICT_CLOSED',
  // The lease's lock refused (a kernel before 3.15, a seccomp profile; EPERM, ENOENT: the OS error's code).
  'ERR_ATOMIC_DICT_UNSUPPORTED',
  'EPERM',
  'ENOSYS',
  'ENOENT',
])

function stateError(path, message) {
  return codedError('ERR_ATOMIC_DICT_SYNC_STATE', `atomic-dict: ${path} ${message}`)
}

class SyncState {
  #dict
  #u64
  #contributors = null
  /** The value index (in a u64 view of the state's buffer) of each word. */
  #index

  /**
   * Opens (or makes) the state at `path` for a table of `rows` rows with
   * `valueBits`-bit values, synced to the Redis table `name`.
   */
  constructor(path, rows, valueBits, name) {
    this.path = path
    this.rows = rows
    const words = HEADER + 2 * rows
    this.#dict = AtomicDict.open(path, { capacity: words })
    try {
      const t = tables.internals.get(this.#dict)
      this.#u64 = t.view.u64
      this.u32 = t.view.u32
      const keys = new Array(words)
      for (let n = 0; n < words; n++) keys[n] = n + 1
      const index = new Float64Array(words)
      // Every word's key, inserted once by whichever process comes first;
      // found by the others. Their places never change (keys are never
      // removed), so each process learns them once.
      t.keys.many(keys, true, (r, n) => {
        for (let i = 0; i < n; i++) index[i] = (r[i] - (r[i] % 2)) / 2
      })
      this.#index = index
      this.#claim(W.MAGIC, MAGIC, 'is not a sync state file')
      this.#claim(W.ROWS, BigInt(rows), `is the sync state of a table with another number of rows (not ${rows})`)
      this.#claim(W.VALUE_BITS, BigInt(valueBits), `is the sync state of a table with other values (not ${valueBits}-bit)`)
      this.#claim(W.NAME, stringKey(name), `is the sync state of a table synced to another Redis name (not ${JSON.stringify(name)})`)
      const host = crypto.randomBytes(8).readBigUInt64BE() | 1n
      this.host = Atomics.compareExchange(this.#u64, this.#index[W.HOST], 0n, host) || host
    } catch (err) {
      this.#dict.close()
      throw err
    }
  }

  /** Sets header word `w` to `value` if it is 0; throws unless it holds `value` then. */
  #claim(w, value, message) {
    const was = Atomics.compareExchange(this.#u64, this.#index[w], 0n, value)
    if (was !== 0n && was !== value) throw stateError(this.path, message)
  }

  // Whose rows the acked words are. A state can outlive its table (the
  // table unlinked and made again, or on a disk that keeps it across a
  // reboot): its acked words would then be subtracted from the new
  // table's values. A table is known by its sync id (lib/format.js
  // OFF.SYNC_ID): a file made again, even in the same inode, has another.
  // Only a table that has never synced takes a state over (a table that
  // has would send its whole value again), holding the lease, with nothing
  // pending. A new table takes a state over only when nothing of
  // the old one is pending and no other process holds the lease; it marks
  // that (ADOPT) before it zeroes the rows and writes itself as the owner,
  // so that a SIGKILL half way is finished by the next holder of the lease.

  /**
   * Whether the acked words are the rows of the table whose sync id is
   * `id` (a bigint): it is the owner, and no takeover is under way (one a
   * SIGKILL cut short has zeroed some rows already).
   */
  owns(id) {
    return this.#word(W.OWNER) === id && this.#word(W.ADOPT) === 0n
  }

  /** The sync id of a table taking this state over, or 0n. */
  get adopter() {
    return this.#word(W.ADOPT)
  }

  /** The owner's sync id, in hex. */
  get owner() {
    return this.#word(W.OWNER).toString(16)
  }

  /** Makes `id` the owner of a state nobody owns yet; returns whether `id` owns it now. */
  claimOwner(id) {
    Atomics.compareExchange(this.#u64, this.#index[W.OWNER], 0n, id)
    return this.owns(id)
  }

  /**
   * Takes the state over for the table `id` (the lease held, nothing
   * pending): every row's acked and target words to 0, then `id` the owner.
   */
  adopt(id) {
    Atomics.store(this.#u64, this.#index[W.ADOPT], id)
    for (let r = 0; r < this.rows; r++) {
      this.setTarget(r, 0n)
      this.setAcked(r, 0n)
      if (r === this.rows >> 1) failpoint('sync-mid-adopt')
    }
    this.set(W.PENDING_KEYS, 0)
    this.set(W.CHANGED_AT, 0)
    Atomics.store(this.#u64, this.#index[W.OWNER], id)
    this.set(W.ADOPT, 0)
  }

  #word(w) {
    return Atomics.load(this.#u64, this.#index[w])
  }

  /** The host's id: 16 hex digits. */
  get hostHex() {
    return this.host.toString(16).padStart(16, '0')
  }

  /** Header word `w` as a number (every header word stays below 2^53). */
  get(w) {
    return Number(Atomics.load(this.#u64, this.#index[w]))
  }

  set(w, value) {
    Atomics.store(this.#u64, this.#index[w], BigInt(value))
  }

  bump(w, by = 1) {
    Atomics.add(this.#u64, this.#index[w], BigInt(by))
  }

  /** The u32 index of the low half of row `r`'s acked word (its target's is the next u64: + 2). */
  ackedLow(r) {
    return 2 * this.#index[HEADER + 2 * r]
  }

  targetLow(r) {
    return 2 * this.#index[HEADER + 2 * r + 1]
  }

  acked(r) {
    return Atomics.load(this.#u64, this.#index[HEADER + 2 * r])
  }

  target(r) {
    return Atomics.load(this.#u64, this.#index[HEADER + 2 * r + 1])
  }

  setAcked(r, v) {
    Atomics.store(this.#u64, this.#index[HEADER + 2 * r], v)
  }

  setTarget(r, v) {
    Atomics.store(this.#u64, this.#index[HEADER + 2 * r + 1], v)
  }

  /**
   * Tries to take the host's lease (non-blocking): true when this object
   * holds it (now or already). Throws on kernels without OFD locks.
   */
  lease() {
    const c = this.probe()
    if (c.slot === 0) return true
    if (c.claim(1) !== 0) return false
    c.ready()
    this.set(W.PID, process.pid)
    return true
  }

  /**
   * The lease's lock, opened (once) and tried: throws with the OS error's
   * code, or ERR_ATOMIC_DICT_UNSUPPORTED on kernels (or seccomp profiles)
   * without OFD locks, at syncToRedis rather than at a tick.
   */
  probe() {
    if (this.#contributors === null) {
      const c = openContributors(this.#dict)
      try {
        c.live(1)
      } catch (err) {
        c.close()
        throw err
      }
      this.#contributors = c
    }
    return this.#contributors
  }

  get leased() {
    return this.#contributors !== null && this.#contributors.slot === 0
  }

  /** Lets go of the lease (if held). */
  release() {
    if (this.leased) {
      if (this.get(W.PID) === process.pid) this.set(W.PID, 0)
      this.#contributors.release()
    }
  }

  /** Lets go of the lease and closes the state's descriptors (the lease's too, now rather than at collection). */
  close() {
    this.release()
    if (this.#contributors !== null) this.#contributors.close()
    this.#dict.close()
  }
}

module.exports = { SyncState, W, HEADER, ERRORS, stateError }
