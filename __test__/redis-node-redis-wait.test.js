'use strict'
// RedisDict#waitAsync / #notify over node-redis (package `redis`, v5,
// through fromNodeRedis) against real redis-servers (the tests fail, not
// skip, without one): node-redis and ioredis interoperate (same channel,
// same message), the lost-wakeup window through the test seam, timeout,
// abort, 'not-equal', a subscriber connection killed (CLIENT KILL TYPE
// pubsub) while the change and notify happen, RESP2 and RESP3, a channel
// unsubscribed and subscribed again at once, no connection left behind
// (CLIENT LIST back to its baseline, a child process exits), and a
// createCluster wait on sharded pub/sub.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const Redis = require('ioredis')
const { createClient, createCluster } = require('redis')
const { RedisDict, fromNodeRedis } = require('../lib/redis')
const waits = require('../lib/redis/waits')
const { sleep, until, nodeChild } = require('./fixtures/redis-checks')
const { startRedis, startCluster, faultProxy } = require('./fixtures/redis')

const REDIS_MODULE = require.resolve('redis')
const LIB = path.join(__dirname, '..', 'lib', 'redis')
const WAITS = path.join(LIB, 'waits.js')


/** Runs `body` (an async function body; `createClient`, `createCluster`, `RedisDict`, `fromNodeRedis`, `waits`, `url`, `nodes` in scope) in a new node process. */
function child(vars, body) {
  return nodeChild(
    `const { createClient, createCluster } = require(${JSON.stringify(REDIS_MODULE)})
    const { RedisDict, fromNodeRedis } = require(${JSON.stringify(LIB)})
    const waits = require(${JSON.stringify(WAITS)})
    const url = ${JSON.stringify(vars.url ?? null)}
    const nodes = ${JSON.stringify(vars.nodes ?? null)}`,
    body,
  )
}

describe('node-redis createClient: waitAsync / notify', () => {
  let server
  let nr // node-redis: the waiters' client
  let io // ioredis: the other side, and the inspector
  let n = 0
  const name = () => `nw${++n}`
  const dict = (client, table, opts = { capacity: 1000 }) => new RedisDict(client, table, opts)
  const subscribers = async (table) => Number((await io.call('PUBSUB', 'NUMSUB', `{${table}}:n`))[1])
  const clients = async () => (await io.call('CLIENT', 'LIST')).trim().split('\n').length

  before(async () => {
    server = await startRedis()
    nr = await createClient({ url: server.url }).connect()
    io = new Redis(server.port, '127.0.0.1')
    await io.ping()
  })

  after(async () => {
    nr?.destroy()
    io?.disconnect()
    await server?.stop()
  })

  test('a node-redis waiter is woken by an ioredis notify, and an ioredis waiter by a node-redis notify', async () => {
    const t = name()
    const dn = dict(fromNodeRedis(nr), t)
    const di = dict(io, t)
    await di.store(1, 0n)
    const p = dn.waitAsync(1, 0n, 5000)
    await until(async () => (await subscribers(t)) === 1, 'the node-redis subscription')
    await sleep(50) // its read done: the notify, not the read, wakes it
    await di.store(1, 1n)
    assert.equal(await di.notify(1), 1)
    assert.equal(await p, 'ok')
    assert.equal(await dn.load(1), 1n)

    // The other way round, and one notify reaching both kinds at once.
    const q = di.waitAsync(1, 1n, 5000)
    const r = dn.waitAsync(1, 1n, 5000)
    await until(async () => (await subscribers(t)) === 2, 'both subscriptions')
    await sleep(50)
    await dn.store(1, 2n)
    assert.equal(await dn.notify(1), 2)
    assert.deepEqual(await Promise.all([q, r]), ['ok', 'ok'])

    // notify(key, count) from node-redis, read by ioredis: the same message form.
    const order = []
    const ps = [0, 1].map((i) => di.waitAsync(2, 0n, 600).then((x) => order.push(`${i}:${x}`)))
    await until(async () => (await subscribers(t)) === 1, 'the ioredis subscription')
    await sleep(50)
    assert.equal(await dn.notify(2, 1), 1)
    await Promise.all(ps)
    assert.deepEqual(order, ['0:ok', '1:timed-out'])
  })

  test('the value is read only after the subscription is confirmed (test seam)', async () => {
    const t = name()
    const dn = dict(fromNodeRedis(nr), t)
    const di = dict(io, t)
    await di.store(1, 0n)
    let ran = 0
    waits.hooks.afterSubscribe = async (channel) => {
      ran++
      assert.equal(channel, `{${t}}:n`)
      assert.equal(await subscribers(t), 1) // confirmed: subscribed on the server
      await di.store(1, 1n)
      assert.equal(await di.notify(1), 1)
    }
    try {
      const t0 = performance.now()
      const r = await dn.waitAsync(1, 0n, 5000)
      assert.equal(ran, 1)
      assert.ok(r === 'ok' || r === 'not-equal', r)
      assert.ok(performance.now() - t0 < 2500, 'woke at once, not at its timeout')
    } finally {
      waits.hooks.afterSubscribe = null
    }
    // A notify with no change in that window also ends it ('ok'): it was armed.
    waits.hooks.afterSubscribe = async () => {
      assert.equal(await di.notify(1), 1)
    }
    try {
      assert.equal(await dn.waitAsync(1, 1n, 5000), 'ok')
    } finally {
      waits.hooks.afterSubscribe = null
    }
  })

  test("timeout, timeout 0, 'not-equal', absent keys, abort", async () => {
    const t = name()
    const dn = dict(fromNodeRedis(nr), t, { capacity: 1000, valueBits: 32, signed: true })
    await dn.store(3, -1)
    assert.equal(await dn.waitAsync(3, 0), 'not-equal')
    assert.equal(await dn.waitAsync(3, -1, 0), 'timed-out')
    assert.equal(await dn.waitAsync(3, 5, 0), 'not-equal')
    const t0 = performance.now()
    assert.equal(await dn.waitAsync(3, -1, 150), 'timed-out')
    assert.ok(performance.now() - t0 >= 140)
    assert.equal(await dn.waitAsync(4, 0, 50), 'timed-out') // absent reads 0
    assert.equal(await dn.has(4), false) // and is not inserted

    const ac = new AbortController()
    ac.abort(new Error('why'))
    await assert.rejects(dn.waitAsync(3, -1, { signal: ac.signal }), (err) => err.name === 'AbortError' && err.code === 'ABORT_ERR' && err.cause.message === 'why')
    const ac2 = new AbortController()
    const p = dn.waitAsync(3, -1, { signal: ac2.signal, timeout: 5000 })
    await until(async () => (await subscribers(t)) === 1, 'the subscription')
    ac2.abort()
    await assert.rejects(p, { name: 'AbortError', code: 'ABORT_ERR' })
    assert.deepEqual(waits.stats(nr), { waiters: 0, channels: 0, connected: false })
  })

  test('a channel unsubscribed and subscribed again at once still hears its notify', async () => {
    const t = name()
    const dn = dict(fromNodeRedis(nr), t)
    const di = dict(io, t)
    const keep = dn.waitAsync(99, 0n, 5000) // keeps the connection open
    await until(async () => (await subscribers(t)) === 1, 'the subscription')
    const other = name()
    const en = dict(fromNodeRedis(nr), other)
    const ei = dict(io, other)
    for (let i = 0; i < 5; i++) {
      assert.equal(await en.waitAsync(1, 0n, 30), 'timed-out') // UNSUBSCRIBE goes out here
      const p = en.waitAsync(1, 0n, 5000) // SUBSCRIBE right after it
      await until(async () => (await subscribers(other)) === 1 && waits.stats(nr).channels === 2, 'the subscription again')
      await sleep(30)
      await ei.notify(1)
      const t0 = performance.now()
      assert.equal(await p, 'ok')
      assert.ok(performance.now() - t0 < 800, 'woken by the notify, not by the periodic re-read')
    }
    await di.notify(99)
    assert.equal(await keep, 'ok')
  })

  for (const resp of [2, 3]) {
    test(`RESP${resp}: CLIENT KILL TYPE pubsub, then change and notify: the waiter wakes, the connection comes back`, async (tc) => {
      const client = await createClient({ url: server.url, RESP: resp }).connect()
      tc.after(() => client.destroy())
      const t = name()
      const dn = dict(fromNodeRedis(client), t)
      const di = dict(io, t)
      await di.store(8, 0n)
      const p = dn.waitAsync(8, 0n, 8000)
      await until(async () => (await subscribers(t)) === 1, 'the subscription')
      await sleep(50)
      assert.equal(await io.call('CLIENT', 'KILL', 'TYPE', 'pubsub'), 1)
      await di.store(8, 4n)
      // node-redis reconnects at once after a drop (its reconnectStrategy
      // spaces the later attempts only): heard (1) or missed (0).
      assert.ok((await di.notify(8)) <= 1)
      const t0 = performance.now()
      assert.equal(await p, 'ok')
      assert.ok(performance.now() - t0 < 4000)
      // The connection works again for later waits.
      const q = dn.waitAsync(8, 4n, 5000)
      await until(async () => (await subscribers(t)) === 1, 'the subscription again')
      await sleep(50)
      await di.store(8, 5n)
      await di.notify(8)
      assert.equal(await q, 'ok')
    })

    test(`RESP${resp}: the subscriber away (connections cut and refused) while the change and notify happen: it wakes once back`, async (tc) => {
      const proxy = await faultProxy(server.port, { t: tc })
      const client = createClient({ url: `redis://127.0.0.1:${proxy.port}`, RESP: resp })
      client.on('error', () => {}) // its own connection is cut too
      await client.connect()
      tc.after(() => client.destroy())
      const t = name()
      const dn = dict(fromNodeRedis(client), t)
      const di = dict(io, t)
      await di.store(8, 0n)
      const p = dn.waitAsync(8, 0n, 8000)
      await until(async () => (await subscribers(t)) === 1, 'the subscription')
      await sleep(50)
      proxy.refuse(true)
      proxy.cutAll()
      await until(async () => (await subscribers(t)) === 0, 'the subscriber gone')
      await di.store(8, 4n)
      assert.equal(await di.notify(8), 0) // nobody heard it
      await sleep(100)
      proxy.refuse(false)
      const t0 = performance.now()
      assert.equal(await p, 'ok')
      assert.ok(performance.now() - t0 < 4000)
      assert.ok(proxy.stats.refused > 0)
      // Subscribed again: a notify with no change is heard.
      const q = dn.waitAsync(8, 4n, 5000)
      await until(async () => (await subscribers(t)) === 1, 'the subscription again')
      await sleep(50)
      await di.notify(8)
      assert.equal(await q, 'ok')
    })
  }

  test('a SUBSCRIBE whose confirmation is lost with its connection: sent again, and the wait goes on', async (tc) => {
    const proxy = await faultProxy(server.port, { t: tc })
    const client = createClient({ url: `redis://127.0.0.1:${proxy.port}` })
    client.on('error', () => {})
    await client.connect()
    tc.after(() => client.destroy())
    const t = name()
    const dn = dict(fromNodeRedis(client), t)
    const di = dict(io, t)
    const dropped = proxy.dropAfterRequest((cmd) => cmd.name === 'SUBSCRIBE')
    const p = dn.waitAsync(1, 0n, 8000)
    await dropped // applied by the server, its reply withheld, the connection closed
    await until(async () => (await subscribers(t)) === 1, 'the subscription, sent again')
    await sleep(50)
    await di.store(1, 1n)
    assert.equal(await di.notify(1), 1)
    assert.equal(await p, 'ok')
    assert.ok(proxy.count('SUBSCRIBE') >= 2, String(proxy.count('SUBSCRIBE')))
  })

  test('killed with a wait pending and no change: node-redis subscribes again by itself and the next notify wakes it', async () => {
    const t = name()
    const dn = dict(fromNodeRedis(nr), t)
    const di = dict(io, t)
    const p = dn.waitAsync(1, 0n, 8000)
    await until(async () => (await subscribers(t)) === 1, 'the subscription')
    await sleep(50)
    assert.equal(await io.call('CLIENT', 'KILL', 'TYPE', 'pubsub'), 1)
    await until(async () => (await subscribers(t)) === 1, 'the subscription, back')
    await di.store(1, 1n)
    await di.notify(1)
    assert.equal(await p, 'ok')
  })

  test('connections: one subscriber per client however many tables, closed when the last wait ends', async () => {
    await until(() => waits.stats(nr).connected === false, 'no subscriber left')
    await until(async () => (await clients()) === 2, 'only the two clients (nr, io)')
    const base = await clients()
    const [t1, t2] = [name(), name()]
    const d1 = dict(fromNodeRedis(nr), t1)
    const d2 = dict(fromNodeRedis(nr), t2)
    const ps = [d1.waitAsync(1, 0n, 300), d1.waitAsync(2, 0n, 300), d2.waitAsync(1, 0n, 300)]
    await until(async () => (await subscribers(t1)) === 1 && (await subscribers(t2)) === 1, 'both subscriptions')
    assert.equal(await clients(), base + 1) // one subscriber connection for both tables
    await dict(io, t1).notify(1)
    assert.deepEqual(await Promise.all(ps), ['ok', 'timed-out', 'timed-out'])
    assert.deepEqual(waits.stats(nr), { waiters: 0, channels: 0, connected: false })
    await until(async () => (await clients()) === base, 'back to the baseline')
  })

  test('a child process using node-redis exits once its wait ends, and while a ref: false wait is pending', async () => {
    const t = name()
    const base = await clients()
    const ended = child({ url: server.url }, `
      const client = await createClient({ url }).connect()
      const d = new RedisDict(fromNodeRedis(client), ${JSON.stringify(t)}, { capacity: 1000 })
      console.log(await d.waitAsync(1, 0n, 200))
      client.close()
    `)
    let r = await ended.exited
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(ended.lines(), ['timed-out'])
    assert.ok(r.ms < 5000)

    // Its subscriber alone would not keep it alive: the wait ended, the
    // client stays open (not closed) -- the child exits only after a
    // destroy of its own client, so here only the subscriber is checked.
    const woken = child({ url: server.url }, `
      const client = await createClient({ url }).connect()
      const d = new RedisDict(fromNodeRedis(client), ${JSON.stringify(t)}, { capacity: 1000 })
      const r = await d.waitAsync(2, 0n, 10_000)
      console.log(r, waits.stats(client).connected)
      client.destroy()
    `)
    await until(async () => (await subscribers(t)) === 1, 'the child subscription')
    await sleep(50)
    await dict(io, t).store(2, 1n)
    await dict(io, t).notify(2)
    r = await woken.exited
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(woken.lines(), ['ok false'])

    const unref = child({ url: server.url }, `
      const client = await createClient({ url }).connect()
      const d = new RedisDict(fromNodeRedis(client), ${JSON.stringify(t)}, { capacity: 1000 })
      d.waitAsync(3, 0n, { ref: false }).then((r) => console.log('settled', r))
      while (waits.stats(client).channels === 0) await new Promise((r) => setTimeout(r, 10))
      await new Promise((r) => setTimeout(r, 100))
      client.close()
      console.log('closed')
      process.on('exit', () => console.log('exit', waits.stats(client).waiters))
    `)
    r = await unref.exited
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(unref.lines(), ['closed', 'exit 1']) // exited with the wait pending
    assert.ok(r.ms < 5000)
    await until(async () => (await clients()) === base, 'back to the baseline')
  })
})

describe('node-redis createCluster: waitAsync / notify (sharded pub/sub)', () => {
  let cluster
  let nc
  let io
  const shardChannels = async () => {
    const all = []
    for (const s of cluster.servers) all.push(...(await s.command('PUBSUB', 'SHARDCHANNELS')))
    return all
  }
  const clientCount = async () => {
    let total = 0
    for (const s of cluster.servers) total += (await s.command('CLIENT', 'LIST')).trim().split('\n').length
    return total
  }

  before(async () => {
    cluster = await startCluster()
    nc = await createCluster({ rootNodes: cluster.nodes.map((x) => ({ url: `redis://${x.host}:${x.port}` })) }).connect()
    io = new Redis.Cluster(cluster.nodes)
  })

  after(async () => {
    nc?.destroy()
    io?.disconnect()
    await cluster?.stop()
  })

  test('SSUBSCRIBE on the table shard; woken by a node-redis and by an ioredis notify; connections closed after', async () => {
    const dn = new RedisDict(fromNodeRedis(nc), 'ncw', { capacity: 100 })
    const di = new RedisDict(io, 'ncw', { capacity: 100 })
    await dn.store(1, 0n)
    await di.load(1)
    const base = await clientCount() // both clients connected to every master
    const p = dn.waitAsync(1, 0n, 8000)
    await until(async () => (await shardChannels()).length === 1, 'the sharded subscription')
    assert.deepEqual(await shardChannels(), ['{ncw}:n'])
    await sleep(50)
    await dn.store(1, 1n)
    assert.equal(await dn.notify(1), 1)
    assert.equal(await p, 'ok')

    const q = dn.waitAsync(1, 1n, 8000)
    await until(async () => (await shardChannels()).length === 1, 'the sharded subscription again')
    await sleep(50)
    await di.store(1, 2n)
    assert.equal(await di.notify(1), 1)
    assert.equal(await q, 'ok')
    assert.deepEqual(waits.stats(nc), { waiters: 0, channels: 0, connected: false })
    await until(async () => (await shardChannels()).length === 0, 'no sharded subscription left')
    await until(async () => (await clientCount()) <= base, 'back to the baseline', 8000)
  })

  test('a killed shard subscriber: the wait still wakes', async () => {
    const dn = new RedisDict(fromNodeRedis(nc), 'nck', { capacity: 100 })
    const di = new RedisDict(io, 'nck', { capacity: 100 })
    await di.store(1, 1n)
    const p = dn.waitAsync(1, 1n, 8000)
    await until(async () => (await shardChannels()).length === 1, 'the sharded subscription')
    await sleep(100)
    for (const s of cluster.servers) await s.command('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await di.store(1, 2n)
    await di.notify(1)
    const t0 = performance.now()
    assert.equal(await p, 'ok')
    assert.ok(performance.now() - t0 < 4000)
    // Subscribed again: a later notify is heard.
    const q = dn.waitAsync(1, 2n, 8000)
    await until(async () => (await shardChannels()).length === 1, 'the sharded subscription again')
    await sleep(50)
    await di.notify(1)
    assert.equal(await q, 'ok')
  })

  test('a child process with a cluster wait and ref: false exits', async () => {
    const c = child({ nodes: cluster.nodes.map((x) => ({ url: `redis://${x.host}:${x.port}` })) }, `
      const client = await createCluster({ rootNodes: nodes }).connect()
      const d = new RedisDict(fromNodeRedis(client), 'ncx', { capacity: 100 })
      console.log(await d.waitAsync(1, 0n, 200))
      d.waitAsync(1, 0n, { ref: false }).then((r) => console.log('settled', r))
      while (waits.stats(client).channels === 0) await new Promise((r) => setTimeout(r, 10))
      await new Promise((r) => setTimeout(r, 300))
      client.close()
      process.on('exit', () => console.log('exit', waits.stats(client).waiters))
    `)
    const r = await c.exited
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(c.lines(), ['timed-out', 'exit 1'])
    assert.ok(r.ms < 8000)
  })
})
