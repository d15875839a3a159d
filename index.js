'use strict'
// atomic-dict: a lock-free shared Map<u64, u64> in shared memory.
// See README.md for the API and FORMAT.md for the memory format.

const { AtomicDict } = require('./lib/dict')
const { AtomicSet } = require('./lib/set')
const { AtomicValue } = require('./lib/value')
const { AtomicDictFullError } = require('./lib/errors')
const { spawn, fork, shareWithCluster } = require('./lib/spawn')

module.exports = { AtomicDict, AtomicSet, AtomicValue, AtomicDictFullError, spawn, fork, shareWithCluster }
