'use strict'
// The shared state behind a MetricsStore object: its table, the store-wide
// words (kept in the string area's user words), finding series made by any
// process, and this process's contributor slot for per-process gauges.
//
// The table (k64: 1, k32: 1, 64-bit values, with a string area) holds only
// series rows, so its capacity is the store's `series` limit, enforced by
// the core's own admission (exact, and crash-safe). Store-wide state lives
// in the user words of a few interned strings (STORE_TEXT and friends):
//   store     metrics format version (low half) and contributor slots (high half)
//   seq       the order series become visible in
//   dropped   observations dropped because the store had no room
//   metric    one per metric name: the key part of its descriptor string,
//             which every process declaring the metric must agree with

const tables = require('../table-memory')
const { Words } = require('../table-view')
const { stringPart } = require('../strings')
const { codedError, closedError, AtomicDictFullError } = require('../errors')
const { storeFloat } = require('./float')
const { VISIBLE, FIELD, parseSeries } = require('./series')

const STORE_FORMAT = 1n
const STORE_TEXT = '{"atomic-dict-metrics":"store"}'
const SEQ_TEXT = '{"atomic-dict-metrics":"seq"}'
const DROPPED_TEXT = '{"atomic-dict-metrics":"dropped"}'

/** Keys a scan reads from the native core per call. */
const BATCH = 128

function metricText(name) {
  return JSON.stringify({ 'atomic-dict-metrics': 'metric', name })
}

function descriptorText(name, shape) {
  return JSON.stringify({ 'atomic-dict-metrics': 'descriptor', name, ...shape })
}

// A metric's help, for readers outside the process that declared it (a
// sync to Redis, lib/redis/sync-metrics.js): the text HELP_TEXT, whose key
// part the user word of HELP_OF's text holds (the first declaration's).
function helpText(name, help) {
  return JSON.stringify({ 'atomic-dict-metrics': 'help', name, help })
}

function helpOfText(name) {
  return JSON.stringify({ 'atomic-dict-metrics': 'help-of', name })
}

/** Interned once a sync of the store began: from then on, declarations keep their help. */
const HELP_KEPT_TEXT = JSON.stringify({ 'atomic-dict-metrics': 'help-kept' })

class Core {
  /**
   * `dict`: the store's AtomicDict; `processes`: contributor slots a new
   * store gets (an existing one keeps its own; when `checkProcesses`, they
   * must match).
   */
  constructor(dict, processes, checkProcesses, openContributors) {
    const internals = tables.internals.get(dict)
    const view = internals.view
    const o = dict.options
    if (o.k64 !== 1 || o.k32 !== 1 || o.valueBits !== 64 || o.signed || !view.hasStrings) {
      throw codedError(
        'ERR_ATOMIC_DICT_GEOMETRY',
        'atomic-dict: the table is not a metrics store (one needs k64: 1, k32: 1, 64-bit unsigned values and a string area)',
      )
    }
    this.dict = dict
    this.view = view
    this.keys = internals.keys
    this.u32 = view.u32
    this.u64 = view.u64
    this.values = view.values
    this.storeWord = this.internOrThrow(STORE_TEXT)
    const want = STORE_FORMAT | (BigInt(processes) << 32n)
    const before = Atomics.compareExchange(this.u64, this.storeWord, 0n, want)
    const word = before === 0n ? want : before
    if ((word & 0xffff_ffffn) !== STORE_FORMAT) {
      throw codedError('ERR_ATOMIC_DICT_GEOMETRY', `atomic-dict: the table holds a metrics store of format ${word & 0xffff_ffffn}; this version reads ${STORE_FORMAT}`)
    }
    this.processes = Number(word >> 32n)
    if (checkProcesses && this.processes !== processes) {
      throw codedError('ERR_ATOMIC_DICT_GEOMETRY', `atomic-dict: the store has ${this.processes} contributor slots (asked ${processes})`)
    }
    if (this.processes < 1 || this.processes > 4096) {
      throw codedError('ERR_ATOMIC_DICT_NOT_A_TABLE', `atomic-dict: the store's contributor slots (${this.processes}) are out of range`)
    }
    this.seqWord = this.internOrThrow(SEQ_TEXT)
    this.droppedWord = this.internOrThrow(DROPPED_TEXT)
    this.openContributors = openContributors
    /** Metric objects of this store object, by name. */
    this.metrics = new Map()
    /** Series by key part: a Series, or null for a part that is no series of ours. */
    this.byPart = new Map()
    /** The table's size at the last scan (-1: scan at the next refresh). */
    this.scanned = -1
    this.words = null
    // Contributors (per-process gauges), opened on first need.
    this.contributors = null
    this.slot = -1
    this.live = new Uint8Array(this.processes)
    this.warned = false
    this.closed = false
  }

  internOrThrow(text) {
    const word = this.view.intern(text)
    if (word < 0) throw codedError('ERR_ATOMIC_DICT_FULL', "atomic-dict: the metrics store's string area is full")
    return word
  }

  /** The user word of `text`, interning it; -1 when the string area has no room. */
  intern(text) {
    return this.view.intern(text)
  }

  /** The key part of a series string (its stringKey). */
  partOf(text) {
    return stringPart(text)
  }

  /** The series of key part `part`, if this process knows it. */
  seriesOf(part) {
    const s = this.byPart.get(part)
    return s === null ? undefined : s
  }

  adopted(series) {
    this.byPart.set(series.part, series)
  }

  // ------------------------------------------------------------ metrics

  /**
   * Declares `metric` in the store: its descriptor must equal every other
   * declaration of the name, in any process.
   */
  declare(metric, shape) {
    const name = metric._declared
    if (this.metrics.has(name)) {
      throw codedError(
        'ERR_ATOMIC_DICT_METRIC_EXISTS',
        `atomic-dict: a metric named ${name} is already declared on this store object; use that one`,
      )
    }
    const text = descriptorText(name, shape)
    this.internOrThrow(text)
    const part = stringPart(text)
    const word = this.internOrThrow(metricText(name))
    const before = Atomics.compareExchange(this.u64, word, 0n, part)
    if (before !== 0n && before !== part) {
      const theirs = this.view.decode(before)
      throw codedError(
        'ERR_ATOMIC_DICT_METRIC_MISMATCH',
        `atomic-dict: metric ${name} is declared as ${text} here, but as ${theirs ?? 'something else'} in the store ` +
          '(every process must declare a metric alike; give a changed metric a new name, or use a new store file)',
      )
    }
    if (this.helpKept()) this.declareHelp(name, metric.help)
    this.metrics.set(name, metric)
    // Parts seen before as "no series of ours" may be this metric's.
    for (const [p, s] of this.byPart) if (s === null) this.byPart.delete(p)
    this.scanned = -1
  }

  /**
   * Keeps the help of metric `name` in the store, unless a declaration did
   * before (the first one's stays); skipped when the string area is full
   * (readers then have none). Only in a store a sync began on (keepHelp):
   * other stores' string areas hold series only.
   */
  declareHelp(name, help) {
    const text = helpText(name, help)
    // The help first: a help-of marker without its help would be space lost.
    if (this.intern(text) < 0) return
    const word = this.intern(helpOfText(name))
    if (word >= 0) Atomics.compareExchange(this.u64, word, 0n, stringPart(text))
  }

  /** Whether a sync of this store began (its declarations keep their help). */
  helpKept() {
    return this.view.decode(stringPart(HELP_KEPT_TEXT)) === HELP_KEPT_TEXT
  }

  /** A sync of this store begins: the help of this process's metrics, and of every later declaration, is kept. */
  keepHelp() {
    this.intern(HELP_KEPT_TEXT)
    for (const [name, metric] of this.metrics) this.declareHelp(name, metric.help)
  }

  /**
   * Forgets `metric` (a constructor that failed after declaring it) and the
   * series it made or found, so that a retry finds them as its own.
   */
  undeclare(metric) {
    if (this.metrics.get(metric._declared) !== metric) return
    this.metrics.delete(metric._declared)
    for (const s of metric._all) this.byPart.delete(s.part)
    this.scanned = -1
  }

  // ------------------------------------------------------------ rows

  /**
   * Finds or inserts the rows [part, field] for `fields`; returns their
   * value indexes, or null when the table is full (rows found or inserted
   * before the one that did not fit stay, at zero).
   */
  insertRows(part, fields) {
    // Several rows (a histogram's): refuse at once when they cannot all fit,
    // rather than leave some inserted. Processes inserting at the same
    // moment can still leave a part (documented), never more than the limit.
    if (fields.length > 1 && this.view.capacity - this.view.size() < fields.length) {
      let missing = 0
      for (const f of fields) if (this.keys.slot([part, f], false) < 0) missing++
      if (this.view.capacity - this.view.size() < missing) return null
    }
    const keys = fields.map((f) => [part, f])
    try {
      return this.keys.many(keys, true, (r, n) => {
        const out = new Array(n)
        for (let i = 0; i < n; i++) out[i] = (r[i] - (r[i] % 2)) / 2
        return out
      })
    } catch (err) {
      if (err instanceof AtomicDictFullError) return null
      throw err
    }
  }

  /** Calls `fn(part, field, slot)` for every complete row of the table. */
  scan(fn) {
    const view = this.view
    if (this.words === null) this.words = new Words(2 + BATCH * 3)
    const words = this.words
    let from = 0
    while (from < view.rows) {
      view.keyRows(from, words)
      const found = words.f64[0]
      from = words.f64[1]
      for (let j = 0; j < found; j++) {
        const at = 2 + j * 3
        fn(words.u64[at + 1], words.u32[2 * (at + 2)], words.f64[at])
      }
    }
  }

  /**
   * Brings this process's view of the store up to date for reading: finds
   * series and rows other processes made since the last scan (the table's
   * size tells: rows are never removed, so an unchanged size means nothing
   * new), and, when `liveness`, which contributors are alive (a few fcntl
   * calls: only per-process gauges need them).
   */
  refresh(liveness) {
    const size = this.view.size()
    if (size !== this.scanned) {
      this.scan((part, field, slot) => {
        let s = this.byPart.get(part)
        if (s === undefined) s = this.adopt(part)
        if (s !== null) s.metric._attach(s, field, slot)
      })
      this.scanned = size
    }
    if (liveness && this.contributors !== null) {
      this.live.fill(0)
      for (const slot of this.contributors.live(this.processes)) this.live[slot] = 1
    }
  }

  /** A part not seen before: the series of one of this store object's metrics, or null. */
  adopt(part) {
    let series = null
    const text = this.view.decode(part)
    if (text !== undefined) {
      const word = this.view.decodedWord
      const name = nameOf(text)
      const metric = name === null ? undefined : this.metrics.get(name)
      if (metric !== undefined) {
        const values = parseSeries(text, name, metric.labelNames.length)
        if (values !== null) series = metric._adopt(part, values, word)
      }
    }
    this.byPart.set(part, series)
    return series
  }

  // ------------------------------------------------------------ meta words

  /** The next seq (the order series become visible in). */
  nextSeq() {
    return Number((Atomics.add(this.u64, this.seqWord, 1n) + 1n) & 0xffff_ffffn)
  }

  /**
   * Sets `series` VISIBLE with a new seq and label order `code`, unless it
   * is visible already; `reorder`: a visible series keeps its seq and takes
   * `code` (prom-client's zero() replaces a series' labels object in place).
   */
  revive(series, code, reorder = false) {
    const u64 = this.u64
    const flags = BigInt((VISIBLE | code) >>> 0) << 32n
    let next = -1n
    for (;;) {
      const cur = Atomics.load(u64, series.word)
      let want
      if ((Number(cur >> 32n) & VISIBLE) !== 0) {
        if (!reorder) return
        want = (cur & 0xffff_ffffn) | flags
        if (want === cur) return
      } else {
        if (next < 0n) next = BigInt(this.nextSeq()) | flags
        want = next
      }
      if (Atomics.compareExchange(u64, series.word, cur, want) === cur) return
    }
  }

  /** Clears `series`' VISIBLE bit (it keeps its seq and order until revived). */
  hide(series) {
    const u64 = this.u64
    const bit = BigInt(VISIBLE) << 32n
    for (;;) {
      const cur = Atomics.load(u64, series.word)
      if ((cur & bit) === 0n) return
      if (Atomics.compareExchange(u64, series.word, cur, cur & ~bit) === cur) return
    }
  }

  // ------------------------------------------------------------ dropping

  /** Counts an observation the store had no room for; warns once per store object. */
  dropped() {
    if (this.closed) throw closedError()
    Atomics.add(this.u64, this.droppedWord, 1n)
    if (this.warned) return
    this.warned = true
    const e = codedError(
      'ERR_ATOMIC_DICT_FULL',
      `atomic-dict: the metrics store holds its limit of ${this.view.capacity} series (or its string area is full); ` +
        'observations of new series are dropped and counted in atomic_dict_metrics_dropped_total ' +
        '(store.collectStoreMetrics()); make the store with a larger `series`',
    )
    e.name = 'AtomicDictMetricsWarning'
    process.emitWarning(e)
  }

  droppedCount() {
    return Number(Atomics.load(this.u64, this.droppedWord))
  }

  // ------------------------------------------------------------ contributors

  /**
   * This process's contributor slot for per-process gauges, claimed on
   * first need: a dead former owner's leftover contributions are zeroed
   * before the slot is declared ready, so readers never count them.
   */
  contributorSlot() {
    if (this.slot >= 0) return this.slot
    if (this.closed) throw closedError()
    if (this.contributors === null) {
      try {
        this.contributors = this.openContributors(this.dict)
      } catch (err) {
        throw codedError(
          'ERR_ATOMIC_DICT_NO_LIVENESS',
          `atomic-dict: per-process gauges need process liveness (open file description locks through /proc/self/fd): ${err.message}. ` +
            "Use aggregate: 'last' where /proc is not mounted",
        )
      }
    }
    const slot = this.contributors.claim(this.processes)
    if (slot < 0) {
      throw codedError(
        'ERR_ATOMIC_DICT_FULL',
        `atomic-dict: all ${this.processes} contributor slots of the metrics store are held by live store objects`,
      )
    }
    const mine = FIELD.PROCESS + slot
    const values = this.values
    this.scan((part, field, index) => {
      if (field === mine) storeFloat(values, index, 0)
    })
    this.contributors.ready()
    this.slot = slot
    this.live[slot] = 1
    return slot
  }

  /** An error thrown while using the store's memory, explained if the store was closed meanwhile. */
  explain(err) {
    return this.closed ? closedError() : err
  }

  close() {
    if (this.closed) return
    this.closed = true
    // Its descriptor closed now, not when the object is collected.
    if (this.contributors !== null) this.contributors.close()
    this.dict.close()
  }
}

/**
 * What the store's strings say of the series whose key part is `part`, read
 * from the table's view alone (no metric object needed; for a sync, see
 * lib/redis/sync-metrics.js): { name, series (its string), descriptor (its
 * metric's descriptor string) and descriptorPart, help (a string, or null
 * when the store holds none) and helpPart }, or undefined when `part` is no
 * series of a declared metric.
 */
function seriesInfo(view, part) {
  const series = view.decode(part)
  if (series === undefined) return undefined
  const name = nameOf(series)
  if (name === null) return undefined
  const descriptorPart = wordOf(view, metricText(name))
  const descriptor = descriptorPart === 0n ? undefined : view.decode(descriptorPart)
  if (descriptor === undefined) return undefined
  const helpPart = wordOf(view, helpOfText(name))
  const help = helpPart === 0n ? null : (view.decode(helpPart) ?? null)
  return { name, series, descriptor, descriptorPart, help, helpPart: help === null ? 0n : helpPart }
}

/** The user word of the interned `text` (0n when it is not interned), without interning it. */
function wordOf(view, text) {
  const part = stringPart(text)
  if (part === null || view.decode(part) !== text) return 0n
  return Atomics.load(view.u64, view.decodedWord)
}

/** The metric name a series string starts with (`["name",...`), or null. */
function nameOf(text) {
  if (text.charCodeAt(0) !== 0x5b || text.charCodeAt(1) !== 0x22) return null
  const end = text.indexOf('"', 2)
  return end < 0 ? null : text.slice(2, end)
}

module.exports = { Core, seriesInfo }
