'use strict'
// wait / waitAsync / notify across processes (futexes on the shared
// mapping): real child processes block, get woken, time out, get killed
// and exit while waits are pending.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { AtomicDict, Latch, Semaphore, counters } = require('..')
const { forked } = require('./fixtures/forked')
const { poolStats } = require('../lib/wait')

const CHILD = path.join(__dirname, 'fixtures', 'wait-child.js')

/** Forks the wait child with `config`, sharing `d` (fixtures/forked.js). */
function child(d, config, env = {}) {
  return forked(CHILD, config, { d }, env)
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

    for (const backend of ['io_uring', 'threads']) {
      test(`1000 pending waitAsync calls in one process all resolve after notifies from another, with timers and I/O running (${backend})`, async () => {
        const d = new AtomicDict(2048, { valueBits })
        const c = child(d, { cmd: 'async-many', distinct: 500, shared: 500, sharedKeys: 5 }, { ATOMIC_DICT_WAIT_BACKEND: backend })
        const stats = await c.next((m) => m.registered)
        assert.equal(stats.registered, 1000)
        assert.equal(stats.pending, 1000)
        assert.equal(stats.native, 1000)
        if (process.env.ATOMIC_DICT_EXPECT_BACKEND) assert.equal(stats.backend, process.env.ATOMIC_DICT_EXPECT_BACKEND)
        else assert.equal(stats.backend, backend)
        // None of libuv's threads: io_uring needs no thread at all; the
        // threads backend one per distinct word (505 here).
        assert.equal(stats.threads, stats.backend === 'io_uring' ? 0 : 505)
        assert.ok(stats.ticks >= 5, `${stats.ticks} timer ticks in ${stats.ms} ms`)
        assert.equal(stats.reads, 8)
        // Distinct keys, each counting one waiter, notified without changing
        // the value: only the notify can wake them, and it must not be lost.
        for (let i = 0; i < 500; i++) assert.equal(await notifyUntil(() => d.notify(1000 + i), 1), 1)
        // Shared keys, 100 waits each. io_uring counts each of the 100
        // waiters; the threads backend has one kernel waiter per word and
        // process, which ends all 100.
        for (let k = 1; k <= 5; k++) {
          const n = stats.backend === 'io_uring' ? 100 : 1
          assert.equal(await notifyUntil(() => d.notify(k), n), n)
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

  test('a wait whose submission fails rejects with ERR_ATOMIC_DICT_IO, leaves nothing pending, and later waits work', async () => {
    const d = new AtomicDict(16)
    const c = child(d, { cmd: 'submit-fails' }, { ATOMIC_DICT_TEST_RING_FAIL_SUBMITS: '1' })
    const m = await c.next((x) => x.first !== undefined)
    if (m.backend === 'io_uring') {
      assert.equal(m.first, 'ERR_ATOMIC_DICT_IO')
      assert.equal(m.afterFailure, 0)
    } else assert.equal(m.first, 'resolved', 'the threads backend has no such hook: the wait times out')
    assert.equal(m.woken, 1)
    assert.equal(m.second, 'ok', 'notify(key, 1) reached the live wait, not the failed one')
    assert.equal((await c.exited).code, 0, 'the failed wait does not hold the process')
  })

  test('a settle that throws (a hostile AbortSignal) does not strand the other waits of its batch', async () => {
    const d = new AtomicDict(16)
    const c = child(d, { cmd: 'hostile-signal' })
    const m = await c.next((x) => x.settled !== undefined)
    assert.equal(m.uncaught, 'from removeEventListener', 'the error is reported as uncaught')
    assert.ok(m.settled >= 3, `${m.settled} of 4 settled`)
    assert.equal(m.pending, 0)
    assert.equal((await c.exited).code, 0, 'nothing pending holds the process')
  })

  test('a waitAsync with ref: false does not keep the process alive; one with ref: true does', async () => {
    const d = new AtomicDict(16)
    const c = child(d, { cmd: 'unref' })
    const m = await c.next((x) => x.armed)
    assert.equal(m.pending, 3)
    // The unreferenced waits (a dict, a latch, a semaphore) are left
    // pending: the process exits with them, without a result.
    const r = await c.exited
    assert.equal(r.code, 0, r.stderr)
    assert.ok(!r.stderr.includes('settled'), r.stderr)
    // The same with a referenced wait: it stays until notified.
    const held = child(d, { cmd: 'unref', alsoRef: true })
    await held.next((x) => x.armed)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(held.exitCode, null, 'a referenced wait keeps it alive')
    d.store(9, 1n)
    assert.equal(await notifyUntil(() => d.notify(9), 1), 1)
    assert.equal((await held.exited).code, 0)
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

  test('bad arguments of wait and notify throw errors naming them, and wait for nothing', () => {
    const d = new AtomicDict(16)
    const bad = [
      [() => d.wait(1, 'x'), TypeError, /^expected must be/],
      [() => d.wait(1, 0n, -1), RangeError, /^timeout must be/],
      [() => d.wait(1, 0n, NaN), RangeError, /^timeout must be/],
      [() => d.wait(1, 0n, '10'), TypeError, /^timeout must be/],
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

  test('waitAsync, Latch#waitAsync and Semaphore#acquire reject bad arguments (never throw), and wait for nothing', async () => {
    const d = new AtomicDict(16)
    const latch = new Latch(d, 'l', 2)
    const sem = new Semaphore(d, 's', 1)
    const c = counters(['a'])
    const bad = [
      [() => d.waitAsync(1, 'x'), TypeError, /^expected must be/],
      [() => d.waitAsync(0, 0n), RangeError, /^key must be/],
      [() => d.waitAsync(1, 0n, -5), RangeError, /^timeout must be/],
      [() => d.waitAsync(1, 0n, { timeout: -5 }), RangeError, /^timeout must be/],
      [() => d.waitAsync(1, 0n, 10, { signal: {} }), TypeError, /^options\.signal must be an AbortSignal/],
      [() => d.waitAsync(1, 0n, { signal: 'no' }), TypeError, /^options\.signal must be an AbortSignal/],
      [() => d.waitAsync(1, 0n, 10, 5), TypeError, /^options must be an object/],
      [() => d.waitAsync(1, 0n, { timeuot: 5 }), TypeError, /^options\.timeuot is not an option of this wait/],
      [() => d.waitAsync(1, 0n, { ref: 1 }), TypeError, /^options\.ref must be a boolean/],
      [() => d.waitAsync(1, 0n, AbortSignal.timeout(10)), TypeError, /^options must be an object such as \{ signal \}/],
      [() => d.waitAsync(1, 0n, 10, new AbortController().signal), TypeError, /^options must be an object such as \{ signal \}/],
      [() => d.waitAsync(1, 0n, 10, { timeout: 5 }), TypeError, /^options\.timeout must be left out/],
      [() => d.slot(3).waitAsync('x'), TypeError, /^expected must be/],
      [() => c.waitAsync('nope', 0n), TypeError, /nope/],
      [() => latch.waitAsync(-1), RangeError, /^timeout must be/],
      [() => latch.waitAsync({ signal: 5 }), TypeError, /^options\.signal/],
      [() => latch.arriveAndWaitAsync('soon'), TypeError, /^timeout must be/],
      [() => sem.acquire(5), TypeError, /^options must be an object/],
      [() => sem.acquire({ timeout: -1 }), RangeError, /^timeout must be/],
      [() => sem.acquire({ signal: {} }), TypeError, /^options\.signal/],
    ]
    for (const [fn, type, message] of bad) {
      let p
      assert.doesNotThrow(() => (p = fn()), 'a Promise-returning call must not throw')
      assert.ok(p instanceof Promise)
      await assert.rejects(p, (e) => e instanceof type && message.test(e.message))
    }
    assert.equal(latch.arrived, 0, 'a rejected arriveAndWaitAsync did not arrive')
    assert.equal(sem.held, 0)
    assert.equal(poolStats().pending, 0)
    // A closed table rejects as well.
    d.close()
    await assert.rejects(d.waitAsync(1, 0n), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  })

  test('the options object form: { timeout, signal, ref }', async () => {
    const d = new AtomicDict(16)
    const t = performance.now()
    assert.equal(await d.waitAsync(1, 0n, { timeout: 30 }), 'timed-out')
    assert.ok(performance.now() - t >= 29)
    const ac = new AbortController()
    const p = d.waitAsync(1, 0n, { signal: ac.signal, ref: false })
    ac.abort()
    await assert.rejects(p, { name: 'AbortError' })
    const latch = new Latch(d, 'l', 1)
    assert.equal(await latch.waitAsync({ timeout: 20 }), false)
    latch.arrive()
    assert.equal(await latch.waitAsync({ timeout: 20, ref: false }), true)
    const sem = new Semaphore(d, 's', 1)
    await sem.acquire({ ref: false })
    sem.release()
    assert.equal(poolStats().pending, 0)
  })

  test('10,000 pending waitAsync on distinct keys: notify of one key wakes exactly its waiters', async () => {
    const d = new AtomicDict(16384)
    try {
      const waits = []
      const settled = new Set()
      for (let k = 1; k <= 10000; k++) waits.push(d.waitAsync(k, 0n).then((r) => (settled.add(k), r)))
      // Two waits on key 77.
      waits.push(d.waitAsync(77, 0n).then((r) => (settled.add(-77), r)))
      assert.equal(poolStats().pending, 10001)
      const exact = poolStats().backend === 'io_uring'
      /** Waits until `want` have settled, then a little longer: exactly those have. */
      const exactly = async (want) => {
        const until = Date.now() + 20000
        while (want.some((k) => !settled.has(k)) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10))
        await new Promise((resolve) => setTimeout(resolve, 100))
        assert.deepEqual([...settled].sort((a, b) => a - b), want)
      }
      assert.equal(await notifyUntil(() => d.notify(77), exact ? 2 : 1), exact ? 2 : 1)
      await exactly([-77, 77])
      assert.equal(await notifyUntil(() => d.notify(5000, 1), 1), 1)
      await exactly([-77, 77, 5000])
      assert.equal(poolStats().pending, 9998)
      for (let k = 1; k <= 10000; k++) if (k !== 77 && k !== 5000) d.add(k, 1n)
      for (let k = 1; k <= 10000; k++) d.notify(k)
      const results = await Promise.all(waits)
      assert.ok(results.every((r) => r === 'ok'))
      assert.equal(poolStats().pending, 0)
    } finally {
      d.close() // a failed assertion leaves no waits behind for the next tests
    }
  })

  test('worker threads that end with waits pending (terminated, or exiting) free their rings, fds and threads', async () => {
    const { Worker } = require('node:worker_threads')
    const fs = require('node:fs')
    const d = new AtomicDict(4096)
    const fds = () => fs.readdirSync('/proc/self/fd').length
    const tasks = () => fs.readdirSync('/proc/self/task').length
    const runWorker = (how) =>
      new Promise((resolve, reject) => {
        const w = new Worker(
          `
          const { workerData, parentPort } = require('node:worker_threads')
          const { AtomicDict } = require(${JSON.stringify(require.resolve('..'))})
          const d = AtomicDict.attach(workerData.d)
          for (let k = 1; k <= 200; k++) d.waitAsync(k, 0n, k % 2 ? 60000 : undefined).catch(() => {})
          d.waitAsync(1000, 0n, { ref: false })
          parentPort.postMessage('armed')
          if (workerData.how === 'exit') setTimeout(() => process.exit(0), 5)
        `,
          { eval: true, workerData: { d: d.share(), how } },
        )
        w.on('error', reject)
        w.once('message', () => {
          if (how === 'terminate') w.terminate()
        })
        w.once('exit', resolve)
      })
    const fdsBefore = fds()
    for (let i = 0; i < 21; i++) await runWorker(i % 2 ? 'terminate' : 'exit')
    // Threads of the fallback backend (and the eventfd they share) linger
    // for up to 2 s after their waits end.
    const until = Date.now() + 8000
    while ((fds() > fdsBefore || tasks() > 12) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
    // (Fewer is fine: descriptors of earlier tests may close meanwhile.)
    assert.ok(fds() <= fdsBefore, `${fds()} descriptors, ${fdsBefore} before: a worker left its ring or eventfd open`)
    assert.ok(tasks() <= 12, `${tasks()} threads left in the process`)
    // This thread's waits still work.
    const p = d.waitAsync(5, 0n)
    d.store(5, 1n)
    d.notify(5)
    assert.equal(await p, 'ok')
  })

  test('many waits on one AbortSignal: one listener, no MaxListenersExceededWarning, all reject', async () => {
    const d = new AtomicDict(64)
    const warnings = []
    const onWarning = (w) => warnings.push(w.name)
    process.on('warning', onWarning)
    const ac = new AbortController()
    const waits = []
    for (let k = 1; k <= 30; k++) waits.push(d.waitAsync(k, 0n, { signal: ac.signal }))
    // Some end before the abort: their share of the listener goes with them.
    for (let k = 1; k <= 5; k++) d.store(k, 1n), d.notify(k)
    for (let k = 1; k <= 5; k++) assert.equal(await waits[k - 1], 'ok')
    ac.abort()
    for (let k = 6; k <= 30; k++) await assert.rejects(waits[k - 1], { name: 'AbortError' })
    await new Promise((resolve) => setImmediate(resolve))
    process.off('warning', onWarning)
    assert.deepEqual(warnings, [])
    assert.equal(poolStats().pending, 0)
    // A signal reused after its waits ended gets a listener again.
    const ac2 = new AbortController()
    assert.equal(await d.waitAsync(40, 0n, { signal: ac2.signal, timeout: 5 }), 'timed-out')
    const p = d.waitAsync(40, 0n, { signal: ac2.signal })
    ac2.abort()
    await assert.rejects(p, { name: 'AbortError' })
  })
})
