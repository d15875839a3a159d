'use strict'
// RedisDict#waitAsync / #notify over pub/sub against a real redis-server
// (started here; the tests fail, not skip, without one): a waiter woken by
// another process, the lost-wakeup window made deterministic through the
// test seam between "subscription confirmed" and "value read", timeouts,
// aborts, many waiters, no cross-talk between keys or tables, `count`, a
// subscriber connection killed while the change and notify happen, and no
// connection left behind (the process exits, also with a `ref: false` wait
// pending).

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const Redis = require('ioredis')
const { RedisDict } = require('../lib/redis')
const waits = require('../lib/redis/waits')
const { sleep, until, nodeChild } = require('./fixtures/redis-checks')
const { startRedis, startCluster } = require('./fixtures/redis')

const REDIS_MODULE = require.resolve('ioredis')
const LIB = path.join(__dirname, '..', 'lib', 'redis')
const WAITS = path.join(LIB, 'waits.js')

/** Runs `body` (the text of an async function body; `Redis`, `RedisDict`, `waits`, `port` in scope) in a new node process. */
function child(port, body) {
  return nodeChild(
    `const Redis = require(${JSON.stringify(REDIS_MODULE)})
    const { RedisDict } = require(${JSON.stringify(LIB)})
    const waits = require(${JSON.stringify(WAITS)})
    const port = ${port}`,
    body,
  )
}


describe('RedisDict waitAsync / notify', () => {
  let server
  let a // the waiters' client
  let b // the notifiers' client (another connection)
  let n = 0
  /** A fresh table name and its dict on each client. */
  const tables = (opts = { capacity: 1000 }) => {
    const name = `w${++n}`
    return [new RedisDict(a, name, opts), new RedisDict(b, name, opts), name]
  }
  const subscribers = async (name) => Number((await b.call('PUBSUB', 'NUMSUB', `{${name}}:n`))[1])
  const clients = async () => (await b.call('CLIENT', 'LIST')).trim().split('\n').length

  before(async () => {
    server = await startRedis()
    a = new Redis(server.port, '127.0.0.1')
    b = new Redis(server.port, '127.0.0.1')
    await Promise.all([a.ping(), b.ping()])
  })

  after(async () => {
    a?.disconnect()
    b?.disconnect()
    await server?.stop()
  })

  test('a waiter in another process is woken by a change and a notify', async () => {
    const [, db, name] = tables()
    await db.store(7, 0n)
    const c = child(server.port, `
      const client = new Redis(port, '127.0.0.1')
      const d = new RedisDict(client, ${JSON.stringify(name)}, { capacity: 1000 })
      const r = await d.waitAsync(7, 0n, 10_000)
      console.log(r, String(await d.load(7)))
      client.disconnect()
    `)
    await until(async () => (await subscribers(name)) === 1, 'the child to subscribe')
    await sleep(50) // its read done: the notify, not the read, wakes it
    await db.store(7, 9n)
    assert.equal(await db.notify(7), 1) // one subscriber connection received it
    const r = await c.exited
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(c.lines(), ['ok 9'])
    assert.ok(r.ms < 8000)
  })

  test('the value is read only after the subscription is confirmed: a change and notify right between is not slept through', async () => {
    const [da, db, name] = tables()
    await db.store(1, 0n)
    let ran = 0
    waits.hooks.afterSubscribe = async (channel) => {
      ran++
      // Confirmed: the channel is subscribed on the server now.
      assert.equal(channel, `{${name}}:n`)
      assert.equal(await subscribers(name), 1)
      await db.store(1, 1n)
      assert.equal(await db.notify(1), 1)
    }
    try {
      const t0 = performance.now()
      const r = await da.waitAsync(1, 0n, 5000)
      assert.equal(ran, 1)
      assert.ok(r === 'ok' || r === 'not-equal', r)
      assert.ok(performance.now() - t0 < 2500, 'woke at once, not at its timeout')
    } finally {
      waits.hooks.afterSubscribe = null
    }
    // A notify with no change in that window also ends it ('ok'): it was armed.
    waits.hooks.afterSubscribe = async () => {
      assert.equal(await db.notify(1), 1)
    }
    try {
      assert.equal(await da.waitAsync(1, 1n, 5000), 'ok')
    } finally {
      waits.hooks.afterSubscribe = null
    }
  })

  test('not-equal, absent keys read 0 and are not inserted, timeout, timeout 0', async () => {
    const [da, db] = tables({ capacity: 1000, valueBits: 32, signed: true })
    await db.store(3, -1)
    assert.equal(await da.waitAsync(3, 0), 'not-equal')
    assert.equal(await da.waitAsync(3, -1, 0), 'timed-out')
    assert.equal(await da.waitAsync(3, 5, 0), 'not-equal')
    const t0 = performance.now()
    assert.equal(await da.waitAsync(3, -1, 150), 'timed-out')
    assert.ok(performance.now() - t0 >= 140)
    assert.equal(await da.waitAsync(4, 0, 50), 'timed-out') // absent reads 0
    assert.equal(await da.has(4), false) // and is not inserted
    assert.equal(await da.waitAsync(4, 1), 'not-equal')
    assert.equal(await da.waitAsync(3, -1, { timeout: 30 }), 'timed-out')
    assert.equal(await da.waitAsync(3, -1, 30, { ref: true }), 'timed-out')
  })

  test('bad arguments reject before any round trip', async () => {
    const [da] = tables()
    await assert.rejects(da.waitAsync(1, 'x'), { code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(da.waitAsync(1, 0n, -1), { code: 'ERR_OUT_OF_RANGE' })
    await assert.rejects(da.waitAsync(1, 0n, { signal: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(da.waitAsync(1, 0n, { nope: 1 }))
    await assert.rejects(da.waitAsync(-1, 0n), { code: 'ERR_OUT_OF_RANGE' })
    await assert.rejects(da.notify(1, -1), { code: 'ERR_OUT_OF_RANGE' })
    assert.deepEqual(waits.stats(a), { waiters: 0, channels: 0, connected: false })
  })

  test('an AbortSignal rejects with an AbortError, aborted before or during the wait', async () => {
    const [da, db, name] = tables()
    const ac = new AbortController()
    ac.abort(new Error('why'))
    await assert.rejects(da.waitAsync(1, 0n, { signal: ac.signal }), (err) => err.name === 'AbortError' && err.code === 'ABORT_ERR' && err.cause.message === 'why')
    assert.equal(waits.stats(a).connected, false) // nothing subscribed

    const ac2 = new AbortController()
    const p = da.waitAsync(1, 0n, { signal: ac2.signal, timeout: 5000 })
    await until(async () => (await subscribers(name)) === 1, 'the subscription')
    ac2.abort()
    await assert.rejects(p, { name: 'AbortError', code: 'ABORT_ERR' })
    assert.deepEqual(waits.stats(a), { waiters: 0, channels: 0, connected: false })
    // A notify after the abort changes nothing.
    await db.notify(1)
  })

  test('one notify wakes every waiter of the key, in this process and two others', async () => {
    const [da, db, name] = tables()
    const kids = [0, 1].map(() =>
      child(server.port, `
        const client = new Redis(port, '127.0.0.1')
        const d = new RedisDict(client, ${JSON.stringify(name)}, { capacity: 1000 })
        const rs = await Promise.all(Array.from({ length: 5 }, () => d.waitAsync(11, 0n, 10_000)))
        console.log(rs.join(','))
        client.disconnect()
      `),
    )
    const mine = Array.from({ length: 20 }, () => da.waitAsync(11, 0n, 10_000))
    await until(async () => (await subscribers(name)) === 3, 'three subscriber connections')
    await sleep(100)
    assert.equal(waits.stats(a).waiters, 20)
    await db.store(11, 1n)
    assert.equal(await db.notify(11), 3) // connections, not waits
    assert.deepEqual(await Promise.all(mine), Array(20).fill('ok'))
    for (const k of kids) {
      const r = await k.exited
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(k.lines(), ['ok,ok,ok,ok,ok'])
    }
  })

  test('a notify wakes neither other keys nor other tables', async () => {
    const [da, db] = tables()
    const [ea] = tables()
    const [fa] = tables({ capacity: 1000, k64: 2 })
    const woken = []
    const track = (label, p) => p.then((r) => woken.push(`${label}:${r}`))
    const ps = [
      track('d1', da.waitAsync(1, 0n, 600)),
      track('d2', da.waitAsync(2, 0n, 600)),
      track('d12', da.waitAsync(12, 0n, 600)), // "12" begins with "1"
      track('e1', ea.waitAsync(1, 0n, 600)),
      track('f1:2', fa.waitAsync([1n, 2n], 0n, 600)),
    ]
    await until(() => waits.stats(a).channels === 3, 'three channels')
    await sleep(50)
    await db.notify(1)
    await Promise.all(ps)
    assert.deepEqual(woken.sort(), ['d12:timed-out', 'd1:ok', 'd2:timed-out', 'e1:timed-out', 'f1:2:timed-out'])
  })

  test('notify(key, count) wakes at most count waiters per receiving process, oldest first; count 0 publishes nothing', async () => {
    const [da, db, name] = tables()
    const order = []
    const ps = [0, 1, 2].map((i) => da.waitAsync(5, 0n, 500).then((r) => order.push(`${i}:${r}`)))
    await until(async () => (await subscribers(name)) === 1, 'the subscription')
    await sleep(50)
    assert.equal(await db.notify(5, 0), 0)
    assert.equal(await db.notify(5, 1), 1)
    await sleep(50)
    assert.deepEqual(order, ['0:ok'])
    assert.equal(await db.notify(5, 1), 1)
    await Promise.all(ps)
    assert.deepEqual(order, ['0:ok', '1:ok', '2:timed-out'])
  })

  test('change, then notify: notify waits for the operations issued before it', async () => {
    const [da, db] = tables()
    const p = da.waitAsync(6, 0n, 5000)
    await until(() => waits.stats(a).channels === 1, 'the subscription')
    await sleep(50)
    db.add(6, 2n) // not awaited
    const notified = db.notify(6)
    assert.equal(await p, 'ok')
    assert.equal(await da.load(6), 2n) // the change is there when the waiter wakes
    await notified
  })

  test('a subscriber connection killed while the change and notify happen: the waiter wakes by reading again', async () => {
    const [da, db, name] = tables()
    await db.store(8, 0n)
    const p = da.waitAsync(8, 0n, 8000)
    let settled = false
    p.then(() => (settled = true))
    await until(async () => (await subscribers(name)) === 1, 'the subscription')
    await sleep(50)
    assert.equal(await b.call('CLIENT', 'KILL', 'TYPE', 'pubsub'), 1)
    await db.store(8, 4n)
    assert.equal(await db.notify(8), 0) // nobody heard it
    await sleep(20)
    const t0 = performance.now()
    assert.equal(await p, 'ok')
    assert.ok(performance.now() - t0 < 4000)
    assert.ok(settled)
    // The connection works again for later waits.
    const q = da.waitAsync(8, 4n, 5000)
    await until(async () => (await subscribers(name)) === 1, 'the subscription again')
    await sleep(50)
    await db.store(8, 5n)
    await db.notify(8)
    assert.equal(await q, 'ok')
  })

  test('connections: one subscriber per client however many tables, closed when the last wait ends', async () => {
    await until(async () => (await clients()) === 2, 'only the two clients')
    const [da, db] = tables()
    const [ea] = tables()
    const ps = [da.waitAsync(1, 0n, 300), da.waitAsync(2, 0n, 300), ea.waitAsync(1, 0n, 300)]
    await until(() => waits.stats(a).channels === 2, 'two channels')
    await until(async () => (await subscribers(da.name)) === 1 && (await subscribers(ea.name)) === 1, 'both subscriptions')
    assert.equal(await clients(), 3) // one subscriber connection for both tables
    await db.notify(1)
    await Promise.all(ps)
    assert.deepEqual(waits.stats(a), { waiters: 0, channels: 0, connected: false })
    await until(async () => (await clients()) === 2, 'back to the baseline')
  })

  test('the process exits once its waits end, and while a ref: false wait is pending', async () => {
    const [, , name] = tables()
    const ended = child(server.port, `
      const client = new Redis(port, '127.0.0.1')
      const d = new RedisDict(client, ${JSON.stringify(name)}, { capacity: 1000 })
      console.log(await d.waitAsync(1, 0n, 200))
      await client.quit()
    `)
    let r = await ended.exited
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(ended.lines(), ['timed-out'])
    assert.ok(r.ms < 5000)

    const unref = child(server.port, `
      const client = new Redis(port, '127.0.0.1')
      const d = new RedisDict(client, ${JSON.stringify(name)}, { capacity: 1000 })
      d.waitAsync(2, 0n, { ref: false }).then((r) => console.log('settled', r))
      while (waits.stats(client).channels === 0) await new Promise((r) => setTimeout(r, 10))
      await new Promise((r) => setTimeout(r, 100))
      await client.quit()
      console.log('quit')
      process.on('exit', () => console.log('exit', waits.stats(client).waiters))
    `)
    r = await unref.exited
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(unref.lines(), ['quit', 'exit 1']) // exited with the wait pending
    assert.ok(r.ms < 5000)
    await until(async () => (await clients()) === 2, 'back to the baseline')
  })
})

describe('RedisDict waitAsync / notify on a Cluster (sharded pub/sub)', () => {
  let cluster
  let a
  let b
  const nodes = () => cluster.ports.map((port) => ({ host: '127.0.0.1', port }))
  const shardChannels = async () => {
    const all = []
    for (const port of cluster.ports) {
      const r = new Redis(port, '127.0.0.1')
      all.push(...(await r.call('PUBSUB', 'SHARDCHANNELS')))
      r.disconnect()
    }
    return all
  }

  before(async () => {
    cluster = await startCluster()
    cluster.ports = cluster.nodes.map((node) => node.port)
    a = new Redis.Cluster(nodes())
    b = new Redis.Cluster(nodes())
  })

  after(async () => {
    a?.disconnect()
    b?.disconnect()
    await cluster?.stop()
  })

  test('SSUBSCRIBE on the table shard, SPUBLISH wakes, ref: false exits', async () => {
    const da = new RedisDict(a, 'cw', { capacity: 100 })
    const db = new RedisDict(b, 'cw', { capacity: 100 })
    await db.store(1, 0n)
    const p = da.waitAsync(1, 0n, 8000)
    await until(async () => (await shardChannels()).length === 1, 'the sharded subscription')
    assert.deepEqual(await shardChannels(), ['{cw}:n'])
    await sleep(50)
    await db.store(1, 1n)
    assert.equal(await db.notify(1), 1)
    assert.equal(await p, 'ok')

    const c = child(cluster.ports[0], `
      const client = new Redis.Cluster([{ host: '127.0.0.1', port }])
      const d = new RedisDict(client, 'cw', { capacity: 100 })
      d.waitAsync(1, 1n, { ref: false }).then((r) => console.log('settled', r))
      while (waits.stats(client).channels === 0) await new Promise((r) => setTimeout(r, 10))
      await new Promise((r) => setTimeout(r, 300))
      await client.quit()
      process.on('exit', () => console.log('exit', waits.stats(client).waiters))
    `)
    const r = await c.exited
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(c.lines(), ['exit 1'])
  })

  // ioredis 6's sharded subscriber group does not always replace a killed
  // sharded subscriber (no '+subscriber' comes), so no notify would reach
  // the wait: the periodic re-read (about once a second) must still end it
  // with 'ok', well before its 8 s timeout.
  test('a killed sharded subscriber: the wait still ends, by its periodic re-read', async () => {
    const da = new RedisDict(a, 'ck', { capacity: 100 })
    const db = new RedisDict(b, 'ck', { capacity: 100 })
    await db.store(1, 1n)
    // Kill every subscriber connection, change with no notify: only the re-read can wake it.
    const q = da.waitAsync(1, 1n, 8000)
    await until(async () => (await shardChannels()).length === 1, 'the sharded subscription')
    await sleep(500)
    for (const port of cluster.ports) {
      const r = new Redis(port, '127.0.0.1')
      await r.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
      r.disconnect()
    }
    await db.store(1, 2n)
    assert.equal(await q, 'ok')
    assert.deepEqual(waits.stats(a), { waiters: 0, channels: 0, connected: false })
  })
})
