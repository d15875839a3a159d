'use strict'
// Making a new table: the native side creates and maps it, JS gets a view.

const binding = require('./binding')
const { TableView } = require('./table')
const { OFF } = require('./format')

let sameMemoryChecked = false

/**
 * Checks, once per process, that the view JS holds is the table's memory and
 * not a copy (runtimes with a V8 sandbox, such as Electron, copy external
 * buffers: every operation would then act on private memory and silently
 * share nothing). Uses a header word the format keeps zero, on a table no
 * other process has seen yet, and puts it back.
 */
function checkSameMemory(native, view) {
  const probe = 0x5a5a_0f0f_1234_5678n
  const word = OFF.SCRATCH / 8
  Atomics.store(view.u64, word, probe)
  const seen = native.headerWord(OFF.SCRATCH)
  Atomics.store(view.u64, word, 0n)
  if (seen !== probe) {
    throw new Error(
      'atomic-dict: this runtime copies external ArrayBuffers instead of sharing them ' +
        '(a V8 sandbox, as in Electron); shared tables cannot work here',
    )
  }
  sameMemoryChecked = true
}

function createTable(isSet, capacity, { k64, k32, valueBits, signed }) {
  const native = binding.createTable(isSet, capacity, k64, k32, valueBits, signed)
  const view = new TableView(native.buffer())
  if (!sameMemoryChecked) checkSameMemory(native, view)
  return { native, view }
}

module.exports = { createTable }
