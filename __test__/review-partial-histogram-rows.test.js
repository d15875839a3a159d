'use strict'
// Review finding: a histogram series that does not fit is dropped, but
// Core.insertRows() inserts its rows one by one (keys.many) and leaves those
// that fitted before the first that did not: they hold no series (the
// histogram needs all of them) and use up the store's room for good. So the
// rows left cannot take a counter series that fits in them, and
// atomic_dict_metrics_series / stats().series count rows no series uses.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { MetricsStore } = require('../metrics')

test('a histogram series refused for want of room leaves the room it did not use', (t) => {
  const store = new MetricsStore({ series: 7 })
  t.after(() => store.close())
  process.on('warning', () => {}) // the first drop warns
  const h = new store.Histogram({ name: 'h', help: 'h', labelNames: ['a'], buckets: [1] }) // 3 rows a series
  const c = new store.Counter({ name: 'c_total', help: 'h', labelNames: ['a'] }) // 1 row a series
  h.observe({ a: 'x' }, 0.5)
  h.observe({ a: 'y' }, 0.5)
  assert.equal(store.stats().series, 6)
  h.observe({ a: 'z' }, 0.5) // needs 3 rows, 1 left: dropped
  assert.equal(store.stats().dropped, 1)
  assert.equal(store.stats().series, 6, 'the dropped histogram series took rows')
  c.inc({ a: 'fits' }) // 1 row: fits in what is left
  assert.equal(store.stats().dropped, 1, 'a counter series that fits was dropped')
})
