'use strict'
// A process of the multi-process test, forked by benchmark/run.js with the
// package's `fork` and `share: { dict }`. It adds 1 to its keys in a loop for
// a fixed number of operations, all processes starting together.
//   argv: <worker index> <'own' | 'one'> <operations per round> <processes>
//
// Per round (a message { round } from the parent): arrive at the round's
// Latch and sleep there until every process has arrived (the last one
// wakes the others), run, report { start, end } in ms on CLOCK_MONOTONIC
// (process.hrtime: comparable across processes, which
// performance.timeOrigin + performance.now() is only to a few ms), then
// wait, idle, for the next message.

const { AtomicDict, Latch } = require('..')
const { startKey, workerKeys, KEYS_PER_WORKER, WARM_BASE } = require('./scaling-keys')

const dict = AtomicDict.inherit('dict')
const index = Number(process.argv[2])
const mode = process.argv[3]
const OPS = Number(process.argv[4])
const PROCESSES = Number(process.argv[5])
const keys = workerKeys(mode, index)
const MASK = KEYS_PER_WORKER - 1
const clock = () => Number(process.hrtime.bigint()) / 1e6

function run(ks, n) {
  for (let i = 0; i < n; i++) dict.add(ks[i & MASK], 1n)
}

// Warm the JIT on keys nobody counts, and this process's key cache on its keys.
const warmKeys = Array.from({ length: KEYS_PER_WORKER }, (_, j) => WARM_BASE + BigInt(index * KEYS_PER_WORKER + j))
for (let r = 0; r < 5; r++) run(warmKeys, 200_000)
for (const k of keys) dict.add(k, 0n)

process.on('message', (m) => {
  if (m.exit) {
    process.disconnect()
    return
  }
  // Bounded: a sibling that died before arriving must not hang the run.
  if (!new Latch(dict, startKey(m.round), PROCESSES).arriveAndWait(60_000)) {
    throw new Error(`round ${m.round}: not every worker arrived within 60 s`)
  }
  const start = clock()
  run(keys, OPS)
  const end = clock()
  process.send({ round: m.round, start, end, ops: OPS })
})
process.send({ warm: true })
