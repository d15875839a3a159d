'use strict'
// How a sync talks to Redis (lib/redis/sync.js, sync-totals.js): every
// command within the sync's timeout, and every failure as one of this
// package's coded errors.

const { codedError } = require('../errors')
const { isReplyError } = require('./client')
const { commandError } = require('./redis-table')

/** `promise`, or a rejection with ERR_ATOMIC_DICT_SYNC_TIMEOUT after `ms`. */
function within(promise, ms, what) {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(codedError('ERR_ATOMIC_DICT_SYNC_TIMEOUT', `atomic-dict: ${what} has no reply after ${ms} ms (it may still arrive)`)), ms)
    // The sync's own timers decide whether it keeps the process alive (options.ref).
    timer.unref()
  })
  promise.catch(() => {}) // a late failure of a command given up on
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A failure of `what` as a coded error: ours (and Node's: ERR_...) stay, the client's become commandError's. */
function coded(err, what) {
  return typeof err?.code === 'string' && err.code.startsWith('ERR_') && !isReplyError(err) ? err : commandError(err, what, 'once')
}

/** `promise` (a command's reply) within `ms`, its failure coded. */
async function reply(promise, ms, what) {
  try {
    return await within(promise, ms, what)
  } catch (err) {
    throw coded(err, what)
  }
}

module.exports = { reply }
