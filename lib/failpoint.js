'use strict'
// Crash injection for the reliability tests (docs/RELIABILITY.md): with
// ATOMIC_DICT_FAILPOINT=<name> in its environment, a process kills itself
// with SIGKILL when it reaches that point. Read once at load; when unset,
// each point costs one comparison of a constant, on insert paths only.
//
//   after-claim   a key was just inserted, before its first value write
//   after-part    a composite key's part was claimed, before the next part
//   before-count  a composite key was completed, before it is counted
//   after-admit   an insert was admitted, before it claims its row
//
// and one that pauses instead (src/core/failpoint.rs has the same points for
// the inserts the native core does; the two read the same variable):
//
//   pause-after-admit[:N]  the first admitted insert of the process stores 1
//       in the header's scratch word and waits, before claiming its row,
//       until N (default 1) refused inserts have added 1 to it (or 10 s
//       passed), then puts 0 back and goes on. A refused insert in a process
//       with this failpoint adds its 1 once per call, when it starts to wait
//       and an admitter is paused, and its wait has no bound while the word
//       is non-zero (so the outcome does not depend on process start-up).

const { OFF } = require('./format')

const POINT = process.env.ATOMIC_DICT_FAILPOINT || ''
const PAUSE = /^pause-after-admit(?::(\d+))?$/.exec(POINT)
const WAITERS = PAUSE ? BigInt(PAUSE[1] ?? 1) : 0n
const SCRATCH = OFF.SCRATCH / 8
const SLEEP = new Int32Array(new SharedArrayBuffer(4))
let paused = false

function failpoint(name) {
  if (POINT === name) process.kill(process.pid, 'SIGKILL')
}

/** After an admission, before the claim: `after-admit` or `pause-after-admit`. */
function afterAdmit(u64) {
  failpoint('after-admit')
  if (!PAUSE || paused) return
  paused = true
  if (Atomics.compareExchange(u64, SCRATCH, 0n, 1n) !== 0n) return
  const giveUp = Date.now() + 10_000
  while (Atomics.load(u64, SCRATCH) < 1n + WAITERS && Date.now() < giveUp) Atomics.wait(SLEEP, 0, 0, 0.1)
  Atomics.store(u64, SCRATCH, 0n)
}

/** Once per call, when a refused insert starts to wait (`pause-after-admit`). */
function refused(u64) {
  if (!PAUSE) return
  let seen = Atomics.load(u64, SCRATCH)
  while (seen >= 1n) {
    const before = Atomics.compareExchange(u64, SCRATCH, seen, seen + 1n)
    if (before === seen) break
    seen = before
  }
}

/** Whether a pause-after-admit failpoint holds an admitter (the wait then has no bound). */
function admitterPaused(u64) {
  return PAUSE !== null && Atomics.load(u64, SCRATCH) >= 1n
}

module.exports = { failpoint, afterAdmit, refused, admitterPaused, FAILPOINTS: POINT !== '' }
