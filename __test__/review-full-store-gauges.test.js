'use strict'
// Review finding (docs/METRICS.md, "A full store": "nothing already
// recorded changes, series already in the store keep counting"): a
// per-process gauge keeps one row per contributor slot, so a store object
// with a slot that has no row yet (a new worker after a scale-up, not a
// restart that reuses a dead one's slot) needs a new row for every existing
// series it touches. In a full store it gets none: its inc()/dec() of an
// existing series (http_requests_in_flight) are dropped, and the series
// already in the store stops counting that worker.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { MetricsStore } = require('../metrics')

test('a full store: a new worker still counts in a gauge series already in the store', async (t) => {
  process.on('warning', () => {})
  const store = new MetricsStore({ series: 2 })
  t.after(() => store.close())
  const config = { name: 'in_flight', help: 'h' }
  const g = new store.Gauge(config) // row 1: slot 0's
  const w1 = MetricsStore.attach(store.share())
  t.after(() => w1.close())
  new w1.Gauge(config).inc(2) // row 2: slot 1's; the store is full
  assert.equal(store.stats().series, 2)
  const w2 = MetricsStore.attach(store.share()) // a worker added later (slot 2)
  t.after(() => w2.close())
  new w2.Gauge(config).inc(3)
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual((await g.get()).values, [{ value: 5, labels: {} }], 'the series in the store does not count the new worker')
})
