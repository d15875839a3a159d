'use strict'
// RedisCounters against a real redis-server: every method, names and values
// checked as the local Counters (same codes, nothing sent), snapshot as one
// HMGET and reset as one script, names inserted at ready() (ERR_ATOMIC_DICT_FULL
// when they do not fit, as the local constructor), 64/32-bit and signed
// values, and a seeded random run whose every result equals a local
// Counters'.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const Redis = require('ioredis')
const { Counters } = require('..')
const { RedisCounters, RedisDict } = require('atomic-dict/redis')
const { prng } = require('./fixtures/prng')
const { commandsRun, outcome } = require('./fixtures/redis-checks')
const { startRedis } = require('./fixtures/redis')

const M64 = 2n ** 64n

describe('RedisCounters', () => {
  let server
  let client
  let admin
  let n = 0
  const fresh = (names, opts) => new RedisCounters(client, `c${n++}`, names, opts)
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

  test('every method', async () => {
    const c = fresh(['requests', 'errors'])
    assert.equal(await c.add('requests'), 0n)
    assert.equal(await c.add('requests', 5n), 1n)
    assert.equal(await c.sub('errors'), 0n)
    assert.equal(await c.get('errors'), M64 - 1n)
    assert.equal(await c.set('errors', 2n), c)
    assert.equal(await c.swap('errors', 3), 2n)
    assert.equal(await c.cas('errors', 2n, 9n), 3n)
    assert.equal(await c.cas('errors', 3n, 9n), 3n)
    assert.deepEqual(await c.snapshot(), { requests: 6n, errors: 9n })
    assert.deepEqual(await c.entries(), [['requests', 6n], ['errors', 9n]])
    assert.deepEqual(await c.values(), [6n, 9n])
    assert.deepEqual(c.keys(), ['requests', 'errors'])
    assert.equal(c.has('errors'), true)
    assert.equal(c.has('nope'), false)
    assert.equal(c.has(5), false)
    assert.equal(c.size, 2)
    assert.deepEqual(c.names, ['requests', 'errors'])
    assert.ok(Object.isFrozen(c.names))
    assert.deepEqual(c.options, { capacity: 256, valueBits: 64, signed: false })
    assert.equal(c.name, `c${n - 1}`)
    assert.ok(c.table instanceof RedisDict)
    const seen = []
    for await (const pair of c) seen.push(pair)
    assert.deepEqual(seen, [['requests', 6n], ['errors', 9n]])
    const each = []
    await c.forEach(function (v, name, counters) {
      assert.equal(counters, c)
      each.push([this.tag, name, v])
    }, { tag: 't' })
    assert.deepEqual(each, [['t', 'requests', 6n], ['t', 'errors', 9n]])
    await assert.rejects(c.forEach('x'), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.deepEqual(await c.json(), { requests: '6', errors: '9' })
    assert.equal(JSON.stringify(c), JSON.stringify({ name: c.name, names: ['requests', 'errors'] }))
    assert.equal(util.inspect(c), `RedisCounters('${c.name}', 2 names: 'requests', 'errors')`)
    assert.equal(Object.prototype.toString.call(c), '[object RedisCounters]')
    assert.throws(() => structuredClone(c))
    assert.deepEqual(await c.reset(), { requests: 6n, errors: 9n })
    assert.deepEqual(await c.snapshot(), { requests: 0n, errors: 0n })

    const i32 = fresh(['a'], { valueBits: 32, signed: true })
    assert.equal(await i32.add('a', 0x7fff_ffff), 0)
    assert.equal(await i32.add('a'), 0x7fff_ffff)
    assert.equal(await i32.get('a'), -0x8000_0000)
    assert.deepEqual(await i32.json(), { a: -0x8000_0000 })
    assert.deepEqual(i32.options, { capacity: 256, valueBits: 32, signed: true })
  })

  test('snapshot, entries and values are one HMGET; reset is one script; names inserted once at ready()', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `n${i}`)
    const c = fresh(names, { capacity: 400 })
    await c.ready()
    assert.equal(await c.table.size(), 300)
    await Promise.all(names.map((name, i) => c.add(name, BigInt(i))))
    await admin.config('RESETSTAT')
    const snap = await c.snapshot()
    assert.deepEqual(await commandsRun(admin), { hmget: 1 })
    assert.equal(snap.n299, 299n)
    await admin.config('RESETSTAT')
    const before = await c.reset()
    assert.deepEqual(before, snap)
    assert.equal((await commandsRun(admin)).evalsha, 1) // one script (its HGET/HSET counted too)
    assert.ok(Object.values(await c.snapshot()).every((v) => v === 0n))
  })

  test('names that do not fit: ERR_ATOMIC_DICT_FULL, as the local constructor', async () => {
    assert.throws(() => new Counters(['a', 'b', 'c'], { capacity: 2 }), { code: 'ERR_ATOMIC_DICT_FULL' })
    const c = fresh(['a', 'b', 'c'], { capacity: 2 })
    await assert.rejects(c.ready(), { code: 'ERR_ATOMIC_DICT_FULL' })
    await assert.rejects(c.add('a'), { code: 'ERR_ATOMIC_DICT_FULL' })
    await assert.rejects(c.snapshot(), { code: 'ERR_ATOMIC_DICT_FULL' })
  })

  test('clients with the names in another order share the values; a RedisDict of the name reads them', async () => {
    const name = `c${n++}`
    const a = new RedisCounters(client, name, ['x', 'y', 'z'])
    const other = await connect()
    try {
      const b = new RedisCounters(other, name, ['z', 'x'])
      await a.add('x', 5n)
      await b.add('x', 2n)
      await b.sub('z')
      assert.deepEqual(await a.snapshot(), { x: 7n, y: 0n, z: M64 - 1n })
      assert.deepEqual(await b.snapshot(), { z: M64 - 1n, x: 7n })
      const d = new RedisDict(client, name, { capacity: 256 })
      assert.equal(await d.get('x'), 7n)
      await assert.rejects(new RedisCounters(client, name, ['x'], { valueBits: 32 }).ready(), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
      await assert.rejects(new RedisCounters(client, name, ['x'], { capacity: 10 }).get('x'), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
    } finally {
      other.disconnect()
    }
  })

  test('names, options and arguments are checked as locally; bad ones send nothing', async () => {
    for (const [names, opts] of [
      ['a', undefined],
      [[], undefined],
      [['a', 'a'], undefined],
      [['a', 5], undefined],
      [['\ud800'], undefined],
      [['a'], { capacity: 0 }],
      [['a'], { valueBits: 16 }],
      [['a'], { signed: 1 }],
      [['a'], { strings: 64 }],
      [['a'], 5],
    ]) {
      let want
      try {
        new Counters(names, opts).close()
        assert.fail(`new Counters(${util.inspect(names)}, ${util.inspect(opts)}) throws`)
      } catch (err) {
        want = err.code
      }
      assert.throws(() => new RedisCounters(client, 'x', names, opts), { code: want }, util.inspect([names, opts]))
    }

    const local = new Counters(['a', 'b'], { valueBits: 32 })
    const c = fresh(['a', 'b'], { valueBits: 32 })
    await c.ready()
    const cases = [
      ['add', ['c']],
      ['add', [5]],
      ['add', ['a', 2 ** 32]],
      ['add', ['a', 2n ** 32n]],
      ['sub', ['a', 1.5]],
      ['get', [Symbol('a')]],
      ['set', ['a', '1']],
      ['set', ['c', 'x']],
      ['swap', ['a', null]],
      ['cas', ['a', 0, -(2 ** 31) - 1]],
      ['cas', ['b', 'x', 0]],
    ]
    await admin.config('RESETSTAT')
    for (const [op, args] of cases) {
      const want = await outcome(() => local[op](...args))
      assert.ok('code' in want, `${op} is an error locally`)
      const got = await outcome(() => c[op](...args))
      assert.deepEqual(got, want, `${op}(${util.inspect(args)})`)
    }
    await assert.rejects(c.retry({}), { code: 'ERR_INVALID_ARG_VALUE' })
    assert.deepEqual(await commandsRun(admin), {})
    local.close()
  })

  test("a seeded random run gives the local Counters' results", async () => {
    const configs = [{}, { signed: true }, { valueBits: 32 }, { valueBits: 32, signed: true }]
    const names = ['requests', 'errors', 'bytes', 'route:/api', 'ü']
    const random = prng(Number(process.env.ATOMIC_DICT_SEED ?? 0xc0)) // another seed: ATOMIC_DICT_SEED=n
    const rand = (m) => Math.floor(random() * m)
    const pick = (xs) => xs[rand(xs.length)]
    const r64 = () => (BigInt(rand(2 ** 32)) << 32n) | BigInt(rand(2 ** 32))
    const values64 = () => pick([0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), M64 - 1n, 7, -7, r64(), r64()])
    const values32 = () => pick([0, 1, -1, 0x7fff_ffff, -0x8000_0000, 0xffff_ffff, rand(2 ** 32), 3])
    const tally = new Map()
    let ops = 0
    for (const opts of configs) {
      const local = new Counters(names, opts)
      const remote = fresh([...names].reverse(), opts) // another order: the same values
      const good = (opts.valueBits ?? 64) === 64 ? values64 : values32
      const value = () => (rand(100) === 0 ? pick([M64, 1.5, 'x', null]) : good())
      const name = () => (rand(100) === 0 ? pick(['nope', 5, undefined]) : pick(names))
      const call = () => {
        const op = pick(['add', 'add', 'add', 'sub', 'get', 'set', 'swap', 'cas', 'cas', 'reset', 'snapshot', 'entries', 'values', 'keys', 'has', 'size'])
        if (op === 'add' || op === 'sub') return [op, rand(3) === 0 ? [name()] : [name(), value()]]
        if (op === 'get' || op === 'has') return [op, [name()]]
        if (op === 'set' || op === 'swap') return [op, [name(), value()]]
        if (op === 'cas') return [op, [name(), rand(2) === 0 ? pick([0, 1, -1]) : value(), value()]]
        return [op, []]
      }
      // Results in the local order of names, `this` as a marker.
      const norm = (o, self) => {
        if (!('ok' in o)) return o
        if (o.ok === self) return { ok: 'this' }
        if (o.ok !== null && typeof o.ok === 'object' && !Array.isArray(o.ok)) return { ok: names.map((k) => [k, o.ok[k]]) }
        if (Array.isArray(o.ok) && o.ok.length === names.length && Array.isArray(o.ok[0])) return { ok: names.map((k) => o.ok.find(([m]) => m === k)) }
        return o
      }
      for (let step = 0; step < 240; step++) {
        // One to four calls in one tick: one batch in Redis, in order.
        const group = Array.from({ length: 1 + rand(4) }, call)
        const want = []
        for (const [op, args] of group) {
          const o = await outcome(() => (op === 'size' ? local.size : local[op](...args)))
          want.push(op === 'values' || op === 'keys' ? o : norm(o, local))
        }
        const got = await Promise.all(group.map(([op, args]) => outcome(() => (op === 'size' ? remote.size : remote[op](...args)))))
        for (let j = 0; j < group.length; j++, ops++) {
          const [op, args] = group[j]
          let g = got[j]
          // values() and keys() follow each one's order of names: the remote's is reversed.
          if ((op === 'values' || op === 'keys') && 'ok' in g) g = { ok: g.ok.slice().reverse() }
          else g = norm(g, remote)
          const w = want[j]
          tally.set(w.code ?? op, (tally.get(w.code ?? op) ?? 0) + 1)
          assert.deepEqual(g, w, `${JSON.stringify(opts)} step ${step}.${j}: ${op}(${args.map(String).join(', ')})`)
        }
      }
      assert.deepEqual(await remote.json(), local.toJSON())
      local.close()
    }
    assert.ok(ops >= 2000, `${ops} calls`)
    assert.ok(tally.get('ERR_INVALID_ARG_VALUE') > 0 && tally.get('ERR_INVALID_ARG_TYPE') > 0, JSON.stringify([...tally]))
    assert.ok(tally.get('add') > 300, JSON.stringify([...tally]))
  })
  test('waitAsync/notify on a counter across connections; an unknown name rejects before any round trip', async () => {
    const other = await connect()
    try {
      const name = `c${n++}`
      const mine = new RedisCounters(client, name, ['jobs', 'done'])
      const theirs = new RedisCounters(other, name, ['done', 'jobs'])
      assert.equal(await mine.waitAsync('jobs', 1n, { timeout: 50 }), 'not-equal')
      assert.equal(await mine.waitAsync('jobs', 0n, { timeout: 50 }), 'timed-out')
      const woken = mine.waitAsync('jobs', 0n, { timeout: 5000 })
      const seen = mine.waitAsync('done', 0n, { timeout: 300 })
      await new Promise((resolve) => setTimeout(resolve, 200))
      theirs.add('jobs')
      assert.equal(await theirs.notify('jobs'), 1)
      assert.equal(await woken, 'ok')
      assert.equal(await seen, 'timed-out') // another counter's notify does not wake it
      await assert.rejects(mine.waitAsync('nope', 0n), { code: 'ERR_INVALID_ARG_VALUE' })
      await assert.rejects(mine.notify(7), { code: 'ERR_INVALID_ARG_TYPE' })
    } finally {
      other.disconnect()
    }
  })
})
