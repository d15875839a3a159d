'use strict'
// RedisSet against a real redis-server: add/addMany/has/size and async
// iteration (strings given back with the strings option), composite keys,
// ERR_ATOMIC_DICT_FULL at exactly capacity (also under concurrent adds from
// several connections), a set and a dict of one name refusing each other,
// bad arguments rejecting with the local error and sending nothing, and a
// seeded random run whose every result equals a local AtomicSet's.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const Redis = require('ioredis')
const { AtomicSet } = require('..')
const { RedisSet, RedisDict } = require('atomic-dict/redis')
const { prng } = require('./fixtures/prng')
const { commandsRun, outcome } = require('./fixtures/redis-checks')
const { startRedis } = require('./fixtures/redis')

const M64 = 2n ** 64n

async function collect(iterable) {
  const out = []
  for await (const x of iterable) out.push(x)
  return out
}

/** Keys in a stable order, for comparing iterations (parts joined; strings marked). */
function sorted(keys) {
  const text = (k) => (Array.isArray(k) ? k.map(text).join(',') : typeof k === 'string' ? `s:${k}` : `${typeof k}:${k}`)
  return keys.map(text).sort()
}

describe('RedisSet', () => {
  let server
  let client
  let admin
  let n = 0
  const fresh = (opts) => new RedisSet(client, `s${n++}`, opts)
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

  test('add, addMany, has, size, iteration', async () => {
    const s = fresh({ capacity: 10 })
    assert.equal(await s.add(1n), true)
    assert.equal(await s.add(1), false)
    assert.equal(await s.add(M64 - 1n), true)
    assert.deepEqual(await s.addMany([2n, 1n, 2n, 3]), [true, false, false, true])
    assert.deepEqual(await s.addMany([]), [])
    assert.equal(await s.has(2n), true)
    assert.equal(await s.has(9n), false)
    assert.equal(await s.size(), 4)
    assert.equal(s.capacity, 10)
    assert.deepEqual(s.options, { capacity: 10, k64: 1, k32: 0, strings: 0 })
    assert.equal(s.name, `s${n - 1}`)
    assert.deepEqual(sorted(await collect(s)), sorted([1n, 2n, 3n, M64 - 1n]))
    assert.deepEqual(sorted(await collect(s.values())), sorted([1n, 2n, 3n, M64 - 1n]))
    assert.deepEqual((await collect(s.entries())).map(([a, b]) => a === b), [true, true, true, true])
    const seen = []
    await s.forEach(function (k, k2, set) {
      assert.equal(k, k2)
      assert.equal(set, s)
      seen.push(this.tag)
    }, { tag: 'x' })
    assert.deepEqual(seen, ['x', 'x', 'x', 'x'])
    await assert.rejects(s.forEach(null), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.equal(util.inspect(s), `RedisSet('${s.name}', capacity 10, 1 x u64)`)
    assert.equal(Object.prototype.toString.call(s), '[object RedisSet]')
    assert.throws(() => structuredClone(s))
  })

  test('composite and string keys; iteration gives strings back with the strings option', async () => {
    const plain = fresh({ capacity: 10, k64: 1, k32: 1 })
    assert.equal(await plain.add(['job', 7]), true)
    assert.equal(await plain.add(['job', 7]), false)
    assert.equal(await plain.has(['job', 7]), true)
    assert.deepEqual(await collect(plain), [[require('..').stringKey('job'), 7]]) // no strings kept: the hash part

    const s = fresh({ capacity: 10, k64: 2, k32: 1, strings: 64 })
    assert.deepEqual(await s.addMany([['a', 1n, 2], [1n, 'b', 3], ['a', 1n, 2]]), [true, true, false])
    assert.equal(await s.add(['c', 'a', 0xffff_ffff]), true)
    assert.deepEqual(sorted(await collect(s)), sorted([['a', 1n, 2], [1n, 'b', 3], ['c', 'a', 0xffff_ffff]]))

    const one = fresh({ capacity: 10, strings: 64 })
    await one.add('route:/api')
    await one.addMany(['x', 5n, 'ü'])
    assert.deepEqual(sorted(await collect(one.keys())), sorted(['route:/api', 'x', 5n, 'ü']))

    const u32 = fresh({ capacity: 10, k64: 0, k32: 1 })
    assert.equal(await u32.add(0xffff_ffff), true)
    assert.deepEqual(await collect(u32), [0xffff_ffff])
    assert.equal(util.inspect(u32), `RedisSet('${u32.name}', capacity 10, 1 x u32)`)
  })

  test('ERR_ATOMIC_DICT_FULL at exactly capacity, as the local AtomicSet', async () => {
    const local = new AtomicSet(3)
    const remote = fresh({ capacity: 3 })
    for (const [op, args] of [
      ['add', [1n]],
      ['addMany', [[2n, 1n, 2n, 3n, 4n, 5n]]],
      ['add', [4n]],
      ['add', [3n]],
      ['addMany', [[1n, 2n, 3n]]],
      ['addMany', [[9n]]],
      ['has', [4n]],
    ]) {
      const want = await outcome(() => local[op](...args))
      const got = await outcome(() => remote[op](...args))
      assert.deepEqual(got, want, op)
    }
    await assert.rejects(remote.add(8n), (err) => err.code === 'ERR_ATOMIC_DICT_FULL' && err.capacity === 3 && err.name === 'AtomicDictFullError')
    assert.equal(await remote.size(), 3)
  })

  test('concurrent adds from several connections stop exactly at capacity; each key inserted once', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, connect))
    try {
      const name = `s${n++}`
      const capacity = 60
      const sets = clients.map((c) => new RedisSet(c, name, { capacity }))
      const random = prng(11)
      const calls = []
      for (const s of sets) {
        for (let j = 0; j < 60; j++) {
          const key = BigInt(1 + Math.floor(random() * 150))
          if (j % 3 === 0) calls.push(outcome(() => s.addMany([key, BigInt(1 + Math.floor(random() * 150))])).then((o) => ({ o, many: true })))
          else calls.push(outcome(() => s.add(key)).then((o) => ({ o, many: false })))
        }
      }
      const results = await Promise.all(calls)
      let inserted = 0
      for (const { o, many } of results) {
        if ('ok' in o) inserted += many ? o.ok.filter(Boolean).length : o.ok ? 1 : 0
        else {
          assert.equal(o.code, 'ERR_ATOMIC_DICT_FULL')
          if (many) inserted += o.inserted.filter(Boolean).length
        }
      }
      assert.ok(results.some(({ o }) => o.code === 'ERR_ATOMIC_DICT_FULL'))
      assert.equal(inserted, capacity) // every key told "you inserted it" exactly once
      assert.equal(await sets[0].size(), capacity)
      assert.equal((await collect(sets[3])).length, capacity)
    } finally {
      for (const c of clients) c.disconnect()
    }
  })

  test('a set and a dict of the same name refuse each other', async () => {
    const s = new RedisSet(client, 'both', { capacity: 5 })
    await s.add(1n)
    const d = new RedisDict(client, 'both', { capacity: 5 })
    await assert.rejects(d.add(1n), (err) => err.code === 'ERR_ATOMIC_DICT_WRONG_KIND' && /as a set, not a dict/.test(err.message))
    await assert.rejects(d.get(1n), { code: 'ERR_ATOMIC_DICT_WRONG_KIND' })
    const d2 = new RedisDict(client, 'both2', { capacity: 5 })
    await d2.add(1n, 5n)
    const s2 = new RedisSet(client, 'both2', { capacity: 5 })
    await assert.rejects(s2.add(2n), (err) => err.code === 'ERR_ATOMIC_DICT_WRONG_KIND' && /as a dict, not a set/.test(err.message))
    await assert.rejects(s2.has(1n), { code: 'ERR_ATOMIC_DICT_WRONG_KIND' })
    await assert.rejects(new RedisSet(client, 'both', { capacity: 6 }).ready(), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
    await assert.rejects(new RedisSet(client, 'both', { capacity: 5, k32: 1 }).ready(), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
    assert.equal(await new RedisSet(client, 'both', { capacity: 5 }).has(1n), true)
    assert.equal(await d2.load(1n), 5n)
  })

  test('options and arguments are checked as locally; bad ones send nothing', async () => {
    assert.throws(() => new RedisSet(client, 'x', { capacity: 0 }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => new RedisSet(client, 'x', {}), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => new RedisSet(client, 'x', { capacity: 1, valueBits: 32 }), { code: 'ERR_INVALID_ARG_VALUE' })
    assert.throws(() => new RedisSet(client, 'x', { capacity: 1, strings: 3 }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => new RedisSet(client, 'a{b}', { capacity: 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
    assert.throws(() => new RedisSet({}, 'x', { capacity: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })

    const s = fresh({ capacity: 10, k64: 1, k32: 1 })
    await s.ready()
    const local = new AtomicSet(10, { k64: 1, k32: 1 })
    const cases = [
      ['add', [[1n, 0]]],
      ['add', [[0n, 1]]],
      ['add', [[1n, 2 ** 32]]],
      ['add', [1n]],
      ['add', [[1n, 1, 1]]],
      ['add', [['\ud800', 1]]],
      ['add', [[1n, 'x']]],
      ['has', [[1n, -1]]],
      ['has', [[1.5, 1]]],
      ['addMany', [new Set()]],
      ['addMany', [[[1n, 1], [1n, 0]]]],
      ['addMany', [[[1n, 1], 5n]]],
    ]
    await admin.config('RESETSTAT')
    for (const [op, args] of cases) {
      const want = await outcome(() => local[op](...args))
      assert.ok('code' in want, `${op} is an error locally`)
      const got = await outcome(() => s[op](...args))
      assert.deepEqual(got, want, `${op}(${util.inspect(args)})`)
    }
    await assert.rejects(s.retry(new Error('x')), { code: 'ERR_INVALID_ARG_VALUE' })
    assert.deepEqual(await commandsRun(admin), {})
    assert.equal(await s.size(), 0)
  })

  test("a seeded random run gives the local AtomicSet's results", async () => {
    const configs = [{ capacity: 30 }, { capacity: 30, k64: 0, k32: 1 }, { capacity: 30, k64: 1, k32: 1, strings: 4096 }, { capacity: 30, k64: 2, strings: 4096 }]
    const random = prng(Number(process.env.ATOMIC_DICT_SEED ?? 0x5e7)) // another seed: ATOMIC_DICT_SEED=n
    const rand = (m) => Math.floor(random() * m)
    const pick = (xs) => xs[rand(xs.length)]
    const tally = new Map()
    let ops = 0
    for (const opts of configs) {
      const { capacity, ...shape } = opts
      const local = new AtomicSet(capacity, shape)
      const remote = fresh(opts)
      const k64 = shape.k64 ?? 1
      const k = k64 + (shape.k32 ?? 0)
      const part = (i) => (i < k64 ? pick([1n, 2n, 3n, 4n, 5n, 6n, 7n, M64 - 1n, 'a', 'b', 'c']) : pick([1, 2, 3, 4, 0xffff_ffff]))
      const key = () => {
        if (rand(100) === 0) return pick([0n, -1, 1.5, null, [1n]]) // a bad key
        const parts = Array.from({ length: k }, (_, i) => part(i))
        return k === 1 && rand(2) === 0 ? parts[0] : parts
      }
      const call = () => {
        const op = pick(['add', 'add', 'add', 'addMany', 'addMany', 'has', 'has', 'size'])
        if (op === 'addMany') return [op, [Array.from({ length: rand(5) }, key)]]
        if (op === 'size') return [op, []]
        return [op, [key()]]
      }
      for (let step = 0; step < 300; step++) {
        // One to four calls in one tick: one batch in Redis, in order.
        const group = Array.from({ length: 1 + rand(4) }, call)
        const want = []
        for (const [op, args] of group) want.push(await outcome(() => (op === 'size' ? local.size : local[op](...args))))
        const got = await Promise.all(group.map(([op, args]) => outcome(() => remote[op](...args))))
        for (let j = 0; j < group.length; j++, ops++) {
          const [op, args] = group[j]
          tally.set(want[j].code ?? op, (tally.get(want[j].code ?? op) ?? 0) + 1)
          assert.deepEqual(got[j], want[j], `${JSON.stringify(opts)} step ${step}.${j}: ${op}(${util.inspect(args)})`)
        }
      }
      assert.equal(await remote.size(), local.size)
      assert.deepEqual(sorted(await collect(remote)), sorted([...local]))
    }
    assert.ok(ops >= 2000, `${ops} calls`)
    assert.ok(tally.get('ERR_ATOMIC_DICT_FULL') > 20, JSON.stringify([...tally]))
    assert.ok(tally.get('add') > 500, JSON.stringify([...tally]))
  })
})
