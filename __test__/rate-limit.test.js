'use strict'
// examples/rate-limit: the fixed-window limiter (limiter.js) with a fake
// clock and with processes racing on it, then the server as a real 4-worker
// cluster and as plain processes sharing a named file, under concurrent
// requests on fresh connections: no client is ever admitted more than LIMIT
// times in a window, and exactly LIMIT times when it asks for more.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { AtomicDict, fork } = require('..')
const { FixedWindowLimiter, MAX_LIMIT } = require('../examples/rate-limit/limiter')
const { startServer, request, pool, shuffled, sleep } = require('./fixtures/servers')

const SERVER = path.join(__dirname, '..', 'examples', 'rate-limit', 'server.js')
const CHILD = path.join(__dirname, 'fixtures', 'limiter-child.js')

// ------------------------------------------------------------ the limiter

test('limiter: LIMIT requests per client per window, then the next window admits again', () => {
  let now = 5_000
  const table = new AtomicDict(10)
  const limiter = new FixedWindowLimiter(table, { limit: 3, windowMs: 1000, now: () => now })
  const take = (client) => {
    const d = limiter.take(client)
    return [d.allowed, d.remaining, d.window, d.resetMs]
  }
  assert.deepEqual(take('a'), [true, 2, 5, 1000])
  now = 5_250
  assert.deepEqual(take('a'), [true, 1, 5, 750])
  assert.deepEqual(take('b'), [true, 2, 5, 750])
  assert.deepEqual(take('a'), [true, 0, 5, 750])
  assert.deepEqual(take('a'), [false, 0, 5, 750])
  now = 5_999
  assert.deepEqual(take('a'), [false, 0, 5, 1])
  assert.deepEqual(limiter.peek('a'), { window: 5, count: 3 })
  now = 6_000
  assert.deepEqual(take('a'), [true, 2, 6, 1000])
  now = 9_100 // windows with no requests leave nothing behind
  assert.deepEqual(take('a'), [true, 2, 9, 900])
  assert.deepEqual(limiter.peek('b'), { window: 5, count: 1 })
  assert.deepEqual(limiter.peek('nobody'), { window: 0, count: 0 })
  assert.equal(table.size, 2) // one key per client, whatever the number of windows
})

test('limiter: a process whose clock reads the previous window counts into the newer one', () => {
  const table = new AtomicDict(10)
  let ahead = 6_000
  let behind = 5_999
  const a = new FixedWindowLimiter(table, { limit: 3, windowMs: 1000, now: () => ahead })
  const b = new FixedWindowLimiter(table, { limit: 3, windowMs: 1000, now: () => behind })
  assert.equal(b.take('x').window, 5)
  assert.equal(a.take('x').window, 6) // a new window starts
  // b read its clock before the boundary but comes later: going back to
  // window 5 would reset the count and let window 6 admit more than 3.
  assert.deepEqual(b.take('x'), { allowed: true, remaining: 1, resetMs: 1001, window: 6 })
  assert.equal(b.take('x').allowed, true)
  assert.deepEqual(b.take('x'), { allowed: false, remaining: 0, resetMs: 1001, window: 6 })
  assert.equal(a.take('x').allowed, false)
  ahead = behind = 7_000
  assert.equal(b.take('x').allowed, true)
})

test('limiter: a full table refuses new clients only (ERR_ATOMIC_DICT_FULL)', () => {
  const table = new AtomicDict(2)
  const limiter = new FixedWindowLimiter(table, { limit: 2, windowMs: 1000, now: () => 0 })
  assert.equal(limiter.take('a').allowed, true)
  assert.equal(limiter.take(42n).allowed, true)
  assert.throws(() => limiter.take('c'), { code: 'ERR_ATOMIC_DICT_FULL' })
  assert.equal(limiter.take('a').allowed, true)
  assert.equal(limiter.take('a').allowed, false)
  assert.equal(table.size, 2)
})

test('limiter: checks its table and options', () => {
  const ok = { limit: 1, windowMs: 1 }
  assert.throws(() => new FixedWindowLimiter(new AtomicDict(1, { valueBits: 32 }), ok), TypeError)
  assert.throws(() => new FixedWindowLimiter(new AtomicDict(1, { k64: 1, k32: 1 }), ok), TypeError)
  const table = new AtomicDict(1)
  for (const limit of [0, 1.5, MAX_LIMIT + 1, '5']) {
    assert.throws(() => new FixedWindowLimiter(table, { limit, windowMs: 1 }), RangeError)
  }
  assert.throws(() => new FixedWindowLimiter(table, { limit: 1, windowMs: 0 }), RangeError)
  assert.throws(() => new FixedWindowLimiter(table, { ...ok, now: 5 }), TypeError)
  assert.equal(new FixedWindowLimiter(table, { limit: MAX_LIMIT, windowMs: 1 }).limit, MAX_LIMIT)
})

test('limiter: 4 processes racing on the same clients admit exactly LIMIT of each', async () => {
  const table = new AtomicDict(16)
  const config = { limit: 1000, windowMs: 60_000, clients: ['hot', 'warm', 'cool'], takes: 1500, now: 1_000_000 }
  const children = [1, 2, 3, 4].map(() => fork(CHILD, [JSON.stringify(config)], { share: { clients: table } }))
  const next = (child) =>
    new Promise((resolve, reject) => {
      child.once('message', resolve)
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`child exited (${code}) without answering`)))
    })
  await Promise.all(children.map(next))
  const results = children.map(next)
  for (const child of children) child.send('go')
  const admitted = await Promise.all(results)
  for (const client of config.clients) {
    const total = admitted.reduce((sum, a) => sum + a[client], 0)
    assert.equal(total, config.limit, `${client}: ${admitted.map((a) => a[client]).join(' + ')}`)
  }
  const limiter = new FixedWindowLimiter(table, { limit: config.limit, windowMs: config.windowMs })
  assert.deepEqual(limiter.peek('hot'), { window: 16, count: 1000 })
})

// ------------------------------------------------------------ the server

/**
 * Sends `perClient` requests of each of `clients` (shuffled, `concurrency`
 * at a time) to `ports` in turn; returns the responses with their client.
 */
async function flood(ports, clients, perClient, concurrency) {
  const jobs = shuffled(clients.flatMap((c) => Array(perClient).fill(c)))
  const responses = await pool(
    jobs.map((client, i) => () => request(ports[i % ports.length], '/', { headers: { 'x-client-id': client } })),
    concurrency,
  )
  return responses.map((res, i) => ({ client: jobs[i], ...res }))
}

/**
 * Checks every response of a fixed-window limiter of `limit`: per client and
 * window (x-ratelimit-window), min(limit, requests) are admitted with
 * remaining limit-1 ... limit-n, and the rest get 429 with a Retry-After.
 * Returns { client: { window: admitted } }.
 */
function checkWindows(responses, limit) {
  const groups = new Map()
  for (const r of responses) {
    assert.ok(r.status === 200 || r.status === 429, `status ${r.status}: ${r.body}`)
    assert.equal(r.headers['ratelimit-limit'], String(limit))
    const key = `${r.client} ${r.headers['x-ratelimit-window']}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(r)
  }
  const admitted = {}
  for (const [key, group] of groups) {
    const ok = group.filter((r) => r.status === 200)
    const expected = Math.min(limit, group.length)
    assert.equal(ok.length, expected, `client and window ${key}: ${ok.length} of ${group.length} admitted`)
    const remaining = ok.map((r) => Number(r.headers['ratelimit-remaining'])).sort((x, y) => y - x)
    assert.deepEqual(remaining, Array.from({ length: expected }, (_, i) => limit - 1 - i), key)
    for (const r of group) if (r.status === 429) assert.ok(Number(r.headers['retry-after']) >= 0, key)
    const [client, window] = key.split(' ')
    admitted[client] ??= {}
    admitted[client][window] = ok.length
  }
  return admitted
}

test('cluster: each client gets exactly LIMIT 200s in a window, the rest 429, whichever worker answers', async (t) => {
  const server = await startServer(t, SERVER, { PORT: '0', WORKERS: '4', LIMIT: '5', WINDOW_MS: '3600000' })
  const clients = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']
  const responses = await flood([server.port], clients, 9, 12)
  const workers = new Set(responses.map((r) => r.headers['x-worker']))
  assert.ok(workers.size >= 2, `responses came from ${workers.size} worker(s)`)
  // Each client's 9 requests: 5 admitted and 4 refused, all in one window
  // (unless the test crossed a boundary between two hour-long windows: then
  // each window admits exactly min(5, its requests)).
  checkWindows(responses, 5)
  assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output())
})

test('cluster: short windows: every new window admits again, none admits more than LIMIT', async (t) => {
  const LIMIT = 3
  const WINDOW_MS = 300
  const server = await startServer(t, SERVER, { PORT: '0', WORKERS: '4', LIMIT: String(LIMIT), WINDOW_MS: String(WINDOW_MS) })
  // Two clients each start a request every 20 ms for 1.6 s (about 5 windows).
  const pending = []
  const end = Date.now() + 1600
  while (Date.now() < end) {
    for (const client of ['x', 'y']) {
      pending.push(request(server.port, '/', { headers: { 'x-client-id': client } }).then((res) => ({ client, ...res })))
    }
    await sleep(20)
  }
  const responses = await Promise.all(pending)
  const admitted = checkWindows(responses, LIMIT)
  for (const client of ['x', 'y']) {
    const full = Object.values(admitted[client]).filter((n) => n === LIMIT)
    assert.ok(full.length >= 3, `${client}: windows ${JSON.stringify(admitted[client])}`)
  }
  const workers = new Set(responses.map((r) => r.headers['x-worker']))
  assert.ok(workers.size >= 2)
  assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output())
})

test('named file (pm2 mode): plain processes share the limits; a full table gives new clients 503', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rate-limit-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = {
    PORT: '0',
    WORKERS: '0',
    LIMIT: '4',
    WINDOW_MS: '3600000',
    MAX_CLIENTS: '4',
    RATE_LIMIT_FILE: path.join(dir, 'limits'),
  }
  const servers = await Promise.all([1, 2].map(() => startServer(t, SERVER, env)))
  const ports = servers.map((s) => s.port)

  const clients = ['p', 'q', 'r', 's']
  const responses = await flood(ports, clients, 7, 8)
  assert.equal(new Set(responses.map((r) => r.headers['x-worker'])).size, 2)
  checkWindows(responses, 4)

  // The table holds 4 clients: a fifth is refused (by both processes), the
  // known ones are still limited as before.
  for (const port of ports) {
    const res = await request(port, '/', { headers: { 'x-client-id': 'newcomer' } })
    assert.equal(res.status, 503)
    assert.equal(res.body, 'too many clients\n')
  }
  assert.equal((await request(ports[0], '/', { headers: { 'x-client-id': 'p' } })).status, 429)

  for (const s of servers) {
    assert.deepEqual(await s.stop(), { code: 0, signal: null }, s.output())
    assert.match(s.output(), /the table of 4 clients is full; new clients get 503/)
  }
})
