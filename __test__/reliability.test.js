'use strict'
// Reliability with real processes (docs/RELIABILITY.md): small versions of
// scripts/chaos.js (10 rounds of SIGKILLed workers, each failpoint at least
// once) and scripts/linearizability.js (4 processes x 100,000 adds on one
// key); each crash failpoint's exact aftermath; the chaos checker catching
// what it must catch; an unsealed memfd refused.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const childProcess = require('node:child_process')
const { AtomicDict, spawn } = require('..')
const { runChaos, checkJournals, auditAfterCrash } = require('../scripts/chaos.js')
const { runLinearizability } = require('../scripts/linearizability.js')
const W = require('./fixtures/chaos-worker.js')
const { probeOf: probe } = require('../lib/binding')
const { internalsOf } = require('../lib/attach')

const ROOT = path.join(__dirname, '..')
const CHILD_TIMEOUT_MS = 20_000

/**
 * Runs `code` in a child process with `dict` shared as 'd' and the failpoint
 * set; resolves to { code, signal, stderr }.
 */
function runWithFailpoint(dict, failpoint, code) {
  const script = `const { AtomicDict } = require(${JSON.stringify(ROOT)}); const d = AtomicDict.inherit('d'); ${code}`
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ATOMIC_DICT_FAILPOINT: failpoint }
    const child = spawn(process.execPath, ['-e', script], { share: { d: dict }, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGTERM'), CHILD_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr })
    })
  })
}

/** runWithFailpoint, asserting the child killed itself at the failpoint (SIGKILL, not a timeout). */
async function dieAt(dict, failpoint, code) {
  const r = await runWithFailpoint(dict, failpoint, code)
  assert.equal(r.signal, 'SIGKILL', `the child should die at ${failpoint}: exit ${r.code}, signal ${r.signal}, stderr: ${r.stderr}`)
}

describe('crash chaos (small scripts/chaos.js)', () => {
  test('10 rounds, 4 workers SIGKILLed at random, every failpoint: nothing lost, duplicated or crashed', async () => {
    const t = await runChaos({ rounds: 10, seconds: 60 })
    assert.deepEqual(t.problems, [], `seed ${t.seed}`)
    assert.equal(t.rounds, 10)
    assert.equal(t.kills, 40, 'every worker died by SIGKILL')
    assert.ok(t.roundsOpen >= 1 && t.roundsFork >= 1, 'tables both in /dev/shm files and shared by fork')
    for (const fp of ['after-claim', 'after-part', 'before-count', 'after-admit']) {
      assert.ok(t.failpointRounds[fp] >= 1, `a round with the ${fp} failpoint`)
    }
    assert.equal(t.failpointKills, 5, 'each failpoint worker died at its failpoint')
    assert.ok(t.driftRepaired >= 1, 'the before-count round left drift that repairCounts mended')
    assert.ok(t.leaksRepaired >= 1, 'the after-admit round leaked an admission that repairCounts gave back')
    assert.ok(t.operationsChecked > 0)
    assert.equal(t.lost, 0)
    assert.equal(t.duplicated, 0)
    assert.equal(t.crashes, 0)
  })

  test('the journal checker catches a lost, a duplicated and an unexplained operation', () => {
    const one = new AtomicDict(100)
    const two = new AtomicDict(100, { k64: 2, k32: 1 })
    const rec = (op, a, b = 0n) => [op, BigInt(a), b, 0n]
    one.store(W.uniqueKey1(0, 1), W.insertValue(1))
    two.add(W.counterKey2(3), 2n)
    one.store(W.ownKey1(0), 5n)
    const sound = [[rec(W.OPS.INSERT1, 1, W.insertValue(1)), rec(W.OPS.ADD2, 3), rec(W.OPS.ADD2, 3), rec(W.OPS.STORE1, 5)]]
    assert.deepEqual(checkJournals(one, two, sound, 0).problems, [])
    // A recorded insert whose key is missing: lost.
    const lostInsert = checkJournals(one, two, [[...sound[0], rec(W.OPS.INSERT1, 2, W.insertValue(2))]], 1)
    assert.equal(lostInsert.lost, 1)
    // Three recorded adds, the counter says 2: lost.
    assert.equal(checkJournals(one, two, [[...sound[0], rec(W.OPS.ADD2, 3)]], 1).lost, 1)
    // One more add than recorded with no kill to explain it: duplicated.
    two.add(W.counterKey2(3), 1n)
    assert.equal(checkJournals(one, two, sound, 0).excess, 1)
    assert.deepEqual(checkJournals(one, two, sound, 1).problems, [], 'one kill explains one unrecorded add')
    // A second unrecorded operation from the same worker: more than one in flight.
    one.store(W.ownKey1(0), 6n)
    one.store(W.uniqueKey1(0, 2), W.insertValue(2))
    assert.ok(checkJournals(one, two, sound, 4).problems.some((p) => /unrecorded operations applied/.test(p)))
    // Count drift beyond the kills is refused; within them it is repaired.
    const d = new AtomicDict(10, { k64: 2, k32: 1 })
    d.store([1n, 1n, 1], 1n)
    const clean = auditAfterCrash(d, 0, 'clean')
    assert.deepEqual([clean.drift, clean.problems], [0, []])
    for (const t of [one, two, d]) t.close()
  })
})

describe('linearizability (small scripts/linearizability.js)', () => {
  test('4 processes x 100,000 add(k, 1n): previous values are 0..399,999 each once, final 400,000', async () => {
    const r = await runLinearizability({ procs: 4, ops: 100_000 })
    assert.deepEqual(r.problems, [])
    assert.equal(r.values, 400_000)
    assert.equal(r.duplicates, 0)
    assert.equal(r.missing, 0)
    assert.equal(r.final, 400_000n)
  })
})

describe('failpoints: what a process killed inside an insert leaves behind', () => {
  test("after-claim (one-part key): the key is present with value 0, counted, and verify is ok", async () => {
    const d = new AtomicDict(100)
    await dieAt(d, 'after-claim', 'd.store(5n, 9n)')
    assert.equal(d.has(5n), true)
    assert.equal(d.get(5n), 0n, 'killed before its first value write')
    assert.equal(d.size, 1)
    const r = d.verify()
    assert.ok(r.ok, JSON.stringify(r))
    assert.deepEqual([r.entries, r.reserved, r.completeRows, r.partialRows], [1, 1, 1, 0])
    // The table goes on working: the value can be written now.
    assert.equal(d.add(5n, 9n), 0n)
    assert.equal(d.get(5n), 9n)
    d.close()
  })

  test('after-claim (composite key, in a /dev/shm file): present with value 0, verify ok', async (t) => {
    if (!fs.existsSync('/dev/shm')) return t.skip('no /dev/shm')
    const file = path.join('/dev/shm', `atomic-dict-reliability-${process.pid}`)
    const d = AtomicDict.open(file, { capacity: 100, k64: 2, k32: 1 })
    try {
      await dieAt(d, 'after-claim', 'd.add([5n, 6n, 7], 9n)')
      assert.equal(d.get([5n, 6n, 7]), 0n)
      assert.equal(d.size, 1)
      assert.ok(d.verify().ok, JSON.stringify(d.verify()))
    } finally {
      d.close()
      AtomicDict.unlink(file)
    }
  })

  test('after-part: a partial row, not a problem; the next insert of the same key completes it', async () => {
    const d = new AtomicDict(100, { k64: 2, k32: 1 })
    await dieAt(d, 'after-part', 'd.store([5n, 6n, 7], 9n)')
    let r = d.verify()
    assert.ok(r.ok, JSON.stringify(r))
    assert.deepEqual([r.entries, r.reserved, r.completeRows, r.partialRows], [0, 1, 0, 1])
    assert.equal(d.has([5n, 6n, 7]), false, 'an incomplete key is not visible')
    assert.equal(d.size, 0)
    assert.deepEqual([...d.keys()], [])
    d.store([5n, 6n, 7], 3n)
    r = d.verify()
    assert.ok(r.ok, JSON.stringify(r))
    // Completed in the dead process's row: no second row, no second admission.
    assert.deepEqual([r.entries, r.reserved, r.completeRows, r.partialRows], [1, 1, 1, 0])
    assert.equal(d.get([5n, 6n, 7]), 3n)
    d.close()
  })

  test('after-part: a key with the same first part whose probe reaches the row completes it instead', async () => {
    const d = new AtomicDict(100, { k64: 2, k32: 1 })
    const blocks = internalsOf(d, 'd').view.blockCount
    const home = probe([5n, 6n, 7n], blocks).block
    // A different key with the same first part and the same home block.
    let x = 7n
    while (probe([5n, x, 7n], blocks).block !== home) x++
    await dieAt(d, 'after-part', 'd.store([5n, 6n, 7], 9n)')
    assert.equal(d.verify().partialRows, 1)
    d.store([5n, x, 7], 4n)
    const r = d.verify()
    assert.ok(r.ok, JSON.stringify(r))
    assert.deepEqual([r.entries, r.reserved, r.completeRows, r.partialRows], [1, 1, 1, 0])
    assert.equal(d.has([5n, 6n, 7]), false)
    assert.equal(d.get([5n, x, 7]), 4n)
    // The original key still inserts, in a row of its own.
    d.store([5n, 6n, 7], 1n)
    assert.ok(d.verify().ok)
    assert.equal(d.size, 2)
    d.close()
  })

  test('after-part: a partial row nobody completes keeps its unit of capacity (documented limit)', async () => {
    const d = new AtomicDict(1, { k64: 2, k32: 1 })
    await dieAt(d, 'after-part', 'd.store([5n, 6n, 7], 9n)')
    // Another key that does not reach the row needs an admission: none is left.
    assert.throws(() => d.store([9n, 9n, 9], 1n), { code: 'ERR_ATOMIC_DICT_FULL' })
    assert.equal(d.repairCounts().partialRows, 1)
    assert.throws(() => d.store([9n, 9n, 9], 1n), { code: 'ERR_ATOMIC_DICT_FULL' }, 'repairCounts counts the partial row as claimed')
    d.store([5n, 6n, 7], 1n) // the same key completes it
    assert.ok(d.verify().ok)
    assert.equal(d.size, 1)
    d.close()
  })

  test('before-count: size is one short, verify reports it, repairCounts mends it', async () => {
    const d = new AtomicDict(100, { k64: 2, k32: 1 })
    d.store([1n, 1n, 1], 1n)
    await dieAt(d, 'before-count', 'd.store([5n, 6n, 7], 9n)')
    assert.equal(d.size, 1, 'the complete key was never counted')
    assert.equal(d.has([5n, 6n, 7]), true)
    assert.equal(d.get([5n, 6n, 7]), 0n)
    const r = d.verify()
    assert.equal(r.ok, false)
    assert.deepEqual([r.entries, r.completeRows, r.duplicateKeys, r.unreachableKeys], [1, 2, 0, 0])
    assert.deepEqual(r.problems, ['the entry count is 1 but 2 rows hold complete keys'])
    const before = d.repairCounts()
    assert.deepEqual(before, r, 'repairCounts returns the report from before')
    const after = d.verify()
    assert.ok(after.ok, JSON.stringify(after))
    assert.deepEqual([after.entries, after.reserved, after.completeRows], [2, 2, 2])
    assert.equal(d.size, 2)
    // The chaos audit accepts drift of 1 with 1 kill, and not with none.
    d.store([5n, 6n, 8], 1n)
    assert.equal(d.size, 3)
    d.close()
    const e = new AtomicDict(100, { k64: 2, k32: 1 })
    await dieAt(e, 'before-count', 'd.store([5n, 6n, 7], 9n)')
    assert.ok(auditAfterCrash(e, 0, 'no kills').problems.some((p) => /count drift 1 and 0 leaked admissions with 0 kills/.test(p)))
    e.close()
  })

  test('after-admit: the chaos audit accepts one leaked admission with one kill, and not with none', async () => {
    // (The exact aftermath, for each insert path, is in __test__/admission.test.js.)
    for (const kills of [1, 0]) {
      const d = new AtomicDict(100, { k64: 2, k32: 1 })
      await dieAt(d, 'after-admit', 'd.store([5n, 6n, 7], 9n)')
      const a = auditAfterCrash(d, kills, 'after-admit')
      assert.equal(a.leaked, 1)
      if (kills === 1) assert.deepEqual(a.problems, [])
      else assert.ok(a.problems.some((p) => /count drift 0 and 1 leaked admissions with 0 kills/.test(p)), a.problems.join('; '))
      // Repaired either way: the unit is back.
      assert.deepEqual([d.verify().ok, d.verify().reserved], [true, 0])
      d.close()
    }
  })
})

describe('an unsealed memfd is refused', () => {
  // Node cannot make a memfd; python3 makes one, copies a valid table into
  // it (seals as given), and hands it to a Node child as a shared table.
  const python = childProcess.spawnSync('python3', ['-c', 'import os, fcntl; os.memfd_create; fcntl.F_ADD_SEALS'], { encoding: 'utf8' })
  const skip = python.status !== 0 && 'needs python3 >= 3.8 with memfd_create'
  const PY = `
import fcntl, json, os, subprocess, sys
table, seals, node, code = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
fd = os.memfd_create('atomic-dict', os.MFD_ALLOW_SEALING)
with open(table, 'rb') as f:
    os.write(fd, f.read())
if seals:
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
st = os.fstat(fd)
env = dict(os.environ)
env['ATOMIC_DICT_SHARED'] = json.dumps({'t': {'fd': fd, 'kind': 'dict', 'dev': str(st.st_dev), 'ino': str(st.st_ino)}})
p = subprocess.run([node, '-e', code], pass_fds=[fd], env=env, capture_output=True, text=True)
print(json.dumps({'code': p.returncode, 'stdout': p.stdout, 'stderr': p.stderr}))
`
  const CHILD = `
const { AtomicDict } = require(${JSON.stringify(ROOT)})
let out
try { const t = AtomicDict.inherit('t'); out = { ok: true, v: String(t.get(1n)) } }
catch (e) { out = { ok: false, code: e.code, message: e.message } }
console.log(JSON.stringify(out))`
  const SHRINK = 2
  const GROW = 4
  const SEAL = 1

  function attachMemfd(seals) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-memfd-'))
    try {
      const file = path.join(dir, 't')
      const d = AtomicDict.open(file, { capacity: 10 })
      d.store(1n, 42n)
      d.close()
      const r = childProcess.spawnSync('python3', ['-c', PY, file, String(seals), process.execPath, CHILD], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS })
      assert.equal(r.status, 0, r.stderr)
      const p = JSON.parse(r.stdout)
      assert.equal(p.code, 0, `the Node child must exit 0 (no crash): ${p.stderr}`)
      return JSON.parse(p.stdout.trim().split('\n').pop())
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }

  test('a memfd with atomic-dict\'s seals attaches (the harness works)', { skip }, () => {
    assert.deepEqual(attachMemfd(SHRINK | GROW | SEAL), { ok: true, v: '42' })
  })
  for (const [name, seals] of [
    ['no seals', 0],
    ['shrink and grow sealed, but not the seals', SHRINK | GROW],
    ['only shrinking sealed', SHRINK | SEAL],
  ]) {
    test(`a memfd with ${name} is refused in the child, which exits normally`, { skip }, () => {
      const r = attachMemfd(seals)
      assert.equal(r.ok, false)
      assert.match(r.message, /memfd without atomic-dict's seals/)
    })
  }
})
