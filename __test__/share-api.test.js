'use strict'
// The sharing API behaves like Node's own: spawn/fork take every argument
// form child_process takes, shareOptions composes with child_process,
// cluster and anything taking stdio and env, shareWithCluster reaches only
// cluster workers and changes nothing global, a table cannot be posted to a
// thread as is, and loading the module has no side effects.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const { Worker, MessageChannel } = require('node:worker_threads')
const { AtomicDict, AtomicSet, Latch, Semaphore, counters, spawn, fork, shareOptions } = require('..')
const { MetricsStore } = require('../metrics')

const CHILD = path.join(__dirname, 'fixtures', 'share-api-child.js')
const PRIMARY = path.join(__dirname, 'fixtures', 'share-api-primary.js')
const ROOT = path.join(__dirname, '..')

const { reportOf } = require('./fixtures/report-of')

/** `fn` throws a TypeError with code ERR_INVALID_ARG_TYPE whose message matches. */
function throwsArgType(fn, message) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof TypeError, `not a TypeError: ${e}`)
    assert.equal(e.code, 'ERR_INVALID_ARG_TYPE')
    assert.match(e.message, message)
    return true
  })
}

describe('spawn and fork take every argument form child_process takes', () => {
  // Without arguments, node runs the script it reads from stdin.
  const stdin = `require(${JSON.stringify(CHILD)})`
  const spawnForms = {
    'args left out': (options) => spawn(process.execPath, options),
    'args undefined': (options) => spawn(process.execPath, undefined, options),
    'args null': (options) => spawn(process.execPath, null, options),
    'args an array': (options) => spawn(process.execPath, [], options),
  }
  for (const [form, call] of Object.entries(spawnForms)) {
    test(`spawn, ${form}: share, env and stdio all arrive`, async () => {
      const d = new AtomicDict(8)
      // stderr 'ignore' is seen as child.stderr === null (the default pipes it).
      const child = call({ share: { d }, env: { ...process.env, MY_VAR: form }, stdio: ['pipe', 'pipe', 'ignore'] })
      assert.equal(child.stderr, null)
      child.stdin.end(stdin)
      const report = await reportOf(child)
      assert.equal(report.myVar, form)
      assert.equal(report.added, 0)
      assert.equal(d.get(1n), 1n)
      d.close()
    })
  }

  const forkForms = {
    'args left out': (options) => fork(CHILD, options),
    'args undefined': (options) => fork(CHILD, undefined, options),
    'args null': (options) => fork(CHILD, null, options),
    'args an array': (options) => fork(CHILD, ['one'], options),
  }
  for (const [form, call] of Object.entries(forkForms)) {
    test(`fork, ${form}: share, env and stdio all arrive`, async () => {
      const d = new AtomicDict(8)
      // silent: stdout is piped (the default inherits it, child.stdout null).
      const child = call({ share: { d }, env: { ...process.env, MY_VAR: form }, silent: true })
      assert.notEqual(child.stdout, null)
      const report = await reportOf(child)
      assert.equal(report.myVar, form)
      assert.deepEqual(report.argv, form === 'args an array' ? ['one'] : [])
      assert.equal(report.added, 0)
      assert.equal(d.get(1n), 1n)
      d.close()
    })
  }

  test('args that is neither an array, an object nor null is ERR_INVALID_ARG_TYPE, as in Node', () => {
    const d = new AtomicDict(8)
    for (const args of [42, 'x', true, 1n]) {
      assert.throws(() => childProcess.spawn(process.execPath, args), { code: 'ERR_INVALID_ARG_TYPE' })
      throwsArgType(() => spawn(process.execPath, args, { share: { d } }), /^args must be an array/)
      throwsArgType(() => fork(CHILD, args, { share: { d } }), /^args must be an array/)
    }
    d.close()
  })
})

describe('shareOptions', () => {
  test('returns the stdio with the descriptors appended and the env naming them; the caller and process.env keep theirs', () => {
    const d = new AtomicDict(8)
    const s = new AtomicSet(8)
    const env = { MY_VAR: 'x' }
    const stdio = ['ignore', 'pipe', 'inherit']
    const before = JSON.stringify(process.env)
    const o = shareOptions({ d, s }, { stdio, env })
    assert.deepEqual(Object.keys(o).sort(), ['env', 'stdio'])
    assert.deepEqual(o.stdio.slice(0, 3), stdio)
    assert.equal(o.stdio.length, 5)
    assert.ok(o.stdio.slice(3).every((fd) => Number.isInteger(fd)))
    assert.deepEqual(Object.keys(o.env).sort(), ['ATOMIC_DICT_SHARED', 'MY_VAR'])
    const map = JSON.parse(o.env.ATOMIC_DICT_SHARED)
    assert.deepEqual([map.d.fd, map.d.kind, map.s.fd, map.s.kind], [3, 'dict', 4, 'set'])
    assert.deepEqual(stdio, ['ignore', 'pipe', 'inherit'])
    assert.deepEqual(env, { MY_VAR: 'x' })
    assert.equal(JSON.stringify(process.env), before)
    // Defaults: the env is process.env's copy; stdio as spawn's, or fork's with ipc.
    const plain = shareOptions({ d })
    assert.deepEqual(plain.stdio.slice(0, 3), ['pipe', 'pipe', 'pipe'])
    assert.equal(plain.env.PATH, process.env.PATH)
    assert.deepEqual(shareOptions({ d }, { ipc: true }).stdio.slice(0, 4), ['inherit', 'inherit', 'inherit', 'ipc'])
    assert.deepEqual(shareOptions({ d }, { ipc: true, silent: true }).stdio.slice(0, 4), ['pipe', 'pipe', 'pipe', 'ipc'])
    assert.deepEqual(shareOptions({ d }, { ipc: true, stdio: 'ignore' }).stdio.slice(0, 4), ['ignore', 'ignore', 'ignore', 'ipc'])
    d.close()
    s.close()
  })

  test('bad tables and options are TypeErrors: ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE for an unknown option', () => {
    const d = new AtomicDict(8)
    assert.throws(() => shareOptions({ d }, { share: { d } }), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'options.share is not an option of shareOptions() (they are: stdio, env, silent, ipc)',
    })
    assert.throws(() => shareOptions({ d }, { Stdio: 'pipe' }), { code: 'ERR_INVALID_ARG_VALUE', message: /; did you mean "stdio"\?$/ })
    throwsArgType(() => shareOptions({ d }, 'pipe'), /^options must be an object/)
    throwsArgType(() => shareOptions({ d }, { stdio: 42 }), /^options\.stdio must be/)
    throwsArgType(() => shareOptions({ d }, { env: 'A=1' }), /^options\.env must be an object/)
    throwsArgType(() => shareOptions({ d }, { ipc: 'yes' }), /^options\.ipc must be a boolean/)
    throwsArgType(() => shareOptions({ d }, { silent: 1 }), /^options\.silent must be a boolean/)
    throwsArgType(() => shareOptions(d), /^tables\.notClonable must be an AtomicDict or an AtomicSet/)
    throwsArgType(() => shareOptions([d]), /^tables must be an object/)
    throwsArgType(() => shareOptions({ d: {} }), /^tables\.d must be an AtomicDict or an AtomicSet/)
    d.close()
    assert.throws(() => shareOptions({ d }), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  })

  test('with child_process.spawn', async () => {
    const d = new AtomicDict(8)
    const child = childProcess.spawn(process.execPath, [CHILD], shareOptions({ d }, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MY_VAR: 'spawn' } }))
    const report = await reportOf(child)
    assert.deepEqual([report.myVar, report.added], ['spawn', 0])
    assert.equal(d.get(1n), 1n)
    d.close()
  })

  test('with child_process.fork (ipc: true)', async () => {
    const d = new AtomicDict(8)
    const child = childProcess.fork(CHILD, ['f'], shareOptions({ d }, { ipc: true, silent: true, env: { ...process.env, MY_VAR: 'fork' } }))
    assert.notEqual(child.channel, undefined)
    const report = await reportOf(child)
    assert.deepEqual([report.myVar, report.argv, report.added], ['fork', ['f'], 0])
    assert.equal(d.get(1n), 1n)
    d.close()
  })

  test('with cluster.setupPrimary({ stdio }) and cluster.fork(env)', async () => {
    const out = await runPrimary('shareOptions')
    assert.deepEqual([out.reports.worker.myVar, out.reports.worker.added], ['shareOptions', 0])
    assert.equal(out.value, 1)
    assert.equal(out.envUnchanged, true)
  })
})

function runPrimary(mode) {
  const primary = childProcess.fork(PRIMARY, [JSON.stringify({ mode })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    let out
    primary.on('message', (m) => (out = m))
    primary.on('error', reject)
    primary.on('exit', (code) => (code === 0 && out ? resolve(out) : reject(new Error(`primary exited ${code}`))))
  })
}

describe('shareWithCluster', () => {
  test('reaches cluster workers only, and changes neither process.env nor cluster.setupPrimary', async () => {
    const out = await runPrimary('cluster')
    const { worker, afterArgs, afterStdio, again, plainFork } = out.reports
    // The worker got the dict, and its own cluster.fork env.
    assert.deepEqual([worker.myVar, worker.added, worker.shared], ['worker', 0, null])
    // A later setupPrimary without stdio keeps the tables.
    assert.deepEqual([afterArgs.argv, afterArgs.added], [['kept'], 1])
    // One that sets stdio replaces them: documented, and said clearly.
    assert.equal(afterStdio.error, 'ERR_ATOMIC_DICT_NOT_SHARED')
    assert.equal(again.added, 2)
    // A plain child_process.fork of the primary inherits nothing by accident.
    assert.deepEqual([plainFork.argv, plainFork.shared, plainFork.error], [['plain'], null, 'ERR_ATOMIC_DICT_NOT_SHARED'])
    assert.equal(out.value, 3)
    assert.equal(out.envUnchanged, true)
    assert.equal(out.sameSetupPrimary, true)
    assert.equal(out.exitListeners, 0)
  })

  test('a shared table closed in the primary still reaches workers; the next call drops it; no descriptor piles up', async () => {
    const out = await runPrimary('closed')
    const { afterClose, afterNextCall } = out.reports
    assert.equal(afterClose.added, 41)
    assert.equal(afterNextCall.error, 'ERR_ATOMIC_DICT_NOT_SHARED')
    assert.equal(out.fdsGrew, 0)
  })
})

describe('a table posted to a thread as is fails loudly', () => {
  const HINT = /post table\.share\(\) and attach\(\) it in the thread.* could not be cloned/
  for (const Kind of [AtomicDict, AtomicSet]) {
    test(`${Kind.name}: workerData and postMessage throw a DataCloneError that says to use share() and attach()`, async () => {
      const t = new Kind(8)
      const cloneError = { name: 'DataCloneError', message: HINT }
      assert.throws(() => new Worker('', { eval: true, workerData: t }), cloneError)
      assert.throws(() => new Worker('', { eval: true, workerData: { nested: [t] } }), cloneError)
      const { port1, port2 } = new MessageChannel()
      assert.throws(() => port1.postMessage(t), cloneError)
      assert.throws(() => structuredClone(t), cloneError)
      port1.close()
      port2.close()
      // The descriptor of share() still goes through.
      if (Kind === AtomicDict) t.store(3n, 7n)
      else t.add(3n)
      const w = new Worker(
        `const { workerData, parentPort } = require('node:worker_threads')
         const { ${Kind.name} } = require(${JSON.stringify(ROOT)})
         const t = ${Kind.name}.attach(workerData)
         parentPort.postMessage(String(${Kind === AtomicDict ? 't.get(3n)' : 't.has(3n)'}))`,
        { eval: true, workerData: t.share() },
      )
      const [message] = await Promise.all([new Promise((r) => w.once('message', r)), new Promise((r) => w.once('exit', r))])
      assert.equal(message, Kind === AtomicDict ? '7' : 'true')
      t.close()
    })
  }

  test('slots, counters, latches, semaphores and metrics stores refuse to be cloned too', () => {
    const d = new AtomicDict(64)
    const c = counters(['a'])
    const store = new MetricsStore({ series: 8 })
    const objects = { slot: d.slot(1n), counters: c, latch: new Latch(d, 'l', 2), semaphore: new Semaphore(d, 's', 1), store }
    for (const [what, object] of Object.entries(objects)) {
      assert.throws(() => structuredClone(object), { name: 'DataCloneError', message: HINT }, what)
      assert.throws(() => new MessageChannel().port1.postMessage({ object }), { name: 'DataCloneError' }, what)
    }
    store.close()
    c.close()
    d.close()
  })

  test('the other names of operations are not enumerable, as methods are not', () => {
    const d = new AtomicDict(8)
    const inherited = []
    for (const key in d) if (!Object.hasOwn(d, key)) inherited.push(key)
    assert.deepEqual(inherited, [])
    assert.equal(d.band, d.and)
    assert.equal(d.slot(1n).compareExchange, d.slot(1n).cas)
    d.close()
  })

  test('the marker shows neither in JSON nor in util.inspect', () => {
    const a = new AtomicDict(8)
    a.add(1n, 2n)
    assert.equal(JSON.stringify({ a }), '{"a":[["1","2"]]}')
    assert.equal(require('node:util').inspect(a), 'AtomicDict(size 1 / capacity 8, 1 x u64 -> u64)')
    assert.deepStrictEqual(Object.keys(a), ['notClonable'])
    a.close()
  })
})

describe('shareWithCluster in a worker', () => {
  test('is ERR_ATOMIC_DICT_NOT_PRIMARY, and changes nothing', (t) => {
    const script = `
      const cluster = require('node:cluster')
      const { AtomicDict, shareWithCluster } = require(${JSON.stringify(path.join(__dirname, '..'))})
      if (cluster.isPrimary) {
        cluster.fork().on('exit', (code) => process.exit(code))
      } else {
        const before = JSON.stringify(process.env)
        try {
          shareWithCluster({ d: new AtomicDict(4) })
          process.stdout.write('no error')
        } catch (e) {
          process.stdout.write(JSON.stringify({ code: e.code, same: JSON.stringify(process.env) === before }))
        }
        process.exit(0)
      }`
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-not-primary-'))
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
    const file = path.join(dir, 'primary.js')
    fs.writeFileSync(file, script)
    const r = childProcess.spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 })
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), { code: 'ERR_ATOMIC_DICT_NOT_PRIMARY', same: true })
  })
})

describe('loading the module has no side effects', () => {
  test("require('atomic-dict') adds no listener, changes no env, patches nothing; the exit listener comes with the first table", () => {
    const script = `
      const cluster = require('node:cluster')
      const counts = () => Object.fromEntries(['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'uncaughtException', 'warning', 'message', 'disconnect'].map((e) => [e, process.listenerCount(e)]))
      const before = { counts: counts(), names: process.eventNames(), env: JSON.stringify(process.env), setupPrimary: cluster.setupPrimary, setupMaster: cluster.setupMaster }
      const { AtomicDict, AtomicSet } = require(${JSON.stringify(ROOT)})
      require(${JSON.stringify(path.join(ROOT, 'metrics'))})
      const same = {
        counts: JSON.stringify(counts()) === JSON.stringify(before.counts),
        names: JSON.stringify(process.eventNames()) === JSON.stringify(before.names),
        env: JSON.stringify(process.env) === before.env,
        setupPrimary: cluster.setupPrimary === before.setupPrimary && cluster.setupMaster === before.setupMaster,
      }
      const exitBefore = process.listenerCount('exit')
      const d = new AtomicDict(8)
      const first = process.listenerCount('exit') - exitBefore
      d.share()
      new AtomicSet(8).share()
      d.wait(1n, 0n, 0)
      console.log(JSON.stringify({ same, first, exitAdded: process.listenerCount('exit') - exitBefore }))
    `
    const out = childProcess.execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
    assert.deepEqual(JSON.parse(out), { same: { counts: true, names: true, env: true, setupPrimary: true }, first: 1, exitAdded: 1 })
  })
})
