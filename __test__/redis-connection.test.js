'use strict'
// RedisDict across lost connections, made deterministic by the fault proxy
// of __test__/fixtures/redis.js (it forwards a batch's EVALSHA, lets the
// server apply it, and withholds its reply while closing the connection):
//
// - ioredis as configured by default re-sends the unanswered EVALSHA after
//   it reconnects: the script finds the batch's seq among the session's
//   answers and returns the first answers, applying nothing twice;
// - with maxRetriesPerRequest: 0 (also with autoResendUnfulfilledCommands:
//   false), or while the proxy refuses reconnects, the operations reject
//   with ERR_ATOMIC_DICT_CONNECTION_LOST (cause: ioredis' error), and
//   dict.retry(err) settles each exactly once: the first answer when the
//   server had applied it, applied now when it had not reached the server;
// - reads reject with the same code and retry() reads again;
// - retry() of an error that is not such an error of this table rejects
//   with ERR_INVALID_ARG_VALUE.
// Fails (does not skip) without redis-server.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const Redis = require('ioredis')
const { RedisDict } = require('../lib/redis')
const { startRedis, faultProxy, containing } = require('./fixtures/redis')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves when `predicate()` holds (polled), rejects after `ms`. */
async function until(predicate, ms, what) {
  const deadline = Date.now() + ms
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

describe('RedisDict over ioredis across lost connections', () => {
  let server
  let direct // a client straight to the server, to read what it holds
  const clients = []
  const proxies = []
  let n = 0

  before(async () => {
    server = await startRedis()
    direct = new Redis(server.port, '127.0.0.1')
  })
  after(async () => {
    for (const c of clients) c.disconnect()
    for (const p of proxies) await p.close()
    direct?.disconnect()
    await server?.stop()
  })

  /** A fresh proxy, an ioredis client through it (options added), and a table on it, attached. */
  async function setup(options = {}, opts = { capacity: 1000 }) {
    const proxy = await faultProxy(server.port)
    proxies.push(proxy)
    const client = new Redis(proxy.port, '127.0.0.1', { retryStrategy: () => 20, ...options })
    client.on('error', () => {}) // reconnects are expected here
    clients.push(client)
    const name = `conn-${++n}`
    const dict = new RedisDict(client, name, opts)
    await dict.ready()
    const evals = () => proxy.count('EVALSHA') + proxy.count('EVAL')
    const value = async (field) => {
      const hex = await direct.hget(`{${name}}:d`, field)
      return hex === null ? undefined : BigInt('0x' + hex)
    }
    return { proxy, client, name, dict, evals, value }
  }

  test('default ioredis: the reply of an applied add is lost, ioredis re-sends, the add resolves with the first answer, applied once', { timeout: 20_000 }, async () => {
    const { proxy, dict, evals, value } = await setup()
    assert.equal(await dict.add(7n, 100n), 0n)
    const before = evals()
    const dropped = proxy.dropAfterRequest(containing(`{${dict.name}}:d`))
    const result = await dict.add(7n, 5n)
    const { reply } = await dropped
    assert.match(reply, /^\$16\r\n0000000000000064\r\n$/, 'the server applied it and answered 100 (withheld)')
    assert.equal(result, 100n, 'the first answer')
    assert.equal(evals(), before + 2, 'sent twice (ioredis re-sent it after reconnecting)')
    assert.equal(proxy.stats.dropped, 1)
    assert.equal(await value('7'), 105n, 'applied once')
    assert.equal(await dict.load(7n), 105n)
    assert.equal(await dict.add(7n), 105n)
  })

  test('default ioredis: a batch of 300 operations (two scripts) whose reply is lost: every operation exactly once, with its first answer', { timeout: 20_000 }, async () => {
    const { proxy, dict, evals, value } = await setup()
    const before = evals()
    const dropped = proxy.dropAfterRequest(containing(`{${dict.name}}:d`))
    const ps = []
    for (let i = 0; i < 300; i++) ps.push(i % 3 === 2 ? dict.sub(1 + (i % 10), 2n) : dict.add(1 + (i % 10), BigInt(i)))
    const got = await Promise.all(ps)
    await dropped
    // Locally computed: each op's value before, in issue order.
    const model = new Map()
    for (let i = 0; i < 300; i++) {
      const k = 1 + (i % 10)
      const old = model.get(k) ?? 0n
      assert.equal(got[i], old, `op ${i} answered its first answer`)
      model.set(k, BigInt.asUintN(64, i % 3 === 2 ? old - 2n : old + BigInt(i)))
    }
    for (const [k, v] of model) assert.equal(await value(String(k)), v, `key ${k} moved once per op`)
    assert.ok(evals() >= before + 3, `the dropped script was sent again (${evals() - before} sends)`)
  })

  for (const [label, options] of [
    ['maxRetriesPerRequest: 0', { maxRetriesPerRequest: 0 }],
    ['maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false', { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false }],
  ]) {
    test(`${label}: the ops of a batch applied whose reply was lost reject with ERR_ATOMIC_DICT_CONNECTION_LOST; retry(err) gives the first answers, applies nothing again`, { timeout: 20_000 }, async () => {
      const { proxy, dict, evals, value } = await setup(options)
      assert.equal(await dict.add(3n, 10n), 0n)
      const before = evals()
      const dropped = proxy.dropAfterRequest(containing(`{${dict.name}}:d`))
      const settled = await Promise.allSettled([dict.add(3n, 1n), dict.cas(3n, 11n, 50n), dict.swap(4n, 9n), dict.get(3n), dict.has(4n)])
      await dropped
      for (const s of settled) {
        assert.equal(s.status, 'rejected')
        assert.equal(s.reason.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
        assert.equal(s.reason.cause.constructor.name, 'MaxRetriesPerRequestError')
      }
      assert.equal(evals(), before + 1, 'not re-sent by ioredis')
      assert.equal(await value('3'), 50n, 'the server applied the batch')
      assert.equal(await value('4'), 9n)
      // Retried out of order, and twice: the first answers each time.
      assert.equal(await dict.retry(settled[2].reason), 0n)
      assert.equal(await dict.retry(settled[0].reason), 10n)
      assert.equal(await dict.retry(settled[1].reason), 11n)
      assert.equal(await dict.retry(settled[0].reason), 10n)
      assert.equal(await value('3'), 50n, 'applied once')
      assert.equal(await value('4'), 9n)
      // Reads: read again, now.
      assert.equal(await dict.retry(settled[3].reason), 50n)
      assert.equal(await dict.retry(settled[4].reason), true)
    })
  }

  test('proxy refusing reconnects: the op rejects once ioredis gives up (maxRetriesPerRequest: 1); once allowed again, retry(err) gives the first answer', { timeout: 20_000 }, async () => {
    const { proxy, dict, client, value } = await setup({ maxRetriesPerRequest: 1 })
    assert.equal(await dict.add(1n, 40n), 0n)
    const dropped = proxy.dropAfterRequest((cmd) => {
      if (!cmd.has(`{${dict.name}}:d`)) return false
      proxy.refuse(true)
      return true
    })
    const err = await dict.add(1n, 2n).catch((e) => e)
    await dropped
    assert.equal(err.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
    assert.equal(err.cause.constructor.name, 'MaxRetriesPerRequestError')
    assert.ok(proxy.stats.refused >= 1)
    // A retry while the server is still unreachable fails the same way, and stays retryable.
    const again = await dict.retry(err).catch((e) => e)
    assert.equal(again.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
    proxy.refuse(false)
    await until(() => client.status === 'ready', 5000, 'ioredis to reconnect')
    assert.equal(await dict.retry(err), 40n)
    assert.equal(await value('1'), 42n)
    // The failed retry's error settles the same operation: its first answer again, nothing applied again.
    assert.equal(await dict.retry(again), 40n)
    assert.equal(await value('1'), 42n)
  })

  test('an op that never reached the server (connection down): rejects with ERR_ATOMIC_DICT_CONNECTION_LOST, retry(err) applies it once', { timeout: 20_000 }, async () => {
    const { proxy, dict, client, evals, value } = await setup({ maxRetriesPerRequest: 0 })
    assert.equal(await dict.add(2n, 1n), 0n)
    proxy.refuse(true)
    proxy.cutAll()
    await until(() => client.status !== 'ready', 5000, 'ioredis to see the connection closed')
    const before = evals()
    const settled = await Promise.allSettled([dict.add(2n, 10n), dict.xor(2n, 0xffn), dict.load(2n)])
    for (const s of settled) assert.equal(s.reason?.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
    assert.equal(evals(), before, 'nothing reached the server')
    assert.equal(await value('2'), 1n)
    proxy.refuse(false)
    await until(() => client.status === 'ready', 5000, 'ioredis to reconnect')
    assert.equal(await dict.retry(settled[1].reason), 11n, 'the batch applied now, in its order: add then xor')
    assert.equal(await dict.retry(settled[0].reason), 1n)
    assert.equal(await value('2'), 11n ^ 0xffn)
    assert.equal(await dict.retry(settled[2].reason), 11n ^ 0xffn)
    assert.equal(evals(), before + 1, 'one send for the batch, however many retries')
  })

  test('retry() refuses what is not a lost operation of this table: ERR_INVALID_ARG_VALUE', async () => {
    const { proxy, dict, name, client } = await setup({ maxRetriesPerRequest: 0 })
    const other = new RedisDict(client, `${name}-other`, { capacity: 10 })
    const dropped = proxy.dropAfterRequest(containing(`{${name}}:d`))
    const err = await dict.add(1n).catch((e) => e)
    await dropped
    assert.equal(err.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
    for (const foreign of [new Error('x'), Object.assign(new Error('x'), { code: 'ERR_ATOMIC_DICT_CONNECTION_LOST' }), null, undefined, 42, {}]) {
      await assert.rejects(dict.retry(foreign), { code: 'ERR_INVALID_ARG_VALUE' })
    }
    await assert.rejects(other.retry(err), { code: 'ERR_INVALID_ARG_VALUE' }, 'another table\'s')
    const full = new RedisDict(client, `${name}-full`, { capacity: 1 })
    await full.add(1n)
    const fullErr = await full.add(2n).catch((e) => e)
    assert.equal(fullErr.code, 'ERR_ATOMIC_DICT_FULL')
    await assert.rejects(full.retry(fullErr), { code: 'ERR_INVALID_ARG_VALUE' }, 'an error that is not a lost connection')
    assert.equal(await dict.retry(err), 0n)
  })

  test('the session\'s answers hash keeps only what may still be asked for', { timeout: 20_000 }, async () => {
    const { proxy, dict, name } = await setup({ maxRetriesPerRequest: 0 })
    const dropped = proxy.dropAfterRequest(containing(`{${name}}:d`))
    const err = await dict.add(1n).catch((e) => e)
    await dropped
    for (let i = 0; i < 20; i++) await dict.add(2n)
    const [key] = await direct.keys(`{${name}}:o:*`)
    assert.ok(key !== undefined)
    const pinned = await direct.hkeys(key)
    assert.ok(pinned.length <= 3, `few entries kept: ${pinned}`)
    assert.ok(await direct.pttl(key) > 0, 'and they expire')
    assert.equal(await dict.retry(err), 0n)
    for (let i = 0; i < 5; i++) await dict.add(2n)
    assert.ok((await direct.hlen(key)) <= 2, `after the retry: ${await direct.hkeys(key)}`)
  })
  test('an ioredis client that would drop unanswered commands without settling them is refused up front', () => {
    const lazy = { lazyConnect: true, host: '127.0.0.1', port: server.port }
    const bad = new Redis({ ...lazy, autoResendUnfulfilledCommands: false })
    const badCluster = new Redis.Cluster([{ host: '127.0.0.1', port: server.port }], { lazyConnect: true, redisOptions: { autoResendUnfulfilledCommands: false } })
    try {
      for (const client of [bad, badCluster]) {
        assert.throws(() => new RedisDict(client, 'refused', { capacity: 1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /autoResendUnfulfilledCommands/ })
      }
      // With maxRetriesPerRequest: 0 they are rejected at the disconnect instead (tested above): accepted.
      const ok = new Redis({ ...lazy, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 })
      assert.ok(new RedisDict(ok, 'accepted', { capacity: 1 }))
      ok.disconnect()
    } finally {
      bad.disconnect()
      badCluster.disconnect()
    }
  })
})
