'use strict'
// What Counter, Gauge and Histogram share: their configuration (as
// prom-client's), finding a label set's series (a per-process cache in
// front of the store), making series visible again after reset()/remove(),
// and prom-client's get()/registry protocol.
//
// The hot path of an observation: validate the label names (as prom-client
// does), walk a chain of Maps keyed by the raw label values in labelNames
// order to the series (no string is built), check the series' VISIBLE bit,
// then one atomic operation on its row. Misses, and everything else, go
// through the store (lib/metrics/store.js).

const { typeError, codedError, describe } = require('../errors')
const { VISIBLE, ORDER_MASK, orderCode, seriesText, Series, Dropped } = require('./series')
const { addFloat } = require('./float')
const { INSPECT, inspected, shown } = require('../node-conventions')

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** prom-client's aggregator values (for its AggregatorRegistry; kept, not used here). */
const AGGREGATORS = ['omit', 'sum', 'first', 'min', 'max', 'average']

/** The most UTF-8 bytes of a series string (the string area's limit), and the characters below which no check is needed. */
const MAX_SERIES_BYTES = 1 << 20
const MAX_SERIES_CHARS = MAX_SERIES_BYTES / 3

/**
 * How long a label set the store had no room for keeps being dropped before
 * this process asks the store again (room can appear: another process
 * finishing a string this one was refused, repairCounts() giving rows back).
 */
const RETRY_MS = 1000

/** Label sets a metric's per-process cache holds before it starts over. */
const CACHE_LIMIT = 1 << 16

function invalid(message) {
  return codedError('ERR_INVALID_ARG_VALUE', message, TypeError)
}

/**
 * Checks a metric's configuration object: only `allowed` keys, prom-client's
 * rules for each. Returns the checked fields.
 */
function checkConfig(config, allowed, kind) {
  if (config === null || typeof config !== 'object') throw typeError('config', 'an object', config)
  for (const key of Object.keys(config)) {
    if (!allowed.includes(key)) {
      const hint = key === 'enableExemplars' ? ' (exemplars are not supported by shared metrics)' : ''
      throw invalid(`config.${key} is not an option of ${kind}${hint} (they are: ${allowed.join(', ')})`)
    }
  }
  const { name, help } = config
  if (typeof name !== 'string') throw typeError('config.name', 'a string', name)
  if (!METRIC_NAME.test(name)) throw invalid(`config.name must be a Prometheus metric name (${METRIC_NAME}), got ${describe(name)}`)
  if (typeof help !== 'string' || help === '') throw typeError('config.help', 'a non-empty string', help)
  const labelNames = config.labelNames === undefined ? [] : config.labelNames
  if (!Array.isArray(labelNames)) throw typeError('config.labelNames', 'an array of label names', labelNames)
  const seen = new Set()
  labelNames.forEach((label, i) => {
    if (typeof label !== 'string') throw typeError(`config.labelNames[${i}]`, 'a string', label)
    if (!LABEL_NAME.test(label) || label.startsWith('__')) {
      throw invalid(`config.labelNames[${i}] must be a Prometheus label name (${LABEL_NAME}, not starting with __), got ${describe(label)}`)
    }
    if (seen.has(label)) throw invalid(`config.labelNames must not repeat a name, got ${describe(label)} twice`)
    seen.add(label)
  })
  const registers = config.registers === undefined ? [] : config.registers
  if (!Array.isArray(registers)) throw typeError('config.registers', 'an array of registries', registers)
  registers.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || typeof r.registerMetric !== 'function') {
      throw typeError(`config.registers[${i}]`, 'a registry (an object with registerMetric)', r)
    }
  })
  const aggregator = config.aggregator === undefined ? 'sum' : config.aggregator
  if (!AGGREGATORS.includes(aggregator)) throw invalid(`config.aggregator must be one of ${AGGREGATORS.join(', ')}, got ${describe(aggregator)}`)
  if (config.collect !== undefined && typeof config.collect !== 'function') throw typeError('config.collect', 'a function', config.collect)
  return { name, help, labelNames: Object.freeze([...labelNames]), registers, aggregator, collect: config.collect }
}

/** Whether `v` is an object prom-client would take as a labels object. */
function isLabels(v) {
  return v !== null && typeof v === 'object'
}

/** A label value as the series keeps it: a string, or null when not given. */
function labelValue(v, metric, label) {
  if (v === undefined) return null
  const t = typeof v
  if (t === 'string') return v
  if (t === 'number' || t === 'boolean' || t === 'bigint' || v === null) return String(v)
  throw typeError(`labels.${label} of ${metric}`, 'a string, number, boolean or bigint', v)
}

class Metric {
  /**
   * `core`: the store's internals; `fields`: the checked configuration;
   * `type`: 'counter' | 'gauge' | 'histogram'; `shape`: what else two
   * declarations of the metric must agree on (buckets, aggregate).
   */
  constructor(core, fields, type, shape) {
    this.name = fields.name
    this.help = fields.help
    this.type = type
    this.labelNames = fields.labelNames
    this.aggregator = fields.aggregator
    if (fields.collect !== undefined) this.collect = fields.collect
    this.registers = fields.registers
    this._core = core
    /** The name series are made under (this.name can be changed by an OpenMetrics registry). */
    this._declared = fields.name
    this._index = Object.create(null)
    fields.labelNames.forEach((label, i) => (this._index[label] = i))
    /** Every series of this metric this process knows (made here or found in the store). */
    this._all = []
    this._cache = new Map()
    this._cached = 0
    /** The series of no labels (made on first use, or at once for a metric without labels). */
    this._none = null
    core.declare(this, { type, labelNames: fields.labelNames, ...shape })
  }

  /**
   * Finishes construction: runs the subclass's `setUp`, then registers the
   * metric in `config.registers`. If either throws, the name is free again
   * on this store object (a retry is not refused as a second declaration).
   */
  _finish(setUp) {
    try {
      setUp()
      for (const registry of this.registers) registry.registerMetric(this)
    } catch (err) {
      this._core.undeclare(this)
      throw err
    }
  }

  // ------------------------------------------------------------ finding series

  /**
   * The series of the labels object `labels` (a Series, or a Dropped when the
   * store had no room for it). Throws for a label name not in labelNames.
   */
  _series(labels) {
    const index = this._index
    for (const label in labels) if (index[label] === undefined) throw this._unknown(label)
    const names = this.labelNames
    if (names.length === 0) return this._noLabels()
    let m = this._cache
    for (let i = 0; i < names.length; i++) {
      m = m.get(labels[names[i]])
      if (m === undefined) return this._miss(labels)
    }
    return m
  }

  _unknown(label) {
    return invalid(`label ${JSON.stringify(label)} is not a label of ${this._declared} (its labels: ${this.labelNames.join(', ') || 'none'})`)
  }

  /** The series of no labels. */
  _noLabels() {
    if (this._none === null) this._none = this._resolve(this.labelNames.map(() => null))
    return this._none
  }

  /** A label set not in the cache: resolve it, then remember it under its raw values. */
  _miss(labels) {
    const values = this.labelNames.map((label) => labelValue(labels[label], this._declared, label))
    const series = this._resolve(values)
    this._remember(labels, series)
    return series
  }

  /** Caches `series` for the raw label values of `labels` (replacing what was there). */
  _remember(labels, series) {
    const names = this.labelNames
    if (names.length === 0) {
      this._none = series
      return
    }
    if (this._cached >= CACHE_LIMIT) {
      this._cache = new Map()
      this._cached = 0
    }
    let m = this._cache
    for (let i = 0; i < names.length - 1; i++) {
      const raw = labels[names[i]]
      let next = m.get(raw)
      if (next === undefined) m.set(raw, (next = new Map()))
      m = next
    }
    const last = labels[names[names.length - 1]]
    if (!m.has(last)) this._cached++
    m.set(last, series)
  }

  /**
   * The series of `values` (strings or null, in labelNames order), with
   * this process's rows: found in the store or made there. A Dropped when
   * the store has no room for its string; a Series with `refused` set when
   * it has none for this process's rows.
   */
  _resolve(values) {
    const core = this._core
    const text = seriesText(this._declared, values)
    if (text.length > MAX_SERIES_CHARS && Buffer.byteLength(text) > MAX_SERIES_BYTES) {
      throw codedError(
        'ERR_OUT_OF_RANGE',
        `the label values of ${this._declared} make ${Buffer.byteLength(text)} bytes of text; a series' labels may take at most ${MAX_SERIES_BYTES}`,
        RangeError,
      )
    }
    const part = core.partOf(text)
    let series = core.seriesOf(part)
    if (series === undefined) {
      const word = core.intern(text)
      if (word < 0) return new Dropped(values, Date.now() + RETRY_MS)
      series = new Series(this, part, values, word)
      core.adopted(series)
      this._all.push(series)
    }
    if (series.slot < 0 && !series.refused) {
      const fields = this._fields()
      const slots = core.insertRows(series.part, fields)
      if (slots === null) {
        series.refused = true
        series.retryAt = Date.now() + RETRY_MS
      } else {
        for (let i = 0; i < fields.length; i++) this._attach(series, fields[i], slots[i])
      }
    }
    return series
  }

  /**
   * A series made in another process, found by the store's scan (`values`
   * as parsed from its string).
   */
  _adopt(part, values, word) {
    if (values.length !== this.labelNames.length) return null
    const series = new Series(this, part, values, word)
    this._all.push(series)
    return series
  }

  /** Adds `v` to this process's row of `series` (a float64), making it visible first. */
  _add(series, labels, v) {
    const slot = series.slot
    if (slot < 0) return this._dropped(series, labels)
    try {
      if (!this._visible(series)) this._revive(series, labels)
      addFloat(this._core.values, slot, v)
    } catch (err) {
      throw this._core.explain(err)
    }
  }

  /**
   * A timer (prom-client's startTimer): the function it returns passes the
   * seconds since to `record(labels merged with its own, seconds)` and
   * returns them.
   */
  _timer(labels, record) {
    const start = process.hrtime()
    return (endLabels) => {
      const delta = process.hrtime(start)
      const value = delta[0] + delta[1] / 1e9
      record(Object.assign({}, labels, endLabels), value)
      return value
    }
  }

  /**
   * An observation of `series` (a Series without rows here, or a Dropped),
   * for `labels` (undefined: no labels): counted as dropped. Once
   * `retryAt` has passed, the store is asked again, for later observations.
   */
  _dropped(series, labels) {
    this._core.dropped()
    if (!this._retries()) return
    const now = Date.now()
    if (now < series.retryAt) return
    series.retryAt = now + RETRY_MS
    if (series.dropped) {
      const again = this._resolve(series.values)
      if (again.dropped) return
      if (labels === undefined) this._none = again
      else this._remember(labels, again)
    } else {
      series.refused = false
      this._resolve(series.values)
    }
  }

  /**
   * Whether a label set dropped for want of room is asked about again
   * later. Not for per-process 'sum' gauges: a process that joined a series
   * late would apply the dec() of incs it dropped (its share would go
   * negative); it stays out of that series instead.
   */
  _retries() {
    return true
  }

  /**
   * Makes `series` visible (after a reset/remove in any process, or when
   * new), in the order the labels object `labels` lists its labels.
   */
  _revive(series, labels, reorder = false) {
    let code = 0
    if (labels !== undefined && labels !== null) {
      const present = []
      for (const label in labels) if (labels[label] !== undefined) present.push(this._index[label])
      code = orderCode(present)
    }
    this._core.revive(series, code, reorder)
  }

  /** Whether `series` is visible (cheap: one load of its meta word's high half). */
  _visible(series) {
    return (Atomics.load(this._core.u32, series.hi) & VISIBLE) !== 0
  }

  // ------------------------------------------------------------ reading

  /**
   * The visible series of this metric, ordered as they became visible,
   * each with `code` (its label order) read from its meta word.
   */
  _listed() {
    this._core.refresh(this._needsLiveness())
    const u32 = this._core.u32
    const out = []
    const hidden = []
    let sorted = true
    let last = -1
    for (const s of this._all) {
      // lo, hi, lo: a revive changes both halves at once (one
      // compare-and-swap) and always to a new seq, so equal lo reads mean
      // hi belongs with them.
      let lo, hi
      do {
        lo = Atomics.load(u32, s.lo)
        hi = Atomics.load(u32, s.hi)
      } while (Atomics.load(u32, s.lo) !== lo)
      if ((hi & VISIBLE) === 0) {
        hidden.push(s)
        continue
      }
      s.seq = lo
      s.code = hi & ORDER_MASK
      if (lo < last) sorted = false
      last = lo
      out.push(s)
    }
    if (!sorted) {
      out.sort(bySeq)
      // Kept in this order (the hidden after): the next read need not sort.
      this._all = out.concat(hidden)
    }
    return out
  }

  /** Whether reading this metric asks which contributors are alive (per-process gauges). */
  _needsLiveness() {
    return false
  }

  /** The labels object printed for `series`. */
  _labels(series) {
    return series.outLabels(this.labelNames, series.code)
  }

  /** Runs the `collect` callback as prom-client does, before reading values. */
  async _collect() {
    if (this.collect) {
      const v = this.collect()
      if (v instanceof Promise) await v
    }
  }

  // ------------------------------------------------------------ reset, remove

  /**
   * prom-client's reset(): every series of this metric goes (in every
   * process), until it is observed again; a metric without labels keeps its
   * one series, at zero.
   */
  reset() {
    const core = this._core
    core.refresh(false)
    const keep = this._keepsNoLabels()
    for (const s of this._all) {
      const always = keep && s.values.every((v) => v === null)
      if (!always) core.hide(s)
      this._zero(s)
    }
  }

  /** Whether reset() keeps the series of no labels visible (prom-client: counters and gauges without labels). */
  _keepsNoLabels() {
    return this.labelNames.length === 0
  }

  /** prom-client's remove(...values | labels): the series goes until observed again. */
  remove(...args) {
    const labels = this._labelsArg(args)
    const index = this._index
    for (const label in labels) if (index[label] === undefined) throw this._unknown(label)
    const values = this.labelNames.map((label) => labelValue(labels[label], this._declared, label))
    const core = this._core
    core.refresh(false)
    const series = core.seriesOf(core.partOf(seriesText(this._declared, values)))
    if (series === undefined || series === null) return
    core.hide(series)
    this._zero(series)
  }

  /**
   * The series of a labels() child: found once; looked up again while it
   * has no row here (the store may find room later, see _dropped).
   */
  _child(labels) {
    let series = this._series(labels)
    return () => (series.slot >= 0 ? series : (series = this._series(labels)))
  }

  /** prom-client's labels(...values | labels) argument: a labels object. */
  _labelsArg(args) {
    if (isLabels(args[0])) return args[0]
    const names = this.labelNames
    if (args.length !== names.length) {
      throw invalid(`${this._declared} has ${names.length} label(s) (${names.join(', ')}); got ${args.length} value(s)`)
    }
    const labels = {}
    for (let i = 0; i < names.length; i++) labels[names[i]] = args[i]
    return labels
  }

  /** `Counter(name 'http_requests_total', type counter, labels method, code)`. */
  [INSPECT](depth, options) {
    return inspected(this.constructor.name, depth, options, () => {
      const labels = this.labelNames.length === 0 ? '' : `, labels ${this.labelNames.join(', ')}`
      return `name ${shown(this.name, options)}, type ${this.type}${labels}`
    })
  }

  get [Symbol.toStringTag]() {
    return this.constructor.name
  }
}

function bySeq(a, b) {
  return a.seq - b.seq
}

module.exports = { Metric, checkConfig, isLabels, labelValue, invalid }
