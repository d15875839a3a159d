'use strict'
// Review finding (docs/METRICS.md, "A full store"): a per-process gauge
// keeps one row per contributor slot, so a store object with a slot that has
// no row yet (a new worker after a scale-up, not a restart that reuses a
// dead one's slot) needs a new row for every series it touches. In a full
// store it gets none: as documented now, its changes of such a series are
// dropped and counted (and warned about), and what is recorded stays.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { MetricsStore } = require('../metrics')

test('a full store: a new worker without a row in a gauge series is dropped and counted; the recorded values stay', async (t) => {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  const store = new MetricsStore({ series: 2 })
  t.after(() => store.close())
  const config = { name: 'in_flight', help: 'h' }
  const g = new store.Gauge(config) // row 1: slot 0's (declaring a gauge without labels takes its row)
  const w1 = MetricsStore.attach(store.share())
  t.after(() => w1.close())
  new w1.Gauge(config).inc(2) // row 2: slot 1's; the store is full
  assert.equal(store.stats().series, 2)
  const w2 = MetricsStore.attach(store.share()) // a worker added later (slot 2)
  t.after(() => w2.close())
  const g2 = new w2.Gauge(config)
  g2.inc(3)
  g2.dec(1)
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual((await g.get()).values, [{ value: 2, labels: {} }])
  assert.equal(store.stats().dropped, 2, "the new worker's two changes")
  assert.equal(warnings.filter((w) => w.code === 'ERR_ATOMIC_DICT_FULL').length, 1, 'one warning (w2 is one store object)')
})
