'use strict'
// Process liveness for shared tables (src/contributors.rs): each object made
// by openContributors() is one contributor, with its own open file
// description of the table's file. It claims a slot (an OFD write lock the
// kernel drops when the holder dies, SIGKILL included), clears what a dead
// former owner of the slot left, then calls ready(); live(max) lists the
// slots whose owner is alive and ready. A worker thread with its own object
// is a contributor of its own.

const binding = require('./binding')
const native = require('./native')
const tables = require('./table-memory')
const { typeError, rangeError, closedError } = require('./errors')

/** The most slots a table's contributors may use. */
const MAX_SLOTS = 4096

function checkMax(max) {
  if (typeof max !== 'number') throw typeError('max', 'a number', max)
  if (!Number.isInteger(max) || max < 1 || max > MAX_SLOTS) {
    throw rangeError('max', `an integer from 1 to ${MAX_SLOTS}`, max)
  }
}

/**
 * A new contributor over `table` (an AtomicDict, an AtomicSet or Counters).
 * Returns `{ claim(max), ready(), live(max), release(), slot }`:
 * - `claim(max)`: the lowest slot below `max` nobody holds, or -1 if all
 *   are held (it throws if this object already holds one);
 * - `ready()`: the claimed slot counts from now on (after its leftovers
 *   are cleared);
 * - `live(max)`: the slots below `max` whose holder is alive and ready,
 *   ascending (this object's own included once ready);
 * - `release()`: lets go of the slot (it stops counting, then is free);
 * - `close()`: releases and closes the contributor's descriptor now;
 * - `slot`: the slot held, or -1.
 * Throws with the OS error's code if the table's file cannot be opened again
 * through /proc/self/fd (`ENOENT` when /proc is missing), and
 * `ERR_ATOMIC_DICT_UNSUPPORTED` on kernels without OFD locks (< 3.15).
 */
function openContributors(table) {
  const t = tables.internals.get(table)
  if (!t) throw typeError('table', 'an AtomicDict, an AtomicSet or Counters', table)
  if (t.view.closed) throw closedError()
  const fd = native.call(() => t.native.fd())
  const c = native.call(binding.openContributors, fd)
  return {
    claim(max) {
      checkMax(max)
      return native.call(() => c.claim(max))
    },
    ready() {
      native.call(() => c.ready())
    },
    live(max) {
      checkMax(max)
      return native.call(() => c.live(max))
    },
    release() {
      native.call(() => c.release())
    },
    /** Lets go of the slot and closes this contributor's descriptor (claim() fails after). */
    close() {
      native.call(() => c.close())
    },
    get slot() {
      return c.slot
    },
  }
}

module.exports = { openContributors, MAX_SLOTS }
