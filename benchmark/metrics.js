'use strict'
// atomic-dict/metrics beside prom-client, measured side by side in one run
// (the metrics section of `npm run bench`; benchmark/README.md says how each
// figure is formed):
//
//   1. the hot path, in this one process, store and prom-client tasks
//      interleaved (tinybench, as benchmark/single.js): counter.inc(labels),
//      histogram.observe(labels, v), counter.labels(...).inc(), a kept
//      child's inc(), gauge.inc()/dec();
//   2. one registry.metrics() over 10,000 counter series, the store's and
//      prom-client's over the same series and values, texts checked equal
//      byte for byte first, reads interleaved; and the first read by a store
//      object, then by a process, that has not seen the series (the store
//      rescans);
//   3. 1, 2, 4 processes incrementing one series, their own series, or
//      their own prom-client counters (benchmark/metrics-worker.js);
//   4. a 4-worker cluster: prom-client's AggregatorRegistry.clusterMetrics()
//      (IPC to every worker per scrape) against one worker's
//      registry.metrics() over the store, with the same metrics.
//
// Run by benchmark/run.js in a child process of its own; standalone:
//   node benchmark/metrics.js [ms per task] [passes] [quick|full]
// prints the results as JSON.

const path = require('node:path')
const crypto = require('node:crypto')
const cluster = require('node:cluster')
const { once } = require('node:events')
const { performance } = require('node:perf_hooks')
const client = require('prom-client')
const { MetricsStore } = require('../metrics')
const { AtomicDict, fork, shareWithCluster } = require('..')
const M = require('./metrics-sets')
const { nextMessage } = require('./children')
const { runPasses } = require('./passes')

const TIME = Number(process.argv[2] ?? 250)
const PASSES = Number(process.argv[3] ?? 5)
const QUICK = process.argv[4] === 'quick'

const CONFIG = {
  taskMs: TIME, // tinybench time budget per task and pass
  passes: PASSES, // hot-path figures: the lowest median over the passes
  batch: 1024, // operations per tinybench iteration
  scrapeSeries: 10_000,
  scrapeWarmups: QUICK ? 2 : 5,
  scrapeRounds: QUICK ? 7 : 31, // interleaved reads of each side; figure: the median
  firstReadObjects: QUICK ? 3 : 11, // store objects new to the series (this process); figure: the median
  firstReadProcesses: QUICK ? 1 : 5, // processes new to the series; figure: the median
  contentionProcesses: [1, 2, 4],
  contentionOps: QUICK ? 200_000 : 2_000_000, // increments per process per round
  contentionRounds: QUICK ? 1 : 5, // figure: the median round
  clusterWorkers: 4,
  clusterSeries: 10_000,
  clusterWarmups: QUICK ? 1 : 2,
  clusterRounds: QUICK ? 3 : 11, // interleaved scrapes of each kind; figure: the median
  clusterTimeoutMs: QUICK ? 90_000 : 240_000, // the whole cluster part; past it, it is reported as not measured
}

const now = () => performance.now()
const clock = () => Number(process.hrtime.bigint()) / 1e6
const log = (msg) => process.stderr.write(`  [metrics] ${msg}\n`)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const hash = (text) => crypto.createHash('sha256').update(text).digest('hex')
let sink = 0

// ---------------------------------------------------------------------------
// 1. The hot path: the same calls on the store's metrics and on
// prom-client's own (unshared) ones, in this process.

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] // prom-client's defaults, given to both
const SPREAD = 1024
// Observations spread log-uniformly over 0.001 .. 20 s (every bucket, +Inf
// included), in a scrambled order (golden-ratio steps).
const values = Array.from({ length: SPREAD }, (_, i) => Math.exp(Math.log(0.001) + Math.log(20 / 0.001) * ((i * 0.6180339887) % 1)))
const HOT_MASK = SPREAD - 1

function hotTasks() {
  const store = new MetricsStore({ series: 1024 })
  const reg = new client.Registry() // prom-client's metrics registered here, not in its global registry
  const registers = [reg]
  const counterConfig = { name: 'http_requests_total', help: 'Requests', labelNames: ['route', 'code'] }
  const histConfig = { name: 'http_request_duration_seconds', help: 'Latency', labelNames: ['route', 'code'], buckets: BUCKETS }
  const gaugeConfig = { name: 'http_requests_in_flight', help: 'Requests in flight' }
  const sc = new store.Counter(counterConfig)
  const pc = new client.Counter({ ...counterConfig, registers })
  const sh = new store.Histogram(histConfig)
  const ph = new client.Histogram({ ...histConfig, registers })
  const sg = new store.Gauge(gaugeConfig) // aggregate 'sum': this process's share
  const pg = new client.Gauge({ ...gaugeConfig, registers })
  const sChild = sc.labels('/api', 200)
  const pChild = pc.labels('/api', 200)

  // Each side's loop is a function of its own (closures of one literal
  // share their type feedback, which would make both sides polymorphic).
  // [pair, side, label, body(n) -> ms]
  const tasks = [
    ['counter.inc', 'store', "counter.inc({ route: '/api', code: 200 })", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) sc.inc({ route: '/api', code: 200 })
      return now() - t
    }],
    ['counter.inc', 'prom', "counter.inc({ route: '/api', code: 200 })", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) pc.inc({ route: '/api', code: 200 })
      return now() - t
    }],
    ['histogram.observe', 'store', "histogram.observe({ route: '/api', code: 200 }, v)", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) sh.observe({ route: '/api', code: 200 }, values[i & HOT_MASK])
      return now() - t
    }],
    ['histogram.observe', 'prom', "histogram.observe({ route: '/api', code: 200 }, v)", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) ph.observe({ route: '/api', code: 200 }, values[i & HOT_MASK])
      return now() - t
    }],
    ['counter.labels.inc', 'store', "counter.labels('/api', 200).inc()", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) sc.labels('/api', 200).inc()
      return now() - t
    }],
    ['counter.labels.inc', 'prom', "counter.labels('/api', 200).inc()", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) pc.labels('/api', 200).inc()
      return now() - t
    }],
    ['counter.child.inc', 'store', "child.inc(), child = counter.labels('/api', 200) kept", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) sChild.inc()
      return now() - t
    }],
    ['counter.child.inc', 'prom', "child.inc(), child = counter.labels('/api', 200) kept", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) pChild.inc()
      return now() - t
    }],
    ['gauge.inc', 'store', "gauge.inc(), no labels ('sum' gauge: this process's share)", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) sg.inc()
      return now() - t
    }],
    ['gauge.inc', 'prom', "gauge.inc(), no labels ('sum' gauge: this process's share)", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) pg.inc()
      return now() - t
    }],
    ['gauge.dec', 'store', "gauge.dec(), no labels ('sum' gauge: this process's share)", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) sg.dec()
      return now() - t
    }],
    ['gauge.dec', 'prom', "gauge.dec(), no labels ('sum' gauge: this process's share)", (n) => {
      const t = now()
      for (let i = 0; i < n; i++) pg.dec()
      return now() - t
    }],
  ]
  return { tasks, store }
}

async function hotPath() {
  const { tasks, store } = hotTasks()
  const id = (pair, side) => `${pair}.${side}`
  // Each pair's two tasks run one after the other; the order of the whole
  // list alternates from pass to pass, so neither side always goes first.
  const runs = await runPasses(
    tasks.map(([pair, side, , body]) => ({ id: id(pair, side), batch: CONFIG.batch, body })),
    { passes: PASSES, time: TIME, onPass: (pass) => log(`hot path: pass ${pass}/${PASSES} done`) },
  )
  // The store's side must have recorded every observation it was timed on.
  const dropped = store.stats().dropped
  store.close()
  if (dropped !== 0) throw new Error(`the store dropped ${dropped} observations of the hot path: its figures would not be comparable`)
  const pairs = []
  const short = {
    'counter.inc': 'counter.inc(labels)',
    'histogram.observe': 'histogram.observe(labels, v)',
    'counter.labels.inc': "counter.labels('/api', 200).inc()",
    'counter.child.inc': 'child.inc() (child kept)',
    'gauge.inc': 'gauge.inc()',
    'gauge.dec': 'gauge.dec()',
  }
  for (const [pair, side, label] of tasks) {
    const list = runs.get(id(pair, side))
    const best = list.reduce((x, y) => (y.medianNs < x.medianNs ? y : x))
    let p = pairs.find((x) => x.id === pair)
    if (!p) pairs.push((p = { id: pair, label, short: short[pair] ?? pair }))
    p[side] = { nsPerOp: best.medianNs, opsPerSec: 1e9 / best.medianNs, meanNs: best.meanNs, rmePercent: best.rmePercent, samples: best.samples, passMediansNs: list.map((x) => x.medianNs) }
  }
  for (const p of pairs) p.ratio = p.store.nsPerOp / p.prom.nsPerOp
  return { pairs }
}

// ---------------------------------------------------------------------------
// 2. One registry.metrics() over 10,000 series.

async function scrape() {
  const n = CONFIG.scrapeSeries
  const store = new MetricsStore({ series: n })
  const ourReg = new client.Registry()
  const promReg = new client.Registry()
  const ours = new store.Counter({ ...M.SCRAPE_COUNTER, registers: [ourReg] })
  const theirs = new client.Counter({ ...M.SCRAPE_COUNTER, registers: [promReg] })
  for (let i = 0; i < n; i++) {
    const labels = M.scrapeLabels(i)
    const v = M.scrapeValue(i)
    ours.inc(labels, v)
    theirs.inc(labels, v)
  }
  const ourText = await ourReg.metrics()
  const promText = await promReg.metrics()
  const equal = ourText === promText
  const lines = ourText.split('\n').length - 1
  if (!equal) log(`the two texts over ${n} series DIFFER (store ${ourText.length} bytes, prom-client ${promText.length}): a parity bug`)

  // Steady state: reads with nothing new since the last one, interleaved.
  const read = async (reg) => {
    const t = now()
    const text = await reg.metrics()
    const ms = now() - t
    sink += text.length
    return ms
  }
  for (let i = 0; i < CONFIG.scrapeWarmups; i++) {
    await read(ourReg)
    await read(promReg)
  }
  const storeMs = []
  const promMs = []
  for (let r = 0; r < CONFIG.scrapeRounds; r++) {
    if (r % 2) {
      promMs.push(await read(promReg))
      storeMs.push(await read(ourReg))
    } else {
      storeMs.push(await read(ourReg))
      promMs.push(await read(promReg))
    }
  }
  log(`scrape of ${n} series: store ${median(storeMs).toFixed(2)} ms, prom-client ${median(promMs).toFixed(2)} ms`)

  // First read by a store object that has never seen the series (a new
  // attach of the same memory in this process: warm JIT, empty caches).
  const objectMs = []
  const objectSecondMs = []
  let objectEqual = true
  for (let k = 0; k < CONFIG.firstReadObjects; k++) {
    const fresh = MetricsStore.attach(store.share())
    const reg = new client.Registry()
    new fresh.Counter({ ...M.SCRAPE_COUNTER, registers: [reg] })
    let t = now()
    const text = await reg.metrics()
    objectMs.push(now() - t)
    t = now()
    await reg.metrics()
    objectSecondMs.push(now() - t)
    objectEqual &&= text === ourText
    fresh.close()
  }
  // First read in a process that has never seen them (cold JIT, as a
  // process that starts and is scraped).
  const processes = []
  const expected = hash(ourText)
  for (let k = 0; k < CONFIG.firstReadProcesses; k++) {
    const child = fork(path.join(__dirname, 'metrics-worker.js'), ['first-read', String(n), '5'], {
      share: { metrics: store },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const [m] = await Promise.race([once(child, 'message'), once(child, 'exit').then(([code]) => Promise.reject(new Error(`first-read process exited with ${code}`)))])
    await once(child, 'exit').catch(() => {})
    processes.push({ firstMs: m.firstMs, laterMs: m.laterMs, equal: m.hash === expected })
  }
  store.close()
  log(`first read: a new store object ${median(objectMs).toFixed(1)} ms, a new process ${median(processes.map((p) => p.firstMs)).toFixed(1)} ms`)
  return {
    series: n,
    bytes: ourText.length,
    lines,
    equal,
    promBytes: promText.length,
    store: { medianMs: median(storeMs), minMs: Math.min(...storeMs), samplesMs: storeMs },
    prom: { medianMs: median(promMs), minMs: Math.min(...promMs), samplesMs: promMs },
    ratio: median(storeMs) / median(promMs),
    firstRead: {
      object: { medianMs: median(objectMs), samplesMs: objectMs, secondMedianMs: median(objectSecondMs), equal: objectEqual },
      process: {
        medianMs: median(processes.map((p) => p.firstMs)),
        samplesMs: processes.map((p) => p.firstMs),
        // the same process's later reads (steady state, cold JIT warming up)
        laterMedianMs: median(processes.flatMap((p) => p.laterMs)),
        equal: processes.every((p) => p.equal),
        runs: processes,
      },
    },
  }
}

// ---------------------------------------------------------------------------
// 3. The hot path under contention: 1, 2, 4 processes.

async function contention(processes, mode) {
  const store = new MetricsStore({ series: 64 })
  const sync = new AtomicDict(64)
  const ops = CONFIG.contentionOps
  const children = []
  for (let w = 0; w < processes; w++) {
    children.push(fork(path.join(__dirname, 'metrics-worker.js'), ['contend', String(w), mode, String(ops), String(processes)], {
      share: { metrics: store, sync },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }))
  }
  try {
    await Promise.all(children.map((c) => nextMessage(c, (m) => m.warm, 'metrics worker')))
    const rounds = []
    for (let round = 1; round <= CONFIG.contentionRounds; round++) {
      const reports = children.map((c) => nextMessage(c, (m) => m.round === round, 'metrics worker'))
      for (const c of children) c.send({ round })
      const r = await Promise.all(reports)
      const seconds = (Math.max(...r.map((x) => x.end)) - Math.min(...r.map((x) => x.start))) / 1000
      const total = r.reduce((a, x) => a + x.ops, 0)
      rounds.push({ seconds, ops: total, opsPerSec: total / seconds })
    }
    // Exact check: every increment landed, and each process reads the total.
    const finals = await Promise.all(children.map((c) => {
      const f = nextMessage(c, (m) => m.final !== undefined, 'metrics worker')
      c.send({ exit: true })
      return f
    }))
    const each = ops * CONFIG.contentionRounds
    const expected = mode === 'same' ? processes * each : each
    const checked = finals.every((m) => m.final === expected)
    if (!checked) throw new Error(`${processes} processes, ${mode}: counted ${finals.map((m) => m.final).join(', ')}, expected ${expected} each`)
    return { processes, mode, opsPerProcess: ops, rounds, opsPerSec: median(rounds.map((r) => r.opsPerSec)), checked }
  } finally {
    for (const c of children) if (c.connected) c.disconnect()
    // Bounded: a worker still running 10 s after its channel closed is killed.
    const backstop = setTimeout(() => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')), 10_000)
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : null)))
    clearTimeout(backstop)
    store.close()
    sync.close()
  }
}

// ---------------------------------------------------------------------------
// 4. A cluster scrape: prom-client's AggregatorRegistry against the store.

function workerMessage(worker, test) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m === null || typeof m !== 'object' || !test(m)) return
      cleanup()
      resolve(m)
    }
    const onExit = (code, signal) => {
      cleanup()
      reject(new Error(`cluster worker exited with ${signal ?? code}`))
    }
    const cleanup = () => {
      worker.off('message', onMessage)
      worker.off('exit', onExit)
    }
    worker.on('message', onMessage)
    worker.on('exit', onExit)
  })
}

async function clusterScrape() {
  const sets = M.clusterSets(CONFIG.clusterSeries)
  // app: 32 + 8 x 13 + 1 row per worker; the big set: one row a series.
  const store = new MetricsStore({ series: CONFIG.clusterSeries + 1024 })
  cluster.setupPrimary({
    exec: path.join(__dirname, 'metrics-worker.js'),
    args: ['cluster', String(CONFIG.clusterSeries)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  shareWithCluster({ metrics: store }) // after the setupPrimary that sets stdio
  const aggregator = new client.AggregatorRegistry()
  const workers = []
  let timer
  const work = async () => {
    for (let i = 0; i < CONFIG.clusterWorkers; i++) {
      const w = cluster.fork({ BENCH_WORKER_INDEX: String(i) })
      workers.push(w)
    }
    await Promise.all(workers.map((w) => workerMessage(w, (m) => m.bench === 'ready')))
    const scraper = workers[0]
    const out = []
    for (const set of sets) {
      await Promise.all(workers.map((w) => {
        const using = workerMessage(w, (m) => m.bench === 'using')
        w.send({ use: set.name })
        return using
      }))
      const storeScrape = async (withText) => {
        const t = clock()
        const reply = workerMessage(scraper, (m) => m.bench === 'scraped')
        scraper.send({ scrape: set.name, withText })
        const m = await reply
        return { ms: m.ms, roundTripMs: clock() - t, text: m.text, length: m.length }
      }
      const clusterScrapeOnce = async () => {
        const t = clock()
        const text = await aggregator.clusterMetrics()
        return { ms: clock() - t, text, length: text.length }
      }
      // The same totals both ways (series and values; order aside).
      const a = await clusterScrapeOnce()
      const b = await storeScrape(true)
      const sa = M.samples(a.text)
      const sb = M.samples(b.text)
      const sameTotals = sa.length === sb.length && sa.every((x, i) => x === sb[i])
      if (!sameTotals) log(`cluster scrape, ${set.name}: prom-client's and the store's totals DIFFER`)
      for (let i = 0; i < CONFIG.clusterWarmups; i++) {
        await clusterScrapeOnce()
        await storeScrape(false)
      }
      const agg = []
      const ours = []
      const oursRoundTrip = []
      for (let r = 0; r < CONFIG.clusterRounds; r++) {
        const one = async () => agg.push((await clusterScrapeOnce()).ms)
        const two = async () => {
          const s = await storeScrape(false)
          ours.push(s.ms)
          oursRoundTrip.push(s.roundTripMs)
        }
        if (r % 2) {
          await two()
          await one()
        } else {
          await one()
          await two()
        }
      }
      const result = {
        set: set.name,
        samples: sa.length,
        aggregatorBytes: a.length,
        storeBytes: b.length,
        sameTotals,
        sameText: a.text === b.text, // byte for byte, order included
        aggregator: { medianMs: median(agg), minMs: Math.min(...agg), samplesMs: agg },
        store: { medianMs: median(ours), minMs: Math.min(...ours), samplesMs: ours, roundTripMedianMs: median(oursRoundTrip) },
      }
      result.ratio = result.aggregator.medianMs / result.store.medianMs
      log(`cluster scrape, ${set.name}: AggregatorRegistry ${result.aggregator.medianMs.toFixed(2)} ms, store ${result.store.medianMs.toFixed(2)} ms`)
      out.push(result)
    }
    return out
  }
  try {
    const timeout = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`not done within ${CONFIG.clusterTimeoutMs / 1000} s`)), CONFIG.clusterTimeoutMs)
    })
    return { workers: CONFIG.clusterWorkers, sets: await Promise.race([work(), timeout]) }
  } catch (err) {
    log(`cluster scrape: ${err.message}; not measured`)
    return { workers: CONFIG.clusterWorkers, error: err.message, sets: [] }
  } finally {
    clearTimeout(timer)
    for (const w of workers) {
      if (w.isConnected()) w.send({ exit: true })
    }
    const exits = workers.map((w) => (w.process.exitCode === null && w.process.signalCode === null ? once(w, 'exit') : null))
    const grace = setTimeout(() => {
      for (const w of workers) if (w.process.exitCode === null) w.process.kill('SIGKILL')
    }, 5000)
    await Promise.all(exits)
    clearTimeout(grace)
    store.close()
  }
}

async function main() {
  const out = { config: CONFIG, promClient: require('prom-client/package.json').version }
  log(`hot path (tinybench, ${PASSES} × ${TIME} ms per task)…`)
  out.hot = await hotPath()
  log(`one registry.metrics() over ${CONFIG.scrapeSeries} series…`)
  out.scrape = await scrape()
  out.contention = []
  for (const mode of ['same', 'distinct', 'prom']) {
    for (const n of CONFIG.contentionProcesses) {
      log(`contention: ${n} process${n > 1 ? 'es' : ''}, ${mode}…`)
      out.contention.push(await contention(n, mode))
    }
  }
  log(`cluster scrape: ${CONFIG.clusterWorkers} workers…`)
  out.cluster = await clusterScrape()
  out.sink = sink
  if (process.send) process.send(out)
  else console.log(JSON.stringify(out, null, 2))
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}

module.exports = { hotPath, scrape, contention, clusterScrape, CONFIG }
