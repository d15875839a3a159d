'use strict'
// The interned-string area (the `strings` option; docs/FORMAT.md, "String area"):
// string key parts are stored once in the table and handed back as strings
// by iteration, through every API form, across processes and threads; the
// option is checked like the others; refusals are counted and visible while
// keys keep working by hash; lookups never intern; a process killed in the
// middle of interning publishes nothing half written.

const { test, describe, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const childProcess = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { AtomicDict, AtomicSet, stringKey, spawn } = require('..')
const { internals } = require('../lib/table-memory')
const { OFF } = require('../lib/format')

const ROOT = path.join(__dirname, '..')
const BIN = path.join(ROOT, 'bin', 'atomic-dict.js')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-strings-area-'))
after(() => fs.rmSync(dir, { recursive: true, force: true }))
let counter = 0
const fresh = (name) => path.join(dir, `${name}-${++counter}`)

const viewOf = (t) => internals.get(t).view
const sortKeys = (keys) => keys.map((k) => JSON.stringify(k, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))).sort()
const same = (a, b, msg) => assert.deepEqual(sortKeys(a), sortKeys(b), msg)

/** Runs `code` in a child process with `share` tables; resolves to { code, signal, stdout, stderr }. */
function child(share, code, env = {}) {
  const script = `const { AtomicDict, AtomicSet, stringKey } = require(${JSON.stringify(ROOT)}); ${code}`
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', script], {
      share,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d) => (stdout += d))
    c.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => c.kill('SIGTERM'), 60_000)
    c.on('error', reject)
    c.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

describe('the strings option', () => {
  test('is checked like the other options', () => {
    for (const Make of [(o) => new AtomicDict(10, o), (o) => new AtomicSet(10, o), (o) => AtomicDict.open(fresh('bad'), { capacity: 10, ...o })]) {
      for (const bad of ['64', 64n, true, null]) {
        assert.throws(() => Make({ strings: bad }), (e) => e instanceof TypeError && /^options\.strings must be a number, got /.test(e.message))
      }
      for (const bad of [-8, 8, 56, 63, 65, 100, 1.5, 2 ** 30 + 8, Infinity, NaN]) {
        assert.throws(
          () => Make({ strings: bad }),
          (e) => e instanceof RangeError && e.message === `options.strings must be 0 or a multiple of 8 from 64 to 2^30, got ${bad}`,
        )
      }
    }
    assert.equal(fs.readdirSync(dir).length, 0, 'no file made by a bad option')
    const none = new AtomicDict(10, { strings: 0 })
    assert.equal(none.strings, null)
    assert.equal(none.options.strings, 0)
    assert.equal(new AtomicDict(10).options.strings, 0)
    assert.deepEqual(new AtomicSet(10).options, { capacity: 10, k64: 1, k32: 0, strings: 0 })
    const d = new AtomicDict(10, { strings: 64 })
    assert.deepEqual(d.options, { capacity: 10, k64: 1, k32: 0, valueBits: 64, signed: false, strings: 64 })
    assert.deepEqual(d.strings, { bytes: 64, used: 0, count: 0, refused: 0 })
    assert.deepEqual(new AtomicSet(10, { strings: 2 ** 30 }).strings, { bytes: 2 ** 30, used: 0, count: 0, refused: 0 })
  })

  test('the layout: a version-2 header, the index and the arena after the blocks', () => {
    const d = new AtomicDict(100, { strings: 1000 })
    const v = viewOf(d)
    const layout = internals.get(d).native.layout()
    assert.equal(layout.stringBytes, 1000)
    assert.equal(layout.stringSlots, 64) // the smallest power of two >= max(8, ceil(1000 / 18))
    assert.equal(layout.stringIndexOffset, 128 + 64 * layout.blockCount)
    assert.equal(layout.arenaOffset, layout.stringIndexOffset + 8 * 64)
    assert.equal(layout.totalBytes, layout.arenaOffset + 1000)
    assert.equal(v.buffer.byteLength, layout.totalBytes)
    assert.equal(Atomics.load(v.u32, OFF.VERSION / 4), 2)
    assert.equal(Atomics.load(v.u64, OFF.STRING_BYTES / 8), 1000n)
    assert.equal(Atomics.load(v.u64, OFF.STRING_SLOTS / 8), 64n)
    assert.deepEqual(internals.get(d).native.stringStats(), { bytes: 1000, slots: 64, used: 0, count: 0, refused: 0 })
    const plain = new AtomicDict(100)
    const pl = internals.get(plain).native.layout()
    assert.equal(pl.stringBytes + pl.stringSlots, 0)
    assert.equal(pl.totalBytes, 128 + 64 * pl.blockCount)
    assert.equal(internals.get(plain).native.stringStats(), null)
    assert.equal(Atomics.load(viewOf(plain).u32, OFF.VERSION / 4), 1)
  })
})

describe('round trips', () => {
  test('one-part dicts: every inserting call interns; iteration hands back the strings', () => {
    const d = new AtomicDict(100, { strings: 4096 })
    const strings = ['route:/api', '', 'é', '日本語', '😀 emoji', 'x'.repeat(300), '1']
    d.add(strings[0], 1n)
    d.store(strings[1], 2n)
    d.set(strings[2], 3n)
    d.swap(strings[3], 4n)
    d.cas(strings[4], 0n, 5n)
    d.slot(strings[5]).add(6n)
    d.or(strings[6], 7n)
    d.add(42n, 8n)
    d.add(43, 9n)
    assert.equal(d.strings.count, strings.length)
    const want = [...strings.map((s, i) => [s, BigInt(i + 1)]), [42n, 8n], [43n, 9n]]
    same([...d], want)
    same([...d.entries()], want)
    same([...d.keys()], want.map(([k]) => k))
    const seen = []
    d.forEach((v, k) => seen.push([k, v]))
    same(seen, want)
    // Every key still reads by string, by part, and (for '1') not as 1.
    for (const [s, v] of want) assert.equal(d.get(s), v)
    assert.equal(d.get(stringKey('route:/api')), 1n)
    assert.equal(d.get(1), undefined)
    assert.ok(d.verify().ok)
    assert.equal(d.verify().strings, strings.length)
  })

  test('composite keys, single and bulk calls; 32-bit parts are never strings', () => {
    const d = new AtomicDict(100, { k64: 2, k32: 1, strings: 4096 })
    d.add(['GET', '/api', 200], 1n)
    d.add([5n, '/api', 404], 2n)
    d.add([stringKey('nobody interned this'), 7, 500], 3n)
    d.addMany([['POST', '/login', 201], ['GET', '/api', 200]], [4n, 5n])
    d.storeMany([['PUT', 9n, 1]], 6n)
    const want = [
      [['GET', '/api', 200], 6n],
      [[5n, '/api', 404], 2n],
      [[stringKey('nobody interned this'), 7n, 500], 3n],
      [['POST', '/login', 201], 4n],
      [['PUT', 9n, 1], 6n],
    ]
    same([...d], want)
    assert.equal(d.strings.count, 5) // GET, /api, POST, /login, PUT
    const narrow = new AtomicDict(10, { k64: 0, k32: 2, strings: 64 })
    narrow.add([1, 2], 1n)
    same([...narrow.keys()], [[1, 2]])
    assert.equal(narrow.strings.count, 0)
  })

  test('sets: add, addMany, keys given as arrays', () => {
    const s = new AtomicSet(100, { strings: 1024 })
    assert.equal(s.add('job:1'), true)
    assert.equal(s.add('job:1'), false)
    assert.deepEqual(s.addMany(['job:2', 'job:1', 3n, ['job:4']]), [true, false, true, true])
    same([...s], ['job:1', 'job:2', 3n, 'job:4'])
    same([...s.entries()], [['job:1', 'job:1'], ['job:2', 'job:2'], [3n, 3n], ['job:4', 'job:4']])
    assert.equal(s.strings.count, 3)
    const pairs = new AtomicSet(10, { k64: 1, k32: 1, strings: 1024 })
    pairs.add(['a', 1])
    pairs.addMany([['b', 2]])
    same([...pairs], [['a', 1], ['b', 2]])
  })

  test('lookups never intern', () => {
    const d = new AtomicDict(10, { k64: 1, k32: 1, strings: 1024 })
    const one = new AtomicDict(10, { strings: 1024 })
    one.get('a')
    one.has('b')
    one.load('c')
    one.getMany(['d', 'e'])
    one.loadMany(['f'])
    d.get(['a', 1])
    d.has(['b', 2])
    d.getMany([['c', 3]])
    assert.equal(one.strings.count + d.strings.count, 0)
    assert.equal(one.size + d.size, 0)
  })

  test('a number key equal to an interned string\'s part reads back as the string (documented)', () => {
    const d = new AtomicDict(10, { strings: 1024 })
    d.add(stringKey('shadow'), 1n)
    same([...d.keys()], [stringKey('shadow')])
    // The string is interned later (by a key of its own elsewhere): the
    // per-object cache of decoded parts sees it once the area's count moves.
    viewOf(d).intern('shadow')
    same([...d.keys()], ['shadow'])
  })

  test('a failed bulk call interns nothing', () => {
    const d = new AtomicDict(10, { strings: 1024 })
    assert.throws(() => d.addMany(['a', 'b', 0n], 1n), RangeError)
    assert.throws(() => d.addMany(['a', 'b'], [1n, 'x']), TypeError)
    assert.equal(d.strings.count, 0)
    assert.equal(d.size, 0)
  })
})

describe('refusals', () => {
  test('a full area refuses (counted, visible) while keys keep working by hash', () => {
    // 64 bytes: two records of up to 8 bytes of string.
    const d = new AtomicDict(16, { k64: 1, k32: 1, strings: 64 })
    d.add(['one', 1], 1n)
    d.add(['two', 2], 2n)
    d.add(['three', 3], 3n)
    d.addMany([['four', 4], ['one', 5]], 4n)
    assert.deepEqual(d.strings, { bytes: 64, used: 64, count: 2, refused: 2 })
    same([...d], [[['one', 1], 1n], [['two', 2], 2n], [[stringKey('three'), 3], 3n], [[stringKey('four'), 4], 4n], [['one', 5], 4n]])
    assert.equal(d.get(['three', 3]), 3n)
    assert.equal(d.add(['four', 4], 1n), 4n)
    const r = d.verify()
    assert.ok(r.ok, JSON.stringify(r))
    assert.equal(r.strings, 2)
    // Too long to intern (2^20 UTF-8 bytes at most): by hash, not counted.
    const big = new AtomicDict(4, { strings: 64 })
    big.add('é'.repeat(2 ** 19) + 'x', 1n)
    assert.deepEqual(big.strings, { bytes: 64, used: 0, count: 0, refused: 0 })
    same([...big.keys()], [stringKey('é'.repeat(2 ** 19) + 'x')])
  })

  test('inspect shows the strings and the refusals', () => {
    const file = fresh('inspect')
    const d = AtomicDict.open(file, { capacity: 10, k64: 2, k32: 1, strings: 64 })
    d.add(['GET', '/api', 200], 1n)
    d.add(['GET', '/a longer route', 404], 2n)
    d.add([5n, 'x', 1], 3n)
    d.close()
    const json = JSON.parse(childProcess.execFileSync(process.execPath, [BIN, 'inspect', file, '--json'], { encoding: 'utf8' }))
    assert.deepEqual(json.strings, { bytes: 64, slots: 8, used: 64, count: 2, refused: 2 })
    assert.equal(json.verify.strings, 2)
    same(json.entries.map((e) => e.key), [
      ['GET', '/api', 200],
      ['GET', String(stringKey('/a longer route')), 404],
      ['5', String(stringKey('x')), 1],
    ])
    const text = childProcess.execFileSync(process.execPath, [BIN, 'inspect', file], { encoding: 'utf8' })
    assert.match(text, /^strings {7}2 strings in 64 of 64 bytes \(100\.0%\), 8 index entries; 2 refused \(no room/m)
    assert.match(text, /^ +"GET" +"\/api" +200 +1$/m)
    assert.match(text, new RegExp(`^ +5 +${stringKey('x')} +1 +3$`, 'm'))
    const plain = fresh('inspect-plain')
    AtomicDict.open(plain, { capacity: 10 }).close()
    assert.equal(JSON.parse(childProcess.execFileSync(process.execPath, [BIN, 'inspect', plain, '--json'], { encoding: 'utf8' })).strings, null)
    assert.doesNotMatch(childProcess.execFileSync(process.execPath, [BIN, 'inspect', plain], { encoding: 'utf8' }), /^strings/m)
  })
})

describe('the view\'s intern and decode', () => {
  test('intern answers the user word; decode the string and its word', () => {
    const d = new AtomicDict(10, { strings: 1024 })
    const v = viewOf(d)
    assert.equal(v.hasStrings, true)
    assert.equal(v.stringBytes, 1024)
    const w = v.intern('hello')
    assert.ok(Number.isInteger(w) && w * 8 >= internals.get(d).native.layout().arenaOffset)
    assert.equal(v.intern('hello'), w)
    assert.equal(Atomics.load(v.u64, w), 0n) // the user word starts 0
    Atomics.store(v.u64, w, 77n)
    assert.equal(Atomics.load(v.u64, w - 1), stringKey('hello')) // the record's part
    assert.equal(Atomics.load(v.u64, w + 1), 5n) // its length
    assert.equal(v.decode(stringKey('hello')), 'hello')
    assert.equal(v.decodedWord, w)
    assert.equal(v.decode(stringKey('nope')), undefined)
    assert.equal(v.decodedWord, -1)
    assert.equal(v.decode(0n), undefined)
    assert.equal(v.decode(2n ** 64n - 1n), undefined)
    assert.throws(() => v.decode(5), TypeError)
    assert.throws(() => v.decode(-1n), RangeError)
    assert.throws(() => v.decode(2n ** 64n), RangeError)
    assert.throws(() => v.intern(5), (e) => e instanceof TypeError && e.message === 'string must be a string, got 5')
    assert.throws(() => v.intern('\uD800'), (e) => e instanceof TypeError && /^string must be a well-formed string/.test(e.message))
    assert.throws(() => v.intern('x'.repeat(2 ** 20 + 1)), (e) => e instanceof RangeError && /at most 1048576 bytes/.test(e.message))
    assert.deepEqual(v.stringStats(), { bytes: 1024, slots: 64, used: 32, count: 1, refused: 0 })
    // The same string in another table object of the same table: the same word.
    const other = AtomicDict.attach(d.share())
    assert.equal(viewOf(other).intern('hello'), w)
    assert.equal(Atomics.load(viewOf(other).u64, w), 77n)
    other.close()
    // Refused: -1, counted.
    const tiny = viewOf(new AtomicDict(10, { strings: 64 }))
    assert.notEqual(tiny.intern('a'), -1)
    assert.notEqual(tiny.intern('b'), -1)
    assert.equal(tiny.intern('c'), -1)
    assert.equal(tiny.stringStats().refused, 1)
    // No area; closed.
    const plain = viewOf(new AtomicDict(10))
    assert.throws(() => plain.intern('x'), { code: 'ERR_ATOMIC_DICT_NO_STRINGS' })
    assert.equal(plain.decode(stringKey('x')), undefined)
    assert.equal(plain.stringStats(), null)
    d.close()
    assert.throws(() => v.intern('hello'), { code: 'ERR_ATOMIC_DICT_CLOSED' })
    assert.throws(() => v.decode(1n), { code: 'ERR_ATOMIC_DICT_CLOSED' })
    assert.throws(() => d.strings, { code: 'ERR_ATOMIC_DICT_CLOSED' })
  })

  test('a record a peer corrupted never decodes; the key reads back as its part', () => {
    const d = new AtomicDict(10, { strings: 1024 })
    d.add('victim', 1n)
    d.add('other', 2n)
    const v = viewOf(d)
    const w = v.intern('victim')
    // The record's first 8 bytes of string (word w + 2): no longer 'victim'.
    Atomics.store(v.u64, w + 2, Atomics.load(v.u64, w + 2) ^ 1n)
    const fresh = AtomicDict.attach(d.share()) // a new object: nothing cached
    same([...fresh.keys()], [stringKey('victim'), 'other'])
    assert.equal(viewOf(fresh).decode(stringKey('victim')), undefined)
    const r = fresh.verify()
    assert.equal(r.ok, false)
    assert.equal(r.badStrings, 1)
    assert.match(r.problems.join('\n'), /do not hash to its part/)
  })
})

describe('files', () => {
  test('a file with an area opens with its strings option only: left out (0) or another size is a geometry error', () => {
    const file = fresh('area')
    const a = AtomicDict.open(file, { capacity: 10, strings: 1024 })
    a.add('made here', 1n)
    assert.throws(() => AtomicDict.open(file), (e) => e.code === 'ERR_ATOMIC_DICT_GEOMETRY' && e.message.includes('strings 1024 (asked 0, the default)'))
    const b = AtomicDict.open(file, { strings: 1024 })
    assert.equal(b.options.strings, 1024)
    same([...b.keys()], ['made here'])
    b.add('added there', 1n)
    same([...a.keys()], ['made here', 'added there'])
    assert.equal(AtomicDict.open(file, { strings: 1024 }).strings.count, 2)
    for (const strings of [0, 64, 2048]) {
      assert.throws(() => AtomicDict.open(file, { strings }), (e) => e.code === 'ERR_ATOMIC_DICT_GEOMETRY' && e.message.includes(`strings 1024 (asked ${strings})`))
    }
    const set = fresh('set-area')
    AtomicSet.open(set, { capacity: 10, strings: 64 }).add('s')
    assert.throws(() => AtomicSet.open(set), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
    same([...AtomicSet.open(set, { strings: 64 }).keys()], ['s'])
  })

  test('a file without an area: opened with strings is a geometry error; a version-1 file still opens', () => {
    const file = fresh('plain')
    const a = AtomicDict.open(file, { capacity: 10 })
    a.add('k', 1n)
    a.close()
    const bytes = fs.readFileSync(file)
    assert.equal(bytes.readUInt32LE(OFF.VERSION), 1)
    for (const off of [OFF.STRING_BYTES, OFF.STRING_SLOTS, OFF.STRINGS_USED, OFF.STRINGS_COUNT, OFF.STRINGS_REFUSED]) {
      assert.equal(bytes.readBigUInt64LE(off), 0n, `header word ${off}`)
    }
    assert.throws(() => AtomicDict.open(file, { strings: 64 }), (e) => e.code === 'ERR_ATOMIC_DICT_GEOMETRY' && /strings 0 \(asked 64\)/.test(e.message))
    const b = AtomicDict.open(file, { strings: 0 })
    assert.equal(b.strings, null)
    same([...b.keys()], [stringKey('k')])
    assert.equal(b.get('k'), 1n)
    b.close()
    // Byte for byte what a version-1 table is: opening, adding and closing
    // changed only the rows and the counters.
    assert.equal(fs.statSync(file).size, bytes.length)
  })
})

describe('processes and threads', () => {
  test('a string interned in a child process (inherit) decodes here, and the reverse', async () => {
    const d = new AtomicDict(100, { k64: 1, k32: 1, strings: 4096 })
    const s = new AtomicSet(100, { strings: 4096 })
    d.add(['from the parent', 1], 1n)
    const r = await child(
      { d, s },
      `const d = AtomicDict.inherit('d'); const s = AtomicSet.inherit('s')
       d.add(['from the child', 2], 2n); d.addMany([['bulk child', 3]], 3n); s.add('set child')
       process.stdout.write(JSON.stringify([...d.keys()].map((k) => [String(k[0]), k[1]])))`,
    )
    assert.equal(r.code, 0, r.stderr)
    same(JSON.parse(r.stdout), [['from the parent', 1], ['from the child', 2], ['bulk child', 3]])
    same([...d.keys()], [['from the parent', 1], ['from the child', 2], ['bulk child', 3]])
    same([...s], ['set child'])
  })

  test('a worker thread (share / attach) interns; the main thread decodes', async () => {
    const d = new AtomicDict(100, { strings: 1024 })
    const code = `
      const { workerData, parentPort } = require('node:worker_threads')
      const { AtomicDict } = require(${JSON.stringify(ROOT)})
      const d = AtomicDict.attach(workerData)
      d.add('from a worker', 1n)
      parentPort.postMessage([...d.keys()])`
    const keys = await new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: d.share() })
      w.on('message', resolve)
      w.on('error', reject)
    })
    assert.deepEqual(keys, ['from a worker'])
    same([...d.keys()], ['from a worker'])
  })

  test('processes interning the same strings at once: one record each', async () => {
    const strings = Array.from({ length: 200 }, (_, i) => `shared string ${i} ${'é'.repeat(i % 5)}`)
    const bytes = strings.reduce((n, s) => n + 24 + Math.ceil(Buffer.byteLength(s) / 8) * 8, 0)
    // Room for every record plus the ones racing callers may waste.
    const d = new AtomicDict(strings.length * 2, { k64: 1, k32: 1, strings: Math.ceil((bytes * 3) / 8) * 8 })
    const code = `const d = AtomicDict.inherit('d'); const strings = ${JSON.stringify(strings)}
      const order = strings.map((s, i) => strings[(i * 7 + process.pid) % strings.length])
      for (const s of order) d.add([s, 1], 1n)
      d.addMany(order.map((s) => [s, 2]), 1n)`
    const results = await Promise.all([1, 2, 3, 4].map(() => child({ d }, code)))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    const stats = d.strings
    assert.equal(stats.count, strings.length, JSON.stringify(stats))
    assert.equal(stats.refused, 0)
    assert.equal(d.size, strings.length * 2)
    for (const [[s, n], v] of d) {
      assert.equal(typeof s, 'string')
      assert.ok(strings.includes(s))
      assert.equal(v, 4n, `${s} ${n}`)
    }
    const r = d.verify()
    assert.ok(r.ok, JSON.stringify(r))
    assert.equal(r.strings, strings.length)
  })

  for (const failpoint of ['intern-after-alloc', 'intern-before-publish']) {
    test(`a process SIGKILLed in the middle of interning (${failpoint}) publishes nothing`, async () => {
      const d = new AtomicDict(10, { strings: 1024 })
      const pairs = new AtomicDict(10, { k64: 1, k32: 1, strings: 1024 })
      for (const [code, t] of [
        [`AtomicDict.inherit('t').add('victim', 1n)`, d],
        [`AtomicDict.inherit('t').add(['victim', 7], 1n)`, pairs],
        [`AtomicDict.inherit('t').addMany([['victim', 8]], 1n)`, pairs],
      ]) {
        const before = t.strings.used
        const r = await child({ t }, code, { ATOMIC_DICT_FAILPOINT: failpoint })
        assert.equal(r.signal, 'SIGKILL', `exit ${r.code}: ${r.stderr}`)
        const stats = t.strings
        assert.equal(stats.count, 0)
        assert.equal(stats.used, before + 32, 'the record was allocated, and is lost')
        assert.equal(viewOf(t).decode(stringKey('victim')), undefined)
        assert.ok(t.verify().ok, JSON.stringify(t.verify()))
      }
      assert.equal(d.size + pairs.size, 0, 'the key was not inserted: interning comes first')
      // Here, the string interns (a new record) and decodes.
      d.add('victim', 1n)
      pairs.add(['victim', 7], 1n)
      same([...d.keys()], ['victim'])
      same([...pairs.keys()], [['victim', 7]])
      assert.deepEqual(pairs.strings, { bytes: 1024, used: 96, count: 1, refused: 0 })
      assert.ok(pairs.verify().ok)
    })
  }
})
