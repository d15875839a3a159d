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
//
// Tasks that time something slower than one operation say so with `unit`:
// 'key' (a bulk call of BULK keys; ns/op is per key) or 'pass' (one full
// iteration of a table; ns/op is per pass). Tasks whose API is absent from
// this build (the bulk calls, while they are being written) are left out and
// listed in `skipped`.

const fs = require('node:fs')
const { performance } = require('node:perf_hooks')
const { AtomicDict, AtomicSet, counters } = require('..')
const { runPasses } = require('./passes')

const BITS = Number(process.argv[2] ?? 64)
const TIME = Number(process.argv[3] ?? 300)
const PASSES = Number(process.argv[4] ?? 2)
if (BITS !== 64 && BITS !== 32) throw new RangeError('bits must be 64 or 32')

const FIRST_POOL = 2 << 20 // first use: a full table of 2 Mi keys, 1..FIRST_POOL
const POOL = 1 << 20 // inserts: new keys into a 1 Mi-capacity table
const HOT = 1024 // keys cycled by the "seen key" tasks
const MASK = HOT - 1
const FAST_BATCH = 4096
const SLOW_BATCH = 1024
const BULK = 1024 // keys per bulk call
const ITER_CAPACITY = 1 << 20 // the iterated table: 1 Mi capacity, 2 keys

const one = BITS === 64 ? 1n : 1
const zero = BITS === 64 ? 0n : 0
const NEVER = BITS === 64 ? 1n << 63n : 2 ** 31 // a value no counter reaches here
const now = () => performance.now()
let sink = 0

function log(msg) {
  process.stderr.write(`  [${BITS}-bit] ${msg}\n`)
}

// Keys as an application computes them: read from arrays, not literals.
const numKeys = Array.from({ length: FIRST_POOL }, (_, i) => i + 1)
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

// Composite seen keys, their parts cycled from small arrays (the array
// literal is made per call, as a user writes it).
const pairBig = hotBig
const pairNum = hotNum.map((k) => ((k * 7919) % 1000) + 1)
const pairDict = new AtomicDict(1 << 12, { k64: 1, k32: 1, valueBits: BITS })
for (let j = 0; j < HOT; j++) pairDict.add([pairBig[j], pairNum[j]], zero)
const METHODS = ['GET', 'POST', 'PUT', 'DELETE']
const CODES = [200, 201, 404, 500]
const TRIPLES = 128 // 4 methods x 8 routes x 4 codes
const tripleM = []
const tripleR = []
const tripleC = []
for (let j = 0; j < TRIPLES; j++) {
  tripleM.push(METHODS[j & 3])
  tripleR.push(ROUTES[(j >> 2) & 7])
  tripleC.push(CODES[(j >> 5) & 3])
}
const tripleDict = new AtomicDict(1 << 10, { k64: 2, k32: 1, valueBits: BITS })
for (let j = 0; j < TRIPLES; j++) tripleDict.add([tripleM[j], tripleR[j], tripleC[j]], zero)

// Iteration: a named table of 1 Mi capacity holding 2 keys, and a Buffer of
// the same byte length (the file's size) for Buffer#indexOf to scan.
const iterFile = `/dev/shm/atomic-dict-bench-iter-${process.pid}-${BITS}`
const iterDict = AtomicDict.open(iterFile, { capacity: ITER_CAPACITY, valueBits: BITS })
process.on('exit', () => {
  try {
    iterDict.close()
    AtomicDict.unlink(iterFile)
  } catch {
    // already gone
  }
})
iterDict.store(7n, one)
iterDict.store(1n << 40n, one)
const iterBytes = fs.statSync(iterFile).size
// Written once with non-zero bytes, then zeroed: a fresh allocation this big
// is mapped to the kernel's shared zero page until written, and indexOf over
// it would read one 4 KiB page over and over from cache (10x faster than any
// real memory; the table's pages are real, reserved when it was made).
const scanBuf = Buffer.alloc(iterBytes, 1).fill(0)

// The in-process peers.
const sab = new SharedArrayBuffer(8 * HOT)
const atomics = BITS === 64 ? new BigInt64Array(sab) : new Int32Array(sab)
const mapNum = new Map(hotNum.map((k) => [k, zero]))
const mapBig = new Map(hotBig.map((k) => [k, zero]))

// First use of keys that exist: a full table of 2 Mi keys (capacity 2 Mi)
// filled through one object and read through another attached to the same
// memory, whose key cache has never seen them. Every operation takes the
// next never-used key; when the pool runs out a new reader (with an empty
// cache) starts over. The single-key and the bulk tasks draw from one pool.
log(`filling a 2 Mi-key table through a second object…`)
const filled = new AtomicDict(FIRST_POOL, { valueBits: BITS })
const fillStart = now()
for (let i = 0; i < FIRST_POOL; i++) filled.store(numKeys[i], one)
const fillNs = ((now() - fillStart) * 1e6) / FIRST_POOL

/** Hands out never-used keys of `table`, through a fresh reader object when they run out. */
function firstUse(table) {
  const state = { reader: null, next: FIRST_POOL }
  return (n) => {
    if (state.next + n > FIRST_POOL) {
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
log(`filling a 2 Mi-key table of string keys…`)
const filledStr = new AtomicDict(FIRST_POOL, { valueBits: BITS })
for (let i = 0; i < FIRST_POOL; i++) filledStr.store(strKeys[i], one)
const readerStrKeys = firstUse(filledStr)

// Inserts: each operation stores a key new to the table; the table is
// replaced (untimed) before it would be full, so the figure averages fills
// from empty to full, first touch of fresh memory included.
function freshPool(make) {
  const state = { table: null, next: POOL }
  return (n) => {
    if (state.next + n > POOL) {
      if (state.table) state.table.close()
      state.table = make()
      state.next = 0
    }
    const first = state.next
    state.next += n
    return [state.table, first]
  }
}
const freshKeys = freshPool(() => new AtomicDict(POOL, { valueBits: BITS }))
const freshSetKeys = freshPool(() => new AtomicSet(POOL))

// The bulk calls' arguments: the next BULK keys as an array (sliced untimed:
// an application has its keys in an array), and values or deltas.
const ones = new Array(BULK).fill(one)
const keySlice = (keys, first) => keys.slice(first, first + BULK)
const HAS = {
  getMany: typeof AtomicDict.prototype.getMany === 'function',
  loadMany: typeof AtomicDict.prototype.loadMany === 'function',
  addMany: typeof AtomicDict.prototype.addMany === 'function',
  storeMany: typeof AtomicDict.prototype.storeMany === 'function',
  setAddMany: typeof AtomicSet.prototype.addMany === 'function',
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
  ['composite.pair', `dict.add([bigint, number], ${lit}), seen key`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) {
      const j = i & MASK
      pairDict.add([pairBig[j], pairNum[j]], one)
    }
    return now() - t
  }],
  ['composite.triple', `dict.add(['GET', '/api', 200], ${lit}), seen key`, FAST_BATCH, (n) => {
    const t = now()
    for (let i = 0; i < n; i++) {
      const j = i & (TRIPLES - 1)
      tripleDict.add([tripleM[j], tripleR[j], tripleC[j]], one)
    }
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
    const [d, first] = freshKeys(n)
    const t = now()
    for (let i = 0; i < n; i++) d.store(numKeys[first + i], one)
    return now() - t
  }],
  ['store.new.bigint', `dict.store(k, ${lit}), new key, bigint k`, SLOW_BATCH, (n) => {
    const [d, first] = freshKeys(n)
    const t = now()
    for (let i = 0; i < n; i++) d.store(bigKeys[first + i], one)
    return now() - t
  }],
  ['store.new.string', `dict.store(k, ${lit}), new key, string k`, SLOW_BATCH, (n) => {
    const [d, first] = freshKeys(n)
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

// First use of existing keys, single calls of the other kinds (the bulk
// tasks' counterparts), then the bulk calls on the same kind of keys.
for (const [kind, keys] of [['number', numKeys], ['bigint', bigKeys]]) {
  TASKS.push(
    [`get.first.${kind}`, `dict.get(k), first use of existing k, ${kind}`, SLOW_BATCH, (n) => {
      const [r, first] = readerKeys(n)
      let misses = 0
      const t = now()
      for (let i = 0; i < n; i++) if (r.get(keys[first + i]) === undefined) misses++
      const ms = now() - t
      sink += misses
      return ms
    }],
    [`load.first.${kind}`, `dict.load(k), first use of existing k, ${kind}`, SLOW_BATCH, (n) => {
      const [r, first] = readerKeys(n)
      let hits = 0
      const t = now()
      for (let i = 0; i < n; i++) if (r.load(keys[first + i]) === NEVER) hits++
      const ms = now() - t
      sink += hits
      return ms
    }],
    [`set.add.new.${kind}`, `set.add(k), new key, ${kind} k`, SLOW_BATCH, (n) => {
      const [st, first] = freshSetKeys(n)
      let added = 0
      const t = now()
      for (let i = 0; i < n; i++) if (st.add(keys[first + i])) added++
      const ms = now() - t
      sink += added
      return ms
    }],
  )
}

// The bulk calls: BULK keys a call; ns/op is per key.
const SKIPPED = []
function bulk(has, id, label, body) {
  if (has) TASKS.push([id, label, BULK, body, 'key'])
  else SKIPPED.push({ id, label, why: 'not in this build' })
}
for (const [kind, keys] of [['number', numKeys], ['bigint', bigKeys]]) {
  bulk(HAS.getMany, `getMany.first.${kind}`, `dict.getMany(keys), ${BULK} first-use keys a call, ${kind}`, (n) => {
    const [r, first] = readerKeys(n)
    const ks = keySlice(keys, first)
    const t = now()
    const out = r.getMany(ks)
    const ms = now() - t
    sink += out.length
    return ms
  })
  bulk(HAS.loadMany, `loadMany.first.${kind}`, `dict.loadMany(keys), ${BULK} first-use keys a call, ${kind}`, (n) => {
    const [r, first] = readerKeys(n)
    const ks = keySlice(keys, first)
    const t = now()
    const out = r.loadMany(ks)
    const ms = now() - t
    sink += out.length
    return ms
  })
  bulk(HAS.addMany, `addMany.first.${kind}`, `dict.addMany(keys, deltas), ${BULK} first-use keys a call, ${kind}`, (n) => {
    const [r, first] = readerKeys(n)
    const ks = keySlice(keys, first)
    const t = now()
    const out = r.addMany(ks, ones)
    const ms = now() - t
    sink += out.length
    return ms
  })
  bulk(HAS.storeMany, `storeMany.new.${kind}`, `dict.storeMany(keys, values), ${BULK} new keys a call, ${kind}`, (n) => {
    const [d, first] = freshKeys(n)
    const ks = keySlice(keys, first)
    const t = now()
    d.storeMany(ks, ones)
    return now() - t
  })
  bulk(HAS.setAddMany, `set.addMany.new.${kind}`, `set.addMany(keys), ${BULK} new keys a call, ${kind}`, (n) => {
    const [st, first] = freshSetKeys(n)
    const ks = keySlice(keys, first)
    const t = now()
    const out = st.addMany(ks)
    const ms = now() - t
    sink += out.length
    return ms
  })
}

// Iteration of a 1 Mi-capacity table holding 2 keys, one full pass per
// sample (ns/op is per pass), and Buffer#indexOf over as many bytes.
const count = () => {
  sink++
}
TASKS.push(
  ['scan.indexOf', `buf.indexOf(0xff), ${iterBytes} zero bytes (the table's size)`, 1, () => {
    const t = now()
    sink += scanBuf.indexOf(0xff)
    return now() - t
  }, 'pass'],
  ['iter.spread', '[...dict], 2 keys, capacity 1 Mi', 1, () => {
    const t = now()
    sink += [...iterDict].length
    return now() - t
  }, 'pass'],
  ['iter.keys', '[...dict.keys()], 2 keys, capacity 1 Mi', 1, () => {
    const t = now()
    sink += [...iterDict.keys()].length
    return now() - t
  }, 'pass'],
  ['iter.values', '[...dict.values()], 2 keys, capacity 1 Mi', 1, () => {
    const t = now()
    sink += [...iterDict.values()].length
    return now() - t
  }, 'pass'],
  ['iter.entries', '[...dict.entries()], 2 keys, capacity 1 Mi', 1, () => {
    const t = now()
    sink += [...iterDict.entries()].length
    return now() - t
  }, 'pass'],
  ['iter.forEach', 'dict.forEach(f), 2 keys, capacity 1 Mi', 1, () => {
    const t = now()
    iterDict.forEach(count)
    return now() - t
  }, 'pass'],
)

async function main() {
  // task id -> one summary per pass
  const runs = await runPasses(
    TASKS.map(([id, , batch, body]) => ({ id, batch, body })),
    { passes: PASSES, time: TIME, onPass: (pass) => log(`pass ${pass}/${PASSES} done`) },
  )
  const results = TASKS.map(([id, label, batch, , unit = 'op']) => {
    const list = runs.get(id)
    const b = list.reduce((x, y) => (y.medianNs < x.medianNs ? y : x))
    return {
      id,
      label,
      batch,
      unit,
      nsPerOp: b.medianNs,
      opsPerSec: 1e9 / b.medianNs,
      meanNs: b.meanNs,
      rmePercent: b.rmePercent,
      samples: b.samples,
      passMediansNs: list.map((p) => p.medianNs),
    }
  })
  const out = {
    bits: BITS,
    timePerTaskMs: TIME,
    passes: PASSES,
    fillNsPerKey: fillNs,
    firstUseKeys: FIRST_POOL,
    insertCapacity: POOL,
    bulkKeys: BULK,
    iterCapacity: ITER_CAPACITY,
    iterBytes,
    sink,
    results,
    skipped: SKIPPED,
  }
  if (process.send) process.send(out)
  else console.log(JSON.stringify(out, null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
