'use strict'
// Histogram: prom-client's Histogram over shared rows per series: the sum
// (a float64, an atomic add on its bits) and one count per bucket
// (non-cumulative, an integer; the last is +Inf). The count is their total.
// Every process adds to the same rows, so a process that dies keeps what it
// observed.

const { typeError, rangeError } = require('../errors')
const { Metric, checkConfig, isLabels, invalid } = require('./metric')
const { FIELD } = require('./series')
const { addFloat, loadFloat, storeFloat } = require('./float')

const OPTIONS = ['name', 'help', 'labelNames', 'registers', 'aggregator', 'collect', 'buckets']
/** prom-client's default buckets. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The most buckets a histogram may have (bucket rows' fields stay below the per-process gauges'). */
const MAX_BUCKETS = 4096

function checkBuckets(buckets) {
  if (buckets === undefined) return DEFAULT_BUCKETS
  if (!Array.isArray(buckets)) throw typeError('config.buckets', 'an array of numbers', buckets)
  if (buckets.length > MAX_BUCKETS) throw rangeError('config.buckets', `at most ${MAX_BUCKETS} bounds`, buckets)
  buckets.forEach((b, i) => {
    if (typeof b !== 'number') throw typeError(`config.buckets[${i}]`, 'a number', b)
    if (!Number.isFinite(b)) throw rangeError(`config.buckets[${i}]`, 'a finite number (+Inf is always the last bucket)', b)
    if (i > 0 && !(b > buckets[i - 1])) throw rangeError(`config.buckets[${i}]`, `greater than config.buckets[${i - 1}] (${buckets[i - 1]})`, b)
  })
  return Object.freeze([...buckets])
}

function observation(value) {
  if (typeof value !== 'number') throw typeError('value', 'a number', value)
  if (!Number.isFinite(value)) throw rangeError('value', 'a finite number', value)
  return value
}

class Histogram extends Metric {
  constructor(core, config) {
    const fields = checkConfig(config, OPTIONS, 'Histogram')
    if (fields.labelNames.includes('le')) throw invalid('config.labelNames must not hold le: it is the bucket label of a histogram')
    const buckets = checkBuckets(config.buckets)
    super(core, fields, 'histogram', { buckets })
    this.buckets = buckets
    this.upperBounds = buckets
    this._fieldList = [FIELD.VALUE, ...buckets.map((_, i) => FIELD.BUCKET + i), FIELD.BUCKET + buckets.length]
    this._finish(() => {
      // Listed from the start, with zero counts, as in prom-client.
      if (this.labelNames.length === 0) {
        const none = this._noLabels()
        if (none.slot >= 0 && !this._visible(none)) this._revive(none, undefined)
      }
    })
  }

  /** observe(labels?, value), as prom-client's. */
  observe(labels, value) {
    // The value is checked before the series is found (or made): a call
    // that throws changes nothing.
    if (isLabels(labels)) {
      const v = observation(value)
      this._observe(this._series(labels), labels, v)
    } else {
      const v = observation(labels)
      this._observe(this._noLabels(), undefined, v)
    }
  }

  _observe(series, labels, v) {
    const slot = series.slot
    if (slot < 0) return this._dropped(series, labels)
    const bounds = this.upperBounds
    let i = 0
    while (i < bounds.length && v > bounds[i]) i++
    try {
      if (!this._visible(series)) this._revive(series, labels)
      const values = this._core.values
      Atomics.add(values, series.buckets[i], 1n)
      addFloat(values, slot, v)
    } catch (err) {
      throw this._core.explain(err)
    }
  }

  /**
   * Makes the series of `labels` listed with zero counts, its labels in the
   * order `labels` gives them (prom-client's zero() replaces the series).
   */
  zero(labels) {
    if (!isLabels(labels)) labels = {}
    const series = this._series(labels)
    if (series.slot < 0) return this._dropped(series, labels)
    try {
      this._zero(series)
      this._revive(series, labels, true)
    } catch (err) {
      throw this._core.explain(err)
    }
  }

  /** A function that, called later, observes the seconds elapsed (and returns them). */
  startTimer(labels) {
    return this._timer(labels, (l, v) => this.observe(l, v))
  }

  /** labels(...values | labels): a child bound to one series. */
  labels(...args) {
    const labels = this._labelsArg(args)
    const series = this._child(labels)
    return {
      observe: (value) => {
        const v = observation(value)
        this._observe(series(), labels, v)
      },
      startTimer: () => this.startTimer(labels),
    }
  }

  /** prom-client's histogram values, before the registry merges each line's labels. */
  async getForPromString() {
    await this._collect()
    const values = this._core.values
    const bounds = this.upperBounds
    const bucket = `${this.name}_bucket`
    const out = []
    for (const s of this._listed()) {
      if (s.slot < 0) continue // rows not all found here yet: listed at the next read
      const shared = this._labels(s)
      let count = 0
      for (let i = 0; i < bounds.length; i++) {
        count += Number(Atomics.load(values, s.buckets[i]))
        out.push({ labels: { le: bounds[i] }, sharedLabels: shared, value: count, metricName: bucket, exemplar: null })
      }
      count += Number(Atomics.load(values, s.buckets[bounds.length]))
      out.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: count, metricName: bucket, exemplar: null })
      out.push({ labels: {}, sharedLabels: shared, value: loadFloat(values, s.slot), metricName: `${this.name}_sum`, exemplar: undefined })
      out.push({ labels: {}, sharedLabels: shared, value: count, metricName: `${this.name}_count`, exemplar: undefined })
    }
    return { name: this.name, help: this.help, type: this.type, values: out, aggregator: this.aggregator }
  }

  async get() {
    const data = await this.getForPromString()
    data.values = data.values.map(splay)
    return data
  }

  _keepsNoLabels() {
    return false
  }

  _fields() {
    return this._fieldList
  }

  /**
   * Rows are collected in `series.rows` ([sum, bucket 0, ..., +Inf]); the
   * series is usable (`slot`, `buckets` set) once every one is known.
   */
  _attach(series, field, slot) {
    const i = field - FIELD.VALUE
    if (i < 0 || i >= this._fieldList.length) return
    if (series.rows === undefined) series.rows = new Array(this._fieldList.length).fill(-1)
    series.rows[i] = slot
    if (series.slot < 0 && !series.rows.includes(-1)) {
      series.buckets = series.rows.slice(1)
      series.slot = series.rows[0]
    }
  }

  _zero(series) {
    const values = this._core.values
    if (series.rows === undefined) return
    series.rows.forEach((index, i) => {
      if (index < 0) return
      if (i === 0) storeFloat(values, index, 0)
      else Atomics.store(values, index, 0n)
    })
  }
}

/** prom-client's splayLabels: a line's own labels with the series' labels merged in. */
function splay(line) {
  const { sharedLabels, labels, ...rest } = line
  for (const label of Object.keys(sharedLabels)) labels[label] = sharedLabels[label]
  rest.labels = labels
  return rest
}

module.exports = { Histogram, DEFAULT_BUCKETS }
