'use strict'
// Every error has a documented code: Node's codes for bad arguments (unknown
// option names included), fs-style system errors with errno, syscall and
// path, and NOT_A_TABLE naming the file. A throwing call changes nothing.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { AtomicDict, AtomicSet, counters } = require('..')
const { MetricsStore } = require('../metrics')

const root = path.join(__dirname, '..')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-error-codes-'))
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))

function caught(fn) {
  try {
    fn()
  } catch (err) {
    return err
  }
  assert.fail('expected a throw')
}

test('every code thrown in lib/, metrics and src/binding is in docs/ERRORS.md', () => {
  const doc = fs.readFileSync(path.join(root, 'docs', 'ERRORS.md'), 'utf8')
  const files = []
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (/\.(js|rs)$/.test(e.name)) files.push(p)
    }
  }
  walk(path.join(root, 'lib'))
  walk(path.join(root, 'src', 'binding'))
  files.push(path.join(root, 'metrics.js'))
  const codes = new Set()
  for (const f of files) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/['"]((?:ERR_[A-Z0-9_]+)|ABORT_ERR)['"]/g)) codes.add(m[1])
  }
  assert.ok(codes.size >= 15, `found only ${codes.size} codes`)
  const missing = [...codes].filter((c) => !doc.includes('`' + c + '`'))
  assert.deepEqual(missing, [])
})

const tmp = (name) => path.join(dir, name)

// [call, class, code, message fragment]
const BAD = [
  [() => new AtomicDict(10, { valuebits: 32 }), TypeError, 'ERR_INVALID_ARG_VALUE', /options\.valuebits .*did you mean "valueBits"/],
  [() => new AtomicDict(10, { nope: 1 }), TypeError, 'ERR_INVALID_ARG_VALUE', /options\.nope is not an option of new AtomicDict\(\) \(they are: k64, k32, valueBits, signed, strings\)$/],
  [() => new AtomicSet(10, { valueBits: 32 }), TypeError, 'ERR_INVALID_ARG_VALUE', /options\.valueBits is not an option of new AtomicSet\(\)/],
  [() => AtomicDict.open(tmp('unknown'), { capacity: 10, Create: true }), TypeError, 'ERR_INVALID_ARG_VALUE', /options\.Create .*did you mean "create"/],
  [() => counters(['a'], { capcity: 5 }), TypeError, 'ERR_INVALID_ARG_VALUE', /options\.capcity is not an option of counters/],
  [() => new MetricsStore({ serie: 10 }), TypeError, 'ERR_INVALID_ARG_VALUE', /options\.serie is not an option of MetricsStore/],
  [() => new AtomicDict('10'), TypeError, 'ERR_INVALID_ARG_TYPE', /capacity must be a number/],
  [() => new AtomicDict(0), RangeError, 'ERR_OUT_OF_RANGE', /capacity/],
  [() => new AtomicDict(10, { k64: 0, k32: 0 }), RangeError, 'ERR_OUT_OF_RANGE', /k64 \+ options\.k32/],
  [() => new AtomicDict(10, { k64: 8, k32: 1 }), RangeError, 'ERR_OUT_OF_RANGE', /row must fit in 64 bytes/],
  [() => counters([]), RangeError, 'ERR_OUT_OF_RANGE', /at least one name/],
  [() => new AtomicDict(10).forEach(5), TypeError, 'ERR_INVALID_ARG_TYPE', /callback must be a function/],
  [() => new AtomicDict(10, { k64: 2 }).get([1n]), RangeError, 'ERR_INVALID_ARG_VALUE', /must have 2 parts/],
]

test('bad calls throw the right class and code, and make nothing', () => {
  for (const [fn, cls, code, message] of BAD) {
    const err = caught(fn)
    assert.ok(err instanceof cls, `${fn}: ${err}`)
    assert.equal(err.code, code, `${fn}: ${err.message}`)
    assert.match(err.message, message)
  }
  assert.equal(fs.existsSync(tmp('unknown')), false, 'open() with an unknown option created its file')
  assert.deepEqual(fs.readdirSync(dir), [])
})

test('system errors look like fs errors: code, negative errno, syscall, path', () => {
  const file = tmp('plain')
  fs.writeFileSync(file, 'x')
  const cases = [
    [() => AtomicDict.open(tmp('missing'), { create: false }), 'ENOENT', tmp('missing')],
    [() => AtomicDict.open(tmp('missing')), 'ENOENT', tmp('missing')],
    [() => AtomicDict.open(path.join(file, 'under'), { capacity: 10 }), 'ENOTDIR', path.join(file, 'under')],
    [() => AtomicDict.open(dir, { capacity: 10 }), 'EISDIR', dir],
  ]
  for (const [fn, code, where] of cases) {
    const err = caught(fn)
    const fsErr = caught(() => fs.openSync(where, 'r+'))
    assert.equal(err.code, code)
    assert.equal(err.errno, fsErr.errno, `${code}: errno as fs gives it`)
    assert.ok(err.errno < 0)
    assert.equal(err.syscall, 'open')
    assert.equal(err.path, where)
    assert.ok(err.message.includes(where), err.message)
    assert.doesNotMatch(err.message, /os error/)
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['plain'], 'a failed open left a file behind')
  fs.rmSync(file)
})

test('ERR_ATOMIC_DICT_NOT_A_TABLE names the file in its message and err.path', () => {
  for (const [name, bytes] of [['short', Buffer.from('x')], ['zeros', Buffer.alloc(4096)], ['empty', Buffer.alloc(0)]]) {
    const file = tmp(name)
    fs.writeFileSync(file, bytes, { mode: 0o600 })
    const err = caught(() => AtomicDict.open(file))
    assert.equal(err.code, 'ERR_ATOMIC_DICT_NOT_A_TABLE', err.message)
    assert.equal(err.path, file)
    assert.ok(err.message.includes(file), err.message)
    assert.deepEqual(fs.readFileSync(file), bytes, 'the file was changed')
    fs.rmSync(file)
  }
})

test('every error from a sample of bad calls has a code', async () => {
  const d = new AtomicDict(2)
  const calls = [
    () => d.add(1n, 'x'),
    () => d.add(0n, 1n),
    () => d.load(2n ** 64n),
    () => new AtomicDict(10, null),
    () => AtomicDict.open('', {}),
    () => AtomicDict.attach({}),
    () => counters(['a', 'a']),
    () => {
      d.add(1n, 1n)
      d.add(2n, 1n)
      d.add(3n, 1n)
    },
  ]
  for (const fn of calls) {
    const err = caught(fn)
    assert.equal(typeof err.code, 'string', `${fn}: ${err.message}`)
  }
  d.close()
  assert.equal(caught(() => d.load(1n)).code, 'ERR_ATOMIC_DICT_CLOSED')
  await assert.rejects(new AtomicDict(2).waitAsync(1n, 0n, { timeOut: 5 }), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_VALUE',
    message: /options\.timeOut .*did you mean "timeout"/,
  })
})
