'use strict'
// wait / waitAsync / notify across processes (futexes on the shared
// mapping): real child processes block, get woken, time out, get killed
// and exit while waits are pending.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { AtomicDict, counters, fork } = require('..')
const { poolStats } = require('../lib/wait')

const CHILD = path.join(__dirname, 'fixtures', 'wait-child.js')

/** Forks the wait child with `config`, sharing `d`; collects its messages. */
function child(d, config, env = {}) {
  const c = fork(CHILD, [JSON.stringify(config)], {
    share: { d },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  })
  const messages = []
  const waiting = []
  let stderr = ''
  c.stderr.on('data', (s) => (stderr += s))
  c.on('message', (m) => {
    messages.push(m)
    for (const w of waiting.splice(0)) w()
  })
  const exited = new Promise((resolve) => c.on('exit', (code, signal) => resolve({ code, signal, stderr })))
  /** The next message satisfying `pred` (messages already received count). */
  c.next = (pred = () => true, timeoutMs = 20000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message from the child in ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs)
      const look = () => {
        const i = messages.findIndex(pred)
        if (i >= 0) {
          clearTimeout(timer)
          resolve(messages.splice(i, 1)[0])
        } else waiting.push(look)
      }
      look()
      exited.then(() => setTimeout(look, 100))
    })
  c.exited = exited
  return c
}

/** Calls notify until it has woken `n` waiters in all (they may not be asleep yet). */
async function notifyUntil(notify, n, timeoutMs = 20000) {
  let woken = 0
  const end = Date.now() + timeoutMs
  while (woken < n) {
    if (Date.now() > end) throw new Error(`woke ${woken} of ${n} waiters`)
    woken += notify()
    if (woken < n) await new Promise((resolve) => setTimeout(resolve, 2))
  }
  return woken
}

for (const valueBits of [64, 32]) {
  const v = (x) => (valueBits === 64 ? BigInt(x) : Number(x))

  describe(`${valueBits}-bit values`, () => {
    test('a waiter blocked in another process is woken by notify here', async () => {
      const d = new AtomicDict(16, { valueBits })
      d.store(7, v(0))
      const c = child(d, { cmd: 'sync-wait', key: 7, expected: 0 })
      await c.next((m) => m.ready)
      // notify returns 1 only once it found the child asleep in the kernel.
      assert.equal(await notifyUntil(() => d.notify(7), 1), 1)
      const r = await c.next((m) => m.result)
      assert.equal(r.result, 'ok')
      assert.equal((await c.exited).code, 0)
      assert.equal(d.notify(7), 0) // nobody left
    })

    test("a wait returns 'not-equal' when the value is not the expected one", async () => {
      const d = new AtomicDict(16, { valueBits })
      d.store(7, v(5))
      const c = child(d, { cmd: 'sync-wait', key: 7, expected: 4 })
      assert.equal((await c.next((m) => m.result)).result, 'not-equal')
      assert.equal((await c.exited).code, 0)
      assert.equal(d.wait(7, v(4)), 'not-equal')
      assert.equal(await d.waitAsync(7, v(4)), 'not-equal')
      // An absent key reads 0: waiting for anything else does not insert it.
      assert.equal(d.wait(8, v(1)), 'not-equal')
      assert.equal(d.has(8), false)
    })

    test("a wait returns 'timed-out' no sooner than its timeout", async () => {
      const d = new AtomicDict(16, { valueBits })
      const c = child(d, { cmd: 'sync-wait', key: 7, expected: 0, timeout: 150 })
      const r = await c.next((m) => m.result)
      assert.equal(r.result, 'timed-out')
      assert.ok(r.ms >= 149, `woke after ${r.ms} ms`)
      let t = performance.now()
      assert.equal(d.wait(7, v(0), 50), 'timed-out')
      assert.ok(performance.now() - t >= 49)
      t = performance.now()
      assert.equal(await d.waitAsync(7, v(0), 50), 'timed-out')
      assert.ok(performance.now() - t >= 49)
      assert.equal(await d.waitAsync(7, v(0), 0), 'timed-out')
      assert.equal(d.wait(7, v(0), 0), 'timed-out')
    })

    for (const backend of ['io_uring', 'futex_waitv']) {
      test(`1000 pending waitAsync calls in one process all resolve after notifies from another, with timers and I/O running (${backend})`, async () => {
        const d = new AtomicDict(2048, { valueBits })
        const c = child(d, { cmd: 'async-many', distinct: 500, shared: 500, sharedKeys: 5 }, { ATOMIC_DICT_WAIT_BACKEND: backend })
        const stats = await c.next((m) => m.registered)
        assert.equal(stats.registered, 1000)
        assert.equal(stats.pending, 1000)
        assert.equal(stats.native, 1000)
        assert.equal(stats.backend, backend)
        // Not a thread per wait, and none of libuv's: io_uring reaps every
        // wait with one thread; futex_waitv takes one per 127 distinct words
        // (505 here).
        assert.equal(stats.threads, backend === 'io_uring' ? 1 : 4)
        assert.ok(stats.ticks >= 5, `${stats.ticks} timer ticks in ${stats.ms} ms`)
        assert.equal(stats.reads, 8)
        // Distinct keys, each counting one waiter. io_uring: notified without
        // changing the value, so only the notify can wake them. futex_waitv
        // can lose a wake that comes without a change (README, "Waiting"),
        // so there each value changes first, as the README asks.
        for (let i = 0; i < 500; i++) {
          if (backend === 'io_uring') assert.equal(await notifyUntil(() => d.notify(1000 + i), 1), 1)
          else {
            d.add(1000 + i, v(1))
            d.notify(1000 + i) // a waiter that missed it sees the change
          }
        }
        // Shared keys, 100 waits each: changed, then notified. io_uring
        // counts each of the 100 waiters; futex_waitv has one kernel waiter
        // per word and process, which ends all 100 (or the change does).
        for (let k = 1; k <= 5; k++) {
          d.add(k, v(1))
          if (backend === 'io_uring') assert.equal(await notifyUntil(() => d.notify(k), 100), 100)
          else d.notify(k)
        }
        const done = await c.next((m) => m.done)
        assert.deepEqual(done.counts, { ok: 1000 })
        assert.equal(done.after.pending, 0)
        assert.equal((await c.exited).code, 0)
      })
    }

    test('a killed waiter does not disturb the others', async () => {
      const d = new AtomicDict(16, { valueBits })
      const doomed = child(d, { cmd: 'sync-wait', key: 3, expected: 0 })
      const doomedAsync = child(d, { cmd: 'async-many', distinct: 0, shared: 50, sharedKeys: 1 })
      const survivor = child(d, { cmd: 'sync-wait', key: 3, expected: 0 })
      await doomed.next((m) => m.ready)
      await doomedAsync.next((m) => m.registered)
      await survivor.next((m) => m.ready)
      await new Promise((resolve) => setTimeout(resolve, 50)) // let them sleep
      doomed.kill('SIGKILL')
      doomedAsync.kill('SIGKILL')
      assert.equal((await doomed.exited).signal, 'SIGKILL')
      assert.equal((await doomedAsync.exited).signal, 'SIGKILL')
      // Only the survivor is left to wake.
      assert.equal(await notifyUntil(() => d.notify(3), 1), 1)
      assert.equal((await survivor.next((m) => m.result)).result, 'ok')
      assert.equal(d.notify(3), 0)
      assert.ok(d.verify().ok)
    })
  })
}

describe('ending a process with waits pending', () => {
  for (const how of ['exit', 'throw']) {
    test(`${how === 'exit' ? 'process.exit()' : 'an unhandled exception'} does not hang on pending waits`, async () => {
      const d = new AtomicDict(16)
      const c = child(d, { cmd: 'exit-pending', how })
      await c.next((m) => m.exiting)
      const t = Date.now()
      const r = await c.exited
      assert.equal(r.code, how === 'exit' ? 3 : 1, r.stderr)
      assert.ok(Date.now() - t < 5000)
      if (how === 'throw') assert.match(r.stderr, /unhandled, with waits pending/)
    })
  }

  test('a pending waitAsync keeps the process alive until it settles, then lets it exit', async () => {
    const d = new AtomicDict(16)
    const c = child(d, { cmd: 'keepalive' })
    assert.equal((await c.next((m) => m.result)).result, 'timed-out')
    assert.equal((await c.exited).code, 0)
  })

  test('terminating worker threads with pending waits (async, or blocked in wait()) leaves the process working', async () => {
    const d = new AtomicDict(1024)
    const c = child(d, { cmd: 'worker-terminate' })
    const r = await c.next((m) => m.terminated)
    assert.equal(r.result, 'timed-out')
    assert.ok(r.terminateMs < 2000, `terminate() of a worker blocked in wait() took ${r.terminateMs} ms`)
    assert.equal((await c.exited).code, 0)
  })
})

describe('in one process', () => {
  test('notify wakes an async waiter; abort rejects with an AbortError; close rejects', async () => {
    const d = new AtomicDict(16)
    const p = d.waitAsync(1, 0n)
    await new Promise((resolve) => setTimeout(resolve, 20))
    d.add(1, 1n)
    assert.ok(d.notify(1) <= 1)
    assert.equal(await p, 'ok')

    const ac = new AbortController()
    const aborted = d.waitAsync(1, 1n, undefined, { signal: ac.signal })
    ac.abort(new Error('stop'))
    await assert.rejects(aborted, (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause.message === 'stop')
    await assert.rejects(d.waitAsync(1, 1n, undefined, { signal: ac.signal }), { name: 'AbortError' })
    await assert.rejects(d.waitAsync(1, 1n, 10, { signal: AbortSignal.abort() }), { name: 'AbortError' })

    const pending = d.waitAsync(1, 1n)
    d.close()
    await assert.rejects(pending, { code: 'ERR_ATOMIC_DICT_CLOSED' })
    assert.throws(() => d.wait(1, 1n), { code: 'ERR_ATOMIC_DICT_CLOSED' })
    assert.throws(() => d.notify(1), { code: 'ERR_ATOMIC_DICT_CLOSED' })
    assert.equal(poolStats().pending, 0)
  })

  test('a 64-bit value is compared whole: a change of its high half ends the wait', async () => {
    const d = new AtomicDict(16)
    const high = 1n << 32n
    d.store(1, high)
    assert.equal(d.wait(1, 0n), 'not-equal') // same low half, other high half
    let settled = false
    const p = d.waitAsync(1, high).finally(() => (settled = true))
    await new Promise((resolve) => setTimeout(resolve, 50)) // armed by now, as a rule
    d.store(1, 2n * high) // the low half (the futex word) does not change
    // The notify wakes it (or, if it was not armed yet, arming sees the change).
    while (!settled && d.notify(1) === 0) await new Promise((resolve) => setTimeout(resolve, 2))
    assert.equal(await p, 'ok')
    // Signed and unsigned readings of the same bits are the same value.
    const s = new AtomicDict(4, { signed: true })
    s.store(1, -1n)
    assert.equal(s.wait(1, 2n ** 64n - 1n, 0), 'timed-out')
    assert.equal(s.wait(1, -1n, 0), 'timed-out')
  })

  test('slot handles and counters wait and notify too', async () => {
    const d = new AtomicDict(16, { valueBits: 32 })
    const h = d.slot(5)
    const p = h.waitAsync(0)
    h.add(1)
    assert.ok(h.notify() <= 1)
    assert.equal(await p, 'ok')
    assert.equal(h.wait(0, 0), 'not-equal')
    assert.equal(h.wait(1, 10), 'timed-out')

    const c = counters(['done'])
    const q = c.waitAsync('done', 0n)
    c.add('done')
    c.notify('done')
    assert.equal(await q, 'ok')
    assert.throws(() => c.wait('nope', 0n), TypeError)
  })

  test('bad arguments throw errors naming them, and wait for nothing', () => {
    const d = new AtomicDict(16)
    const bad = [
      [() => d.wait(1, 'x'), TypeError, /^expected must be/],
      [() => d.wait(1, 0n, -1), RangeError, /^timeout must be/],
      [() => d.wait(1, 0n, NaN), RangeError, /^timeout must be/],
      [() => d.wait(1, 0n, '10'), TypeError, /^timeout must be/],
      [() => d.waitAsync(1, 0n, -5), RangeError, /^timeout must be/],
      [() => d.waitAsync(1, 0n, 10, { signal: {} }), TypeError, /^options\.signal must be an AbortSignal/],
      [() => d.waitAsync(1, 0n, 10, 5), TypeError, /^options must be an object/],
      [() => d.notify(1, -1), RangeError, /^count must be/],
      [() => d.notify(1, 1.5), RangeError, /^count must be/],
      [() => d.notify(1, '1'), TypeError, /^count must be/],
      [() => d.wait(0, 0n), RangeError, /^key must be/],
    ]
    for (const [fn, type, message] of bad) assert.throws(fn, (e) => e instanceof type && message.test(e.message))
    assert.equal(d.size, 0)
    assert.equal(d.notify(1), 0) // an absent key has no waiters (and is not inserted)
    assert.equal(d.has(1), false)
  })
})
