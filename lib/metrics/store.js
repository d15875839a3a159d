'use strict'
// MetricsStore: Prometheus metrics (prom-client's Counter, Gauge and
// Histogram) kept in shared memory, so that every process updates them and
// any process reports the totals, with no primary and no IPC. See
// docs/METRICS.md.

const { AtomicDict } = require('../atomic-dict')
const tables = require('../table-memory')
const { openFileShape } = require('../table-base')
const { typeError, rangeError, codedError, describe } = require('../errors')
const { Core } = require('./core')
const { DISPOSE, INSPECT, inspected, refuseCloning } = require('../node-conventions')
const { checkOptions, integer: integerOption, boolean } = require('../options')
const { Counter: CounterBase } = require('./counter')
const { Gauge: GaugeBase } = require('./gauge')
const { Histogram: HistogramBase } = require('./histogram')

/** Contributor slots of a new store: store objects that may hold per-process gauge values at once. */
const DEFAULT_PROCESSES = 1024
const MAX_PROCESSES = 4096
/** String area of a new store: room for the metrics' descriptors, then this much a series. */
const STRING_BYTES_BASE = 64 * 1024
const STRING_BYTES_PER_SERIES = 128
const MAX_STRING_BYTES = 2 ** 30

const FROM_TABLE = Symbol('atomic-dict: a metrics store over a table')

/** `store[KEEP_HELP]()`: a sync of the store begins (lib/redis/sync-metrics.js); the metrics' help is kept in it from now on. */
const KEEP_HELP = Symbol('atomic-dict: keep the metrics help')

/** `options[name]`, an integer in [min, max], or undefined when left out. */
function integer(options, name, min, max) {
  return integerOption(options, name, undefined, min, max)
}

/** The string area a new store of `series` series gets, unless `options.strings` says. */
function stringBytes(options, series) {
  const given = integer(options, 'strings', 64, MAX_STRING_BYTES)
  if (given !== undefined) {
    if (given % 8 !== 0) throw rangeError('options.strings', 'a multiple of 8', given)
    return given
  }
  return Math.min(MAX_STRING_BYTES, Math.ceil((STRING_BYTES_BASE + series * STRING_BYTES_PER_SERIES) / 8) * 8)
}

function geometryError(message) {
  return codedError('ERR_ATOMIC_DICT_GEOMETRY', `atomic-dict: ${message}`)
}

let contributorsModule
function openContributors(dict) {
  contributorsModule ??= require('../contributors')
  return contributorsModule.openContributors(dict)
}

class MetricsStore {
  #core

  /**
   * A new store in shared memory (a memfd), for this process, its worker
   * threads (`share()`), and processes it starts (`spawn`/`fork` `share`,
   * `shareWithCluster`).
   * @param {{ series: number, processes?: number, strings?: number }} options
   */
  constructor(options, from) {
    refuseCloning(this) // use share() and MetricsStore.attach() in a thread
    if (options === FROM_TABLE) {
      this.#bind(from.dict, from.processes, from.checkProcesses)
      return
    }
    const o = checkOptions(options, ['series', 'processes', 'strings'], 'MetricsStore')
    if (o.series === undefined) throw typeError('options.series', 'a number', undefined)
    const series = integer(o, 'series', 1, 2 ** 31)
    const processes = integer(o, 'processes', 1, MAX_PROCESSES) ?? DEFAULT_PROCESSES
    const dict = new AtomicDict(series, { k64: 1, k32: 1, valueBits: 64, strings: stringBytes(o, series) })
    this.#bind(dict, processes, false)
  }

  #bind(dict, processes, checkProcesses) {
    let core
    try {
      core = new Core(dict, processes, checkProcesses, openContributors)
    } catch (err) {
      dict.close()
      throw err
    }
    this.#core = core
    // Sharing (spawn/fork/shareWithCluster `share`) sees the store's table.
    tables.internals.set(this, tables.internals.get(dict))
    const store = this
    this.Counter = class Counter extends CounterBase {
      /** prom-client's Counter, kept in `store`. */
      constructor(config) {
        super(core, config)
      }
    }
    this.Gauge = class Gauge extends GaugeBase {
      /** prom-client's Gauge, kept in `store`, with `aggregate`. */
      constructor(config) {
        super(core, config)
      }
    }
    this.Histogram = class Histogram extends HistogramBase {
      /** prom-client's Histogram, kept in `store`. */
      constructor(config) {
        super(core, config)
      }
    }
    for (const C of [this.Counter, this.Gauge, this.Histogram]) Object.defineProperty(C, 'store', { value: store })
  }

  /**
   * The store in the file at `path` (pm2 workers, unrelated processes, a
   * store that outlives restarts), created when absent unless `create:
   * false` (creating needs `series`). Given options must match an existing
   * store.
   */
  static open(path, options) {
    const o = checkOptions(options, ['series', 'processes', 'strings', 'create', 'mode', 'allowInsecure'], 'MetricsStore.open')
    const series = integer(o, 'series', 1, 2 ** 31)
    const processes = integer(o, 'processes', 1, MAX_PROCESSES)
    const create = boolean(o, 'create', true)
    const file = { allowInsecure: o.allowInsecure }
    let dict
    try {
      dict = openFileShape(AtomicDict, path, { ...file, create: false })
    } catch (err) {
      if (err.code !== 'ENOENT' || !create) throw err
      if (series === undefined) throw codedError('ENOENT', `atomic-dict: ${path} does not exist, and creating it needs options.series`)
      dict = AtomicDict.open(path, {
        ...file,
        mode: o.mode,
        capacity: series,
        k64: 1,
        k32: 1,
        valueBits: 64,
        strings: stringBytes(o, series),
      })
    }
    const mismatches = []
    if (series !== undefined && dict.capacity !== series) mismatches.push(`series ${dict.capacity} (asked ${series})`)
    const strings = dict.strings
    if (o.strings !== undefined && (strings === null || strings.bytes !== o.strings)) {
      mismatches.push(`strings ${strings === null ? 0 : strings.bytes} (asked ${o.strings})`)
    }
    if (mismatches.length) {
      dict.close()
      throw geometryError(`${path} holds a metrics store of another size: ${mismatches.join(', ')}`)
    }
    return new MetricsStore(FROM_TABLE, { dict, processes: processes ?? DEFAULT_PROCESSES, checkProcesses: processes !== undefined })
  }

  /** The store a parent process shared as `name` (spawn/fork `share`, or shareWithCluster). */
  static inherit(name) {
    return new MetricsStore(FROM_TABLE, { dict: AtomicDict.inherit(name), processes: DEFAULT_PROCESSES, checkProcesses: false })
  }

  /** The store a `share()` descriptor names, in a worker thread of the same process. */
  static attach(descriptor) {
    return new MetricsStore(FROM_TABLE, { dict: AtomicDict.attach(descriptor), processes: DEFAULT_PROCESSES, checkProcesses: false })
  }

  /** Removes a store's file; processes that have it open keep it. */
  static unlink(path) {
    AtomicDict.unlink(path)
  }

  /** A plain descriptor for `MetricsStore.attach` in worker threads of this process. */
  share() {
    return this.#core.dict.share()
  }

  /** Whether this object created the store's memory (rather than attaching to it). */
  get created() {
    return this.#core.dict.created
  }

  /** The AtomicDict underneath (for `verify()`, `inspect`). */
  get table() {
    return this.#core.dict
  }

  /** The metric of this store object named `name`, if declared here. */
  getSingleMetric(name) {
    return this.#core.metrics.get(name)
  }

  /**
   * What the store holds: { series (rows in use), seriesLimit, dropped
   * (observations the store had no room for, all processes),
   * stringBytes, stringBytesUsed, processes (contributor slots),
   * contributor (this object's slot, -1 until it keeps per-process values) }.
   */
  stats() {
    const core = this.#core
    const dict = core.dict
    const strings = dict.strings
    return {
      series: dict.size,
      seriesLimit: dict.capacity,
      dropped: core.droppedCount(),
      stringBytes: strings.bytes,
      stringBytesUsed: strings.used,
      processes: core.processes,
      contributor: core.slot,
    }
  }

  /**
   * The store's own metrics, registered in `register` (a prom-client
   * registry): atomic_dict_metrics_series, _series_limit, _dropped_total,
   * _string_bytes, _string_bytes_limit (prefixed with `prefix`).
   */
  collectStoreMetrics(options) {
    const o = checkOptions(options, ['register', 'prefix'], 'collectStoreMetrics')
    const register = o.register
    if (register === null || typeof register !== 'object' || typeof register.registerMetric !== 'function') {
      throw typeError('options.register', 'a registry (an object with registerMetric)', register)
    }
    const prefix = o.prefix === undefined ? '' : o.prefix
    if (typeof prefix !== 'string') throw typeError('options.prefix', 'a string', prefix)
    const stats = () => this.stats()
    const made = [
      storeMetric(`${prefix}atomic_dict_metrics_series`, 'Series (rows) the shared metrics store holds', 'gauge', () => stats().series),
      storeMetric(`${prefix}atomic_dict_metrics_series_limit`, 'Series (rows) the shared metrics store has room for', 'gauge', () => stats().seriesLimit),
      storeMetric(
        `${prefix}atomic_dict_metrics_dropped_total`,
        'Observations of new series dropped because the shared metrics store was full (all processes)',
        'counter',
        () => stats().dropped,
      ),
      storeMetric(`${prefix}atomic_dict_metrics_string_bytes`, "Bytes of the shared metrics store's string area in use (label values)", 'gauge', () => stats().stringBytesUsed),
      storeMetric(`${prefix}atomic_dict_metrics_string_bytes_limit`, "Bytes of the shared metrics store's string area", 'gauge', () => stats().stringBytes),
    ]
    for (const m of made) register.registerMetric(m)
    return made
  }

  /**
   * Releases this object's mapping and contributor slot (its per-process
   * gauge values drop out of every total); its metrics throw
   * ERR_ATOMIC_DICT_CLOSED from now on.
   */
  [KEEP_HELP]() {
    this.#core.keepHelp()
  }

  close() {
    this.#core.close()
  }

  /** `close()`, for `using store = new MetricsStore(...)`. */
  [DISPOSE]() {
    this.close()
  }

  /** `MetricsStore(series 12 / limit 1000, metrics 3)`: series in the store, metrics declared on this object; `MetricsStore(closed)`. */
  [INSPECT](depth, options) {
    return inspected('MetricsStore', depth, options, () => {
      if (this.#core.closed) return 'closed'
      const dict = this.#core.dict
      return `series ${dict.size} / limit ${dict.capacity}, metrics ${this.#core.metrics.size}`
    })
  }

  get [Symbol.toStringTag]() {
    return 'MetricsStore'
  }
}

/** A metric object (prom-client's protocol) whose one value `read()` gives. */
/**
 * A metric for a prom-client registry (its registerMetric), whose one value
 * `read()` gives at each scrape, with `labels` (an object of strings).
 */
function storeMetric(name, help, type, read, labels = {}) {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) {
    throw codedError('ERR_INVALID_ARG_VALUE', `options.prefix makes an invalid metric name ${describe(name)}`, TypeError)
  }
  return {
    name,
    help,
    type,
    aggregator: type === 'counter' ? 'sum' : 'max',
    labelNames: Object.keys(labels),
    async get() {
      return { help, name: this.name, type, values: [{ value: read(), labels }], aggregator: this.aggregator }
    },
    reset() {},
  }
}

module.exports = { MetricsStore, DEFAULT_PROCESSES, storeMetric, KEEP_HELP }
