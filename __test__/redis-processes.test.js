'use strict'
// RedisDict from several Node processes at once, each with its own ioredis
// connection (fixtures/redis-adder.js), against a real redis-server and a
// real 3-master Redis Cluster (fixtures/redis.js):
// - 4 processes x 2,500 awaited add('tickets', 1n): the values before are
//   exactly 0..9,999, each once, and the final value is 10,000 (every add is
//   one atomic script, none lost or doubled);
// - 4 processes x 100 distinct keys into capacity 250: exactly 250 inserts
//   succeed, the other 150 reject with ERR_ATOMIC_DICT_FULL, size() is 250;
// - AOF (appendonly yes, appendfsync always): the server SIGKILLed mid-run
//   and restarted on the same files keeps every acknowledged add (and at most
//   the one in flight).

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { fork } = require('node:child_process')
const path = require('node:path')
const Redis = require('ioredis')
const { RedisDict } = require('../lib/redis')
const { startRedis, startCluster } = require('./fixtures/redis')
const { nextMessage } = require('./fixtures/redis-checks')

const ADDER = path.join(__dirname, 'fixtures', 'redis-adder.js')
const PROCS = 4
const ADDS = 2500
const CHILD_TIMEOUT = 60_000

/**
 * Forks fixtures/redis-adder.js; killed in t.after if still running.
 * wait(type) resolves with its next message of that type (rejects on an
 * 'error' message, an early exit, or after `ms`).
 */
function forkAdder(t) {
  const child = fork(ADDER, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let stderr = ''
  child.stdout.resume()
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const wait = (type, ms = CHILD_TIMEOUT) => nextMessage(child, type, ms, () => stderr)
  return { child, wait, exited }
}

/**
 * Forks one adder per job, initialises them all (connected, table attached),
 * then starts them together; resolves with their 'done' messages once every
 * child exited 0.
 */
async function runAdders(t, init, jobs) {
  const adders = jobs.map(() => forkAdder(t))
  await Promise.all(
    adders.map((a) => {
      const ready = a.wait('ready')
      a.child.send({ cmd: 'init', ...init })
      return ready
    }),
  )
  const results = await Promise.all(
    adders.map((a, i) => {
      const done = a.wait('done')
      a.child.send({ cmd: 'go', job: jobs[i] })
      return done
    }),
  )
  for (const a of adders) assert.deepEqual(await a.exited, { code: 0, signal: null })
  return results
}

function checkTickets(results, final) {
  const seen = new Uint8Array(PROCS * ADDS)
  for (const { prevs } of results) {
    assert.equal(prevs.length, ADDS)
    let last = -1
    for (const s of prevs) {
      const v = Number(s)
      assert.ok(Number.isInteger(v) && v >= 0 && v < PROCS * ADDS, `value ${s} out of 0..${PROCS * ADDS - 1}`)
      assert.equal(seen[v], 0, `value ${v} given twice`)
      assert.ok(v > last, 'one process sees its own adds in order')
      last = v
      seen[v] = 1
    }
  }
  assert.equal(seen.indexOf(0), -1, 'every value 0..9,999 given once')
  assert.equal(final, BigInt(PROCS * ADDS))
}

const insertJobs = () => Array.from({ length: PROCS }, (_, p) => ({ op: 'inserts', keys: Array.from({ length: 100 }, (_, i) => 1000 * (p + 1) + i) }))

async function checkInserts(results, dict) {
  const ok = results.flatMap((r) => r.ok)
  const errors = results.flatMap((r) => r.errors)
  assert.equal(ok.length, 250, 'exactly capacity inserts succeed')
  assert.equal(errors.length, 150)
  for (const e of errors) {
    assert.equal(e.code, 'ERR_ATOMIC_DICT_FULL', e.message)
    assert.equal(e.capacity, 250)
  }
  assert.equal(await dict.size(), 250)
  // The keys that succeeded are there with value 1; the refused ones are not.
  for (const k of ok.slice(0, 20)) assert.equal(await dict.get(BigInt(k)), 1n)
  for (const e of errors.slice(0, 20)) assert.equal(await dict.has(BigInt(e.key)), false)
  return { perProcess: results.map((r) => r.ok.length) }
}

describe('RedisDict from 4 processes, standalone redis-server', () => {
  let server
  let client
  before(async () => {
    server = await startRedis()
    client = new Redis({ host: server.host, port: server.port, maxRetriesPerRequest: 0 })
  })
  after(async () => {
    client?.disconnect()
    await server?.stop()
  })
  const init = (name, capacity) => ({ mode: 'standalone', nodes: [{ host: server.host, port: server.port }], name, capacity })

  test('4 x 2,500 add(tickets, 1n): values before are 0..9,999 each once; final 10,000', async (t) => {
    const started = Date.now()
    const results = await runAdders(t, init('tickets-s', 100), Array.from({ length: PROCS }, () => ({ op: 'adds', key: 'tickets', count: ADDS })))
    t.diagnostic(`4 x 2,500 adds in ${Date.now() - started} ms (forks included)`)
    checkTickets(results, await new RedisDict(client, 'tickets-s', { capacity: 100 }).load('tickets'))
  })

  test('4 x 100 distinct keys into capacity 250: exactly 250 inserted, 150 ERR_ATOMIC_DICT_FULL', async (t) => {
    const results = await runAdders(t, init('full-s', 250), insertJobs())
    const { perProcess } = await checkInserts(results, new RedisDict(client, 'full-s', { capacity: 250 }))
    t.diagnostic(`inserted per process: ${perProcess.join(', ')}`)
  })
})

describe('RedisDict from 4 processes, 3-master Redis Cluster (ioredis Redis.Cluster)', () => {
  let cluster
  let client
  before(async () => {
    cluster = await startCluster({ masters: 3 })
    client = new Redis.Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 0 } })
  })
  after(async () => {
    client?.disconnect()
    await cluster?.stop()
  })
  const init = (name, capacity) => ({ mode: 'cluster', nodes: cluster.nodes, name, capacity })

  test('4 x 2,500 add(tickets, 1n): values before are 0..9,999 each once; final 10,000', async (t) => {
    const started = Date.now()
    const results = await runAdders(t, init('tickets-c', 100), Array.from({ length: PROCS }, () => ({ op: 'adds', key: 'tickets', count: ADDS })))
    t.diagnostic(`4 x 2,500 adds in ${Date.now() - started} ms (forks included)`)
    checkTickets(results, await new RedisDict(client, 'tickets-c', { capacity: 100 }).load('tickets'))
  })

  test('4 x 100 distinct keys into capacity 250: exactly 250 inserted, 150 ERR_ATOMIC_DICT_FULL', async (t) => {
    const results = await runAdders(t, init('full-c', 250), insertJobs())
    const { perProcess } = await checkInserts(results, new RedisDict(client, 'full-c', { capacity: 250 }))
    t.diagnostic(`inserted per process: ${perProcess.join(', ')}`)
  })

  test("each table is whole on the master that owns its hash tag's slot", async () => {
    const owners = []
    for (const name of ['tickets-c', 'full-c']) {
      const slot = await client.cluster('KEYSLOT', `{${name}}:d`)
      assert.equal(await client.cluster('KEYSLOT', `{${name}}:meta`), slot)
      const ranges = await client.cluster('SLOTS')
      owners.push(ranges.find(([from, to]) => from <= slot && slot <= to)[2][1])
    }
    for (const [i, name] of ['tickets-c', 'full-c'].entries()) {
      const direct = new Redis({ host: '127.0.0.1', port: owners[i], maxRetriesPerRequest: 0 })
      try {
        assert.equal(await direct.exists(`{${name}}:d`, `{${name}}:meta`), 2, `${name} is on ${owners[i]}`)
      } finally {
        direct.disconnect()
      }
    }
  })
})

describe('RedisDict and AOF (appendonly yes, appendfsync always)', () => {
  test('SIGKILL mid-run, restart on the same files: no acknowledged add lost, at most the one in flight added', async (t) => {
    const server = await startRedis({ appendonly: true, appendfsync: 'always', t })
    const total = 5000
    const killAt = 500
    const a = forkAdder(t)
    const ready = a.wait('ready')
    // No reconnect and no retry: the add in flight when the server dies
    // rejects, so the child stops with exactly one add unacknowledged.
    a.child.send({ cmd: 'init', mode: 'standalone', nodes: [{ host: server.host, port: server.port }], name: 'aof', capacity: 100, redisOptions: { retryStrategy: null, maxRetriesPerRequest: 0 } })
    await ready
    const prevs = []
    const reachedKillAt = new Promise((resolve) =>
      a.child.on('message', (m) => {
        if (m.type !== 'ack') return
        prevs.push(m.prev)
        if (prevs.length === killAt) resolve()
      }),
    )
    const stopped = a.wait('stopped')
    const started = Date.now()
    a.child.send({ cmd: 'go', job: { op: 'acks', key: 'tickets', count: total } })
    let timer
    await Promise.race([reachedKillAt, new Promise((resolve, reject) => (timer = setTimeout(() => reject(new Error(`fewer than ${killAt} acks in 30 s`)), 30_000)))])
    clearTimeout(timer)
    await server.kill('SIGKILL')
    const { acked, error } = await stopped
    t.diagnostic(`killed after ${Date.now() - started} ms; ${acked} adds acknowledged, then: ${error.message}`)
    assert.equal(error.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST', error.message)
    assert.deepEqual(await a.exited, { code: 0, signal: null })
    assert.equal(prevs.length, acked, 'every acknowledged add was reported before the stop')
    assert.ok(acked >= killAt && acked < total, `killed mid-run (acked ${acked} of ${total})`)
    assert.deepEqual(prevs, Array.from({ length: acked }, (_, i) => String(i)), 'one process alone: 0, 1, 2, ...')

    await server.restart()
    const client = new Redis({ host: server.host, port: server.port, maxRetriesPerRequest: 0 })
    t.after(() => client.disconnect())
    const value = await new RedisDict(client, 'aof', { capacity: 100 }).load('tickets')
    t.diagnostic(`after restart: ${value} (acknowledged ${acked})`)
    assert.ok(value >= BigInt(acked), `acknowledged adds lost: ${value} < ${acked}`)
    assert.ok(value <= BigInt(acked) + 1n, `more than the one add in flight applied: ${value} > ${acked} + 1`)
  })

  test('the add in flight when the server died: retry(err) after the restart settles it exactly once', async (t) => {
    const server = await startRedis({ appendonly: true, appendfsync: 'always', t })
    const total = 2000
    const killAt = 500
    const a = forkAdder(t)
    const ready = a.wait('ready')
    // Reconnects every 100 ms; after 2 failed attempts ioredis gives up on
    // the commands without a reply (maxRetriesPerRequest: 1), so the add in
    // flight rejects with ERR_ATOMIC_DICT_CONNECTION_LOST while the server is
    // still down.
    a.child.send({ cmd: 'init', mode: 'standalone', nodes: [{ host: server.host, port: server.port }], name: 'aof-retry', capacity: 100, redisOptions: { retryStrategy: () => 100, maxRetriesPerRequest: 1 } })
    await ready
    const prevs = []
    const reachedKillAt = new Promise((resolve) =>
      a.child.on('message', (m) => {
        if (m.type !== 'ack') return
        prevs.push(m.prev)
        if (prevs.length === killAt) resolve()
      }),
    )
    const lost = a.wait('lost')
    const done = a.wait('done')
    a.child.send({ cmd: 'go', job: { op: 'retry', key: 'tickets', count: total } })
    await reachedKillAt
    await server.kill('SIGKILL')
    const { acked, error } = await lost
    assert.equal(error.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST', error.message)
    assert.ok(acked >= killAt && acked < total, `killed mid-run (acked ${acked} of ${total})`)
    await server.restart()
    const client = new Redis({ host: server.host, port: server.port, maxRetriesPerRequest: 0 })
    t.after(() => client.disconnect())
    const dict = new RedisDict(client, 'aof-retry', { capacity: 100 })
    const before = await dict.load('tickets')
    t.diagnostic(`${acked} acknowledged when the server died; ${before} after the restart`)
    assert.ok(before >= BigInt(acked) && before <= BigInt(acked) + 1n, `${before} not in ${acked}..${acked + 1}`)
    a.child.send({ cmd: 'restarted' })
    assert.equal((await done).acked, total)
    assert.deepEqual(await a.exited, { code: 0, signal: null })
    assert.deepEqual(prevs, Array.from({ length: total }, (_, i) => String(i)), 'the retried add answered as if never interrupted')
    assert.equal(await dict.load('tickets'), BigInt(total), 'every add applied exactly once')
  })
})
