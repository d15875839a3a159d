'use strict'
// Only add and sub sync (docs/SYNC.md): a sync sends each key's change since
// its last batch, so the Redis total is the sum of the hosts' values only
// when every change is an increment or a decrement. A synced table object
// (and its slots, and Counters over it) gets own methods that refuse the
// others with ERR_ATOMIC_DICT_NOT_COMMUTATIVE before they change anything.

const { codedError } = require('../errors')

const DICT = ['and', 'or', 'xor', 'swap', 'cas', 'store', 'set', 'storeMany', 'band', 'bor', 'bxor', 'exchange', 'compareExchange']
const VALUE = ['and', 'or', 'xor', 'swap', 'cas', 'store', 'band', 'bor', 'bxor', 'exchange', 'compareExchange']
const COUNTERS = ['set', 'swap', 'cas', 'reset']

function refusal(method, name) {
  return codedError(
    'ERR_ATOMIC_DICT_NOT_COMMUTATIVE',
    `atomic-dict: ${method}() on a table synced to Redis as ${JSON.stringify(name)}: only add and sub sync ` +
      '(each host sends its changes as deltas, which add up in any order); use a table that is not synced for other operations',
    TypeError,
  )
}

/** Gives `target` own methods `methods` that throw; returns a function that takes them away. */
function refuse(target, methods, name, more = {}) {
  const own = {}
  for (const m of methods) {
    own[m] = {
      value: () => {
        throw refusal(m, name)
      },
      writable: true,
      configurable: true,
    }
  }
  for (const [m, value] of Object.entries(more)) own[m] = { value, writable: true, configurable: true }
  Object.defineProperties(target, own)
  return () => {
    for (const m of Object.keys(own)) delete target[m]
  }
}

/**
 * Guards `table` (an AtomicDict, or Counters whose `table` is `dict`);
 * returns the function that lifts the guard.
 */
function guard(table, dict, name) {
  const guardSlot = (slot) => {
    refuse(slot, VALUE, name)
    return slot
  }
  const slotOf = (owner) => {
    const slot = Object.getPrototypeOf(owner).slot
    return function (key) {
      return guardSlot(slot.call(this, key))
    }
  }
  const lifts = [refuse(dict, DICT, name, { slot: slotOf(dict) })]
  // Counters' slot() is the dict's, guarded above.
  if (table !== dict) lifts.push(refuse(table, COUNTERS, name))
  return () => lifts.forEach((lift) => lift())
}

module.exports = { guard }
