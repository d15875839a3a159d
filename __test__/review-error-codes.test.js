'use strict'
// Review findings (bad input and closed stores, docs/METRICS.md "Errors":
// every bad value or label is a TypeError/RangeError with a Node-style code):
// - a label set whose series string is longer than 2^20 UTF-8 bytes throws
//   TableView#intern's plain RangeError (no `code`, and a message about
//   "string ... to be interned" that names no label);
// - declaring a per-process gauge on a closed store throws
//   ERR_ATOMIC_DICT_NO_LIVENESS ("per-process gauges need process liveness
//   ... where /proc is not mounted"), not ERR_ATOMIC_DICT_CLOSED as every
//   other call on a closed store does: Core.contributorSlot() wraps every
//   error of openContributors(), the closed table's included.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { MetricsStore } = require('../metrics')

test('a label value too long to be stored is a RangeError with a code', (t) => {
  const store = new MetricsStore({ series: 10 })
  t.after(() => store.close())
  const c = new store.Counter({ name: 'c_total', help: 'h', labelNames: ['path'] })
  assert.throws(() => c.inc({ path: 'x'.repeat(2 ** 20) }), (err) => {
    assert.equal(err.name, 'RangeError')
    assert.equal(err.code, 'ERR_OUT_OF_RANGE', `no code: ${err.message}`)
    return true
  })
})

test('a per-process gauge declared on a closed store throws ERR_ATOMIC_DICT_CLOSED', () => {
  const store = new MetricsStore({ series: 10 })
  store.close()
  assert.throws(() => new store.Counter({ name: 'c_total', help: 'h' }), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  assert.throws(() => new store.Gauge({ name: 'g', help: 'h', aggregate: 'last' }), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  assert.throws(() => new store.Gauge({ name: 'g', help: 'h' }), { code: 'ERR_ATOMIC_DICT_CLOSED' })
})
