'use strict'
// atomic-dict/metrics against prom-client itself: the same observations
// applied to prom-client's own (unshared) metrics and to the store's must
// print byte for byte the same text through prom-client's registries
// (Prometheus and OpenMetrics), and get() must give the same objects.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const client = require('prom-client')
const { MetricsStore } = require('../metrics')
const { prng } = require('./fixtures/prng')

const ROUTES = ['/', '/api/items', 'quote"d', 'back\\slash', 'new\nline', 'ünïcødé ✓', '']
const CODES = ['200', '404', '500']
const BUCKETS = [0.001, 0.01, 0.1, 1, 10]
const VALUES = [undefined, 1, 2, 0.1, 0.2, 0.3, 1e-9, 123456.789, 0]

/** The same metrics in prom-client (unshared) and in a new store, each world with its own registry. */
function worlds(registryType) {
  const make = (kind) => {
    const reg = new client.Registry(registryType)
    const store = kind === 'ours' ? new MetricsStore({ series: 4096 }) : null
    const C = store ? { Counter: store.Counter, Gauge: store.Gauge, Histogram: store.Histogram } : client
    const registers = [reg]
    return {
      reg,
      store,
      counter: new C.Counter({ name: 'http_requests_total', help: 'Requests', labelNames: ['route', 'code'], registers }),
      plain: new C.Counter({ name: 'jobs_total', help: 'Jobs, no labels', registers }),
      gauge: new C.Gauge({ name: 'queue_depth', help: 'Depth\nwith a newline and a \\ backslash', labelNames: ['route'], registers }),
      plainGauge: new C.Gauge({ name: 'temperature', help: 'Temp', registers }),
      hist: new C.Histogram({ name: 'http_request_seconds', help: 'Latency', labelNames: ['route', 'code'], buckets: BUCKETS, registers }),
      plainHist: new C.Histogram({ name: 'job_seconds', help: 'Job time', buckets: BUCKETS, registers }),
      defaultHist: new C.Histogram({ name: 'default_buckets_seconds', help: 'prom-client default buckets', registers }),
    }
  }
  return [make('prom'), make('ours')]
}

/** A random labels object of route/code: keys in a random order, sometimes one left out. */
function labelsOf(next) {
  const route = ROUTES[Math.floor(next() * ROUTES.length)]
  const code = CODES[Math.floor(next() * CODES.length)]
  const r = next()
  if (r < 0.1) return { route }
  if (r < 0.15) return { code }
  if (r < 0.17) return {}
  return next() < 0.5 ? { route, code } : { code, route }
}

/**
 * One random operation, applied alike to both worlds. Gauges take labels in
 * one fixed order: prom-client's Gauge#set replaces a series' labels object
 * (its printed label order follows the last set), while the store keeps the
 * order the series appeared with (docs/METRICS.md).
 */
function step(next, [a, b]) {
  const r = next()
  const v = VALUES[Math.floor(next() * VALUES.length)]
  const labels = labelsOf(next)
  const fixed = { route: labels.route ?? '/', code: labels.code ?? '200' }
  const scale = next() < 0.5 ? 1 : 100
  const both = (fn) => {
    fn(a)
    fn(b)
  }
  if (r < 0.25) both((w) => w.counter.inc(labels, v))
  else if (r < 0.3) both((w) => w.counter.labels(fixed.route, fixed.code).inc(v))
  else if (r < 0.33) both((w) => (v === undefined ? w.plain.inc() : w.plain.inc(v)))
  else if (r < 0.38) both((w) => w.gauge.inc({ route: fixed.route }, v))
  else if (r < 0.43) both((w) => w.gauge.dec({ route: fixed.route }, v))
  else if (r < 0.48) both((w) => w.gauge.set({ route: fixed.route }, v ?? -3.5))
  else if (r < 0.5) both((w) => w.gauge.labels(fixed.route).set(v ?? 7))
  else if (r < 0.53) both((w) => w.plainGauge.set(v ?? -0.5))
  else if (r < 0.55) both((w) => w.plainGauge.inc(v))
  else if (r < 0.7) both((w) => w.hist.observe(labels, (v ?? 0.05) * scale))
  else if (r < 0.75) both((w) => w.hist.labels(fixed.route, fixed.code).observe(v ?? 5))
  else if (r < 0.8) both((w) => w.plainHist.observe(v ?? 0.5))
  else if (r < 0.82) both((w) => w.defaultHist.observe(v ?? 0.07))
  else if (r < 0.84) both((w) => w.hist.zero(labels))
  else if (r < 0.86) both((w) => w.counter.remove(fixed.route, fixed.code))
  else if (r < 0.87) both((w) => w.hist.remove(fixed))
  else if (r < 0.88) both((w) => w.gauge.remove({ route: fixed.route }))
  else if (r < 0.885) both((w) => w.counter.reset())
  else if (r < 0.89) both((w) => w.hist.reset())
  else if (r < 0.895) both((w) => w.gauge.reset())
  else if (r < 0.9) both((w) => w.plainHist.reset())
  else if (r < 0.905) both((w) => w.plain.reset())
  else if (r < 0.91) both((w) => w.plainGauge.reset())
  else both((w) => w.counter.inc(labels))
}

/**
 * prom-client's get() can report a new gauge series decremented by 0 as -0
 * (it starts a series at the delta); the store's rows start at +0, and
 * 0 + -0 is +0. Both print 0.
 */
function positiveZero(data) {
  for (const v of data.values) if (Object.is(v.value, -0)) v.value = 0
  return data
}

async function compare([a, b], what) {
  assert.equal(await b.reg.metrics(), await a.reg.metrics(), `${what}: the registries' text`)
  for (const name of ['counter', 'plain', 'gauge', 'plainGauge', 'hist', 'plainHist', 'defaultHist']) {
    assert.deepEqual(await b[name].get(), positiveZero(await a[name].get()), `${what}: ${name}.get()`)
  }
}

for (const [registryType, label] of [
  [client.Registry.PROMETHEUS_CONTENT_TYPE, 'Prometheus'],
  [client.Registry.OPENMETRICS_CONTENT_TYPE, 'OpenMetrics'],
]) {
  test(`parity (${label} text): 3 seeds x 3000 random observations print exactly what prom-client prints`, async () => {
    for (const seed of [1, 2, 3]) {
      const next = prng(seed)
      const w = worlds(registryType)
      try {
        await compare(w, `seed ${seed}, before any observation`)
        for (let i = 1; i <= 3000; i++) {
          step(next, w)
          if (i % 250 === 0) await compare(w, `seed ${seed}, after ${i} observations`)
        }
      } finally {
        w[1].store.close()
      }
    }
  })
}

test('parity: label order is that of the labels object a series first appears with, then of the first after a reset', async () => {
  const w = worlds()
  const [a, b] = w
  try {
    for (const x of w) {
      x.counter.inc({ code: '200', route: '/b' })
      x.counter.inc({ route: '/a', code: '500' })
      x.counter.inc({ route: '/b', code: '200' }, 5)
      x.hist.observe({ code: '404', route: '/c' }, 0.5)
    }
    await compare(w, 'first orders')
    assert.match(await b.reg.metrics(), /^http_requests_total\{code="200",route="\/b"\} 6$/m)
    for (const x of w) {
      x.counter.reset()
      x.counter.inc({ route: '/b', code: '200' })
    }
    await compare(w, 'after reset')
    assert.match(await b.reg.metrics(), /^http_requests_total\{route="\/b",code="200"\} 1$/m)
    assert.doesNotMatch(await b.reg.metrics(), /route="\/a"/)
  } finally {
    b.store.close()
  }
  void a
})

test('parity: default labels of the registry, timers and setToCurrentTime', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_123 })
  const w = worlds()
  try {
    for (const x of w) {
      x.reg.setDefaultLabels({ app: 'shop', route: 'default-route' })
      x.counter.inc({ route: '/x' })
      x.plainGauge.setToCurrentTime()
      x.gauge.setToCurrentTime({ route: '/t' })
    }
    await compare(w, 'default labels and current time')
    // startTimer measures real time: compare the shape, and that the value is the one returned.
    const ends = w.map((x) => x.hist.startTimer({ route: '/timed' }))
    const seconds = ends.map((end) => end({ code: '200' }))
    const text = await w[1].reg.metrics()
    assert.match(text, new RegExp(`^http_request_seconds_sum\\{[^}]*route="/timed"[^}]*\\} ${seconds[1]}$`, 'm'))
    assert.ok(seconds[1] >= 0 && seconds[1] < 10)
  } finally {
    w[1].store.close()
  }
})
