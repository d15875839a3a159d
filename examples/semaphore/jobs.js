'use strict'
// At most PERMITS jobs running at once across all the workers of a cluster:
// each job (a simulated call to a slow, fragile upstream API) runs between
// `await sem.acquire()` and `sem.release()` of one Semaphore in shared
// memory. One worker crashes in the middle of a job, holding a permit; the
// primary gives the permit back (`releaseHeldBy`) and re-queues the job. At
// the end the primary prints a summary proving the limit held.
// See README.md in this folder.
//
//   node examples/semaphore/jobs.js
//
// Environment: WORKERS (default 4), PERMITS (3), JOBS (200), CONCURRENCY
// (jobs each worker tries to run at once, 4), JOB_MS (the longest job, 25),
// CRASH (1: the first worker dies during its third job; 0: nobody dies).

const cluster = require('node:cluster')
// In your own project: require('atomic-dict').
const { AtomicDict, Semaphore, shareWithCluster } = require('../..')

const WORKERS = Number(process.env.WORKERS ?? 4)
const PERMITS = Number(process.env.PERMITS ?? 3)
const JOBS = Number(process.env.JOBS ?? 200)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4)
const JOB_MS = Number(process.env.JOB_MS ?? 25)
const CRASH = process.env.CRASH !== '0'

// The jobs table (32-bit values): job i (1..JOBS) is TODO, DONE, or the pid
// of the worker that claimed it.
const TODO = 0
const DONE = 0xffff_ffff

// Keys of the shared dict: the semaphore, and the example's own gauge of
// jobs running (to prove the limit with something the semaphore does not
// count itself), with each worker's share of it under `running-by/<pid>`.
const SEM = 'upstream-api'
const RUNNING = 'running'
const MAX_RUNNING = 'max-running'
const runningBy = (pid) => `running-by/${pid}`

// Milliseconds on CLOCK_MONOTONIC (process.hrtime), the one clock every
// process of the machine reads alike: performance.timeOrigin + performance.now()
// is off by up to a few ms from one process to another.
const clock = () => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------- a worker

async function worker() {
  const d = AtomicDict.inherit('d')
  const jobs = AtomicDict.inherit('jobs')
  const sem = new Semaphore(d, SEM, PERMITS)
  const pid = process.pid
  let started = 0

  /** The job itself: a call to the upstream that takes 1..JOB_MS ms. */
  async function callUpstream(job) {
    // The gauge: up first, then this worker's share (down in reverse), so
    // a crash in between can only leave the gauge too high, never too low.
    const now = d.add(RUNNING, 1n) + 1n
    d.add(runningBy(pid), 1n)
    for (let max = d.load(MAX_RUNNING); now > max; ) {
      const before = d.cas(MAX_RUNNING, max, now)
      if (before === max) break
      max = before
    }
    process.send({ job, start: clock() })
    const ms = 1 + Math.random() * (JOB_MS - 1)
    if (process.env.CRASH_HERE && ++started === 3) {
      await sleep(ms / 2)
      process.kill(pid, 'SIGKILL') // dies holding a permit, in the middle of a job
    }
    await sleep(ms)
    const end = clock()
    d.sub(runningBy(pid), 1n)
    d.sub(RUNNING, 1n)
    process.send({ job, end })
  }

  async function loop() {
    for (let job = 1; job <= JOBS; job++) {
      if (jobs.cas(job, TODO, pid) !== TODO) continue // done, or someone else's
      await sem.acquire()
      try {
        await callUpstream(job)
      } finally {
        sem.release()
      }
      jobs.store(job, DONE)
    }
  }

  await Promise.all(Array.from({ length: CONCURRENCY }, loop))
  process.disconnect()
}

// ---------------------------------------------------------------- the primary

function primary() {
  const d = new AtomicDict(1024)
  const jobs = new AtomicDict(JOBS, { valueBits: 32 })
  for (let job = 1; job <= JOBS; job++) jobs.store(job, TODO)
  shareWithCluster({ d, jobs })
  const sem = new Semaphore(d, SEM, PERMITS)

  const began = clock()
  const events = [] // [time, +1 | -1]: every job's start and end
  const open = new Map() // pid -> Map(job -> start) of jobs in progress
  const completed = new Map() // job -> times completed
  const perWorker = new Map()
  const exitAt = new Map() // pid -> when its exit was seen (before its permits were released)
  const crashes = []
  let alive = 0

  const fork = (env) => {
    const w = cluster.fork(env)
    const pid = w.process.pid
    alive++
    open.set(pid, new Map())
    perWorker.set(pid, 0)
    w.on('message', (m) => {
      if (m.start !== undefined) {
        events.push([m.start, 1])
        open.get(pid).set(m.job, m.start)
      } else if (m.end !== undefined) {
        events.push([m.end, -1])
        open.get(pid).delete(m.job)
        completed.set(m.job, (completed.get(m.job) ?? 0) + 1)
        perWorker.set(pid, perWorker.get(pid) + 1)
      }
    })
    // Done with a worker once it has exited and its last messages are in
    // ('exit' can come before them; 'disconnect' comes after).
    let ends = 0
    const ended = () => {
      if (++ends < 2) return
      if (--alive === 0) summary()
    }
    // Recovery runs before this worker counts as ended: a replacement it
    // forks is alive before the last worker's end can look like the end
    // of all (with 'disconnect' first, the summary came too early).
    w.once('exit', (code, signal) => {
      recover(pid, code, signal)
      ended()
    })
    w.once('disconnect', ended)
  }

  function recover(pid, code, signal) {
    exitAt.set(pid, clock())
    // A worker that dies gives nothing back by itself. Recover in this
    // order: the example's gauge first (so no new job can start and count
    // itself while the dead one still counts), then the permits, then the
    // jobs it had claimed. A worker that ends normally holds none of them:
    // the same code finds nothing to do.
    d.sub(RUNNING, d.swap(runningBy(pid), 0n))
    const released = sem.releaseHeldBy(pid)
    let requeued = 0
    for (let job = 1; job <= JOBS; job++) if (jobs.cas(job, pid, TODO) === pid) requeued++
    if (code !== 0 || signal !== null) {
      const running = [...open.get(pid).keys()]
      const inJob = running.length ? `, in the middle of job${running.length === 1 ? '' : 's'} ${running.join(', ')}` : ''
      console.log(
        `worker ${pid} died (${signal ?? code}) holding ${released} permit${released === 1 ? '' : 's'}${inJob}; ` +
          `the primary released ${released} and re-queued ${requeued} job${requeued === 1 ? '' : 's'}`,
      )
      crashes.push({ pid, released, requeued })
      fork({}) // a replacement takes up the re-queued jobs
    }
  }

  function summary() {
    const failures = []
    // The most jobs in progress at any instant, from their start and end
    // times (an end before a start at the same instant: a release comes
    // before the acquire it lets through). A job a dead worker left
    // unfinished ran until the primary saw it die.
    for (const [pid, left] of open) for (let i = 0; i < left.size; i++) events.push([exitAt.get(pid), -1])
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    let now = 0
    let fromTimes = 0
    for (const [, delta] of events) fromTimes = Math.max(fromTimes, (now += delta))
    const gauge = Number(d.load(MAX_RUNNING))
    const done = Array.from({ length: JOBS }, (_, i) => jobs.get(i + 1)).filter((s) => s === DONE).length
    const once = [...completed.values()].every((n) => n === 1) && completed.size === JOBS
    const reruns = crashes.reduce((n, c) => n + c.requeued, 0)
    const seconds = (clock() - began) / 1000

    if (done !== JOBS) failures.push(`${done} jobs done, expected ${JOBS}`)
    if (!once) failures.push('some job completed twice or never')
    if (gauge > PERMITS || fromTimes > PERMITS) failures.push(`more than ${PERMITS} jobs ran at once`)
    if (sem.held !== 0) failures.push(`${sem.held} permits still held`)
    if (d.load(RUNNING) !== 0n) failures.push(`the gauge ends at ${d.load(RUNNING)}`)

    console.log(`jobs done: ${done} of ${JOBS}, each completed once: ${once ? 'yes' : 'NO'}${reruns ? ` (${reruns} re-queued after a crash)` : ''} in ${seconds.toFixed(2)} s`)
    console.log(`jobs per worker: ${[...perWorker].map(([pid, n]) => `${pid}: ${n}`).join(', ')}`)
    console.log(
      `max concurrent jobs: ${gauge} (shared gauge), ${fromTimes} (from the jobs' start and end times); ` +
        `limit ${PERMITS}: ${gauge <= PERMITS && fromTimes <= PERMITS ? 'ok' : 'EXCEEDED'}`,
    )
    console.log(`permits held at the end: ${sem.held}`)
    if (failures.length) {
      console.error('FAILED:\n  ' + failures.join('\n  '))
      process.exitCode = 1
    }
  }

  console.log(
    `${WORKERS} workers, ${PERMITS} permits, ${JOBS} jobs of 1–${JOB_MS} ms (each worker tries ${CONCURRENCY} at once)`,
  )
  for (let i = 0; i < WORKERS; i++) fork(CRASH && i === 0 ? { CRASH_HERE: '1' } : {})
}

if (cluster.isPrimary) primary()
else worker()
