'use strict'
// Process liveness through OFD locks (lib/contributors.js,
// src/contributors.rs) with real processes and threads: children that
// inherit a memfd table or open a named file, SIGKILL, claims without
// ready(), 8 processes claiming at once, worker threads, and errors.
// Every wait is bounded; every child is killed in t.after, even on failure.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { AtomicDict, AtomicSet, counters } = require('..')
const { fork } = require('../lib/spawn')
const { openContributors, MAX_SLOTS } = require('../lib/contributors')

const CONTRIBUTOR = path.join(__dirname, 'fixtures', 'contributor.js')
const MAX = 64
const WAIT_MS = 15000

/** Rejects after `ms` with a message naming `what`. */
function bounded(promise, what, ms = WAIT_MS) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The next message of type `type` from a child process or worker (rejects if it exits first). */
function message(emitter, type) {
  return bounded(
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m && m.type === type) {
          cleanup()
          resolve(m)
        }
      }
      const onExit = (code, signal) => {
        cleanup()
        reject(new Error(`exited (${code ?? signal}) before sending ${type}`))
      }
      const onError = (err) => {
        cleanup()
        reject(err)
      }
      const cleanup = () => {
        emitter.off('message', onMessage)
        emitter.off('exit', onExit)
        emitter.off('error', onError)
      }
      emitter.on('message', onMessage)
      emitter.on('exit', onExit)
      emitter.on('error', onError)
    }),
    `message ${type}`,
  )
}

/** Resolves once the child has exited (already, or later), with its signal. */
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode)
  return bounded(new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal))), `exit of ${child.pid}`)
}

/** SIGKILLs a child and waits until it is reaped (its 'exit' event). */
async function kill(child) {
  const done = exited(child)
  child.kill('SIGKILL')
  return done
}

/** A contributor child process; killed when the test ends, pass or fail. */
function child(t, { dict, path: file, args = [] } = {}) {
  const argv = file ? ['--open', file, ...args] : args
  const c = fork(CONTRIBUTOR, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(dict ? { share: { dict } } : {}) })
  t.after(() => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  })
  return c
}

/** Starts a child and waits for its claim: { child, slot, live }. */
async function claimed(t, opts) {
  const c = child(t, opts)
  const m = await message(c, 'claimed')
  return { child: c, slot: m.slot, live: m.live }
}

function tempPath(t, name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-contributors-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return path.join(dir, name)
}

test('children claim and ready slots, the parent sees them, a SIGKILLed one drops out at once and its slot is claimed again', async (t) => {
  const dict = new AtomicDict(MAX + 1)
  const parent = openContributors(dict)
  // The parent is a contributor too: its children reopen the table's file,
  // so inheriting the descriptor does not make them share its locks.
  assert.equal(parent.claim(MAX), 0)
  parent.ready()
  assert.deepEqual(parent.live(MAX), [0])

  const a = await claimed(t, { dict })
  const b = await claimed(t, { dict })
  const c = await claimed(t, { dict })
  assert.deepEqual([a.slot, b.slot, c.slot], [1, 2, 3])
  assert.deepEqual(c.live, [0, 1, 2, 3], 'a child sees the others and itself')
  assert.deepEqual(parent.live(MAX), [0, 1, 2, 3])
  assert.deepEqual(parent.live(3), [0, 1, 2])

  assert.equal(await kill(b.child), 'SIGKILL')
  assert.deepEqual(parent.live(MAX), [0, 1, 3], 'no wait beyond the reaping')

  const d = await claimed(t, { dict })
  assert.equal(d.slot, 2, 'the dead child\'s slot, the lowest free')
  assert.deepEqual(d.live, [0, 1, 2, 3])
  assert.equal(dict.get(3n), 1n, 'd cleared the slot\'s leftover and counted its own')

  // Two more deaths at once.
  await Promise.all([kill(a.child), kill(d.child)])
  assert.deepEqual(parent.live(MAX), [0, 3])
  parent.release()
  assert.deepEqual(openContributors(dict).live(MAX), [3])
})

test('a grandchild a contributor started does not keep its slot live (close-on-exec)', async (t) => {
  const dict = new AtomicDict(MAX + 1)
  const parent = openContributors(dict)
  const p = await claimed(t, { dict })
  p.child.send('spawn')
  const { pid } = await message(p.child, 'spawned')
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  })
  assert.deepEqual(parent.live(MAX), [p.slot])
  await kill(p.child)
  process.kill(pid, 0) // the grandchild is still running
  assert.deepEqual(parent.live(MAX), [], 'the grandchild holds no reference to the open file description')
})

test('a child that claimed but never called ready() is never live', async (t) => {
  const dict = new AtomicDict(MAX + 1)
  const parent = openContributors(dict)
  const lazy = await claimed(t, { dict, args: ['--no-ready'] })
  const busy = await claimed(t, { dict })
  assert.deepEqual([lazy.slot, busy.slot], [0, 1])
  assert.deepEqual(lazy.live, [], 'nobody was ready yet')
  assert.deepEqual(parent.live(MAX), [1])
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.deepEqual(parent.live(MAX), [1])
  // Its slot is owned, though: the parent gets the next free one.
  assert.equal(parent.claim(MAX), 2)
  parent.release()

  // release() over IPC: the slot stops counting, then is free.
  busy.child.send('release')
  assert.equal((await message(busy.child, 'released')).slot, -1)
  assert.deepEqual(parent.live(MAX), [])
  assert.equal(parent.claim(MAX), 1)

  await kill(lazy.child)
  const next = await claimed(t, { dict })
  assert.equal(next.slot, 0)
  assert.deepEqual(parent.live(MAX), [0])
})

test('8 processes started at the same moment all get distinct slots', async (t) => {
  const dict = new AtomicDict(MAX + 1)
  const kids = Array.from({ length: 8 }, () => child(t, { dict, args: ['--wait-go'] }))
  await Promise.all(kids.map((k) => message(k, 'waiting')))
  const claims = kids.map((k) => message(k, 'claimed'))
  for (const k of kids) k.send('go')
  const slots = (await Promise.all(claims)).map((m) => m.slot)
  assert.deepEqual(slots.toSorted((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7], `slots ${slots}`)
  const parent = openContributors(dict)
  assert.deepEqual(parent.live(MAX), [0, 1, 2, 3, 4, 5, 6, 7])
  assert.deepEqual(parent.live(8), [0, 1, 2, 3, 4, 5, 6, 7])
  // Every one cleared and counted its own slot.
  for (const s of slots) assert.equal(dict.get(BigInt(s) + 1n), 1n)

  // SIGKILL all but slot 5's holder: only it is left.
  const keep = kids[slots.indexOf(5)]
  await Promise.all(kids.filter((k) => k !== keep).map(kill))
  assert.deepEqual(parent.live(MAX), [5])
})

test('unrelated processes opening a named file: live across them, dropped at SIGKILL', async (t) => {
  const file = tempPath(t, 'table')
  const dict = AtomicDict.open(file, { capacity: MAX + 1 })
  const a = await claimed(t, { path: file })
  const b = await claimed(t, { path: file })
  assert.deepEqual([a.slot, b.slot], [0, 1])
  const mine = openContributors(dict)
  assert.deepEqual(mine.live(MAX), [0, 1])
  await kill(a.child)
  assert.deepEqual(mine.live(MAX), [1])

  // Unlinked: processes that have it open keep using it.
  fs.unlinkSync(file)
  assert.equal(mine.claim(MAX), 0)
  mine.ready()
  assert.deepEqual(mine.live(MAX), [0, 1])
  await kill(b.child)
  assert.deepEqual(mine.live(MAX), [0])
})

test('cluster workers: live in the primary, a SIGKILLed worker drops out', async (t) => {
  const primary = childProcess.spawn(process.execPath, [path.join(__dirname, 'fixtures', 'contributors-cluster.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.after(() => {
    if (primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL')
  })
  let out = ''
  primary.stdout.setEncoding('utf8')
  primary.stdout.on('data', (s) => (out += s))
  const code = await bounded(new Promise((resolve) => primary.once('exit', resolve)), 'the cluster primary')
  assert.equal(code, 0, out)
  const r = JSON.parse(out)
  assert.deepEqual(r.slots, [0, 1, 2])
  assert.deepEqual(r.before, [0, 1, 2])
  assert.equal(r.signal, 'SIGKILL')
  assert.deepEqual(r.after, [0, 2])
})

test('worker threads are contributors of their own; a terminated one drops out', async (t) => {
  const dict = new AtomicDict(MAX + 1)
  const main = openContributors(dict)
  assert.equal(main.claim(MAX), 0)
  main.ready()
  const workers = []
  const start = () => {
    const w = new Worker(CONTRIBUTOR, { workerData: { descriptor: dict.share(), max: MAX } })
    workers.push(w)
    return w
  }
  t.after(() => Promise.all(workers.map((w) => w.terminate())))
  const w1 = start()
  const w2 = start()
  const [s1, s2] = await Promise.all([message(w1, 'claimed'), message(w2, 'claimed')]).then((ms) => ms.map((m) => m.slot))
  assert.deepEqual([s1, s2].sort(), [1, 2], 'distinct from each other and from the main thread')
  assert.deepEqual(main.live(MAX), [0, 1, 2])

  await bounded(w1.terminate(), 'terminate w1')
  assert.deepEqual(main.live(MAX), [0, s2], 'the terminated thread\'s object was finalized')

  // A worker that ends by itself lets go as well.
  const exit = bounded(new Promise((resolve) => w2.once('exit', resolve)), 'exit of w2')
  w2.postMessage('exit')
  await exit
  assert.deepEqual(main.live(MAX), [0])
})

test('an AtomicSet and Counters work as well', () => {
  const set = new AtomicSet(4)
  const a = openContributors(set)
  const b = openContributors(set)
  assert.equal(a.claim(2), 0)
  a.ready()
  assert.deepEqual(b.live(2), [0])
  const gauges = counters(['inflight'])
  const c = openContributors(gauges)
  assert.equal(c.claim(2), 0, 'another table, other locks')
})

test('the contributor outlives its table object, and a closed table is refused', () => {
  const dict = new AtomicDict(4)
  const a = openContributors(dict)
  const b = openContributors(dict)
  assert.equal(a.claim(4), 0)
  a.ready()
  dict.close()
  assert.deepEqual(b.live(4), [0], 'b has its own descriptor')
  assert.throws(() => openContributors(dict), { code: 'ERR_ATOMIC_DICT_CLOSED' })
})

test('bad arguments', () => {
  const dict = new AtomicDict(4)
  for (const bad of [undefined, null, {}, 3, dict.slot(1n)]) {
    assert.throws(() => openContributors(bad), TypeError)
  }
  const c = openContributors(dict)
  assert.equal(c.slot, -1)
  assert.throws(() => c.ready(), { code: 'ERR_INVALID_ARG_VALUE', message: /claim\(\) first/ })
  for (const max of [0, -1, 1.5, MAX_SLOTS + 1, NaN, Infinity]) {
    assert.throws(() => c.claim(max), RangeError, String(max))
    assert.throws(() => c.live(max), RangeError, String(max))
  }
  for (const max of ['4', 4n, null]) {
    assert.throws(() => c.claim(max), TypeError)
    assert.throws(() => c.live(max), TypeError)
  }
  assert.equal(c.claim(1), 0)
  assert.equal(c.slot, 0)
  assert.throws(() => c.claim(1), { code: 'ERR_INVALID_ARG_VALUE', message: /already holds slot 0/ })
  assert.equal(openContributors(dict).claim(1), -1, 'none free')
  c.release()
  c.release()
  assert.equal(c.slot, -1)

  // The native layer checks the same on its own.
  const binding = require('../lib/binding')
  const native = require('../lib/native')
  const raw = native.call(binding.openContributors, native.call(() => require('../lib/table-memory').internals.get(dict).native.fd()))
  assert.throws(() => native.call(() => raw.claim(0)), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => native.call(() => raw.live(MAX_SLOTS + 1)), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => native.call(() => raw.ready()), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => native.call(binding.openContributors, -1), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => native.call(binding.openContributors, 987654), { code: 'EBADF' })
  const devNull = fs.openSync('/dev/null', 'r+')
  try {
    assert.throws(() => native.call(binding.openContributors, devNull), { code: 'ERR_ATOMIC_DICT_NOT_A_TABLE' })
  } finally {
    fs.closeSync(devNull)
  }
})

test('without /proc, opening a contributor fails with the OS error', (t) => {
  // A private mount namespace without /proc (needs root or user namespaces).
  const script = `
    const { AtomicDict } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const { openContributors } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'contributors'))})
    const dict = new AtomicDict(4)
    let result
    try { openContributors(dict); result = { ok: true } } catch (e) { result = { ok: false, code: e.code, message: e.message } }
    process.stdout.write(JSON.stringify(result))
  `
  const run = childProcess.spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', 'umount -l /proc && exec "$0" -e "$1"', process.execPath, script],
    { encoding: 'utf8', timeout: WAIT_MS },
  )
  if (run.error || run.status !== 0 || !run.stdout) {
    t.skip(`cannot run without /proc here: ${run.error?.message ?? run.stderr.trim()}`)
    return
  }
  const result = JSON.parse(run.stdout)
  assert.equal(result.ok, false)
  assert.equal(result.code, 'ENOENT')
  assert.match(result.message, /\/proc\/self\/fd is missing \(\/proc is not mounted/)
})

test('close() lets go of the slot and closes the descriptor at once (not at collection); later claims fail', () => {
  const dict = new AtomicDict(8)
  const fds = () => fs.readdirSync('/proc/self/fd').length
  const before = fds()
  const made = []
  for (let i = 0; i < 50; i++) made.push(openContributors(dict))
  assert.equal(fds(), before + 50)
  const first = made[0]
  assert.equal(first.claim(4), 0)
  first.ready()
  const other = made[1]
  assert.equal(other.claim(4), 1)
  for (const c of made) c.close()
  assert.equal(fds(), before) // the objects are still reachable: closed, not collected
  assert.throws(() => first.claim(4), /closed/)
  const next = openContributors(dict)
  assert.equal(next.claim(4), 0) // slot 0 is free again
  next.close()
  dict.close()
})
