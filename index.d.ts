// Type definitions for atomic-dict.
/// <reference types="node" />
import type {
  ChildProcess,
  ChildProcessWithoutNullStreams,
  ForkOptions,
  SpawnOptions,
  SpawnOptionsWithoutStdio,
  StdioOptions,
} from 'node:child_process'

// ------------------------------------------------------------------ keys

/**
 * A 64-bit key part as you pass it: a bigint in [1, 2^64), a positive
 * safe-integer number, or a string, which stands for the part
 * `stringKey(string)` (see {@link stringKey}). Never 0.
 */
export type Part64 = bigint | number | string

/** A 32-bit key part as you pass it: an integer in [1, 2^32), as a number or a bigint. */
export type Part32 = number | bigint

/**
 * A table's key parts as iteration hands them back: `bigint` for each
 * 64-bit part, then `number` for each 32-bit part. `[bigint]` is the
 * default shape (one 64-bit part); `{ k64: 2, k32: 1 }` is
 * `[bigint, bigint, number]`. A table with a string area (the `strings`
 * option) hands back its 64-bit parts as `bigint | string`
 * ({@link WithStrings}).
 */
export type KeyParts = readonly (bigint | number | string)[]

/** Tuples of 64-bit parts by count (a key has at most 8). */
interface Wide {
  0: []
  1: [bigint]
  2: [bigint, bigint]
  3: [bigint, bigint, bigint]
  4: [bigint, bigint, bigint, bigint]
  5: [bigint, bigint, bigint, bigint, bigint]
  6: [bigint, bigint, bigint, bigint, bigint, bigint]
  7: [bigint, bigint, bigint, bigint, bigint, bigint, bigint]
  8: [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint]
}

/** Tuples of 32-bit parts by count (a key has at most 16). */
interface Narrow {
  0: []
  1: [number]
  2: [number, number]
  3: [number, number, number]
  4: [number, number, number, number]
  5: [number, number, number, number, number]
  6: [number, number, number, number, number, number]
  7: [number, number, number, number, number, number, number]
  8: [number, number, number, number, number, number, number, number]
  9: [number, number, number, number, number, number, number, number, number]
  10: [number, number, number, number, number, number, number, number, number, number]
  11: [number, number, number, number, number, number, number, number, number, number, number]
  12: [number, number, number, number, number, number, number, number, number, number, number, number]
  13: [number, number, number, number, number, number, number, number, number, number, number, number, number]
  14: [number, number, number, number, number, number, number, number, number, number, number, number, number, number]
  15: [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number]
  16: [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number]
}

/**
 * The {@link KeyParts} of a table with `K64` 64-bit and `K32` 32-bit parts
 * (an array of either kind when the counts are not literal types).
 */
export type PartsOf<K64 extends number, K32 extends number> = K64 extends keyof Wide
  ? K32 extends keyof Narrow
    ? [...Wide[K64], ...Narrow[K32]]
    : (bigint | number)[]
  : (bigint | number)[]

/** A part as you pass it, for a part `T` as iteration hands it back (a 32-bit part is a number). */
type PartIn<T> = [T] extends [number] ? Part32 : Part64

/** A 64-bit part of a table with a string area, as iteration hands it back. */
type Out64<T> = T extends bigint ? bigint | string : T

/**
 * The parts `P` of a table with a string area: each 64-bit part comes back
 * as the string it stands for when the area holds that string, else as a
 * bigint (docs/API.md, "String keys"). `[bigint, number]` becomes
 * `[bigint | string, number]`.
 */
export type WithStrings<P extends KeyParts> = { [I in keyof P]: Out64<P[I]> }

/** `P`, or `WithStrings<P>` unless `S` (the `strings` option) is the literal 0. */
export type StringsIf<S extends number, P extends KeyParts> = S extends 0 ? P : WithStrings<P>

/**
 * A key as you pass it to a table whose parts are `P`: a tuple of exactly
 * that many parts, or, for one-part keys, the part alone.
 */
export type KeyIn<P extends KeyParts> = number extends P['length']
  ? Part64 | readonly Part64[]
  : P extends readonly [infer Only]
    ? PartIn<Only> | readonly [PartIn<Only>]
    : { readonly [I in keyof P]: PartIn<P[I]> }

/** A key as iteration hands it back: a one-part key alone, a composite key as its tuple (its 64-bit parts `bigint | string` with a string area). */
export type KeyOut<P extends KeyParts> = number extends P['length']
  ? P[number] | P
  : P extends readonly [infer Only]
    ? Only
    : P

/**
 * The parts of a table whose shape is not known to the compiler (`inherit`
 * or `attach` without `expect.k64` and `expect.k32`): a key is passed as
 * any part or array of parts (the table checks it at run time) and comes
 * back as a part or an array of them.
 */
export type AnyParts = (bigint | number | string)[]

/** A key part in `toJSON()`: a bigint as its decimal string. */
export type JsonPart<T> = T extends bigint ? string : T

/** A key as `AtomicDict#toJSON()` gives it: `KeyOut<P>` with bigints as decimal strings. */
export type JsonKey<P extends KeyParts> = P extends readonly [infer Only] ? JsonPart<Only> : { [I in keyof P]: JsonPart<P[I]> }

/**
 * The 64-bit key part (a bigint) that a string stands for as a key:
 * SipHash-2-4 of its UTF-8 bytes under the fixed key "atomic-dict:str1",
 * 0 replaced by 1 (docs/FORMAT.md, "String keys"). The same in every process and
 * every version. Throws a TypeError for a non-string or a string with a lone
 * surrogate.
 */
export declare function stringKey(string: string): bigint

// ------------------------------------------------------------------ values

/** Width of a table's values. */
export type ValueBits = 32 | 64

/** The JS type of a table's values: `bigint` for 64-bit, `number` for 32-bit. */
export type ValueOf<B extends ValueBits> = B extends 32 ? number : bigint

/**
 * A value as you pass it to a table whose values are `V`: for 64-bit tables a
 * bigint or a safe-integer number in [-2^63, 2^64); for 32-bit tables a
 * number in [-2^31, 2^32). Negative values are two's complement.
 */
export type ValueIn<V extends bigint | number> = V extends number ? number : bigint | number

// ------------------------------------------------------------------ options

/** How many 64-bit parts a key can have: 0 to 8. */
export type K64Count = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8

/** How many 32-bit parts a key can have: 0 to 16. */
export type K32Count = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16

/** 0 to N. */
interface UpTo {
  0: 0
  1: 0 | 1
  2: UpTo[1] | 2
  3: UpTo[2] | 3
  4: UpTo[3] | 4
  5: UpTo[4] | 5
  6: UpTo[5] | 6
  7: UpTo[6] | 7
  8: UpTo[7] | 8
  9: UpTo[8] | 9
  10: UpTo[9] | 10
  11: UpTo[10] | 11
  12: UpTo[11] | 12
  13: UpTo[12] | 13
  14: UpTo[13] | 14
  15: UpTo[14] | 15
  16: UpTo[15] | 16
}

/**
 * The most 32-bit parts a row of 64 bytes leaves room for, by 64-bit parts
 * (8 bytes each, 32-bit parts 4, then the value aligned to its width):
 * for 64-bit values, for 32-bit values, and for a set (no value).
 */
interface MaxK32 {
  64: [14, 12, 10, 8, 6, 4, 2, 0, never]
  32: [15, 13, 11, 9, 7, 5, 3, 1, never]
  0: [16, 14, 12, 10, 8, 6, 4, 2, 0]
}

/**
 * The `k32` a table of `K64` 64-bit parts can have: a row must fit in 64
 * bytes, and a key has at least one part. `W` is the value width (0 for a
 * set). `{ k64: 8 }` fits only a set; `{ k64: 0, k32: 0 }` nothing. When
 * `K64` is not a literal (a `K64Count`), any `k32`: the table checks it.
 */
export type K32For<W extends 0 | ValueBits, K64 extends K64Count> = [K64Count] extends [K64]
  ? K32Count // k64 not known statically: checked at run time
  : K64 extends K64Count
    ? Exclude<UpTo[MaxK32[W][K64]], K64 extends 0 ? 0 : never>
    : never

/**
 * What the key counts given as literals also need: with `k64: 0` the key
 * is all 32-bit parts, so `k32` must be given (at least 1); `k64: 8`
 * leaves a row no room for a value (a set, `W` 0, is fine).
 */
export type KeyShapeCheck<W extends 0 | ValueBits, K64 extends K64Count> = [K64] extends [0]
  ? { k32: K32Count }
  : [K64] extends [8]
    ? W extends 0
      ? unknown
      : { k64: never }
    : unknown

/** The shape of a table's keys. */
export interface KeyOptions<K64 extends K64Count = K64Count, K32 extends K32Count = K32Count> {
  /** 64-bit key parts (default 1). */
  k64?: K64
  /** 32-bit key parts (default 0). */
  k32?: K32
}

/** The string area of a table (docs/API.md and docs/FORMAT.md, "String area"). */
export interface StringOptions<S extends number = number> {
  /**
   * Bytes of the table's string area (default 0: none): 0, or a multiple of
   * 8 from 64 to 2^30. With one, every string key part inserted is stored
   * once (24 bytes plus its UTF-8 bytes rounded up to 8), and iteration
   * hands 64-bit parts back as those strings. Fixed at creation: when it is
   * full, further strings are refused (counted in `strings.refused`) and
   * their keys read back as bigints.
   */
  strings?: S
}

/** The string area's size and use (`table.strings`). */
export interface StringAreaStats {
  /** The arena's size in bytes (the `strings` option). */
  bytes: number
  /** Arena bytes allocated (records of interned strings). */
  used: number
  /** Strings interned. */
  count: number
  /** Strings refused for want of room (their keys work by hash and read back as bigints). */
  refused: number
}

/** The shape of an AtomicDict. */
export interface DictOptions<
  B extends ValueBits = ValueBits,
  K64 extends K64Count = K64Count,
  K32 extends K32Count = K32Count,
  S extends number = number,
> extends KeyOptions<K64, K32>,
    StringOptions<S> {
  /** Value width: 64 (values are bigints, the default) or 32 (values are numbers). */
  valueBits?: B
  /** Read values as two's complement signed integers (default false). */
  signed?: boolean
}

/** How `open` treats the file; shared by every `open`. */
export interface FileOptions {
  /** Create the file when it does not exist (default true). */
  create?: boolean
  /** Permission bits of a new file (default 0o600), applied exactly. */
  mode?: number
  /** Open (or create) a file another user owns or group/others may write (default false). */
  allowInsecure?: boolean
}

/**
 * Options of `AtomicDict.open`: the shape ones (`k64`, `k32`, `valueBits`,
 * `signed`, `strings`), given or left to their defaults, must match an
 * existing table.
 */
export interface OpenOptions<
  B extends ValueBits = ValueBits,
  K64 extends K64Count = K64Count,
  K32 extends K32Count = K32Count,
  S extends number = number,
> extends DictOptions<B, K64, K32, S>,
    FileOptions {
  /** Keys guaranteed to fit; needed to create the file. */
  capacity?: number
}

/** Options of `AtomicSet.open`. */
export interface OpenSetOptions<K64 extends K64Count = K64Count, K32 extends K32Count = K32Count, S extends number = number>
  extends KeyOptions<K64, K32>,
    StringOptions<S>,
    FileOptions {
  /** Keys guaranteed to fit; needed to create the file. */
  capacity?: number
}

// ------------------------------------------------------------------ shapes from options

/**
 * The option `K` as an options object of type `O` gives it, or `D` (its
 * default) where `O` may leave it out: `{ valueBits: 32 }` says 32, `{}`
 * 64, and a `DictOptions` (`valueBits?: ValueBits`) either. `O` may be
 * `undefined` (no options: `D`) or a union (the union of what each says).
 */
export type OptionOf<O, K extends string, D> = O extends unknown
  ? K extends keyof O
    ? Exclude<O[K], undefined> | ({} extends Pick<O, K> ? D : undefined extends O[K] ? D : never)
    : D
  : never

/** The value width options of type `O` give a table (64 by default; `ValueBits` when it may be either). */
export type ValueBitsOfOptions<O> = Extract<OptionOf<O, 'valueBits', 64>, ValueBits>

/** The values of a table made or opened with options of type `O`: `bigint`, `number`, or `bigint | number` when `O` does not say which. */
export type ValueOfOptions<O> = ValueOf<ValueBitsOfOptions<O>>

/**
 * The key parts of a table made or opened with options of type `O`, from
 * its `k64` (default 1), `k32` (default 0) and `strings` (default 0), for
 * values of `W` bits (0: a set): when `O` does not pin them down (options
 * typed `DictOptions`), the union of the shapes it allows that fit a row.
 */
export type PartsOfOptions<O, W extends 0 | ValueBits = ValueBitsOfOptions<O>> = StringsIf<
  Extract<OptionOf<O, 'strings', 0>, number>,
  FittingParts<W, Extract<OptionOf<O, 'k64', 1>, K64Count>, Extract<OptionOf<O, 'k32', 0>, K32Count>>
>

/** `PartsOf<K64, K32>` for the counts among `K64` and `K32` that make a row of `W`-bit values fit. */
type FittingParts<W extends 0 | ValueBits, K64 extends K64Count, K32 extends K32Count> = K64 extends unknown
  ? PartsOf<K64, Extract<K32, K32For<W, K64>>>
  : never

/**
 * What a row of `K64` 64-bit and `K32` 32-bit parts and a `W`-bit value (0:
 * a set) also needs to fit 64 bytes: `unknown` when it fits; else the
 * `k32` it could have (so a missing or too large `k32` fails to compile),
 * or, when no `k32` fits (`k64: 8` with a value), no `k64` at all.
 */
export type RowCheck<W extends 0 | ValueBits, K64 extends K64Count, K32 extends K32Count> = [K32For<W, K64>] extends [never]
  ? { k64: never }
  : [K32] extends [K32For<W, K64>]
    ? unknown
    : { k32: K32For<W, K64> }

/**
 * What options of type `O` must also satisfy, for a call whose option names
 * are `Known` and whose values are `W` bits wide (0 for a set): no other
 * names (the table refuses them at run time), and keys that fit a row
 * ({@link RowCheck}), the defaults counted.
 */
export type OptionsCheck<O, W extends 0 | ValueBits, Known extends PropertyKey> = {
  [K in Exclude<O extends unknown ? keyof O : never, Known>]: never
} & RowCheck<W, Extract<OptionOf<O, 'k64', 1>, K64Count>, Extract<OptionOf<O, 'k32', 0>, K32Count>>

// ------------------------------------------------------------------ sharing

/**
 * What `table.share()` returns: plain data (structured-clonable) that
 * `attach` accepts in a worker thread of the same process.
 */
export interface ShareDescriptor {
  readonly type: 'atomic-dict'
  readonly kind: 'dict' | 'set'
  readonly pid: number
  readonly fd: number
  readonly dev: string
  readonly ino: string
}

/** What `verify()` found; `ok` when `problems` is empty. */
export interface VerifyReport {
  /** No invariant is violated. */
  ok: boolean
  /** The header's entry count (what `size` reports). */
  entries: number
  /**
   * The header's admission counter (units of capacity taken: rows claimed or
   * being claimed). On a quiescent table, any excess over the claimed rows
   * is admissions leaked by inserters killed before their claim.
   */
  reserved: number
  /** Rows holding a complete key. */
  completeRows: number
  /** Rows whose key is incomplete: an insert in flight, or an inserter that died mid-way. */
  partialRows: number
  /** Keys complete in more than one row. */
  duplicateKeys: number
  /** Keys a lookup from their home block does not reach. */
  unreachableKeys: number
  /** Entries published in the string area's index (0 without an area). */
  strings: number
  /**
   * Published string entries a lookup would not decode: pointing outside
   * the arena, at a record that does not validate, unreachable, or a
   * second entry of one part.
   */
  badStrings: number
  /** A description of each violation (at most 20). */
  problems: string[]
}

/** Members common to every shared object: sharing, auditing and lifetime. */
export interface SharedTable {
  /** Audits every row against the table's invariants (for a table nobody is inserting into). */
  verify(): VerifyReport
  /**
   * Recounts `size` and the admission counter from the rows (and the string
   * area's count of strings from its index), giving back units of capacity
   * leaked by processes killed mid-insert. Only for a
   * table nobody is changing (e.g. after its processes were killed): on one
   * in use it would give away the units of inserts in flight. Returns the
   * audit from before.
   */
  repairCounts(): VerifyReport
  /** A descriptor for `attach` in worker threads of this process. */
  share(): ShareDescriptor
  /** Releases this process's mapping; later calls throw `ERR_ATOMIC_DICT_CLOSED`. */
  close(): void
  /** `close()`: `using table = new AtomicDict(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void
  /** Whether `close()` has been called. */
  readonly closed: boolean
  /** Whether this object created the table (false when it attached to one). */
  readonly created: boolean
  /**
   * The string area (the `strings` option) as it is now, or `null` when the
   * table has none.
   */
  readonly strings: StringAreaStats | null
}

/** Thrown when an insert would exceed the table's capacity. */
export declare class AtomicDictFullError extends Error {
  /** Always `'ERR_ATOMIC_DICT_FULL'`. */
  readonly code: 'ERR_ATOMIC_DICT_FULL'
  /** The capacity of the table that is full. */
  readonly capacity: number
  /**
   * Bulk calls only: how many keys (those before the one that did not fit)
   * were found or inserted before the table was found full; no value changed.
   */
  readonly done?: number
  /** Bulk calls only: for each of the first `done` keys, whether this call inserted it. */
  readonly inserted?: boolean[]
}

// ------------------------------------------------------------------ waiting

/**
 * What a wait returns, as `Atomics.wait`: 'ok' (woken by a notify, or the
 * value changed while the wait was being armed: re-check your condition),
 * 'not-equal' (the value was not `expected` when the wait began),
 * 'timed-out'.
 */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out'

/**
 * Options of the `waitAsync` methods (and `Semaphore#acquire`, without
 * `timeout`). They can stand in place of the timeout argument:
 * `waitAsync(key, expected, { timeout: 100, ref: false })`. Unknown option
 * names reject with a TypeError.
 */
export interface WaitOptions {
  /** Milliseconds before the wait resolves 'timed-out' (default: none). Not together with a timeout argument. */
  timeout?: number
  /** Rejects the wait with an AbortError (`name: 'AbortError'`, `code: 'ABORT_ERR'`). */
  signal?: AbortSignal
  /**
   * Whether the pending wait keeps the process alive, as a referenced timer
   * does (default true). With `false` the process can exit while it waits,
   * as after `timer.unref()`; the Promise then never settles.
   */
  ref?: boolean
}

/**
 * Options of `Semaphore#acquire` and `Semaphore#run`: `timeout` (ms)
 * rejects with `ERR_ATOMIC_DICT_TIMEOUT`, `signal` with an AbortError
 * (`ABORT_ERR`), both holding nothing.
 */
export type AcquireOptions = WaitOptions

// ------------------------------------------------------------------ AtomicValue

/**
 * A handle bound to one key's value (`dict.slot(key)`): the same operations
 * without the key, straight on the key's row. Every read-modify-write returns
 * the value before it.
 */
export interface AtomicValue<V extends bigint | number = bigint> {
  /** The value. */
  load(): V
  /** Stores `value`. */
  store(value: ValueIn<V>): void
  /** Adds `delta` (default 1, wrapping); returns the value before. */
  add(delta?: ValueIn<V>): V
  /** Subtracts `delta` (default 1, wrapping); returns the value before. */
  sub(delta?: ValueIn<V>): V
  /** Bitwise and; returns the value before. */
  and(value: ValueIn<V>): V
  /** Bitwise or; returns the value before. */
  or(value: ValueIn<V>): V
  /** Bitwise xor; returns the value before. */
  xor(value: ValueIn<V>): V
  /** Stores `value`; returns the value before. */
  swap(value: ValueIn<V>): V
  /** Stores `desired` if the value is `expected`; returns the value before. */
  cas(expected: ValueIn<V>, desired: ValueIn<V>): V
  /** Alias of `and`. */
  band(value: ValueIn<V>): V
  /** Alias of `or`. */
  bor(value: ValueIn<V>): V
  /** Alias of `xor`. */
  bxor(value: ValueIn<V>): V
  /** Alias of `swap` (as `Atomics.exchange`). */
  exchange(value: ValueIn<V>): V
  /** Alias of `cas` (as `Atomics.compareExchange`). */
  compareExchange(expected: ValueIn<V>, desired: ValueIn<V>): V
  /** Blocks this thread while the value is `expected`, until notified (any process) or `timeoutMs`. */
  wait(expected: ValueIn<V>, timeoutMs?: number): WaitResult
  /** As `wait`, as a Promise that never blocks the thread; `options.signal` rejects it with an AbortError. */
  waitAsync(expected: ValueIn<V>, timeoutMs?: number, options?: WaitOptions): Promise<WaitResult>
  waitAsync(expected: ValueIn<V>, options: WaitOptions): Promise<WaitResult>
  /** Wakes up to `count` (default all) waiters on this value, in every process; returns how many it woke. */
  notify(count?: number): number
  readonly [Symbol.toStringTag]: 'AtomicValue'
}

/** The class of `dict.slot(key)` handles (not constructible by users). */
export declare const AtomicValue: {
  prototype: AtomicValue<bigint | number>
  /** `x instanceof AtomicValue` narrows `x`. */
  [Symbol.hasInstance](x: unknown): x is AtomicValue<bigint | number>
}

// ------------------------------------------------------------------ AtomicDict

/**
 * What the live iterations (`keys()`, `values()`, `entries()`, and
 * iterating the table) return: generator objects. They are
 * `IterableIterator`s everywhere, and have the iterator helpers (`.map`,
 * `.filter`, `.take`, `.toArray`, ...) where Node has them (22 and later):
 * with TypeScript 5.6+ and `lib` `esnext` (or `es2025`) they type-check.
 * A `TableIterator<T>` is assignable to `MapIterator<T>`.
 */
export type TableIterator<T> = Generator<T, undefined, unknown>

/**
 * What `inherit` and `attach` check the table against (`options.expect`):
 * each field given must be the table's (else `ERR_ATOMIC_DICT_GEOMETRY`,
 * and the table is closed again); the result is typed from them.
 * Fields not given are not checked, and typed as anything they could be:
 * without `valueBits`, values are `bigint | number`; without both `k64`
 * and `k32`, keys are any parts ({@link AnyParts}); without `strings: 0`,
 * 64-bit parts may come back as strings.
 */
export interface DictExpect {
  k64?: K64Count
  k32?: K32Count
  valueBits?: ValueBits
  signed?: boolean
  /** The string area's bytes (0: none). */
  strings?: number
}

/** What `AtomicSet.inherit`/`attach` check the set against: as {@link DictExpect}, for keys. */
export interface SetExpect {
  k64?: K64Count
  k32?: K32Count
  strings?: number
}

/** Options of `inherit` and `attach`. */
export interface ShareOpenOptions<E> {
  /** The shape the table must have; see {@link DictExpect}. */
  expect?: E
}

/** The values of a table as `expect` says it is. */
export type ExpectedValue<E extends DictExpect> = E extends { valueBits: infer B extends ValueBits } ? ValueOf<B> : bigint | number

/** The key parts of a table as `expect` says it is. */
export type ExpectedParts<E extends SetExpect> = E extends { k64: infer K64 extends K64Count; k32: infer K32 extends K32Count }
  ? StringsIf<E extends { strings: infer S extends number } ? S : number, PartsOf<K64, K32>>
  : AnyParts

/**
 * A lock-free `Map<u64, u64>` in shared memory. `V` is `bigint` for 64-bit
 * values and `number` for 32-bit values; `P` is the key's parts as iteration
 * returns them (`[bigint]` by default, `[bigint, number]` for
 * `{ k64: 1, k32: 1 }`).
 */
export interface AtomicDict<V extends bigint | number = bigint, P extends KeyParts = [bigint]> extends SharedTable {
  /** Adds (wrapping); returns the value before. Inserts the key when absent. */
  add(key: KeyIn<P>, delta?: ValueIn<V>): V
  /** Subtracts (wrapping); returns the value before. Inserts the key when absent. */
  sub(key: KeyIn<P>, delta?: ValueIn<V>): V
  /** Bitwise and; returns the value before. Inserts the key when absent. */
  and(key: KeyIn<P>, value: ValueIn<V>): V
  /** Bitwise or; returns the value before. Inserts the key when absent. */
  or(key: KeyIn<P>, value: ValueIn<V>): V
  /** Bitwise xor; returns the value before. Inserts the key when absent. */
  xor(key: KeyIn<P>, value: ValueIn<V>): V
  /** Stores `value`; returns the value before. Inserts the key when absent. */
  swap(key: KeyIn<P>, value: ValueIn<V>): V
  /** Stores `desired` if the value is `expected`; returns the value before. Inserts the key when absent. */
  cas(key: KeyIn<P>, expected: ValueIn<V>, desired: ValueIn<V>): V
  /** Alias of `and` (the Python seed's name). */
  band(key: KeyIn<P>, value: ValueIn<V>): V
  /** Alias of `or` (the Python seed's name). */
  bor(key: KeyIn<P>, value: ValueIn<V>): V
  /** Alias of `xor` (the Python seed's name). */
  bxor(key: KeyIn<P>, value: ValueIn<V>): V
  /** Alias of `swap` (as `Atomics.exchange`). */
  exchange(key: KeyIn<P>, value: ValueIn<V>): V
  /** Alias of `cas` (as `Atomics.compareExchange`). */
  compareExchange(key: KeyIn<P>, expected: ValueIn<V>, desired: ValueIn<V>): V
  /** Stores `value`, inserting the key when absent. */
  store(key: KeyIn<P>, value: ValueIn<V>): void
  /** The value, or 0 when the key is absent (does not insert it). */
  load(key: KeyIn<P>): V
  /** The value, or `undefined` when the key is absent (never inserts). */
  get(key: KeyIn<P>): V | undefined
  /** Whether the key is in the table (never inserts). */
  has(key: KeyIn<P>): boolean
  /** Stores `value` (inserting the key when absent); returns this dict. */
  set(key: KeyIn<P>, value: ValueIn<V>): this
  /** A handle on the key's value, inserting the key when absent. */
  slot(key: KeyIn<P>): AtomicValue<V>
  /**
   * Bulk: the values of `keys` in one call into the core (which overlaps
   * their memory misses), `undefined` for absent keys; never inserts. Every
   * key is checked first (a bad one throws, naming `keys[i]`).
   */
  getMany(keys: readonly KeyIn<P>[]): (V | undefined)[]
  /** Bulk: the values of `keys`, 0 for absent keys; never inserts. */
  loadMany(keys: readonly KeyIn<P>[]): V[]
  /**
   * Bulk: adds `deltas[i]` (or `deltas`, for every key) to each key's value,
   * in order, inserting absent keys; returns the values before. Everything is
   * checked before anything changes; a full table throws before any value
   * changes (keys before the one that did not fit may have been inserted).
   */
  addMany(keys: readonly KeyIn<P>[], deltas: readonly ValueIn<V>[] | ValueIn<V>): V[]
  /** Bulk: stores `values[i]` (or `values`, for every key) in each key, inserting absent keys. */
  storeMany(keys: readonly KeyIn<P>[], values: readonly ValueIn<V>[] | ValueIn<V>): void
  /**
   * Blocks the calling thread while the key's value is `expected`, until a
   * `notify` on the key from any process, or `timeoutMs` (default: no
   * timeout). An absent key reads 0: waiting for 0 inserts it. A 64-bit
   * value is compared whole and slept on through its low 32 bits
   * (docs/WAITING.md).
   */
  wait(key: KeyIn<P>, expected: ValueIn<V>, timeoutMs?: number): WaitResult
  /**
   * As `wait`, as a Promise that never blocks the thread (no thread per
   * wait, none of libuv's); `options.signal` rejects it with an AbortError.
   * A pending wait keeps the process alive, as a timer does.
   */
  waitAsync(key: KeyIn<P>, expected: ValueIn<V>, timeoutMs?: number, options?: WaitOptions): Promise<WaitResult>
  waitAsync(key: KeyIn<P>, expected: ValueIn<V>, options: WaitOptions): Promise<WaitResult>
  /** Wakes up to `count` (default all) waiters on the key, in every process; returns how many it woke. */
  notify(key: KeyIn<P>, count?: number): number
  /** Keys in the table, exact, O(1). */
  readonly size: number
  /** Keys guaranteed to fit. */
  readonly capacity: number
  /** The table's shape (`strings`: the string area's bytes, 0 for none). */
  readonly options: { capacity: number; k64: number; k32: number; valueBits: ValueBits; signed: boolean; strings: number }
  /**
   * Live iteration (not a snapshot) over keys and values; string keys come
   * back as their `stringKey`, or, in a table with a string area, as the
   * strings (docs/API.md, "String keys").
   */
  entries(): TableIterator<[KeyOut<P>, V]>
  /** Live iteration over keys. */
  keys(): TableIterator<KeyOut<P>>
  /** Live iteration over values. */
  values(): TableIterator<V>
  /** Calls `callback(value, key, dict)` for each entry, as `Map#forEach`. */
  forEach(callback: (value: V, key: KeyOut<P>, dict: this) => void, thisArg?: unknown): void
  /** Same as `entries()`. */
  [Symbol.iterator](): TableIterator<[KeyOut<P>, V]>
  /**
   * For JSON.stringify: `[key, value]` pairs; 64-bit values and key parts
   * as decimal strings, 32-bit ones as numbers, string parts as strings, a
   * composite key as an array of parts.
   */
  toJSON(): Array<[JsonKey<P>, V extends bigint ? string : number]>
  readonly [Symbol.toStringTag]: 'AtomicDict'
}

export declare const AtomicDict: {
  /**
   * A new table in shared memory (a memfd) with room for exactly `capacity`
   * keys, of the shape `options` says: without options, 64-bit values
   * (bigints) and keys of one 64-bit part.
   */
  new (capacity: number, options?: undefined): AtomicDict<bigint, [bigint]>
  /**
   * A new table of the shape `options` says, and typed from the options
   * object itself ({@link ValueOfOptions}, {@link PartsOfOptions}):
   * `{ valueBits: 32 }` makes values numbers, `{ k64: 1, k32: 1 }` makes
   * keys `[Part64, Part32]`, `{ strings: 65536 }` gives it a string area
   * (64-bit parts come back as `bigint | string`). An option the type of
   * `options` may leave out counts as its default too: options typed
   * `DictOptions` give `AtomicDict<bigint | number, ...>`. `O` is inferred;
   * given explicitly, `options` must still be of that type.
   */
  new <const O extends DictOptions | undefined>(
    capacity: number,
    options: (O & OptionsCheck<O, ValueBitsOfOptions<O>, keyof DictOptions>) | Extract<O, undefined>,
  ): AtomicDict<ValueOfOptions<O>, PartsOfOptions<O>>
  prototype: AtomicDict<bigint | number, KeyParts>
  /**
   * The table a parent shared as `name` (the `share` option of `spawn`/`fork`,
   * or `shareWithCluster`). Its shape comes from the parent: say what you
   * rely on in `options.expect`, which is checked and types the result
   * (`AtomicDict.inherit('pairs', { expect: { k64: 1, k32: 1, valueBits: 32, strings: 0 } })`
   * is an `AtomicDict<number, [bigint, number]>`). Without it, values are
   * `bigint | number` and keys any parts.
   */
  inherit<const E extends DictExpect = {}>(name: string, options?: ShareOpenOptions<E>): AtomicDict<ExpectedValue<E>, ExpectedParts<E>>
  /** The table a `share()` descriptor names, in a worker thread of the same process; `options.expect` as for `inherit`. */
  attach<const E extends DictExpect = {}>(descriptor: ShareDescriptor, options?: ShareOpenOptions<E>): AtomicDict<ExpectedValue<E>, ExpectedParts<E>>
  /**
   * The table in the file at `path`, created when absent (unless
   * `create: false`; creating needs `capacity`). The shape options, given
   * or left to their defaults (`k64` 1, `k32` 0, `valueBits` 64, `signed`
   * false, `strings` 0), are checked against an existing file (else
   * `ERR_ATOMIC_DICT_GEOMETRY`): `open(path)` opens only a table of the
   * default shape, and a file with a string area needs `strings` of its
   * size. So the result is typed from the options, as for `new AtomicDict`.
   */
  open(path: string, options?: undefined): AtomicDict<bigint, [bigint]>
  /** As above, typed from `options` (inferred, as for `new AtomicDict`). */
  open<const O extends OpenOptions | undefined>(
    path: string,
    options: (O & OptionsCheck<O, ValueBitsOfOptions<O>, keyof OpenOptions>) | Extract<O, undefined>,
  ): AtomicDict<ValueOfOptions<O>, PartsOfOptions<O>>
  /** Removes a named table's file; processes that have it open keep their mapping. */
  unlink(path: string): void
}

// ------------------------------------------------------------------ AtomicSet

/** A lock-free set of keys in shared memory. `P` is the key's parts, as for AtomicDict. */
export interface AtomicSet<P extends KeyParts = [bigint]> extends SharedTable {
  /** Inserts the key; `true` only for the call (in any process) that inserted it. */
  add(key: KeyIn<P>): boolean
  /**
   * Bulk: inserts every key in one call into the core; for each, in order,
   * whether this call inserted it (an absent key given twice: `true`, then
   * `false`). On a full table, `AtomicDictFullError#inserted` covers only
   * the keys before the first that did not fit. `keys` is an Array.
   */
  addMany(keys: readonly KeyIn<P>[]): boolean[]
  /** Whether the key is in the set. */
  has(key: KeyIn<P>): boolean
  /** Keys in the set, exact, O(1). */
  readonly size: number
  /** Keys guaranteed to fit. */
  readonly capacity: number
  /** The set's shape (`strings`: the string area's bytes, 0 for none). */
  readonly options: { capacity: number; k64: number; k32: number; strings: number }
  /** Live iteration over keys; string keys come back as their `stringKey` (as the strings with a string area). */
  keys(): TableIterator<KeyOut<P>>
  /** Same as `keys()`, as `Set#values`. */
  values(): TableIterator<KeyOut<P>>
  /** `[key, key]` pairs, as `Set#entries`. */
  entries(): TableIterator<[KeyOut<P>, KeyOut<P>]>
  /** Calls `callback(key, key, set)` for each key, as `Set#forEach`. */
  forEach(callback: (value: KeyOut<P>, key: KeyOut<P>, set: this) => void, thisArg?: unknown): void
  /** Same as `keys()`. */
  [Symbol.iterator](): TableIterator<KeyOut<P>>
  readonly [Symbol.toStringTag]: 'AtomicSet'
}

export declare const AtomicSet: {
  /**
   * A new set in shared memory with room for exactly `capacity` keys of the
   * shape `options` says (`strings`: a string area, as for AtomicDict).
   */
  new (capacity: number, options?: undefined): AtomicSet<[bigint]>
  /** As above, typed from `options` (inferred, as for `new AtomicDict`). */
  new <const O extends (KeyOptions & StringOptions) | undefined>(
    capacity: number,
    options: (O & OptionsCheck<O, 0, keyof (KeyOptions & StringOptions)>) | Extract<O, undefined>,
  ): AtomicSet<PartsOfOptions<O, 0>>
  prototype: AtomicSet<KeyParts>
  /** The set a parent shared as `name`; `options.expect` (k64, k32, strings) is checked and types it, as for AtomicDict. */
  inherit<const E extends SetExpect = {}>(name: string, options?: ShareOpenOptions<E>): AtomicSet<ExpectedParts<E>>
  /** The set a `share()` descriptor names, in a worker thread of the same process; `options.expect` as for `inherit`. */
  attach<const E extends SetExpect = {}>(descriptor: ShareDescriptor, options?: ShareOpenOptions<E>): AtomicSet<ExpectedParts<E>>
  /**
   * The set in the file at `path`, created when absent (unless
   * `create: false`). Its shape options, given or left to their defaults
   * (`k64` 1, `k32` 0, `strings` 0), are checked against an existing file,
   * as for `AtomicDict.open`, and type the result.
   */
  open(path: string, options?: undefined): AtomicSet<[bigint]>
  /** As above, typed from `options` (inferred, as for `new AtomicSet`). */
  open<const O extends OpenSetOptions | undefined>(
    path: string,
    options: (O & OptionsCheck<O, 0, keyof OpenSetOptions>) | Extract<O, undefined>,
  ): AtomicSet<PartsOfOptions<O, 0>>
  /** Removes a named table's file. */
  unlink(path: string): void
}

// ------------------------------------------------------------------ Counters

/** Options of a new Counters table. */
export interface CountersOptions<B extends ValueBits = ValueBits> {
  /** Names the table has room for (default: the larger of names.length and 256). */
  capacity?: number
  /** Value width: 64 (bigints, the default) or 32 (numbers). */
  valueBits?: B
  /** Signed values, for gauges that go below 0 (default false). */
  signed?: boolean
}

/** What `Counters.inherit`/`Counters.attach` expect of the table; given ones must match. */
export interface CountersExpect<B extends ValueBits = ValueBits> {
  /** The table's value width. */
  valueBits?: B
  /** Whether the table's values are signed. */
  signed?: boolean
}

/** Options of `Counters.open`. */
export interface CountersOpenOptions<B extends ValueBits = ValueBits> extends CountersOptions<B>, FileOptions {}

/**
 * Named counters and gauges in shared memory: an AtomicDict whose keys are
 * the names (as string keys). Methods take only the names the object was
 * made with. Every process or thread that lists the same names, in any
 * order, reaches the same values.
 */
export interface Counters<N extends string = string, V extends bigint | number = bigint> {
  /** Adds `delta` (default 1, wrapping); returns the value before. */
  add(name: N, delta?: ValueIn<V>): V
  /** Subtracts `delta` (default 1, wrapping); returns the value before. */
  sub(name: N, delta?: ValueIn<V>): V
  /** The value. */
  get(name: N): V
  /** Stores `value`; returns this. */
  set(name: N, value: ValueIn<V>): this
  /** Stores `value`; returns the value before. */
  swap(name: N, value: ValueIn<V>): V
  /** Stores `desired` if the value is `expected`; returns the value before. */
  cas(name: N, expected: ValueIn<V>, desired: ValueIn<V>): V
  /** A handle on one counter's value. */
  slot(name: N): AtomicValue<V>
  /** Blocks while the counter is `expected`, until notified or `timeoutMs` (as `AtomicDict#wait`). */
  wait(name: N, expected: ValueIn<V>, timeoutMs?: number): WaitResult
  /** As `wait`, as a Promise (as `AtomicDict#waitAsync`). */
  waitAsync(name: N, expected: ValueIn<V>, timeoutMs?: number, options?: WaitOptions): Promise<WaitResult>
  waitAsync(name: N, expected: ValueIn<V>, options: WaitOptions): Promise<WaitResult>
  /** Wakes up to `count` (default all) waiters on the counter, in every process. */
  notify(name: N, count?: number): number
  /** Every counter's value; each read is atomic, the whole is not one instant. */
  snapshot(): { [K in N]: V }
  /** Sets every counter to 0; returns the values just before, as `snapshot()`. */
  reset(): { [K in N]: V }
  /** `[name, value]` pairs, in the order of `names`. */
  entries(): Array<[N, V]>
  /** The names, in the order of `names` (a copy). */
  keys(): N[]
  /** The values, in the order of `names`. */
  values(): V[]
  /** Whether `name` is one of the names (never throws). */
  has(name: unknown): name is N
  /** The number of names. */
  readonly size: number
  /** Calls `callback(value, name, counters)` for each name, as `Map#forEach`. */
  forEach(callback: (value: V, name: N, counters: this) => void, thisArg?: unknown): void
  /** The `[name, value]` pairs of `entries()`. */
  [Symbol.iterator](): IterableIterator<[N, V]>
  /** For JSON.stringify: `{ name: value }`, 64-bit values as decimal strings, 32-bit ones as numbers. */
  toJSON(): { [K in N]: V extends bigint ? string : number }
  /** The names, in the order given. */
  readonly names: readonly N[]
  /** The AtomicDict underneath; a name's key is `stringKey(name)`. */
  readonly table: AtomicDict<V, [bigint]>
  /** Whether this object created the table (false when it attached to one). */
  readonly created: boolean
  /** A descriptor for `Counters.attach` in worker threads of this process. */
  share(): ShareDescriptor
  /** Releases this process's mapping; later calls throw `ERR_ATOMIC_DICT_CLOSED`. */
  close(): void
  /** `close()`, for `using`. */
  [Symbol.dispose](): void
  readonly [Symbol.toStringTag]: 'Counters'
}

export declare const Counters: {
  /** Counters named `names` in a new table (a memfd); see {@link counters}. */
  new <const Names extends readonly string[]>(names: Names, options?: undefined): Counters<Names[number], bigint>
  /** As above, values typed from `options` (inferred, as for `new AtomicDict`). */
  new <const Names extends readonly string[], const O extends CountersOptions | undefined>(
    names: Names,
    options: (O & OptionsCheck<O, ValueBitsOfOptions<O>, keyof CountersOptions>) | Extract<O, undefined>,
  ): Counters<Names[number], ValueOfOptions<O>>
  prototype: Counters<string, bigint | number>
  /**
   * The counters a parent shared as `name` (spawn/fork `share`, or
   * shareWithCluster). `expect.valueBits` and `expect.signed`, given or left
   * to their defaults (64, false), are checked against the table (else
   * `ERR_ATOMIC_DICT_GEOMETRY`) and type the values.
   */
  inherit<const Names extends readonly string[]>(name: string, names: Names, expect?: undefined): Counters<Names[number], bigint>
  inherit<const Names extends readonly string[], const E extends CountersExpect>(
    name: string,
    names: Names,
    expect: E,
  ): Counters<Names[number], ValueOfOptions<E>>
  /** The counters a `share()` descriptor names, in a worker thread of the same process; `expect` as for `inherit`. */
  attach<const Names extends readonly string[]>(descriptor: ShareDescriptor, names: Names, expect?: undefined): Counters<Names[number], bigint>
  attach<const Names extends readonly string[], const E extends CountersExpect>(
    descriptor: ShareDescriptor,
    names: Names,
    expect: E,
  ): Counters<Names[number], ValueOfOptions<E>>
  /**
   * The counters in the file at `path` (for pm2 and unrelated processes),
   * created when absent unless `create: false`. `valueBits` and `signed`,
   * given or left to their defaults (64, false), are checked against an
   * existing file (else `ERR_ATOMIC_DICT_GEOMETRY`) and type the values.
   */
  open<const Names extends readonly string[]>(path: string, names: Names, options?: undefined): Counters<Names[number], bigint>
  /** As above, values typed from `options` (inferred, as for `new AtomicDict`). */
  open<const Names extends readonly string[], const O extends CountersOpenOptions | undefined>(
    path: string,
    names: Names,
    options: (O & OptionsCheck<O, ValueBitsOfOptions<O>, keyof CountersOpenOptions>) | Extract<O, undefined>,
  ): Counters<Names[number], ValueOfOptions<O>>
  /** Removes a named counters file; processes that have it open keep it. */
  unlink(path: string): void
}

/**
 * Named counters in a new shared table:
 * `counters(['requests', 'errors', 'inFlight'], { signed: true })`.
 * Methods accept only those names; `snapshot()` is typed
 * `{ requests: bigint; errors: bigint; inFlight: bigint }`.
 */
export declare function counters<const Names extends readonly string[]>(names: Names, options?: undefined): Counters<Names[number], bigint>
/** As above, values typed from `options` itself: `{ valueBits: 32 }` makes them numbers. */
export declare function counters<const Names extends readonly string[], const O extends CountersOptions | undefined>(
  names: Names,
  options: (O & OptionsCheck<O, ValueBitsOfOptions<O>, keyof CountersOptions>) | Extract<O, undefined>,
): Counters<Names[number], ValueOfOptions<O>>

// ------------------------------------------------------------------ Latch, Semaphore

/** A dict a Latch can live in, with keys of parts `P`: values of either width. */
export type SyncTable<P extends KeyParts = AnyParts> = AtomicDict<bigint, P> | AtomicDict<number, P> | AtomicDict<bigint | number, P>

/** The dicts a Semaphore can live in: keys of one 64-bit part (or a shape not known statically: checked at run time). */
export type SemaphoreTable = SyncTable<[bigint]> | SyncTable<[bigint | string]> | SyncTable<AnyParts>

/**
 * A one-shot barrier across processes: `parties` arrivals open it. Its
 * state is the value of `key` in a shared dict (the arrivals so far), so
 * every process makes its own Latch over the same key.
 */
export interface Latch {
  /** Arrivals so far, in every process. */
  readonly arrived: number
  /** Arrivals still needed (0 once open). */
  readonly remaining: number
  /** Whether `parties` have arrived. */
  readonly isOpen: boolean
  /** Counts one arrival; the last wakes every waiter. Returns the arrivals still needed. */
  arrive(): number
  /** Blocks until open or `timeoutMs`; true when open. */
  wait(timeoutMs?: number): boolean
  /** As `wait`, without blocking; `options.signal` rejects it with an AbortError. */
  waitAsync(timeoutMs?: number, options?: WaitOptions): Promise<boolean>
  waitAsync(options: WaitOptions): Promise<boolean>
  /** `arrive()`, then `wait(timeoutMs)`. */
  arriveAndWait(timeoutMs?: number): boolean
  /** `arrive()`, then `waitAsync(timeoutMs, options)`. */
  arriveAndWaitAsync(timeoutMs?: number, options?: WaitOptions): Promise<boolean>
  arriveAndWaitAsync(options: WaitOptions): Promise<boolean>
  readonly [Symbol.toStringTag]: 'Latch'
}

/** The keys of table `T` as a Latch takes them (as `T`'s methods do). */
export type KeyOfTable<T> = T extends AtomicDict<infer _V, infer P> ? KeyIn<P> : never

export declare const Latch: {
  /** `key` is a key of `table`: a one-part key, or a tuple of the table's parts. */
  new <T extends SharedTable & { readonly [Symbol.toStringTag]: 'AtomicDict' }>(table: T, key: KeyOfTable<T>, parties: number): Latch
  prototype: Latch
}

/**
 * At most `permits` holders at once across every process sharing the
 * table. Its state is the value of `name` (permits held); each process
 * counts its own permits under `Semaphore.holderKey(name, pid)`, so that
 * `releaseHeldBy(pid)` can give back a dead process's permits.
 */
export declare class Semaphore {
  constructor(
    table: SemaphoreTable,
    name: string,
    permits: number,
  )
  /** The key under which process `pid` counts its permits of semaphore `name`. */
  static holderKey(name: string, pid: number): string
  /** Permits held now, by every process. */
  readonly held: number
  /** Permits this process holds. */
  readonly heldHere: number
  /** Takes a permit if one is free now; never waits. */
  tryAcquire(): boolean
  /**
   * Resolves to a permit once this caller holds one (`using permit = await
   * sem.acquire()` releases it at the end of the scope); `options.timeout`
   * rejects with `ERR_ATOMIC_DICT_TIMEOUT`, `options.signal` with an
   * AbortError, holding nothing.
   */
  acquire(options?: AcquireOptions): Promise<Permit>
  /** Acquires a permit, runs `fn`, releases the permit however `fn` ends; what `fn` returns. */
  run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<Awaited<T>>
  /** Blocks the thread until it holds a permit or `timeoutMs` passes; true when it holds one. */
  acquireSync(timeoutMs?: number): boolean
  /** Gives back a permit this process holds and wakes one waiter; throws if it holds none. */
  release(): void
  /** Gives back every permit of process `pid`, which must be dead; returns how many. */
  releaseHeldBy(pid: number): number
  readonly [Symbol.toStringTag]: 'Semaphore'
}

/** A permit `Semaphore#acquire` took (not constructible by users). */
export interface Permit {
  /** Gives the permit back (`Semaphore#release`): true the first time, false (doing nothing) after. */
  release(): boolean
  /** Whether it has been given back. */
  readonly released: boolean
  /** `release()`. */
  [Symbol.dispose](): void
  readonly [Symbol.toStringTag]: 'Permit'
}

// ------------------------------------------------------------------ processes

/** Tables to hand to child processes, by the name they `inherit` them under. */
export type SharedTables = Record<string, { share(): ShareDescriptor; readonly [Symbol.toStringTag]: 'AtomicDict' | 'AtomicSet' | 'Counters' }>

/** `options.share` of `spawn` and `fork`. */
export interface ShareOption {
  share?: SharedTables
}

/**
 * `child_process.spawn`, plus `options.share`: tables the child can
 * `inherit`. Args left out, `undefined` or `null` are no arguments, as in
 * Node. Without a stdio option that makes a stream null, the child's
 * stdin, stdout and stderr are streams.
 */
export declare function spawn(command: string, options?: SpawnOptionsWithoutStdio & ShareOption): ChildProcessWithoutNullStreams
export declare function spawn(command: string, options: SpawnOptions & ShareOption): ChildProcess
export declare function spawn(
  command: string,
  args?: readonly string[] | null,
  options?: SpawnOptionsWithoutStdio & ShareOption,
): ChildProcessWithoutNullStreams
export declare function spawn(command: string, args: readonly string[] | null | undefined, options: SpawnOptions & ShareOption): ChildProcess

/** `child_process.fork`, plus `options.share`: tables the child can `inherit`. */
export declare function fork(modulePath: string | URL, options?: ForkOptions & ShareOption): ChildProcess
export declare function fork(
  modulePath: string | URL,
  args?: readonly string[] | null,
  options?: ForkOptions & ShareOption,
): ChildProcess

/** The options of `shareOptions`. */
export interface ShareOptions {
  /** Your stdio (default: as spawn's, or fork's with `ipc`); the tables' descriptors go after it. */
  stdio?: StdioOptions
  /** Your env (default `process.env`), copied with `ATOMIC_DICT_SHARED` added. */
  env?: NodeJS.ProcessEnv | null
  /** As fork's: with `ipc` and no `stdio`, pipe rather than inherit. */
  silent?: boolean
  /** Add an 'ipc' entry to stdio if it has none (fork, cluster.setupPrimary). */
  ipc?: boolean
}

/**
 * `{ stdio, env }` that hand `tables` to a child started with them:
 * child_process.spawn/fork, cluster.setupPrimary({ stdio }) +
 * cluster.fork(env), execa, anything taking stdio and env.
 */
export declare function shareOptions(
  tables: SharedTables,
  options?: ShareOptions,
): { stdio: Extract<StdioOptions, readonly unknown[]>; env: NodeJS.ProcessEnv }

/**
 * In the cluster primary, before `cluster.fork()`: every worker forked from
 * then on can `inherit(name)` these tables.
 */
export declare function shareWithCluster(tables: SharedTables): void

/** What `waitPoolStats()` reports about this thread's waits (docs/WAITING.md). */
export interface WaitPoolStats {
  /** Pending `waitAsync` calls of this thread. */
  pending: number
  /** Of those, the ones the native pool holds. */
  native: number
  /** The native pool's threads (the fallback backend's waiter threads). */
  threads: number
  /** The backend in use, `null` until the first `waitAsync` starts the pool. */
  backend: 'io_uring' | 'threads' | null
  /** Why the pool fell back to threads, when it did. */
  fallbackReason: string | null
}

/** This thread's `waitAsync` pool: pending waits, threads and the backend in use (for diagnostics). */
export declare function waitPoolStats(): WaitPoolStats
