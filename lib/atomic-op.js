'use strict'
// One Atomics operation on a table's values, for handles that keep an index
// (AtomicValue, Counters) and so never go through the table's Keyed: once
// the table is closed its buffer is detached, and Atomics on the empty view
// throws (it never touches memory); this says why. try/catch costs nothing
// while nothing throws, and `op` is one of Atomics' functions, which V8
// inlines along with this function.

const { closedError } = require('./errors')

/** `op(values, index, a, b)` (an Atomics function), throwing ERR_ATOMIC_DICT_CLOSED once `view` is closed. */
function atomicOp(op, view, values, index, a, b) {
  try {
    return op(values, index, a, b)
  } catch (err) {
    throw view.closed ? closedError() : err
  }
}

/**
 * The other names of a class's read-modify-writes: the Python package's
 * `band`/`bor`/`bxor`, and `Atomics`' `exchange`/`compareExchange`.
 */
function addAliases(prototype) {
  const aliases = { band: 'and', bor: 'or', bxor: 'xor', exchange: 'swap', compareExchange: 'cas' }
  for (const [alias, name] of Object.entries(aliases)) {
    // Not enumerable, as the class's own methods are.
    Object.defineProperty(prototype, alias, { value: prototype[name], writable: true, configurable: true })
  }
}

/**
 * A table's guard, shared by its dict object, its slots and Counters over
 * it: while `refuse` is a function (syncToRedis sets it, lib/redis/sync-guard.js),
 * the operations other than add and sub throw what it returns for their
 * name, before they change anything. A flag, checked by those operations
 * only: add and sub never look at it.
 */
class OpGuard {
  constructor() {
    this.refuse = null
  }

  check(method) {
    if (this.refuse !== null) throw this.refuse(method)
  }
}

module.exports = { atomicOp, addAliases, OpGuard }
