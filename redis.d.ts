// Type definitions for atomic-dict/redis: the tables of atomic-dict kept in
// Redis or Redis Cluster, every operation awaited (docs/REDIS.md).
/// <reference types="node" />
import type {
  DictOptions,
  KeyIn,
  KeyOut,
  KeyParts,
  OptionsCheck,
  PartsOfOptions,
  ValueBits,
  ValueBitsOfOptions,
  ValueIn,
  ValueOfOptions,
  WaitResult,
} from './index'

/**
 * What atomic-dict needs of an ioredis client: `Redis` and `Cluster`
 * (ioredis 5 or 6) both fit. Written out so that this package does not
 * depend on ioredis' types.
 */
export interface IoredisClient {
  evalsha: (...args: never[]) => unknown
  eval: (...args: never[]) => unknown
  call: (...args: never[]) => unknown
  duplicate: (...args: never[]) => unknown
}

/** A node-redis client or cluster wrapped by {@link fromNodeRedis}. */
export interface NodeRedisAdapter {
  readonly cluster: boolean
}

/** A client a Redis table accepts. */
export type RedisClient = IoredisClient | NodeRedisAdapter

/**
 * Wraps a node-redis (`redis` v4/v5) client of `createClient()` or cluster
 * of `createCluster()`, connected, for RedisDict and the other tables.
 */
export declare function fromNodeRedis(client: { sendCommand: (...args: never[]) => unknown; duplicate: (...args: never[]) => unknown }): NodeRedisAdapter

/** Options of a Redis table: the local ones, and the capacity (required). */
export interface RedisDictOptions<B extends ValueBits = ValueBits> extends DictOptions<B> {
  /** Keys guaranteed to fit; inserting past it rejects with ERR_ATOMIC_DICT_FULL (checked in Redis, atomically). */
  capacity: number
}

/** Options of `waitAsync` on a Redis table. */
export interface RedisWaitOptions {
  /** Milliseconds before it resolves `'timed-out'` (default: none). */
  timeout?: number
  /** Aborting it rejects the wait with an AbortError (`code: 'ABORT_ERR'`). */
  signal?: AbortSignal
}

/**
 * AtomicDict's operations on a table kept in Redis: each one is one atomic
 * step in Redis (a Lua script) and returns a Promise. Values are exact (64
 * bits, wrapping as locally), keys and values are checked as locally (a bad
 * one rejects before any round trip), and a read-modify-write is applied
 * exactly once even when its reply is lost and the client sends it again.
 */
export interface RedisDict<V extends bigint | number = bigint, P extends KeyParts = [bigint]> {
  /** Adds (wrapping); resolves with the value before. Inserts the key when absent. */
  add(key: KeyIn<P>, delta?: ValueIn<V>): Promise<V>
  /** Subtracts (wrapping); resolves with the value before. */
  sub(key: KeyIn<P>, delta?: ValueIn<V>): Promise<V>
  /** Bitwise and; resolves with the value before. */
  and(key: KeyIn<P>, value: ValueIn<V>): Promise<V>
  /** Bitwise or; resolves with the value before. */
  or(key: KeyIn<P>, value: ValueIn<V>): Promise<V>
  /** Bitwise xor; resolves with the value before. */
  xor(key: KeyIn<P>, value: ValueIn<V>): Promise<V>
  /** Stores `value`; resolves with the value before. */
  swap(key: KeyIn<P>, value: ValueIn<V>): Promise<V>
  /** Stores `desired` if the value is `expected`; resolves with the value before (an absent key is inserted as 0 either way). */
  cas(key: KeyIn<P>, expected: ValueIn<V>, desired: ValueIn<V>): Promise<V>
  /** Stores `value`, inserting the key when absent. */
  store(key: KeyIn<P>, value: ValueIn<V>): Promise<void>
  /** Stores `value`; resolves with this dict. */
  set(key: KeyIn<P>, value: ValueIn<V>): Promise<this>
  /** The value, or 0 when the key is absent (never inserts). */
  load(key: KeyIn<P>): Promise<V>
  /** The value, or `undefined` when the key is absent (never inserts). */
  get(key: KeyIn<P>): Promise<V | undefined>
  /** Whether the key is in the table. */
  has(key: KeyIn<P>): Promise<boolean>
  /** Keys in the table, exact (one HLEN). Locally a getter. */
  size(): Promise<number>
  /** Keys guaranteed to fit (no round trip). */
  readonly capacity: number
  /** The table's name (its Redis keys are `{name}:d`, `{name}:meta`, ...). */
  readonly name: string
  /** The table's shape. */
  readonly options: { capacity: number; k64: number; k32: number; valueBits: ValueBits; signed: boolean; strings: number }
  /** Live iteration (HSCAN) over keys and values; each key once. */
  entries(): AsyncGenerator<[KeyOut<P>, V], void, undefined>
  keys(): AsyncGenerator<KeyOut<P>, void, undefined>
  values(): AsyncGenerator<V, void, undefined>
  /** Calls (and awaits) `callback(value, key, dict)` for each entry. */
  forEach(callback: (value: V, key: KeyOut<P>, dict: this) => unknown, thisArg?: unknown): Promise<void>
  [Symbol.asyncIterator](): AsyncGenerator<[KeyOut<P>, V], void, undefined>
  /**
   * Resolves `'not-equal'` when the key's value is not `expected`, else
   * waits for a `notify` on the key from any process on any host (Redis
   * pub/sub), or the timeout. The subscription is in place before the
   * value is read, so a change and notify made meanwhile is not missed.
   */
  waitAsync(key: KeyIn<P>, expected: ValueIn<V>, options?: RedisWaitOptions): Promise<WaitResult>
  /** Wakes the waiters on the key in every process; resolves with the number of subscribed connections that received it. */
  notify(key: KeyIn<P>): Promise<number>
  /** Makes the table's metadata in Redis, or checks it matches (every operation waits for it). */
  ready(): Promise<void>
  /**
   * Settles an operation of this table that rejected with
   * ERR_ATOMIC_DICT_CONNECTION_LOST, exactly once: resolves with its first
   * answer when Redis had applied it, else applies it now.
   */
  retry(err: unknown): Promise<unknown>
  readonly [Symbol.toStringTag]: 'RedisDict'
}

export declare const RedisDict: {
  /** A table of the shape `options` says, kept in Redis under `name`; typed from the options object as `new AtomicDict` is. */
  new <const O extends RedisDictOptions>(
    client: RedisClient,
    name: string,
    options: O & OptionsCheck<O, ValueBitsOfOptions<O>, keyof RedisDictOptions>,
  ): RedisDict<ValueOfOptions<O>, PartsOfOptions<O>>
  prototype: RedisDict<bigint | number, KeyParts>
}
