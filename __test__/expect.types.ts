// Type tests of the shapes the compiler can check (npm run test:types,
// against the packed package): options typed as the exported option types,
// instanceof narrowing, `expect` typing inherit/attach, the key counts a row
// fits, Latch and Semaphore tables, and the iterators. Each @ts-expect-error
// line must fail to compile.
import {
  AtomicDict,
  AtomicSet,
  AtomicValue,
  Latch,
  Semaphore,
  type DictOptions,
  type OpenOptions,
  type OpenSetOptions,
  type KeyOptions,
  type AnyParts,
  type TableIterator,
} from 'atomic-dict'

// Options objects typed as the exported types are accepted where they go.
const dictOptions: DictOptions = { valueBits: 32, signed: true }
const fromOptions = new AtomicDict(10, dictOptions)
const fromOptionsValue: bigint | number = fromOptions.load(1)
// @ts-expect-error a DictOptions may say valueBits 32: the values are not known to be bigints
const notOnlyBigints: bigint = fromOptions.load(1)
const openOptions: OpenOptions = { capacity: 10, create: false }
const openedFromOptions = AtomicDict.open('/dev/shm/x', openOptions)
// A type whose fields are optional may leave them out (`const o: DictOptions<32> = {}`
// makes a 64-bit table): each counts as what it says or its default.
const maybe32: DictOptions<32, 1, 1, 0> = { valueBits: 32, k64: 1, k32: 1, strings: 0 }
const maybe32Dict: AtomicDict<bigint | number, [bigint] | [bigint, number]> = new AtomicDict(10, maybe32)
// @ts-expect-error DictOptions<32, 1, 1, 0> may leave out valueBits and k32: not known to be 32-bit, [bigint, number]
const notExactDict: AtomicDict<number, [bigint, number]> = new AtomicDict(10, maybe32)
// Options whose type says every field (as const, or Required) type the table exactly.
const exact = { valueBits: 32, k64: 1, k32: 1, strings: 0 } as const satisfies DictOptions
const exactDict: AtomicDict<number, [bigint, number]> = new AtomicDict(10, exact)
const required: Required<KeyOptions<2, 0>> = { k64: 2, k32: 0 }
const requiredSet: AtomicSet<[bigint, bigint]> = new AtomicSet(10, required)
const setOptions: OpenSetOptions = { capacity: 10, k64: 2 }
const openedSet = AtomicSet.open('/dev/shm/s', setOptions)
const keyOptions: KeyOptions<2, 0> = { k64: 2, k32: 0 }
const maybePairSet: AtomicSet<[bigint] | [bigint, bigint]> = new AtomicSet(10, keyOptions)
// @ts-expect-error KeyOptions<2, 0> may leave out k64 (then 1)
const notPairSet: AtomicSet<[bigint, bigint]> = new AtomicSet(10, keyOptions)
void [fromOptionsValue, notOnlyBigints, openedFromOptions, maybe32Dict, notExactDict, exactDict, requiredSet, openedSet, maybePairSet, notPairSet]

// instanceof narrows from unknown.
function describe(x: unknown): string {
  if (x instanceof AtomicDict) return `dict of ${x.size}: ${x.options.valueBits}`
  if (x instanceof AtomicSet) return `set of ${x.size}`
  if (x instanceof AtomicValue) return `value ${x.load()}`
  if (x instanceof Latch) return `latch ${x.remaining}`
  // @ts-expect-error x is unknown here: not narrowed
  return x.size
}
void describe

// inherit/attach: the result is typed from `expect`, which is checked at run time.
const hits = AtomicDict.inherit('hits', { expect: { k64: 1, k32: 0, valueBits: 32, signed: true, strings: 0 } })
const hitsBefore: number = hits.add(1, 1)
// @ts-expect-error a 32-bit table takes numbers
hits.add(1, 1n)
const byRoute = AtomicDict.attach(hits.share(), { expect: { k64: 1, k32: 1 } })
// Without `strings: 0` a 64-bit part may come back as a string; without valueBits a value is either.
for (const [[route, code], n] of byRoute) {
  const r: bigint | string = route
  const c: number = code
  const v: bigint | number = n
  void r, c, v
}
// @ts-expect-error a key of this table has 2 parts
byRoute.add(1n, 1)
// Without expect, nothing is known: values are bigint | number, keys any parts.
const unknownShape = AtomicDict.inherit('x')
const anyValue: bigint | number = unknownShape.load(1n)
const anyKeys: AtomicDict<bigint | number, AnyParts> = unknownShape
// @ts-expect-error without expect.valueBits the value may be a number
const notKnownBigint: bigint = unknownShape.load(1n)
// @ts-expect-error type parameters are not trusted: say it in expect
AtomicDict.inherit<number>('x')
// @ts-expect-error nor for attach
AtomicDict.attach<bigint, [bigint]>(hits.share())
// @ts-expect-error nor for sets
AtomicSet.inherit<[bigint]>('s')
// @ts-expect-error expect has no such field
AtomicDict.inherit('x', { expect: { k65: 1 } })
// @ts-expect-error a set has no valueBits
AtomicSet.inherit('s', { expect: { valueBits: 64 } })
// @ts-expect-error k64 is 0 to 8
AtomicDict.inherit('x', { expect: { k64: 9 } })
// @ts-expect-error the options hold expect, not the shape itself
AtomicDict.inherit('x', { k64: 1 })
const pairs = AtomicSet.inherit('s', { expect: { k64: 2, k32: 0, strings: 0 } })
const pairInserted: boolean = pairs.add([1n, 2n])
void [hitsBefore, anyValue, anyKeys, notKnownBigint, pairInserted]

// Key counts: 0 to 8 64-bit parts, 0 to 16 32-bit parts, a row of at most 64 bytes.
// @ts-expect-error k64 is 0 to 8
new AtomicDict(10, { k64: 9 })
// @ts-expect-error k32 is 0 to 16
new AtomicSet(10, { k64: 0, k32: 17 })
// @ts-expect-error 8 64-bit parts leave no room for a value
new AtomicDict(10, { k64: 8 })
const eightSet = new AtomicSet(10, { k64: 8 })
// @ts-expect-error 7 64-bit parts and a 32-bit part leave no room for a 64-bit value
new AtomicDict(10, { k64: 7, k32: 1 })
const sevenAndOne = new AtomicDict(10, { k64: 7, k32: 1, valueBits: 32 })
// @ts-expect-error a key has at least one part
new AtomicDict(10, { k64: 0, k32: 0 })
const narrowOnly = new AtomicDict(10, { k64: 0, k32: 14 })
const narrowKey: [number, number, number, number, number, number, number, number, number, number, number, number, number, number] | undefined =
  [...narrowOnly.keys()][0]
// @ts-expect-error 15 32-bit parts leave no room for a 64-bit value
new AtomicDict(10, { k64: 0, k32: 15 })
// @ts-expect-error open checks the counts too
AtomicDict.open('/dev/shm/x', { k64: 9 })
void [eightSet, sevenAndOne, narrowKey]

// Latch and Semaphore take only tables they work on at run time.
const composite = new AtomicDict(10, { k64: 1, k32: 1 })
// @ts-expect-error a key of a composite table is a tuple
new Latch(composite, 'k', 2)
const compositeLatch = new Latch(composite, ['k', 1], 2)
// @ts-expect-error the tuple has the table's parts
new Latch(composite, ['k', 'x'], 2)
const signed32 = new AtomicDict(10, { valueBits: 32, signed: true })
const latch32 = new Latch(signed32, 'start', 2)
const semaphore32 = new Semaphore(signed32, 'jobs', 2)
// @ts-expect-error a Semaphore needs keys of one 64-bit part
new Semaphore(composite, 'jobs', 2)
// @ts-expect-error a Semaphore needs keys of one 64-bit part
new Semaphore(new AtomicDict(10, { k64: 0, k32: 1 }), 'jobs', 2)
// @ts-expect-error a Latch lives in a dict, not a set
new Latch(new AtomicSet(10), 'k', 2)
// A table of a shape not known statically: checked at run time.
const inheritedJobs = new Semaphore(unknownShape, 'jobs', 2)
const inheritedLatch = new Latch(unknownShape, 'k', 2)
void [compositeLatch, latch32, semaphore32, inheritedJobs, inheritedLatch]

// Iterators are generator objects: IterableIterators, and MapIterators with TypeScript 5.6+.
const counts = new AtomicDict(10)
const keyIterator: IterableIterator<bigint> = counts.keys()
const entryIterator: MapIterator<[bigint, bigint]> = counts.entries()
const valueIterator: TableIterator<bigint> = counts.values()
const setIterator: MapIterator<bigint> = new AtomicSet(10).values()
const next: IteratorResult<bigint, undefined> = keyIterator.next()
// @ts-expect-error keys of a one-part table are bigints
const wrongKeys: MapIterator<string> = counts.keys()
void [entryIterator, valueIterator, setIterator, next, wrongKeys]
