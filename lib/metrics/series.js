'use strict'
// A series' identity in the store, and what each process keeps of it.
//
// A series (one metric's set of label values) is the interned string
// `["<metric name>", v1, v2, ...]` (JSON; values in the order of the
// metric's labelNames, each the label value as a string, `null` for a label
// not given). Its rows are the table keys [part, field], where `part` is the
// string's key part (stringKey) and `field` says which value (see FIELD).
// The string's user word in the string area (docs/FORMAT.md, "String area") is
// the series' meta word, shared by every process:
//
//   low 32 bits   seq: the store-wide order in which series became visible
//   high 32 bits  bit 31 VISIBLE; bits 0-15 ORDER, the order in which the
//                 labels object that made it visible listed its labels
//                 (0: labelNames order; see orderCode)
//
// A series is printed only while VISIBLE: reset() and remove() clear it,
// and the next observation sets it again with a new seq, so the output
// lists series in the order prom-client would (first observation first).

/** Bits of the meta word's high half. */
const VISIBLE = 0x8000_0000
const ORDER_MASK = 0xffff

/** Rows' second key part: what value of the series a row holds. */
const FIELD = Object.freeze({
  /** A counter's value, a 'last' gauge's value, a histogram's sum (float64 bits). */
  VALUE: 1,
  /** A histogram's bucket i (non-cumulative count, an integer) is field BUCKET + i; i = buckets.length is +Inf. */
  BUCKET: 2,
  /** A per-process gauge: contributor slot s's value is field PROCESS + s. */
  PROCESS: 0x1_0000,
})

/** The most labels whose order the meta word can keep (8! < 2^16). */
const MAX_ORDERED = 8

const FACTORIALS = [1, 1, 2, 6, 24, 120, 720, 5040, 40320]

/**
 * The order code of `present` (label indexes, in the order the labels
 * object listed them): 0 when they are in labelNames order (or more than
 * MAX_ORDERED), else the permutation's Lehmer code (never 0 then).
 */
function orderCode(present) {
  const k = present.length
  if (k < 2 || k > MAX_ORDERED) return 0
  let code = 0
  for (let i = 0; i < k; i++) {
    let smaller = 0
    for (let j = i + 1; j < k; j++) if (present[j] < present[i]) smaller++
    code += smaller * FACTORIALS[k - 1 - i]
  }
  return code
}

/**
 * The label indexes of `present` (ascending), reordered as `code` says.
 * A code out of range (a hostile peer) gives labelNames order.
 */
function orderOf(code, present) {
  const k = present.length
  if (code === 0 || k < 2 || k > MAX_ORDERED || code >= FACTORIALS[k]) return present
  const rest = present.slice()
  const out = []
  for (let i = 0; i < k; i++) {
    const f = FACTORIALS[k - 1 - i]
    const d = Math.floor(code / f)
    code %= f
    out.push(rest.splice(d, 1)[0])
  }
  return out
}

/** The series string of metric `name` with label `values` (strings or null). */
function seriesText(name, values) {
  return JSON.stringify([name, ...values])
}

/**
 * The label values of a series string of metric `name` with `count`
 * labels, or null when `text` is not one (strings from other processes are
 * untrusted).
 */
function parseSeries(text, name, count) {
  if (text.charCodeAt(0) !== 0x5b /* [ */) return null
  let parsed
  try {
    parsed = JSON.parse(text)
  } catch {
    return null
  }
  if (!Array.isArray(parsed) || parsed.length !== count + 1 || parsed[0] !== name) return null
  const values = parsed.slice(1)
  for (const v of values) if (v !== null && typeof v !== 'string') return null
  return values
}

/**
 * What a process knows of one series: where its meta word and rows are.
 * Slots are indexes into the table's u64 view; -1 until known.
 */
class Series {
  constructor(metric, part, values, word) {
    this.metric = metric
    this.part = part
    this.values = values
    /** The meta word (u64 index), its halves (u32 indexes). */
    this.word = word
    this.lo = 2 * word
    this.hi = 2 * word + 1
    /** The row this process writes: a counter's or 'last' gauge's value, a histogram's sum, this process's contribution. */
    this.slot = -1
    /** A histogram's rows as found ([sum, buckets...]), and its bucket rows once all are known. */
    this.rows = undefined
    this.buckets = null
    /** A per-process gauge's rows: contributor slot -> u64 index. */
    this.contributions = null
    /** This process found no room for its rows: its observations are dropped (retried at `retryAt`, ms). */
    this.refused = false
    this.retryAt = 0
    // The labels object printed for it, for the order code it was made for.
    this.labels = null
    this.labelsCode = -1
    /** Seq and label order code as last read from the meta word. */
    this.seq = 0
    this.code = 0
  }

  /** The labels object to print, in the order `code` gives (cached per code). */
  outLabels(names, code) {
    if (code === this.labelsCode) return this.labels
    const present = []
    for (let i = 0; i < this.values.length; i++) if (this.values[i] !== null) present.push(i)
    const labels = {}
    for (const i of orderOf(code, present)) labels[names[i]] = this.values[i]
    this.labels = labels
    this.labelsCode = code
    return labels
  }
}

/**
 * What the label cache holds for a label set whose series string found no
 * room: its observations are dropped; the store is asked again at
 * `retryAt` (ms).
 */
class Dropped {
  constructor(values, retryAt) {
    this.slot = -1
    this.refused = true
    this.dropped = true
    this.values = values
    this.retryAt = retryAt
  }
}

module.exports = { VISIBLE, ORDER_MASK, FIELD, MAX_ORDERED, orderCode, orderOf, seriesText, parseSeries, Series, Dropped }
