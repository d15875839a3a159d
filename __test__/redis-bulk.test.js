'use strict'
// RedisDict's bulk calls (getMany, loadMany, addMany, storeMany) against a
// real redis-server: the local semantics (keys in order, a key given twice
// changed twice, ERR_ATOMIC_DICT_FULL before any value changed with done and
// inserted), exactness past 2^53, 32-bit and signed tables, composite and
// string keys, bad arguments rejecting with the local error and sending
// nothing, capacity exact under concurrent bulk inserts from several
// connections, and a seeded random run mixing bulk and single calls (some in
// one tick: one batch) whose every result equals a local AtomicDict's.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const Redis = require('ioredis')
const { AtomicDict } = require('..')
const { RedisDict, RedisSet, RedisCounters } = require('atomic-dict/redis')
const { prng } = require('./fixtures/prng')
const { commandsRun, outcome } = require('./fixtures/redis-checks')
const { startRedis, startCluster } = require('./fixtures/redis')

const M64 = 2n ** 64n

describe('RedisDict bulk calls', () => {
  let server
  let client
  let admin
  let n = 0
  const fresh = (opts) => new RedisDict(client, `b${n++}`, opts)
  const connect = async () => {
    const c = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
    await c.connect()
    return c
  }

  before(async () => {
    server = await startRedis()
    client = await connect()
    admin = await connect()
  })

  after(async () => {
    try {
      client?.disconnect()
      admin?.disconnect()
    } finally {
      await server?.stop()
    }
  })

  test('the local semantics: order, repeats, one delta or one per key, empty arrays', async () => {
    const d = fresh({ capacity: 10 })
    assert.deepEqual(await d.addMany([1n, 2n, 1n], [5n, 6n, 7n]), [0n, 0n, 5n])
    assert.deepEqual(await d.addMany([1n, 2n], 1), [12n, 6n])
    assert.deepEqual(await d.getMany([1n, 3n, 2n]), [13n, undefined, 7n])
    assert.deepEqual(await d.loadMany([1n, 3n, 2n]), [13n, 0n, 7n])
    assert.equal(await d.storeMany([3n, 4n, 3n], [1n, 2n, 3n]), undefined)
    assert.deepEqual(await d.loadMany([3n, 4n]), [3n, 2n])
    assert.equal(await d.storeMany([1n, 2n], M64 - 1n), undefined)
    assert.deepEqual(await d.getMany([1n, 2n]), [M64 - 1n, M64 - 1n])
    assert.deepEqual(await d.addMany([1n, 1n], [1n, 2n ** 53n + 1n]), [M64 - 1n, 0n]) // wraps; no doubles
    assert.equal(await d.load(1n), 2n ** 53n + 1n)
    assert.deepEqual(await d.addMany([], 1n), [])
    assert.deepEqual(await d.getMany([]), [])
    assert.deepEqual(await d.loadMany([]), [])
    assert.equal(await d.storeMany([], []), undefined)
    assert.equal(await d.size(), 4)
  })

  test('32-bit, signed, composite and string keys', async () => {
    const i32 = fresh({ capacity: 10, valueBits: 32, signed: true })
    assert.deepEqual(await i32.addMany([1n, 2n], [0x7fff_ffff, -1]), [0, 0])
    assert.deepEqual(await i32.addMany([1n, 2n], 1), [0x7fff_ffff, -1])
    assert.deepEqual(await i32.getMany([1n, 2n]), [-0x8000_0000, 0])
    const u32 = fresh({ capacity: 10, valueBits: 32 })
    await u32.storeMany([1n], [-1])
    assert.deepEqual(await u32.loadMany([1n]), [0xffff_ffff])
    const i64 = fresh({ capacity: 10, signed: true })
    assert.deepEqual(await i64.addMany([1n], -(2n ** 63n)), [0n])
    assert.deepEqual(await i64.addMany([1n], -1n), [-(2n ** 63n)])
    assert.deepEqual(await i64.getMany([1n]), [2n ** 63n - 1n])

    const c = fresh({ capacity: 10, k64: 2, k32: 1, strings: 64 })
    await c.addMany([[1n, 'job', 3], ['a', 2n, 4]], [5n, 6n])
    assert.deepEqual(await c.getMany([[1n, 'job', 3], ['a', 2n, 4], [1n, 2n, 3]]), [5n, 6n, undefined])
    assert.equal(await c.get([1n, 'job', 3]), 5n) // single and bulk calls agree on the fields
    const keys = []
    for await (const k of c.keys()) keys.push(k)
    assert.deepEqual(keys.map(String).sort(), ['1,job,3', 'a,2,4'])
  })

  test('ERR_ATOMIC_DICT_FULL: keys before the one that does not fit found or inserted, no value changed, done and inserted as locally', async () => {
    const local = new AtomicDict(3)
    const remote = fresh({ capacity: 3 })
    for (const [op, args] of [
      ['add', [1n, 5n]],
      ['addMany', [[2n, 1n, 3n, 4n, 5n], 7n]],
      ['addMany', [[1n, 2n, 3n], [1n, 2n, 3n]]],
      ['storeMany', [[3n, 9n], 4n]],
      ['addMany', [[9n], 1n]],
      ['getMany', [[1n, 2n, 3n, 4n]]],
    ]) {
      const want = await outcome(() => local[op](...args))
      const got = await outcome(() => remote[op](...args))
      assert.deepEqual(got, want, `${op}`)
    }
    assert.deepEqual(await remote.getMany([1n, 2n, 3n]), [6n, 2n, 3n])
    assert.equal(await remote.size(), 3)
  })

  test('bad keys and values reject with the local errors and send nothing', async () => {
    const opts = { capacity: 10, k64: 1, k32: 1 }
    const d = fresh(opts)
    await d.ready()
    const local = new AtomicDict(10, { k64: 1, k32: 1 })
    const sparse = []
    sparse[3] = [1n, 1]
    const cases = [
      ['getMany', [new Set([[1n, 1]])]],
      ['getMany', ['x']],
      ['getMany', [[[1n, 1], [0n, 1]]]],
      ['loadMany', [[[1n, 1], [1n, 2 ** 32]]]],
      ['loadMany', [[[1n, 1], 1n]]],
      ['getMany', [sparse]],
      ['addMany', [[[1n, 1]], [1n, 2n]]],
      ['addMany', [[[1n, 1]], M64]],
      ['addMany', [[[1n, 1], [1n, 2]], [1n, 1.5]]],
      ['addMany', [[[1n, 1], [1n, 2]], new BigUint64Array(2)]],
      ['addMany', [[[1n, 1], [1n, 2]]]],
      ['addMany', [[[1n, 1], [1n, -2]], 1n]],
      ['storeMany', [[[1n, 1], ['\ud800', 2]], 1n]],
      ['storeMany', [[[1n, 1]], ['1']]],
      ['storeMany', [{ length: 1, 0: [1n, 1] }, 1n]],
    ]
    await admin.config('RESETSTAT')
    for (const [op, args] of cases) {
      const want = await outcome(() => local[op](...args))
      assert.ok('code' in want, `${op} is an error locally`)
      const got = await outcome(() => d[op](...args))
      assert.deepEqual(got, want, `${op}`)
    }
    assert.deepEqual(await commandsRun(admin), {})
    assert.equal(await d.size(), 0)
  })

  test('a 200,000-key bulk is one script (no call stack overflow)', async () => {
    const d = fresh({ capacity: 200_000 })
    const keys = Array.from({ length: 200_000 }, (_, i) => BigInt(i + 1))
    await d.ready()
    await admin.config('RESETSTAT')
    const before = await d.addMany(keys, keys)
    assert.equal(before.length, keys.length)
    assert.ok(before.every((v) => v === 0n))
    assert.equal((await commandsRun(admin)).evalsha, 1) // (commandstats count the script's commands too)
    const after = await d.getMany(keys)
    assert.ok(after.every((v, i) => v === keys[i]))
    await assert.rejects(d.addMany([200_001n], 1n), { code: 'ERR_ATOMIC_DICT_FULL', done: 0 })
  })

  test('concurrent addMany from several connections stops exactly at capacity', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, connect))
    try {
      const name = `b${n++}`
      const capacity = 100
      const dicts = clients.map((c) => new RedisDict(c, name, { capacity }))
      const random = prng(7)
      const calls = []
      for (const d of dicts) {
        for (let j = 0; j < 25; j++) {
          const keys = Array.from({ length: 1 + Math.floor(random() * 8) }, () => BigInt(1 + Math.floor(random() * 300)))
          calls.push(outcome(() => d.addMany(keys, 1n)).then((o) => ({ o, keys })))
        }
      }
      const results = await Promise.all(calls)
      assert.ok(results.every(({ o }) => 'ok' in o || o.code === 'ERR_ATOMIC_DICT_FULL'))
      assert.ok(results.some(({ o }) => o.code === 'ERR_ATOMIC_DICT_FULL'))
      assert.equal(await dicts[0].size(), capacity)
      // Every add that succeeded counted once; a full one changed no value.
      const want = new Map()
      for (const { o, keys } of results) if ('ok' in o) for (const k of keys) want.set(k, (want.get(k) ?? 0n) + 1n)
      let got = 0
      for await (const [k, v] of dicts[1].entries()) {
        got++
        assert.equal(v, want.get(k) ?? 0n, `key ${k}`)
      }
      assert.equal(got, capacity)
    } finally {
      for (const c of clients) c.disconnect()
    }
  })

  test('bulk and single calls of one tick go as one batch, applied in order', async () => {
    const d = fresh({ capacity: 10 })
    await d.ready()
    await admin.config('RESETSTAT')
    const r = await Promise.all([d.add(1n, 2n), d.addMany([1n, 2n], 3n), d.store(2n, 10n), d.addMany([2n, 1n], [1n, 1n]), d.swap(1n, 0n)])
    assert.deepEqual(r, [0n, [2n, 0n], undefined, [10n, 5n], 6n])
    assert.equal((await commandsRun(admin)).evalsha, 1)
  })

  test('a bulk call whose reply is lost is settled exactly once by retry(err)', async () => {
    const c = await connect()
    try {
      const d = new RedisDict(c, `b${n++}`, { capacity: 10 })
      await d.addMany([1n], 1n)
      const applied = []
      for (let round = 0; round < 6; round++) {
        if (round % 2 === 1) await d.storeMany([4n], 99n) // round's value differs from the last round's
        const pending = d.addMany([1n, 2n, 3n], [1n, 2n, 3n])
        const set = d.storeMany([4n, 5n], [BigInt(round), 7n])
        // The batch is written in a microtask; the connection drops before its reply.
        await null
        await null
        c.stream.destroy()
        const errors = await Promise.all([pending, set].map((p) => p.then(() => null, (err) => err)))
        for (const err of errors) assert.equal(err?.code, 'ERR_ATOMIC_DICT_CONNECTION_LOST')
        await new Promise((resolve) => (c.status === 'ready' ? resolve() : c.once('ready', resolve)))
        // Whether the server had applied the batch (then retry answers from the session's hash):
        applied.push((await admin.hget(`{${d.name}}:d`, '4')) === BigInt(round).toString(16).padStart(16, '0'))
        const before = await d.retry(errors[0])
        assert.deepEqual(before, [BigInt(1 + round), BigInt(2 * round), BigInt(3 * round)])
        assert.deepEqual(await d.retry(errors[0]), before) // the same answer again, nothing applied twice
        assert.equal(await d.retry(errors[1]), undefined)
        assert.deepEqual(await d.loadMany([1n, 2n, 3n, 4n, 5n]), [BigInt(2 + round), BigInt(2 * (round + 1)), BigInt(3 * (round + 1)), BigInt(round), 7n])
      }
      assert.ok(applied.includes(true)) // the lost reply of an applied batch was exercised
    } finally {
      c.disconnect()
    }
  })

  test("a seeded random run of bulk and single calls gives the local AtomicDict's results", async () => {
    const configs = [
      { capacity: 20 },
      { capacity: 20, signed: true },
      { capacity: 20, valueBits: 32 },
      { capacity: 20, valueBits: 32, signed: true, k64: 1, k32: 1 },
      { capacity: 20, k64: 2, strings: 4096 },
    ]
    const random = prng(Number(process.env.ATOMIC_DICT_SEED ?? 0x5eed)) // another seed: ATOMIC_DICT_SEED=n
    const rand = (m) => Math.floor(random() * m)
    const pick = (xs) => xs[rand(xs.length)]
    const r64 = () => (BigInt(rand(2 ** 32)) << 32n) | BigInt(rand(2 ** 32))
    const values64 = () => pick([0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), M64 - 1n, 0xffff_ffffn, 7, -7, r64(), r64(), r64()])
    const values32 = () => pick([0, 1, -1, 0x7fff_ffff, -0x8000_0000, 0xffff_ffff, rand(2 ** 32), rand(2 ** 32), 3])
    const tally = new Map()
    let ops = 0
    for (const opts of configs) {
      const { capacity, ...shape } = opts
      const local = new AtomicDict(capacity, shape)
      const remote = fresh(opts)
      const k64 = shape.k64 ?? 1
      const k = k64 + (shape.k32 ?? 0)
      const part = (i) => (i < k64 ? pick([1n, 2n, 3n, 4n, 5n, 6n, M64 - 1n, 'a', 'b']) : pick([1, 2, 3, 0xffff_ffff]))
      const key = () => {
        if (rand(150) === 0) return 0n // a bad key
        const parts = Array.from({ length: k }, (_, i) => part(i))
        return k === 1 && rand(2) === 0 ? parts[0] : parts
      }
      const good = (opts.valueBits ?? 64) === 64 ? values64 : values32
      const value = () => (rand(150) === 0 ? pick([M64, 1.5, 'x', 2 ** 32 * 2 ** 32]) : good())
      const keys = () => Array.from({ length: rand(6) }, key)
      const call = () => {
        const op = pick(['getMany', 'loadMany', 'addMany', 'addMany', 'addMany', 'storeMany', 'storeMany', 'add', 'store', 'get', 'size'])
        const ks = keys()
        if (op === 'getMany' || op === 'loadMany') return [op, [ks]]
        if (op === 'addMany' || op === 'storeMany') return [op, [ks, rand(2) === 0 ? value() : ks.map(value)]]
        if (op === 'add' || op === 'store') return [op, [key(), value()]]
        if (op === 'get') return [op, [key()]]
        return [op, []]
      }
      for (let step = 0; step < 180; step++) {
        // One to four calls issued in one tick: one batch in Redis, in order.
        const group = Array.from({ length: 1 + rand(4) }, call)
        const want = []
        for (const [op, args] of group) want.push(await outcome(() => (op === 'size' ? local.size : local[op](...args))))
        const got = await Promise.all(group.map(([op, args]) => outcome(() => remote[op](...args))))
        for (let j = 0; j < group.length; j++, ops++) {
          const [op, args] = group[j]
          const w = want[j]
          tally.set(w.code ?? op, (tally.get(w.code ?? op) ?? 0) + 1)
          if (op === 'store') delete w.ok
          if (op === 'store' && 'ok' in got[j]) delete got[j].ok
          assert.deepEqual(got[j], w, `${JSON.stringify(opts)} step ${step}.${j}: ${op}(${args.map((a) => (Array.isArray(a) ? `[${a.map(String)}]` : String(a))).join(', ')})`)
        }
      }
      assert.equal(await remote.size(), local.size)
      const all = [...local.keys()]
      assert.deepEqual(await remote.getMany(all), local.getMany(all))
    }
    assert.ok(ops >= 2000, `${ops} calls`)
    assert.ok(tally.get('ERR_ATOMIC_DICT_FULL') > 20, JSON.stringify([...tally]))
    assert.ok(tally.get('ERR_OUT_OF_RANGE') > 0, JSON.stringify([...tally]))
    assert.ok(tally.get('addMany') > 300, JSON.stringify([...tally]))
  })
})

describe('on a 3-master Redis Cluster (ioredis Redis.Cluster)', () => {
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

  test('bulk calls, RedisSet and RedisCounters: each table in its slot', async () => {
    for (const name of ['ca', 'cb', 'cc']) {
      const d = new RedisDict(client, name, { capacity: 20_000, strings: 64 })
      const keys = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? BigInt(i + 1) : `k${i}`))
      assert.ok((await d.addMany(keys, 2n)).every((v) => v === 0n))
      assert.deepEqual((await d.addMany([keys[0], keys[9_999]], [1n, -2n])), [2n, 2n])
      const got = await d.loadMany(keys)
      assert.equal(got[0], 3n)
      assert.equal(got[9_999], 0n)
      assert.equal(got[5_000], 2n)
      await d.storeMany(keys.slice(0, 10), 7n)
      assert.deepEqual(await d.getMany([keys[9], keys[10], 'absent']), [7n, 2n, undefined])

      const s = new RedisSet(client, `${name}-set`, { capacity: 3, strings: 64 })
      assert.deepEqual(await s.addMany(['x', 1n, 'x']), [true, true, false])
      await assert.rejects(s.addMany([2n, 3n]), { code: 'ERR_ATOMIC_DICT_FULL', done: 1, inserted: [true] })
      const members = []
      for await (const k of s) members.push(k)
      assert.deepEqual(members.map(String).sort(), ['1', '2', 'x'])

      const c = new RedisCounters(client, `${name}-counters`, ['a', 'b'])
      await Promise.all([c.add('a', 5n), c.sub('b')])
      assert.deepEqual(await c.snapshot(), { a: 5n, b: M64 - 1n })
      assert.deepEqual(await c.reset(), { a: 5n, b: M64 - 1n })
      assert.deepEqual(await c.values(), [0n, 0n])
    }
  })
})
