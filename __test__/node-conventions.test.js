'use strict'
// The API behaves like Node's own (issue 14): `using` (Symbol.dispose)
// closes tables, counters and stores and releases semaphore permits;
// Semaphore#acquire takes { timeout, signal } and run(fn) always releases;
// util.inspect prints a one-line summary; add/sub deltas default to 1;
// Counters is Map-like; JSON.stringify takes dicts and counters; a closed
// table throws ERR_ATOMIC_DICT_CLOSED on every path, cached keys included.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { AtomicDict, AtomicSet, counters, Latch, Semaphore } = require('..')
const { MetricsStore } = require('../metrics')

const DISPOSE = Symbol.dispose ?? Symbol.for('nodejs.dispose')
const closed = { code: 'ERR_ATOMIC_DICT_CLOSED' }

describe('Symbol.dispose', () => {
  test('is Node\'s symbol, and closes tables, counters and stores', () => {
    assert.equal(DISPOSE, Symbol.for('nodejs.dispose'))
    const d = new AtomicDict(10)
    const s = new AtomicSet(10)
    const c = counters(['a'])
    const m = new MetricsStore({ series: 10 })
    for (const o of [d, s, c, m]) o[DISPOSE]()
    assert.equal(d.closed, true)
    assert.equal(s.closed, true)
    assert.throws(() => d.add(1), closed)
    assert.throws(() => s.add(1), closed)
    assert.throws(() => c.add('a'), closed)
    assert.throws(() => new m.Counter({ name: 'x', help: 'x' }), closed)
    // A second dispose (or close) does nothing.
    for (const o of [d, s, c, m]) o[DISPOSE]()
  })
})

describe('close(): every path throws ERR_ATOMIC_DICT_CLOSED, cached keys included', () => {
  test('one-part keys of every kind, bulk calls, iteration, slots', () => {
    const d = new AtomicDict(10, { strings: 1024 })
    d.add(5, 1n)
    d.add(2n ** 60n, 1n)
    d.add('name', 1n)
    d.add([7n], 1n)
    const slot = d.slot(5)
    const it = d.keys()
    it.next()
    assert.equal(d.closed, false)
    d.close()
    assert.equal(d.closed, true)
    for (const f of [
      () => d.add(5, 1n), // cached as a number
      () => d.load(5n), // cached as a bigint
      () => d.get(2n ** 60n),
      () => d.has('name'), // cached as a string
      () => d.add([7n]), // cached as an array
      () => d.add(6), // never seen
      () => d.getMany([5]),
      () => d.addMany([5], 1n),
      () => [...d],
      () => it.next(),
      () => slot.load(),
      () => slot.add(),
      () => slot.cas(0n, 1n),
      () => d.slot(5),
      () => d.size,
    ]) {
      assert.throws(f, closed, String(f))
    }
  })

  test('composite keys and sets; the object keeps no swapped prototype', () => {
    const d = new AtomicDict(10, { k64: 2, k32: 1 })
    const key = [1n, 2n, 3]
    d.add(key, 1n)
    const s = new AtomicSet(10)
    s.add(3)
    d.close()
    s.close()
    assert.throws(() => d.add(key, 1n), closed)
    assert.throws(() => s.add(3), closed)
    assert.throws(() => s.has(3), closed)
    assert.equal(Object.getPrototypeOf(d), AtomicDict.prototype)
  })

  test('bad input on a closed table is still refused for what it is', () => {
    const d = new AtomicDict(10)
    d.close()
    assert.throws(() => d.slot(5).load, closed)
    assert.throws(() => d.add(5, 'x'), { code: 'ERR_INVALID_ARG_TYPE' })
  })
})

describe('add/sub deltas default to 1', () => {
  test('on a 64-bit dict and its slots', () => {
    const d = new AtomicDict(10)
    assert.equal(d.add(1), 0n)
    assert.equal(d.add(1), 1n)
    assert.equal(d.sub(1), 2n)
    assert.equal(d.load(1), 1n)
    const s = d.slot(2)
    assert.equal(s.add(), 0n)
    assert.equal(s.add(), 1n)
    assert.equal(s.sub(), 2n)
    assert.equal(s.load(), 1n)
  })

  test('on a 32-bit signed dict: numbers, wrapping below 0', () => {
    const d = new AtomicDict(10, { valueBits: 32, signed: true })
    assert.equal(d.sub(1), 0)
    assert.equal(d.load(1), -1)
    assert.equal(d.slot(1).add(), -1)
    assert.equal(d.load(1), 0)
  })

  test('null is not a default: it is refused and changes nothing', () => {
    const d = new AtomicDict(10)
    assert.throws(() => d.add(1, null), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => d.slot(1).sub(null), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.equal(d.load(1), 0n)
  })
})

describe('Counters is Map-like', () => {
  test('keys, values, entries, has, size, forEach, iteration', () => {
    const c = counters(['requests', 'errors'])
    c.add('requests', 5n)
    assert.deepEqual(c.keys(), ['requests', 'errors'])
    assert.deepEqual(c.values(), [5n, 0n])
    assert.deepEqual([...c], [['requests', 5n], ['errors', 0n]])
    assert.deepEqual(new Map(c), new Map([['requests', 5n], ['errors', 0n]]))
    assert.equal(c.size, 2)
    assert.equal(c.has('errors'), true)
    assert.equal(c.has('other'), false)
    assert.equal(c.has(1), false)
    const seen = []
    const self = {}
    c.forEach(function (v, k, o) {
      seen.push([k, v, o === c, this === self])
    }, self)
    assert.deepEqual(seen, [['requests', 5n, true, true], ['errors', 0n, true, true]])
    assert.throws(() => c.forEach(5), { code: 'ERR_INVALID_ARG_TYPE' })
    // keys() is a copy: changing it changes nothing.
    c.keys().push('x')
    assert.deepEqual(c.keys(), ['requests', 'errors'])
  })
})

describe('JSON.stringify', () => {
  test('counters: 64-bit values as decimal strings, 32-bit as numbers', () => {
    const c = counters(['a', 'b'], { signed: true })
    c.add('a', 2n ** 62n)
    c.sub('b')
    assert.equal(JSON.stringify(c), `{"a":"${2n ** 62n}","b":"-1"}`)
    const c32 = counters(['a'], { valueBits: 32 })
    c32.add('a', 7)
    assert.equal(JSON.stringify({ c32 }), '{"c32":{"a":7}}')
  })

  test('dicts: [key, value] pairs; composite keys keep their parts', () => {
    const d = new AtomicDict(10)
    d.add(2n ** 64n - 1n, 3n)
    assert.equal(JSON.stringify(d), `[["${2n ** 64n - 1n}","3"]]`)
    const c = new AtomicDict(10, { k64: 2, k32: 1, valueBits: 32, signed: true, strings: 1024 })
    c.sub(['GET', 2n, 3], 2)
    const parsed = JSON.parse(JSON.stringify(c))
    assert.deepEqual(parsed, [[['GET', '2', 3], -2]])
    // The parts read back as a key of the same table.
    const [[k]] = parsed
    assert.equal(c.get([k[0], BigInt(k[1]), k[2]]), -2)
  })
})

describe('util.inspect', () => {
  test('dicts and sets: size, capacity, shape, string area, closed', () => {
    const d = new AtomicDict(1 << 20)
    for (let k = 1; k <= 4; k++) d.add(k)
    assert.equal(util.inspect(d), 'AtomicDict(size 4 / capacity 1048576, 1 x u64 -> u64)')
    const c = new AtomicDict(10, { k64: 2, k32: 1, valueBits: 32, signed: true })
    assert.equal(util.inspect(c), 'AtomicDict(size 0 / capacity 10, 2 x u64 + 1 x u32 -> i32)')
    const st = new AtomicDict(10, { strings: 1024 })
    st.add('abc')
    assert.match(util.inspect(st), /^AtomicDict\(size 1 \/ capacity 10, 1 x u64 -> u64, strings \d+ \/ 1024 bytes\)$/)
    const s = new AtomicSet(10, { k64: 0, k32: 1 })
    for (const k of [1, 2, 3]) s.add(k)
    assert.equal(util.inspect(s), 'AtomicSet(size 3 / capacity 10, 1 x u32)')
    d.close()
    s.close()
    assert.equal(util.inspect(d), 'AtomicDict(closed)')
    assert.equal(util.inspect(s), 'AtomicSet(closed)')
  })

  test('nested below the depth util.inspect goes to, as Node prints objects there', () => {
    const d = new AtomicDict(10)
    assert.equal(util.inspect({ a: { b: { c: d } } }), '{ a: { b: { c: [AtomicDict] } } }')
    assert.equal(util.inspect({ a: { b: { c: d } } }, { depth: 3 }), '{ a: { b: { c: AtomicDict(size 0 / capacity 10, 1 x u64 -> u64) } } }')
    assert.equal(util.inspect([counters(['a'])], { depth: -1 }), '[Array]')
  })

  test('slots, counters, latches, semaphores and permits', async () => {
    const d = new AtomicDict(10, { strings: 4096 })
    d.store(7, 5n)
    assert.equal(util.inspect(d.slot(7)), 'AtomicValue(key 7 = 5n)')
    assert.equal(util.inspect(d.slot('x')), "AtomicValue(key 'x' = 0n)")
    const c = counters(['requests', 'errors'])
    c.add('requests', 5n)
    assert.equal(util.inspect(c), "Counters(2) { 'requests' => 5n, 'errors' => 0n }")
    const latch = new Latch(d, 'start', 4)
    latch.arrive()
    assert.equal(util.inspect(latch), "Latch(key 'start', arrived 1 / parties 4)")
    const sem = new Semaphore(d, 'jobs', 3)
    const permit = await sem.acquire()
    assert.equal(util.inspect(sem), "Semaphore('jobs', held 1 / permits 3)")
    assert.equal(util.inspect(permit), 'Permit(held)')
    permit.release()
    assert.equal(util.inspect(permit), 'Permit(released)')
    const slot = d.slot(7)
    d.close()
    c.close()
    assert.equal(util.inspect(slot), 'AtomicValue(closed)')
    assert.equal(util.inspect(c), 'Counters(closed)')
    assert.equal(util.inspect(latch), "Latch(key 'start', table closed)")
    assert.equal(util.inspect(sem), "Semaphore('jobs', table closed)")
  })

  test('metrics: the store and its metrics', () => {
    const store = new MetricsStore({ series: 100 })
    const counter = new store.Counter({ name: 'http_requests_total', help: 'h', labelNames: ['method', 'code'] })
    const gauge = new store.Gauge({ name: 'in_flight', help: 'h' })
    assert.equal(util.inspect(counter), "Counter(name 'http_requests_total', type counter, labels method, code)")
    assert.equal(util.inspect(gauge), "Gauge(name 'in_flight', type gauge)")
    const { series } = store.stats()
    assert.equal(util.inspect(store), `MetricsStore(series ${series} / limit 100, metrics 2)`)
    store.close()
    assert.equal(util.inspect(store), 'MetricsStore(closed)')
  })

  test('colors reach the values', () => {
    const c = counters(['a'])
    assert.equal(util.inspect(c, { colors: true }), `Counters(1) { ${util.inspect('a', { colors: true })} => ${util.inspect(0n, { colors: true })} }`)
  })
})

describe('Semaphore permits', () => {
  const semaphore = (permits) => new Semaphore(new AtomicDict(64, { strings: 4096 }), 'jobs', permits)

  test('acquire() resolves to a permit; releasing it twice releases one permit', async () => {
    const sem = semaphore(2)
    const a = await sem.acquire()
    const b = await sem.acquire()
    assert.equal(sem.held, 2)
    assert.equal(a.release(), true)
    assert.equal(a.release(), false)
    a[DISPOSE]()
    assert.equal(sem.held, 1)
    assert.equal(a.released, true)
    b[DISPOSE]() // as `using b = await sem.acquire()` at scope end
    assert.equal(sem.held, 0)
    assert.equal(sem.heldHere, 0)
    // The process-wide release() still pairs with a plain `await acquire()`.
    await sem.acquire()
    sem.release()
    assert.equal(sem.held, 0)
  })

  test('run(fn) holds a permit while fn runs and releases it on return, throw and rejection', async () => {
    const sem = semaphore(1)
    assert.equal(await sem.run(() => sem.held), 1)
    assert.equal(await sem.run(async () => 'done'), 'done')
    await assert.rejects(sem.run(() => { throw new Error('sync') }), /sync/)
    await assert.rejects(sem.run(async () => { throw new Error('async') }), /async/)
    assert.equal(sem.held, 0)
    await assert.rejects(sem.run('x'), { code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(sem.run(() => 1, { timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' })
    await assert.rejects(sem.acquire(5), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.equal(sem.held, 0)
    // At most one at a time.
    let inside = 0
    let most = 0
    await Promise.all(Array.from({ length: 8 }, () => sem.run(async () => {
      most = Math.max(most, ++inside)
      await new Promise((r) => setTimeout(r, 2))
      inside--
    })))
    assert.equal(most, 1)
    assert.equal(sem.held, 0)
  })

  test('timeout rejects with ERR_ATOMIC_DICT_TIMEOUT holding nothing; a release in time wins', async () => {
    const sem = semaphore(1)
    const held = await sem.acquire()
    const t0 = performance.now()
    await assert.rejects(sem.acquire({ timeout: 50 }), { code: 'ERR_ATOMIC_DICT_TIMEOUT' })
    assert.ok(performance.now() - t0 >= 49)
    await assert.rejects(sem.acquire({ timeout: 0 }), { code: 'ERR_ATOMIC_DICT_TIMEOUT' })
    assert.equal(sem.held, 1)
    const waiting = sem.acquire({ timeout: 5000 })
    setTimeout(() => held.release(), 20)
    const got = await waiting
    assert.equal(sem.held, 1)
    got.release()
    assert.equal(sem.held, 0)
  })

  test('abort rejects with ABORT_ERR holding nothing', async () => {
    const sem = semaphore(1)
    const held = await sem.acquire()
    const ac = new AbortController()
    const p = sem.acquire({ signal: ac.signal })
    ac.abort()
    await assert.rejects(p, { name: 'AbortError', code: 'ABORT_ERR' })
    await assert.rejects(sem.acquire({ signal: AbortSignal.abort() }), { code: 'ABORT_ERR' })
    held.release()
    assert.equal(sem.held, 0)
  })

  test('contention with aborts and timeouts racing releases: no permit leaks', async () => {
    const sem = semaphore(2)
    let inside = 0
    let most = 0
    let ran = 0
    let gaveUp = 0
    const worker = async (i) => {
      for (let n = 0; n < 40; n++) {
        const ac = new AbortController()
        // Abort at about the moment a release happens.
        const timer = setTimeout(() => ac.abort(), (i + n) % 3)
        try {
          const opts = n % 2 ? { signal: ac.signal } : { signal: ac.signal, timeout: (i * n) % 3 }
          await sem.run(async () => {
            most = Math.max(most, ++inside)
            await new Promise((r) => setImmediate(r))
            inside--
            ran++
          }, opts)
        } catch (err) {
          assert.ok(err.code === 'ABORT_ERR' || err.code === 'ERR_ATOMIC_DICT_TIMEOUT', err.stack)
          gaveUp++
        } finally {
          clearTimeout(timer)
        }
      }
    }
    await Promise.all(Array.from({ length: 12 }, (_, i) => worker(i)))
    assert.ok(ran > 0 && gaveUp > 0, `ran ${ran}, gave up ${gaveUp}`)
    assert.ok(most <= 2, `${most} holders at once`)
    assert.equal(sem.held, 0)
    assert.equal(sem.heldHere, 0)
    // Every permit is free: both can be taken at once, without waiting.
    const a = await sem.acquire({ timeout: 0 })
    const b = await sem.acquire({ timeout: 0 })
    a.release()
    b.release()
  })
})
