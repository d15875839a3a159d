'use strict'
// Crash injection for the reliability tests (docs/RELIABILITY.md): with
// ATOMIC_DICT_FAILPOINT=<name> in its environment, a process kills itself
// with SIGKILL when it reaches that point. Read once at load; when unset,
// each point costs one comparison of a constant, on insert paths only.
//
//   after-claim   a key was just inserted, before its first value write
//
// The other points are inside the native core's insert path
// (src/core/failpoint.rs, which reads the same variable): after-part,
// before-count, after-admit, pause-after-admit[:N], intern-after-alloc and
// intern-before-publish.

const POINT = process.env.ATOMIC_DICT_FAILPOINT || ''

function failpoint(name) {
  if (POINT === name) process.kill(process.pid, 'SIGKILL')
}

module.exports = { failpoint, FAILPOINTS: POINT !== '' }
