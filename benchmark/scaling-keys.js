'use strict'
// Keys of the multi-process test, shared by benchmark/run.js and
// benchmark/scaling-worker.js.

const ONE_KEY = 2n // the key every process adds to in 'one' mode
const KEYS_PER_WORKER = 16 // a power of two
const OWN_BASE = 1_000_000n // 'own' mode: worker w uses OWN_BASE + w·16 + 0..15
const WARM_BASE = 2_000_000n // JIT warm-up keys, never counted

// The start line of a round: a Latch (one-shot, so one key per round) whose
// value counts the processes that have arrived.
const startKey = (round) => 100n + BigInt(round)

function workerKeys(mode, index) {
  return Array.from({ length: KEYS_PER_WORKER }, (_, j) =>
    mode === 'one' ? ONE_KEY : OWN_BASE + BigInt(index * KEYS_PER_WORKER + j),
  )
}

module.exports = { ONE_KEY, KEYS_PER_WORKER, OWN_BASE, WARM_BASE, startKey, workerKeys }
