// Type definitions for atomic-dict.
/// <reference types="node" />
import type { ChildProcess, ForkOptions, SpawnOptions } from 'node:child_process'

/** A key part: a bigint, or a non-negative safe-integer number. Never 0. */
export type KeyPart = bigint | number

/**
 * A key as you pass it: a bare part for one-part keys, or an array of
 * `k64 + k32` parts (64-bit parts first, then 32-bit parts).
 */
export type Key = KeyPart | readonly KeyPart[]

/**
 * A key as iteration hands it back: a one-part key bare, a composite key as
 * an array; 64-bit parts are bigints, 32-bit parts numbers.
 */
export type KeyOut = bigint | number | Array<bigint | number>

/** A value as you pass it: a bigint or a safe integer, in [-2^(bits-1), 2^bits). */
export type ValueIn = bigint | number

export interface KeyOptions {
  /** 64-bit key parts (default 1). */
  k64?: number
  /** 32-bit key parts (default 0). */
  k32?: number
}

export interface DictOptions extends KeyOptions {
  /** Value width: 64 (values are bigints, the default) or 32 (values are numbers). */
  valueBits?: 32 | 64
  /** Read values as two's complement signed integers (default false). */
  signed?: boolean
}

/** Options of `AtomicDict.open`: given ones must match an existing table. */
export interface OpenOptions extends DictOptions {
  /** Keys guaranteed to fit; needed to create the file. */
  capacity?: number
  /** Create the file when it does not exist (default true). */
  create?: boolean
  /** Permission bits of a new file (default 0o600), applied exactly. */
  mode?: number
  /** Open (or create) a file another user owns or group/others may write (default false). */
  allowInsecure?: boolean
}

/** Options of `AtomicSet.open`. */
export interface OpenSetOptions extends KeyOptions {
  capacity?: number
  create?: boolean
  mode?: number
  allowInsecure?: boolean
}

/**
 * What `table.share()` returns: plain data (structured-clonable) that
 * `AtomicDict.attach` / `AtomicSet.attach` accept in a worker thread of the
 * same process.
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
  ok: boolean
  /** The header's entry count (what `size` reports). */
  entries: number
  /** The header's admission counter (rows claimed or being claimed). */
  reserved: number
  /** Rows holding a complete key. */
  completeRows: number
  /** Rows whose key is incomplete: an insert in flight, or an inserter that died mid-way. */
  partialRows: number
  /** Keys complete in more than one row. */
  duplicateKeys: number
  /** Keys a lookup from their home block does not reach. */
  unreachableKeys: number
  /** A description of each violation (at most 20). */
  problems: string[]
}

/** Members common to both kinds of table: sharing and lifetime. */
export interface SharedTable {
  /** Audits every row against the table's invariants (for a table nobody is inserting into). */
  verify(): VerifyReport
  /**
   * Recounts `size` and the admission counter from the rows, for a table
   * nobody is changing (e.g. after its processes were killed); returns the
   * audit from before.
   */
  repairCounts(): VerifyReport
  /** A descriptor for `attach` in worker threads of this process. */
  share(): ShareDescriptor
  /** Releases this process's mapping; later calls throw `ERR_ATOMIC_DICT_CLOSED`. */
  close(): void
  /** Whether this object created the table (false when it attached to one). */
  readonly created: boolean
}

/** Thrown when an insert would exceed the table's capacity. */
export declare class AtomicDictFullError extends Error {
  readonly code: 'ERR_ATOMIC_DICT_FULL'
  readonly capacity: number
}

/**
 * A handle bound to one key's value (`dict.slot(key)`): the same operations
 * without the key, straight on the key's row. Every read-modify-write returns
 * the value before it.
 */
export interface AtomicValue<V extends bigint | number = bigint> {
  load(): V
  store(value: ValueIn): void
  add(delta: ValueIn): V
  sub(delta: ValueIn): V
  and(value: ValueIn): V
  or(value: ValueIn): V
  xor(value: ValueIn): V
  swap(value: ValueIn): V
  /** Stores `desired` if the value is `expected`; returns the value before. */
  cas(expected: ValueIn, desired: ValueIn): V
  /** Alias of `and`. */
  band(value: ValueIn): V
  /** Alias of `or`. */
  bor(value: ValueIn): V
  /** Alias of `xor`. */
  bxor(value: ValueIn): V
  /** Alias of `swap` (as `Atomics.exchange`). */
  exchange(value: ValueIn): V
  /** Alias of `cas` (as `Atomics.compareExchange`). */
  compareExchange(expected: ValueIn, desired: ValueIn): V
  readonly [Symbol.toStringTag]: 'AtomicValue'
}

export declare const AtomicValue: {
  prototype: AtomicValue<bigint | number>
}

/**
 * A lock-free `Map<u64, u64>` in shared memory. `V` is `bigint` for 64-bit
 * values and `number` for 32-bit values; `K` is how keys come back from
 * iteration.
 */
export interface AtomicDict<V extends bigint | number = bigint, K extends KeyOut = bigint> extends SharedTable {
  /** Adds; returns the value before. Inserts the key when absent. */
  add(key: Key, delta: ValueIn): V
  /** Subtracts (wrapping); returns the value before. Inserts the key when absent. */
  sub(key: Key, delta: ValueIn): V
  /** Bitwise and; returns the value before. Inserts the key when absent. */
  and(key: Key, value: ValueIn): V
  /** Bitwise or; returns the value before. Inserts the key when absent. */
  or(key: Key, value: ValueIn): V
  /** Bitwise xor; returns the value before. Inserts the key when absent. */
  xor(key: Key, value: ValueIn): V
  /** Stores `value`; returns the value before. Inserts the key when absent. */
  swap(key: Key, value: ValueIn): V
  /** Stores `desired` if the value is `expected`; returns the value before. Inserts the key when absent. */
  cas(key: Key, expected: ValueIn, desired: ValueIn): V
  /** Alias of `and` (the Python seed's name). */
  band(key: Key, value: ValueIn): V
  /** Alias of `or` (the Python seed's name). */
  bor(key: Key, value: ValueIn): V
  /** Alias of `xor` (the Python seed's name). */
  bxor(key: Key, value: ValueIn): V
  /** Alias of `swap` (as `Atomics.exchange`). */
  exchange(key: Key, value: ValueIn): V
  /** Alias of `cas` (as `Atomics.compareExchange`). */
  compareExchange(key: Key, expected: ValueIn, desired: ValueIn): V
  /** Stores `value`, inserting the key when absent. */
  store(key: Key, value: ValueIn): void
  /** The value, or 0 when the key is absent (does not insert it). */
  load(key: Key): V
  /** The value, or `undefined` when the key is absent (never inserts). */
  get(key: Key): V | undefined
  /** Whether the key is in the table. */
  has(key: Key): boolean
  /** Stores `value` (inserting the key when absent); returns this dict. */
  set(key: Key, value: ValueIn): this
  /** A handle on the key's value, inserting the key when absent. */
  slot(key: Key): AtomicValue<V>
  /** Keys in the table, exact, O(1). */
  readonly size: number
  /** Keys guaranteed to fit. */
  readonly capacity: number
  /** The table's shape. */
  readonly options: { capacity: number; k64: number; k32: number; valueBits: 32 | 64; signed: boolean }
  /** Live iteration (not a snapshot) over keys and values. */
  entries(): IterableIterator<[K, V]>
  /** Live iteration over keys. */
  keys(): IterableIterator<K>
  /** Live iteration over values. */
  values(): IterableIterator<V>
  forEach(callback: (value: V, key: K, dict: this) => void, thisArg?: unknown): void
  [Symbol.iterator](): IterableIterator<[K, V]>
  readonly [Symbol.toStringTag]: 'AtomicDict'
}

export declare const AtomicDict: {
  /** One 64-bit key part, 64-bit values (bigints). */
  new (capacity: number, options?: { valueBits?: 64; signed?: boolean }): AtomicDict<bigint, bigint>
  /** One 64-bit key part, 32-bit values (numbers). */
  new (capacity: number, options: { valueBits: 32; signed?: boolean }): AtomicDict<number, bigint>
  /** Any key shape, 64-bit values (bigints). */
  new (capacity: number, options: DictOptions & { valueBits?: 64 }): AtomicDict<bigint, KeyOut>
  /** Any key shape, 32-bit values (numbers). */
  new (capacity: number, options: DictOptions & { valueBits: 32 }): AtomicDict<number, KeyOut>
  prototype: AtomicDict<bigint | number, KeyOut>
  /**
   * The table a parent shared as `name` (the `share` option of `spawn`/`fork`,
   * or `shareWithCluster`). Its shape comes from the parent: say it with the
   * type parameters.
   */
  inherit<V extends bigint | number = bigint, K extends KeyOut = bigint>(name: string): AtomicDict<V, K>
  /** The table a `share()` descriptor names, in a worker thread of the same process. */
  attach<V extends bigint | number = bigint, K extends KeyOut = bigint>(descriptor: ShareDescriptor): AtomicDict<V, K>
  /** The table in the file at `path` (created when absent unless `create: false`). */
  open(path: string, options?: OpenOptions & { k64?: 1; k32?: 0; valueBits?: 64 }): AtomicDict<bigint, bigint>
  open(path: string, options: OpenOptions & { k64?: 1; k32?: 0; valueBits: 32 }): AtomicDict<number, bigint>
  open(path: string, options: OpenOptions & { valueBits?: 64 }): AtomicDict<bigint, KeyOut>
  open(path: string, options: OpenOptions & { valueBits: 32 }): AtomicDict<number, KeyOut>
  /** Removes a named table's file; processes that have it open keep their mapping. */
  unlink(path: string): void
}

/** A lock-free set of keys in shared memory. */
export interface AtomicSet<K extends KeyOut = bigint> extends SharedTable {
  /** Inserts the key; `true` only for the call (in any process) that inserted it. */
  add(key: Key): boolean
  has(key: Key): boolean
  /** Keys in the set, exact, O(1). */
  readonly size: number
  /** Keys guaranteed to fit. */
  readonly capacity: number
  /** The set's shape. */
  readonly options: { capacity: number; k64: number; k32: number }
  /** Live iteration over keys. */
  keys(): IterableIterator<K>
  values(): IterableIterator<K>
  entries(): IterableIterator<[K, K]>
  forEach(callback: (value: K, key: K, set: this) => void, thisArg?: unknown): void
  [Symbol.iterator](): IterableIterator<K>
  readonly [Symbol.toStringTag]: 'AtomicSet'
}

export declare const AtomicSet: {
  /** One 64-bit key part. */
  new (capacity: number, options?: Record<string, never>): AtomicSet<bigint>
  /** Any key shape. */
  new (capacity: number, options: KeyOptions): AtomicSet<KeyOut>
  prototype: AtomicSet<KeyOut>
  /** The set a parent shared as `name`. */
  inherit<K extends KeyOut = bigint>(name: string): AtomicSet<K>
  /** The set a `share()` descriptor names, in a worker thread of the same process. */
  attach<K extends KeyOut = bigint>(descriptor: ShareDescriptor): AtomicSet<K>
  /** The set in the file at `path` (created when absent unless `create: false`). */
  open<K extends KeyOut = bigint>(path: string, options?: OpenSetOptions): AtomicSet<K>
  /** Removes a named table's file. */
  unlink(path: string): void
}

/** Tables to hand to child processes, by the name they `inherit` them under. */
export type SharedTables = Record<string, AtomicDict<any, any> | AtomicSet<any>>

/** `child_process.spawn`, plus `options.share`. */
export declare function spawn(command: string, options?: SpawnOptions & { share?: SharedTables }): ChildProcess
export declare function spawn(
  command: string,
  args: readonly string[],
  options?: SpawnOptions & { share?: SharedTables },
): ChildProcess

/** `child_process.fork`, plus `options.share`. */
export declare function fork(modulePath: string | URL, options?: ForkOptions & { share?: SharedTables }): ChildProcess
export declare function fork(
  modulePath: string | URL,
  args: readonly string[],
  options?: ForkOptions & { share?: SharedTables },
): ChildProcess

/**
 * In the cluster primary, before `cluster.fork()`: every worker forked from
 * then on can `inherit(name)` these tables.
 */
export declare function shareWithCluster(tables: SharedTables): void
