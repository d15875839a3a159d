'use strict'
// `npx atomic-dict inspect <path>` (bin/atomic-dict.js), run as a child
// process on real files: exact geometry, sizes and entries (text and JSON),
// probe statistics, --limit, files that are not tables, usage errors, and
// that inspecting needs only read permission and never changes the file.

const { test, describe, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const childProcess = require('node:child_process')
const { AtomicDict, AtomicSet } = require('..')

const BIN = path.join(__dirname, '..', 'bin', 'atomic-dict.js')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-inspect-test-'))
after(() => fs.rmSync(dir, { recursive: true, force: true }))

let counter = 0
function fresh(name) {
  return path.join(dir, `${name}-${++counter}`)
}

/** Runs the bin; returns { status, stdout, stderr }. */
function run(...args) {
  const r = childProcess.spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 })
  if (r.error) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** `inspect <file> --json ...`, parsed; asserts success. */
function inspectJSON(file, ...args) {
  const r = run('inspect', file, '--json', ...args)
  assert.equal(r.stderr, '')
  assert.equal(r.status, 0)
  return JSON.parse(r.stdout)
}

/** docs/FORMAT.md's geometry, computed here independently of the package. */
function expectedGeometry({ kind = 'dict', capacity, k64 = 1, k32 = 0, valueBits = 64, signed = false }) {
  const valueBytes = kind === 'set' ? 0 : valueBits / 8
  const keyBytes = 8 * k64 + 4 * k32
  const valueOffset = valueBytes ? Math.ceil(keyBytes / valueBytes) * valueBytes : keyBytes
  const align = k64 > 0 || valueBytes === 8 ? 8 : 4
  const rowBytes = Math.ceil((valueOffset + valueBytes) / align) * align
  const rowsPerBlock = Math.floor(64 / rowBytes)
  const isPrime = (n) => {
    for (let d = 2; d * d <= n; d++) if (n % d === 0) return false
    return n >= 2
  }
  let blockCount = Math.max(2, Math.ceil(Math.ceil((capacity * 4) / 3) / rowsPerBlock))
  while (!isPrime(blockCount)) blockCount++
  const tableBytes = 128 + 64 * blockCount
  return {
    kind,
    capacity,
    k64,
    k32,
    valueBits: kind === 'set' ? 0 : valueBits,
    signed,
    blockCount,
    rowsPerBlock,
    rowBytes,
    rows: blockCount * rowsPerBlock,
    tableBytes,
    fileBytes: tableBytes,
  }
}

/** Keys of JSON entries in a canonical string form, for set comparison. */
function keyText(key) {
  return JSON.stringify(key)
}

function checkProbe(probe, size) {
  assert.equal(probe.count, size)
  assert.equal(probe.histogram.reduce((a, b) => a + b, 0), size)
  if (size > 0) {
    assert.equal(probe.histogram.length, probe.max + 1)
    assert.equal(probe.histogram[0], 0)
    const weighted = probe.histogram.reduce((a, n, len) => a + n * len, 0)
    assert.ok(Math.abs(probe.mean - weighted / size) < 1e-9)
  } else {
    assert.deepEqual(probe.histogram, [])
  }
}

describe('inspect --json', () => {
  test('a one-part 64-bit dict: geometry, size, exact entries, probe stats', () => {
    const file = fresh('one')
    const d = AtomicDict.open(file, { capacity: 1000 })
    const stored = new Map()
    for (let i = 1n; i <= 500n; i++) {
      const key = i * 0x9e3779b97f4a7c15n & 0xffff_ffff_ffff_ffffn
      const value = i === 7n ? 0xffff_ffff_ffff_ffffn : i * 1000n
      d.store(key, value)
      stored.set(key.toString(), value.toString())
    }
    d.store(2n ** 64n - 1n, 1n) // the largest key
    stored.set((2n ** 64n - 1n).toString(), '1')
    d.close()

    const r = inspectJSON(file)
    assert.equal(r.path, file)
    assert.deepEqual(r.geometry, expectedGeometry({ capacity: 1000 }))
    assert.deepEqual(r.geometry, {
      kind: 'dict',
      capacity: 1000,
      k64: 1,
      k32: 0,
      valueBits: 64,
      signed: false,
      blockCount: 337,
      rowsPerBlock: 4,
      rowBytes: 16,
      rows: 1348,
      tableBytes: 21696,
      fileBytes: 21696,
    })
    assert.equal(fs.statSync(file).size, r.geometry.fileBytes)
    assert.equal(r.size, 501)
    assert.equal(r.keys, 501)
    assert.equal(r.omitted, 0)
    assert.equal(r.loadFactor, 501 / 1000)
    assert.equal(r.rowOccupancy, 501 / 1348)
    assert.equal(r.verify.ok, true)
    assert.deepEqual(r.verify, {
      ok: true,
      entries: 501,
      reserved: 501,
      completeRows: 501,
      partialRows: 0,
      duplicateKeys: 0,
      unreachableKeys: 0,
      strings: 0,
      badStrings: 0,
      problems: [],
    })
    checkProbe(r.probe, 501)
    assert.equal(r.entries.length, 501)
    const got = new Map(r.entries.map(({ key, value }) => [key, value]))
    assert.equal(got.size, 501)
    assert.deepEqual(got, stored)
    for (const e of r.entries) {
      assert.equal(typeof e.key, 'string', 'a one-part key is bare; 64-bit numbers are strings')
      assert.equal(typeof e.value, 'string')
    }
  })

  test('a composite-key, 32-bit signed dict: keys as arrays, 32-bit parts and values as numbers', () => {
    const file = fresh('composite')
    const opts = { capacity: 100, k64: 1, k32: 2, valueBits: 32, signed: true }
    const d = AtomicDict.open(file, opts)
    const stored = new Map()
    for (let i = 1; i <= 60; i++) {
      const key = [BigInt(i) << 40n, i, 0xffff_ffff - i]
      const value = i % 2 ? -i * 1000 : i === 2 ? -(2 ** 31) : 2 ** 31 - 1 - i
      d.store(key, value)
      stored.set(keyText([key[0].toString(), key[1], key[2]]), value)
    }
    // Kept open while inspected: a live table.
    const r = inspectJSON(file)
    d.close()
    assert.deepEqual(r.geometry, expectedGeometry({ ...opts }))
    assert.equal(r.geometry.rowBytes, 24)
    assert.equal(r.size, 60)
    assert.equal(r.verify.ok, true)
    checkProbe(r.probe, 60)
    const got = new Map(r.entries.map(({ key, value }) => [keyText(key), value]))
    assert.equal(got.size, 60)
    assert.deepEqual(got, stored)
    for (const { key, value } of r.entries) {
      assert.equal(key.length, 3)
      assert.equal(typeof key[0], 'string')
      assert.equal(typeof key[1], 'number')
      assert.equal(typeof key[2], 'number')
      assert.equal(typeof value, 'number')
    }
  })

  test('a signed 64-bit dict: negative values as decimal strings', () => {
    const file = fresh('signed64')
    const d = AtomicDict.open(file, { capacity: 4, signed: true })
    d.sub(5n, 3n)
    d.store(6n, -(2n ** 63n))
    d.close()
    const r = inspectJSON(file)
    assert.equal(r.geometry.signed, true)
    const got = new Map(r.entries.map(({ key, value }) => [key, value]))
    assert.deepEqual(got, new Map([['5', '-3'], ['6', (-(2n ** 63n)).toString()]]))
  })

  test('a set: keys only', () => {
    const file = fresh('set')
    const s = AtomicSet.open(file, { capacity: 50 })
    const stored = new Set()
    for (let i = 1n; i <= 40n; i++) {
      s.add(i * i * 1_000_003n)
      stored.add((i * i * 1_000_003n).toString())
    }
    s.close()
    const r = inspectJSON(file)
    assert.deepEqual(r.geometry, expectedGeometry({ kind: 'set', capacity: 50 }))
    assert.equal(r.geometry.valueBits, 0)
    assert.equal(r.size, 40)
    checkProbe(r.probe, 40)
    assert.deepEqual(new Set(r.entries.map((e) => e.key)), stored)
    for (const e of r.entries) assert.deepEqual(Object.keys(e), ['key'])
  })

  test('a composite-key set of 32-bit parts', () => {
    const file = fresh('set32')
    const s = AtomicSet.open(file, { capacity: 10, k64: 0, k32: 2 })
    s.add([1, 2])
    s.add([0xffff_ffff, 3])
    s.close()
    const r = inspectJSON(file)
    assert.deepEqual(r.geometry, expectedGeometry({ kind: 'set', capacity: 10, k64: 0, k32: 2 }))
    assert.deepEqual(new Set(r.entries.map((e) => keyText(e.key))), new Set(['[1,2]', '[4294967295,3]']))
  })

  test('an empty table', () => {
    const file = fresh('empty-table')
    AtomicDict.open(file, { capacity: 3 }).close()
    const r = inspectJSON(file)
    assert.equal(r.size, 0)
    assert.deepEqual(r.entries, [])
    assert.deepEqual(r.probe, { count: 0, max: 0, mean: 0, histogram: [] })
    assert.equal(r.verify.ok, true)
  })

  test('keys forced into one home block have probe lengths over 1', () => {
    // Capacity 12: 5 blocks of 4 rows. Six keys with the same home block
    // (the core's probe, through the binding's probeOf): four fit there,
    // two go on along their probe sequences.
    const { probeOf: probe } = require('../lib/binding')
    const file = fresh('collide')
    const d = AtomicDict.open(file, { capacity: 12 })
    const home = probe([1n], 5).block
    const keys = []
    for (let k = 1n; keys.length < 6; k++) if (probe([k], 5).block === home) keys.push(k)
    for (const k of keys) d.add(k, 1n)
    d.close()
    const r = inspectJSON(file)
    assert.equal(r.geometry.blockCount, 5)
    checkProbe(r.probe, 6)
    assert.equal(r.probe.histogram[1], 4)
    assert.ok(r.probe.max >= 2)
    assert.ok(r.probe.mean > 1)
    const text = run('inspect', file).stdout
    assert.match(text, /^probe length {2}max \d+, mean 1\.\d{4} blocks over 6 keys \(1: 4, /m)
  })

  test('--limit', () => {
    const file = fresh('limit')
    const d = AtomicDict.open(file, { capacity: 100 })
    for (let k = 1n; k <= 10n; k++) d.store(k, k)
    d.close()
    const all = inspectJSON(file)
    const r = inspectJSON(file, '--limit', '3')
    assert.equal(r.entries.length, 3)
    assert.equal(r.omitted, 7)
    assert.equal(r.keys, 10)
    assert.equal(r.size, 10)
    assert.deepEqual(r.entries, all.entries.slice(0, 3), 'the first entries in row order')
    checkProbe(r.probe, 10) // statistics still cover every key
    assert.equal(inspectJSON(file, '--limit=0').entries.length, 0)
    assert.equal(inspectJSON(file, '--limit', '10').omitted, 0)
    assert.equal(inspectJSON(file, '--limit', '1000').entries.length, 10)

    const text = run('inspect', file, '--limit', '4')
    assert.equal(text.status, 0)
    const lines = text.stdout.trimEnd().split('\n')
    assert.equal(lines.at(-1), '(6 more entries not shown: printed 4 of 10)')
    const one = run('inspect', file, '--limit', '9')
    assert.match(one.stdout, /\n\(1 more entry not shown: printed 9 of 10\)\n$/)
  })
})

describe('inspect (text)', () => {
  test('exact output for a small dict', () => {
    const file = fresh('text')
    const d = AtomicDict.open(file, { capacity: 10 })
    d.add(1n, 41n)
    d.store(2n, 7n)
    d.store(2n ** 64n - 1n, 123456789n)
    d.close()
    // Row order (the order of the entries) comes from the JSON output.
    const order = inspectJSON(file).entries.map((e) => e.key)
    const values = { 1: '41', 2: '7', '18446744073709551615': '123456789' }
    const r = run('inspect', file)
    assert.equal(r.stderr, '')
    assert.equal(r.status, 0)
    const rows = order.map((k) => `${k.padStart(20)}  ${values[k].padStart(9)}`)
    const expected = [
      `path          ${file}`,
      'kind          dict',
      'key           1 part: 1 × 64-bit',
      'value         64-bit unsigned',
      'capacity      10',
      'size          3',
      'load factor   0.3000 of capacity, 0.1500 of rows',
      'geometry      5 blocks × 4 rows of 16 bytes = 20 rows; 448 bytes (file: 448)',
      'probe length  max 1, mean 1.0000 blocks over 3 keys (1: 3)',
      'verify        ok',
      '',
      '                 key      value',
      '--------------------  ---------',
      ...rows,
      '',
    ].join('\n')
    assert.equal(r.stdout, expected)
  })

  test('a composite, signed 32-bit dict and a set', () => {
    const file = fresh('text-composite')
    const d = AtomicDict.open(file, { capacity: 10, k64: 1, k32: 1, valueBits: 32, signed: true })
    d.sub([5n, 6], 12)
    d.close()
    const r = run('inspect', file)
    assert.equal(r.status, 0)
    assert.match(r.stdout, /^key {11}2 parts: 1 × 64-bit \+ 1 × 32-bit$/m)
    assert.match(r.stdout, /^value {9}32-bit signed$/m)
    assert.match(r.stdout, /\nkey\[0\] {2}key\[1\] {2}value\n------ {2}------ {2}-----\n {5}5 {7}6 {4}-12\n$/)

    const sfile = fresh('text-set')
    const s = AtomicSet.open(sfile, { capacity: 10 })
    s.add(99n)
    s.close()
    const rs = run('inspect', sfile)
    assert.equal(rs.status, 0)
    assert.match(rs.stdout, /^value {9}none \(a set\)$/m)
    assert.match(rs.stdout, /\nkey\n---\n 99\n$/)

    const efile = fresh('text-empty')
    AtomicSet.open(efile, { capacity: 10 }).close()
    const re = run('inspect', efile)
    assert.match(re.stdout, /^probe length {2}no keys$/m)
    assert.match(re.stdout, /\n\(no entries\)\n$/)
  })
})

describe('inspect of a larger table', () => {
  test('200,000 entries, as text and as JSON (no spread of every line)', () => {
    const file = fresh('large')
    const n = 200_000
    const d = AtomicDict.open(file, { capacity: n })
    for (let k = 1; k <= n; k++) d.store(k, k)
    d.close()
    const text = run('inspect', file)
    assert.equal(text.stderr, '')
    assert.equal(text.status, 0)
    const lines = text.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 10 + 1 + 2 + n)
    assert.match(lines.at(-1), /^ *(\d+) {2} *\1$/)
    const r = inspectJSON(file)
    assert.equal(r.entries.length, n)
    assert.equal(new Set(r.entries.map((e) => e.key)).size, n)
    checkProbe(r.probe, n)
  })
})

describe('inspect never changes the file and needs only read permission', () => {
  test('bytes and mtime are unchanged, also for a live table', () => {
    const file = fresh('unchanged')
    const d = AtomicDict.open(file, { capacity: 100, k64: 2 })
    for (let i = 1n; i <= 50n; i++) d.add([i, i + 1n], i)
    const before = fs.readFileSync(file)
    const statBefore = fs.statSync(file)
    assert.equal(run('inspect', file).status, 0)
    assert.equal(run('inspect', file, '--json').status, 0)
    assert.deepEqual(fs.readFileSync(file), before)
    assert.equal(fs.statSync(file).mtimeMs, statBefore.mtimeMs)
    assert.equal(d.size, 50)
    d.close()
  })

  test('a file of mode 0o444', () => {
    const file = fresh('readonly')
    const d = AtomicDict.open(file, { capacity: 20 })
    d.store(3n, 4n)
    d.close()
    fs.chmodSync(file, 0o444)
    const before = fs.readFileSync(file)
    const r = inspectJSON(file)
    assert.deepEqual(r.entries, [{ key: '3', value: '4' }])
    assert.deepEqual(fs.readFileSync(file), before)
    assert.equal(fs.statSync(file).mode & 0o777, 0o444)
  })

  test('a corrupt table is reported by the audit, not refused', () => {
    const file = fresh('corrupt')
    const d = AtomicDict.open(file, { capacity: 20 })
    d.store(3n, 4n)
    d.close()
    // The entry count (header offset 64) says 5.
    const fd = fs.openSync(file, 'r+')
    const word = Buffer.alloc(8)
    word.writeBigUInt64LE(5n)
    fs.writeSync(fd, word, 0, 8, 64)
    fs.closeSync(fd)
    const r = inspectJSON(file)
    assert.equal(r.size, 5)
    assert.equal(r.keys, 1)
    assert.equal(r.verify.ok, false)
    assert.match(r.verify.problems.join('\n'), /the entry count is 5 but 1 rows hold complete keys/)
    const text = run('inspect', file)
    assert.equal(text.status, 0)
    assert.match(text.stdout, /^verify {8}1 problem \(/m)
    assert.match(text.stdout, /^ {14}- the entry count is 5 but 1 rows hold complete keys$/m)
  })
})

describe('errors', () => {
  /** Asserts exit 1 with one line on stderr naming the file and matching `pattern`. */
  function fails(file, pattern) {
    const r = run('inspect', file)
    assert.equal(r.status, 1, r.stderr)
    assert.equal(r.stdout, '')
    const lines = r.stderr.trimEnd().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.ok(lines[0].startsWith('atomic-dict inspect: '), r.stderr)
    assert.ok(lines[0].includes(file), r.stderr)
    assert.match(lines[0], pattern)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    return lines[0]
  }

  test('files that are not tables', () => {
    const random = fresh('random')
    fs.writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)))
    fails(random, /is not an atomic-dict table: wrong magic number/)

    const empty = fresh('empty')
    fs.writeFileSync(empty, '')
    fails(empty, /not an atomic-dict table: .* is empty/)

    const table = fresh('whole')
    AtomicDict.open(table, { capacity: 100 }).close()
    const bytes = fs.readFileSync(table)
    const truncated = fresh('truncated')
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 64))
    fails(truncated, /is not an atomic-dict table: \d+ blocks need \d+ bytes, the memory has \d+/)

    const headerOnly = fresh('short')
    fs.writeFileSync(headerOnly, bytes.subarray(0, 100))
    fails(headerOnly, /is not an atomic-dict table: 100 bytes is shorter than a header/)

    const badVersion = fresh('version')
    const copy = Buffer.from(bytes)
    copy.writeUInt32LE(99, 8)
    fs.writeFileSync(badVersion, copy)
    fails(badVersion, /is not an atomic-dict table: format version 99/)
  })

  test('a missing file, a directory, a symbolic link', () => {
    fails(path.join(dir, 'no-such-file'), /: no such file or directory$/)
    fails(dir, /is not a regular file \(a directory\)/)
    const target = fresh('target')
    AtomicDict.open(target, { capacity: 5 }).close()
    const link = fresh('link')
    fs.symlinkSync(target, link)
    fails(link, /is a symbolic link/)
  })

  test('bad usage exits 2 with the usage text', () => {
    for (const args of [
      [],
      ['inspect'],
      ['inspect', ''],
      ['frobnicate', 'x'],
      ['inspect', 'a', 'b'],
      ['inspect', 'x', '--limit'],
      ['inspect', 'x', '--limit', 'abc'],
      ['inspect', 'x', '--limit=-1'],
      ['inspect', 'x', '--limit', '1.5'],
      ['inspect', 'x', '--frobnicate'],
    ]) {
      const r = run(...args)
      assert.equal(r.status, 2, JSON.stringify(args))
      assert.equal(r.stdout, '')
      assert.match(r.stderr, /^atomic-dict: .*\n/)
      assert.match(r.stderr, /Usage: atomic-dict inspect <path> \[--json\] \[--limit <n>\]/)
    }
  })

  test('--help prints the usage on stdout and exits 0', () => {
    for (const args of [['--help'], ['inspect', '--help'], ['-h']]) {
      const r = run(...args)
      assert.equal(r.status, 0)
      assert.equal(r.stderr, '')
      assert.match(r.stdout, /^Usage: atomic-dict inspect <path> \[--json\] \[--limit <n>\]\n/)
      assert.match(r.stdout, /--limit <n> {2}print at most n entries/)
    }
  })

  test('the bin is executable and starts with a shebang', () => {
    assert.ok(fs.statSync(BIN).mode & 0o111)
    assert.ok(fs.readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n'))
    const pkg = require('../package.json')
    assert.deepEqual(pkg.bin, { 'atomic-dict': 'bin/atomic-dict.js' })
    assert.ok(pkg.files.includes('bin/'))
  })
})
