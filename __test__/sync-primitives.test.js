'use strict'
// Latch and Semaphore across real processes (fork with `share`, a cluster
// with shareWithCluster, worker threads): a latch releases its parties only
// after the last one arrives; a semaphore never admits more than its
// permits, under a long stress of several processes; a killed holder's
// permit stays taken until releaseHeldBy gives it back, and then a waiter in
// another process gets it; examples/semaphore proves the same as a cluster.
//
// SEMAPHORE_STRESS_MS sets the stress test's duration (default 30000).

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const path = require('node:path')
const { AtomicDict, Latch, Semaphore, fork } = require('..')
const { poolStats } = require('../lib/wait')

const FIXTURES = path.join(__dirname, 'fixtures')
const LATCH_PARTY = path.join(FIXTURES, 'sync-latch-party.js')
const SEM_STRESS = path.join(FIXTURES, 'sync-sem-stress.js')
const SEM_HOLDER = path.join(FIXTURES, 'sync-sem-holder.js')
const CLUSTER_PRIMARY = path.join(FIXTURES, 'sync-cluster-primary.js')
const EXAMPLE = path.join(__dirname, '..', 'examples', 'semaphore', 'jobs.js')

const STRESS_MS = Number(process.env.SEMAPHORE_STRESS_MS ?? 30_000)

// ---------------------------------------------------------------- helpers

/** Resolves with { code, signal } when the child has exited. */
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

/** The next message of `child` that `test` accepts (rejects if the child exits first, or after timeoutMs). */
function message(child, test = () => true, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no message from ${child.pid} within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (m) => {
      if (!test(m)) return
      cleanup()
      resolve(m)
    }
    const onExit = (code, signal) => {
      // Give a message sent just before exiting the time to arrive.
      setTimeout(() => {
        cleanup()
        reject(new Error(`${child.pid} exited (${code ?? signal}) without the message`))
      }, 200)
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** Resolves with false if `child` sends no message within `ms`, true if it does. */
function sendsWithin(child, ms) {
  return new Promise((resolve) => {
    const onMessage = () => {
      clearTimeout(timer)
      resolve(true)
    }
    const timer = setTimeout(() => {
      child.off('message', onMessage)
      resolve(false)
    }, ms)
    child.once('message', onMessage)
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Kills whatever children are still running when a test fails. */
function reaper(t) {
  const children = []
  t.after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  })
  return (child) => {
    children.push(child)
    return child
  }
}

/** `fn` throws an error of class `Class` whose message names `name`. */
function throwsNaming(fn, Class, name) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Class, `${e} is not a ${Class.name}`)
    assert.ok(e.message.includes(name), `"${e.message}" does not name ${name}`)
    return true
  })
}

/** `fn()` returns (never throws) a Promise that rejects with `type`, naming `name`. */
async function rejectsNaming(fn, type, name) {
  let p
  assert.doesNotThrow(() => (p = fn()))
  await assert.rejects(p, (e) => e instanceof type && e.message.startsWith(name + ' '))
}

async function rejectsAbort(promise) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, 'AbortError')
    assert.equal(e.code, 'ABORT_ERR')
    return true
  })
}

// ------------------------------------------------------------------ Latch

describe('Latch', () => {
  test('4 processes (2 blocking, 2 async) pass only after the last of them arrives', async (t) => {
    const track = reaper(t)
    const d = new AtomicDict(64)
    const PARTIES = 4
    // Staggered arrivals: the first waits ~300 ms for the last (a blocking one).
    const plan = [
      { mode: 'async', delayMs: 0 },
      { mode: 'sync', delayMs: 100 },
      { mode: 'async', delayMs: 200 },
      { mode: 'sync', delayMs: 300 },
    ]
    const children = plan.map((p, id) =>
      track(fork(LATCH_PARTY, [JSON.stringify({ id, parties: PARTIES, ...p })], { share: { d } })),
    )
    await Promise.all(children.map((c) => message(c, (m) => m.ready)))
    const reports = children.map((c) => message(c, (m) => m.passedAt !== undefined))
    for (const c of children) c.send('go')
    const results = await Promise.all(reports)
    const statuses = await Promise.all(children.map(exited))
    for (const s of statuses) assert.deepEqual(s, { code: 0, signal: null })

    // Times are ms on CLOCK_MONOTONIC (process.hrtime), which every process
    // reads alike, and Date.now() (whole ms).
    const lastArrival = Math.max(...results.map((r) => r.arrivedAt.at))
    const lastArrivalDate = Math.max(...results.map((r) => r.arrivedAt.date))
    for (const r of results) {
      const who = `party ${r.id} (${r.mode})`
      assert.equal(r.opened, true, who)
      assert.equal(r.arrivalsSeen, PARTIES, `${who} passed before every party had arrived`)
      assert.equal(r.latchSeen, PARTIES, who)
      assert.equal(r.isOpen, true, who)
      assert.equal(r.remaining, 0, who)
      assert.ok(r.passedAt >= lastArrival, `${who} passed at ${r.passedAt}, before the last arrival at ${lastArrival}`)
      assert.ok(r.passedDate >= lastArrivalDate, who)
      // And promptly: the wake reaches every process.
      assert.ok(r.passedAt - lastArrival < 2000, `${who} passed ${r.passedAt - lastArrival} ms after the last arrival`)
    }
    // The early ones really waited (about 300 and 200 ms), the async ones with their event loop running.
    const first = results.find((r) => r.id === 0)
    assert.ok(first.waited >= 250, `party 0 waited only ${first.waited} ms`)
    assert.ok(first.arrivedAt.ticks >= 10, `party 0's event loop ticked ${first.arrivedAt.ticks} times while it waited`)
    const latch = new Latch(d, 'start', PARTIES)
    assert.equal(latch.arrived, PARTIES)
    assert.equal(latch.isOpen, true)
    assert.equal(latch.wait(0), true) // open for good: no more waiting
    assert.equal(await latch.waitAsync(0), true)
  })

  test('wait(timeout) and waitAsync(timeout) return false on time when parties are missing', async () => {
    const d = new AtomicDict(16)
    const latch = new Latch(d, 'l', 3)
    assert.equal(latch.arrive(), 2)
    assert.equal(latch.remaining, 2)
    let start = performance.now()
    assert.equal(latch.wait(120), false)
    let ms = performance.now() - start
    assert.ok(ms >= 119 && ms < 1000, `wait(120) took ${ms} ms`)
    start = performance.now()
    assert.equal(await latch.waitAsync(120), false)
    ms = performance.now() - start
    assert.ok(ms >= 119 && ms < 1000, `waitAsync(120) took ${ms} ms`)
    start = performance.now()
    assert.equal(latch.arriveAndWait(50), false)
    ms = performance.now() - start
    assert.ok(ms >= 49 && ms < 1000, `arriveAndWait(50) took ${ms} ms`)
    assert.equal(latch.wait(0), false)
    assert.equal(await latch.waitAsync(0), false)
    assert.equal(latch.remaining, 1)
    // The last arrival opens it, and a pending timed wait sees it at once.
    const pending = latch.waitAsync(5000)
    setTimeout(() => latch.arrive(), 30)
    start = performance.now()
    assert.equal(await pending, true)
    assert.ok(performance.now() - start < 1000)
    assert.equal(latch.isOpen, true)
    assert.equal(latch.arriveAndWait(10), true) // arrivals beyond the parties do no harm
    assert.equal(latch.arrived, 4)
    assert.equal(latch.remaining, 0)
    assert.equal(poolStats().pending, 0)
  })

  test('waitAsync: an AbortSignal rejects it with an AbortError and leaves nothing pending', async () => {
    const d = new AtomicDict(16)
    const latch = new Latch(d, 'l', 2)
    const ac = new AbortController()
    const p = latch.waitAsync(undefined, { signal: ac.signal })
    setTimeout(() => ac.abort(), 30)
    await rejectsAbort(p)
    await rejectsAbort(latch.waitAsync(undefined, { signal: ac.signal })) // already aborted
    await rejectsAbort(latch.arriveAndWaitAsync(10_000, { signal: AbortSignal.timeout(30) }))
    assert.equal(latch.arrived, 1) // arriveAndWaitAsync arrived before waiting
    assert.equal(poolStats().pending, 0)
    // Aborting after it opened changes nothing.
    const ac2 = new AbortController()
    const open = latch.arriveAndWaitAsync(undefined, { signal: ac2.signal })
    ac2.abort()
    assert.equal(await open, true)
  })

  test('bad arguments throw (or, for Promise-returning calls, reject with) TypeError / RangeError naming the argument', async () => {
    const d = new AtomicDict(16)
    throwsNaming(() => new Latch({}, 'k', 2), TypeError, 'table')
    throwsNaming(() => new Latch(null, 'k', 2), TypeError, 'table')
    throwsNaming(() => new Latch(d, 'k', '2'), TypeError, 'parties')
    throwsNaming(() => new Latch(d, 'k'), TypeError, 'parties')
    throwsNaming(() => new Latch(d, 'k', 0), RangeError, 'parties')
    throwsNaming(() => new Latch(d, 'k', 1.5), RangeError, 'parties')
    throwsNaming(() => new Latch(d, 'k', 2 ** 32), RangeError, 'parties')
    throwsNaming(() => new Latch(d, 0n, 2), RangeError, 'key')
    throwsNaming(() => new Latch(d, {}, 2), TypeError, 'key')
    const latch = new Latch(d, 'k', 2)
    throwsNaming(() => latch.wait('10'), TypeError, 'timeout')
    throwsNaming(() => latch.wait(-1), RangeError, 'timeout')
    await rejectsNaming(() => latch.waitAsync(NaN), RangeError, 'timeout')
    await rejectsNaming(() => latch.waitAsync(undefined, 5), TypeError, 'options')
    await rejectsNaming(() => latch.waitAsync(undefined, { signal: 'x' }), TypeError, 'options.signal')
    throwsNaming(() => latch.arriveAndWait(-5), RangeError, 'timeout')
    await rejectsNaming(() => latch.arriveAndWaitAsync(undefined, { signal: {} }), TypeError, 'options.signal')
    assert.equal(latch.arrived, 0) // a call that throws has not arrived
    assert.equal(d.has('k'), false) // nor inserted the key
  })

  test('a 32-bit table works the same', () => {
    const d = new AtomicDict(4, { valueBits: 32 })
    const latch = new Latch(d, 7, 2)
    assert.equal(latch.arrive(), 1)
    assert.equal(latch.wait(20), false)
    assert.equal(latch.arriveAndWait(1000), true)
    assert.equal(d.get(7), 2)
  })
})

// -------------------------------------------------------------- Semaphore

describe('Semaphore', () => {
  test('basics in one process: tryAcquire, acquireSync, release, held, heldHere, holderKey', async () => {
    const d = new AtomicDict(64)
    const sem = new Semaphore(d, 'sem', 2)
    assert.equal(sem.held, 0)
    assert.equal(sem.tryAcquire(), true)
    assert.equal(sem.acquireSync(0), true)
    assert.equal(sem.tryAcquire(), false)
    assert.equal(sem.held, 2)
    assert.equal(sem.heldHere, 2)
    assert.equal(Semaphore.holderKey('sem', process.pid), `sem/held-by/${process.pid}`)
    assert.equal(d.get(Semaphore.holderKey('sem', process.pid)), 2n)
    let start = performance.now()
    assert.equal(sem.acquireSync(80), false)
    const ms = performance.now() - start
    assert.ok(ms >= 79 && ms < 1000, `acquireSync(80) took ${ms} ms`)
    // An async acquirer waits, without blocking, until a release.
    let got = false
    const p = sem.acquire().then(() => (got = true))
    await sleep(30)
    assert.equal(got, false)
    start = performance.now()
    sem.release()
    await p
    assert.ok(performance.now() - start < 1000)
    assert.equal(sem.held, 2)
    // Aborting a waiting acquire holds nothing.
    await rejectsAbort(sem.acquire({ signal: AbortSignal.timeout(30) }))
    assert.equal(sem.held, 2)
    sem.release()
    sem.release()
    assert.equal(sem.held, 0)
    assert.equal(sem.heldHere, 0)
    assert.throws(() => sem.release(), /holds no permit/)
    assert.equal(sem.held, 0) // a refused release changes nothing
    assert.equal(sem.heldHere, 0)
    assert.equal(sem.releaseHeldBy(999_999_999), 0) // nobody
    assert.equal(poolStats().pending, 0)
  })

  test('bad arguments throw TypeError / RangeError naming the argument', async () => {
    const d = new AtomicDict(16)
    throwsNaming(() => new Semaphore({}, 's', 1), TypeError, 'table')
    throwsNaming(() => new Semaphore(new AtomicDict(4, { k64: 2 }), 's', 1), TypeError, 'table')
    throwsNaming(() => new Semaphore(new AtomicDict(4, { k64: 1, k32: 1 }), 's', 1), TypeError, 'table')
    throwsNaming(() => new Semaphore(d, 5n, 1), TypeError, 'name')
    throwsNaming(() => new Semaphore(d, 's', '1'), TypeError, 'permits')
    throwsNaming(() => new Semaphore(d, 's', 0), RangeError, 'permits')
    throwsNaming(() => new Semaphore(d, 's', 2.5), RangeError, 'permits')
    throwsNaming(() => new Semaphore(d, 's', 2 ** 31), RangeError, 'permits')
    const sem = new Semaphore(d, 's', 1)
    throwsNaming(() => sem.acquireSync('5'), TypeError, 'timeout')
    throwsNaming(() => sem.acquireSync(-1), RangeError, 'timeout')
    await rejectsNaming(() => sem.acquire(1), TypeError, 'options')
    await rejectsNaming(() => sem.acquire({ signal: true }), TypeError, 'options.signal')
    throwsNaming(() => sem.releaseHeldBy(0), RangeError, 'pid')
    throwsNaming(() => sem.releaseHeldBy(1.5), RangeError, 'pid')
    assert.equal(sem.held, 0)
    // Works on a 32-bit table too.
    const small = new Semaphore(new AtomicDict(8, { valueBits: 32 }), 's', 1)
    await small.acquire()
    assert.equal(small.tryAcquire(), false)
    small.release()
    assert.equal(small.held, 0)
  })

  test(`stress: 4 processes × (6 async acquirers + 1 acquireSync thread), 3 permits, ${STRESS_MS} ms: never more than 3 holders`, { timeout: STRESS_MS + 120_000 }, async (t) => {
    const track = reaper(t)
    const PROCESSES = 4
    const PERMITS = 3
    const d = new AtomicDict(1024)
    const children = []
    for (let id = 0; id < PROCESSES; id++) {
      const config = { id, processes: PROCESSES, permits: PERMITS, durationMs: STRESS_MS, acquirers: 6, thread: true }
      children.push(track(fork(SEM_STRESS, [JSON.stringify(config)], { share: { d } })))
    }
    const started = performance.now()
    const results = await Promise.all(children.map((c) => message(c, (m) => m.done || m.stalled, STRESS_MS + 60_000)))
    const statuses = await Promise.all(children.map(exited))
    const ms = performance.now() - started
    const summary = {
      ms: Math.round(ms),
      max: Number(d.load('max')),
      violations: Number(d.load('violations')),
      acquisitions: Number(d.load('acquisitions')),
      perProcess: results.map((r) => ({ async: r.async, sync: r.sync, syncTimeouts: r.syncTimeouts, immediate: r.immediate, timer: r.timer })),
    }
    t.diagnostic(`stress: ${JSON.stringify(summary)}`)
    for (const r of results) assert.ok(!r.stalled, `process ${r.id} stalled: ${JSON.stringify(r)}`)
    for (const s of statuses) assert.deepEqual(s, { code: 0, signal: null })
    assert.equal(summary.violations, 0, 'a holder counted more than 3 holders')
    assert.ok(summary.max <= PERMITS, `max ${summary.max} holders at once`)
    assert.equal(summary.max, PERMITS, 'the permits were never all in use')
    // ~1000 acquisitions a second on a 2-core machine; demand well under that.
    const floor = Math.max(100, STRESS_MS / 10)
    assert.ok(summary.acquisitions >= floor, `${summary.acquisitions} acquisitions, expected at least ${floor}`)
    assert.equal(summary.acquisitions, results.reduce((n, r) => n + r.async + r.sync, 0))
    for (const r of results) {
      assert.ok(r.async > 0, `process ${r.id} never acquired asynchronously`)
      assert.ok(r.sync > 0, `process ${r.id}'s thread never acquired`)
      assert.equal(r.heldHere, 0)
    }
    const sem = new Semaphore(d, 'sem', PERMITS)
    assert.equal(sem.held, 0)
    assert.equal(d.load('current'), 0n)
    for (const c of children) assert.equal(d.load(Semaphore.holderKey('sem', c.pid)), 0n)
  })

  test('an acquire() aborted just after a release woke it passes the wakeup on to a waiter in another process', async (t) => {
    const track = reaper(t)
    const d = new AtomicDict(64)
    const sem = new Semaphore(d, 'sem', 1)
    assert.equal(sem.tryAcquire(), true)
    const ac = new AbortController()
    const mine = sem.acquire({ signal: ac.signal }) // queued first: the release wakes it
    await sleep(50)
    const other = track(fork(SEM_HOLDER, [JSON.stringify({ cmd: 'acquire-async', permits: 1 })], { share: { d } }))
    await message(other, (m) => m.waiting)
    await sleep(200)
    sem.release()
    const end = Date.now() + 100
    while (Date.now() < end); // this thread is busy while the wakeup arrives
    ac.abort()
    await rejectsAbort(mine)
    const got = await message(other, (m) => m.acquired, 5000)
    assert.equal(got.heldHere, 1)
    assert.deepEqual(await exited(other), { code: 0, signal: null })
    assert.equal(sem.held, 0)
  })

  test('a table too full for the holder count refuses before taking a permit', () => {
    const d = new AtomicDict(1)
    const sem = new Semaphore(d, 'sem', 2)
    assert.throws(() => sem.tryAcquire(), { code: 'ERR_ATOMIC_DICT_FULL' })
    assert.equal(sem.held, 0)
    const d2 = new AtomicDict(1)
    d2.add('other', 1n)
    const sem2 = new Semaphore(d2, 'sem', 2)
    assert.throws(() => sem2.acquireSync(0), { code: 'ERR_ATOMIC_DICT_FULL' })
    assert.equal(sem2.held, 0)
  })

  test('a killed holder keeps its permit until releaseHeldBy(pid); then waiters in other processes get it', async (t) => {
    const track = reaper(t)
    const d = new AtomicDict(64)
    const sem = new Semaphore(d, 'sem', 1)
    const share = { share: { d } }
    const holder = track(fork(SEM_HOLDER, [JSON.stringify({ cmd: 'hold', permits: 1 })], share))
    const held = await message(holder, (m) => m.held)
    assert.equal(held.heldHere, 1)
    assert.equal(sem.held, 1)
    assert.equal(d.load(Semaphore.holderKey('sem', holder.pid)), 1n)

    holder.kill('SIGKILL')
    assert.deepEqual(await exited(holder), { code: null, signal: 'SIGKILL' })
    await sleep(100)
    assert.equal(sem.held, 1, 'a dead holder keeps its permit (nothing releases it by itself)')
    assert.equal(sem.tryAcquire(), false)

    // Two waiters in two processes: one async, one blocked in acquireSync.
    const waiterA = track(fork(SEM_HOLDER, [JSON.stringify({ cmd: 'acquire-async', permits: 1 })], share))
    const waiterS = track(fork(SEM_HOLDER, [JSON.stringify({ cmd: 'acquire-sync', permits: 1, timeout: 20_000 })], share))
    const waiting = await Promise.all([waiterA, waiterS].map((w) => message(w, (m) => m.waiting)))
    for (const w of waiting) assert.equal(w.held, 1)
    const [early1, early2] = await Promise.all([sendsWithin(waiterA, 300), sendsWithin(waiterS, 300)])
    assert.equal(early1 || early2, false, 'a waiter acquired while the dead holder held the only permit')

    const acquired = Promise.all([waiterA, waiterS].map((w) => message(w, (m) => m.acquired)))
    const start = performance.now()
    assert.equal(sem.releaseHeldBy(holder.pid), 1)
    const got = await acquired
    const ms = performance.now() - start
    t.diagnostic(`both waiters had the permit in turn ${ms.toFixed(1)} ms after releaseHeldBy`)
    for (const g of got) {
      assert.equal(g.heldHere, 1)
      assert.equal(g.heldHereAfter, 0)
    }
    for (const w of [waiterA, waiterS]) assert.deepEqual(await exited(w), { code: 0, signal: null })
    assert.equal(sem.releaseHeldBy(holder.pid), 0) // nothing twice
    assert.equal(sem.held, 0)
    assert.equal(d.load(Semaphore.holderKey('sem', holder.pid)), 0n)
  })

  test('cluster: the primary recovers a killed worker\'s permit on "exit"; a surviving worker then acquires', async (t) => {
    const track = reaper(t)
    const d = new AtomicDict(64)
    const primary = track(fork(CLUSTER_PRIMARY, [], { share: { d } }))
    const report = await message(primary, () => true, 30_000)
    assert.deepEqual(await exited(primary), { code: 0, signal: null })
    assert.equal(report.error, undefined, report.error)
    const ev = report.events
    assert.deepEqual(ev[0], { held: report.holderPid, semHeld: 1 })
    assert.deepEqual(ev[1], { stillWaiting: true, semHeld: 1 })
    // (heldAfter: 0, or 1 again if the waiter took the permit in between)
    const { heldAfter, ...holderExit } = ev[2]
    assert.deepEqual(holderExit, { exit: report.holderPid, role: 'holder', code: null, signal: 'SIGKILL', heldBefore: 1, released: 1 })
    assert.ok(heldAfter === 0 || heldAfter === 1, `held ${heldAfter} after releaseHeldBy`)
    assert.deepEqual(ev[3], { acquired: report.waiterPid, heldHere: 1, semHeld: 1 })
    assert.deepEqual(ev[4], { exit: report.waiterPid, role: 'waiter', code: 0, signal: null, heldBefore: 0, released: 0, heldAfter: 0 })
    assert.equal(ev.length, 5)
    t.diagnostic(`the waiter acquired ${(report.acquiredAt - report.killedAt).toFixed(1)} ms after the holder was killed`)
    assert.equal(report.heldAtEnd, 0)
    assert.equal(new Semaphore(d, 'sem', 1).held, 0)
  })
})

// ------------------------------------------------------- examples/semaphore

test('examples/semaphore: 4 workers, at most 3 jobs at once, a crashed worker\'s permit recovered', { timeout: 120_000 }, () => {
  const r = childProcess.spawnSync(process.execPath, [EXAMPLE], {
    encoding: 'utf8',
    timeout: 100_000,
    env: { ...process.env, WORKERS: '4', PERMITS: '3', JOBS: '120' },
  })
  const out = r.stdout
  assert.equal(r.status, 0, `exit ${r.status ?? r.signal}\n${out}\n${r.stderr}`)
  assert.match(out, /^4 workers, 3 permits, 120 jobs/m)
  const died = /^worker \d+ died \(SIGKILL\) holding (\d+) permits?, in the middle of jobs? [\d, ]+; the primary released (\d+) and re-queued (\d+) jobs?$/m.exec(out)
  assert.ok(died, out)
  assert.ok(Number(died[1]) >= 1 && died[2] === died[1] && Number(died[3]) >= Number(died[1]), died[0])
  assert.match(out, /jobs done: 120 of 120/)
  const m = /max concurrent jobs: (\d+) \(shared gauge\), (\d+) \(from the jobs' start and end times\); limit 3: ok/.exec(out)
  assert.ok(m, out)
  assert.ok(Number(m[1]) <= 3 && Number(m[2]) <= 3, out)
  assert.equal(Number(m[1]), 3, `the limit was never reached:\n${out}`)
  assert.match(out, /permits held at the end: 0/)
})
