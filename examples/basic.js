'use strict'
// The table in one process: counters, tickets, claims and a set.
// Run: node examples/basic.js

const { AtomicDict, AtomicSet } = require('..')

const dict = new AtomicDict(1024)

// Counters: every read-modify-write returns the value before it.
dict.add(1n, 1n)
dict.add(1n, 41n)
console.log('counter 1 =', dict.load(1n)) // 42n

// Tickets: each add hands out a distinct previous value.
const tickets = [dict.add(2n, 1n), dict.add(2n, 1n), dict.add(2n, 1n)]
console.log('tickets', tickets) // [0n, 1n, 2n]

// A claim: compare-and-swap from 0 succeeds for exactly one claimant.
const me = 7n
console.log('claimed:', dict.cas(3n, 0n, me) === 0n, 'by', dict.load(3n))

// A handle on one key skips the lookup.
const hits = dict.slot(4n)
for (let i = 0; i < 1000; i++) hits.add(1n)
console.log('hits =', hits.load())

// Map-like reads never insert.
console.log('has(99)?', dict.has(99n), 'get(99) =', dict.get(99n), 'size =', dict.size)
console.log('entries', [...dict])

// Composite keys and 32-bit signed values.
const gauges = new AtomicDict(100, { k64: 1, k32: 1, valueBits: 32, signed: true })
gauges.sub([10n, 200], 3)
console.log('gauge', gauges.get([10n, 200])) // -3

// A set tells exactly one caller that it inserted the key.
const seen = new AtomicSet(100)
console.log('first add:', seen.add(5n), 'second add:', seen.add(5n))
