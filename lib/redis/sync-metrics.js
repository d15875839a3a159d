'use strict'
// A MetricsStore as a sync source (docs/SYNC.md, "Metrics"): the rows of
// its counters and histograms go to Redis as deltas, so that the stores of
// several hosts add up there to global totals (read back as a Prometheus
// exposition by lib/redis/sync-metrics-read.js).
//
// What syncs, per row of the store's table (key [series part, field],
// lib/metrics/series.js):
//   counter    its value (field VALUE, a float64)        -> "{t}:f", a float total
//   histogram  its sum (field VALUE, a float64)          -> "{t}:f"
//              its bucket counts (BUCKET + i, integers)  -> "{t}:d", exact
//   gauge      nothing. A gauge is a level, not a count: its global value is
//              a function of each live host's current level (a max, a min,
//              the last set, or a sum over the hosts alive now). Deltas do
//              not commute with set(), a sum of deltas keeps a dead host's
//              last level for ever, and max/min/last are no sums at all.
//              Per-process gauge rows (field PROCESS + slot) neither.
//
// A row's Redis field is "<g>:<field>" (the RedisDict layout of the sync's
// k64 1, k32 1 table), where <g> is the key part of the row's "synced
// series" string, {"atomic-dict-metrics":"synced","descriptor":"<part>",
// "series":[name, ...label values]}: the series together with its metric's
// declaration, so that hosts that declare a metric differently (other
// buckets, after a rolling deploy say) never add into the same totals. The
// strings go to "{t}:s" with the row's first batch: the synced series, the
// metric's descriptor (type, labelNames, buckets) and its help.

const tables = require('../table-memory')
const { Words } = require('../table-view')
const { stringPart } = require('../strings')
const { codedError } = require('../errors')
const { MetricsStore, KEEP_HELP } = require('../metrics/store')
const { seriesInfo } = require('../metrics/core')
const { FIELD, parseSeries } = require('../metrics/series')
const { guard: guardDict } = require('./sync-guard')

const F64 = new Float64Array(2)
const BITS = new BigUint64Array(F64.buffer)

/** A row's kind: a float total, or an integer one. */
const FLOAT = 1
const INTEGER = 2

/** The "synced series" string of the series of metric `name` with label `values`, of the descriptor at `descriptorPart`. */
function syncedText(descriptorPart, name, values) {
  return JSON.stringify({ 'atomic-dict-metrics': 'synced', descriptor: descriptorPart.toString(), series: [name, ...values] })
}

/**
 * What a synced series needs of its metric's descriptor (the store's JSON,
 * lib/metrics/core.js): its type, label count and buckets, or null when the
 * metric does not sync (a gauge) or the text is not a descriptor.
 */
function parseDescriptor(text) {
  let d
  try {
    d = JSON.parse(text)
  } catch {
    return null
  }
  if (d === null || typeof d !== 'object' || d['atomic-dict-metrics'] !== 'descriptor' || !Array.isArray(d.labelNames)) return null
  if (d.type === 'counter') return { type: 'counter', labels: d.labelNames.length, buckets: 0 }
  if (d.type === 'histogram' && Array.isArray(d.buckets)) return { type: 'histogram', labels: d.labelNames.length, buckets: d.buckets.length }
  return null
}

class MetricRows {
  #view
  #words
  /** Each row's entry (or null: not synced), once its key is complete. */
  #fields = new Map()
  /** Each series part's { g, strings, type, buckets } (or null: it does not sync). */
  #series = new Map()

  /** `view`: the store's TableView (k64 1, k32 1, 64-bit values, strings). */
  constructor(view) {
    this.#view = view
    this.rows = view.rows
    this.wide = true
    this.u32 = view.u32
    this.u64 = view.u64
    this.floats = true
    this.#words = new Words(2 + 1 + view.parts)
  }

  /** The u32 index of row `r`'s value (its low half). */
  low(r) {
    return 2 * this.#view.valueIndex(r)
  }

  /** Row `r`'s value's bits (a bigint), read atomically. */
  value(r) {
    return Atomics.load(this.u64, this.#view.valueIndex(r))
  }

  /**
   * Row `r`'s { field, strings, kind }, or null when the row does not sync
   * (a gauge's, another row of the store) or holds no complete key yet.
   */
  key(r) {
    const known = this.#fields.get(r)
    if (known !== undefined) return known
    const view = this.#view
    const words = this.#words
    if (!view.rowKey(r, words)) return null
    const part = words.u64[3]
    const field = words.u32[2 * 4]
    const series = this.#seriesOf(part)
    let entry = null
    if (series !== null) {
      if (field === FIELD.VALUE) entry = { field: `${series.g}:${field}`, strings: series.strings, kind: FLOAT }
      else if (series.type === 'histogram' && field >= FIELD.BUCKET && field <= FIELD.BUCKET + series.buckets) {
        entry = { field: `${series.g}:${field}`, strings: series.strings, kind: INTEGER }
      }
    }
    this.#fields.set(r, entry)
    return entry
  }

  /** What syncs of the series whose key part is `part` (its strings are published before its rows). */
  #seriesOf(part) {
    const known = this.#series.get(part)
    if (known !== undefined) return known
    let out = null
    const info = seriesInfo(this.#view, part)
    const d = info === undefined ? null : parseDescriptor(info.descriptor)
    const values = d === null ? null : parseSeries(info.series, info.name, d.labels)
    if (values !== null) {
      const text = syncedText(info.descriptorPart, info.name, values)
      const g = stringPart(text)
      const strings = [g.toString(), text, info.descriptorPart.toString(), info.descriptor]
      if (info.help !== null) strings.push(info.helpPart.toString(), info.help)
      out = { g, strings, type: d.type, buckets: d.buckets }
    }
    this.#series.set(part, out)
    return out
  }

  /**
   * The change of a row from the bits `a` to the bits `t`: for a count,
   * the unpadded hex of the 64-bit difference; for a float (a counter's
   * value, a histogram's sum: plain float64 bits, never the "keyed" words
   * of lib/metrics/float.js, which only max/min gauges use, so 0n is 0.0),
   * "x" and the difference in decimal (the shortest that reads back as the
   * same double).
   */
  delta(entry, t, a) {
    if (entry.kind === INTEGER) return BigInt.asUintN(64, t - a).toString(16)
    BITS[0] = t
    BITS[1] = a
    const d = F64[0] - F64[1]
    // A total that overflowed to Infinity (or a NaN) has no finite change:
    // it sends none rather than a batch sync.lua refuses for good.
    return Number.isFinite(d) ? `x${d}` : 'x0'
  }
}

// ---------------------------------------------------------------- the guard

const REFUSED = { Counter: ['reset', 'remove'], Histogram: ['reset', 'remove', 'zero'] }

function refusal(kind, method, name) {
  return codedError(
    'ERR_ATOMIC_DICT_NOT_COMMUTATIVE',
    `atomic-dict: ${kind}.${method}() on a metrics store synced to Redis as ${JSON.stringify(name)}: ` +
      "it would take this host's share out of the global totals (a counter going down, which Prometheus reads as a reset); " +
      'counters and histograms of a synced store only count up. Gauges are not synced: every gauge method works',
    TypeError,
  )
}

/**
 * Refuses reset(), remove() and zero() on the counters and histograms of
 * `store` (its own classes' prototypes: metrics made before and after),
 * and what does not add on its table; returns the function that lifts it.
 *
 * Why refuse rather than define them: the sync sends each row's change, so
 * a counter zeroed locally would send minus this host's whole count, and
 * the global counter would go down: Prometheus takes that for a counter
 * reset and rate() reads the rest as a new increase. Making reset() local
 * only would need the sync's acknowledged words moved with it, racing the
 * flusher's staged batch; a counter that never goes down needs neither.
 */
function guard(store, name) {
  const lifts = [guardDict(store.table, name)]
  for (const [kind, methods] of Object.entries(REFUSED)) {
    const proto = store[kind].prototype
    const own = {}
    for (const m of methods) {
      own[m] = {
        value: () => {
          throw refusal(kind, m, name)
        },
        writable: true,
        configurable: true,
      }
    }
    Object.defineProperties(proto, own)
    lifts.push(() => {
      for (const m of methods) delete proto[m]
    })
  }
  return () => lifts.forEach((lift) => lift())
}

/** The source of `table` if it is a MetricsStore (see sourceOf in sync.js; `kind` 'metrics'), else null. */
function metricsSource(table) {
  if (!(table instanceof MetricsStore)) return null
  // The reader of the totals renders HELP lines from the store's strings.
  table[KEEP_HELP]()
  const dict = table.table
  const { view } = tables.internals.get(dict)
  return { kind: 'metrics', dict, rows: () => new MetricRows(view), guard: (name) => guard(table, name) }
}

module.exports = { metricsSource, MetricRows, parseDescriptor }
