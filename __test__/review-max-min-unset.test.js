'use strict'
// Review finding: 'max'/'min' gauges count a contribution row that was never
// set as a value of 0, against docs/METRICS.md ("the largest / smallest over
// the processes alive now that set it (one that only declares the gauge does
// not pull a max down to 0)").
//
// Two ways such a row appears:
// - a labels() child made and not (yet) set: _resolve() inserts the
//   process's row, which holds 0 (not the UNSET bits);
// - a contributor slot taken over from a dead (or closed) store object:
//   Core.contributorSlot() zeroes the former owner's rows with
//   storeFloat(0) instead of marking them UNSET, so the new owner
//   "contributes" 0 to every 'max'/'min' series the former one had set,
//   although it never set any. After a pm2 reload, every 'min' gauge of
//   positive values (free memory, free disk) reads 0.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { once } = require('node:events')
const { fork } = require('..')
const { MetricsStore } = require('../metrics')

const tick = () => new Promise((resolve) => setImmediate(resolve))
const CHILD = path.join(__dirname, 'fixtures', 'review-gauge-child.js')

async function child(t, store, arg) {
  const proc = fork(CHILD, [String(arg)], { share: { metrics: store }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  })
  const [msg] = await once(proc, 'message')
  return { proc, slot: msg.slot }
}

test("a 'max' gauge: a process that only makes a labels() child does not pull the max up to 0", async (t) => {
  const a = new MetricsStore({ series: 100 })
  t.after(() => a.close())
  const b = MetricsStore.attach(a.share())
  t.after(() => b.close())
  const config = { name: 'temperature_max', help: 'Largest', labelNames: ['room'], aggregate: 'max' }
  const ga = new a.Gauge(config)
  const gb = new b.Gauge(config)
  ga.set({ room: 'freezer' }, -18)
  gb.labels('freezer') // a child made ahead of use, never set
  const { values } = await ga.get()
  assert.deepEqual(values, [{ value: -18, labels: { room: 'freezer' } }])
})

test("a 'min' gauge: a closed store object's slot, taken by a new one that never sets the gauge, does not report 0", async (t) => {
  const keep = new MetricsStore({ series: 100 })
  t.after(() => keep.close())
  const config = { name: 'free_bytes_min', help: 'Smallest free', aggregate: 'min' }
  const reader = new keep.Gauge(config) // slot 0
  reader.set(9)
  const first = MetricsStore.attach(keep.share())
  new first.Gauge(config).set(5) // slot 1
  const slot = first.stats().contributor
  assert.deepEqual((await reader.get()).values, [{ value: 5, labels: {} }])
  first.close() // its 5 drops out; its slot is free
  await tick() // reads are refreshed once per tick
  assert.deepEqual((await reader.get()).values, [{ value: 9, labels: {} }])
  const second = MetricsStore.attach(keep.share())
  t.after(() => second.close())
  new second.Gauge(config) // declared, never set
  await tick()
  assert.equal(second.stats().contributor, slot, 'the new store object took the closed one\'s slot')
  const { values } = await reader.get()
  assert.deepEqual(values, [{ value: 9, labels: {} }], 'only the reader set the gauge: the min is 9')
})

test("a 'min' gauge: after a SIGKILLed worker is replaced (pm2 reload), the min is not 0", async (t) => {
  const store = new MetricsStore({ series: 100, processes: 3 })
  t.after(() => store.close())
  const config = { name: 'free_bytes_min', help: 'Smallest free', aggregate: 'min' }
  const parent = new store.Gauge(config) // slot 0, never set
  assert.equal(store.stats().contributor, 0)
  const a = await child(t, store, 3000) // slot 1
  const c = await child(t, store, 7000) // slot 2
  assert.deepEqual([a.slot, c.slot], [1, 2])
  assert.deepEqual((await parent.get()).values, [{ value: 3000, labels: {} }])
  a.proc.kill('SIGKILL')
  await once(a.proc, 'exit')
  assert.deepEqual((await parent.get()).values, [{ value: 7000, labels: {} }], 'the dead worker dropped out')
  const b = await child(t, store, 'none') // the replacement: takes slot 1, has not set the gauge yet
  assert.equal(b.slot, 1)
  await tick()
  assert.deepEqual((await parent.get()).values, [{ value: 7000, labels: {} }], 'the replacement has set nothing: min is still 7000')
})
