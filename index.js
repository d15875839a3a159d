'use strict'
// atomic-dict: a lock-free shared Map<u64, u64> in shared memory.
// See README.md for the API and docs/FORMAT.md for the memory format.

const { AtomicDict } = require('./lib/atomic-dict')
const { AtomicSet } = require('./lib/atomic-set')
const { AtomicValue } = require('./lib/atomic-value')
const { AtomicDictFullError } = require('./lib/errors')
const { stringKey: stringKeyOf } = require('./lib/strings')
const { spawn, fork, shareWithCluster, shareOptions } = require('./lib/spawn')
const { Counters, counters } = require('./lib/counters')
const { Latch } = require('./lib/latch')
const { Semaphore } = require('./lib/semaphore')
const { poolStats: waitPoolStats } = require('./lib/wait')

/** The 64-bit key part (a bigint) that the string `string` stands for as a key. */
function stringKey(string) {
  return stringKeyOf(string, 'string')
}

module.exports = {
  AtomicDict,
  AtomicSet,
  AtomicValue,
  AtomicDictFullError,
  Counters,
  counters,
  Latch,
  Semaphore,
  stringKey,
  spawn,
  fork,
  shareWithCluster,
  shareOptions,
  waitPoolStats,
}
