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
  type AtomicValue,
  type KeyOut,
  type ShareDescriptor,
} from 'atomic-dict'
import type { ChildProcess } from 'node:child_process'

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
const chained: AtomicDict<bigint, bigint> = counts.set(4n, 1n).set(5n, 2n)
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

// Composite keys.
const pairs = new AtomicDict(100, { k64: 2, k32: 1 })
pairs.store([1n, 2n, 3], 10n)
const total: bigint = pairs.add([1, 2, 3], 1n)
for (const [key] of pairs) {
  const k: KeyOut = key
  void k
}

const set = new AtomicSet(100)
const inserted: boolean = set.add(1n)
for (const key of set) {
  const k: bigint = key
  void k
}
const pairSet = new AtomicSet(100, { k64: 1, k32: 1 })
pairSet.add([1n, 2])

try {
  counts.add(99n, 1n)
} catch (err) {
  if (err instanceof AtomicDictFullError) {
    const code: 'ERR_ATOMIC_DICT_FULL' = err.code
    void code
  }
}

// Sharing.
const child: ChildProcess = fork('worker.js', ['--x'], { share: { counts, set }, silent: true })
const child2: ChildProcess = spawn(process.execPath, ['worker.js'], { share: { counts }, stdio: 'inherit' })
shareWithCluster({ counts, set })
const inheritedCounts: AtomicDict<bigint, bigint> = AtomicDict.inherit('counts')
const inheritedSmall = AtomicDict.inherit<number>('small')
const smallValue: number = inheritedSmall.load(1)
const inheritedSet: AtomicSet<bigint> = AtomicSet.inherit('set')
const descriptor: ShareDescriptor = counts.share()
const attached: AtomicDict<bigint, bigint> = AtomicDict.attach(descriptor)
const opened = AtomicDict.open('/dev/shm/counts', { capacity: 1000, mode: 0o600 })
const openedValue: bigint = opened.add(1n, 1n)
const opened32 = AtomicDict.open('/dev/shm/small', { capacity: 1000, valueBits: 32 })
const opened32Value: number = opened32.add(1, 1)
const openedSet: AtomicSet<bigint> = AtomicSet.open('/dev/shm/seen', { capacity: 10 })
const wasCreated: boolean = opened.created
AtomicDict.unlink('/dev/shm/counts')
const report = opened.verify()
const reportOk: boolean = report.ok && report.problems.length === 0 && opened.repairCounts().ok
opened.close()
// @ts-expect-error share() descriptors are made by the package
AtomicDict.attach({ fd: 3 })
// @ts-expect-error options.share holds tables
fork('worker.js', { share: { counts: 5 } })
void [reportOk, child, child2, inheritedCounts, smallValue, inheritedSet, attached, openedValue, opened32Value, openedSet, wasCreated]

// @ts-expect-error values must be bigints or numbers
counts.add(1n, '1')
// @ts-expect-error keys must be bigints, numbers or arrays of them
counts.add('key', 1n)
// @ts-expect-error valueBits is 32 or 64
new AtomicDict(10, { valueBits: 16 })
// @ts-expect-error capacity is a number
new AtomicDict(10n)

void [before, prev, loaded, maybe, present, chained, size, keys, values, old, n, m, wrong, total, inserted]
