// Type definitions for atomic-dict/redis: the tables of atomic-dict kept in
// Redis or Redis Cluster, every operation awaited (docs/REDIS.md).
/// <reference types="node" />
import type {
  AtomicDict,
  Counters,
  DictOptions,
  KeyOptions,
  StringOptions,
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
import type { MetricsStore } from './metrics'

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
  /** `false`: the pending wait does not keep the process alive (default true). */
  ref?: boolean
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
  waitAsync(key: KeyIn<P>, expected: ValueIn<V>, timeoutMs?: number, options?: RedisWaitOptions): Promise<WaitResult>
  /**
   * Wakes the waiters on the key in every process (after this object's
   * earlier changes reached Redis); with `count`, each process wakes at
   * most `count` of its waiters. Resolves with the number of subscriber
   * connections that received it (processes waiting on this table), not a
   * number of waiters.
   */
  notify(key: KeyIn<P>, count?: number): Promise<number>
  /** Bulk: the values of `keys` (one HMGET), `undefined` for absent keys; never inserts. */
  getMany(keys: readonly KeyIn<P>[]): Promise<(V | undefined)[]>
  /** Bulk: the values of `keys`, 0 for absent keys; never inserts. */
  loadMany(keys: readonly KeyIn<P>[]): Promise<V[]>
  /**
   * Bulk: adds `deltas[i]` (or `deltas`, for every key) to each key, in
   * order, in one atomic step; resolves with the values before. A table
   * without room rejects ERR_ATOMIC_DICT_FULL with no value changed (keys
   * before the one that did not fit may have been inserted, as locally).
   */
  addMany(keys: readonly KeyIn<P>[], deltas: readonly ValueIn<V>[] | ValueIn<V>): Promise<V[]>
  /** Bulk: stores `values[i]` (or `values`, for every key) in each key, in one atomic step. */
  storeMany(keys: readonly KeyIn<P>[], values: readonly ValueIn<V>[] | ValueIn<V>): Promise<void>
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

/** Options of a RedisSet: AtomicSet's, and the capacity (required). */
export interface RedisSetOptions extends KeyOptions, StringOptions {
  /** Keys guaranteed to fit; inserting past it rejects with ERR_ATOMIC_DICT_FULL. */
  capacity: number
}

/** AtomicSet's operations on a set kept in Redis, awaited. */
export interface RedisSet<P extends KeyParts = [bigint]> {
  /** Inserts the key; resolves true when this call inserted it. */
  add(key: KeyIn<P>): Promise<boolean>
  /** Bulk add, in one atomic step: for each key, whether this call inserted it. */
  addMany(keys: readonly KeyIn<P>[]): Promise<boolean[]>
  has(key: KeyIn<P>): Promise<boolean>
  /** Keys in the set, exact (one HLEN). */
  size(): Promise<number>
  readonly capacity: number
  readonly name: string
  readonly options: { capacity: number; k64: number; k32: number; strings: number }
  /** Live iteration (HSCAN); each key once. */
  values(): AsyncGenerator<KeyOut<P>, void, undefined>
  keys(): AsyncGenerator<KeyOut<P>, void, undefined>
  entries(): AsyncGenerator<[KeyOut<P>, KeyOut<P>], void, undefined>
  forEach(callback: (value: KeyOut<P>, key: KeyOut<P>, set: this) => unknown, thisArg?: unknown): Promise<void>
  [Symbol.asyncIterator](): AsyncGenerator<KeyOut<P>, void, undefined>
  ready(): Promise<void>
  retry(err: unknown): Promise<unknown>
  readonly [Symbol.toStringTag]: 'RedisSet'
}

export declare const RedisSet: {
  /** A set of the shape `options` says, kept in Redis under `name`. */
  new <const O extends RedisSetOptions>(
    client: RedisClient,
    name: string,
    options: O & OptionsCheck<O, 0, keyof RedisSetOptions>,
  ): RedisSet<PartsOfOptions<O, 0>>
  prototype: RedisSet<KeyParts>
}

/** Options of RedisCounters. */
export interface RedisCountersOptions<B extends ValueBits = ValueBits> {
  /** Room for names (default max(names.length, 256)); part of the table's shape: every client must agree. */
  capacity?: number
  valueBits?: B
  signed?: boolean
}

/** Counters' operations on named counters kept in Redis, awaited. */
export interface RedisCounters<N extends string = string, V extends bigint | number = bigint> {
  add(name: N, delta?: ValueIn<V>): Promise<V>
  sub(name: N, delta?: ValueIn<V>): Promise<V>
  get(name: N): Promise<V>
  /** Stores `value`; resolves with these counters. */
  set(name: N, value: ValueIn<V>): Promise<this>
  swap(name: N, value: ValueIn<V>): Promise<V>
  cas(name: N, expected: ValueIn<V>, desired: ValueIn<V>): Promise<V>
  /** Every counter, read at one instant (one HMGET). */
  snapshot(): Promise<{ [K in N]: V }>
  /** Sets every counter to 0 in one atomic step; resolves with the values just before. */
  reset(): Promise<{ [K in N]: V }>
  /** `[name, value]` pairs, in the order of `names` (one HMGET). */
  entries(): Promise<Array<[N, V]>>
  values(): Promise<V[]>
  /** The names, in the order of `names` (a new array; no round trip). */
  keys(): N[]
  has(name: string): name is N
  readonly size: number
  readonly names: readonly N[]
  readonly name: string
  readonly options: { capacity: number; valueBits: ValueBits; signed: boolean }
  /** The RedisDict underneath (string keys: the names). */
  readonly table: RedisDict<V, [bigint | number | string]>
  waitAsync(name: N, expected: ValueIn<V>, options?: RedisWaitOptions): Promise<WaitResult>
  waitAsync(name: N, expected: ValueIn<V>, timeoutMs?: number, options?: RedisWaitOptions): Promise<WaitResult>
  notify(name: N, count?: number): Promise<number>
  forEach(callback: (value: V, name: N, counters: this) => unknown, thisArg?: unknown): Promise<void>
  [Symbol.asyncIterator](): AsyncGenerator<[N, V], void, undefined>
  /** What the local `toJSON()` gives: `{ name: value }`, 64-bit values as decimal strings. */
  json(): Promise<{ [K in N]: V extends bigint ? string : number }>
  /** For JSON.stringify, which cannot wait: `{ name, names }`, no values (use `json()`). */
  toJSON(): { name: string; names: N[] }
  ready(): Promise<void>
  retry(err: unknown): Promise<unknown>
  readonly [Symbol.toStringTag]: 'RedisCounters'
}

export declare const RedisCounters: {
  new <const Names extends readonly string[]>(client: RedisClient, name: string, names: Names, options?: undefined): RedisCounters<Names[number], bigint>
  new <const Names extends readonly string[], const O extends RedisCountersOptions>(
    client: RedisClient,
    name: string,
    names: Names,
    options: O & { [K in Exclude<keyof O, keyof RedisCountersOptions>]: never },
  ): RedisCounters<Names[number], ValueOfOptions<O>>
  prototype: RedisCounters<string, bigint | number>
}

/** Options of `syncToRedis`. */
export interface SyncOptions {
  /** Milliseconds between flushes (and refreshes of `totals`); default 100. */
  interval?: number
  /** The host's sync state file; default `<path>.sync` beside a table opened by path (required otherwise). */
  state?: string
  /** The longest wait between failed flushes (exponential backoff with jitter), in ms; default max(5000, interval). */
  maxBackoff?: number
  /** Milliseconds a batch may go without a reply before the flush counts as failed (it is re-sent later under the same number); default 10000. */
  timeout?: number
  /** Whether the sync's timers keep the process alive; default false. */
  ref?: boolean
  /** false: this process never becomes the host's flusher; default true. */
  flush?: boolean
  /** Capacity of the `totals` table; default the synced table's. */
  totalsCapacity?: number
}

/** What a flush did. */
export interface SyncFlushResult {
  /** 'applied'; 'duplicate' (Redis had applied it: a re-send); 'gap' (applied, but Redis had lost earlier batches); 'idle' (nothing changed); 'not-flusher' (another process holds the host's lease). */
  outcome: 'applied' | 'duplicate' | 'gap' | 'idle' | 'not-flusher'
  /** The number of the host's last batch. */
  seq: number
  /** Keys sent. */
  keys: number
}

/** A host's sync state, as every process of it sees it. */
export interface SyncStats {
  name: string
  /** The state file. */
  state: string
  /** The host's id (16 hex digits). */
  host: string
  /** The host's last batch Redis acknowledged. */
  seq: number
  /** The batch staged and not yet acknowledged (0: none). */
  pendingSeq: number
  /** Keys with changes Redis has not acknowledged, as of the last scan. */
  pending: number
  /** Milliseconds since the oldest change Redis has not acknowledged was seen (0: none). */
  lag: number
  /** Whether this process is the host's flusher. */
  flusher: boolean
  /** The process that took the host's lease last (it may have died since). */
  flusherPid: number
  batches: number
  keys: number
  duplicates: number
  gaps: number
  conflicts: number
  /** Flushes that failed in a row. */
  failures: number
  /** The code of the last flush's error, or null after one that worked. */
  lastError: string | null
  /** When Redis last acknowledged a batch (ms since the epoch), or null. */
  lastFlushAt: number | null
  /** The code of the last refresh of `totals` that failed, or null. */
  totalsError: string | null
}

/**
 * A shared-memory table synced to Redis (docs/SYNC.md): `K` is what its
 * keys take, `P` the key parts of its totals.
 */
export interface Sync<K = KeyIn<[bigint]>, P extends KeyParts = [bigint]> {
  /** Whether this process holds the host's lease (it is the one that flushes). */
  readonly flusher: boolean
  /** Flushes now if this process is (or can become) the flusher, until nothing changed before the call is left. Rejects when Redis fails (the changes stay). */
  flush(): Promise<SyncFlushResult>
  /** The total of `key` over every host, as Redis has it. */
  total(key: K): Promise<bigint>
  /** This process's table of the totals, refreshed every interval once read (read it, do not write it). */
  readonly totals: AtomicDict<bigint, P>
  /** Milliseconds since the oldest change Redis has not acknowledged was seen (0: none waits). */
  readonly lag: number
  /** Keys with changes Redis has not acknowledged, as of the flusher's last scan. */
  readonly pending: number
  /** The last error this process's flushes met, or null. */
  readonly lastError: Error | null
  /** The Redis table of the totals (64-bit values). */
  readonly redis: RedisDict<bigint, P>
  stats(): SyncStats
  /** Registers lag, pending keys, batches, keys, failures and the flusher flag in a prom-client registry. */
  collectMetrics(options: { register: { registerMetric(metric: never): void }; prefix?: string }): object[]
  /** Stops syncing here; the flusher flushes first, rejecting with ERR_ATOMIC_DICT_SYNC_UNDELIVERED when it cannot (the changes stay for the next process). */
  close(): Promise<void>
  /** `using`: close() without waiting (an undelivered change stays in the state file). */
  [Symbol.dispose](): void
  /** `await using`: close(), its rejection passed on. */
  [Symbol.asyncDispose](): Promise<void>
  readonly [Symbol.toStringTag]: 'Sync'
}

/**
 * Syncs a shared-memory table to the Redis table `name`: every process of
 * a host calls it; one of them sends the changes (add and sub only) every
 * interval, each counted in Redis exactly once.
 */
export declare function syncToRedis<V extends bigint | number, P extends KeyParts>(
  table: AtomicDict<V, P>,
  client: RedisClient,
  name: string,
  options?: SyncOptions,
): Sync<KeyIn<P>, P>
export declare function syncToRedis<N extends string, V extends bigint | number>(
  table: Counters<N, V>,
  client: RedisClient,
  name: string,
  options?: SyncOptions,
): Sync<N, [bigint]>
/**
 * Syncs a metrics store's counters and histograms (not its gauges) to the
 * Redis name `name`, where every host's add up; `metrics()` reads the
 * global totals as a Prometheus exposition. reset(), remove() and zero() of
 * its counters and histograms throw ERR_ATOMIC_DICT_NOT_COMMUTATIVE while
 * it syncs.
 */
export declare function syncToRedis(store: MetricsStore, client: RedisClient, name: string, options?: SyncOptions): MetricsSync

/** The sync of a MetricsStore (docs/SYNC.md, "Metrics"). */
export interface MetricsSync extends Sync<never, [bigint, number]> {
  /** The global totals of every host's counters and histograms, as of their last flushes: a Prometheus text exposition (format 0.0.4). */
  metrics(): Promise<string>
}

/**
 * The global totals of the metrics stores synced to the Redis name `name`,
 * as a Prometheus text exposition: counters and histograms with their
 * labels, HELP and TYPE lines. A metric hosts declare differently (another
 * type, other buckets) is left out, with a comment line saying why.
 */
export declare function readSyncedMetrics(client: RedisClient, name: string): Promise<string>

/** Every host that has flushed to `name`: its last applied batch and when (ms since the epoch). */
export declare function syncStatus(client: RedisClient, name: string): Promise<{ host: string; seq: number; at: number | null }[]>
