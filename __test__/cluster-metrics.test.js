'use strict'
// examples/cluster-metrics: real servers (a 4-worker cluster, and plain
// processes sharing named files) get real HTTP requests on fresh
// connections, spread over their processes; GET /metrics from any of them
// must report the exact totals of all of them, in prom-client's format.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { startServer, request, pool, shuffled, sleep } = require('./fixtures/servers')

const SERVER = path.join(__dirname, '..', 'examples', 'cluster-metrics', 'server.js')

/** [method, path, expected status, route label, times]: every status the server sends, and unknown paths. */
const PLAN = [
  ['GET', '/', 200, '/', 24],
  ['GET', '/api/items', 200, '/api/items', 16],
  ['POST', '/api/items', 201, '/api/items', 6],
  ['DELETE', '/api/items', 405, '/api/items', 3],
  ['GET', '/api/items/1', 200, '/api/items/:id', 10],
  ['GET', '/api/items/42', 404, '/api/items/:id', 5],
  ['GET', '/api/fail', 500, '/api/fail', 4],
  ['GET', '/no/such/page', 404, 'other', 7],
  ['GET', '/favicon.ico', 404, 'other', 3],
]

/**
 * Sends PLAN's requests (shuffled, 8 at a time) to `ports` in turn, checks
 * each status, and returns what a scrape must then report: the counts by
 * "route code", the body bytes, and the processes (x-worker) that answered.
 */
async function sendPlan(ports) {
  const requests = shuffled(PLAN.flatMap(([method, p, status, route, times]) => Array(times).fill({ method, p, status, route })))
  const responses = await pool(
    requests.map((r, i) => () => request(ports[i % ports.length], r.p, { method: r.method })),
    8,
  )
  const counts = {}
  let bytes = 0
  const workers = new Set()
  responses.forEach((res, i) => {
    const r = requests[i]
    assert.equal(res.status, r.status, `${r.method} ${r.p}`)
    const key = `${r.route} ${r.status}`
    counts[key] = (counts[key] ?? 0) + 1
    bytes += Buffer.byteLength(res.body)
    workers.add(res.headers['x-worker'])
  })
  return { counts, bytes, workers }
}

/** Parses prom-client's text format: { name: { 'label="v",...': value } }. */
function parsePrometheus(text) {
  const metrics = {}
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`)
    metrics[m[1]] ??= {}
    metrics[m[1]][m[2] ?? ''] = Number(m[3])
  }
  return metrics
}

/** GET /metrics once: the x-worker that answered, and the parsed samples. */
async function scrape(port) {
  const res = await request(port, '/metrics')
  assert.equal(res.status, 200)
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  assert.match(res.body, /^# HELP http_requests_total /m)
  assert.match(res.body, /^# TYPE http_requests_total counter$/m)
  return { worker: res.headers['x-worker'], metrics: parsePrometheus(res.body) }
}

/** What a scrape must report, in parsePrometheus's form. */
function expectedMetrics({ counts, bytes }, inFlight = 0) {
  const requests = {}
  for (const [key, n] of Object.entries(counts)) {
    const [route, code] = key.split(' ')
    requests[`route="${route}",code="${code}"`] = n
  }
  return {
    http_requests_total: requests,
    http_response_body_bytes_total: { '': bytes },
    http_requests_in_flight: { '': inFlight },
  }
}

/** Adds b's counts and bytes to a's. */
function merge(a, b) {
  const counts = { ...a.counts }
  for (const [key, n] of Object.entries(b.counts)) counts[key] = (counts[key] ?? 0) + n
  return { counts, bytes: a.bytes + b.bytes }
}

/**
 * Scrapes (fresh connections) until `minWorkers` processes have answered,
 * at most `tries` times; every answer must equal `expected` exactly.
 */
async function scrapeAll(port, expected, minWorkers, tries = 40) {
  const answered = new Set()
  for (let i = 0; i < tries && answered.size < minWorkers; i++) {
    const { worker, metrics } = await scrape(port)
    assert.deepEqual(metrics, expected, `the scrape answered by worker ${worker}`)
    answered.add(worker)
  }
  assert.ok(answered.size >= minWorkers, `only ${answered.size} worker(s) answered ${tries} scrapes`)
  return answered
}

/** Scrapes until `n` requests are in flight (never more), for at most `ms`. */
async function untilInFlight(port, n, ms) {
  const end = Date.now() + ms
  for (;;) {
    const seen = (await scrape(port)).metrics.http_requests_in_flight['']
    assert.ok(seen >= 0 && seen <= n, `in flight: ${seen}`)
    if (seen === n) return
    assert.ok(Date.now() < end, `${n} requests were not in flight within ${ms} ms (last seen ${seen})`)
    await sleep(10)
  }
}

test('cluster: any worker reports the exact cluster-wide totals; in-flight requests; graceful shutdown', async (t) => {
  const server = await startServer(t, SERVER, { PORT: '0', WORKERS: '4' })
  const { port } = server

  const sent = await sendPlan([port])
  assert.ok(sent.workers.size >= 2, `requests reached ${sent.workers.size} worker(s)`)
  const answered = await scrapeAll(port, expectedMetrics(sent), 4)
  assert.ok(answered.size >= 2)

  // Three slow requests held by the workers: every scrape sees them in
  // flight (once they have arrived), then not.
  const slow = [1, 2, 3].map(() => request(port, '/api/slow?ms=1500'))
  await untilInFlight(port, 3, 1000)
  for (const res of await Promise.all(slow)) assert.equal(res.status, 200)
  const afterSlow = merge(sent, { counts: { '/api/slow 200': 3 }, bytes: 3 * 'slept 1500 ms\n'.length })
  await scrapeAll(port, expectedMetrics(afterSlow), 2)

  // SIGTERM while a request is in flight: it is answered, then all exit.
  const last = request(port, '/api/slow?ms=600')
  await untilInFlight(port, 1, 500)
  const status = await Promise.all([server.stop(), last.then((res) => assert.equal(res.status, 200))])
  assert.deepEqual(status[0], { code: 0, signal: null }, server.output())
})

test('named files (pm2 mode): plain processes on their own ports report the same totals, which survive a restart', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-metrics-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = { PORT: '0', WORKERS: '0', METRICS_FILE: path.join(dir, 'metrics') }

  // Started together: they race to create the files, and one does.
  const servers = await Promise.all([1, 2, 3].map(() => startServer(t, SERVER, env)))
  const ports = servers.map((s) => s.port)
  assert.equal(new Set(ports).size, 3)

  const sent = await sendPlan(ports)
  assert.equal(sent.workers.size, 3)
  for (const port of ports) await scrapeAll(port, expectedMetrics(sent), 1, 1)

  for (const s of servers) assert.deepEqual(await s.stop(), { code: 0, signal: null }, s.output())
  assert.deepEqual(fs.readdirSync(dir).sort(), ['metrics.gauges', 'metrics.requests'])

  // The files keep the counts: a new process reports them, then adds to them.
  const again = await startServer(t, SERVER, env)
  await scrapeAll(again.port, expectedMetrics(sent), 1, 1)
  assert.equal((await request(again.port, '/')).status, 200)
  await scrapeAll(again.port, expectedMetrics(merge(sent, { counts: { '/ 200': 1 }, bytes: 'hello\n'.length })), 1, 1)
  assert.deepEqual(await again.stop(), { code: 0, signal: null })
})
