'use strict'
// scripts/seccomp/seccomp-exec (the kernel matrix's launcher) refuses the
// system calls it is told to with the errno it is told to, and nothing
// else; and under it the blocking wait finds futex_waitv refused and sleeps
// with FUTEX_WAIT instead of failing, whether the refusal shows at the
// probe or only at the first real wait.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const IO_URING = ['io_uring_setup', 'io_uring_enter', 'io_uring_register']
const REFUSED_BY_KERNEL = ['ENOSYS', 'EPERM'] // what a call the kernel or a profile lacks answers

/** Builds the launcher (fails loudly without a C compiler); its path. */
function launcher() {
  const r = childProcess.spawnSync('bash', [path.join(ROOT, 'scripts', 'seccomp', 'build.sh')], { encoding: 'utf8' })
  assert.equal(r.status, 0, `scripts/seccomp/build.sh failed:\n${r.stderr}`)
  return r.stdout.trim()
}

/** Runs `args` (argv) and returns stdout, asserting exit 0. */
function run(args, env = {}) {
  const r = childProcess.spawnSync(args[0], args.slice(1), { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 })
  assert.equal(r.status, 0, `${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`)
  return r.stdout
}

/** `seccomp-exec --probe` output as { name: result }. */
function probe(filter) {
  const exe = launcher()
  const out = run(filter.length ? [exe, ...filter, '--', exe, '--probe'] : [exe, '--probe'])
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')))
}

describe('seccomp-exec', () => {
  test('--probe sees each known call answer as a kernel that has it does (here)', () => {
    const p = probe([])
    assert.deepEqual(Object.keys(p), [...IO_URING, 'futex_waitv', 'getppid'])
    assert.equal(p.getppid, 'ok')
    // Calls this process may make answer their argument errors; the
    // launcher's own checks below compare against these.
    for (const name of [...IO_URING, 'futex_waitv']) assert.notEqual(p[name], 'ok', name)
  })

  for (const errno of ['ENOSYS', 'EPERM']) {
    test(`refuses the denied calls with ${errno}, and only those`, () => {
      const plain = probe([])
      const all = probe(['--errno', errno, '--deny', [...IO_URING, 'futex_waitv'].join(',')])
      for (const name of [...IO_URING, 'futex_waitv']) assert.equal(all[name], errno, name)
      assert.equal(all.getppid, 'ok')
      const one = probe(['--errno', errno, '--deny', 'futex_waitv'])
      assert.equal(one.futex_waitv, errno)
      for (const name of IO_URING) assert.equal(one[name], plain[name], `${name} is not denied`)
      assert.equal(one.getppid, 'ok')
    })
  }

  test('--allow-if-arg1-zero lets a denied call with a zero second argument through', () => {
    const plain = probe([])
    const p = probe(['--errno', 'EPERM', '--deny', 'futex_waitv,io_uring_setup', '--allow-if-arg1-zero'])
    assert.equal(p.futex_waitv, plain.futex_waitv) // nr_futexes = 0: the probe passes
    assert.equal(p.io_uring_setup, plain.io_uring_setup) // params = NULL
    // A numeric system call (futex_waitv's) works as its name does.
    assert.equal(probe(['--errno', 'EINVAL', '--deny', '449']).futex_waitv, 'EINVAL')
  })

  test('refuses bad usage', () => {
    const exe = launcher()
    for (const args of [[], ['--deny', 'nope', '--', 'true'], ['--errno', 'EWHAT', '--deny', 'futex_waitv', '--', 'true'], ['--deny', 'futex_waitv']]) {
      const r = childProcess.spawnSync(exe, args, { encoding: 'utf8' })
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    }
  })
})

const WAIT_CHILD = `
const binding = require('./lib/binding')
const { AtomicDict } = require('.')
const before = binding.futexBackend()
const d = new AtomicDict(4)
const t = performance.now()
const result = d.wait(1n, 0n, 30)
console.log(JSON.stringify({ before, result, ms: performance.now() - t, after: binding.futexBackend() }))
`

describe('the blocking wait under a filter', () => {
  const kernelHasIt = () => probe([]).futex_waitv === 'EINVAL' // as has_waitv probes

  for (const errno of REFUSED_BY_KERNEL) {
    test(`futex_waitv refused with ${errno} at the probe: futex_wait, and waits work`, () => {
      const exe = launcher()
      const out = JSON.parse(run([exe, '--errno', errno, '--deny', 'futex_waitv', '--', process.execPath, '-e', WAIT_CHILD]))
      assert.deepEqual({ ...out, ms: undefined }, { before: 'futex_wait', result: 'timed-out', after: 'futex_wait', ms: undefined })
      assert.ok(out.ms >= 29, `${out.ms} ms`)
    })
  }

  for (const errno of [...REFUSED_BY_KERNEL, 'EINVAL']) {
    test(`futex_waitv refused with ${errno} only at the first real wait: the process switches to futex_wait, no error`, (t) => {
      if (!kernelHasIt()) return t.skip('this kernel (or an outer filter) refuses futex_waitv already: nothing to switch from') // the matrix runs this unfiltered too
      const exe = launcher()
      const out = JSON.parse(run([exe, '--errno', errno, '--deny', 'futex_waitv', '--allow-if-arg1-zero', '--', process.execPath, '-e', WAIT_CHILD]))
      assert.deepEqual({ ...out, ms: undefined }, { before: 'futex_waitv', result: 'timed-out', after: 'futex_wait', ms: undefined })
    })
  }

  test('without a filter, futexBackend() follows what the kernel answers', () => {
    const out = JSON.parse(run([process.execPath, '-e', WAIT_CHILD]))
    const want = kernelHasIt() ? 'futex_waitv' : 'futex_wait'
    assert.deepEqual({ ...out, ms: undefined }, { before: want, result: 'timed-out', after: want, ms: undefined })
    const off = JSON.parse(run([process.execPath, '-e', WAIT_CHILD], { ATOMIC_DICT_NO_FUTEX_WAITV: '1' }))
    assert.equal(off.before, 'futex_wait')
  })
})

const ASYNC_CHILD = `
const { AtomicDict } = require('.')
const { poolStats } = require('./lib/wait')
const d = new AtomicDict(8)
;(async () => {
  // A notify with no change of the value wakes an armed wait.
  const p = d.waitAsync(1n, 0n, 5000)
  await new Promise((resolve) => setTimeout(resolve, 50))
  let woken = 0
  for (let i = 0; i < 200 && woken === 0; i++) {
    woken = d.notify(1n)
    if (woken === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const notified = await p
  const timedOut = await d.waitAsync(2n, 0n, 20)
  // A change of the high half alone, then its notify.
  const q = d.waitAsync(3n, 0n, 5000)
  await new Promise((resolve) => setTimeout(resolve, 50))
  d.store(3n, 1n << 32n)
  d.notify(3n)
  const high = await q
  const s = poolStats()
  console.log(JSON.stringify({ notified, timedOut, high, backend: s.backend, why: s.fallbackReason }))
})()
`

describe('waitAsync under a filter', () => {
  const cases = [
    ['io_uring and futex_waitv', [...IO_URING, 'futex_waitv']],
    ['io_uring alone', IO_URING],
    ['io_uring_enter alone (setup and probe pass)', ['io_uring_enter']],
  ]
  for (const errno of REFUSED_BY_KERNEL) {
    for (const [what, calls] of cases) {
      test(`${what} refused with ${errno}: the threads backend, with the same results`, () => {
        const exe = launcher()
        const out = JSON.parse(run([exe, '--errno', errno, '--deny', calls.join(','), '--', process.execPath, '-e', ASYNC_CHILD]))
        assert.deepEqual(
          { ...out, why: undefined },
          { notified: 'ok', timedOut: 'timed-out', high: 'ok', backend: 'threads', why: undefined },
        )
        assert.match(out.why, /os error|lacks|answered/, 'the fallback says why')
      })
    }
  }

  test('without a filter: io_uring here (Linux 6.7+), with the same results', (t) => {
    const out = JSON.parse(run([process.execPath, '-e', ASYNC_CHILD]))
    assert.deepEqual({ ...out, backend: undefined, why: undefined }, { notified: 'ok', timedOut: 'timed-out', high: 'ok', backend: undefined, why: undefined })
    if (process.env.ATOMIC_DICT_EXPECT_BACKEND) assert.equal(out.backend, process.env.ATOMIC_DICT_EXPECT_BACKEND)
    else if (out.backend !== 'io_uring') t.diagnostic(`io_uring is not available here: ${out.why}`)
  })
})
