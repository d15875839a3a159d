'use strict'
// The other processes of the metrics section (benchmark/metrics.js), one
// role each:
//
//   contend <index> <'same' | 'distinct' | 'prom'> <ops per round> <processes>
//       forked with `share: { metrics: store, sync: dict }`: increments a
//       counter in a loop, all processes starting together at a Latch (one
//       key of `sync` per round), and reports { round, start, end, ops } in
//       ms on CLOCK_MONOTONIC. 'same': every process on the one series
//       { route: '/api', code: 200 }; 'distinct': each on its own series;
//       'prom': each on its own prom-client Counter (unshared, in its own
//       memory: what the processes would do without sharing). Labels are
//       built per call, as a user writes them.
//   first-read <series>
//       forked with `share: { metrics: store }` after the parent made the
//       series: declares the counter and times its first registry.metrics()
//       (the store rescans the table: this process has never seen the
//       series), then the reads after it; reports the times and the text's
//       length and hash.
//   cluster <series>
//       a cluster worker (cluster.setupPrimary exec): makes the same
//       observations in prom-client's metrics (registries answering the
//       primary's AggregatorRegistry) and in the store's (shared by every
//       worker); on { scrape } times one registry.metrics() over the store.

const crypto = require('node:crypto')
const client = require('prom-client')
const { MetricsStore } = require('../metrics')
const { AtomicDict, Latch } = require('..')
const M = require('./metrics-sets')

const role = process.argv[2]
const clock = () => Number(process.hrtime.bigint()) / 1e6
const hash = (text) => crypto.createHash('sha256').update(text).digest('hex')

function contend() {
  const index = Number(process.argv[3])
  const mode = process.argv[4]
  const OPS = Number(process.argv[5])
  const PROCESSES = Number(process.argv[6])
  const store = MetricsStore.inherit('metrics')
  const sync = AtomicDict.inherit('sync')
  const config = { name: 'bench_contended_total', help: 'Contended counter', labelNames: ['route', 'code'] }
  const counter = mode === 'prom' ? new client.Counter({ ...config, registers: [] }) : new store.Counter(config)
  const warmCounter = mode === 'prom' ? counter : new store.Counter({ ...config, name: 'bench_contended_warm_total' })
  const route = mode === 'same' ? '/api' : `/w${index}`

  // One function, so warming up compiles what is timed (labels built per call).
  const run = (c, r, n) => {
    for (let i = 0; i < n; i++) c.inc({ route: r, code: 200 })
  }
  // Warm the JIT on a series nobody counts, and make the timed series'
  // rows (its first inc is not timed).
  for (let r = 0; r < 5; r++) run(warmCounter, `/warm${index}`, 100_000)
  counter.inc({ route, code: 200 }, 0)

  process.on('message', async (m) => {
    if (m.exit) {
      const values = (await counter.get()).values
      process.send({ final: values.find((v) => v.labels.route === route && String(v.labels.code) === '200')?.value ?? 0 })
      process.disconnect()
      return
    }
    // Bounded: a sibling that died before arriving must not hang the run.
    if (!new Latch(sync, M.startKey(m.round), PROCESSES).arriveAndWait(60_000)) {
      throw new Error(`round ${m.round}: not every worker arrived within 60 s`)
    }
    const start = clock()
    run(counter, route, OPS)
    const end = clock()
    process.send({ round: m.round, start, end, ops: OPS })
  })
  process.send({ warm: true })
}

async function firstRead() {
  const series = Number(process.argv[3])
  const reads = Number(process.argv[4] ?? 5)
  const store = MetricsStore.inherit('metrics')
  const registry = new client.Registry()
  new store.Counter({ ...M.SCRAPE_COUNTER, registers: [registry] })
  let t = clock()
  const text = await registry.metrics()
  const firstMs = clock() - t
  const laterMs = []
  for (let i = 0; i < reads; i++) {
    t = clock()
    await registry.metrics()
    laterMs.push(clock() - t)
  }
  process.send({ firstMs, laterMs, length: text.length, hash: hash(text), series })
  process.disconnect()
}

function clusterWorker() {
  const list = M.clusterSets(Number(process.argv[3]))
  const index = Number(process.env.BENCH_WORKER_INDEX)
  const store = MetricsStore.inherit('metrics')
  // prom-client's side: a registry per set, answering the primary.
  new client.AggregatorRegistry() // adds the worker's listener for the primary's requests
  const sets = {}
  for (const set of list) {
    const prom = new client.Registry()
    const ours = new client.Registry()
    M.observeSet(set, client, prom, index)
    M.observeSet(set, store, ours, index)
    sets[set.name] = { prom, ours }
  }
  process.on('message', async (m) => {
    if (m === null || typeof m !== 'object') return
    if (m.use) {
      // Which registry AggregatorRegistry's requests read from now on.
      client.AggregatorRegistry.setRegistries([sets[m.use].prom])
      process.send({ bench: 'using', set: m.use })
    } else if (m.scrape) {
      const registry = sets[m.scrape].ours
      const t = clock()
      const text = await registry.metrics()
      const ms = clock() - t
      process.send({ bench: 'scraped', set: m.scrape, ms, length: text.length, text: m.withText ? text : undefined })
    } else if (m.exit) {
      store.close()
      process.disconnect()
    }
  })
  process.send({ bench: 'ready' })
}

if (role === 'contend') contend()
else if (role === 'first-read') {
  firstRead().catch((err) => {
    console.error(err)
    process.exitCode = 1
    process.disconnect()
  })
} else if (role === 'cluster') clusterWorker()
else throw new Error(`metrics-worker.js: unknown role ${role}`)
