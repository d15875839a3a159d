'use strict'
// Conformance: one seeded random sequence of 10^4 operations per table
// shape, run on a local AtomicDict and on a RedisDict, every result and
// error (code, class, message) equal at every step, and the contents equal
// at checkpoints (__test__/fixtures/redis-model.js). Against a standalone
// redis-server and against a 3-master cluster through ioredis' Redis.Cluster,
// with the tables placed on different masters. Without redis-server this
// fails (the fixtures throw), it does not skip.
//
// ATOMIC_DICT_CONFORMANCE_SEED=<n> runs other sequences (the seed is in
// every divergence message).

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const Redis = require('ioredis')
const { AtomicDict } = require('..')
const { RedisDict } = require('../lib/redis')
const { startRedis, startCluster } = require('./fixtures/redis')
const { conform } = require('./fixtures/redis-model')

const OPS = 10_000
const BASE_SEED = Number(process.env.ATOMIC_DICT_CONFORMANCE_SEED ?? 0x5eed_0001) >>> 0

/** Every key shape, 64- and 32-bit values, signed and not, string parts kept and not. */
const CONFIGS = [
  { id: 'u64', capacity: 200, shape: {} },
  { id: 'i64-strings', capacity: 150, shape: { signed: true, strings: 1 << 16 } },
  { id: 'u32-k32', capacity: 120, shape: { k64: 0, k32: 1, valueBits: 32 } },
  { id: 'i32-k32', capacity: 100, shape: { k64: 0, k32: 1, valueBits: 32, signed: true } },
  { id: 'i64-k64k32', capacity: 200, shape: { k64: 1, k32: 1, signed: true } },
  { id: 'u32-k64k64k32-strings', capacity: 100, shape: { k64: 2, k32: 1, valueBits: 32, strings: 1 << 16 } },
]

async function runConfig(client, config, name, i) {
  const { capacity, shape } = config
  const local = new AtomicDict(capacity, shape)
  const remote = new RedisDict(client, name, { capacity, ...shape })
  const seed = (BASE_SEED + i * 7919) >>> 0
  const t0 = process.hrtime.bigint()
  const r = await conform({ local, remote, seed, ops: OPS, shape, capacity, label: `${config.id} (table ${name})` })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  assert.equal(r.ops, OPS)
  // The run reaches the capacity, refuses bad keys and values, and mostly succeeds.
  assert.ok(r.tally.ERR_ATOMIC_DICT_FULL > 0, JSON.stringify(r.tally))
  assert.ok((r.tally.ERR_INVALID_ARG_TYPE ?? 0) + (r.tally.ERR_OUT_OF_RANGE ?? 0) + (r.tally.ERR_INVALID_ARG_VALUE ?? 0) > 50, JSON.stringify(r.tally))
  const ok = Object.entries(r.tally).filter(([k]) => k.startsWith('ok:')).reduce((a, [, v]) => a + v, 0)
  assert.ok(ok > OPS / 2, JSON.stringify(r.tally))
  return { ...r, ms }
}

describe('RedisDict conforms to AtomicDict: standalone redis-server', () => {
  let server
  let client
  before(async () => {
    server = await startRedis()
    client = new Redis(server.port, '127.0.0.1', { lazyConnect: true })
    await client.connect()
  })
  after(async () => {
    client?.disconnect()
    await server?.stop()
  })

  CONFIGS.forEach((config, i) => {
    test(`${config.id}: ${OPS} operations equal to local`, { timeout: 120_000 }, async (t) => {
      const r = await runConfig(client, config, `conf-${config.id}`, i)
      t.diagnostic(`${r.ops} ops in ${r.steps} steps, ${r.checkpoints} checkpoints, ${r.ms.toFixed(0)} ms; ${JSON.stringify(r.tally)}`)
    })
  })
})

/** slot -> "host:port" of its master, from CLUSTER SLOTS. */
async function slotMap(client) {
  const slots = await client.call('CLUSTER', 'SLOTS')
  const map = new Array(16384)
  for (const [from, to, master] of slots) for (let s = from; s <= to; s++) map[s] = `${master[0]}:${master[1]}`
  return map
}

describe('RedisDict conforms to AtomicDict: 3-master cluster through Redis.Cluster', () => {
  let cluster
  let client
  let names
  before(async () => {
    cluster = await startCluster({ masters: 3 })
    client = new Redis.Cluster(cluster.nodes, { lazyConnect: true })
    await client.connect()
    // Names whose hash tag lands on master i % 3: the tables are spread.
    const map = await slotMap(client)
    const masters = [...new Set(map)].sort()
    assert.equal(masters.length, 3, `three masters serve the slots: ${masters}`)
    names = []
    for (let i = 0; i < CONFIGS.length; i++) {
      const want = masters[i % 3]
      let found = null
      for (let j = 0; j < 1000 && found === null; j++) {
        const name = `conf-${CONFIGS[i].id}-${j}`
        const slot = await client.call('CLUSTER', 'KEYSLOT', `{${name}}:d`)
        if (map[slot] === want) found = { name, slot, master: want }
      }
      assert.ok(found !== null, `a name for master ${want}`)
      names.push(found)
    }
  })
  after(async () => {
    client?.disconnect()
    await cluster?.stop()
  })

  CONFIGS.forEach((config, i) => {
    test(`${config.id}: ${OPS} operations equal to local`, { timeout: 120_000 }, async (t) => {
      const { name, slot, master } = names[i]
      const r = await runConfig(client, config, name, i)
      // The table is where CLUSTER NODES says its slot is: its hash is on
      // that master (read there directly) and on no other.
      const nodes = String(await client.call('CLUSTER', 'NODES')).trim().split('\n').map((l) => l.split(' '))
      const owner = nodes.find((f) => f[2].includes('master') && f.slice(8).some((range) => {
        const [a, b = a] = range.split('-').map(Number)
        return slot >= a && slot <= b
      }))
      assert.equal(owner[1].split('@')[0], master, `CLUSTER NODES agrees with CLUSTER SLOTS on slot ${slot}`)
      for (const s of cluster.servers) {
        const here = `127.0.0.1:${s.port}`
        const size = await s.command('EVAL', "return redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HLEN', KEYS[1]) or -1", '1', `{${name}}:d`).catch((err) => String(err.message))
        if (here === master) assert.equal(size, await new RedisDict(client, name, { capacity: config.capacity, ...config.shape }).size())
        else assert.match(String(size), /^MOVED/, `${here} does not hold {${name}}:d`)
      }
      t.diagnostic(`table ${name}: slot ${slot} on ${master}; ${r.ops} ops in ${r.steps} steps, ${r.ms.toFixed(0)} ms; ${JSON.stringify(r.tally)}`)
    })
  })

  test('the tables are on three different masters', () => {
    assert.equal(new Set(names.map((n) => n.master)).size, 3)
  })
})
