'use strict'
// examples/cluster-metrics without a cluster primary: plain processes that
// share the store through a named file (METRICS_FILE), as pm2's workers do,
// and what one process does when told to shut down. The 4-worker cluster,
// pm2 and Prometheus are in real-clients.test.js.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const { once } = require('node:events')
const os = require('node:os')
const path = require('node:path')
const { startServer, request, sleep } = require('./fixtures/servers')
const { SERVER, plan, Tally, load, from, expected, scrape, scrapeAll } = require('./fixtures/cluster-metrics')

test('named file (METRICS_FILE): plain processes on their own ports report the same totals, which survive a restart', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-metrics-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = { PORT: '0', WORKERS: '0', METRICS_FILE: path.join(dir, 'metrics') }

  // Started together: they race to create the file, and one does.
  const servers = await Promise.all([1, 2, 3].map(() => startServer(t, SERVER, env)))
  const ports = servers.map((s) => s.port)
  assert.equal(new Set(ports).size, 3)

  // Each process gets a third of the requests.
  const requests = plan(3)
  const tallies = await Promise.all(ports.map((port, k) => load(port, from(requests.filter((_, i) => i % 3 === k)), { keepAlive: 2, fresh: 2 })))
  const sent = tallies.reduce((a, b) => a.merge(b), new Tally())
  tallies.forEach((tally, k) => {
    assert.deepEqual(tally.failures, [])
    assert.deepEqual(tally.wrongStatus, [])
    assert.deepEqual([...tally.workers], [servers[k].pids[0]])
  })
  assert.equal(sent.answered, requests.length)
  for (const port of ports) await scrapeAll(port, expected(sent), 1, 1)

  for (const s of servers) assert.deepEqual(await s.stop(), { code: 0, signal: null }, s.output())
  assert.deepEqual(fs.readdirSync(dir), ['metrics'])

  // The file keeps the counts: a new process reports them, then adds to them.
  const again = await startServer(t, SERVER, env)
  await scrapeAll(again.port, expected(sent), 1, 1)
  assert.equal((await request(again.port, '/')).status, 200)
  const one = new Tally()
  one.add({ method: 'GET', path: '/', status: 200, route: '/' }, { status: 200, headers: {}, body: 'hello\n' })
  await scrapeAll(again.port, expected(sent.merge(one)), 1, 1)
  assert.deepEqual(await again.stop(), { code: 0, signal: null })
})

/** GET `p` on `agent`; resolves { status, connection, reused } or { error }. */
function get(port, p, agent) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, reused: req.reusedSocket }))
    })
    req.on('error', (err) => resolve({ error: err.code ?? err.message }))
    req.setTimeout(20_000, () => req.destroy(new Error('no response in 20 s')))
  })
}

/**
 * A server (WORKERS=0, its store in a file) with three idle keep-alive
 * connections, a connection that has not sent its request yet and, in
 * flight, a keep-alive request answered after 600 ms plus `slow` requests
 * answered after 10 s; then SIGTERM, and once the idle connections are
 * closed the late connection sends `GET /`. Returns the answers (the late
 * one as raw text), the exit status, the events in the order they happened,
 * the server's output and the file's env.
 */
async function shutdownWith(t, slow) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-metrics-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = { PORT: '0', WORKERS: '0', METRICS_FILE: path.join(dir, 'metrics') }
  const server = await startServer(t, SERVER, env)
  const { port } = server

  // Three idle keep-alive connections.
  const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 3 })
  const busyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.after(() => (idleAgent.destroy(), busyAgent.destroy()))
  const warm = await Promise.all([1, 2, 3].map(() => get(port, '/', idleAgent)))
  assert.deepEqual(
    warm.map((r) => r.status),
    [200, 200, 200],
  )
  const idle = Object.values(idleAgent.freeSockets).flat()
  assert.equal(idle.length, 3)

  const events = []
  // Connected, its request not sent yet.
  const late = net.connect(port, '127.0.0.1')
  t.after(() => late.destroy())
  await once(late, 'connect')
  let lateText = ''
  late.setEncoding('utf8').on('data', (d) => (lateText += d))
  const lateDone = new Promise((resolve) => late.once('close', resolve)).then(() => (events.push('late answered'), lateText))

  let idleClosed
  const allIdleClosed = new Promise((resolve) => (idleClosed = resolve))
  for (const s of idle) {
    s.once('close', () => {
      events.push('idle closed')
      if (events.filter((e) => e === 'idle closed').length === 3) idleClosed()
    })
  }
  const exited = new Promise((resolve) => server.child.once('exit', (code, signal) => resolve({ code, signal })))
  exited.then(() => events.push('exit'))
  // In flight at the signal: a request on a keep-alive connection that ends
  // well within the deadline, and `slow` that would end long after it.
  const quick = get(port, '/api/slow?ms=600', busyAgent).then((r) => (events.push('quick answered'), r))
  const tooSlow = Array.from({ length: slow }, () => get(port, '/api/slow?ms=10000', false).then((r) => (events.push('too slow ended'), r)))
  for (let i = 0; (await scrape(port)).summary.inFlight !== 1 + slow; i++) {
    assert.ok(i < 200, 'the requests never were in flight')
    await sleep(10)
  }

  server.child.kill('SIGTERM')
  await allIdleClosed
  late.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
  const [quickRes, lateRes, status, ...slowRes] = await Promise.all([quick, lateDone, exited, ...tooSlow])
  return { quickRes, lateRes, slowRes, status, events, output: server.output(), env }
}

/** What a new process reads in the file: requests counted, and nothing in flight. */
async function checkFile(t, env, want) {
  const next = await startServer(t, SERVER, env)
  await scrapeAll(next.port, expected(want), 1, 1)
  assert.deepEqual(await next.stop(), { code: 0, signal: null })
}

/** The late connection's answer: 200, Connection: close, and the connection closed after it. */
function assertLateAnswered(text) {
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/, JSON.stringify(text))
  assert.match(text, /\r\nConnection: close\r\n/i, JSON.stringify(text))
  assert.ok(text.endsWith('\r\n\r\nhello\n'), JSON.stringify(text))
}

/** The warm-up, the late and the quick request of shutdownWith(), as counted. */
function counted() {
  const want = new Tally()
  for (let i = 0; i < 4; i++) want.add({ route: '/', status: 200 }, { status: 200, headers: {}, body: 'hello\n' })
  want.add({ route: '/api/slow', status: 200 }, { status: 200, headers: {}, body: 'slept 600 ms\n' })
  return want
}

test('shutdown: idle keep-alive connections close at once, requests in flight and the first request of a new connection are answered with Connection: close, then the process exits without waiting for the deadline', async (t) => {
  const { quickRes, lateRes, status, events, output, env } = await shutdownWith(t, 0)
  assert.deepEqual(quickRes, { status: 200, connection: 'close', reused: false })
  assertLateAnswered(lateRes)
  assert.deepEqual(status, { code: 0, signal: null }, output)
  assert.deepEqual(events, ['idle closed', 'idle closed', 'idle closed', 'late answered', 'quick answered', 'exit'])
  assert.doesNotMatch(output, /shutdown deadline/)
  // The file: the process counted what it answered, and holds nothing in flight.
  await checkFile(t, env, counted())
})

test('shutdown: a request still in flight at the deadline is cut off, not counted, and the process exits', async (t) => {
  const { quickRes, lateRes, slowRes, status, events, output, env } = await shutdownWith(t, 2)
  assert.deepEqual(quickRes, { status: 200, connection: 'close', reused: false })
  assertLateAnswered(lateRes)
  for (const r of slowRes) assert.equal(r.status, undefined, `a request past the deadline got ${JSON.stringify(r)}`)
  assert.deepEqual(status, { code: 0, signal: null }, output)
  assert.deepEqual(events.slice(0, 5), ['idle closed', 'idle closed', 'idle closed', 'late answered', 'quick answered'], events.join(', '))
  assert.match(output, /cluster-metrics: shutdown deadline \(1400 ms\) reached with 2 request\(s\) unanswered/)
  await checkFile(t, env, counted())
})
