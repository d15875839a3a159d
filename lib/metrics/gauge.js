'use strict'
// Gauge: prom-client's Gauge, shared, with a choice of how the processes'
// values combine (`aggregate`):
//
//   'sum' (default)  each process (each store object: a contributor) keeps
//                    its own contribution; the gauge is the sum over the
//                    contributors alive at the read. A process that dies,
//                    SIGKILL included, drops out at once (in-flight counts
//                    return to the truth).
//   'max', 'min'     the same per-contributor values, combined by max/min
//                    over the contributors alive that have set one (a
//                    process that declares the gauge but never sets it
//                    does not pull a max down to 0); a series with none is
//                    not listed.
//   'last'           one value shared by every process: set() by anyone
//                    replaces it, inc()/dec() by anyone change it; it stays
//                    after the process that set it exits.
//
// Per-contributor values live in rows [series, PROCESS + slot], the slot
// being the store object's contributor slot (lib/metrics/core.js).

const { typeError } = require('../errors')
const { Metric, checkConfig, isLabels, invalid } = require('./metric')
const { FIELD } = require('./series')
const { loadFloat, storeFloat, loadKeyed, storeKeyed, addKeyed } = require('./float')

const OPTIONS = ['name', 'help', 'labelNames', 'registers', 'aggregator', 'collect', 'aggregate']
/**
 * 'max'/'min' contributions are keyed words (lib/metrics/float.js): bits
 * XOR this key (a signalling NaN with a payload, which arithmetic never
 * makes), so a row that is new, reset, or taken over from a dead
 * contributor reads as not set, never as 0.
 */
const KEY = 0x7ff0_0000_dead_0001n
const AGGREGATES = ['sum', 'max', 'min', 'last']
const LAST_FIELDS = [FIELD.VALUE]

function number(value, name) {
  if (typeof value !== 'number') throw typeError(name, 'a number', value)
  return value
}

class Gauge extends Metric {
  constructor(core, config) {
    const fields = checkConfig(config, OPTIONS, 'Gauge')
    const aggregate = config.aggregate === undefined ? 'sum' : config.aggregate
    if (!AGGREGATES.includes(aggregate)) {
      throw invalid(`config.aggregate must be one of ${AGGREGATES.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(aggregate)}`)
    }
    // This store object's contributor slot, claimed before the metric is
    // declared (it throws when there is no liveness or no free slot).
    const slot = aggregate === 'last' ? -1 : core.contributorSlot()
    super(core, fields, 'gauge', { aggregate })
    this.aggregate = aggregate
    this._shared = aggregate === 'last'
    this._key = aggregate === 'max' || aggregate === 'min' ? KEY : 0n
    this._fieldsMine = [FIELD.PROCESS + slot]
    this._finish(() => {
      // Listed from the start as in prom-client, at 0 ('max'/'min': once set).
      if (this.labelNames.length === 0 && this._key === 0n) {
        const none = this._noLabels()
        if (none.slot >= 0 && !this._visible(none)) this._revive(none, undefined)
      }
    })
  }

  // The value is checked before the series is found (or made): a call that
  // throws changes nothing.

  /** inc(labels?, value = 1) */
  inc(labels, value) {
    if (isLabels(labels)) {
      const v = value === undefined ? 1 : number(value, 'value')
      this._add(this._series(labels), labels, v)
    } else {
      const v = labels === undefined ? 1 : number(labels, 'value')
      this._add(this._noLabels(), undefined, v)
    }
  }

  /** dec(labels?, value = 1) */
  dec(labels, value) {
    if (isLabels(labels)) {
      const v = value === undefined ? 1 : number(value, 'value')
      this._add(this._series(labels), labels, -v)
    } else {
      const v = labels === undefined ? 1 : number(labels, 'value')
      this._add(this._noLabels(), undefined, -v)
    }
  }

  /** set(labels?, value) */
  set(labels, value) {
    if (isLabels(labels)) {
      const v = number(value, 'value')
      this._set(this._series(labels), labels, v)
    } else {
      const v = number(labels, 'value')
      this._set(this._noLabels(), undefined, v)
    }
  }

  /** Sets the gauge to the current time in seconds since the epoch. */
  setToCurrentTime(labels) {
    if (labels === undefined) this.set(Date.now() / 1000)
    else this.set(labels, Date.now() / 1000)
  }

  /** A function that, called later, sets the gauge to the seconds elapsed (and returns them). */
  startTimer(labels) {
    return this._timer(labels, (l, v) => this.set(l, v))
  }

  _add(series, labels, v) {
    if (this._key === 0n) return super._add(series, labels, v)
    const slot = series.slot
    if (slot < 0) return this._dropped(series, labels)
    try {
      if (!this._visible(series)) this._revive(series, labels)
      addKeyed(this._core.values, slot, v, this._key)
    } catch (err) {
      throw this._core.explain(err)
    }
  }

  _set(series, labels, v) {
    const slot = series.slot
    if (slot < 0) return this._dropped(series, labels)
    try {
      if (!this._visible(series)) this._revive(series, labels)
      if (this._key === 0n) storeFloat(this._core.values, slot, v)
      else storeKeyed(this._core.values, slot, v, this._key)
    } catch (err) {
      throw this._core.explain(err)
    }
  }

  /** labels(...values | labels): a child bound to one series. */
  labels(...args) {
    const labels = this._labelsArg(args)
    const series = this._child(labels)
    const delta = (value) => (value === undefined ? 1 : number(value, 'value'))
    return {
      inc: (value) => {
        const v = delta(value)
        this._add(series(), labels, v)
      },
      dec: (value) => {
        const v = delta(value)
        this._add(series(), labels, -v)
      },
      set: (value) => {
        const v = number(value, 'value')
        this._set(series(), labels, v)
      },
      setToCurrentTime: () => this._set(series(), labels, Date.now() / 1000),
      startTimer: () => this.startTimer(labels),
    }
  }

  async get() {
    await this._collect()
    const out = []
    for (const s of this._listed()) {
      const value = this._shared ? (s.slot < 0 ? undefined : loadFloat(this._core.values, s.slot)) : this._combined(s)
      if (value !== undefined) out.push({ value, labels: this._labels(s) })
    }
    return { help: this.help, name: this.name, type: this.type, values: out, aggregator: this.aggregator }
  }

  /** The contributions of live contributors, combined; undefined when none (max/min) and 0 (sum). */
  _combined(series) {
    const live = this._core.live
    const values = this._core.values
    let out
    if (series.contributions !== null) {
      for (const [contributor, index] of series.contributions) {
        if (live[contributor] !== 1) continue
        const v = this._key === 0n ? loadFloat(values, index) : loadKeyed(values, index, this._key)
        if (v === undefined) continue // a 'max'/'min' contribution not set
        if (out === undefined) out = v
        else if (this.aggregate === 'sum') out += v
        else if (this.aggregate === 'max') out = Math.max(out, v)
        else out = Math.min(out, v)
      }
    }
    return out === undefined && this.aggregate === 'sum' ? 0 : out
  }

  _needsLiveness() {
    return !this._shared
  }

  _retries() {
    return this.aggregate !== 'sum'
  }

  _fields() {
    return this._shared ? LAST_FIELDS : this._fieldsMine
  }

  _attach(series, field, slot) {
    if (this._shared) {
      if (field === FIELD.VALUE) series.slot = slot
      return
    }
    const contributor = field - FIELD.PROCESS
    if (contributor < 0 || contributor >= this._core.processes) return
    if (series.contributions === null) series.contributions = new Map()
    series.contributions.set(contributor, slot)
    if (contributor === this._core.slot) series.slot = slot
  }

  _zero(series) {
    const values = this._core.values
    if (this._shared) {
      if (series.slot >= 0) storeFloat(values, series.slot, 0)
    } else if (series.contributions !== null) {
      // 0 bits: a 'sum' contribution of 0, a 'max'/'min' one not set.
      for (const index of series.contributions.values()) Atomics.store(values, index, 0n)
    }
  }
}

module.exports = { Gauge }
