'use strict'
// Cross-process wake-up latency: two processes take turns on one key, each
// waiting for the other's change (wait/notify, blocking; waitAsync/notify;
// the same hand-off over an IPC channel, for comparison). Prints the mean
// round trip (two hand-offs) of each, measured side by side in one run.
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

async function child() {
  if (mode === 'ipc') {
    process.on('message', (m) => process.send(m + 1))
    return
  }
  const d = AtomicDict.inherit('d')
  if (mode === 'sync') syncSide(d, 1)
  else await asyncSide(d, 1)
  process.disconnect()
}

async function run(kind) {
  const d = new AtomicDict(4)
  d.store(PING, 0n)
  const c = fork(__filename, [String(ROUNDS)], { share: { d }, env: { ...process.env, WAIT_LATENCY_CHILD: kind } })
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

async function main() {
  if (mode) return child()
  const results = {}
  for (const kind of ['sync', 'async', 'ipc']) results[kind] = await run(kind)
  console.log(`${ROUNDS} round trips between two processes (mean µs per round trip, two hand-offs):`)
  console.log(`  wait / notify (blocking)      ${results.sync.toFixed(1)} µs`)
  console.log(`  waitAsync / notify            ${results.async.toFixed(1)} µs`)
  console.log(`  IPC message and reply         ${results.ipc.toFixed(1)} µs`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
