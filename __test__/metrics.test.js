'use strict'
// atomic-dict/metrics across real processes: totals exact whoever reports
// them, per-process gauges that forget a SIGKILLed process at once (and a
// dead process's slot reused without its leftovers), named files, worker
// threads, a store that is full, conflicting declarations, bad input.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { once } = require('node:events')
const { Worker } = require('node:worker_threads')
const client = require('prom-client')
const { fork } = require('..')
const { MetricsStore, Counter, Gauge, Histogram } = require('../metrics')

const CHILD = path.join(__dirname, 'fixtures', 'metrics-child.js')

/**
 * A child process running fixtures/metrics-child.js; `ask(msg)` resolves
 * with its reply (rejects with its error). Killed when the test ends.
 */
async function child(t, share) {
  const proc = fork(CHILD, [], { share, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] })
  let stderr = ''
  proc.stderr.on('data', (d) => (stderr += d))
  const replies = []
  const waiting = []
  proc.on('message', (m) => (waiting.length ? waiting.shift()(m) : replies.push(m)))
  const exited = once(proc, 'exit')
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  })
  const reply = () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply from child ${proc.pid} in 20 s\n${stderr}`)), 20_000)
      const take = (m) => {
        clearTimeout(timer)
        resolve(m)
      }
      if (replies.length) take(replies.shift())
      else waiting.push(take)
    })
  await reply() // ready
  return {
    proc,
    pid: proc.pid,
    exited,
    async ask(msg) {
      proc.send(msg)
      const m = await reply()
      if (!m.ok) throw Object.assign(new Error(m.message), { code: m.code })
      return m
    },
    async kill() {
      proc.kill('SIGKILL')
      await exited
    },
  }
}

/** The parent's view: the same declarations as the child's, in a registry of its own. */
function declare(store) {
  const registry = new client.Registry()
  const registers = [registry]
  return {
    registry,
    requests: new store.Counter({ name: 'http_requests_total', help: 'Requests', labelNames: ['route', 'code'], registers }),
    bytes: new store.Counter({ name: 'bytes_total', help: 'Bytes', registers }),
    inFlight: new store.Gauge({ name: 'in_flight', help: 'In flight', registers }),
    memory: new store.Gauge({ name: 'worker_memory', help: 'Largest', aggregate: 'max', registers }),
    version: new store.Gauge({ name: 'version', help: 'Last set', aggregate: 'last', registers }),
    latency: new store.Histogram({ name: 'latency_seconds', help: 'Latency', labelNames: ['route'], buckets: [0.125, 0.5, 2], registers }),
  }
}

/** Adds the children's reports of what they did. */
function total(reports) {
  const requests = {}
  const latency = {}
  let bytes = 0
  for (const { did } of reports) {
    bytes += did.bytes
    for (const [k, n] of Object.entries(did.requests)) requests[k] = (requests[k] ?? 0) + n
    for (const [route, h] of Object.entries(did.latency)) {
      const t = (latency[route] ??= { count: 0, sum: 0, buckets: [0, 0, 0] })
      t.count += h.count
      t.sum += h.sum
      h.buckets.forEach((b, i) => (t.buckets[i] += b))
    }
  }
  return { requests, latency, bytes }
}

/** What get() reports, in total()'s form. */
async function reported(m) {
  const requests = {}
  for (const v of (await m.requests.get()).values) {
    if (v.value !== 0) requests[JSON.stringify([v.labels.route, v.labels.code])] = v.value
  }
  const latency = {}
  for (const v of (await m.latency.get()).values) {
    const t = (latency[v.labels.route] ??= { count: 0, sum: 0, buckets: [] })
    if (v.metricName === 'latency_seconds_count') t.count = v.value
    else if (v.metricName === 'latency_seconds_sum') t.sum = v.value
    else if (v.labels.le !== '+Inf') t.buckets.push(v.value)
  }
  const bytes = (await m.bytes.get()).values[0].value
  return { requests, latency, bytes }
}

async function gaugeValue(gauge) {
  const values = (await gauge.get()).values
  return values.length === 0 ? undefined : values[0].value
}

test('4 processes observe at once: any process reports the exact totals of all, as prom-client text', async (t) => {
  const store = new MetricsStore({ series: 4096 })
  t.after(() => store.close())
  const m = declare(store)
  const kids = await Promise.all([1, 2, 3, 4].map(() => child(t, { metrics: store })))
  for (const k of kids) await k.ask({ op: 'open', how: 'inherit' })
  const reports = await Promise.all(kids.map((k, i) => k.ask({ op: 'work', seed: 100 + i, n: 20_000 })))
  const want = total(reports)
  assert.deepEqual(await reported(m), want)
  // Every child prints the same text as the parent.
  const text = await m.registry.metrics()
  assert.match(text, /^http_requests_total\{route="ünï \\"quoted\\"",code="\d+"\} \d+$/m)
  for (const k of kids) assert.equal((await k.ask({ op: 'metrics' })).text, text)
  assert.equal(store.stats().dropped, 0)
  assert.ok(store.table.verify().ok)
})

test("per-process gauges: a SIGKILLed process's in-flight count drops out at once; its slot is reused without its leftovers", async (t) => {
  const store = new MetricsStore({ series: 1024, processes: 3 })
  t.after(() => store.close())
  const m = declare(store)
  m.inFlight.inc(2) // the parent is a contributor too (slot 0)
  const kids = await Promise.all([1, 2].map(() => child(t, { metrics: store })))
  const slots = []
  for (const k of kids) slots.push((await k.ask({ op: 'open', how: 'inherit' })).slot)
  assert.deepEqual(slots.sort(), [1, 2])
  await kids[0].ask({ op: 'hold', n: 5 })
  await kids[1].ask({ op: 'hold', n: 11 })
  await kids[0].ask({ op: 'set', value: 300 })
  await kids[1].ask({ op: 'set', value: 200 })
  assert.equal(await gaugeValue(m.inFlight), 2 + 5 + 11)
  assert.equal(await gaugeValue(m.memory), 300)
  assert.equal(await gaugeValue(m.version), 200)

  await kids[1].kill()
  assert.equal(await gaugeValue(m.inFlight), 2 + 5, 'the killed process (11 in flight) is gone from the sum')
  await kids[0].kill()
  assert.equal(await gaugeValue(m.inFlight), 2)
  assert.equal(await gaugeValue(m.memory), undefined, 'a max gauge with no live contributor that set it lists nothing')
  assert.equal(await gaugeValue(m.version), 200, "a 'last' gauge keeps its value")

  // Only 3 slots: the new processes must take the dead ones', and must
  // not bring back their 5 and 11.
  const again = await Promise.all([1, 2].map(() => child(t, { metrics: store })))
  for (const k of again) await k.ask({ op: 'open', how: 'inherit' })
  await again[0].ask({ op: 'hold', n: 1 })
  assert.equal(await gaugeValue(m.inFlight), 3)
  // A fourth store object finds every slot taken.
  const extra = await child(t, { metrics: store })
  await assert.rejects(extra.ask({ op: 'open', how: 'inherit' }), { code: 'ERR_ATOMIC_DICT_FULL' })
})

test('named file (pm2 mode): processes started together share one store; label values come back as strings', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'store')
  const kids = await Promise.all([1, 2, 3].map(() => child(t)))
  const opened = await Promise.all(kids.map((k) => k.ask({ op: 'open', how: 'open', path: file, options: { series: 2048 } })))
  assert.equal(new Set(opened.map((o) => o.slot)).size, 3)
  const reports = await Promise.all(kids.map((k, i) => k.ask({ op: 'work', seed: 7 + i, n: 5000 })))
  await Promise.all(kids.map((k) => k.ask({ op: 'hold', n: 1 })))
  const store = MetricsStore.open(file)
  t.after(() => store.close())
  const m = declare(store)
  assert.deepEqual(await reported(m), total(reports))
  assert.equal(await gaugeValue(m.inFlight), 3)
  for (const k of kids) await k.kill()
  assert.equal(await gaugeValue(m.inFlight), 0)
  // Given options must match the file.
  assert.throws(() => MetricsStore.open(file, { series: 100 }), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
  assert.throws(() => MetricsStore.open(path.join(dir, 'absent')), { code: 'ENOENT', message: /needs options\.series/ })
  assert.throws(() => MetricsStore.open(path.join(dir, 'absent2'), { series: 10, create: false }), { code: 'ENOENT' })
})

test("a worker thread is a contributor of its own: its gauge values drop out when it ends", async (t) => {
  const store = new MetricsStore({ series: 256 })
  t.after(() => store.close())
  const m = declare(store)
  const code = `
    const { workerData, parentPort } = require('node:worker_threads')
    const { MetricsStore } = require(${JSON.stringify(path.join(__dirname, '..', 'metrics.js'))})
    const store = MetricsStore.attach(workerData)
    const g = new store.Gauge({ name: 'in_flight', help: 'In flight' })
    g.inc(4)
    parentPort.postMessage(store.stats().contributor)
    parentPort.once('message', () => {})
  `
  const worker = new Worker(code, { eval: true, workerData: store.share() })
  const [slot] = await once(worker, 'message')
  m.inFlight.inc(1)
  assert.notEqual(slot, store.stats().contributor)
  assert.equal(await gaugeValue(m.inFlight), 5)
  await worker.terminate()
  // The thread's store object is finalized with its environment: its slot's locks go.
  let v
  for (let i = 0; i < 100 && (v = await gaugeValue(m.inFlight)) !== 1; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(v, 1)
})

test('a full store drops observations of new series (warns once, counts them) and changes nothing recorded', async (t) => {
  const store = new MetricsStore({ series: 6 })
  t.after(() => store.close())
  const registry = new client.Registry()
  const c = new store.Counter({ name: 'c_total', help: 'c', labelNames: ['k'], registers: [registry] })
  const h = new store.Histogram({ name: 'h', help: 'h', buckets: [1, 2], labelNames: ['k'], registers: [registry] })
  const own = store.collectStoreMetrics({ register: registry })
  assert.equal(own.length, 5)
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  c.inc({ k: 'a' }, 2)
  h.observe({ k: 'a' }, 1.5) // 4 rows: sum, 1, 2, +Inf
  c.inc({ k: 'b' }) // the 6th row
  const before = await registry.metrics()
  c.inc({ k: 'c' }) // no room
  c.inc({ k: 'c' }, 5)
  h.observe({ k: 'b' }, 1)
  c.labels('d').inc()
  c.inc({ k: 'a' }) // an existing series still counts
  await new Promise((r) => setImmediate(r))
  assert.equal(warnings.length, 1, 'one warning')
  assert.equal(warnings[0].code, 'ERR_ATOMIC_DICT_FULL')
  assert.match(warnings[0].message, /limit of 6 series/)
  const s = store.stats()
  assert.equal(s.dropped, 4)
  assert.equal(s.series, 6)
  const after = await registry.metrics()
  // (Label values of dropped series may still have taken string bytes.)
  const comparable = (text) => text.replace(/^atomic_dict_metrics_string_bytes .*$/m, '')
  assert.equal(comparable(after.replace(/^c_total\{k="a"\} 3$/m, 'c_total{k="a"} 2').replace(/dropped_total 4/, 'dropped_total 0')), comparable(before))
  assert.match(after, /^atomic_dict_metrics_dropped_total 4$/m)
  assert.match(after, /^atomic_dict_metrics_series 6$/m)
  assert.match(after, /^atomic_dict_metrics_series_limit 6$/m)
  assert.doesNotMatch(after, /k="c"|k="d"|^h_\w+\{.*k="b"/m)
})

test('every process must declare a metric alike', async (t) => {
  const store = new MetricsStore({ series: 64 })
  t.after(() => store.close())
  new store.Counter({ name: 'jobs_total', help: 'Jobs', labelNames: ['queue'] })
  assert.throws(() => new store.Counter({ name: 'jobs_total', help: 'again' }), { code: 'ERR_ATOMIC_DICT_METRIC_EXISTS' })
  const k = await child(t, { metrics: store })
  await k.ask({ op: 'open', how: 'inherit' })
  await assert.rejects(k.ask({ op: 'declare', config: { name: 'jobs_total', help: 'Jobs', labelNames: ['queue', 'kind'] } }), {
    code: 'ERR_ATOMIC_DICT_METRIC_MISMATCH',
    message: /"labelNames":\["queue"\]/,
  })
  await k.ask({ op: 'declare', config: { name: 'jobs_total', help: 'Other help text is fine', labelNames: ['queue'] } })
  // Another type under the same name is a mismatch too.
  const other = new MetricsStore({ series: 8 })
  t.after(() => other.close())
  new other.Gauge({ name: 'g', help: 'h' })
  const again = MetricsStore.attach(other.share())
  t.after(() => again.close())
  assert.throws(() => new again.Counter({ name: 'g', help: 'h' }), { code: 'ERR_ATOMIC_DICT_METRIC_MISMATCH' })
  assert.throws(() => new again.Gauge({ name: 'g', help: 'h', aggregate: 'max' }), { code: 'ERR_ATOMIC_DICT_METRIC_MISMATCH' })
})

test('bad input: clear errors with codes, nothing changed', async (t) => {
  const store = new MetricsStore({ series: 64 })
  t.after(() => store.close())
  const reg = new client.Registry()
  const c = new store.Counter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [reg] })
  const g = new store.Gauge({ name: 'g', help: 'g', registers: [reg] })
  const h = new store.Histogram({ name: 'h', help: 'h', buckets: [1], registers: [reg] })
  const before = await reg.metrics()
  assert.throws(() => c.inc({ b: 1 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /label "b" is not a label of c_total/ })
  assert.throws(() => c.inc({ a: 'x' }, -1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => c.inc({ a: 'x' }, NaN), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => c.inc({ a: 'x' }, Infinity), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => c.inc({ a: 'x' }, '1'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => c.inc({ a: { toString: () => 'x' } }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => c.inc({ a: Symbol('s') }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => c.labels('x', 'y'), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => g.set('1'), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => g.inc(1n), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => h.observe(Infinity), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => h.observe({}), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.equal(await reg.metrics(), before)

  for (const [config, code] of [
    [undefined, 'ERR_INVALID_ARG_TYPE'],
    [{ help: 'h' }, 'ERR_INVALID_ARG_TYPE'],
    [{ name: 'bad name', help: 'h' }, 'ERR_INVALID_ARG_VALUE'],
    [{ name: 'x', help: '' }, 'ERR_INVALID_ARG_TYPE'],
    [{ name: 'x', help: 'h', labelNames: ['ok', 'ok'] }, 'ERR_INVALID_ARG_VALUE'],
    [{ name: 'x', help: 'h', labelNames: ['__reserved'] }, 'ERR_INVALID_ARG_VALUE'],
    [{ name: 'x', help: 'h', labelnames: ['typo'] }, 'ERR_INVALID_ARG_VALUE'],
    [{ name: 'x', help: 'h', enableExemplars: true }, 'ERR_INVALID_ARG_VALUE'],
    [{ name: 'x', help: 'h', registers: [{}] }, 'ERR_INVALID_ARG_TYPE'],
    [{ name: 'x', help: 'h', collect: 1 }, 'ERR_INVALID_ARG_TYPE'],
  ]) {
    assert.throws(() => new store.Counter(config), { code }, JSON.stringify(config))
  }
  assert.throws(() => new store.Histogram({ name: 'x', help: 'h', buckets: [1, 1] }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => new store.Histogram({ name: 'x', help: 'h', buckets: [1, Infinity] }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => new store.Histogram({ name: 'x', help: 'h', labelNames: ['le'] }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => new store.Gauge({ name: 'x', help: 'h', aggregate: 'avg' }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => new MetricsStore(), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => new MetricsStore({ series: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => new MetricsStore({ series: 10, serie: 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => new MetricsStore({ series: 10, processes: 5000 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => new MetricsStore({ series: 10, strings: 100 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => store.collectStoreMetrics({}), { code: 'ERR_INVALID_ARG_TYPE' })
  // None of the refused declarations took a name.
  new store.Counter({ name: 'x', help: 'now it is fine' })
  // Nor does one whose registry refuses it.
  const taken = new client.Registry()
  new client.Counter({ name: 'taken_total', help: 'prom-client own', registers: [taken] })
  assert.throws(() => new store.Counter({ name: 'taken_total', help: 'h', registers: [taken] }), /already been registered/)
  new store.Counter({ name: 'taken_total', help: 'h' })
  // Nor a per-process gauge that finds no free contributor slot.
  const one = new MetricsStore({ series: 8, processes: 1 })
  new one.Gauge({ name: 'busy', help: 'h' }).inc(5)
  const second = MetricsStore.attach(one.share())
  t.after(() => second.close())
  assert.throws(() => new second.Gauge({ name: 'busy', help: 'h' }), { code: 'ERR_ATOMIC_DICT_FULL', message: /all 1 contributor slots/ })
  one.close() // its slot is free, and its 5 drop out
  const busy = new second.Gauge({ name: 'busy', help: 'h' })
  assert.equal((await busy.get()).values[0].value, 0)
})

test('closed: metrics of a closed store throw ERR_ATOMIC_DICT_CLOSED; other store objects go on', async () => {
  const store = new MetricsStore({ series: 64 })
  const c = new store.Counter({ name: 'c_total', help: 'c', labelNames: ['a'] })
  const g = new store.Gauge({ name: 'g', help: 'g' })
  c.inc({ a: 'x' })
  const other = MetricsStore.attach(store.share())
  const c2 = new other.Counter({ name: 'c_total', help: 'c', labelNames: ['a'] })
  store.close()
  store.close()
  assert.throws(() => c.inc({ a: 'x' }), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  assert.throws(() => c.inc({ a: 'new' }), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  assert.throws(() => g.inc(), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  await assert.rejects(c.get(), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  assert.throws(() => new store.Counter({ name: 'late', help: 'h' }), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  c2.inc({ a: 'x' })
  assert.equal((await c2.get()).values[0].value, 2)
  other.close()
})

test('the base classes are exported for instanceof, and store classes say which store they belong to', () => {
  const store = new MetricsStore({ series: 16 })
  try {
    const c = new store.Counter({ name: 'a', help: 'h' })
    const g = new store.Gauge({ name: 'b', help: 'h' })
    const h = new store.Histogram({ name: 'c', help: 'h' })
    assert.ok(c instanceof Counter && g instanceof Gauge && h instanceof Histogram)
    assert.ok(c instanceof store.Counter)
    assert.equal(store.Counter.store, store)
    assert.equal(store.getSingleMetric('a'), c)
    assert.equal(Object.prototype.toString.call(store), '[object MetricsStore]')
  } finally {
    store.close()
  }
})

test('a label set dropped for want of room is asked about again once a second has passed (rows given back by repairCounts)', async (t) => {
  const store = new MetricsStore({ series: 2 })
  t.after(() => store.close())
  const registry = new client.Registry()
  const c = new store.Counter({ name: 'c_total', help: 'c', labelNames: ['k'], registers: [registry] })
  process.on('warning', () => {})
  c.inc({ k: 'a' }) // row 1
  // A process SIGKILLed right after it took the last row's unit of
  // capacity, before it claimed the row: the unit is leaked.
  const dead = require('..').spawn(
    process.execPath,
    ['-e', `const s = require(${JSON.stringify(path.join(__dirname, '..', 'metrics.js'))}).MetricsStore.inherit('m'); new s.Counter({ name: 'c_total', help: 'c', labelNames: ['k'] }).inc({ k: 'x' })`],
    { share: { m: store }, env: { ...process.env, ATOMIC_DICT_FAILPOINT: 'after-admit' }, stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const [, signal] = await once(dead, 'exit')
  assert.equal(signal, 'SIGKILL')
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  c.inc({ k: 'b' }) // the table reads full: dropped
  const child = c.labels('b')
  child.inc()
  assert.equal(store.stats().dropped, 2)
  assert.equal(store.table.repairCounts().reserved, 2, 'the leaked unit, before the repair')
  c.inc({ k: 'b' }) // within the second: dropped without asking
  assert.equal(store.stats().dropped, 3)
  t.mock.timers.tick(1001)
  c.inc({ k: 'b' }) // dropped, and asks again: the row fits now
  child.inc()
  c.inc({ k: 'b' }, 5)
  assert.equal(store.stats().dropped, 4)
  assert.match(await registry.metrics(), /^c_total\{k="b"\} 6$/m)
})
