'use strict'
// Counters: named counters and gauges shared like a table. Processes and
// threads that list the same names in any order reach the same values.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { AtomicDict, AtomicDictFullError, Counters, counters, fork, stringKey } = require('..')

const CHILD = path.join(__dirname, 'fixtures', 'counters-child.js')
const NAMES = ['requests', 'errors', 'bytes', 'inFlight']

/** Runs a child to its end; resolves with its one IPC message. */
function run(child) {
  return new Promise((resolve, reject) => {
    let reply
    let stderr = ''
    child.stderr?.on('data', (d) => (stderr += d))
    child.on('message', (m) => (reply = m))
    child.on('error', reject)
    child.on('exit', (code, signal) =>
      code === 0 && reply ? resolve(reply) : reject(new Error(`child: exit ${code ?? signal}, reply ${JSON.stringify(reply)}\n${stderr}`)),
    )
  })
}

function shuffled(names, seed) {
  const out = [...names]
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    const j = seed % (i + 1)
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

test('counters count: add and sub default to 1, return the value before', () => {
  const c = counters(NAMES, { signed: true })
  assert.equal(c.add('requests'), 0n)
  assert.equal(c.add('requests'), 1n)
  assert.equal(c.add('bytes', 512n), 0n)
  assert.equal(c.add('bytes', 512), 512n)
  assert.equal(c.sub('inFlight'), 0n)
  assert.equal(c.get('inFlight'), -1n)
  assert.equal(c.sub('inFlight', -3n), -1n)
  assert.equal(c.swap('errors', 5n), 0n)
  assert.equal(c.cas('errors', 5n, 6n), 5n)
  assert.equal(c.cas('errors', 5n, 7n), 6n)
  assert.equal(c.set('errors', 9n), c)
  assert.deepEqual(c.snapshot(), { requests: 2n, errors: 9n, bytes: 1024n, inFlight: 2n })
  assert.deepEqual(c.entries(), [['requests', 2n], ['errors', 9n], ['bytes', 1024n], ['inFlight', 2n]])
  assert.deepEqual(c.names, NAMES)
  assert.ok(Object.isFrozen(c.names))
  assert.equal(Object.prototype.toString.call(c), '[object Counters]')
  assert.ok(c instanceof Counters)
})

test('reset zeroes every counter and returns the values before', () => {
  const c = counters(['a', 'b'])
  c.add('a', 3n)
  c.add('b', 4n)
  assert.deepEqual(c.reset(), { a: 3n, b: 4n })
  assert.deepEqual(c.snapshot(), { a: 0n, b: 0n })
})

test('the table underneath holds each name under its string key', () => {
  const c = counters(['x', 'y'], { capacity: 10 })
  c.add('x', 5n)
  assert.equal(c.table.capacity, 10)
  assert.equal(c.table.size, 2)
  assert.equal(c.table.get(stringKey('x')), 5n)
  assert.equal(c.table.get('y'), 0n)
  assert.equal(c.slot('x').add(1n), 5n)
  assert.equal(c.get('x'), 6n)
  assert.equal(counters(['a']).table.capacity, 256)
  assert.equal(counters(Array.from({ length: 300 }, (_, i) => `n${i}`)).table.capacity, 300)
})

test('32-bit counters are numbers; unsigned ones wrap', () => {
  const c = counters(['hits', 'level'], { valueBits: 32 })
  assert.equal(c.add('hits'), 0)
  assert.equal(c.add('hits', 2), 1)
  assert.equal(c.get('hits'), 3)
  assert.equal(c.sub('level'), 0)
  assert.equal(c.get('level'), 2 ** 32 - 1)
  const g = counters(['level'], { valueBits: 32, signed: true })
  g.sub('level', 2)
  assert.deepEqual(g.snapshot(), { level: -2 })
})

test('a name that is not a counter, or a bad value, throws and changes nothing', () => {
  const c = counters(['a', 'b'])
  c.add('a')
  const bad = [
    [() => c.add('c'), TypeError, /^name must be one of "a", "b", got "c"$/],
    [() => c.get('A'), TypeError, /^name must be one of/],
    [() => c.add(1), TypeError, /^name must be a string, got 1$/],
    [() => c.add(stringKey('a')), TypeError, /^name must be a string/],
    [() => c.add('a', 2n ** 64n), RangeError, /^delta must be/],
    [() => c.add('a', 1.5), RangeError, /^delta must be/],
    [() => c.set('a', 'x'), TypeError, /^value must be/],
    [() => c.cas('a', 1n, null), TypeError, /^desired must be/],
    [() => c.slot('z'), TypeError, /^name must be one of/],
  ]
  for (const [fn, type, message] of bad) assert.throws(fn, (e) => e instanceof type && message.test(e.message))
  assert.deepEqual(c.snapshot(), { a: 1n, b: 0n })
  assert.equal(c.table.size, 2)
})

test('bad names and options are refused with errors naming them', () => {
  const bad = [
    [() => counters('a'), TypeError, /^names must be an array of strings/],
    [() => counters([]), RangeError, /^names must hold at least one name/],
    [() => counters(['a', 'a']), RangeError, /^names must not repeat a name, got "a" twice/],
    [() => counters(['a', 1]), TypeError, /^names\[1\] must be a string, got 1/],
    [() => counters(['\uD800']), TypeError, /^names\[0\] must be a well-formed string/],
    [() => counters(['a'], { k64: 2 }), TypeError, /^options\.k64 is not an option of counters/],
    [() => counters(['a'], { valueBits: 16 }), RangeError, /^options\.valueBits must be 32 or 64/],
    [() => counters(['a'], { capacity: 0 }), RangeError, /^capacity must be/],
    [() => counters(['a'], null), TypeError, /^options must be an object/],
    [() => counters(['a', 'b', 'c'], { capacity: 2 }), AtomicDictFullError, /full/],
    [() => Counters.inherit('nothing', ['a']), Error, /no table was shared/],
  ]
  for (const [fn, type, message] of bad) assert.throws(fn, (e) => e instanceof type && message.test(e.message))
})

test('closed counters throw ERR_ATOMIC_DICT_CLOSED', () => {
  const c = counters(['a'])
  c.close()
  for (const fn of [() => c.add('a'), () => c.get('a'), () => c.set('a', 1n), () => c.snapshot(), () => c.reset()]) {
    assert.throws(fn, { code: 'ERR_ATOMIC_DICT_CLOSED' })
  }
})

test('a worker thread attaching with the names in another order sees the same counters', async () => {
  const c = counters(NAMES, { signed: true })
  c.add('requests', 10n)
  const code = `
    const { workerData, parentPort } = require('node:worker_threads')
    const { Counters } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const c = Counters.attach(workerData.d, workerData.names, { signed: true })
    for (let i = 0; i < 10000; i++) { c.add('requests'); c.sub('inFlight') }
    parentPort.postMessage(String(c.get('requests')))
  `
  const workers = [0, 1].map(
    (i) => new Worker(code, { eval: true, workerData: { d: c.share(), names: shuffled(NAMES, i + 1) } }),
  )
  for (let i = 0; i < 10000; i++) c.add('requests')
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => (w.on('message', resolve), w.on('error', reject)))))
  assert.deepEqual(c.snapshot(), { requests: 30010n, errors: 0n, bytes: 0n, inFlight: -20000n })
  assert.equal(c.table.size, NAMES.length)
})

test('forked processes listing the names in any order count exactly together', async () => {
  const c = counters(NAMES, { signed: true })
  const rounds = 20000
  const children = [0, 1, 2, 3].map((i) =>
    run(
      fork(CHILD, [JSON.stringify({ how: 'inherit', names: shuffled(NAMES, i + 7), rounds })], {
        share: { metrics: c },
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      }),
    ),
  )
  const replies = await Promise.all(children)
  for (const r of replies) {
    assert.equal(r.created, false)
    assert.equal(r.adds, rounds * 3)
  }
  assert.deepEqual(c.snapshot(), { requests: 80000n, errors: 80000n, bytes: 160000n, inFlight: 0n })
  assert.equal(c.table.size, NAMES.length)
})

test('cluster workers share counters through shareWithCluster', async () => {
  const config = { how: 'cluster', names: NAMES, rounds: 10000 }
  const child = childProcess.fork(CHILD, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] })
  const reply = await run(child)
  assert.deepEqual(reply.adds, [30000, 30000, 30000])
  assert.deepEqual(reply.snapshot, { requests: '30000', errors: '30000', bytes: '60000', inFlight: '0' })
})

test('unrelated processes open the same named file (pm2 style) and count exactly', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-counters-'))
  const file = path.join(dir, 'metrics')
  try {
    const rounds = 10000
    const children = [0, 1, 2].map((i) =>
      run(
        childProcess.fork(CHILD, [JSON.stringify({ how: 'open', path: file, names: shuffled(NAMES, i + 3), rounds })], {
          stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
        }),
      ),
    )
    const replies = await Promise.all(children)
    assert.equal(replies.filter((r) => r.created).length, 1, 'exactly one process created the file')
    // The shape is stated as the children stated it (left out, signed is false: refused).
    assert.throws(() => Counters.open(file, NAMES, { create: false }), { code: 'ERR_ATOMIC_DICT_GEOMETRY', message: /signed true \(asked false, the default\)/ })
    const c = Counters.open(file, ['inFlight', 'bytes', 'errors', 'requests'], { create: false, signed: true })
    assert.equal(c.created, false)
    assert.deepEqual(c.snapshot(), { inFlight: 0n, bytes: 60000n, errors: 30000n, requests: 30000n })
    assert.equal(c.table.capacity, 256)
    c.close()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('counters refuse a table of another shape', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-counters-'))
  try {
    const pairs = path.join(dir, 'pairs')
    AtomicDict.open(pairs, { capacity: 10, k64: 1, k32: 1 }).close()
    assert.throws(() => Counters.open(pairs, ['a']), { code: 'ERR_ATOMIC_DICT_GEOMETRY', message: /k32 1 \(asked 0, the default\)/ })
    assert.throws(() => Counters.open(pairs, ['a'], { valueBits: 32 }), { code: 'ERR_ATOMIC_DICT_GEOMETRY', message: /k32 1 \(asked 0, the default\)/ })
    const narrow = path.join(dir, 'narrow')
    counters(['a']).close()
    Counters.open(narrow, ['a'], { valueBits: 32 }).close()
    assert.throws(() => Counters.open(narrow, ['a'], { valueBits: 64 }), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
    assert.throws(() => Counters.attach(new AtomicDict(4, { k64: 2 }).share(), ['a']), {
      code: 'ERR_ATOMIC_DICT_GEOMETRY',
    })
    const c = counters(['a'], { valueBits: 32 })
    assert.throws(() => Counters.attach(c.share(), ['a'], { valueBits: 64 }), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
    assert.throws(() => Counters.attach(c.share(), ['a'], { signed: true }), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
    // Left out, valueBits and signed are their defaults (64, false), checked as given ones are.
    assert.throws(() => Counters.attach(c.share(), ['a']), { code: 'ERR_ATOMIC_DICT_GEOMETRY', message: /valueBits 32 \(asked 64\)/ })
    const signed = counters(['a'], { signed: true })
    assert.throws(() => Counters.attach(signed.share(), ['a']), { code: 'ERR_ATOMIC_DICT_GEOMETRY', message: /signed true \(asked false\)/ })
    assert.equal(Counters.attach(signed.share(), ['a'], { signed: true }).sub('a'), 0n)
    assert.equal(signed.get('a'), -1n)
    // More names than the table has room for.
    const small = counters(['a'], { capacity: 2 })
    assert.throws(() => Counters.attach(small.share(), ['a', 'b', 'c']), AtomicDictFullError)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
