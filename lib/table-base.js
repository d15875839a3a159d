'use strict'
// What AtomicDict and AtomicSet share: reaching a table from other threads
// and processes, auditing it, closing it. Each subclass names its kind and
// its options parser under the symbols below.

const tables = require('./table-memory')
const share = require('./attach')
const { expectOf, checkExpect } = require('./expect')
const { DISPOSE, INSPECT, inspected, keyShape, valueType, refuseCloning } = require('./node-conventions')

/** Static symbols a subclass defines: its kind ('dict' | 'set') and options parser. */
const KIND = Symbol('atomic-dict kind')
const GEOMETRY = Symbol('atomic-dict geometry')

class SharedTable {
  constructor() {
    refuseCloning(this) // posted to a thread as is, it would arrive as {}
  }

  /**
   * The table a parent shared as `name` (spawn/fork `share` option, or
   * shareWithCluster). `options.expect`, when given, is the shape it must
   * have (else ERR_ATOMIC_DICT_GEOMETRY, and the table is closed again).
   */
  static inherit(name, options) {
    const expect = expectOf(options, this[KIND])
    const parts = share.inherit(name, this[KIND])
    return new this(tables.FROM_NATIVE, checkExpect(parts, expect, this[KIND], `shared table ${JSON.stringify(name)}`, tables.closeTable))
  }

  /** The table a `share()` descriptor names, in a worker thread of the same process; `options.expect` as for inherit. */
  static attach(descriptor, options) {
    const expect = expectOf(options, this[KIND])
    const parts = share.attachDescriptor(descriptor, this[KIND])
    return new this(tables.FROM_NATIVE, checkExpect(parts, expect, this[KIND], 'the descriptor', tables.closeTable))
  }

  /**
   * The table in the file at `path`, created when absent (unless `create:
   * false`). Its shape options, given or left to their defaults, must match
   * an existing file (else ERR_ATOMIC_DICT_GEOMETRY).
   */
  static open(path, opts) {
    return new this(tables.FROM_NATIVE, share.open(path, opts, this[KIND], this[GEOMETRY]))
  }

  /** Removes a named table's file; processes that have it open keep it. */
  static unlink(path) {
    share.unlink(path)
  }

  /** A plain, structured-clonable descriptor for `attach` in worker threads. */
  share() {
    return share.describe(this)
  }

  /** Whether this object created the table (rather than attaching to an existing one). */
  get created() {
    return tables.internals.get(this).native.created
  }

  /**
   * Audits every row: no key in two rows, every key reachable from its home
   * block, the entry count equal to the complete rows, the admission counter
   * equal to the claimed rows (above them: admissions leaked by inserters
   * killed between admission and claim), and the string area's index when
   * there is one (every entry's record valid, no part twice, the count of
   * strings right). Meant for a table no
   * one is inserting into at the moment (inserts in flight show as partial
   * rows). Returns { ok, entries, reserved, completeRows, partialRows,
   * duplicateKeys, unreachableKeys, strings, badStrings, problems }.
   */
  verify() {
    return tables.verify(tables.internals.get(this))
  }

  /**
   * Recounts `size` and the admission counter from the rows (and the
   * string area's count of strings from its index), for a table
   * nobody is changing at the moment: a process killed in the instant
   * between inserting a key and counting it leaves `size` one short, one
   * killed between taking a unit of capacity and claiming a row leaves the
   * unit taken for good (and `verify()` says so). On a table in use it would
   * give away the units of inserts in flight, letting in more than
   * `capacity` keys. Returns the audit from before the repair.
   */
  repairCounts() {
    return tables.repairCounts(tables.internals.get(this))
  }

  /**
   * The string area (the `strings` option): { bytes, used, count, refused }
   * as they are now (arena bytes, bytes allocated, strings interned,
   * strings refused for want of room), or null when the table has none.
   */
  get strings() {
    const s = tables.internals.get(this).view.stringStats()
    return s === null ? null : { bytes: s.bytes, used: s.used, count: s.count, refused: s.refused }
  }

  /** Whether `close()` has been called (on this object, or on one sharing its mapping). */
  get closed() {
    return tables.internals.get(this).view.closed
  }

  /** Releases this process's mapping; later calls throw ERR_ATOMIC_DICT_CLOSED. */
  close() {
    const t = tables.internals.get(this)
    if (t.view.closed) return
    if (t.waits) t.waits.close()
    tables.closeTable(t)
    // Every method reaches the table through its Keyed. With nothing
    // cached, every key is a miss, which asks the closed view (a miss, a
    // bulk call, an iteration): it throws ERR_ATOMIC_DICT_CLOSED. Nothing
    // is checked on the hot path.
    t.keys.empty()
  }

  /** `close()`, for `using table = new AtomicDict(...)`. */
  [DISPOSE]() {
    this.close()
  }

  /**
   * `AtomicDict(size 4 / capacity 10, 1 x u64 -> u64)`, `AtomicSet(size 3 /
   * capacity 10, 2 x u64 + 1 x u32)`, with `strings 96 / 4096 bytes` when
   * the table has a string area; `AtomicDict(closed)` once closed.
   */
  [INSPECT](depth, options) {
    const name = this[Symbol.toStringTag]
    const t = tables.internals.get(this)
    const v = t.view
    return inspected(name, depth, options, () => {
      if (v.closed) return 'closed'
      let shape = keyShape(v.k64, v.k32)
      if (t.kind === 'dict') shape += ` -> ${valueType(v.valueBits, v.signed)}`
      const strings = v.stringStats()
      const area = strings === null ? '' : `, strings ${strings.used} / ${strings.bytes} bytes`
      return `size ${v.size()} / capacity ${v.capacity}, ${shape}${area}`
    })
  }
}

/**
 * For this package's own stores: `Class.open` where the shape options left
 * out are the file's (the caller reads the shape back and checks it).
 */
function openFileShape(Class, path, opts) {
  return new Class(tables.FROM_NATIVE, share.open(path, opts, Class[KIND], Class[GEOMETRY], 0, true))
}

module.exports = { SharedTable, KIND, GEOMETRY, openFileShape }
