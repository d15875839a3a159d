'use strict'
// A MetricsStore synced to Redis (lib/redis/sync-metrics.js, docs/SYNC.md
// "Metrics") against a real redis-server: the counters and histograms of
// several hosts' stores add up there, exactly, to global totals read back as
// a Prometheus exposition (lib/redis/sync-metrics-read.js) that promtool
// accepts; gauges stay local; what would take a count back is refused; a
// flusher SIGKILLed anywhere in a flush loses and doubles nothing.
//
// A "host" is a store file (and its sync state file beside it); its
// processes are child processes that open it by path.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Redis = require('ioredis')
const { Registry } = require('prom-client')
const { MetricsStore } = require('../lib/metrics')
const { syncToRedis } = require('../lib/redis')
const { readSyncedMetrics } = require('../lib/redis/sync-metrics-read')
const { startRedis } = require('./fixtures/redis')
const { promtoolCheckMetrics } = require('./fixtures/prometheus')
const checks = require('./fixtures/redis-checks')
const { sleep, until, nodeChild } = checks

const ROOT = path.join(__dirname, '..')

const tmpDir = (t) => checks.tmpDir(t, 'atomic-dict-sync-metrics-')
const freshName = () => checks.freshName('sync-metrics')

/**
 * The metrics every process of every host declares alike (run in the
 * children from its source text too). Observations are multiples of 1/16:
 * their sums are exact in float64 and in Redis' long doubles.
 */
function declare(store, registers = []) {
  return {
    requests: new store.Counter({ name: 'app_requests_total', help: 'Requests served', labelNames: ['route', 'code'], registers }),
    latency: new store.Histogram({ name: 'app_latency_seconds', help: 'Request latency', labelNames: ['route'], buckets: [0.125, 0.5, 1, 2], registers }),
    bytes: new store.Counter({ name: 'app_bytes_total', help: 'Bytes sent, in tenths', registers }),
    inflight: new store.Gauge({ name: 'app_inflight', help: 'Requests in flight', registers }),
    temperature: new store.Gauge({ name: 'app_temperature', help: 'Last temperature', aggregate: 'last', registers }),
  }
}

const ROUTES = ['/a', '/b', '/c']
const VALUES = [0.0625, 0.25, 0.75, 1.5, 4]

/** Observation i of any process (the parent computes the expected totals from it). */
function observe(m, i) {
  const route = ROUTES[i % 3]
  m.requests.inc({ route, code: i % 7 === 0 ? '500' : '200' })
  m.latency.observe({ route }, [0.0625, 0.25, 0.75, 1.5, 4][i % 5])
  m.bytes.inc(0.1) // not exact: sums within float rounding
  m.inflight.set(i % 10)
  m.temperature.set(i)
}

/** The prelude of a child process: env (a failpoint) set before the requires. */
function prelude(env = {}) {
  const sets = Object.entries(env).map(([k, v]) => `process.env[${JSON.stringify(k)}] = ${JSON.stringify(v)};`)
  return `${sets.join(' ')}
    const fs = require('node:fs')
    const { MetricsStore } = require(${JSON.stringify(path.join(ROOT, 'lib/metrics'))})
    const { syncToRedis } = require(${JSON.stringify(path.join(ROOT, 'lib/redis'))})
    const Redis = require(${JSON.stringify(require.resolve('ioredis'))})
    const declare = ${declare.toString()}
    const observe = ${observe.toString()}
    const ROUTES = ${JSON.stringify(ROUTES)}`
}

/**
 * Parses a text exposition into { 'name{k="v",...}' (labels sorted): value },
 * checking each line's syntax on the way.
 */
function parseExposition(text) {
  const out = {}
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m, `a sample line: ${line}`)
    const labels = []
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy
    let l
    while ((l = re.exec(m[2] ?? '')) !== null) labels.push(`${l[1]}="${l[2]}"`)
    assert.equal(re.lastIndex === 0 ? (m[2] ?? '').length : re.lastIndex, (m[2] ?? '').length, `labels of ${line}`)
    labels.sort()
    const key = labels.length ? `${m[1]}{${labels.join(',')}}` : m[1]
    assert.equal(out[key], undefined, `${key} listed once`)
    out[key] = Number(m[3])
  }
  return out
}

/** The expected global samples (counters and histograms) after `counts[i]` observations 0..counts[i]-1 in each process. */
function expectedSamples(counts) {
  const out = {}
  const add = (k, v) => (out[k] = (out[k] ?? 0) + v)
  const buckets = [0.125, 0.5, 1, 2]
  for (const n of counts) {
    for (let i = 0; i < n; i++) {
      const route = ROUTES[i % 3]
      add(`app_requests_total{code="${i % 7 === 0 ? '500' : '200'}",route="${route}"}`, 1)
      const v = VALUES[i % 5]
      for (const b of buckets) add(`app_latency_seconds_bucket{le="${b}",route="${route}"}`, v <= b ? 1 : 0)
      add(`app_latency_seconds_bucket{le="+Inf",route="${route}"}`, 1)
      add(`app_latency_seconds_count{route="${route}"}`, 1)
      add(`app_latency_seconds_sum{route="${route}"}`, v)
    }
    add('app_bytes_total', 0) // listed; checked apart (float rounding)
  }
  return out
}

/** Checks `text` with promtool check metrics: no error, no lint problem. */
async function promtoolAccepts(text) {
  const r = await promtoolCheckMetrics(text)
  assert.equal(r.code, 0, `promtool: ${r.stdout}${r.stderr}\n${text}`)
  assert.equal((r.stdout + r.stderr).trim(), '', `promtool lint: ${r.stdout}${r.stderr}`)
}

/** Samples of `text` without app_bytes_total (compared within rounding). */
function exact(samples) {
  const { app_bytes_total: _, ...rest } = samples
  return rest
}

/** The sum over stores `files` of their counters and histograms, as the stores read locally (prom-client's text). */
async function localTotals(files) {
  const out = {}
  for (const file of files) {
    const store = MetricsStore.open(file)
    try {
      const register = new Registry()
      declare(store, [register])
      for (const [k, v] of Object.entries(parseExposition(await register.metrics()))) {
        if (!k.startsWith('app_inflight') && !k.startsWith('app_temperature')) out[k] = (out[k] ?? 0) + v
      }
    } finally {
      store.close()
    }
  }
  return out
}

describe('syncToRedis of a MetricsStore', () => {
  let server
  let redis
  before(async () => {
    server = await startRedis({ appendonly: true, appendfsync: 'always' })
    redis = new Redis({ port: server.port, host: '127.0.0.1' })
  })
  after(async () => {
    redis?.disconnect()
    await server?.stop()
  })

  /** A child process of host `file` that makes `n` observations while syncing every 5 ms, then closes its sync (a final flush). */
  function worker(file, name, n, env) {
    return nodeChild(
      prelude(env),
      `const store = MetricsStore.open(${JSON.stringify(file)}, { series: 200 })
       const m = declare(store)
       const redis = new Redis(${server.port})
       const sync = syncToRedis(store, redis, ${JSON.stringify(name)}, { interval: 5 })
       for (let i = 0; i < ${n}; i++) {
         observe(m, i)
         if (i % 200 === 0) await new Promise((r) => setTimeout(r, 1))
       }
       await sync.close()
       console.log(JSON.stringify({ done: ${n} }))
       redis.disconnect()
       store.close()`,
    )
  }

  test('two hosts, two processes each: exact global counters and histograms in Redis, an exposition promtool accepts, no gauges', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const hosts = [path.join(dir, 'a'), path.join(dir, 'b')]
    const counts = [3000, 2000, 2500, 1500]
    const children = counts.map((n, i) => worker(hosts[i >> 1], name, n))
    for (const c of children) {
      const r = await c.exited
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}`)
    }
    const text = await readSyncedMetrics(redis, name)
    const got = parseExposition(text)
    const want = expectedSamples(counts)
    // Counts (requests, buckets, counts) and the 1/16ths' sums: exact.
    assert.deepEqual(exact(got), exact(want))
    // Tenths: within float rounding.
    const total = counts.reduce((a, b) => a + b, 0)
    assert.ok(Math.abs(got.app_bytes_total - total * 0.1) < 1e-9 * total, `app_bytes_total ${got.app_bytes_total}`)
    // The locals agree: what each host's store holds adds up to the same.
    const local = await localTotals(hosts)
    assert.deepEqual(exact(got), exact(local))
    // HELP and TYPE lines, and promtool's check.
    assert.match(text, /^# HELP app_requests_total Requests served\n# TYPE app_requests_total counter$/m)
    assert.match(text, /^# HELP app_latency_seconds Request latency\n# TYPE app_latency_seconds histogram$/m)
    assert.doesNotMatch(text, /app_inflight|app_temperature/)
    await promtoolAccepts(text)
    // Redis holds no gauge: no row, and no string of theirs.
    const strings = Object.values(await redis.hgetall(`{${name}}:s`))
    assert.ok(strings.length > 0)
    assert.ok(strings.every((s) => !s.includes('app_inflight') && !s.includes('app_temperature')))
    // Fields: 6 requests series, 3 latency series of sum + 5 buckets, bytes.
    assert.equal(Object.keys(await redis.hgetall(`{${name}}:f`)).length, 6 + 3 + 1)
    assert.equal(Object.keys(await redis.hgetall(`{${name}}:d`)).length, 3 * 5)
    // Every change was delivered: a new process of a host finds nothing to send, and gauges never count as pending.
    const store = MetricsStore.open(hosts[0])
    t.after(() => store.close())
    const m = declare(store)
    const sync = syncToRedis(store, redis, name, { interval: 3_600_000 })
    t.after(() => sync.close().catch(() => {}))
    assert.equal(await sync.metrics(), text) // the same, through the sync
    m.inflight.set(42)
    m.temperature.set(-3)
    assert.deepEqual(await sync.flush(), { outcome: 'idle', seq: sync.stats().seq, keys: 0 })
    assert.equal(sync.pending, 0)
    assert.equal(sync.lag, 0)
    m.requests.inc({ route: '/a', code: '200' }, 5)
    await sync.flush()
    const after = parseExposition(await readSyncedMetrics(redis, name))
    assert.equal(after['app_requests_total{code="200",route="/a"}'], want['app_requests_total{code="200",route="/a"}'] + 5)
  })

  test('reset(), remove() and zero() of counters and histograms are refused with ERR_ATOMIC_DICT_NOT_COMMUTATIVE; gauges keep every method', async (t) => {
    const dir = tmpDir(t)
    const store = MetricsStore.open(path.join(dir, 'h'), { series: 100 })
    t.after(() => store.close())
    const m = declare(store)
    m.requests.inc({ route: '/a', code: '200' }, 3)
    m.latency.observe({ route: '/a' }, 0.25)
    const sync = syncToRedis(store, redis, freshName(), { interval: 3_600_000 })
    t.after(() => sync.close().catch(() => {}))
    // A metric declared after the sync is guarded too.
    const late = new store.Histogram({ name: 'app_late_seconds', help: 'Declared after the sync' })
    const refused = (fn, what) =>
      assert.throws(fn, (err) => err.code === 'ERR_ATOMIC_DICT_NOT_COMMUTATIVE' && err instanceof TypeError && err.message.includes(what), what)
    refused(() => m.requests.reset(), 'Counter.reset()')
    refused(() => m.requests.remove({ route: '/a', code: '200' }), 'Counter.remove()')
    refused(() => m.latency.reset(), 'Histogram.reset()')
    refused(() => m.latency.remove('/a'), 'Histogram.remove()')
    refused(() => m.latency.zero({ route: '/a' }), 'Histogram.zero()')
    refused(() => late.reset(), 'Histogram.reset()')
    // prom-client's registry reset goes through reset(): refused as well.
    const register = new Registry()
    register.registerMetric(m.requests)
    refused(() => register.resetMetrics(), 'Counter.reset()')
    // The table underneath takes adds only.
    refused(() => store.table.store([1n, 1], 5n), 'store')
    // Nothing changed.
    assert.deepEqual((await m.requests.get()).values, [{ value: 3, labels: { route: '/a', code: '200' } }])
    assert.equal((await m.latency.get()).values.find((v) => v.metricName === 'app_latency_seconds_count').value, 1)
    // Gauges are not synced: set, inc, dec, reset, remove all work.
    m.inflight.set(4)
    m.inflight.inc()
    m.inflight.dec(2)
    m.inflight.reset()
    m.temperature.set(20)
    m.temperature.remove()
    // Counting goes on.
    m.requests.inc({ route: '/a', code: '200' })
    m.latency.observe({ route: '/a' }, 3)
    await sync.flush()
    // Another store object (not synced) is not guarded; after close() neither is this one.
    const other = new MetricsStore({ series: 10 })
    t.after(() => other.close())
    new other.Counter({ name: 'c_total', help: 'c' }).reset()
    await sync.close()
    m.requests.reset()
    m.latency.zero({ route: '/a' })
    assert.deepEqual((await m.requests.get()).values, [])
  })

  test('hosts that declare a histogram with other buckets never add into the same totals; the exposition leaves it out, saying why', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const syncs = []
    const declared = [
      [0.5, 1],
      [0.5, 1, 2],
    ].map((buckets, i) => {
      const store = MetricsStore.open(path.join(dir, `h${i}`), { series: 100 })
      t.after(() => store.close())
      const h = new store.Histogram({ name: 'job_seconds', help: 'Job time', buckets })
      const c = new store.Counter({ name: 'jobs_total', help: 'Jobs', labelNames: i === 0 ? ['kind'] : ['kind', 'queue'] })
      const sync = syncToRedis(store, redis, name, { interval: 3_600_000 })
      t.after(() => sync.close().catch(() => {}))
      syncs.push(sync)
      return { h, c }
    })
    declared[0].h.observe(1.5)
    declared[1].h.observe(1.5)
    declared[0].c.inc({ kind: 'x' }, 2)
    declared[1].c.inc({ kind: 'x' }, 3) // the same series (queue not given)
    declared[1].c.inc({ kind: 'x', queue: 'q' }, 4)
    for (const s of syncs) await s.flush()
    // Each host's +Inf (index 2) and le="2" (index 2) buckets: two fields, not one
    // (rows that never changed are never sent); 2 sums and 3 counter fields.
    assert.deepEqual(Object.values(await redis.hgetall(`{${name}}:d`)), ['0000000000000001', '0000000000000001'])
    assert.equal(Object.keys(await redis.hgetall(`{${name}}:f`)).length, 5)
    const text = await readSyncedMetrics(redis, name)
    assert.match(text, /^# atomic-dict: job_seconds left out: hosts declare it differently \(buckets \[0\.5,1\] on some hosts, \[0\.5,1,2\] on others\)/m)
    assert.doesNotMatch(text, /^job_seconds/m)
    // Counters declared with other labels add up by label values.
    assert.deepEqual(parseExposition(text), { 'jobs_total{kind="x"}': 5, 'jobs_total{kind="x",queue="q"}': 4 })
    await promtoolAccepts(text)
  })

  test('a flusher SIGKILLed at each step of a flush: the next process delivers its batch once, the totals exact', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'h')
    const counts = []
    for (const failpoint of ['sync-mid-stage', 'sync-after-stage', 'sync-after-apply', 'sync-mid-fold']) {
      const n = 500 + counts.length * 37
      counts.push(n)
      const child = nodeChild(
        prelude({ ATOMIC_DICT_FAILPOINT: failpoint }),
        `const store = MetricsStore.open(${JSON.stringify(file)}, { series: 200 })
         const m = declare(store)
         const sync = syncToRedis(store, new Redis(${server.port}), ${JSON.stringify(name)}, { interval: 3600000 })
         for (let i = 0; i < ${n}; i++) observe(m, i)
         await sync.flush()
         console.log('not reached')`,
      )
      const { signal, stdout, stderr } = await child.exited
      assert.equal(signal, 'SIGKILL', `${failpoint}: ${stdout} ${stderr}`)
    }
    // Batch 1 (staged by the second process) was applied before the third died, re-sent by the fourth ("dup"), which died half way through folding it: the next process re-sends it once more.
    const store = MetricsStore.open(file)
    t.after(() => store.close())
    const sync = syncToRedis(store, redis, name, { interval: 3_600_000 })
    t.after(() => sync.close().catch(() => {}))
    assert.equal(sync.stats().pendingSeq, 1)
    const outcomes = []
    for (;;) {
      const r = await sync.flush()
      if (r.outcome === 'idle') break
      outcomes.push(r.outcome)
    }
    assert.equal(outcomes[0], 'duplicate')
    assert.equal(sync.stats().duplicates, 1)
    assert.equal(sync.pending, 0)
    const text = await readSyncedMetrics(redis, name)
    const got = parseExposition(text)
    assert.deepEqual(exact(got), exact(expectedSamples(counts)))
    assert.deepEqual(exact(got), exact(await localTotals([file])))
    await promtoolAccepts(text)
  })

  test('close() after delivering a batch a dead flusher staged also delivers the changes made since', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'h')
    const child = nodeChild(
      prelude({ ATOMIC_DICT_FAILPOINT: 'sync-after-stage' }),
      `const store = MetricsStore.open(${JSON.stringify(file)}, { series: 200 })
       const m = declare(store)
       const sync = syncToRedis(store, new Redis(${server.port}), ${JSON.stringify(name)}, { interval: 3600000 })
       m.requests.inc({ route: '/a', code: '200' }, 5)
       await sync.flush()`,
    )
    assert.equal((await child.exited).signal, 'SIGKILL')
    const store = MetricsStore.open(file)
    t.after(() => store.close())
    const m = declare(store)
    m.requests.inc({ route: '/b', code: '200' }, 2) // after the dead flusher's scan
    const sync = syncToRedis(store, redis, name, { interval: 3_600_000 })
    assert.equal(sync.stats().pendingSeq, 1)
    await sync.close()
    assert.deepEqual(parseExposition(await readSyncedMetrics(redis, name)), {
      'app_requests_total{code="200",route="/a"}': 5,
      'app_requests_total{code="200",route="/b"}': 2,
    })
    // A store's sync only: a table's has no metrics().
    const { AtomicDict } = require('..')
    const table = AtomicDict.open(path.join(dir, 't'), { capacity: 10 })
    t.after(() => table.close())
    const plain = syncToRedis(table, redis, freshName(), { interval: 3_600_000 })
    t.after(() => plain.close().catch(() => {}))
    await assert.rejects(plain.metrics(), { code: 'ERR_INVALID_STATE' })
  })

  test('two hosts observing while their flushers are SIGKILLed at random moments: Redis equals the sum of the stores, exactly', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const hosts = [path.join(dir, 'a'), path.join(dir, 'b')]
    const stop = path.join(dir, 'stop')
    /** A process of `host` observing until the stop file appears; prints "F" when it becomes the flusher. */
    const start = (host) => {
      const child = nodeChild(
        prelude(),
        `const store = MetricsStore.open(${JSON.stringify(host)}, { series: 200 })
         const m = declare(store)
         const redis = new Redis(${server.port})
         const sync = syncToRedis(store, redis, ${JSON.stringify(name)}, { interval: 2 })
         let said = false
         for (let i = 0; ; i++) {
           observe(m, i)
           if (i % 50 === 0) {
             await new Promise((r) => setTimeout(r, 1))
             if (!said && sync.flusher) { said = true; console.log('F') }
             if (fs.existsSync(${JSON.stringify(stop)})) break
           }
         }
         await sync.close()
         console.log('done')
         redis.disconnect()`,
      )
      return { host, child }
    }
    let procs = hosts.flatMap((h) => [start(h), start(h)])
    let kills = 0
    for (let round = 0; round < 8; round++) {
      const host = hosts[round % 2]
      // Wait for this host's flusher, let it flush a while, then SIGKILL it.
      const flusher = await until(() => procs.find((p) => p.host === host && p.child.lines().includes('F')), `a flusher on ${path.basename(host)}`, 10_000)
      await sleep(20 + Math.floor(Math.random() * 80))
      flusher.child.process.kill('SIGKILL')
      const { signal } = await flusher.child.exited
      assert.equal(signal, 'SIGKILL')
      kills++
      procs = procs.filter((p) => p !== flusher).concat(start(host))
    }
    fs.writeFileSync(stop, '')
    for (const p of procs) {
      const r = await p.child.exited
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}`)
    }
    assert.equal(kills, 8)
    // Whatever the last processes left (nothing, if their close() flushed), one more flush per host delivers.
    for (const host of hosts) {
      const store = MetricsStore.open(host)
      const sync = syncToRedis(store, redis, name, { interval: 3_600_000 })
      await sync.flush()
      assert.equal(sync.pending, 0)
      await sync.close()
      store.close()
    }
    const text = await readSyncedMetrics(redis, name)
    const got = parseExposition(text)
    const local = await localTotals(hosts)
    assert.ok(got['app_requests_total{code="200",route="/a"}'] > 0)
    assert.deepEqual(exact(got), exact(local))
    assert.ok(Math.abs(got.app_bytes_total - local.app_bytes_total) <= 1e-9 * local.app_bytes_total, `${got.app_bytes_total} vs ${local.app_bytes_total}`)
    await promtoolAccepts(text)
  })
})
