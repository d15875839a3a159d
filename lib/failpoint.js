'use strict'
// Crash injection for the reliability tests (docs/RELIABILITY.md): with
// ATOMIC_DICT_FAILPOINT=<name> in its environment, a process kills itself
// with SIGKILL when it reaches that point. Read once at load; when unset,
// each point costs one comparison of a constant, on insert paths only.
//
//   after-claim   a key was just inserted, before its first value write
//   after-part    a composite key's part was claimed, before the next part
//   before-count  a composite key was completed, before it is counted

const POINT = process.env.ATOMIC_DICT_FAILPOINT || ''

function failpoint(name) {
  if (POINT === name) process.kill(process.pid, 'SIGKILL')
}

module.exports = { failpoint, FAILPOINTS: POINT !== '' }
