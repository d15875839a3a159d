'use strict'
// Making, attaching and closing tables: the native side maps the memory,
// JS gets a TableView over it. Shared by AtomicDict and AtomicSet.

const native = require('./native')
const { TableView } = require('./table-view')
const { OFF } = require('./format')
const { closedError, codedError } = require('./errors')
const { interruptWaitsAtExit } = require('./wait')

/** Passed as the first constructor argument to build a table object from {native, view}. */
const FROM_NATIVE = Symbol('atomic-dict: from native')

/**
 * Per table object: { native, view, kind, close() }. Kept out of the public
 * objects so that only this package can reach descriptors.
 */
const internals = new WeakMap()

let sameMemoryChecked = false

/**
 * Checks, once per process, that the view JS holds is the table's memory and
 * not a copy (runtimes with a V8 sandbox, such as Electron, copy external
 * buffers: every operation would then act on private memory and silently
 * share nothing). Uses a header word the format keeps zero, on a table no
 * other process has seen yet, and puts it back.
 */
function checkSameMemory(table, view) {
  const probe = 0x5a5a_0f0f_1234_5678n
  const word = OFF.SCRATCH / 8
  Atomics.store(view.u64, word, probe)
  const seen = table.headerWord(OFF.SCRATCH)
  Atomics.store(view.u64, word, 0n)
  if (seen !== probe) {
    throw codedError(
      'ERR_ATOMIC_DICT_UNSUPPORTED',
      'atomic-dict: this runtime copies external ArrayBuffers instead of sharing them ' +
        '(a V8 sandbox, as in Electron); shared tables cannot work here',
    )
  }
  sameMemoryChecked = true
}

function viewOf(table) {
  try {
    return new TableView(table.buffer(), table.layout(), table.locator())
  } catch (err) {
    table.close()
    throw native.convert(err)
  }
}

/** A new table in a sealed memfd (with a string area of `strings` bytes, 0 for none). */
function createTable(isSet, capacity, { k64, k32, valueBits, signed, strings = 0 }) {
  interruptWaitsAtExit()
  const table = native.createTable(isSet, capacity, k64, k32, valueBits, signed, strings)
  const view = viewOf(table)
  if (!sameMemoryChecked) {
    try {
      checkSameMemory(table, view)
    } catch (err) {
      closeTable({ native: table, view })
      throw err
    }
  }
  return { native: table, view }
}

/**
 * Before a process first attaches to a table others use, it checks the
 * runtime on a private table of its own (the check writes to the table).
 */
function ensureSameMemory() {
  if (!sameMemoryChecked) closeTable(createTable(false, 1, { k64: 1, k32: 0, valueBits: 64, signed: false }))
}

/** The table behind a descriptor this process holds (duplicated, validated). */
function attachFd(fd) {
  interruptWaitsAtExit()
  ensureSameMemory()
  const table = native.attachFd(fd)
  return { native: table, view: viewOf(table) }
}

/** The table in a named file, created when absent if `create` (with a string area of `strings` bytes). */
function openTable(path, create, mode, allowInsecure, isSet, capacity, { k64, k32, valueBits, signed, strings = 0 }) {
  interruptWaitsAtExit()
  ensureSameMemory()
  const table = native.openTable(path, create, mode, isSet, capacity, k64, k32, valueBits, signed, allowInsecure, strings)
  return { native: table, view: viewOf(table) }
}

/**
 * Releases this object's mapping: the buffer is detached (every view over it
 * becomes empty, so a stale handle throws instead of touching unmapped
 * memory) and the native side lets go; the memory is unmapped when V8 frees
 * the buffer.
 */
function closeTable({ native: table, view }) {
  if (view.closed) return
  const buffer = view.buffer
  view.close()
  try {
    native.call(() => table.detach(buffer))
  } finally {
    table.close()
  }
}

/** The native audit of a table's rows. */
function verify({ native: table, view }) {
  if (view.closed) throw closedError()
  return native.call(() => table.verify())
}

/** Recounts the header's counters from the rows (quiescent tables only). */
function repairCounts({ native: table, view }) {
  if (view.closed) throw closedError()
  return native.call(() => table.repairCounts())
}

module.exports = { verify, repairCounts, FROM_NATIVE, internals, createTable, attachFd, openTable, closeTable, viewOf }
