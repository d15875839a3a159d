'use strict'
// Counter: prom-client's Counter over a shared row per series. Every
// process adds to the same float64 (an atomic add on its bits), so a
// process that dies keeps what it counted.

const { typeError, rangeError } = require('../errors')
const { Metric, checkConfig, isLabels } = require('./metric')
const { FIELD } = require('./series')
const { loadFloat, storeFloat } = require('./float')

const OPTIONS = ['name', 'help', 'labelNames', 'registers', 'aggregator', 'collect']
const FIELDS = [FIELD.VALUE]

/** An increment: a finite number >= 0 (default 1). */
function increment(value) {
  if (value === undefined) return 1
  if (typeof value !== 'number') throw typeError('value', 'a number', value)
  if (!(value >= 0) || value === Infinity) throw rangeError('value', 'a finite number >= 0 (a counter only goes up)', value)
  return value
}

class Counter extends Metric {
  constructor(core, config) {
    super(core, checkConfig(config, OPTIONS, 'Counter'), 'counter', {})
    this._finish(() => {
      // Listed from the start, at 0, as in prom-client.
      if (this.labelNames.length === 0) this._show(this._noLabels(), undefined)
    })
  }

  /** inc(labels?, value = 1), as prom-client's: adds `value` in every process's view. */
  inc(labels, value) {
    // The value is checked before the series is found (or made): a call
    // that throws changes nothing.
    if (isLabels(labels)) {
      const v = increment(value)
      this._add(this._series(labels), labels, v)
    } else {
      const v = increment(labels)
      this._add(this._noLabels(), undefined, v)
    }
  }

  /** Makes a series visible now (a metric without labels is listed from the start, as in prom-client). */
  _show(series, labels) {
    if (series.slot >= 0 && !this._visible(series)) this._revive(series, labels)
  }

  /** labels(...values | labels): a child bound to one series. */
  labels(...args) {
    const labels = this._labelsArg(args)
    const series = this._child(labels)
    return {
      inc: (value) => {
        const v = increment(value)
        this._add(series(), labels, v)
      },
    }
  }

  async get() {
    await this._collect()
    const values = this._core.values
    const out = []
    // A series another process has just made may be listed before this
    // process has found its row: it shows up at the next read.
    for (const s of this._listed()) if (s.slot >= 0) out.push({ value: loadFloat(values, s.slot), labels: this._labels(s) })
    return { help: this.help, name: this.name, type: this.type, values: out, aggregator: this.aggregator }
  }

  _fields() {
    return FIELDS
  }

  _attach(series, field, slot) {
    if (field === FIELD.VALUE) series.slot = slot
  }

  _zero(series) {
    if (series.slot >= 0) storeFloat(this._core.values, series.slot, 0)
  }
}

module.exports = { Counter }
