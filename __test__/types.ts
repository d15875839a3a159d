// Compiled by `tsc --strict` in `npm test`: index.d.ts against real use.
// Lines marked @ts-expect-error must fail to compile; if they compile, tsc
// reports the unused directive and the test fails.
import {
  AtomicDict,
  AtomicSet,
  AtomicDictFullError,
  fork,
  spawn,
  shareWithCluster,
  shareOptions,
  Counters,
  counters,
  Latch,
  Semaphore,
  Permit,
  stringKey,
  waitPoolStats,
  type WaitPoolStats,
  type WaitResult,
  type AtomicValue,
  type AnyParts,
  type K64Count,
  type ShareDescriptor,
} from 'atomic-dict'
import type { ChildProcess, ChildProcessWithoutNullStreams, StdioOptions } from 'node:child_process'
import { fork as childFork } from 'node:child_process'

const counts = new AtomicDict(1024)
const before: bigint = counts.add(1n, 1n)
counts.add(2, 5)
counts.sub(1n, 1)
counts.and(1n, 0xffn)
counts.or(1n, 1)
counts.xor(1n, 1)
counts.band(1n, 1)
counts.bor(1n, 1)
counts.bxor(1n, 1)
counts.swap(1n, 7n)
counts.exchange(1n, 7n)
const prev: bigint = counts.cas(1n, 7n, 8n)
counts.compareExchange(1n, 8n, 9n)
counts.store(3n, 4)
const loaded: bigint = counts.load(3n)
const maybe: bigint | undefined = counts.get(3n)
const present: boolean = counts.has(3n)
const chained: AtomicDict<bigint> = counts.set(4n, 1n).set(5n, 2n)
const size: number = counts.size + counts.capacity
for (const [key, value] of counts) {
  const k: bigint = key
  const v: bigint = value
  void k, v
}
counts.forEach((value, key, dict) => {
  const v: bigint = value
  const k: bigint = key
  void v, k, dict.size
})
const keys: bigint[] = [...counts.keys()]
const values: bigint[] = [...counts.values()]

const handle: AtomicValue<bigint> = counts.slot(1n)
const old: bigint = handle.add(1n)
handle.store(0)
handle.cas(0n, 1n)
handle.compareExchange(1n, 2n)
handle.band(1n)

// 32-bit values are numbers.
const small = new AtomicDict(100, { valueBits: 32, signed: true })
const n: number = small.add(1, -1)
const h32: AtomicValue<number> = small.slot(1)
const m: number = h32.load()
// @ts-expect-error a 32-bit table's values are numbers, not bigints
const wrong: bigint = small.load(1)
// @ts-expect-error a 32-bit table takes number values, not bigints
small.add(1, 1n)
// @ts-expect-error a 32-bit table's results are numbers: no bigint arithmetic on them
const wrongSum = small.add(1, 1) + 1n

// String keys.
counts.add('route:/api', 1n)
const routeKey: bigint = stringKey('route:/api')
const viaKey: bigint = counts.load(routeKey)

// Composite keys are tuples of the table's shape.
const pairs = new AtomicDict(100, { k64: 2, k32: 1 })
pairs.store([1n, 2n, 3], 10n)
const total: bigint = pairs.add([1, 'GET', 3], 1n)
for (const [key] of pairs) {
  const k: [bigint, bigint, number] = key
  void k
}
// @ts-expect-error a key of this table has 3 parts
pairs.add([1n, 2n], 1n)
// @ts-expect-error a key of this table has 3 parts
pairs.add([1n, 2n, 3, 4], 1n)
// @ts-expect-error a composite key is a tuple, not one part
pairs.add(1n, 1n)
// @ts-expect-error a string cannot be a 32-bit part
pairs.add([1n, 2n, '3'], 1n)
const routes = new AtomicDict(100, { k64: 1, k32: 1, valueBits: 32 })
const routeCount: number = routes.add(['/api', 200], 1)
for (const [[route, code], value] of routes) {
  const r: bigint = route
  const c: number = code
  const v: number = value
  void r, c, v
}
// Bulk calls take arrays of keys and give arrays back.
const many: (bigint | undefined)[] = counts.getMany([1n, 2, 'route:/api'])
const loadedMany: bigint[] = counts.loadMany([1n, 2])
const beforeMany: bigint[] = counts.addMany([1n, 2n], [1n, 2])
const beforeOne: bigint[] = counts.addMany([1n, 2n], 1n)
counts.storeMany([1n, 2n], 0n)
const smallMany: number[] = small.addMany([1, 2], 1)
const pairMany: bigint[] = pairs.addMany([[1n, 2n, 3], [1, 'GET', 3]], 1n)
// @ts-expect-error a 32-bit table's bulk results are numbers
const wrongMany: bigint[] = small.loadMany([1])
// @ts-expect-error a key of this table has 3 parts, in bulk too
pairs.getMany([[1n, 2n]])
void many, loadedMany, beforeMany, beforeOne, smallMany, pairMany

// A shape known only at run time: k64 is one of 0..8, the keys one of the tuples.
const dynamicK64 = Number(process.env.K64 ?? 1) as K64Count
const dynamic = new AtomicDict(100, { k64: dynamicK64, k32: 0 })
dynamic.add([1n, 2n, 3n], 1n)
const dynamicKey: bigint | bigint[] | undefined = [...dynamic.keys()][0]
const dynamicKeys = dynamicKey
// @ts-expect-error a k64 known only as a number could be 9: say it is a K64Count
new AtomicDict(100, { k64: Number(process.env.K64) })

const set = new AtomicSet(100)
const inserted: boolean = set.add(1n)
const insertedMany: boolean[] = set.addMany([1n, 2, "x"])
void insertedMany
for (const key of set) {
  const k: bigint = key
  void k
}
const pairSet = new AtomicSet(100, { k64: 1, k32: 1 })
pairSet.add([1n, 2])
pairSet.add(['job', 2])
for (const key of pairSet) {
  const k: [bigint, number] = key
  void k
}
// @ts-expect-error a key of this set has 2 parts
pairSet.add([1n])

// A string area: 64-bit parts come back as bigint | string, 32-bit parts as numbers.
const named = new AtomicDict(100, { strings: 4096 })
named.add('route:/api', 1n)
for (const [key, value] of named) {
  const k: bigint | string = key
  const v: bigint = value
  void k, v
}
// @ts-expect-error with a string area a key may come back as a string
const notOnlyBigint: bigint = [...named.keys()][0] ?? 0n
const namedRoutes = new AtomicDict(100, { k64: 1, k32: 1, valueBits: 32, strings: 4096 })
namedRoutes.add(['/api', 200], 1)
namedRoutes.addMany([['/api', 200], [5n, 404]], 1)
for (const [[route, code], count] of namedRoutes) {
  const r: bigint | string = route
  const c: number = code
  const v: number = count
  void r, c, v
}
// @ts-expect-error a 32-bit part is never a string
for (const [[, code]] of namedRoutes) { const c: string = code; void c }
// @ts-expect-error the key still has 2 parts
namedRoutes.add(['/api'], 1)
const area: { bytes: number; used: number; count: number; refused: number } | null = named.strings
const namedBytes: number = named.options.strings + (area?.refused ?? 0)
const namedSet = new AtomicSet(10, { strings: 64 })
namedSet.add('job')
for (const k of namedSet) {
  const x: bigint | string = k
  void x
}
const openedNamed = AtomicDict.open('/dev/shm/named', { capacity: 10, strings: 1024 })
const openedNamedKey: bigint | string | undefined = [...openedNamed.keys()][0]
const openedNamedSet = AtomicSet.open('/dev/shm/named-set', { capacity: 10, k64: 2, strings: 1024 })
const openedSetKey: [bigint | string, bigint | string] | undefined = [...openedNamedSet.keys()][0]
const zeroStrings = new AtomicDict(10, { strings: 0 })
const zeroKey: bigint | undefined = [...zeroStrings.keys()][0]
const sizedAtRunTime = new AtomicDict(10, { strings: Number(process.env.STRINGS ?? 0) })
const runTimeKey: bigint | string | undefined = [...sizedAtRunTime.keys()][0]
const inheritedNamed = AtomicDict.inherit('named', { expect: { k64: 1, k32: 1, valueBits: 64, strings: 4096 } })
inheritedNamed.add(['x', 1], 1n)
const namedJobs = new Semaphore(named, 'jobs', 2)
const namedLatch = new Latch(named, 'start', 2)
const plainStrings: StringAreaStatsLike | null = counts.strings
type StringAreaStatsLike = { bytes: number; used: number; count: number; refused: number }
// @ts-expect-error strings is a number of bytes
new AtomicDict(10, { strings: '4096' })
void [notOnlyBigint, namedBytes, openedNamedKey, openedSetKey, zeroKey, runTimeKey, namedJobs, namedLatch, plainStrings]

// Typed counters: only the names given, values by width.
const metrics = counters(['requests', 'errors', 'inFlight'] as const, { signed: true })
const requestsBefore: bigint = metrics.add('requests')
metrics.add('errors', 2n)
metrics.sub('inFlight')
const snap: { requests: bigint; errors: bigint; inFlight: bigint } = metrics.snapshot()
const reqs: bigint = snap.requests
// @ts-expect-error not one of the counters' names
metrics.add('request')
// @ts-expect-error the snapshot has only the counters' names
void snap.bytes
const narrowCounters = counters(['hits'], { valueBits: 32 })
const hits: number = narrowCounters.add('hits', 1)
// @ts-expect-error 32-bit counters take numbers
narrowCounters.add('hits', 1n)
const newed = new Counters(['a', 'b'])
const aValue: bigint = newed.get('a')
const inheritedMetrics = Counters.inherit('metrics', ['inFlight', 'requests'], { signed: true })
inheritedMetrics.add('inFlight')
const openedMetrics = Counters.open('/dev/shm/metrics', ['requests', 'errors'], { mode: 0o600 })
const openedSnap: { requests: bigint; errors: bigint } = openedMetrics.snapshot()
const attachedMetrics = Counters.attach(metrics.share(), ['requests'])
const names: readonly ('requests' | 'errors' | 'inFlight')[] = metrics.names
const underlying: AtomicDict<bigint> = metrics.table
void [requestsBefore, reqs, hits, aValue, openedSnap, attachedMetrics, names, underlying, routeKey, viaKey, routeCount, dynamicKeys, wrongSum]

try {
  counts.add(99n, 1n)
} catch (err) {
  if (err instanceof AtomicDictFullError) {
    const code: 'ERR_ATOMIC_DICT_FULL' = err.code
    void code
  }
}

// Waiting.
const waited: WaitResult = counts.wait(1n, 0n, 100)
const waitedAsync: Promise<WaitResult> = counts.waitAsync(1n, 0n, undefined, { signal: AbortSignal.timeout(10) })
const woke: number = counts.notify(1n) + counts.notify(1n, 1)
const waited32: WaitResult = small.wait(1, 0)
// @ts-expect-error a 32-bit table waits for a number
small.wait(1, 0n)
const slotWaited: Promise<WaitResult> = handle.waitAsync(0n, 10)
const slotWoke: number = h32.notify()
const start = new Latch(counts, 'start', 4)
const latchOpen: boolean = start.arriveAndWait(1000)
const openedAsync: Promise<boolean> = start.waitAsync(undefined, { signal: new AbortController().signal })
const left: number = start.remaining
const jobs = new Semaphore(counts, 'jobs', 3)
const acquiring: Promise<Permit> = jobs.acquire()
const gotSync: boolean = jobs.acquireSync(10) && jobs.tryAcquire()
jobs.release()
const recovered: number = jobs.releaseHeldBy(1234)
// @ts-expect-error a semaphore's name is a string
new Semaphore(counts, 5n, 3)
const metricWait: Promise<WaitResult> = metrics.waitAsync('requests', 0n)
const optionsWait: Promise<WaitResult> = counts.waitAsync(1n, 0n, { timeout: 10, ref: false })
const slotOptions: Promise<WaitResult> = handle.waitAsync(0n, { signal: AbortSignal.timeout(5) })
const latchOptions: Promise<boolean> = start.waitAsync({ timeout: 10, ref: false })
const unrefAcquire: Promise<Permit> = jobs.acquire({ ref: false })
const timedAcquire: Promise<Permit> = jobs.acquire({ timeout: 5, signal: AbortSignal.timeout(10) })
const ran: Promise<number> = jobs.run(async () => 5, { timeout: 100 })
const ranSync: Promise<string> = jobs.run(() => 'x')
// @ts-expect-error run takes a function
jobs.run(5)
async function scoped(): Promise<boolean> {
  using permit = await jobs.acquire()
  using table = new AtomicDict(10)
  using names = counters(['a'] as const)
  table.add(1n)
  table.slot(1n).sub()
  const json: Array<[string, string]> = table.toJSON()
  const counts: { a: string } = names.toJSON()
  const has: boolean = names.has('b') && names.size === 1 && table.closed
  const pairs: Array<['a', bigint]> = [...names]
  void [json, counts, has, pairs, names.keys(), names.values()]
  return permit.release() && permit.released
}
void [timedAcquire, ran, ranSync, scoped]
// @ts-expect-error ref is a boolean
counts.waitAsync(1n, 0n, { ref: 1 })
void [waited, waitedAsync, woke, waited32, slotWaited, slotWoke, latchOpen, openedAsync, left, acquiring, gotSync, recovered, metricWait, optionsWait, slotOptions, latchOptions, unrefAcquire]

// Sharing.
const child: ChildProcess = fork('worker.js', ['--x'], { share: { counts, set, metrics }, silent: true })
const child2: ChildProcess = spawn(process.execPath, ['worker.js'], { share: { counts }, stdio: 'inherit' })
shareWithCluster({ counts, set })
const piped: ChildProcessWithoutNullStreams = spawn('ls', null, { share: { counts } })
piped.stdout.setEncoding('utf8')
const pipedToo: ChildProcessWithoutNullStreams = spawn('ls', { share: { counts }, stdio: 'pipe' })
// @ts-expect-error stdio 'inherit' makes the streams null
const notPiped: ChildProcessWithoutNullStreams = spawn('ls', [], { share: { counts }, stdio: 'inherit' })
const forkedNoArgs: ChildProcess = fork('worker.js', undefined, { share: { counts } })
const opts: { stdio: StdioOptions; env: NodeJS.ProcessEnv } = shareOptions({ counts, set }, { stdio: 'inherit', ipc: true, silent: false, env: {} })
const forkedWith: ChildProcess = childFork('worker.js', [], shareOptions({ counts }, { ipc: true }))
// @ts-expect-error shareOptions takes stdio, env, silent and ipc only
shareOptions({ counts }, { share: { counts } })
// @ts-expect-error args is an array of strings
spawn('ls', 'x', {})
void [pipedToo, notPiped, forkedNoArgs, opts, forkedWith]
const inheritedCounts: AtomicDict<bigint> = AtomicDict.inherit('counts', { expect: { valueBits: 64, k64: 1, k32: 0, strings: 0 } })
const inheritedPairs = AtomicDict.inherit('pairs', { expect: { k64: 1, k32: 1, valueBits: 32, strings: 0 } })
inheritedPairs.add(['x', 1], 1)
const anyShape: AtomicDict<bigint, AnyParts> = AtomicDict.inherit('any', { expect: { valueBits: 64 } })
const inheritedSmall = AtomicDict.inherit('small', { expect: { valueBits: 32 } })
const smallValue: number = inheritedSmall.load(1)
const inheritedSet: AtomicSet = AtomicSet.inherit('set', { expect: { k64: 1, k32: 0, strings: 0 } })
const descriptor: ShareDescriptor = counts.share()
const attached: AtomicDict<bigint> = AtomicDict.attach(descriptor, { expect: { valueBits: 64, k64: 1, k32: 0, strings: 0 } })
const opened = AtomicDict.open('/dev/shm/counts', { capacity: 1000, mode: 0o600 })
const openedValue: bigint = opened.add(1n, 1n)
const opened32 = AtomicDict.open('/dev/shm/small', { capacity: 1000, valueBits: 32 })
const opened32Value: number = opened32.add(1, 1)
const openedSet: AtomicSet = AtomicSet.open('/dev/shm/seen', { capacity: 10 })
const wasCreated: boolean = opened.created
AtomicDict.unlink('/dev/shm/counts')
const report = opened.verify()
const reportOk: boolean = report.ok && report.problems.length === 0 && opened.repairCounts().ok
opened.close()
// @ts-expect-error share() descriptors are made by the package
AtomicDict.attach({ fd: 3 })
// @ts-expect-error options.share holds tables
fork('worker.js', { share: { counts: 5 } })
void [anyShape, reportOk, child, child2, inheritedCounts, smallValue, inheritedSet, attached, openedValue, opened32Value, openedSet, wasCreated]

// @ts-expect-error values must be bigints or numbers
counts.add(1n, '1')
// @ts-expect-error keys must be bigints, numbers, strings or tuples of them
counts.add({ key: 1 }, 1n)
// @ts-expect-error valueBits is 32 or 64
new AtomicDict(10, { valueBits: 16 })
// @ts-expect-error capacity is a number
new AtomicDict(10n)

void [before, prev, loaded, maybe, present, chained, size, keys, values, old, n, m, wrong, total, inserted]

// waitPoolStats: the named export that replaces require('atomic-dict/lib/wait').poolStats.
const poolStats: WaitPoolStats = waitPoolStats()
const backend: 'io_uring' | 'threads' | null = poolStats.backend
void [poolStats.pending + poolStats.native + poolStats.threads, backend, poolStats.fallbackReason?.length]
