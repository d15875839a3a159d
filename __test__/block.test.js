'use strict'
// The blocking wait() (src/futex.rs wait_words, src/binding/block.rs): it
// sleeps on both halves of a 64-bit value, so a change of the high half
// whose notify comes before the wait is armed is not lost, with futex_waitv
// and with the FUTEX_WAIT fallback (ATOMIC_DICT_NO_FUTEX_WAITV=1, as on
// kernels before 5.16 or under seccomp profiles that refuse futex_waitv);
// and a worker blocked in it does not grow the process's memory.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { AtomicDict } = require('..')
const { forked } = require('./fixtures/forked')

const CHILD = path.join(__dirname, 'fixtures', 'block-child.js')
const clock = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The fallback's longest slice (src/futex.rs FALLBACK_SLICE_MAX). */
const SLICE_MAX_MS = 50
/** Scheduling slack on a shared, loaded machine. */
const SLACK_MS = 150

/** Forks the block child with `config`, sharing `d` (fixtures/forked.js). */
function child(d, config, env = {}) {
  return forked(CHILD, config, { d }, env, 30_000)
}

/** Whether this process runs under a seccomp filter (which may refuse futex_waitv). */
function seccompFiltered() {
  const status = fs.readFileSync('/proc/self/status', 'utf8')
  return /^Seccomp:\s*2$/m.test(status)
}

/** What futexBackend() must say here: futex_waitv from Linux 5.16 on, unless refused. */
function expectedBackend(env) {
  if (env.ATOMIC_DICT_NO_FUTEX_WAITV === '1') return 'futex_wait'
  const [major, minor] = os.release().split('.').map(Number)
  const kernel = major > 5 || (major === 5 && minor >= 16)
  if (!kernel) return 'futex_wait'
  return seccompFiltered() ? null : 'futex_waitv' // null: the filter decides (scripts/kernel-matrix.sh checks it)
}

const BACKENDS = [
  ['futex_waitv where the kernel has it', {}],
  ['FUTEX_WAIT alone (ATOMIC_DICT_NO_FUTEX_WAITV=1)', { ATOMIC_DICT_NO_FUTEX_WAITV: '1' }],
]

for (const [name, env] of BACKENDS) {
  describe(`the blocking wait, ${name}`, () => {
    test('futexBackend() names what the wait sleeps with', () => {
      const want = expectedBackend({ ...process.env, ...env })
      const d = new AtomicDict(4)
      const c = child(d, { cmd: 'wait', key: 1, expected: 1, timeout: 0 }, env)
      return c.next((m) => m.ready).then(async (m) => {
        if (want !== null) assert.equal(m.backend, want)
        else assert.ok(['futex_waitv', 'futex_wait'].includes(m.backend), m.backend)
        assert.equal((await c.next((r) => r.result)).result, 'not-equal')
        assert.equal((await c.exited).code, 0)
      })
    })

    test('a change of only the high half, notified before the wait is armed, ends the wait at once', async () => {
      const PAUSE_MS = 400
      const d = new AtomicDict(16)
      d.store(7n, 5n)
      // The child compares (5n: equal), then pauses PAUSE_MS before arming.
      const c = child(d, { cmd: 'wait', key: 7, expected: 5, timeout: 10_000 }, { ...env, ATOMIC_DICT_TEST_PAUSE_BEFORE_SLEEP_MS: String(PAUSE_MS) })
      const ready = await c.next((m) => m.ready)
      await sleep(PAUSE_MS / 4) // inside the window: compared, not armed
      assert.ok(clock() - ready.at < PAUSE_MS * 0.9, 'the change must land inside the pause (machine too slow?)')
      d.store(7n, (1n << 32n) + 5n) // the low half (what notify wakes) stays 5
      assert.equal(d.notify(7n), 0) // nobody is asleep yet: this wake is gone
      const r = await c.next((m) => m.result)
      assert.equal(r.result, 'ok')
      assert.ok(r.ms < PAUSE_MS + SLACK_MS, `returned after ${r.ms.toFixed(1)} ms; the pause was ${PAUSE_MS} ms`)
      assert.equal((await c.exited).code, 0)
    })

    test('a change of only the low half in the same window ends it too', async () => {
      const PAUSE_MS = 400
      const d = new AtomicDict(16)
      d.store(7n, 1n << 32n)
      const c = child(d, { cmd: 'wait', key: 7, expected: String(1n << 32n), timeout: 10_000 }, { ...env, ATOMIC_DICT_TEST_PAUSE_BEFORE_SLEEP_MS: String(PAUSE_MS) })
      await c.next((m) => m.ready)
      await sleep(PAUSE_MS / 4)
      d.store(7n, (1n << 32n) + 1n)
      d.notify(7n)
      const r = await c.next((m) => m.result)
      assert.equal(r.result, 'ok')
      assert.ok(r.ms < PAUSE_MS + SLACK_MS, `returned after ${r.ms.toFixed(1)} ms`)
      assert.equal((await c.exited).code, 0)
    })
  })
}

describe('the blocking wait without futex_waitv', () => {
  test(`sees a change of the high half while it sleeps within its slice bound (${SLICE_MAX_MS} ms), even with no notify`, async () => {
    const d = new AtomicDict(16)
    const c = child(d, { cmd: 'wait', key: 3, expected: 0, timeout: 10_000 }, { ATOMIC_DICT_NO_FUTEX_WAITV: '1' })
    const ready = await c.next((m) => m.ready)
    assert.equal(ready.backend, 'futex_wait')
    await sleep(500) // well into its longest slices
    const changed = clock()
    d.store(3n, 1n << 32n) // no notify
    const r = await c.next((m) => m.result)
    assert.equal(r.result, 'ok')
    const delay = r.end - changed
    console.log(`# high half seen ${delay.toFixed(1)} ms after the change (bound ${SLICE_MAX_MS} ms + scheduling)`)
    assert.ok(delay < SLICE_MAX_MS + SLACK_MS, `seen ${delay.toFixed(1)} ms after the change`)
    assert.equal((await c.exited).code, 0)
  })
})

describe('a worker blocked in wait()', () => {
  // ATOMIC_DICT_TEST_SLICE_US makes its slices (each asks whether the
  // worker is being terminated) tiny, so that it asks many thousands of
  // times a second: 1 us with futex_waitv (each slice is a futex_waitv call
  // whose timer has the kernel's slack); 0 without (the fallback then asks
  // at once, making no system call), because 1 us slices of FUTEX_WAIT ask
  // too seldom for a leak to stand out of the noise.
  const CASES = [
    [...BACKENDS[0], '1', 5000],
    [...BACKENDS[1], '0', 1500],
  ]
  for (const [name, env, sliceUs, MS] of CASES) {
    test(`does not grow the process's memory, however many slices it sleeps (${name})`, async () => {
      const d = new AtomicDict(16)
      const c = child(d, { cmd: 'worker-rss', key: 4, ms: MS }, { ...env, ATOMIC_DICT_TEST_SLICE_US: sliceUs })
      const { samples } = await c.next((m) => m.samples, 60_000)
      d.add(4n, 1n)
      d.notify(4n)
      assert.equal((await c.next((m) => m.result)).result, 'ok')
      assert.equal((await c.exited).code, 0)
      // A leak grows steadily: the lowest of the last samples against the
      // highest of the early ones (after the worker's start-up), so that
      // a passing spike of either counts for nothing.
      const early = Math.max(...samples.slice(1, 4))
      const late = Math.min(...samples.slice(-3))
      const growthMiB = (late - early) / 2 ** 20
      const mib = (b) => (b / 2 ** 20).toFixed(1)
      console.log(`# RSS ${mib(early)} MiB early, ${mib(late)} MiB late: ${growthMiB.toFixed(1)} MiB over ~${(MS * 0.6) / 1000} s of ${sliceUs} us slices (${name})`)
      assert.ok(growthMiB < 3, `RSS grew ${growthMiB.toFixed(1)} MiB while the worker waited`)
    })
  }
})

