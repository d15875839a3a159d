'use strict'
// Single-process timings for one table width (64 or 32-bit values), with the
// in-process peers measured beside them in the same process: Atomics.add on a
// typed array over a SharedArrayBuffer (the in-process limit) and a JS Map.
//
// Run by benchmark/run.js in a fresh process per width, so each width's
// figures come from a JIT state that has seen only that width (as an
// application with one kind of table would). Standalone:
//   node benchmark/single.js [64|32] [ms per task] [passes]
//
// Each tinybench iteration is a batch of operations timed as a whole (a
// single ~20 ns operation is below the timer's grain); the sample is the
// batch's mean per operation (tinybench's overriddenDuration). A figure is
// the median of these samples, the lowest over the passes (load from other
// programs only ever slows a pass down), which run the tasks in alternating
// order.

const { performance } = require('node:perf_hooks')
const { AtomicDict, counters } = require('..')

const BITS = Number(process.argv[2] ?? 64)
const TIME = Number(process.argv[3] ?? 300)
const PASSES = Number(process.argv[4] ?? 2)
if (BITS !== 64 && BITS !== 32) throw new RangeError('bits must be 64 or 32')

const POOL = 1 << 20 // 1 Mi keys: 1..POOL
const HOT = 1024 // keys cycled by the "seen key" tasks
const MASK = HOT - 1
const FAST_BATCH = 4096
const SLOW_BATCH = 1024

const one = BITS === 64 ? 1n : 1
const zero = BITS === 64 ? 0n : 0
const NEVER = BITS === 64 ? 1n << 63n : 2 ** 31 // a value no counter reaches here
const now = () => performance.now()
let sink = 0

function log(msg) {
  process.stderr.write(`  [${BITS}-bit] ${msg}\n`)
}

// Keys as an application computes them: read from arrays, not literals.
const numKeys = Array.from({ length: POOL }, (_, i) => i + 1)
const bigKeys = numKeys.map((k) => BigInt(k))
const strKeys = numKeys.map((k) => `user:${k}`)
const hotNum = numKeys.slice(0, HOT)
const hotBig = bigKeys.slice(0, HOT)
const hotStr = strKeys.slice(0, HOT)
const ROUTES = ['/', '/api', '/api/users', '/login', '/logout', '/static', '/health', '/metrics']

// Seen keys: a table whose HOT keys this object has used before.
const dict = new AtomicDict(1 << 16, { valueBits: BITS })
for (const k of hotNum) dict.add(k, zero)
for (const k of hotStr) dict.add(k, zero)
const slot = dict.slot(hotBig[0])
const named = counters(ROUTES, { valueBits: BITS })
const pairs = new AtomicDict(1024, { k64: 1, k32: 1, valueBits: BITS })

// The in-process peers.
const sab = new SharedArrayBuffer(8 * HOT)
const atomics = BITS === 64 ? new BigInt64Array(sab) : new Int32Array(sab)
const mapNum = new Map(hotNum.map((k) => [k, zero]))
const mapBig = new Map(hotBig.map((k) => [k, zero]))

// First use of keys that exist: a 1 Mi table filled through one object and
// read through another attached to the same memory, whose key cache has never
// seen them. Every operation takes the next never-used key; when the pool
// runs out a new reader (with an empty cache) starts over.
log(`filling a 1 Mi-key table through a second object…`)
const filled = new AtomicDict(POOL, { valueBits: BITS })
const fillStart = now()
for (let i = 0; i < POOL; i++) filled.store(numKeys[i], one)
const fillNs = ((now() - fillStart) * 1e6) / POOL

/** Hands out never-used keys of `table`, through a fresh reader object when they run out. */
function firstUse(table) {
  const state = { reader: null, next: POOL }
  return (n) => {
    if (state.next + n > POOL) {
      if (state.reader) state.reader.close()
      state.reader = AtomicDict.attach(table.share())
      state.next = 0
    }
    const first = state.next
    state.next += n
    return [state.reader, first]
  }
}
const readerKeys = firstUse(filled)
log(`filling a 1 Mi-key table of string keys…`)
const filledStr = new AtomicDict(POOL, { valueBits: BITS })
for (let i = 0; i < POOL; i++) filledStr.store(strKeys[i], one)
const readerStrKeys = firstUse(filledStr)

// Inserts: each operation stores a key new to the table; the table is
// replaced (untimed) before it would be full, so the figure averages fills
// from empty to full, first touch of fresh memory included.
let fresh = null
let freshNext = POOL
function freshKeys(n) {
  if (freshNext + n > POOL) {
    if (fresh) fresh.close()
    fresh = new AtomicDict(POOL, { valueBits: BITS })
    freshNext = 0
  }
  const first = freshNext
  freshNext += n
  return first
}

const atomicsName = BITS === 64 ? 'Atomics.add(BigInt64Array)' : 'Atomics.add(Int32Array)'
const lit = BITS === 64 ? '1n' : '1'

// [id, label, batch, body(n) -> elapsed ms]
const TASKS = [
  ['atomics', `${atomicsName}, SharedArrayBuffer`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) Atomics.add(atomics, i & MASK, one)
    return now() - t
  }],
  ['slot.add', `slot.add(${lit})`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) slot.add(one)
    return now() - t
  }],
  ['add.seen.number', `dict.add(k, ${lit}), seen key, number k`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) dict.add(hotNum[i & MASK], one)
    return now() - t
  }],
  ['add.seen.bigint', `dict.add(k, ${lit}), seen key, bigint k`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) dict.add(hotBig[i & MASK], one)
    return now() - t
  }],
  ['add.seen.string', `dict.add(k, ${lit}), seen key, string k`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) dict.add(hotStr[i & MASK], one)
    return now() - t
  }],
  ['counters.add', `counters.add(name, ${lit}), 8 names`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) named.add(ROUTES[i & 7], one)
    return now() - t
  }],
  ['composite.add', `dict.add([route, code], ${lit}), string+32-bit key`, SLOW_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) pairs.add([ROUTES[i & 7], 200 + (i & 3)], one)
    return now() - t
  }],
  ['add.first.number', `dict.add(k, ${lit}), first use of existing k, number`, SLOW_BATCH, (n) => {
    const [r, first] = readerKeys(n)
    const t = now()
    for (let i = 0; i < n; i++) r.add(numKeys[first + i], one)
    return now() - t
  }],
  ['add.first.bigint', `dict.add(k, ${lit}), first use of existing k, bigint`, SLOW_BATCH, (n) => {
    const [r, first] = readerKeys(n)
    const t = now()
    for (let i = 0; i < n; i++) r.add(bigKeys[first + i], one)
    return now() - t
  }],
  ['add.first.string', `dict.add(k, ${lit}), first use of existing k, string`, SLOW_BATCH, (n) => {
    const [r, first] = readerStrKeys(n)
    const t = now()
    for (let i = 0; i < n; i++) r.add(strKeys[first + i], one)
    return now() - t
  }],
  ['store.new.number', `dict.store(k, ${lit}), new key, number k`, SLOW_BATCH, (n) => {
    const first = freshKeys(n)
    const d = fresh
    const t = now()
    for (let i = 0; i < n; i++) d.store(numKeys[first + i], one)
    return now() - t
  }],
  ['store.new.bigint', `dict.store(k, ${lit}), new key, bigint k`, SLOW_BATCH, (n) => {
    const first = freshKeys(n)
    const d = fresh
    const t = now()
    for (let i = 0; i < n; i++) d.store(bigKeys[first + i], one)
    return now() - t
  }],
  ['store.new.string', `dict.store(k, ${lit}), new key, string k`, SLOW_BATCH, (n) => {
    const first = freshKeys(n)
    const d = fresh
    const t = now()
    for (let i = 0; i < n; i++) d.store(strKeys[first + i], one)
    return now() - t
  }],
  ['load.number', 'dict.load(k), seen key, number k', FAST_BATCH, (n) => {
    let hits = 0
    const t = now()
    for (let i = 0; i < n; i++) if (dict.load(hotNum[i & MASK]) === NEVER) hits++
    const ms = now() - t
    sink += hits
    return ms
  }],
  ['load.bigint', 'dict.load(k), seen key, bigint k', FAST_BATCH, (n) => {
    let hits = 0
    const t = now()
    for (let i = 0; i < n; i++) if (dict.load(hotBig[i & MASK]) === NEVER) hits++
    const ms = now() - t
    sink += hits
    return ms
  }],
  ['cas.number', 'cas increment loop, seen key, number k', FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) {
      const k = hotNum[i & MASK]
      let v
      do v = dict.load(k)
      while (dict.cas(k, v, v + one) !== v)
    }
    return now() - t
  }],
  ['cas.bigint', 'cas increment loop, seen key, bigint k', FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) {
      const k = hotBig[i & MASK]
      let v
      do v = dict.load(k)
      while (dict.cas(k, v, v + one) !== v)
    }
    return now() - t
  }],
  ['map.number', `Map: m.set(k, m.get(k) + ${lit}), number k`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) {
      const k = hotNum[i & MASK]
      mapNum.set(k, mapNum.get(k) + one)
    }
    return now() - t
  }],
  ['map.bigint', `Map: m.set(k, m.get(k) + ${lit}), bigint k`, SLOW_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) {
      const k = hotBig[i & MASK]
      mapBig.set(k, mapBig.get(k) + one)
    }
    return now() - t
  }],
]

async function main() {
  const { Bench } = await import('tinybench')
  const runs = new Map() // task id -> one summary per pass
  for (let pass = 1; pass <= PASSES; pass++) {
    const bench = new Bench({ time: TIME, warmupTime: 100, iterations: 16, warmupIterations: 8 })
    // Alternate the order, so no task always runs at the same point of a pass.
    for (const [id, , batch, body] of pass % 2 ? TASKS : [...TASKS].reverse()) {
      bench.add(id, () => {
        const ms = body(batch)
        return { overriddenDuration: ms / batch, overriddenIterationCost: ms }
      }, { async: false })
    }
    await bench.run()
    for (const task of bench.tasks) {
      const r = task.result
      if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state} ${r.error?.stack ?? ''}`)
      const list = runs.get(task.name) ?? []
      list.push({
        medianNs: r.latency.p50 * 1e6,
        meanNs: r.latency.mean * 1e6,
        rmePercent: r.latency.rme,
        samples: r.latency.samplesCount,
      })
      runs.set(task.name, list)
    }
    log(`pass ${pass}/${PASSES} done`)
  }
  const results = TASKS.map(([id, label, batch]) => {
    const list = runs.get(id)
    const b = list.reduce((x, y) => (y.medianNs < x.medianNs ? y : x))
    return {
      id,
      label,
      batch,
      nsPerOp: b.medianNs,
      opsPerSec: 1e9 / b.medianNs,
      meanNs: b.meanNs,
      rmePercent: b.rmePercent,
      samples: b.samples,
      passMediansNs: list.map((p) => p.medianNs),
    }
  })
  const out = { bits: BITS, timePerTaskMs: TIME, passes: PASSES, fillNsPerKey: fillNs, sink, results }
  if (process.send) process.send(out)
  else console.log(JSON.stringify(out, null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
