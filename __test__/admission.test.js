'use strict'
// The admission gate with real processes (issue 11; src/core/table.rs,
// "Refused admissions"): ERR_ATOMIC_DICT_FULL only when `capacity` distinct
// keys are in the table or are being inserted by calls for other keys, and a
// process killed between admission and claim costs a unit of capacity only
// until repairCounts(). The pause-after-admit failpoint holds an admitted
// inserter exactly between its admission and its claim until the callers
// racing it have been refused and are waiting; after-admit SIGKILLs it there.
//
// Every case runs for the three ways keys reach the core (src/binding/
// locate.rs): a one-part 64-bit key and a one-part 32-bit key (locate, the
// key as an argument), and a composite key (locateMany, the parts written
// into a scratch of words).

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { AtomicDict, spawn } = require('..')
const { internalsOf } = require('../lib/attach')
const { OFF } = require('../lib/format')

const ROOT = path.join(__dirname, '..')
const CHILD_TIMEOUT_MS = 20_000
const FULL_EXIT = 3

const SHAPES = [
  { name: 'one-part 64-bit key (locate)', options: {}, keys: [11n, 22n, 33n] },
  // No two share a first part: with a shared one the caller of the other key
  // may complete the row the admitter starts and win (legitimately; loom's
  // e_capacity_gate_three_callers_two_composite_keys covers that).
  { name: 'composite key (locateMany)', options: { k64: 1, k32: 1 }, keys: [[1n, 1], [2n, 2], [3n, 3]] },
  { name: 'one-part 32-bit key (locate)', options: { k64: 0, k32: 1 }, keys: [11, 22, 33] },
]

/**
 * Runs `d.add(key, 1n)` in a child process that shares `dict` as 'd', with
 * ATOMIC_DICT_FAILPOINT=`failpoint`; resolves to { code, signal, stderr }.
 * The child exits with FULL_EXIT if the add throws ERR_ATOMIC_DICT_FULL.
 */
function addInChild(dict, key, failpoint) {
  const k = JSON.stringify(key, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)).replace(/"(\d+)n"/g, '$1n')
  const script = `
    const { AtomicDict } = require(${JSON.stringify(ROOT)})
    const d = AtomicDict.inherit('d')
    try { d.add(${k}, 1n) } catch (e) { if (e.code === 'ERR_ATOMIC_DICT_FULL') process.exit(${FULL_EXIT}); throw e }`
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ATOMIC_DICT_FAILPOINT: failpoint }
    const child = spawn(process.execPath, ['-e', script], { share: { d: dict }, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr })
    })
  })
}

/** The header's scratch word, through this process's view of the table. */
function scratch(dict) {
  return Atomics.load(internalsOf(dict, 'd').view.u64, OFF.SCRATCH / 8)
}

/** Resolves once an admitter paused at pause-after-admit (the scratch word is 1). */
async function pausedAdmitter(dict) {
  const giveUp = Date.now() + CHILD_TIMEOUT_MS
  while (scratch(dict) !== 1n) {
    if (Date.now() > giveUp) throw new Error('no admitter paused at pause-after-admit')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('admission: a caller racing an inserter of its own key gets the row, never FULL', () => {
  for (const shape of SHAPES) {
    test(`two callers, the same key, one free unit: ${shape.name}`, async () => {
      const [held, key] = shape.keys
      const d = new AtomicDict(2, shape.options)
      d.store(held, 5n)
      // The admitter takes the last unit and pauses before its claim...
      const admitter = addInChild(d, key, 'pause-after-admit:1')
      await pausedAdmitter(d)
      assert.equal(d.verify().reserved, 2, 'the paused admitter holds the last unit')
      // ...until this caller, refused, waits for it.
      const racer = await addInChild(d, key, 'pause-after-admit:1')
      const first = await admitter
      assert.deepEqual([first.code, first.signal], [0, null], first.stderr)
      assert.deepEqual([racer.code, racer.signal], [0, null], `the racing caller: ${racer.stderr || 'ERR_ATOMIC_DICT_FULL'}`)
      assert.equal(d.get(key), 2n, 'both adds went to the one row')
      assert.equal(d.size, 2)
      const r = d.verify()
      assert.ok(r.ok, JSON.stringify(r))
      assert.deepEqual([r.entries, r.reserved, r.completeRows, r.partialRows], [2, 2, 2, 0])
      assert.equal(scratch(d), 0n, 'the failpoint put the scratch word back')
      // Lookups of an absent key on the full table are not FULL either.
      const absent = shape.keys[2]
      assert.equal(d.has(absent), false)
      assert.equal(d.get(absent), undefined)
      assert.equal(d.load(absent), 0n)
      assert.throws(() => d.add(absent, 1n), { code: 'ERR_ATOMIC_DICT_FULL' })
      d.close()
    })

    test(`three callers, two keys, one free unit: ${shape.name}`, async () => {
      const [held, a, b] = shape.keys
      const d = new AtomicDict(2, shape.options)
      d.store(held, 5n)
      // The admitter of key a pauses until both other callers wait for it.
      const admitter = addInChild(d, a, 'pause-after-admit:2')
      await pausedAdmitter(d)
      const [sameKey, otherKey] = await Promise.all([addInChild(d, a, 'pause-after-admit:2'), addInChild(d, b, 'pause-after-admit:2')])
      const first = await admitter
      assert.deepEqual([first.code, first.signal], [0, null], first.stderr)
      assert.deepEqual([sameKey.code, sameKey.signal], [0, null], `the caller of the same key: ${sameKey.stderr || 'ERR_ATOMIC_DICT_FULL'}`)
      assert.equal(otherKey.code, FULL_EXIT, `the caller of the other key gets FULL: ${otherKey.stderr}`)
      assert.equal(d.get(a), 2n)
      assert.equal(d.has(b), false)
      assert.equal(d.size, 2)
      const r = d.verify()
      assert.ok(r.ok, JSON.stringify(r))
      assert.deepEqual([r.entries, r.reserved, r.completeRows, r.partialRows], [2, 2, 2, 0])
      d.close()
    })

    test(`a process killed between admission and claim: verify reports it, repairCounts gives it back: ${shape.name}`, async () => {
      const [held, key] = shape.keys
      const d = new AtomicDict(2, shape.options)
      d.store(held, 5n)
      const dead = await addInChild(d, key, 'after-admit')
      assert.equal(dead.signal, 'SIGKILL', `the child should die at after-admit: exit ${dead.code}, ${dead.stderr}`)
      const r = d.verify()
      assert.equal(r.ok, false)
      assert.deepEqual([r.entries, r.reserved, r.completeRows, r.partialRows], [1, 2, 1, 0])
      assert.deepEqual(r.problems, ['the admission counter is 2 but only 1 rows are claimed: 1 admissions leaked'])
      assert.equal(d.has(key), false)
      // The leaked unit is lost to inserts until it is given back (after the wait's bound).
      assert.throws(() => d.add(key, 1n), { code: 'ERR_ATOMIC_DICT_FULL' })
      assert.deepEqual(d.repairCounts(), r, 'repairCounts returns the audit from before')
      const after = d.verify()
      assert.ok(after.ok, JSON.stringify(after))
      assert.equal(after.reserved, 1)
      assert.equal(d.add(key, 1n), 0n)
      assert.equal(d.get(key), 1n)
      assert.equal(d.size, 2)
      assert.ok(d.verify().ok)
      d.close()
    })
  }
})
