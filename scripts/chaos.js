'use strict'
// Crash chaos with real processes (docs/RELIABILITY.md).
//
//   node scripts/chaos.js [--rounds N] [--seconds S] [--seed X]
//
// Each round makes two tables, a one-part dict and a composite-key dict
// (k64 = 2, k32 = 1), in files under /dev/shm (even rounds) or in memfds
// shared by fork (odd rounds), and starts 4 workers
// (__test__/fixtures/chaos-worker.js) that insert new keys, add to 8 shared
// counters and store to a key of their own, on both tables, journaling every
// operation once it returned. The parent SIGKILLs each worker 0-30 ms after
// it started working. Half the rounds give one worker a failpoint instead
// (after-claim, after-part, before-count, after-admit in turn), which kills
// it from inside an insert. Once every worker is dead:
//
//   - each worker died by SIGKILL, ours or its failpoint's (else: a crash);
//   - verify() is ok, or reports only entry-count drift and leaked
//     admissions (a worker killed between an insert's admission and its
//     claim), at most one per kill, which repairCounts() mends so that
//     verify() is ok; never a duplicate or unreachable key;
//   - every operation a journal records is visible: each inserted key with its
//     value, each counter >= its recorded adds, each own key >= its last
//     recorded store; and no more was applied than the kills can explain (one
//     unrecorded operation per killed worker, at most).
//
// Exits 1 on any violation. Also used by __test__/reliability.test.js.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { AtomicDict, fork } = require('..')
const W = require('../__test__/fixtures/chaos-worker.js')

const WORKER = path.join(__dirname, '..', '__test__', 'fixtures', 'chaos-worker.js')
const WORKERS = 4
const FAILPOINT_CYCLE = [null, 'after-claim', null, 'after-part', null, 'before-count', null, 'after-admit']
const MAX_KILL_DELAY_MS = 30
const CAPACITY = 1 << 17
const QUOTA = 30_000 // new keys per worker and table, at most (4 * QUOTA + 12 < CAPACITY)
const DRIFT = /^the entry count is (\d+) but (\d+) rows hold complete keys$/
const LEAK = /^the admission counter is (\d+) but only (\d+) rows are claimed: (\d+) admissions leaked$/

const HAS_SHM = (() => {
  try {
    return fs.statSync('/dev/shm').isDirectory()
  } catch {
    return false
  }
})()

function makeRandom(seed) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 4294967296
  }
}

/**
 * verify(); if it reports only count drift and leaked admissions, checks them
 * against the kills, repairs and verifies again. Returns
 * { drift, leaked, report, problems: [...] }.
 */
function auditAfterCrash(dict, kills, label) {
  const problems = []
  const rep = dict.verify()
  let drift = 0
  let leaked = 0
  if (rep.duplicateKeys !== 0) problems.push(`${label}: ${rep.duplicateKeys} duplicate keys: ${rep.problems.join('; ')}`)
  if (rep.unreachableKeys !== 0) problems.push(`${label}: ${rep.unreachableKeys} unreachable keys: ${rep.problems.join('; ')}`)
  if (!rep.ok) {
    const other = rep.problems.filter((p) => !DRIFT.test(p) && !LEAK.test(p))
    if (other.length) problems.push(`${label}: verify found more than count drift and leaked admissions: ${other.join('; ')}`)
    drift = rep.completeRows - rep.entries
    // A worker killed between an insert's admission and its claim leaks the admission.
    leaked = rep.reserved - rep.completeRows - rep.partialRows
    if (drift < 0 || leaked < 0 || drift + leaked < 1 || drift + leaked > kills) {
      problems.push(`${label}: count drift ${drift} and ${leaked} leaked admissions with ${kills} kills`)
    }
    const before = dict.repairCounts()
    if (before.entries !== rep.entries || before.completeRows !== rep.completeRows) {
      problems.push(`${label}: repairCounts() reported ${JSON.stringify(before)} after verify() said ${JSON.stringify(rep)}`)
    }
    const after = dict.verify()
    if (!after.ok || after.entries !== after.completeRows || after.reserved !== after.completeRows + after.partialRows) {
      problems.push(`${label}: still not ok after repairCounts(): ${after.problems.join('; ')}`)
    }
    if (dict.size !== after.completeRows) problems.push(`${label}: size ${dict.size} after repair, ${after.completeRows} complete rows`)
  } else if (rep.entries !== rep.completeRows) {
    problems.push(`${label}: verify() ok but entries ${rep.entries} != complete rows ${rep.completeRows}`)
  }
  return { drift, leaked, report: rep, problems }
}

/** A worker's journal: its records, as [op, a, b, c] Number arrays. */
function readJournal(file) {
  let buf
  try {
    buf = fs.readFileSync(file)
  } catch (err) {
    if (err.code === 'ENOENT') return [] // killed before it opened its journal
    throw err
  }
  const n = Math.floor(buf.length / 32)
  const u64 = new BigUint64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + n * 32))
  const out = []
  for (let i = 0; i < n; i++) out.push([Number(u64[4 * i]), u64[4 * i + 1], u64[4 * i + 2], u64[4 * i + 3]])
  return out
}

/**
 * Checks the journals against the tables after every worker died.
 * Returns { checked, lost, excess, problems }.
 */
function checkJournals(one, two, journals, kills) {
  const problems = []
  let lost = 0
  let excess = 0
  let checked = 0
  const adds1 = new Array(W.COUNTERS).fill(0n)
  const adds2 = new Array(W.COUNTERS).fill(0n)
  let unrecorded = 0 // operations applied but not journaled, over all workers
  journals.forEach((records, id) => {
    let seq1 = 0
    let seq2 = 0
    let store1 = 0n
    let store2 = 0n
    for (const [op, a, b] of records) {
      checked++
      if (op === W.OPS.INSERT1 || op === W.OPS.INSERT2) {
        const composite = op === W.OPS.INSERT2
        const expectSeq = composite ? ++seq2 : ++seq1
        if (Number(a) !== expectSeq) problems.push(`worker ${id}: journal insert seq ${a}, expected ${expectSeq}`)
        const key = composite ? W.uniqueKey2(id, Number(a)) : W.uniqueKey1(id, Number(a))
        const got = (composite ? two : one).get(key)
        if (got !== b) {
          lost++
          if (problems.length < 20) problems.push(`worker ${id}: recorded insert of ${fmt(key)} = ${b}, table has ${got}`)
        }
      } else if (op === W.OPS.ADD1) adds1[Number(a)]++
      else if (op === W.OPS.ADD2) adds2[Number(a)]++
      else if (op === W.OPS.STORE1) store1 = a
      else if (op === W.OPS.STORE2) store2 = a
      else problems.push(`worker ${id}: unknown journal op ${op}`)
    }
    // The one operation a killed worker may have applied without recording.
    let mine = 0
    for (const [dict, key, next] of [
      [one, W.uniqueKey1(id, seq1 + 1), W.uniqueKey1(id, seq1 + 2)],
      [two, W.uniqueKey2(id, seq2 + 1), W.uniqueKey2(id, seq2 + 2)],
    ]) {
      if (dict.has(key)) mine++
      if (dict.has(next)) problems.push(`worker ${id}: key ${fmt(next)} exists, two inserts past its journal`)
    }
    for (const [dict, key, last] of [
      [one, W.ownKey1(id), store1],
      [two, W.ownKey2(id), store2],
    ]) {
      const got = dict.load(key)
      if (got < last) {
        lost++
        problems.push(`worker ${id}: own key ${fmt(key)} is ${got}, last recorded store ${last}`)
      } else if (got === last + 1n) mine++
      else if (got !== last) {
        excess++
        problems.push(`worker ${id}: own key ${fmt(key)} is ${got}, last recorded store ${last}`)
      }
    }
    if (mine > 1) {
      excess++
      problems.push(`worker ${id}: ${mine} unrecorded operations applied (at most 1 can be in flight)`)
    }
    unrecorded += mine
  })
  for (const [dict, adds, keyOf] of [
    [one, adds1, W.counterKey1],
    [two, adds2, W.counterKey2],
  ]) {
    for (let s = 0; s < W.COUNTERS; s++) {
      const got = dict.load(keyOf(s))
      if (got < adds[s]) {
        lost += Number(adds[s] - got)
        problems.push(`counter ${fmt(keyOf(s))} is ${got} but ${adds[s]} adds were recorded`)
      } else unrecorded += Number(got - adds[s])
    }
  }
  if (unrecorded > kills) {
    excess += unrecorded - kills
    problems.push(`${unrecorded} unrecorded operations applied, but only ${kills} workers were killed`)
  }
  return { checked, lost, excess, unrecorded, problems }
}

function fmt(key) {
  return Array.isArray(key) ? `[${key.join(', ')}]` : String(key)
}

/** Runs one worker; resolves to { id, code, signal, killedByUs, ready, stderr }. */
function startWorker(cfg, options, killDelay, failpoint) {
  const child = fork(WORKER, [JSON.stringify(cfg)], options)
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const out = { id: cfg.id, killedByUs: false, ready: false, failpoint }
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) {
      out.killedByUs = true
      child.kill('SIGKILL')
    }
  }
  // A worker that never gets ready, or a failpoint that is never reached.
  const safety = setTimeout(() => {
    out.timedOut = true
    kill()
  }, 15_000)
  child.on('message', (m) => {
    if (m && m.ready) {
      out.ready = true
      if (!failpoint) setTimeout(kill, killDelay)
    }
  })
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(safety)
      resolve({ ...out, code, signal, stderr })
    })
  })
}

async function runRound(r, random, dir) {
  const mode = r % 2 === 1 || !HAS_SHM ? 'inherit' : 'open'
  const failpoint = FAILPOINT_CYCLE[r % FAILPOINT_CYCLE.length]
  const fpWorker = failpoint ? r % WORKERS : -1
  let one, two
  const files = []
  if (mode === 'open') {
    for (const n of ['one', 'two']) files.push(path.join('/dev/shm', `atomic-dict-chaos-${process.pid}-${r}-${n}`))
    one = AtomicDict.open(files[0], { capacity: CAPACITY })
    two = AtomicDict.open(files[1], { capacity: CAPACITY, k64: 2, k32: 1 })
  } else {
    one = new AtomicDict(CAPACITY)
    two = new AtomicDict(CAPACITY, { k64: 2, k32: 1 })
  }
  try {
    const workers = []
    const journalFiles = []
    for (let id = 0; id < WORKERS; id++) {
      const journal = path.join(dir, `r${r}-w${id}.journal`)
      journalFiles.push(journal)
      const cfg = { id, seed: Math.floor(random() * 2 ** 32), mode, one: files[0], two: files[1], journal, quota: QUOTA, maxMs: 10_000 }
      const env = { ...process.env }
      delete env.ATOMIC_DICT_FAILPOINT
      if (id === fpWorker) env.ATOMIC_DICT_FAILPOINT = failpoint
      const options = { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }
      if (mode === 'inherit') options.share = { one, two }
      workers.push(startWorker(cfg, options, Math.floor(random() * (MAX_KILL_DELAY_MS + 1)), id === fpWorker ? failpoint : null))
    }
    const outcomes = await Promise.all(workers)
    const problems = []
    let kills = 0
    let failpointKills = 0
    let crashes = 0
    for (const o of outcomes) {
      const what = `round ${r} worker ${o.id}${o.failpoint ? ` (failpoint ${o.failpoint})` : ''}: exit ${o.code}, signal ${o.signal}`
      if (o.signal !== 'SIGKILL' || o.timedOut) {
        crashes++
        problems.push(`${what}${o.timedOut ? ', timed out' : ''}${o.stderr ? `, stderr: ${o.stderr.trim()}` : ''}`)
        continue
      }
      kills++
      if (o.failpoint) {
        if (o.killedByUs) problems.push(`${what}: killed by the parent, its failpoint was never reached`)
        else failpointKills++
      } else if (!o.killedByUs) {
        crashes++
        problems.push(`${what}: SIGKILL that the parent did not send`)
      }
    }
    const a1 = auditAfterCrash(one, kills, `round ${r} one-part table`)
    const a2 = auditAfterCrash(two, kills, `round ${r} composite table`)
    problems.push(...a1.problems, ...a2.problems)
    // The core reaches before-count for every key shape: whichever table the
    // worker inserted into first holds the drift.
    if (failpoint === 'before-count' && a1.drift + a2.drift < 1) {
      problems.push(`round ${r}: the before-count failpoint left no count drift`)
    }
    if (failpoint === 'after-admit' && a1.leaked + a2.leaked < 1) {
      problems.push(`round ${r}: the after-admit failpoint leaked no admission`)
    }
    const journals = journalFiles.map(readJournal)
    const j = checkJournals(one, two, journals, kills)
    problems.push(...j.problems)
    for (const f of journalFiles) fs.rmSync(f, { force: true })
    return {
      mode,
      failpoint,
      kills,
      failpointKills,
      crashes,
      checked: j.checked,
      lost: j.lost,
      duplicated: j.excess + a1.report.duplicateKeys + a2.report.duplicateKeys,
      unrecorded: j.unrecorded,
      drift: a1.drift + a2.drift,
      leaked: a1.leaked + a2.leaked,
      partialRows: a1.report.partialRows + a2.report.partialRows,
      problems,
    }
  } finally {
    one.close()
    two.close()
    for (const f of files) AtomicDict.unlink(f)
  }
}

/**
 * Runs `rounds` rounds (stopping early once `seconds` have passed); returns
 * the totals and every problem found.
 */
async function runChaos({ rounds = 100, seconds = 170, seed = Date.now() >>> 0, log = () => {} } = {}) {
  const random = makeRandom(seed)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-chaos-'))
  const totals = {
    seed,
    rounds: 0,
    roundsOpen: 0,
    roundsFork: 0,
    kills: 0,
    failpointKills: 0,
    failpointRounds: {},
    operationsChecked: 0,
    lost: 0,
    duplicated: 0,
    crashes: 0,
    driftRepaired: 0,
    leaksRepaired: 0,
    unrecordedApplied: 0,
    partialRowsLeft: 0,
    problems: [],
    ms: 0,
  }
  const start = Date.now()
  try {
    for (let r = 0; r < rounds; r++) {
      if (Date.now() - start > seconds * 1000) {
        log(`stopping after ${r} rounds: --seconds ${seconds} reached`)
        break
      }
      const res = await runRound(r, random, dir)
      totals.rounds++
      if (res.mode === 'open') totals.roundsOpen++
      else totals.roundsFork++
      totals.kills += res.kills
      totals.failpointKills += res.failpointKills
      if (res.failpoint) totals.failpointRounds[res.failpoint] = (totals.failpointRounds[res.failpoint] || 0) + 1
      totals.operationsChecked += res.checked
      totals.lost += res.lost
      totals.duplicated += res.duplicated
      totals.crashes += res.crashes
      totals.driftRepaired += res.drift
      totals.leaksRepaired += res.leaked
      totals.unrecordedApplied += res.unrecorded
      totals.partialRowsLeft += res.partialRows
      for (const p of res.problems) totals.problems.push(p)
      log(
        `round ${r} (${res.mode}${res.failpoint ? `, ${res.failpoint}` : ''}): ${res.kills} kills, ` +
          `${res.checked} ops checked, drift ${res.drift}, partial rows ${res.partialRows}` +
          (res.problems.length ? `, ${res.problems.length} PROBLEMS` : ''),
      )
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  totals.ms = Date.now() - start
  return totals
}

function parseArgs(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(rounds|seconds|seed)(?:=(.*))?$/.exec(argv[i])
    if (!m) throw new Error(`unknown argument ${argv[i]} (usage: node scripts/chaos.js [--rounds N] [--seconds S] [--seed X])`)
    const v = Number(m[2] ?? argv[++i])
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${m[1]} needs a number`)
    out[m[1]] = v
  }
  return out
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const verbose = process.env.CHAOS_VERBOSE === '1'
  const t = await runChaos({ ...args, log: verbose ? (s) => console.log(s) : () => {} })
  for (const p of t.problems.slice(0, 50)) console.log(`VIOLATION: ${p}`)
  const fp = Object.entries(t.failpointRounds).map(([k, v]) => `${k} ${v}`).join(', ')
  console.log(`chaos: seed ${t.seed}`)
  console.log(`rounds:              ${t.rounds} (${t.roundsOpen} on /dev/shm files, ${t.roundsFork} on memfds shared by fork)`)
  console.log(`kills:               ${t.kills} (SIGKILL, parent's random 0-${MAX_KILL_DELAY_MS} ms or a failpoint)`)
  console.log(`failpoint kills:     ${t.failpointKills} (rounds: ${fp || 'none'})`)
  console.log(`operations checked:  ${t.operationsChecked}`)
  console.log(`lost:                ${t.lost}`)
  console.log(`duplicated:          ${t.duplicated}`)
  console.log(`crashes:             ${t.crashes}`)
  console.log(`drift repaired:      ${t.driftRepaired}`)
  console.log(`leaks repaired:      ${t.leaksRepaired} (admissions of workers killed before their claim)`)
  console.log(`applied, unrecorded: ${t.unrecordedApplied} (in flight at a kill; allowed: <= 1 per kill)`)
  console.log(`partial rows left:   ${t.partialRowsLeft}`)
  console.log(`time:                ${(t.ms / 1000).toFixed(1)} s`)
  const bad = t.problems.length > 0 || t.lost > 0 || t.duplicated > 0 || t.crashes > 0
  console.log(bad ? `chaos: FAILED (${t.problems.length} violations)` : 'chaos: passed')
  process.exitCode = bad ? 1 : 0
}

module.exports = { runChaos, auditAfterCrash, checkJournals, readJournal }

if (require.main === module) {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 2
  })
}
