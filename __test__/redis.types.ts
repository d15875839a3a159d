// Type tests of atomic-dict/redis (npm run test:types, against the packed
// package): ioredis' Redis and Cluster are accepted as they are, tables are
// typed from their options object as locally, and every operation is a
// Promise of the local result type. Each @ts-expect-error line must fail to
// compile.
import type { Redis, Cluster } from 'ioredis'
import { AtomicDict, Counters } from 'atomic-dict'
import { RedisDict, RedisSet, RedisCounters, fromNodeRedis, syncToRedis, syncStatus, readSyncedMetrics } from 'atomic-dict/redis'
import type { Sync, MetricsSync } from 'atomic-dict/redis'
import { MetricsStore } from 'atomic-dict/metrics'
import type { KeyIn } from 'atomic-dict'

/** true only when A and B are the same type (not merely assignable). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const same = <A, B>(ok: Same<A, B>) => ok
/** The key parts of a local table: a Redis table of the same options must have them. */
type PartsOf<T> = T extends AtomicDict<infer _V, infer P> ? P : never

declare const redis: Redis
declare const cluster: Cluster

async function dicts() {
  const hits = new RedisDict(redis, 'hits', { capacity: 1000 })
  same<typeof hits, RedisDict<bigint, [bigint]>>(true)
  same<Awaited<ReturnType<typeof hits.add>>, bigint>(true)
  const before: bigint = await hits.add(1n, 1n)
  await hits.add('job:7')
  const v: bigint | undefined = await hits.get(1)
  const n: number = await hits.size()
  same<Awaited<ReturnType<typeof hits.store>>, void>(true)
  for await (const [key, value] of hits) {
    const k: bigint = key
    const x: bigint = value
    void k
    void x
  }
  // @ts-expect-error values are bigints, not strings
  await hits.add(1n, '1')
  // @ts-expect-error size is a method here (it needs a round trip)
  const s: number = hits.size
  void s

  const small = new RedisDict(cluster, 'small', { capacity: 10, valueBits: 32, signed: true, k64: 1, k32: 1 })
  const local = new AtomicDict(10, { valueBits: 32, signed: true, k64: 1, k32: 1 })
  same<typeof small, RedisDict<number, PartsOf<typeof local>>>(true)
  const w: number = await small.sub([1n, 2], 3)
  const r = await small.waitAsync([1n, 2], 0, { timeout: 10 })
  same<typeof r, 'ok' | 'not-equal' | 'timed-out'>(true)
  const woke: number = await small.notify([1n, 2])

  // @ts-expect-error capacity is required
  new RedisDict(redis, 'x', {})
  // @ts-expect-error an unknown option
  new RedisDict(redis, 'x', { capacity: 1, nope: 1 })
  // @ts-expect-error not a client
  new RedisDict({}, 'x', { capacity: 1 })
  void [before, v, n, w, woke]
}

declare const nodeRedis: { sendCommand(args: string[]): Promise<unknown>; duplicate(): unknown }
const viaNodeRedis = new RedisDict(fromNodeRedis(nodeRedis), 'n', { capacity: 5, valueBits: 32 })
same<typeof viaNodeRedis, RedisDict<number, PartsOf<AtomicDict<number, [bigint]>>>>(true)

async function others() {
  const seen = new RedisSet(redis, 'seen', { capacity: 100, k64: 1, k32: 1 })
  const isNew: boolean = await seen.add([1n, 2])
  const news: boolean[] = await seen.addMany([[1n, 2], ['a', 3]])
  for await (const key of seen) {
    const k: [bigint, number] = key
    void k
  }
  // @ts-expect-error a set has no values
  new RedisSet(redis, 's', { capacity: 1, valueBits: 32 })

  const c = new RedisCounters(cluster, 'jobs', ['done', 'failed'], { valueBits: 32 })
  const d: number = await c.add('done')
  const snap: { done: number; failed: number } = await c.snapshot()
  const names: ('done' | 'failed')[] = c.keys()
  const r = await c.waitAsync('done', 0, { timeout: 10, ref: false })
  // @ts-expect-error not one of the names
  await c.add('nope')
  const big = new RedisCounters(redis, 'big', ['a'])
  const a: bigint = await big.get('a')

  const hits = new RedisDict(redis, 'hits', { capacity: 1000 })
  const before: bigint[] = await hits.addMany([1n, 2n], 1n)
  const got: (bigint | undefined)[] = await hits.getMany([1n, 2n])
  void [isNew, news, d, snap, names, r, a, before, got]
}

void dicts
void others

async function syncs() {
  const local = AtomicDict.open('/dev/shm/hits', { capacity: 1000, strings: 4096 })
  const sync = syncToRedis(local, redis, 'hits', { interval: 100 })
  same<typeof sync, Sync<KeyIn<PartsOf<typeof local>>, PartsOf<typeof local>>>(true)
  const total: bigint = await sync.total('GET /api')
  await sync.total(7n)
  // @ts-expect-error a composite key for a one-part table
  await sync.total([1n, 2])
  const t: bigint | undefined = sync.totals.get('GET /api')
  const r = await sync.flush()
  same<typeof r.outcome, 'applied' | 'duplicate' | 'gap' | 'idle' | 'not-flusher'>(true)
  const lag: number = sync.lag
  const pending: number = sync.pending
  const host: string = sync.stats().host
  await sync.close()
  {
    await using scoped = syncToRedis(local, redis, 'scoped')
    same<ReturnType<(typeof scoped)[typeof Symbol.asyncDispose]>, Promise<void>>(true)
  }
  const pairs = AtomicDict.open('/dev/shm/pairs', { capacity: 10, k64: 1, k32: 1 })
  const ps = syncToRedis(pairs, cluster, 'pairs')
  await ps.total([1n, 2])
  const c = Counters.open('/dev/shm/c', ['a', 'b'])
  const cs = syncToRedis(c, redis, 'c', { state: '/dev/shm/c.state' })
  await cs.total('a')
  // @ts-expect-error not one of the names
  await cs.total('z')
  // @ts-expect-error an unknown option
  syncToRedis(local, redis, 'hits', { intreval: 5 })
  const store = MetricsStore.open('/dev/shm/metrics', { series: 1000 })
  const ms = syncToRedis(store, redis, 'metrics', { interval: 1000 })
  same<typeof ms, MetricsSync>(true)
  const exposition: string = await ms.metrics()
  const global: string = await readSyncedMetrics(cluster, 'metrics')
  // @ts-expect-error a table's sync has no metrics()
  await sync.metrics()
  await ms.close()
  const hosts = await syncStatus(redis, 'hits')
  const seq: number = hosts[0]?.seq ?? 0
  return [total, t, lag, pending, host, seq, exposition, global]
}
