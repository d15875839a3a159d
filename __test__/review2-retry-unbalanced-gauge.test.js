'use strict'
// Review 2 finding (lib/metrics/metric.js, _dropped): the retry of a label
// set the store had no room for makes a per-process 'sum' gauge used as
// inc()/dec() pairs (requests in flight, the cluster-metrics example's
// http_requests_in_flight) drift below the truth for good. The inc() of a
// request that began while the series had no row here was dropped; once a
// retry finds a row, that request's dec() is applied. Every request in
// flight across the retry (and the one whose inc() made the retry) leaves
// -1 in this process's share, summed into the gauge for as long as the
// process lives. Before the retry existed such a process just stayed out of
// the gauge (its changes dropped and counted, docs/METRICS.md "A full
// store"); now it pulls the others' value down, to below zero when alone.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { once } = require('node:events')
const { MetricsStore } = require('../metrics')

test('a per-process gauge series that finds room on a retry keeps counting the dec() of incs it dropped', async (t) => {
  process.on('warning', () => {})
  const store = new MetricsStore({ series: 3 })
  t.after(() => store.close())
  const config = { name: 'in_flight', help: 'h' }
  const g = new store.Gauge(config) // row 1: slot 0's
  const w1 = MetricsStore.attach(store.share())
  t.after(() => w1.close())
  new w1.Gauge(config).inc(2) // row 2: slot 1's; 2 requests in flight there

  // A process SIGKILLed right after it took the last row's unit of capacity
  // (as in metrics.test.js): the unit is leaked until repairCounts().
  const dead = require('..').spawn(
    process.execPath,
    ['-e', `const s = require(${JSON.stringify(path.join(__dirname, '..', 'metrics.js'))}).MetricsStore.inherit('m'); new s.Counter({ name: 'c_total', help: 'c' })`],
    { share: { m: store }, env: { ...process.env, ATOMIC_DICT_FAILPOINT: 'after-admit' }, stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const [, signal] = await once(dead, 'exit')
  assert.equal(signal, 'SIGKILL')

  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  const w2 = MetricsStore.attach(store.share()) // a worker whose gauge row does not fit yet
  t.after(() => w2.close())
  const g2 = new w2.Gauge(config)
  g2.inc() // request A begins: dropped (no row for this process)
  assert.equal(store.stats().dropped, 1)
  assert.equal(store.table.repairCounts().reserved, 3, 'the leaked unit, before the repair')
  t.mock.timers.tick(1001)
  g2.inc() // request B begins: dropped, and the retry finds a row
  g2.dec() // request A ends
  g2.dec() // request B ends
  // Fixed by not asking again for 'sum' gauges: the process stays out of
  // the series, its two incs and two decs all dropped.
  assert.equal(store.stats().dropped, 4, 'every change of the process without a row was dropped')

  // w2 has nothing in flight, w1 has 2: the gauge is 2.
  assert.deepEqual((await g.get()).values, [{ value: 2, labels: {} }], 'the decs of dropped incs count against the gauge')
})
