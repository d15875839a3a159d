'use strict'
// Review finding: an observation with a bad value throws (as documented),
// but only after it has made its series: the label set's string is interned
// and its rows inserted (Counter#inc, Gauge#inc/dec/set, Histogram#observe
// evaluate this._series(labels) before checking the value). docs/METRICS.md
// says a bad value "changes nothing"; here it uses up series (rows) and
// string bytes for good, so a store at its limit drops the next valid new
// series instead.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { MetricsStore } = require('../metrics')

test('a bad value changes nothing: no series, no string bytes', (t) => {
  const store = new MetricsStore({ series: 100 })
  t.after(() => store.close())
  const c = new store.Counter({ name: 'c_total', help: 'h', labelNames: ['a'] })
  const g = new store.Gauge({ name: 'g', help: 'h', labelNames: ['a'] })
  const h = new store.Histogram({ name: 'h', help: 'h', labelNames: ['a'], buckets: [1] })
  const before = store.stats()
  assert.throws(() => c.inc({ a: 'x' }, -1), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => g.set({ a: 'y' }, '5'), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => g.inc({ a: 'z' }, 1n), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => h.observe({ a: 'w' }, NaN), { code: 'ERR_OUT_OF_RANGE' })
  const after = store.stats()
  assert.equal(after.series, before.series, 'rows inserted by calls that threw')
  assert.equal(after.stringBytesUsed, before.stringBytesUsed, 'strings interned by calls that threw')
})

test('a store at its limit: a bad call does not take the room of the next valid series', (t) => {
  const store = new MetricsStore({ series: 1 })
  t.after(() => store.close())
  const c = new store.Counter({ name: 'c_total', help: 'h', labelNames: ['route'] })
  assert.throws(() => c.inc({ route: '/typo' }, -1), { code: 'ERR_OUT_OF_RANGE' })
  c.inc({ route: '/api' })
  assert.equal(store.stats().dropped, 0, 'the valid observation was dropped')
})
