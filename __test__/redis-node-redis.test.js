'use strict'
// RedisDict over node-redis (package `redis`, v5) through fromNodeRedis:
// createClient against a standalone redis-server and createCluster against
// a 3-master cluster, each a seeded conformance run equal to a local
// AtomicDict; reply errors are ERR_ATOMIC_DICT_REDIS; duplicate() is usable;
// and what node-redis does with a command in flight when its connection
// drops (it rejects it with SocketClosedUnexpectedlyError and never sends it
// again), which RedisDict turns into ERR_ATOMIC_DICT_CONNECTION_LOST that
// retry(err) settles exactly once. Fails without redis-server.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { createClient, createCluster } = require('redis')
const { AtomicDict } = require('..')
const { RedisDict, fromNodeRedis } = require('../lib/redis')
const { startRedis, startCluster, faultProxy, containing } = require('./fixtures/redis')
const { conform } = require('./fixtures/redis-model')

const OPS = 2000
const CONFIGS = [
  { id: 'i64-strings', capacity: 60, shape: { signed: true, strings: 1 << 16 } },
  { id: 'u32-k32', capacity: 40, shape: { k64: 0, k32: 1, valueBits: 32 } },
  { id: 'u64-k64k64k32', capacity: 60, shape: { k64: 2, k32: 1 } },
]

async function conformance(t, client, prefix, names = CONFIGS.map(({ id }) => `${prefix}-${id}`)) {
  for (const [i, { id, capacity, shape }] of CONFIGS.entries()) {
    const local = new AtomicDict(capacity, shape)
    const remote = new RedisDict(client, names[i], { capacity, ...shape })
    const t0 = Date.now()
    const r = await conform({ local, remote, seed: 0xbeef + i, ops: OPS, shape, capacity, label: `node-redis ${prefix} ${id}` })
    assert.ok(r.tally.ERR_ATOMIC_DICT_FULL > 0, JSON.stringify(r.tally))
    t.diagnostic(`${id}: ${r.ops} ops, ${r.steps} steps, ${Date.now() - t0} ms`)
  }
}

describe('node-redis createClient (standalone)', () => {
  let server
  let client
  before(async () => {
    server = await startRedis()
    client = await createClient({ url: server.url }).connect()
  })
  after(async () => {
    client?.destroy()
    await server?.stop()
  })

  test(`${OPS} operations per shape equal to local`, { timeout: 60_000 }, (t) => conformance(t, fromNodeRedis(client), 'nr'))

  test('replies come back as strings and numbers; a reply error is ERR_ATOMIC_DICT_REDIS with node-redis\' ErrorReply as cause', async () => {
    assert.deepEqual(await client.sendCommand(['HSET', '{wrong}:d', '1', 'x']), 1)
    assert.deepEqual(await client.sendCommand(['HGETALL', '{wrong}:d']), ['1', 'x'])
    const d = new RedisDict(fromNodeRedis(client), 'wrong', { capacity: 4 })
    // A value of the wrong form in the hash: the codec's error.
    await assert.rejects(d.load(1n), { code: 'ERR_ATOMIC_DICT_REDIS' })
    await client.sendCommand(['SET', '{typed}:d', 'not a hash'])
    const e = new RedisDict(fromNodeRedis(client), 'typed', { capacity: 4 })
    const err = await e.add(1n).catch((x) => x)
    assert.equal(err.code, 'ERR_ATOMIC_DICT_REDIS')
    assert.equal(err.cause.constructor.name, 'SimpleError')
    assert.equal(Object.getPrototypeOf(err.cause.constructor).name, 'ErrorReply')
    assert.match(err.cause.message, /WRONGTYPE/)
    const err2 = await e.get(1n).catch((x) => x)
    assert.equal(err2.code, 'ERR_ATOMIC_DICT_REDIS')
    // A refused read-modify-write can be retried (a refusal may answer a re-send
    // of one applied before a reconnect); here Redis refuses it again.
    await assert.rejects(e.retry(err), { code: 'ERR_ATOMIC_DICT_REDIS' })
  })

  test('fromNodeRedis(client).duplicate() is a connected client of the same server', async () => {
    const dup = fromNodeRedis(client).duplicate()
    try {
      assert.equal(await dup.send(['PING']), 'PONG')
      assert.equal(await dup.send(['HGET', '{wrong}:d', '1']), 'x')
    } finally {
      dup.client.destroy()
    }
  })

  test('an ioredis-looking check: a bare node-redis client is refused with a hint', () => {
    assert.throws(() => new RedisDict(client, 'bare', { capacity: 4 }), { code: 'ERR_INVALID_ARG_TYPE', message: /fromNodeRedis/ })
  })

  test('a command in flight when the connection drops: rejected, not sent again; retry(err) settles it once', { timeout: 30_000 }, async () => {
    const proxy = await faultProxy(server.port)
    const c = createClient({ url: `redis://127.0.0.1:${proxy.port}` })
    const events = []
    c.on('error', (e) => events.push(e.constructor.name))
    await c.connect()
    try {
      const d = new RedisDict(fromNodeRedis(c), 'nr-drop', { capacity: 10 })
      await d.ready()
      const evalsBefore = proxy.count('EVALSHA') + proxy.count('EVAL')
      const dropped = proxy.dropAfterRequest(containing('{nr-drop}:d'))
      // Two operations in one batch, the batch applied, its reply lost.
      const settled = await Promise.allSettled([d.add(1n, 5n), d.add(1n, 7n), d.get(1n)])
      await dropped
      for (const s of settled) {
        assert.equal(s.status, 'rejected')
        assert.equal(s.reason.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
        assert.equal(s.reason.cause.constructor.name, 'SocketClosedUnexpectedlyError')
      }
      assert.ok(events.includes('SocketClosedUnexpectedlyError'), events.join())
      // node-redis reconnects and did not send the batch again: applied once.
      assert.equal(await d.load(1n), 12n)
      assert.equal(proxy.count('EVALSHA') + proxy.count('EVAL'), evalsBefore + 1)
      // retry: the first answers, nothing applied again; the read reads.
      assert.equal(await d.retry(settled[0].reason), 0n)
      assert.equal(await d.retry(settled[1].reason), 5n)
      assert.equal(await d.retry(settled[2].reason), 12n)
      assert.equal(await d.load(1n), 12n)
    } finally {
      c.destroy()
      await proxy.close()
    }
  })
})

describe('node-redis createCluster (3 masters)', () => {
  let cluster
  let client
  let hlenKey
  before(async () => {
    cluster = await startCluster({ masters: 3 })
    client = await createCluster({ rootNodes: cluster.nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })) }).connect()
  })
  after(async () => {
    client?.destroy()
    await cluster?.stop()
  })

  test(`${OPS} operations per shape equal to local, the tables on their slots' masters`, { timeout: 60_000 }, async (t) => {
    // Names on three different masters (CLUSTER KEYSLOT, CLUSTER SLOTS).
    const owner = new Array(16384)
    for (const [from, to, master] of await cluster.servers[0].command('CLUSTER', 'SLOTS')) owner.fill(master[1], from, to + 1)
    const ports = [...new Set(owner)].sort()
    const names = []
    for (let i = 0; i < CONFIGS.length; i++) {
      for (let j = 0; names.length === i && j < 1000; j++) {
        const name = `nrc-${CONFIGS[i].id}-${j}`
        if (owner[await cluster.servers[0].command('CLUSTER', 'KEYSLOT', `{${name}}:d`)] === ports[i % 3]) names.push(name)
      }
    }
    await conformance(t, fromNodeRedis(client), 'nrc', names)
    // Each table's hash is on the master of its slot (read there directly).
    const masters = new Set()
    for (const name of names) {
      const key = `{${name}}:d`
      const holders = []
      for (const s of cluster.servers) {
        const n = await s.command('EVAL', "return redis.call('HLEN', KEYS[1])", '1', key).catch(() => null)
        if (n !== null) holders.push(s.port)
      }
      assert.equal(holders.length, 1, `${key} served by one master`)
      masters.add(holders[0])
    }
    assert.equal(masters.size, 3)
    t.diagnostic(`tables ${names.join(', ')} on ${masters.size} masters`)
    hlenKey = `{${names[1]}}:d`
  })

  test('fromNodeRedis(cluster).duplicate() is a connected cluster', async () => {
    const dup = fromNodeRedis(client).duplicate()
    try {
      assert.equal(dup.cluster, true)
      assert.equal(await dup.send(['HLEN', hlenKey]), 40)
    } finally {
      dup.client.destroy()
    }
  })
})
