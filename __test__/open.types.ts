// Type tests of `new AtomicDict`, `new AtomicSet`, `counters`/`new Counters`
// and their `open`s (npm run
// test:types, against the packed package): the result is typed from the
// options object itself, as the run time makes or checks the table (open:
// every shape option, given or its default, against the file). Type
// arguments the options do not back must not compile. Each @ts-expect-error
// line must fail to compile.
import {
  AtomicDict,
  AtomicSet,
  Counters,
  counters,
  type CountersOptions,
  type DictOptions,
  type OpenOptions,
  type OpenSetOptions,
} from 'atomic-dict'

/** true only when A and B are the same type (not merely assignable). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

// ---- Type arguments the options do not back (they compiled before, and lied).
// @ts-expect-error the old form: a width as type argument, and a 64-bit table made
new AtomicDict<32>(10)
// @ts-expect-error the type says 32-bit values, no options say so: a 64-bit table
new AtomicDict<{ valueBits: 32 }>(10)
// @ts-expect-error nor do empty options
new AtomicDict<{ valueBits: 32 }>(10, {})
// @ts-expect-error nor does undefined
new AtomicDict<{ valueBits: 32 }>(10, undefined)
// @ts-expect-error options that say more than the type (a string area it would hide)
new AtomicDict<{ k64: 2 }>(10, { k64: 2, strings: 64 })
// @ts-expect-error the old form on open: the file is checked for a 64-bit table
AtomicDict.open<32>('/dev/shm/x', { capacity: 10 })
// @ts-expect-error the form the docs used to advise, for a file with a string area
AtomicDict.open<64, 1, 0, number>('/dev/shm/x', { capacity: 10 })
// @ts-expect-error open checks valueBits 64 (the default) against the file: not 32
AtomicDict.open<{ valueBits: 32 }>('/dev/shm/x', { capacity: 10 })
// @ts-expect-error open checks strings 0 (the default): a file with an area is refused, not typed
AtomicDict.open<{ strings: 1024 }>('/dev/shm/x')
// @ts-expect-error the old form for sets
new AtomicSet<2>(10)
// @ts-expect-error a set of 1-part keys is made
new AtomicSet<{ k64: 2 }>(10)
// @ts-expect-error open checks k64 1 (the default)
AtomicSet.open<{ k64: 2 }>('/dev/shm/s', { capacity: 10 })
// @ts-expect-error the default shape is 64-bit: open(path) is not a 32-bit table
const not32: AtomicDict<number> = AtomicDict.open('/dev/shm/x', { capacity: 10 })
// Type arguments the options do back are fine (and say nothing more).
const backed = new AtomicDict<{ valueBits: 32 }>(10, { valueBits: 32 })
const backedOk: Same<typeof backed, AtomicDict<number, [bigint]>> = true
void [not32, backedOk]

// ---- Each shape, inferred from the options.
const plain = new AtomicDict(10)
const plainOk: Same<typeof plain, AtomicDict<bigint, [bigint]>> = true
const noOptions = new AtomicDict(10, undefined)
const noOptionsOk: Same<typeof noOptions, AtomicDict<bigint, [bigint]>> = true
const narrow = new AtomicDict(10, { valueBits: 32, signed: true })
const narrowOk: Same<typeof narrow, AtomicDict<number, [bigint]>> = true
const wide = new AtomicDict(10, { valueBits: 64 })
const wideOk: Same<typeof wide, AtomicDict<bigint, [bigint]>> = true
const composite = new AtomicDict(10, { k64: 2, k32: 1 })
const compositeOk: Same<typeof composite, AtomicDict<bigint, [bigint, bigint, number]>> = true
const narrowKeys = new AtomicDict(10, { k64: 0, k32: 2, valueBits: 32 })
const narrowKeysOk: Same<typeof narrowKeys, AtomicDict<number, [number, number]>> = true
const named = new AtomicDict(10, { k32: 1, strings: 64 })
const namedOk: Same<typeof named, AtomicDict<bigint, [bigint | string, number]>> = true
const noArea = new AtomicDict(10, { strings: 0 })
const noAreaOk: Same<typeof noArea, AtomicDict<bigint, [bigint]>> = true
void [plainOk, noOptionsOk, narrowOk, wideOk, compositeOk, narrowKeysOk, namedOk, noAreaOk]

const openedPlain = AtomicDict.open('/dev/shm/x')
const openedPlainOk: Same<typeof openedPlain, AtomicDict<bigint, [bigint]>> = true
const openedFile = AtomicDict.open('/dev/shm/x', { capacity: 10, create: false, mode: 0o600, allowInsecure: false })
const openedFileOk: Same<typeof openedFile, AtomicDict<bigint, [bigint]>> = true
const openedShape = AtomicDict.open('/dev/shm/x', { capacity: 10, valueBits: 32, k32: 1, strings: 4096 })
const openedShapeOk: Same<typeof openedShape, AtomicDict<number, [bigint | string, number]>> = true
const openedNarrowKeys = AtomicDict.open('/dev/shm/x', { k64: 0, k32: 1 })
const openedNarrowKeysOk: Same<typeof openedNarrowKeys, AtomicDict<bigint, [number]>> = true
void [openedPlainOk, openedFileOk, openedShapeOk, openedNarrowKeysOk]

const set = new AtomicSet(10)
const setOk: Same<typeof set, AtomicSet<[bigint]>> = true
const eight = new AtomicSet(10, { k64: 8 })
const eightOk: Same<typeof eight, AtomicSet<[bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint]>> = true
const namedSet = AtomicSet.open('/dev/shm/s', { capacity: 10, k64: 1, k32: 1, strings: 64 })
const namedSetOk: Same<typeof namedSet, AtomicSet<[bigint | string, number]>> = true
const openedSet = AtomicSet.open('/dev/shm/s')
const openedSetOk: Same<typeof openedSet, AtomicSet<[bigint]>> = true
void [setOk, eightOk, namedSetOk, openedSetOk]

// ---- Options in variables: typed from the variable's type.
const literal = { k64: 1, k32: 1, valueBits: 32 } as const
const fromLiteral = new AtomicDict(10, literal)
const fromLiteralOk: Same<typeof fromLiteral, AtomicDict<number, [bigint, number]>> = true
// Widened types: each field may be any value its type allows, or left out
// (its default); the result is the union of those shapes.
const openOptions: OpenOptions = { capacity: 10 }
const widened = AtomicDict.open('/dev/shm/x', openOptions)
const widenedValue: bigint | number = widened.load(1n)
// @ts-expect-error an OpenOptions may say valueBits 32: values are not known to be bigints
const widenedBigint: bigint = widened.load(1n)
// @ts-expect-error nor keys to be bigints (it may say strings)
const widenedKey: bigint | undefined = [...widened.keys()][0]
function make(options?: DictOptions) {
  return new AtomicDict(10, options)
}
const made: bigint | number = make().load(1n)
const setOptions: OpenSetOptions<2, 0> = { k64: 2 }
const maybePairs = AtomicSet.open('/dev/shm/s', setOptions)
const maybePairsOk: Same<typeof maybePairs, AtomicSet<[bigint | string] | [bigint | string, bigint | string]>> = true
void [fromLiteralOk, widenedValue, widenedBigint, widenedKey, made, maybePairsOk]

// ---- Options the run time refuses do not compile, literal or not.
// @ts-expect-error not an option of the constructor (the run time throws a TypeError)
new AtomicDict(10, { k64: 1, valuebits: 32 })
const withCapacity = { capacity: 10, valueBits: 32 } as const
// @ts-expect-error capacity is an option of open, not of the constructor, even in a variable
new AtomicDict(10, withCapacity)
// @ts-expect-error a set has no values
AtomicSet.open('/dev/shm/s', { k64: 1, valueBits: 64 })
// @ts-expect-error open checks the row too: 7 64-bit parts and a 32-bit one leave no room for a 64-bit value
AtomicDict.open('/dev/shm/x', { k64: 7, k32: 1 })
// @ts-expect-error nor do 8 64-bit parts
AtomicDict.open('/dev/shm/x', { k64: 8 })
// @ts-expect-error k64 0 needs k32, given
AtomicDict.open('/dev/shm/x', { k64: 0 })
// @ts-expect-error a set's row: 8 64-bit parts and a 32-bit one
AtomicSet.open('/dev/shm/s', { k64: 8, k32: 1 })
// @ts-expect-error 15 32-bit parts and a 32-bit value fit, 16 do not
new AtomicDict(10, { k64: 0, k32: 16, valueBits: 32 })
// Their neighbours at the edge of a 64-byte row compile: the failures above are the row.
const fifteen = new AtomicDict(10, { k64: 0, k32: 15, valueBits: 32 })
const sevenWide = AtomicDict.open('/dev/shm/x', { k64: 7 })
const sevenAndOne = AtomicDict.open('/dev/shm/x', { k64: 7, k32: 1, valueBits: 32 })
const zeroAndOne = AtomicDict.open('/dev/shm/x', { k64: 0, k32: 1 })
const setEdge = AtomicSet.open('/dev/shm/s', { k64: 7, k32: 2 })
const setEdgeOk: Same<typeof setEdge, AtomicSet<[bigint, bigint, bigint, bigint, bigint, bigint, bigint, number, number]>> = true
void [fifteen, sevenWide, sevenAndOne, zeroAndOne, setEdgeOk]

// ---- Counters: the values' width from the options too.
// @ts-expect-error the old form: a width as type argument, and 64-bit counters made
counters<readonly ['hits'], 32>(['hits'])
// @ts-expect-error the type says 32-bit, no options say so
counters<readonly ['hits'], { valueBits: 32 }>(['hits'])
// @ts-expect-error nor for the constructor
new Counters<readonly ['hits'], 32>(['hits'])
// @ts-expect-error open checks valueBits 64 (the default) against the file
Counters.open<readonly ['hits'], 32>('/dev/shm/c', ['hits'])
// @ts-expect-error nor do options without valueBits back it
Counters.open<readonly ['hits'], { valueBits: 32 }>('/dev/shm/c', ['hits'], { mode: 0o600 })
// @ts-expect-error counters have no key shape
counters(['hits'], { k64: 2 })
// @ts-expect-error open's file options are not counters() options
counters(['hits'], { create: false })
const hits = counters(['hits'])
const hitsOk: Same<typeof hits, Counters<'hits', bigint>> = true
const hits32 = counters(['hits'], { valueBits: 32, signed: true, capacity: 10 })
const hits32Ok: Same<typeof hits32, Counters<'hits', number>> = true
const newed32 = new Counters(['a', 'b'], { valueBits: 32 })
const newed32Ok: Same<typeof newed32, Counters<'a' | 'b', number>> = true
const openedCounters = Counters.open('/dev/shm/c', ['a'])
const openedCountersOk: Same<typeof openedCounters, Counters<'a', bigint>> = true
const opened32 = Counters.open('/dev/shm/c', ['a'], { valueBits: 32, create: false })
const opened32Ok: Same<typeof opened32, Counters<'a', number>> = true
const countersOptions: CountersOptions = { signed: true }
const widenedCounters = counters(['a'], countersOptions)
const widenedCountersOk: Same<typeof widenedCounters, Counters<'a', bigint | number>> = true
void [hitsOk, hits32Ok, newed32Ok, openedCountersOk, opened32Ok, widenedCountersOk]

// Counters reached from elsewhere: the values' type comes from `expect`
// (valueBits left out is 64, and is checked at run time), never from a type
// argument alone.
{
  const shared = Counters.inherit('m', ['a'] as const)
  const sharedValue: bigint = shared.get('a')
  const narrow = Counters.attach(counters(['a'] as const).share(), ['a'] as const, { valueBits: 32 })
  const narrowValue: number = narrow.get('a')
  // @ts-expect-error without expect.valueBits the values are bigints: a 32-bit table is refused at run time
  const lie: number = Counters.inherit('m', ['a'] as const).get('a')
  // @ts-expect-error a type argument cannot say 32 bits that expect does not
  Counters.inherit<readonly ['a'], { valueBits: 32 }>('m', ['a'] as const)
  void [sharedValue, narrowValue, lie]
}
