'use strict'
// Exactly once and in order in the corners an outside review found
// (docs/REDIS.md, "Connection loss" and "Batching"), each made
// deterministic with the fault proxy of __test__/fixtures/redis.js:
// - a re-sent batch that Redis refuses (OOM) after the first sending was
//   applied: retry(err) learns that and applies nothing again;
// - a retry that meets a refusal stays retryable, and a later retry still
//   applies nothing twice (the answer was kept);
// - the session's answers hash keeps its expiry after ordinary use, and
//   short-lived table objects of one table and client share one hash;
// - after SCRIPT FLUSH, a batch whose EVALSHA failed NOSCRIPT is not
//   overtaken by the batch issued after it, even when the script is loaded
//   again in between;
// - operations queued while ready() failed can be retried;
// - (second review) a pin is never let go while a retry of it is in flight,
//   the retry window runs on a monotonic clock from the failure, a retry
//   answered from its kept entry refreshes the hash's expiry, a batch is
//   not refused TRYAGAIN while its Cluster slot is being migrated, and an
//   ioredis client with commandTimeout is refused.
// Fails (does not skip) without redis-server.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const Redis = require('ioredis')
const { RedisDict, RedisCounters } = require('atomic-dict/redis')
const { Session, sessionFor, clock, RETRY_WINDOW_MS } = require('../lib/redis/session')
const { startRedis, startCluster, faultProxy, containing } = require('./fixtures/redis')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

describe('RedisDict exactly once, in the corners', () => {
  let server
  let direct
  let proxy
  const clients = []
  const client = (port, opts = {}) => {
    const c = new Redis(port, '127.0.0.1', opts)
    c.on('error', () => {})
    clients.push(c)
    return c
  }
  const stored = async (name, field) => BigInt('0x' + (await direct.hget(`{${name}}:d`, field)))

  before(async () => {
    server = await startRedis()
    direct = new Redis(server.port, '127.0.0.1')
    await direct.config('SET', 'maxmemory-policy', 'noeviction')
    proxy = await faultProxy(server.port)
  })

  after(async () => {
    for (const c of clients) c.disconnect()
    direct?.disconnect()
    await proxy?.close()
    await server?.stop()
  })

  test('a re-send refused (OOM) after the first sending was applied: the error is retryable and retry gives the first answer', async () => {
    const d = new RedisDict(client(proxy.port, { retryStrategy: () => 200 }), 'A', { capacity: 100 })
    await d.add(1n, 10n)
    const dropped = proxy.dropAfterRequest(containing('{A}:d'))
    const pending = d.add(1n, 5n).catch((e) => e)
    await dropped // applied, reply withheld, connection closed: ioredis will re-send
    await direct.config('SET', 'maxmemory', '1')
    let err
    try {
      err = await pending
    } finally {
      await direct.config('SET', 'maxmemory', '0')
    }
    assert.equal(err.code, 'ERR_ATOMIC_DICT_REDIS')
    assert.match(err.message, /OOM/)
    assert.equal(await stored('A', '1'), 15n, 'the first sending was applied')
    assert.equal(await d.retry(err), 10n, 'its first answer')
    assert.equal(await stored('A', '1'), 15n, 'and not applied again')
  })

  test('a retry that meets a refusal stays retryable; a later retry applies nothing twice', async () => {
    const c = client(proxy.port, { retryStrategy: () => 20, maxRetriesPerRequest: 0 })
    const d = new RedisDict(c, 'B', { capacity: 100 })
    await d.add(1n, 100n)
    const dropped = proxy.dropAfterRequest(containing('{B}:d'))
    const err = await d.add(1n, 1n).catch((e) => e)
    await dropped
    assert.equal(err.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
    while (c.status !== 'ready') await sleep(10)
    await direct.config('SET', 'maxmemory', '1')
    let refused
    try {
      refused = await d.retry(err).catch((e) => e)
    } finally {
      await direct.config('SET', 'maxmemory', '0')
    }
    assert.equal(refused.code, 'ERR_ATOMIC_DICT_REDIS')
    for (let i = 0; i < 5; i++) await d.add(2n) // batches that report what was answered
    assert.equal(await d.retry(err), 100n)
    assert.equal(await d.retry(refused), 100n)
    assert.equal(await stored('B', '1'), 101n, 'applied once')
  })

  test('the answers hash keeps its expiry after ordinary use; short-lived objects of one table share it', async () => {
    const c = client(server.port)
    for (let i = 0; i < 30; i++) {
      const d = new RedisDict(c, 'E', { capacity: 100 })
      await d.add(1n)
      await d.add(2n)
    }
    const hashes = await direct.keys('{E}:o:*')
    assert.equal(hashes.length, 1, `one session hash: ${hashes}`)
    assert.ok((await direct.pttl(hashes[0])) > 0, 'with an expiry')
    assert.ok((await direct.hlen(hashes[0])) <= 2, 'holding only the last answers')
    assert.equal(await stored('E', '1'), 30n)
  })

  test('after SCRIPT FLUSH a batch that met NOSCRIPT is not overtaken by the one issued after it', async () => {
    const c = client(server.port)
    const d = new RedisDict(c, 'G', { capacity: 10 })
    await d.ready()
    await direct.script('FLUSH') // as after a failover or a restart
    const add = d.add(1n, 1n)
    await null
    await null // its EVALSHA is on the wire
    const other = new RedisDict(c, 'G2', { capacity: 10 })
    const attached = other.ready() // EVAL: the script is loaded again meanwhile
    await null
    await null
    const cas = d.cas(1n, 0n, 5n) // issued after the add: sees 1, changes nothing
    assert.equal(await add, 0n)
    assert.equal(await cas, 1n)
    assert.equal(await stored('G', '1'), 1n)
    await attached
  })

  test('operations queued while ready() failed reject, each retryable, and retry sends them once the server is back', async () => {
    const c = client(proxy.port, { retryStrategy: () => 20, maxRetriesPerRequest: 0 })
    while (c.status !== 'ready') await sleep(10)
    proxy.refuse(true)
    proxy.cutAll()
    while (c.status === 'ready') await sleep(5)
    const d = new RedisDict(c, 'H', { capacity: 10 })
    const errs = await Promise.all([d.add(1n, 3n).catch((e) => e), d.get(1n).catch((e) => e)])
    for (const e of errs) {
      assert.equal(e.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
      assert.match(e.message, /was not sent/)
    }
    assert.notEqual(errs[0], errs[1], 'each its own error')
    proxy.refuse(false)
    while (c.status !== 'ready') await sleep(10)
    assert.equal(await d.retry(errs[0]), 0n)
    assert.equal(await d.retry(errs[1]), 3n)
    assert.equal(await stored('H', '1'), 3n)
  })

  test('RedisCounters checks waitAsync/notify arguments before any round trip, also before it is ready', async () => {
    const c = client(server.port, { lazyConnect: true })
    const counters = new RedisCounters(c, 'K', ['a'])
    await assert.rejects(counters.waitAsync('a', 'bad'), { code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(counters.waitAsync('a', 0n, { nope: 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
    await assert.rejects(counters.notify('a', -5), { code: 'ERR_OUT_OF_RANGE' })
    assert.equal(c.status, 'wait', 'nothing was sent: the lazy client never connected')
  })
  test('a retry answered from its kept entry refreshes the answers hash when a refresh is due', async () => {
    const c = client(proxy.port, { retryStrategy: () => 20, maxRetriesPerRequest: 0 })
    const d = new RedisDict(c, 'R', { capacity: 100 })
    await d.add(1n, 10n)
    const dropped = proxy.dropAfterRequest(containing('{R}:d'))
    const err = await d.add(1n, 5n).catch((e) => e)
    await dropped // applied: its entry is kept
    while (c.status !== 'ready') await sleep(10)
    const [hash] = await direct.keys('{R}:o:*')
    await direct.pexpire(hash, 180_000)
    sessionFor(c, 'R').refreshed = -Infinity // a refresh is due
    assert.equal(await d.retry(err), 10n)
    assert.ok((await direct.pttl(hash)) > 3_000_000, 'the retry set the expiry again')
    assert.equal(await stored('R', '1'), 15n)
  })

  test('a pin is not let go while a retry of it is in flight; the window runs on a monotonic clock from the failure', () => {
    const real = clock.now
    let offset = 0
    clock.now = () => real() + offset
    try {
      const s = new Session()
      s.pin(7)
      assert.equal(s.claim(7), true, 'a retry inside the window')
      offset = RETRY_WINDOW_MS + 1000
      assert.equal(s.report(), null, 'the busy pin stays (no run reports it)')
      assert.ok(s.pinned.has(7))
      s.release(7, false) // the retry failed
      assert.equal(s.claim(7), false, 'past the window: no new retry')
      assert.deepEqual(s.report(), [7, 7], 'and now it is let go: its entry goes')
      assert.equal(s.claim(7), false)
      s.pin(8)
      assert.equal(s.claim(8), true)
      s.release(8, true) // answered: unpinned
      assert.equal(s.pinned.has(8), false)
    } finally {
      clock.now = real
    }
  })

  test('a batch names the newest unsettled batch before it, an older one when the newer settled first', () => {
    const s = new Session()
    const one = Promise.resolve()
    const two = Promise.resolve()
    s.sent(1, one)
    s.sent(2, two)
    assert.deepEqual(s.newest(), { seq: 2, done: two })
    s.settledBatch(2) // the newer one failed first: the older one is still in flight
    assert.deepEqual(s.newest(), { seq: 1, done: one })
    s.sent(3, two)
    s.settledBatch(1)
    assert.equal(s.newest().seq, 3)
    s.settledBatch(3)
    assert.equal(s.newest(), null)
  })

  test('an ioredis client with commandTimeout is refused', () => {
    const c = new Redis({ lazyConnect: true, host: '127.0.0.1', port: server.port, commandTimeout: 1000 })
    try {
      assert.throws(() => new RedisDict(c, 'T', { capacity: 1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /commandTimeout/ })
    } finally {
      c.disconnect()
    }
  })
})

describe('RedisDict while its Cluster slot is being migrated', () => {
  test('a batch is not refused TRYAGAIN before any key moved (every key it names exists)', { timeout: 60_000 }, async () => {
    const cluster = await startCluster()
    const c = new Redis.Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })))
    c.on('error', () => {})
    try {
      const d = new RedisDict(c, 'M', { capacity: 100 })
      await d.add(1n, 1n)
      const slot = await c.cluster('KEYSLOT', '{M}')
      const masters = c.nodes('master')
      const owner = masters.find((n) => n.options.port === Number(c.slots[slot][0].split(':')[1]))
      const other = masters.find((n) => n !== owner)
      await other.cluster('SETSLOT', slot, 'IMPORTING', await owner.cluster('MYID'))
      await owner.cluster('SETSLOT', slot, 'MIGRATING', await other.cluster('MYID'))
      try {
        assert.equal(await d.add(1n, 1n), 1n)
        const fresh = new RedisDict(c, 'M', { capacity: 100 }) // same session: its hash exists
        assert.equal(await fresh.add(1n, 1n), 2n)
      } finally {
        await owner.cluster('SETSLOT', slot, 'STABLE')
        await other.cluster('SETSLOT', slot, 'STABLE')
      }
    } finally {
      c.disconnect()
      await cluster.stop()
    }
  })
})
