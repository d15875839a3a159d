'use strict'
// Cross-process wake-up latency: two processes take turns on one key, each
// waiting for the other's change (wait/notify, blocking; waitAsync/notify
// on io_uring and on the threads fallback; the same hand-off over an IPC
// channel, for comparison). Prints the mean round trip (two hand-offs) of
// each, measured side by side in one run, and the cost of arming 10,000
// pending waitAsync calls on distinct keys on each backend.
//   node benchmark/wait-latency.js [round trips]

const { AtomicDict, fork } = require('..')

const ROUNDS = Number(process.argv[2] ?? 20000)
const PING = 1n
const mode = process.env.WAIT_LATENCY_CHILD

function clock() {
  return Number(process.hrtime.bigint())
}

// The ping-pong: the parent moves the value on from even values, the
// child from odd ones; each waits while the value is not its turn.
function syncSide(d, first) {
  for (let i = BigInt(first); i < 2n * BigInt(ROUNDS); i += 2n) {
    for (let v = d.load(PING); v !== i; v = d.load(PING)) d.wait(PING, v)
    d.store(PING, i + 1n)
    d.notify(PING)
  }
}

async function asyncSide(d, first) {
  for (let i = BigInt(first); i < 2n * BigInt(ROUNDS); i += 2n) {
    for (let v = d.load(PING); v !== i; v = d.load(PING)) await d.waitAsync(PING, v)
    d.store(PING, i + 1n)
    d.notify(PING)
  }
}

/** Arms 10,000 waitAsync calls on distinct keys; sends µs per call, then settles them. */
async function arming() {
  const { poolStats } = require('../lib/wait')
  const N = 10000
  const d = new AtomicDict(2 * N)
  for (let k = 1; k <= 2 * N; k++) d.store(k, 0n)
  // Warm up the code paths (and the pool) on other keys.
  const warm = []
  for (let k = N + 1; k <= N + 1000; k++) warm.push(d.waitAsync(k, 0n))
  for (let k = N + 1; k <= N + 1000; k++) d.store(k, 1n), d.notify(k)
  await Promise.all(warm)
  const t = clock()
  const waits = []
  for (let k = 1; k <= N; k++) waits.push(d.waitAsync(k, 0n))
  const us = (clock() - t) / N / 1000
  const backend = poolStats().backend
  for (let k = 1; k <= N; k++) d.store(k, 1n), d.notify(k)
  await Promise.all(waits)
  process.send({ us, backend })
  process.disconnect()
}

async function child() {
  if (mode === 'arm') return arming()
  if (mode === 'ipc') {
    process.on('message', (m) => process.send(m + 1))
    return
  }
  const d = AtomicDict.inherit('d')
  if (mode === 'sync') syncSide(d, 1)
  else await asyncSide(d, 1)
  process.disconnect()
}

async function run(kind, env = {}) {
  const d = new AtomicDict(4)
  d.store(PING, 0n)
  const c = fork(__filename, [String(ROUNDS)], { share: { d }, env: { ...process.env, ...env, WAIT_LATENCY_CHILD: kind } })
  const exited = new Promise((resolve) => c.on('exit', resolve))
  let ns
  if (kind === 'ipc') {
    await new Promise((resolve) => c.once('spawn', resolve))
    const t = clock()
    for (let i = 0; i < ROUNDS; i++) {
      c.send(i)
      await new Promise((resolve) => c.once('message', resolve))
    }
    ns = clock() - t
    c.disconnect()
  } else {
    const t = clock()
    if (kind === 'sync') syncSide(d, 0)
    else await asyncSide(d, 0)
    ns = clock() - t
  }
  await exited
  return ns / ROUNDS / 1000
}

/** Runs the arming child with `env`: { us, backend }. */
function arm(env) {
  const c = fork(__filename, [], { env: { ...process.env, ...env, WAIT_LATENCY_CHILD: 'arm' } })
  return new Promise((resolve, reject) => {
    c.once('message', resolve)
    c.once('exit', (code) => code !== 0 && reject(new Error(`the arming child exited with ${code}`)))
  })
}

async function main() {
  if (mode) return child()
  if (process.env.ATOMIC_DICT_WAIT_BACKEND) throw new Error('run it without ATOMIC_DICT_WAIT_BACKEND: it measures both backends')
  const results = {}
  const threads = { ATOMIC_DICT_WAIT_BACKEND: 'threads' }
  results.sync = await run('sync')
  results.async = await run('async')
  results.asyncThreads = await run('async', threads)
  results.ipc = await run('ipc')
  const ring = await arm({})
  const fallback = await arm(threads)
  const r = (x) => `${(x / results.sync).toFixed(2)}x blocking, ${(x / results.ipc).toFixed(2)}x IPC`
  console.log(`${ROUNDS} round trips between two processes (mean µs per round trip, two hand-offs):`)
  console.log(`  wait / notify (blocking)                ${results.sync.toFixed(1)} µs`)
  console.log(`  waitAsync / notify (io_uring)           ${results.async.toFixed(1)} µs   ${r(results.async)}`)
  console.log(`  waitAsync / notify (threads fallback)   ${results.asyncThreads.toFixed(1)} µs   ${r(results.asyncThreads)}`)
  console.log(`  IPC message and reply                   ${results.ipc.toFixed(1)} µs`)
  console.log('arming 10,000 pending waitAsync on distinct keys (µs per call):')
  console.log(`  ${ring.backend.padEnd(38)}  ${ring.us.toFixed(2)} µs`)
  console.log(`  ${(fallback.backend + ' (fallback)').padEnd(38)}  ${fallback.us.toFixed(2)} µs`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
