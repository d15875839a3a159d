'use strict'
// Only add and sub sync (docs/SYNC.md): a sync sends each key's change since
// its last batch, so the Redis total is the sum of the hosts' adds and subs
// only when every change is one. While a table object syncs, its guard
// (lib/atomic-op.js OpGuard, shared by the dict object, its slots, made
// before or after, and Counters over it) makes the other operations throw
// ERR_ATOMIC_DICT_NOT_COMMUTATIVE before they change anything. A flag the
// operations check: the objects keep their shape, add and sub their speed.

const tables = require('../table-memory')
const { codedError } = require('../errors')

function refusal(method, name) {
  return codedError(
    'ERR_ATOMIC_DICT_NOT_COMMUTATIVE',
    `atomic-dict: ${method}() on a table synced to Redis as ${JSON.stringify(name)}: only add and sub sync ` +
      '(each host sends its changes as deltas, which add up in any order); use a table that is not synced for other operations',
    TypeError,
  )
}

/** Guards the AtomicDict `dict` (and Counters or slots over it); returns the function that lifts the guard. */
function guard(dict, name) {
  const cell = tables.internals.get(dict).guard
  cell.refuse = (method) => refusal(method, name)
  return () => {
    cell.refuse = null
  }
}

module.exports = { guard }
