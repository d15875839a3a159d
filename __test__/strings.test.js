'use strict'
// String keys: a string stands for the 64-bit key part docs/FORMAT.md defines
// (SipHash-2-4 of its UTF-8 bytes), the same in every process; the vectors
// in vectors/strings.json pin it (tests/vectors.rs checks them in Rust).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { AtomicDict, AtomicSet, stringKey, fork } = require('..')
const vectors = require('./vectors/strings.json')

const CHILD = path.join(__dirname, 'fixtures', 'strings-child.js')

test('stringKey matches the string vectors', () => {
  assert.ok(vectors.strings.length >= 10)
  for (const v of vectors.strings) {
    assert.equal(Buffer.from(v.string).toString('hex'), v.utf8, JSON.stringify(v.string))
    assert.equal(stringKey(v.string), BigInt('0x' + v.key), JSON.stringify(v.string))
  }
})

test('a string key is stored under its vector key part', () => {
  const d = new AtomicDict(64)
  vectors.strings.forEach((v, i) => d.add(v.string, BigInt(i + 1)))
  assert.equal(d.size, vectors.strings.length)
  const want = new Map(vectors.strings.map((v, i) => [BigInt('0x' + v.key), BigInt(i + 1)]))
  assert.deepEqual(new Map(d.entries()), want)
  // The key part and the string reach the same value.
  for (const v of vectors.strings) assert.equal(d.get(BigInt('0x' + v.key)), d.get(v.string))
})

test('a string is a key of its own, not the number it spells', () => {
  const d = new AtomicDict(8)
  d.add('1', 5n)
  assert.equal(d.has(1), false)
  assert.equal(d.has(1n), false)
  assert.equal(d.get('1'), 5n)
  d.add(1, 7n)
  assert.equal(d.get('1'), 5n)
  assert.equal(d.get(1n), 7n)
  assert.equal(d.size, 2)
})

test('every operation takes string keys, and reading does not insert', () => {
  const d = new AtomicDict(8, { valueBits: 32, signed: true })
  assert.equal(d.load('absent'), 0)
  assert.equal(d.get('absent'), undefined)
  assert.equal(d.has('absent'), false)
  assert.equal(d.size, 0)
  assert.equal(d.add('gauge', 3), 0)
  assert.equal(d.sub('gauge', 5), 3)
  assert.equal(d.get('gauge'), -2)
  assert.equal(d.swap('flag', 1), 0)
  assert.equal(d.cas('flag', 1, 2), 1)
  assert.equal(d.or('bits', 0b101), 0)
  assert.equal(d.and('bits', 0b100), 0b101)
  assert.equal(d.xor('bits', 0b110), 0b100)
  assert.equal(d.slot('gauge').add(2), -2)
  d.set('', 9)
  assert.deepEqual(
    new Map(d.entries()),
    new Map([
      [stringKey('gauge'), 0],
      [stringKey('flag'), 2],
      [stringKey('bits'), 0b010],
      [stringKey(''), 9],
    ]),
  )
})

test('sets take string keys; add is true once', () => {
  const s = new AtomicSet(8)
  assert.equal(s.add('job:1'), true)
  assert.equal(s.add('job:1'), false)
  assert.equal(s.add(['job:1']), false)
  assert.equal(s.has('job:1'), true)
  assert.equal(s.has(stringKey('job:1')), true)
  assert.equal(s.has('job:2'), false)
  assert.deepEqual([...s], [stringKey('job:1')])
})

test('strings can be the 64-bit parts of composite keys', () => {
  const d = new AtomicDict(16, { k64: 2, k32: 1 })
  d.add(['GET', '/api', 200], 1n)
  d.add(['GET', '/api', 200], 1n)
  d.add(['GET', '/api', 404], 1n)
  d.add([stringKey('POST'), '/api', 200], 1n)
  assert.equal(d.get(['GET', '/api', 200]), 2n)
  assert.equal(d.get([stringKey('GET'), stringKey('/api'), 200]), 2n)
  assert.equal(d.get(['POST', '/api', 200]), 1n)
  assert.equal(d.get(['GET', '/api', 500]), undefined)
  assert.equal(d.size, 3)
  assert.deepEqual(
    [...d.keys()].sort((a, b) => (a[2] - b[2] || (a[0] < b[0] ? -1 : 1))),
    [
      [stringKey('GET'), stringKey('/api'), 200],
      [stringKey('POST'), stringKey('/api'), 200],
      [stringKey('GET'), stringKey('/api'), 404],
    ].sort((a, b) => (a[2] - b[2] || (a[0] < b[0] ? -1 : 1))),
  )
})

test('bad string keys are refused with a TypeError naming the key, changing nothing', () => {
  const d = new AtomicDict(8)
  const pairs = new AtomicDict(8, { k64: 1, k32: 1 })
  const narrow = new AtomicDict(8, { k64: 0, k32: 1 })
  const cases = [
    [() => d.add('\uD800', 1n), /^key must be a well-formed string/],
    [() => d.set('x\uDFFFy', 1n), /^key must be a well-formed string/],
    [() => pairs.add(['ok', 'no'], 1n), /^key\[1\] must be a bigint or a number \(a string key needs a 64-bit part\)/],
    [() => pairs.add(['\uD800', 1], 1n), /^key\[0\] must be a well-formed string/],
    [() => narrow.add('x', 1n), /^key must be a bigint or a number/],
    [() => stringKey(1), /^string must be a string, got 1/],
    [() => stringKey('\uDC00'), /^string must be a well-formed string/],
  ]
  for (const [fn, message] of cases) assert.throws(fn, (e) => e instanceof TypeError && message.test(e.message))
  assert.equal(d.size + pairs.size + narrow.size, 0)
  // A surrogate pair is well formed.
  assert.equal(d.add('\uD83D\uDE00', 1n), 0n)
  assert.equal(d.get('😀'), 1n)
})

test('string keys stay right when the per-process cache overflows', () => {
  const n = 70_000 // the string cache holds at most 64 Ki per table object
  const d = new AtomicDict(n, { valueBits: 32 })
  for (let i = 0; i < n; i++) d.add(`user:${i}`, i)
  for (let i = 0; i < n; i++) d.add(`user:${i}`, 1)
  for (let i = 0; i < n; i += 997) assert.equal(d.get(`user:${i}`), i + 1)
  assert.equal(d.size, n)
  assert.equal(d.get(`user:${n}`), undefined)
})

test('processes adding to the same string keys meet on the same rows, exactly', async () => {
  const strings = ['route:/', 'route:/api', 'route:/login', 'é', '日本語', '😀', '', 'x'.repeat(100)]
  const counts = new AtomicDict(strings.length)
  const pairs = new AtomicDict(strings.length * 3, { k64: 1, k32: 1, valueBits: 32 })
  const rounds = 3000
  const children = []
  for (let c = 0; c < 4; c++) {
    const child = fork(CHILD, [String(rounds), JSON.stringify(strings)], { share: { counts, pairs } })
    children.push(new Promise((resolve, reject) => {
      let reply
      child.on('message', (m) => (reply = m))
      child.on('error', reject)
      child.on('exit', (code) => (code === 0 ? resolve(reply) : reject(new Error(`child exited ${code}`))))
    }))
  }
  // This process adds too, while they run.
  for (let r = 0; r < rounds; r++) for (const s of strings) counts.add(s, 1n)
  const replies = await Promise.all(children)
  for (const r of replies) assert.equal(r.adds, rounds * strings.length)
  assert.equal(counts.size, strings.length)
  for (const s of strings) assert.equal(counts.get(s), BigInt(rounds * 5), JSON.stringify(s))
  // Each child adds rounds times per string, spread over 3 status codes by position.
  let total = 0
  for (const [, v] of pairs) total += v
  assert.equal(total, 4 * rounds * strings.length)
  assert.ok(pairs.size <= strings.length * 3)
  for (const [key] of pairs) assert.ok(strings.some((s) => stringKey(s) === key[0]))
})
