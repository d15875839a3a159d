'use strict'
// syncToRedis (lib/redis/sync.js, docs/SYNC.md) against a real redis-server:
// what a user relies on, one behaviour a test. The crash and outage runs
// with many processes are in redis-sync-chaos.test.js and
// redis-sync-crash.test.js.
//
// Several Sync objects in this process, each over its own table object
// opened from the same file, contend for the lease as processes do (each
// has its own open file description of the state file, hence its own OFD
// lock); a child process stands in where the test needs a SIGKILL.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Redis = require('ioredis')
const { Registry } = require('prom-client')
const { createClient } = require('redis')
const { AtomicDict, Counters } = require('..')
const { syncToRedis, syncStatus, RedisDict, fromNodeRedis } = require('../lib/redis')
const { SCRIPTS } = require('../lib/redis/scripts')
const { startRedis, startCluster } = require('./fixtures/redis')
const checks = require('./fixtures/redis-checks')
const { commandsRun, sleep, until, nodeChild } = checks

const ROOT = path.join(__dirname, '..')

const tmpDir = (t) => checks.tmpDir(t, 'atomic-dict-sync-')
const freshName = () => checks.freshName('sync')

/** Closes `sync` after the test, whatever it did. */
function closing(t, sync) {
  t.after(() => sync.close().catch(() => {}))
  return sync
}

/** The raw totals hash of `name`: { field: bigint (the 64 bits, unsigned) }. */
async function rawTotals(redis, name) {
  const h = await redis.hgetall(`{${name}}:d`)
  const out = {}
  for (const [f, v] of Object.entries(h)) out[f] = BigInt('0x' + v)
  return out
}

/** A table synced with a long interval (flushes only when the test says), closed after. */
function synced(t, redis, file, name, opts = {}, options = {}) {
  const table = AtomicDict.open(file, { capacity: 100, ...opts })
  const sync = closing(t, syncToRedis(table, redis, name, { interval: 3_600_000, ...options }))
  return { table, sync }
}

describe('syncToRedis', () => {
  let server
  let redis
  before(async () => {
    server = await startRedis({ appendonly: true, appendfsync: 'always' })
    redis = new Redis({ port: server.port, host: '127.0.0.1' })
  })
  after(async () => {
    redis?.disconnect()
    await server?.stop()
  })

  test('two hosts: adds and subs add up in Redis, read by total(), a RedisDict and the totals table', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const shape = { strings: 4096 }
    const a = synced(t, redis, path.join(dir, 'a'), name, shape)
    const b = synced(t, redis, path.join(dir, 'b'), name, shape)
    a.table.add('GET /api', 5n)
    a.table.add(7n, 3n)
    a.table.sub(9n)
    b.table.add('GET /api', 2n)
    b.table.add(7n)
    assert.deepEqual(await a.sync.flush(), { outcome: 'applied', seq: 1, keys: 3 })
    assert.deepEqual(await b.sync.flush(), { outcome: 'applied', seq: 1, keys: 2 })
    assert.equal(await a.sync.total('GET /api'), 7n)
    assert.equal(await b.sync.total(7n), 4n)
    assert.equal(await a.sync.total(9n), 2n ** 64n - 1n) // unsigned: 0 - 1 wraps, as locally
    assert.equal(await a.sync.total(12345n), 0n)
    // The layout is RedisDict's: any process can read the totals as a table.
    const dict = new RedisDict(redis, name, { capacity: 2 ** 31, valueBits: 64, strings: 4096 })
    assert.equal(await dict.get('GET /api'), 7n)
    const seen = new Map()
    for await (const [k, v] of dict.entries()) seen.set(k, v)
    assert.deepEqual(seen, new Map([['GET /api', 7n], [7n, 4n], [9n, 2n ** 64n - 1n]]))
    // Nothing changed: a flush sends nothing.
    assert.deepEqual(await a.sync.flush(), { outcome: 'idle', seq: 1, keys: 0 })
    // Only the change since the last batch goes.
    a.table.add('GET /api', 10n)
    assert.deepEqual(await a.sync.flush(), { outcome: 'applied', seq: 2, keys: 1 })
    assert.equal(await b.sync.total('GET /api'), 17n)
    const hosts = await syncStatus(redis, name)
    assert.deepEqual(hosts.map((h) => h.host).sort(), [a.sync.stats().host, b.sync.stats().host].sort())
    assert.deepEqual(hosts.find((h) => h.host === a.sync.stats().host).seq, 2)
    assert.ok(hosts.every((h) => Math.abs(h.at - Date.now()) < 60_000))
  })

  test('the totals table is refreshed every interval with what changed, keys with strings given back', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const a = synced(t, redis, path.join(dir, 'a'), name, { strings: 4096 }, { interval: 20 })
    const b = synced(t, redis, path.join(dir, 'b'), name, { strings: 4096 }, { interval: 20 })
    const totals = b.sync.totals
    assert.ok(totals instanceof AtomicDict)
    a.table.add('x', 2n)
    b.table.add('x', 3n)
    b.table.add(5n, 1n)
    await until(() => totals.get('x') === 5n && totals.get(5n) === 1n, 'the totals of x and 5', 10_000)
    assert.deepEqual(new Map(totals), new Map([['x', 5n], [5n, 1n]]))
    a.table.add('x', 1n)
    await until(() => totals.get('x') === 6n, 'the next total of x', 10_000)
    assert.equal(b.sync.stats().totalsError, null)
  })

  test('32-bit tables: signed and unsigned changes are widened into 64-bit totals', async (t) => {
    const dir = tmpDir(t)
    const u = synced(t, redis, path.join(dir, 'u'), freshName(), { valueBits: 32 })
    const s = synced(t, redis, path.join(dir, 's'), freshName(), { valueBits: 32, signed: true })
    u.table.add(1, 4_000_000_000) // one change over 2^31: read as negative (documented: keep a change per interval under 2^31)
    u.table.add(2, 5)
    u.table.sub(3, 1)
    s.table.sub(1, 7)
    s.table.add(2, 2 ** 31 - 1)
    await u.sync.flush()
    await s.sync.flush()
    assert.equal(await u.sync.total(2), 5n)
    assert.equal(await u.sync.total(3), 2n ** 64n - 1n) // unsigned totals: -1 as its bits
    assert.equal(await u.sync.total(1), BigInt.asUintN(64, BigInt(4_000_000_000 - 2 ** 32)))
    assert.equal(await s.sync.total(1), -7n)
    assert.equal(await s.sync.total(2), 2n ** 31n - 1n)
    // Past 2^31 in 32 bits, the 64-bit total goes on counting.
    s.table.add(2, 1)
    await s.sync.flush()
    assert.equal(s.table.get(2), -(2 ** 31))
    assert.equal(await s.sync.total(2), 2n ** 31n)
  })

  test('Counters sync by name', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const c = Counters.open(path.join(dir, 'c'), ['requests', 'errors'])
    t.after(() => c.close())
    const sync = closing(t, syncToRedis(c, redis, name, { interval: 3_600_000 }))
    c.add('requests', 10n)
    c.add('errors')
    c.sub('requests', 3n)
    await sync.flush()
    assert.equal(await sync.total('requests'), 7n)
    assert.equal(await sync.total('errors'), 1n)
  })

  test('only add and sub: every other change is refused with ERR_ATOMIC_DICT_NOT_COMMUTATIVE and changes nothing', async (t) => {
    const dir = tmpDir(t)
    const table = AtomicDict.open(path.join(dir, 'g'), { capacity: 100 })
    const early = table.slot(1n) // made before the sync: guarded all the same
    const sync = closing(t, syncToRedis(table, redis, freshName(), { interval: 3_600_000 }))
    table.add(1n, 5n)
    const refused = (fn, what) =>
      assert.throws(fn, (err) => err.code === 'ERR_ATOMIC_DICT_NOT_COMMUTATIVE' && err instanceof TypeError && err.message.includes(what), what)
    refused(() => table.store(1n, 9n), 'store')
    refused(() => table.set(1n, 9n), 'set')
    refused(() => table.swap(1n, 9n), 'swap')
    refused(() => table.exchange(1n, 9n), 'swap') // the aliases are the same functions
    refused(() => table.cas(1n, 5n, 9n), 'cas')
    refused(() => table.compareExchange(1n, 5n, 9n), 'cas')
    refused(() => table.band(1n, 0n), 'and')
    refused(() => table.and(1n, 0n), 'and')
    refused(() => table.or(1n, 2n), 'or')
    refused(() => table.xor(1n, 2n), 'xor')
    refused(() => table.storeMany([1n, 2n], 9n), 'storeMany')
    const slot = table.slot(1n)
    refused(() => slot.store(9n), 'store')
    refused(() => slot.cas(5n, 9n), 'cas')
    refused(() => slot.swap(9n), 'swap')
    refused(() => early.store(9n), 'store')
    refused(() => early.xor(1n), 'xor')
    assert.equal(slot.add(2n), 5n)
    assert.equal(table.get(1n), 7n)
    assert.equal(table.has(2n), false) // the refused storeMany inserted nothing
    assert.deepEqual(table.addMany([1n, 3n], 1n), [7n, 0n])
    // Counters: set, swap, cas and reset refused; their slots too.
    const c = Counters.open(path.join(dir, 'c'), ['n'])
    t.after(() => c.close())
    const cs = closing(t, syncToRedis(c, redis, freshName(), { interval: 3_600_000 }))
    c.add('n', 3n)
    refused(() => c.set('n', 0n), 'set')
    refused(() => c.reset(), 'reset')
    refused(() => c.swap('n', 0n), 'swap')
    refused(() => c.cas('n', 3n, 0n), 'cas')
    refused(() => c.slot('n').store(0n), 'store')
    refused(() => c.table.store('n', 0n), 'store')
    assert.equal(c.get('n'), 3n)
    // After close() the table object is a plain one again.
    await sync.close()
    await cs.close()
    table.store(1n, 1n)
    early.add(1n)
    slot.cas(2n, 3n)
    c.reset()
    assert.equal(table.get(1n), 3n)
  })

  test('bad arguments: coded errors, nothing made', async (t) => {
    const dir = tmpDir(t)
    const file = path.join(dir, 't')
    const table = AtomicDict.open(file, { capacity: 10 })
    t.after(() => table.close())
    const code = (fn, c, Class = TypeError) => assert.throws(fn, (err) => err.code === c && err instanceof Class)
    code(() => syncToRedis({}, redis, 'x'), 'ERR_INVALID_ARG_TYPE')
    code(() => syncToRedis(new Set(), redis, 'x'), 'ERR_INVALID_ARG_TYPE')
    code(() => syncToRedis(table, {}, 'x'), 'ERR_INVALID_ARG_TYPE')
    code(() => syncToRedis(table, redis, 42), 'ERR_INVALID_ARG_TYPE')
    code(() => syncToRedis(table, redis, 'a{b}'), 'ERR_INVALID_ARG_VALUE')
    code(() => syncToRedis(table, redis, 'x', { intreval: 5 }), 'ERR_INVALID_ARG_VALUE')
    code(() => syncToRedis(table, redis, 'x', { interval: 0 }), 'ERR_OUT_OF_RANGE', RangeError)
    code(() => syncToRedis(table, redis, 'x', { interval: '5' }), 'ERR_INVALID_ARG_TYPE')
    code(() => syncToRedis(table, redis, 'x', { state: '' }), 'ERR_INVALID_ARG_TYPE')
    code(() => syncToRedis(table, redis, 'x', { ref: 1 }), 'ERR_INVALID_ARG_TYPE')
    code(() => syncToRedis(new AtomicDict(10), redis, 'x'), 'ERR_INVALID_ARG_VALUE') // no path: options.state needed
    const set = require('..').AtomicSet.open(path.join(dir, 'set'), { capacity: 4 })
    t.after(() => set.close())
    code(() => syncToRedis(set, redis, 'x'), 'ERR_INVALID_ARG_TYPE')
    assert.equal(fs.existsSync(`${file}.sync`), false)
    // A closed table.
    const closed = AtomicDict.open(path.join(dir, 'closed'), { capacity: 10 })
    closed.close()
    code(() => syncToRedis(closed, redis, 'x'), 'ERR_ATOMIC_DICT_CLOSED', Error)
    // One sync per table object.
    const sync = closing(t, syncToRedis(table, redis, freshName(), { interval: 3_600_000 }))
    code(() => syncToRedis(table, redis, freshName()), 'ERR_INVALID_STATE', Error)
    await sync.close()
    await assert.rejects(sync.flush(), { code: 'ERR_ATOMIC_DICT_CLOSED' })
    assert.throws(() => sync.stats(), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  })

  test('a state file is checked: another table, another Redis name or not a state file are refused', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const { sync } = synced(t, redis, path.join(dir, 'a'), name)
    const state = sync.stats().state
    assert.equal(state, path.join(dir, 'a.sync'))
    const big = AtomicDict.open(path.join(dir, 'big'), { capacity: 5000 })
    t.after(() => big.close())
    assert.throws(() => syncToRedis(big, redis, name, { state }), (err) => err.code === 'ERR_ATOMIC_DICT_GEOMETRY' || err.code === 'ERR_ATOMIC_DICT_SYNC_STATE')
    const same = AtomicDict.open(path.join(dir, 'a'), { capacity: 100 })
    t.after(() => same.close())
    assert.throws(() => syncToRedis(same, redis, 'another-name'), { code: 'ERR_ATOMIC_DICT_SYNC_STATE', message: /another Redis name/ })
    // A table file of the right size that is not a sync state.
    const other = AtomicDict.open(path.join(dir, 'b'), { capacity: 100 })
    t.after(() => other.close())
    const fake = AtomicDict.open(path.join(dir, 'fake'), { capacity: capacityOf(state) })
    t.after(() => fake.close())
    fake.add(1, 12345n) // word 0 (MAGIC) holds something else
    assert.throws(() => syncToRedis(other, redis, name, { state: path.join(dir, 'fake') }), { code: 'ERR_ATOMIC_DICT_SYNC_STATE', message: /not a sync state/ })
  })

  test('one flusher per host: the lease goes to one table object, and to another when it is closed', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'h')
    const syncs = [0, 1, 2].map(() => synced(t, redis, file, name, {}, { interval: 10 }))
    await until(() => syncs.some((s) => s.sync.flusher), 'a flusher', 5000)
    await sleep(100)
    assert.equal(syncs.filter((s) => s.sync.flusher).length, 1)
    const first = syncs.find((s) => s.sync.flusher)
    assert.equal(first.sync.stats().flusherPid, process.pid)
    // Every object's adds go through the one flusher.
    for (const s of syncs) s.table.add(1n, 2n)
    await until(async () => (await first.sync.total(1n)) === 6n, 'the total 6', 5000)
    // The others flush nothing themselves.
    const other = syncs.find((s) => !s.sync.flusher)
    const r = await other.sync.flush()
    assert.equal(r.outcome, 'not-flusher')
    assert.equal(r.keys, 0)
    await first.sync.close()
    await until(() => syncs.some((s) => s !== first && s.sync.flusher), 'a new flusher', 5000)
    other.table.add(1n, 1n)
    await until(async () => (await other.sync.total(1n)) === 7n, 'the total 7', 5000)
  })

  test('close() without the lease resolves once the flusher delivered the changes made before it, or says it has not', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'h')
    const holder = synced(t, redis, file, name, {}, { interval: 20 })
    await holder.sync.flush() // holds the lease
    const other = synced(t, redis, file, name, {}, { interval: 20 })
    other.table.add(1n, 3n)
    await other.sync.close() // waits for a scan of the holder's begun after it
    assert.equal(await holder.sync.total(1n), 3n)
    // A flusher that does not scan within the timeout (an hour's interval): close() says so.
    const slow = synced(t, redis, path.join(dir, 's'), name, {}, { interval: 3_600_000 })
    await slow.sync.flush()
    const late = synced(t, redis, path.join(dir, 's'), name, {}, { interval: 3_600_000, timeout: 200 })
    late.table.add(2n, 1n)
    await assert.rejects(late.sync.close(), (err) => err.code === 'ERR_ATOMIC_DICT_SYNC_UNDELIVERED' && err.cause.code === 'ERR_ATOMIC_DICT_SYNC_TIMEOUT')
    await slow.sync.flush() // the flusher delivers it
    assert.equal(await slow.sync.total(2n), 1n)
  })

  test('a SIGKILLed flusher: another process takes the lease and delivers its pending batch', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'h')
    // The child stages a batch and dies before sending it (failpoint).
    const child = nodeChild(
      `process.env.ATOMIC_DICT_FAILPOINT = 'sync-after-stage'; const { AtomicDict } = require(${JSON.stringify(ROOT)}); const { syncToRedis } = require(${JSON.stringify(path.join(ROOT, 'redis'))}); const Redis = require(${JSON.stringify(require.resolve('ioredis'))})`,
      `const t = AtomicDict.open(${JSON.stringify(file)}, { capacity: 100 })
       const s = syncToRedis(t, new Redis(${server.port}), ${JSON.stringify(name)}, { interval: 3600000 })
       t.add(5n, 40n); t.add(6n, 2n)
       await s.flush()
       console.log('not reached')`,
    )
    // The failpoint variable is read when lib/failpoint.js loads: set before require.
    const { code, signal, stdout, stderr } = await child.exited
    assert.equal(signal, 'SIGKILL', `exit ${code} ${stdout} ${stderr}`)
    assert.equal((await syncStatus(redis, name)).length, 0) // nothing reached Redis
    const { table, sync } = synced(t, redis, file, name)
    assert.equal(sync.stats().pendingSeq, 1)
    assert.ok(sync.lag > 0)
    table.add(5n, 1n) // a change after the staging: not in the batch, in the next one
    const r = await sync.flush()
    assert.equal(r.outcome, 'applied')
    assert.equal(await sync.total(5n), 41n)
    assert.equal(await sync.total(6n), 2n)
    assert.equal(sync.stats().pendingSeq, 0)
    assert.equal(sync.pending, 0)
    assert.equal(sync.lag, 0)
  })

  test('sync.lua applies a batch once: a re-send is "dup", an older one "old", a skipped number "gap"', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, redis, path.join(dir, 'h'), name)
    table.add(3n, 10n)
    await sync.flush()
    const host = sync.stats().host
    const keys = [`{${name}}:d`, `{${name}}:h`, `{${name}}:c`]
    const send = (n, delta = 'a') => redis.evalsha(SCRIPTS.sync.sha, keys.length, ...keys, host, String(n), '0', `3 ${delta}`)
    assert.equal(await send(1), 'dup')
    assert.equal(await sync.total(3n), 10n)
    table.add(3n, 1n)
    await sync.flush() // seq 2
    assert.equal(await send(1), 'old 2')
    assert.equal(await send(2), 'dup')
    assert.equal(await sync.total(3n), 11n)
    assert.equal(await send(5, '1'), 'gap 2') // applied: batches 3 and 4 never came
    assert.equal(await sync.total(3n), 12n)
    // Bad arguments change nothing.
    await assert.rejects(send(6, 'zz'), /bad delta/)
    await assert.rejects(send(6, '1'.repeat(17)), /bad delta/)
    await assert.rejects(redis.evalsha(SCRIPTS.sync.sha, 3, ...keys, 'nothex', '6', '0', '3 1'), /bad host/)
    await assert.rejects(redis.evalsha(SCRIPTS.sync.sha, 3, ...keys, host, '6', '0', '3'), /odd/)
    await assert.rejects(redis.evalsha(SCRIPTS.sync.sha, 3, ...keys, host, '6', '0', '3 1', '4 1'), /odd/)
    await assert.rejects(redis.evalsha(SCRIPTS.sync.sha, 3, ...keys, host, '6', '1', '5', 's', '3 1'), /strings without/)
    await assert.rejects(redis.evalsha(SCRIPTS.sync.sha, 3, ...keys, host, '6', '0', '3 x1.5'), /bad float delta/) // no float hash named
    assert.equal(await sync.total(3n), 12n)
    assert.equal((await syncStatus(redis, name))[0].seq, 5)
  })

  test('a key of the table holding another type: the batch is refused whole, then applied once after the repair', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, redis, path.join(dir, 'h'), name)
    table.add(1n, 10n)
    await sync.flush()
    await redis.del(`{${name}}:c`)
    await redis.set(`{${name}}:c`, 'not a sorted set') // written by something else
    table.add(1n, 1n)
    table.add(2n, 5n)
    for (let i = 0; i < 3; i++) await assert.rejects(sync.flush(), { code: 'ERR_ATOMIC_DICT_REDIS', message: /WRONGTYPE/ })
    assert.equal(await sync.total(1n), 10n) // nothing of the batch applied, three times
    assert.equal(await sync.total(2n), 0n)
    await redis.del(`{${name}}:c`)
    assert.equal((await sync.flush()).outcome, 'applied')
    assert.equal(await sync.total(1n), 11n)
    assert.equal(await sync.total(2n), 5n)
  })

  test('sync.lua refuses a float total that would not be finite, writing nothing', async () => {
    const name = freshName()
    const keys = [`{${name}}:d`, `{${name}}:h`, `{${name}}:c`, `{${name}}:s`, `{${name}}:f`]
    const run = (seq, ...pairs) => redis.eval(SCRIPTS.sync.source, keys.length, ...keys, 'a'.repeat(16), String(seq), '0', pairs.join(' '))
    assert.equal(await run(1, '5', '2', '7', 'x1e308'), 'ok')
    await assert.rejects(run(2, '5', '3', '7', 'x1e308'), /not be finite/)
    assert.equal(await redis.hget(`{${name}}:d`, '5'), (2n).toString(16).padStart(16, '0')) // not 5: nothing written
    assert.equal(await redis.hget(`{${name}}:h`, 'a'.repeat(16)), '1')
    assert.equal(await run(2, '5', '3'), 'ok')
    assert.equal(await redis.hget(`{${name}}:d`, '5'), (5n).toString(16).padStart(16, '0'))
  })

  test('the totals table after Redis restarted from an older snapshot: pulled again in full', async (t) => {
    const own = await startRedis({ t })
    const client = new Redis({ port: own.port, host: '127.0.0.1', retryStrategy: () => 50 })
    t.after(() => client.disconnect())
    const dir = tmpDir(t)
    const name = freshName()
    const a = synced(t, client, path.join(dir, 'a'), name, {}, { interval: 20 })
    const b = synced(t, client, path.join(dir, 'b'), name, {}, { interval: 20, flush: false })
    const totals = b.sync.totals
    a.table.add(1n, 5n)
    await until(() => totals.get(1n) === 5n, 'the total 5', 5000)
    await own.command('SAVE')
    a.table.add(1n, 100n)
    a.table.add(2n, 1n)
    await until(() => totals.get(1n) === 105n && totals.get(2n) === 1n, 'the totals 105 and 1', 5000)
    await a.sync.close()
    await own.kill('SIGKILL')
    await own.restart() // from the snapshot: key 1 at 5, no key 2, older versions
    // Another host writes first: its batch's version is above the reader's,
    // but host a's last batch went back: the reader pulls everything again.
    const c = synced(t, client, path.join(dir, 'c'), name, {}, { interval: 20 })
    c.table.add(3n, 1n)
    await until(() => totals.get(1n) === 5n && totals.get(3n) === 1n, 'key 1 back at 5, key 3 at 1', 10_000)
    assert.equal(totals.get(2n), 0n) // Redis lost it: back to 0 (the table keeps the key)
  })

  test('the host state records a batch Redis answered "dup" as delivered, and a gap as counted', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, redis, path.join(dir, 'h'), name)
    table.add(1n, 1n)
    await sync.flush()
    // Redis lost this host's record (a restart without its AOF, say): the next batch is a gap, applied and counted.
    await redis.hdel(`{${name}}:h`, sync.stats().host)
    table.add(1n, 1n)
    assert.equal((await sync.flush()).outcome, 'gap')
    assert.equal(sync.stats().gaps, 1)
    assert.equal(await sync.total(1n), 2n)
  })

  test('a copied state (two hosts, one id) is refused with ERR_ATOMIC_DICT_SYNC_CONFLICT, its batch kept', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const a = synced(t, redis, path.join(dir, 'a'), name)
    a.table.add(1n, 1n)
    await a.sync.flush()
    a.table.add(1n, 1n)
    await a.sync.flush()
    // Host b starts from a copy of a's files, as a cloned machine image would.
    fs.copyFileSync(path.join(dir, 'a'), path.join(dir, 'b'))
    fs.copyFileSync(path.join(dir, 'a.sync'), path.join(dir, 'b.sync'))
    await a.sync.close()
    await redis.hset(`{${name}}:h`, hostOf(path.join(dir, 'b.sync')), '7') // a went on to batch 7
    const b = synced(t, redis, path.join(dir, 'b'), name)
    b.table.add(1n, 5n)
    await assert.rejects(b.sync.flush(), { code: 'ERR_ATOMIC_DICT_SYNC_CONFLICT' })
    assert.equal(b.sync.stats().conflicts, 1)
    assert.equal(b.sync.stats().pendingSeq, 3)
    assert.equal(b.sync.stats().lastError, 'ERR_ATOMIC_DICT_SYNC_CONFLICT')
    assert.equal(await b.sync.total(1n), 2n)
  })

  test('batches hold at most 10,000 keys: 25,000 changed keys go as 3, all exact', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, redis, path.join(dir, 'h'), name, { capacity: 30_000 })
    const keys = Array.from({ length: 25_000 }, (_, i) => i + 1)
    table.addMany(keys, 3n)
    await server.command('CONFIG', 'RESETSTAT')
    const r = await sync.flush()
    assert.deepEqual(r, { outcome: 'applied', seq: 3, keys: 25_000 })
    // Redis counts the commands scripts run: a batch applied reads the
    // table's version and writes the new one with the host's record (one
    // HSET), and reads one HGET a key, and the host's record.
    const ran = await commandsRun(redis)
    assert.equal(ran.time, 3, JSON.stringify(ran))
    assert.equal(ran.hget, 25_000 + 3 * 2)
    const totals = await rawTotals(redis, name)
    assert.equal(Object.keys(totals).length, 25_000)
    assert.ok(Object.values(totals).every((v) => v === 3n))
  })

  test('Redis commands follow the changed keys, not the operations', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, redis, path.join(dir, 'h'), name)
    await sync.redis.ready() // the table's metadata and scripts, made once
    await server.command('CONFIG', 'RESETSTAT')
    for (let i = 0; i < 100_000; i++) table.add(1 + (i % 10), 1n)
    assert.deepEqual(await sync.flush(), { outcome: 'applied', seq: 1, keys: 10 })
    // One script run; Redis counts the commands it ran inside too: one
    // HGET per key sent, and the host's record.
    const ran = await commandsRun(redis)
    assert.equal(ran.time, 1, JSON.stringify(ran)) // one batch
    assert.equal(ran.hget, 10 + 2)
    assert.equal(ran.zadd, 1)
    // The script (EVALSHA, and EVAL when Redis did not have it yet) and what it ran: nothing else.
    assert.deepEqual(Object.keys(ran).filter((c) => !['evalsha', 'eval', 'time', 'hget', 'hset', 'zadd', 'type'].includes(c)), [])
    assert.ok((ran.evalsha ?? 0) <= 1 && (ran.eval ?? 0) <= 1)
    for (let k = 1; k <= 10; k++) assert.equal(await sync.total(k), 10_000n)
  })

  test('Redis down: adds go on locally, lag and pending grow, flushes back off, then it all arrives once', async (t) => {
    const own = await startRedis({ appendonly: true, appendfsync: 'always', t })
    const client = new Redis({ port: own.port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 50 })
    t.after(() => client.disconnect())
    const dir = tmpDir(t)
    const name = freshName()
    const table = AtomicDict.open(path.join(dir, 'h'), { capacity: 100 })
    const sync = closing(t, syncToRedis(table, client, name, { interval: 20, maxBackoff: 200, timeout: 500 }))
    table.add(1n, 1n)
    await until(async () => (await sync.total(1n)) === 1n, 'the first total', 5000)
    await own.kill('SIGKILL')
    for (let i = 0; i < 1000; i++) table.add(1 + (i % 5), 1n)
    await until(() => sync.stats().failures >= 2, 'failed flushes', 10_000)
    const stats = sync.stats()
    assert.ok(['ERR_ATOMIC_DICT_CONNECTION_LOST', 'ERR_ATOMIC_DICT_SYNC_TIMEOUT'].includes(stats.lastError), stats.lastError)
    assert.ok(sync.lag >= 20, `lag ${sync.lag}`)
    assert.equal(sync.pending, 5)
    assert.equal(stats.pendingSeq, 2) // staged, kept, re-sent
    // Backoff: far fewer attempts than one per interval.
    const failures = stats.failures
    await sleep(600)
    assert.ok(sync.stats().failures - failures <= 8, `${sync.stats().failures - failures} attempts in 600 ms`)
    await assert.rejects(sync.flush(), (err) => ['ERR_ATOMIC_DICT_CONNECTION_LOST', 'ERR_ATOMIC_DICT_SYNC_TIMEOUT'].includes(err.code))
    await own.restart()
    await until(() => sync.stats().pendingSeq === 0 && sync.pending === 0, 'the backlog delivered', 15_000)
    assert.equal(await sync.total(1n), 201n)
    for (let k = 2; k <= 5; k++) assert.equal(await sync.total(k), 200n)
    // The next scan finds nothing left: no lag.
    await until(() => sync.lag === 0, 'no lag', 5000)
  })

  test('close() delivers the last changes, or rejects with ERR_ATOMIC_DICT_SYNC_UNDELIVERED and keeps them', async (t) => {
    const own = await startRedis({ appendonly: true, appendfsync: 'always', t })
    const client = new Redis({ port: own.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => 50 })
    t.after(() => client.disconnect())
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'h')
    const first = synced(t, client, file, name)
    first.table.add(1n, 4n)
    await first.sync.close()
    assert.equal(await first.sync.redis.get(1n), 4n)
    const second = synced(t, client, file, name, {}, { timeout: 300 })
    second.table.add(1n, 3n)
    await second.sync.flush()
    await own.kill('SIGKILL')
    second.table.add(1n, 2n)
    await assert.rejects(second.sync.close(), (err) => err.code === 'ERR_ATOMIC_DICT_SYNC_UNDELIVERED' && err.pending === 1 && err.cause !== undefined)
    await own.restart()
    const third = synced(t, client, file, name)
    assert.equal(third.sync.stats().pendingSeq, 3) // the batch close() staged
    await until(() => third.sync.flush().then(() => true, () => false), 'a flush that works', 10_000)
    assert.equal(await third.sync.total(1n), 9n)
    assert.equal(third.sync.stats().pendingSeq, 0)
  })

  test('a table made again under a kept state: the new table takes the state over, no count is subtracted', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'a')
    const a = synced(t, redis, file, name)
    const b = synced(t, redis, path.join(dir, 'b'), name)
    b.table.add(1n, 10n)
    a.table.add(1n, 1000n)
    await a.sync.flush()
    await b.sync.flush()
    assert.equal(await a.sync.total(1n), 1010n)
    await a.sync.close()
    a.table.close()
    AtomicDict.unlink(file) // a reset script; the state file stays
    const again = synced(t, redis, file, name)
    again.table.add(1n, 1n)
    assert.equal((await again.sync.flush()).outcome, 'applied')
    assert.equal(await again.sync.total(1n), 1011n) // not 11: the old table's 1000 stay counted, once
    assert.equal(again.sync.stats().seq, 2) // the host's numbering goes on
  })

  test('a state of another table file is refused while that table has a batch pending, or holds the lease', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'a')
    const old = synced(t, redis, file, name)
    old.table.add(1n, 5n)
    await old.sync.flush() // old now holds the lease
    AtomicDict.unlink(file)
    const table = AtomicDict.open(file, { capacity: 100 })
    t.after(() => table.close())
    assert.throws(() => syncToRedis(table, redis, name), { code: 'ERR_ATOMIC_DICT_SYNC_STATE', message: new RegExp(`synced now by pid ${process.pid}`) })
    await old.sync.close()
    // The old table's batch staged and not delivered (its process killed at that point, say).
    const stalled = synced(t, redis, path.join(dir, 'c'), name, {}, { state: path.join(dir, 'state-c') })
    stalled.table.add(1n, 1n)
    await redis.set(`{${name}}:c`, 'x') // Redis refuses the batch: it stays pending
    await assert.rejects(stalled.sync.flush(), { code: 'ERR_ATOMIC_DICT_REDIS' })
    await assert.rejects(stalled.sync.close(), { code: 'ERR_ATOMIC_DICT_SYNC_UNDELIVERED' })
    await redis.del(`{${name}}:c`)
    stalled.table.close()
    const other = AtomicDict.open(path.join(dir, 'd'), { capacity: 100 })
    t.after(() => other.close())
    assert.throws(() => syncToRedis(other, redis, name, { state: path.join(dir, 'state-c') }), { code: 'ERR_ATOMIC_DICT_SYNC_STATE', message: /not acknowledged/ })
  })

  test('a takeover cut short by a SIGKILL: the old table stops syncing, the new one finishes it; no count twice', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'a')
    const old = synced(t, redis, file, name)
    for (let k = 1; k <= 10; k++) old.table.add(k, 5n)
    await old.sync.flush()
    await old.sync.close()
    AtomicDict.unlink(file)
    // A process of the table made again is killed half way through zeroing the rows.
    const child = nodeChild(
      `process.env.ATOMIC_DICT_FAILPOINT = 'sync-mid-adopt'; const { AtomicDict } = require(${JSON.stringify(ROOT)}); const { syncToRedis } = require(${JSON.stringify(path.join(ROOT, 'redis'))}); const Redis = require(${JSON.stringify(require.resolve('ioredis'))})`,
      `const t = AtomicDict.open(${JSON.stringify(file)}, { capacity: 100 })
       syncToRedis(t, new Redis(${server.port}), ${JSON.stringify(name)}, { interval: 3600000 })
       console.log('not reached')`,
    )
    const { signal, stdout, stderr } = await child.exited
    assert.equal(signal, 'SIGKILL', `${stdout} ${stderr}`)
    // The old table object (still open here) syncs again: refused, it has synced before.
    assert.throws(() => syncToRedis(old.table, redis, name, { interval: 3_600_000 }), { code: 'ERR_ATOMIC_DICT_SYNC_STATE', message: /synced before/ })
    // The new table's next process finishes the takeover and syncs.
    const again = synced(t, redis, file, name)
    again.table.add(1n, 1n)
    await again.sync.flush()
    assert.equal(await again.sync.total(1n), 6n)
    for (let k = 2; k <= 10; k++) assert.equal(await again.sync.total(k), 5n)
  })

  test('two tables never pass one state back and forth: a table that synced before is refused', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const state = path.join(dir, 'shared.sync')
    const a = synced(t, redis, path.join(dir, 'a'), name, {}, { state })
    a.table.add(1n, 5n)
    await a.sync.close()
    const b = synced(t, redis, path.join(dir, 'b'), name, {}, { state }) // never synced: takes it over
    b.table.add(1n, 1n)
    await b.sync.close()
    assert.throws(() => syncToRedis(a.table, redis, name, { state }), { code: 'ERR_ATOMIC_DICT_SYNC_STATE', message: /synced before/ })
    assert.equal(await new RedisDict(redis, name, { capacity: 2 ** 31 }).get(1n), 6n)
  })

  test('a syncToRedis that failed leaves the table one that never synced: it takes the state over once it can', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const file = path.join(dir, 'a')
    const old = synced(t, redis, file, name)
    old.table.add(1n, 5n)
    await old.sync.flush() // the old table's process holds the lease
    AtomicDict.unlink(file)
    const table = AtomicDict.open(file, { capacity: 100 })
    t.after(() => table.close())
    assert.throws(() => syncToRedis(table, redis, name), { code: 'ERR_ATOMIC_DICT_SYNC_STATE', message: /synced now by pid/ })
    assert.throws(() => syncToRedis(table, redis, name, { state: path.join(dir, 'no-such-dir', 'x.sync') }), { code: 'ENOENT' })
    await old.sync.close() // as the first error advised
    const sync = closing(t, syncToRedis(table, redis, name, { interval: 3_600_000 }))
    table.add(1n, 2n)
    await sync.flush()
    assert.equal(await sync.total(1n), 7n)
    await sync.close()
    await assert.rejects(sync.total(1n), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  })

  for (const errno of ['EINVAL', 'EPERM', 'ENOSYS']) {
    test(`OFD locks refused (${errno}, as a kernel before 3.15 or a seccomp profile): syncToRedis throws at once, it never syncs silently`, async () => {
      const preload = require('node:child_process').execFileSync('bash', [path.join(ROOT, 'scripts', 'seccomp', 'build.sh'), 'no-ofd-locks'], { encoding: 'utf8' }).trim()
      const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'atomic-dict-sync-ofd-'))
      try {
        const r = require('node:child_process').spawnSync(
          process.execPath,
          [
            '-e',
            `const { AtomicDict } = require(${JSON.stringify(ROOT)}); const { syncToRedis } = require(${JSON.stringify(path.join(ROOT, 'redis'))}); const Redis = require(${JSON.stringify(require.resolve('ioredis'))})
             const redis = new Redis(${server.port}); const t = AtomicDict.open(${JSON.stringify(path.join(dir, 't'))}, { capacity: 10 })
             try { syncToRedis(t, redis, 'ofd'); console.log('synced') } catch (err) { console.log(err.code) } finally { redis.disconnect() }`,
          ],
          { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: preload, NO_OFD_ERRNO: errno }, timeout: 20_000 },
        )
        assert.equal(r.status, 0, r.stderr)
        assert.equal(r.stdout.trim(), errno === 'EPERM' ? 'EPERM' : 'ERR_ATOMIC_DICT_UNSUPPORTED', r.stderr)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  test('a table opened through a symlinked directory shares the state of its file', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    fs.mkdirSync(path.join(dir, 'v2'))
    const file = path.join(dir, 'v2', 'hits')
    const a = synced(t, redis, file, name)
    fs.symlinkSync(path.join(dir, 'v2'), path.join(dir, 'current')) // a deploy's "current" link
    const b = synced(t, redis, path.join(dir, 'current', 'hits'), name)
    assert.equal(b.sync.stats().state, `${file}.sync`)
    a.table.add(1n, 2n)
    await a.sync.flush()
    await b.sync.flush()
    assert.equal(await a.sync.total(1n), 2n) // once, not once per path
  })

  test('Redis down from the start: lag and pending count the changes, close() ends within its timeout', async (t) => {
    const own = await startRedis({ t })
    const client = new Redis({ port: own.port, host: '127.0.0.1', maxRetriesPerRequest: null, retryStrategy: () => 100 })
    t.after(() => client.disconnect())
    await own.kill('SIGKILL')
    const dir = tmpDir(t)
    const { table, sync } = synced(t, client, path.join(dir, 'h'), freshName(), {}, { interval: 20, timeout: 200, maxBackoff: 100 })
    for (let k = 1; k <= 50; k++) table.add(k, 1n)
    await until(() => sync.stats().failures >= 2, 'failed flushes', 5000)
    assert.equal(sync.pending, 50)
    assert.ok(sync.lag > 0)
    assert.ok(['ERR_ATOMIC_DICT_SYNC_TIMEOUT', 'ERR_ATOMIC_DICT_CONNECTION_LOST'].includes(sync.stats().lastError), sync.stats().lastError)
    const started = performance.now()
    await assert.rejects(sync.close(), { code: 'ERR_ATOMIC_DICT_SYNC_UNDELIVERED', pending: 50 })
    assert.ok(performance.now() - started < 5000)
  })

  test('a Redis that stops answering: attempts time out, one copy of the batch is sent, it is applied once', async (t) => {
    const own = await startRedis({ t })
    const client = new Redis({ port: own.port, host: '127.0.0.1' })
    t.after(() => client.disconnect())
    const admin = new Redis({ port: own.port, host: '127.0.0.1' })
    t.after(() => admin.disconnect())
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, client, path.join(dir, 'h'), name, {}, { interval: 20, timeout: 100, maxBackoff: 60 })
    await sync.redis.ready()
    table.add(1n, 1n)
    await sync.flush()
    await admin.config('RESETSTAT')
    table.add(1n, 2n)
    process.kill(own.pid, 'SIGSTOP')
    try {
      await until(() => sync.stats().failures >= 5, 'five attempts timed out', 10_000)
      assert.equal(sync.stats().lastError, 'ERR_ATOMIC_DICT_SYNC_TIMEOUT')
    } finally {
      process.kill(own.pid, 'SIGCONT')
    }
    await until(() => sync.stats().pendingSeq === 0, 'the batch acknowledged', 10_000)
    assert.equal(await sync.total(1n), 3n)
    const ran = await commandsRun(admin)
    assert.equal(ran.evalsha, 1, JSON.stringify(ran)) // not one per attempt
  })

  test('flush() and close() end while more keys than a batch holds keep changing', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, redis, path.join(dir, 'h'), name, { capacity: 30_000 })
    const keys = Array.from({ length: 25_000 }, (_, i) => i + 1)
    let round = 0
    const busy = setInterval(() => {
      round++
      table.addMany(keys, 1n)
    }, 1)
    t.after(() => clearInterval(busy))
    table.addMany(keys, 1n)
    const r = await sync.flush()
    assert.ok(r.keys >= 25_000, `${r.keys} keys`)
    await sync.close()
    clearInterval(busy)
    assert.ok(round > 0)
    // Whatever was left goes with the next sync; then Redis has it all.
    const next = synced(t, redis, path.join(dir, 'h'), name, { capacity: 30_000 })
    await next.sync.flush()
    const totals = await rawTotals(redis, name)
    for (const k of [1, 12_345, 25_000]) assert.equal(totals[k], BigInt(next.table.get(k)))
  })

  test('flush() is a barrier: what changed before it is in Redis when it resolves, while other keys keep changing', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, redis, path.join(dir, 'h'), name, { capacity: 60_000 })
    const all = Array.from({ length: 60_000 }, (_, i) => i + 1)
    table.addMany(all, 1n)
    await sync.flush()
    const before = all.filter((k) => k % 3 === 0) // 20,000 keys changed before the call
    table.addMany(before, 1n)
    const others = all.filter((k) => k % 3 !== 0)
    let busy = true
    const churn = () => {
      if (!busy) return
      table.addMany(others.slice(0, 20_000), 1n)
      setImmediate(churn)
    }
    setImmediate(churn)
    try {
      await sync.flush()
    } finally {
      busy = false
    }
    const totals = await rawTotals(redis, name)
    const missing = before.filter((k) => totals[k] !== 2n)
    assert.equal(missing.length, 0, `${missing.length} keys changed before flush() are not in Redis`)
  })

  test('close(): after the table was closed it resolves; a flush() meanwhile rejects ERR_ATOMIC_DICT_CLOSED; descriptors are let go', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const fds = () => fs.readdirSync('/proc/self/fd').length
    const before = fds()
    for (let i = 0; i < 20; i++) {
      const { table, sync } = synced(t, redis, path.join(dir, `t${i}`), name)
      table.add(1n, 1n)
      const closing = sync.close()
      await assert.rejects(sync.flush(), { code: 'ERR_ATOMIC_DICT_CLOSED' })
      await closing
      table.close()
    }
    assert.ok(fds() <= before + 2, `${fds() - before} descriptors more`)
    assert.equal(await new RedisDict(redis, name, { capacity: 2 ** 31 }).get(1n), 20n)
    const { table, sync } = synced(t, redis, path.join(dir, 'x'), name, {}, { interval: 10 })
    table.close()
    await sleep(50) // a tick finds the table closed and stops the sync
    await sync.close()
    assert.throws(() => sync.stats(), { code: 'ERR_ATOMIC_DICT_CLOSED' })
  })

  test('totals that do not fit the totals table are left out and reported, the rest kept fresh', async (t) => {
    const dir = tmpDir(t)
    const name = freshName()
    const a = synced(t, redis, path.join(dir, 'a'), name, {}, { interval: 20, totalsCapacity: 4 })
    for (let k = 1; k <= 6; k++) a.table.add(k, 1n)
    const totals = a.sync.totals
    await until(() => a.sync.stats().totalsError === 'ERR_ATOMIC_DICT_FULL', 'the totals table full', 5000)
    assert.equal(totals.size, 4)
    const kept = [...totals.keys()]
    a.table.add(kept[0], 10n)
    await until(() => totals.get(kept[0]) === 11n, 'a kept total refreshed', 5000)
    await sleep(100)
    assert.equal(a.sync.stats().totalsError, 'ERR_ATOMIC_DICT_FULL') // still: those totals are still left out
  })

  test('collectMetrics: lag, pending, batches and the flusher as prom-client metrics', async (t) => {
    const dir = tmpDir(t)
    const { table, sync } = synced(t, redis, path.join(dir, 'h'), freshName())
    const register = new Registry()
    sync.collectMetrics({ register, prefix: 'app_' })
    table.add(1n, 1n)
    table.add(2n, 1n)
    await sync.flush()
    await sync.flush() // a lease taken: the flusher metric is 1
    const text = await register.metrics()
    assert.match(text, /^app_atomic_dict_sync_batches_total\{table="[^"]+"\} 1$/m)
    assert.match(text, /^app_atomic_dict_sync_keys_total\{table="[^"]+"\} 2$/m)
    assert.match(text, /^app_atomic_dict_sync_pending_keys\{table="[^"]+"\} 0$/m)
    assert.match(text, /^app_atomic_dict_sync_flusher\{table="[^"]+"\} 1$/m)
    assert.match(text, /^app_atomic_dict_sync_lag_seconds\{table="[^"]+"\} 0$/m)
    assert.throws(() => sync.collectMetrics({ register: {} }), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => sync.collectMetrics({ register, prefix: '1 bad' }), { code: 'ERR_INVALID_ARG_VALUE' })
  })

  test('node-redis: fromNodeRedis(client) syncs as ioredis does', async (t) => {
    const client = createClient({ url: `redis://127.0.0.1:${server.port}` })
    client.on('error', () => {})
    await client.connect()
    t.after(() => client.destroy())
    const dir = tmpDir(t)
    const name = freshName()
    const { table, sync } = synced(t, fromNodeRedis(client), path.join(dir, 'h'), name, { strings: 4096 }, { interval: 20 })
    table.add('k', 3n)
    table.add(2n, 1n)
    await sync.flush()
    assert.equal(await sync.total('k'), 3n)
    const totals = sync.totals
    await until(() => totals.get('k') === 3n, 'the totals table', 5000)
    assert.deepEqual((await syncStatus(fromNodeRedis(client), name)).map((h) => h.seq), [1])
  })
})

describe('syncToRedis on a Redis Cluster', () => {
  test('two hosts sync one table into its slot', async (t) => {
    const cluster = await startCluster({ t })
    const client = new Redis.Cluster(cluster.nodes)
    t.after(() => client.disconnect())
    const dir = tmpDir(t)
    const name = freshName()
    const a = synced(t, client, path.join(dir, 'a'), name)
    const b = synced(t, client, path.join(dir, 'b'), name)
    for (let i = 0; i < 1000; i++) (i % 2 ? a : b).table.add(1 + (i % 7), 1n)
    await a.sync.flush()
    await b.sync.flush()
    let sum = 0n
    for (let k = 1; k <= 7; k++) sum += await a.sync.total(k)
    assert.equal(sum, 1000n)
    assert.equal((await syncStatus(client, name)).length, 2)
  })
})

/** The capacity the state file at `file` was made with (to make a same-size table that is not a state). */
function capacityOf(file) {
  const t = AtomicDict.open(file, { create: false })
  try {
    return t.capacity
  } finally {
    t.close()
  }
}

/** The host id a state file holds (its second word). */
function hostOf(file) {
  const t = AtomicDict.open(file, { capacity: capacityOf(file), create: false })
  try {
    return t.get(2).toString(16).padStart(16, '0')
  } finally {
    t.close()
  }
}
