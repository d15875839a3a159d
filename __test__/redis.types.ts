// Type tests of atomic-dict/redis (npm run test:types, against the packed
// package): ioredis' Redis and Cluster are accepted as they are, tables are
// typed from their options object as locally, and every operation is a
// Promise of the local result type. Each @ts-expect-error line must fail to
// compile.
import type { Redis, Cluster } from 'ioredis'
import { AtomicDict } from 'atomic-dict'
import { RedisDict, fromNodeRedis } from 'atomic-dict/redis'

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

void dicts
