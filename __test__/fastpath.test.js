'use strict'
// The fast path (Atomics on a view of the mapping, a per-process key cache)
// must give the same results as the native core, across processes.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { AtomicDict, fork } = require('..')
const { internals } = require('../lib/table-memory')

const CHILD = path.join(__dirname, 'fixtures', 'fastpath-child.js')

function run(args, share) {
  const child = fork(CHILD, args, { share })
  return new Promise((resolve, reject) => {
    let message
    child.on('message', (m) => (message = m))
    child.on('error', reject)
    child.on('exit', (code, signal) => (code === 0 ? resolve(message) : reject(new Error(`child exited ${code} ${signal}`))))
  })
}

test('view and native operations interleaved across processes give exact results', async () => {
  const dict = new AtomicDict(64)
  const native = internals.get(dict).native
  const per = 20_000
  const children = [run(['mixed', String(per)], { dict }), run(['mixed', String(per)], { dict })]
  // The parent mixes both paths too, while the children run.
  const mine = []
  for (let i = 0; i < per; i++) {
    const k = BigInt(1 + (i % 4))
    mine.push(String(i % 2 ? dict.add(k, 1n) : native.fetch(Number(native.insert([k])), 'add', 1n)))
  }
  const results = await Promise.all(children)
  const all = [mine, ...results.map((r) => r.tickets)]
  for (let key = 1; key <= 4; key++) {
    assert.equal(dict.get(BigInt(key)), BigInt((3 * per) / 4))
    // Previous values of each key, over everybody and both paths: 0..total-1 once each.
    const seen = all
      .flatMap((tickets) => tickets.filter((_, i) => i % 4 === key - 1))
      .map(Number)
      .sort((a, b) => a - b)
    assert.deepEqual(seen, Array.from({ length: (3 * per) / 4 }, (_, i) => i))
  }
  assert.equal(dict.size, 4)
})

test('keys another process inserts are found after this process saw them absent', async () => {
  const dict = new AtomicDict(5000)
  const keys = Array.from({ length: 1000 }, (_, i) => 1 + i * 4096) // all share the cache's low bits
  for (const k of keys) {
    assert.equal(dict.has(k), false)
    assert.equal(dict.get(BigInt(k)), undefined)
  }
  assert.equal(dict.size, 0, 'lookups never insert')
  await run(['insert', JSON.stringify(keys)], { dict })
  for (const k of keys) {
    assert.equal(dict.get(k), BigInt(k) * 10n, `key ${k}`)
    assert.equal(dict.add(BigInt(k), 1n), BigInt(k) * 10n)
  }
  // Keys that collide in the cache evict each other and are still right.
  for (let round = 0; round < 3; round++) {
    for (const k of keys) assert.equal(dict.load(k), BigInt(k) * 10n + BigInt(1 + round))
    for (const k of keys) dict.add(k, 1n)
  }
  assert.equal(dict.size, keys.length)
})

test('number and bigint forms of a key share one row and one cache entry', () => {
  const dict = new AtomicDict(100)
  const big = 2n ** 60n + 12345n // beyond 2^53: cached by halves only
  dict.add(big, 5n)
  assert.equal(dict.get(big), 5n)
  assert.equal(dict.get(2n ** 60n + 12345n + 2n ** 32n), undefined, 'same low half, other key')
  dict.add(7, 1n)
  dict.add(7n, 1n)
  dict.add([7], 1n)
  assert.equal(dict.get(7), 3n)
  assert.equal(dict.size, 2)
})

test('slot handles outlive the table object and close() stops them cleanly', () => {
  let handle
  {
    const dict = new AtomicDict(10)
    handle = dict.slot(1n)
    handle.add(5n)
  }
  // The dict object is unreachable; the handle keeps the mapping.
  if (global.gc) global.gc()
  assert.equal(handle.add(1n), 5n)
  assert.equal(handle.load(), 6n)

  const dict = new AtomicDict(10)
  const slot = dict.slot(2n)
  const twin = AtomicDict.attach(dict.share())
  slot.add(1n)
  dict.close()
  assert.throws(() => slot.add(1n), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  assert.throws(() => slot.load(), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  assert.equal(twin.get(2n), 1n, 'another object on the same memory is unaffected')
  twin.close()
})
