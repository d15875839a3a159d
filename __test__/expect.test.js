'use strict'
// `inherit(name, { expect })` and `attach(descriptor, { expect })`: the
// shape the caller relies on (and TypeScript types the result from) is
// checked against the table reached. A mismatch throws
// ERR_ATOMIC_DICT_GEOMETRY naming every difference, closes the table again
// (no descriptor or mapping left behind) and changes nothing; bad options
// throw before any table is reached.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { AtomicDict, AtomicSet, fork } = require('..')

const openFds = () => fs.readdirSync('/proc/self/fd').length

/** This process's mappings of memfds (the tables it has mapped). */
const mappedTables = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('memfd:')).length

const FULL = { k64: 1, k32: 1, valueBits: 32, signed: true, strings: 4096 }

test('attach with a matching expect, in full or in part, returns the table', () => {
  const d = new AtomicDict(10, FULL)
  d.add(['x', 7], -3)
  for (const expect of [FULL, { valueBits: 32 }, { k64: 1, k32: 1 }, { signed: true, strings: 4096 }, {}]) {
    const a = AtomicDict.attach(d.share(), { expect })
    assert.equal(a.load(['x', 7]), -3)
    a.close()
  }
  // The old call form (no options) and an options object without expect still work.
  AtomicDict.attach(d.share()).close()
  AtomicDict.attach(d.share(), {}).close()
  AtomicDict.attach(d.share(), { expect: undefined }).close()
  d.close()
})

test('each field of expect that differs is named, and the table is closed again', () => {
  const d = new AtomicDict(10, FULL)
  d.add(['x', 7], 5)
  const cases = [
    [{ k64: 2 }, ['k64 1 (expected 2)']],
    [{ k32: 0 }, ['k32 1 (expected 0)']],
    [{ valueBits: 64 }, ['valueBits 32 (expected 64)']],
    [{ signed: false }, ['signed true (expected false)']],
    [{ strings: 0 }, ['strings 4096 (expected 0)']],
    [{ k64: 1, k32: 2, valueBits: 64, signed: true }, ['k32 1 (expected 2)', 'valueBits 32 (expected 64)']],
  ]
  const fds = openFds()
  const maps = mappedTables()
  for (const [expect, named] of cases) {
    for (let i = 0; i < 20; i++) {
      assert.throws(
        () => AtomicDict.attach(d.share(), { expect }),
        (err) => {
          assert.equal(err.code, 'ERR_ATOMIC_DICT_GEOMETRY')
          assert.match(err.message, /the descriptor is not the table expected: /)
          assert.equal(err.message.split(': ').at(-1), named.join(', '))
          return true
        },
      )
    }
  }
  // 120 failed attaches left no descriptor and no mapping open.
  assert.equal(openFds(), fds)
  assert.equal(mappedTables(), maps)
  // Nothing changed in the table.
  assert.equal(d.size, 1)
  assert.equal(d.load(['x', 7]), 5)
  assert.deepEqual(d.options, { capacity: 10, ...FULL })
  d.close()
})

test('a set checks k64, k32 and strings; valueBits and signed are not expected of a set', () => {
  const s = new AtomicSet(10, { k64: 2 })
  AtomicSet.attach(s.share(), { expect: { k64: 2, k32: 0, strings: 0 } }).close()
  assert.throws(() => AtomicSet.attach(s.share(), { expect: { k64: 1 } }), { code: 'ERR_ATOMIC_DICT_GEOMETRY', message: /k64 2 \(expected 1\)/ })
  for (const key of ['valueBits', 'signed']) {
    assert.throws(() => AtomicSet.attach(s.share(), { expect: { [key]: key === 'signed' ? false : 64 } }), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message: `options.expect.${key} is not an option of AtomicSet.inherit()/attach() (they are: k64, k32, strings)`,
    })
  }
  s.close()
})

test('bad options throw before the table is reached', () => {
  const d = new AtomicDict(10)
  const fds = openFds()
  const bad = [
    [{ expect: { k65: 1 } }, TypeError, 'ERR_INVALID_ARG_VALUE', /^options\.expect\.k65 is not an option of AtomicDict\.inherit\(\)\/attach\(\) \(they are: k64, k32, valueBits, signed, strings\)$/],
    [{ expext: { k64: 1 } }, TypeError, 'ERR_INVALID_ARG_VALUE', /^options\.expext is not an option of AtomicDict\.inherit\(\)\/attach\(\) \(they are: expect\)$/],
    [{ k64: 1 }, TypeError, 'ERR_INVALID_ARG_VALUE', /^options\.k64 is not an option of AtomicDict\.inherit\(\)\/attach\(\) \(they are: expect\)$/],
    [5, TypeError, 'ERR_INVALID_ARG_TYPE', /options must be an object, got 5/],
    [null, TypeError, 'ERR_INVALID_ARG_TYPE', /options must be an object, got null/],
    [{ expect: 'k64' }, TypeError, 'ERR_INVALID_ARG_TYPE', /options\.expect must be an object/],
    [{ expect: { k64: 9 } }, RangeError, 'ERR_OUT_OF_RANGE', /options\.expect\.k64 must be an integer from 0 to 8, got 9/],
    [{ expect: { k32: 17 } }, RangeError, 'ERR_OUT_OF_RANGE', /options\.expect\.k32/],
    [{ expect: { k64: 1.5 } }, RangeError, 'ERR_OUT_OF_RANGE', /options\.expect\.k64/],
    [{ expect: { k64: '1' } }, TypeError, 'ERR_INVALID_ARG_TYPE', /options\.expect\.k64 must be a number/],
    [{ expect: { valueBits: 16 } }, RangeError, 'ERR_OUT_OF_RANGE', /options\.expect\.valueBits must be 32 or 64/],
    [{ expect: { valueBits: '64' } }, TypeError, 'ERR_INVALID_ARG_TYPE', /options\.expect\.valueBits/],
    [{ expect: { signed: 1 } }, TypeError, 'ERR_INVALID_ARG_TYPE', /options\.expect\.signed must be a boolean/],
    [{ expect: { strings: -8 } }, RangeError, 'ERR_OUT_OF_RANGE', /options\.expect\.strings/],
  ]
  for (const [options, Class, code, message] of bad) {
    assert.throws(() => AtomicDict.attach(d.share(), options), (err) => {
      assert.ok(err instanceof Class, `${err.name} for ${JSON.stringify(options)}`)
      assert.equal(err.code, code)
      assert.match(err.message, message)
      return true
    })
  }
  assert.equal(openFds(), fds)
  d.close()
})

test('inherit checks expect in a child process, and a mismatch leaves the child running', async () => {
  const d = new AtomicDict(10, { valueBits: 32 })
  d.store(1, 41)
  const child = fork(require.resolve('./fixtures/expect-child.js'), { share: { d } })
  const [msg] = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve([m]))
    child.once('exit', (code) => reject(new Error(`child exited ${code} without answering`)))
  })
  await new Promise((resolve) => child.once('exit', resolve))
  assert.equal(msg.code, 'ERR_ATOMIC_DICT_GEOMETRY')
  assert.equal(msg.message, 'atomic-dict: shared table "d" is not the table expected: k32 0 (expected 1), valueBits 32 (expected 64)')
  assert.equal(msg.before, 41)
  assert.equal(d.load(1), 42)
  d.close()
})
