'use strict'
// A process of the multi-process test, forked by benchmark/run.js with the
// package's `fork` and `share: { dict }`. It adds 1 to its keys in a loop for
// a fixed number of operations once the start flag is raised.
//   argv: <worker index> <'own' | 'one'> <operations per round>
//
// Per round (a message { round } from the parent): count itself ready in the
// table, spin on the flag key until it reaches the round number, run, report
// { start, end } as performance.timeOrigin + performance.now() (comparable
// across processes), then wait, idle, for the next message.

const { performance } = require('node:perf_hooks')
const { AtomicDict } = require('..')
const { FLAG_KEY, readyKey, workerKeys, KEYS_PER_WORKER, WARM_BASE } = require('./scaling-keys')

const dict = AtomicDict.inherit('dict')
const index = Number(process.argv[2])
const mode = process.argv[3]
const OPS = Number(process.argv[4])
const keys = workerKeys(mode, index)
const MASK = KEYS_PER_WORKER - 1

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
  const round = BigInt(m.round)
  dict.add(readyKey(m.round), 1n)
  while (dict.load(FLAG_KEY) < round) {
    // spin: the parent raises the flag when every process is ready
  }
  const start = performance.timeOrigin + performance.now()
  run(keys, OPS)
  const end = performance.timeOrigin + performance.now()
  process.send({ round: m.round, start, end, ops: OPS })
})
process.send({ warm: true })
