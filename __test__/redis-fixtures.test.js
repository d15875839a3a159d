'use strict'
// The Redis fixtures (fixtures/redis.js) do what they say: servers start
// ready and stop by pid with their directory removed, restart on the same
// AOF, fail with the log tail or the install command; the fault proxy drops
// exactly the chosen reply after the server applied the command (and so
// documents the hazard RedisDict must defend against: ioredis re-sends an
// unanswered command on reconnect, applying it twice); the cluster is a real
// 3-master cluster that ioredis' Cluster client uses.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const Redis = require('ioredis')
const { startRedis, startCluster, faultProxy, nth, containing, redisCommand, frameEnd, parseRequest, encodeCommand } = require('./fixtures/redis')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Whether `pid` runs (a zombie left to a container's init that does not reap counts as ended). */
function alive(pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return err.code === 'EPERM'
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** Polls `cond` every 10 ms; fails naming `what` after `ms`. */
async function until(cond, what, ms = 5000) {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** A client that reconnects quickly and says nothing on stderr about it. */
function client(port, opts = {}) {
  const c = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 20, ...opts })
  c.on('error', () => {})
  return c
}

describe('startRedis', () => {
  test('answers PING; stop() ends the pid and removes the directory', async () => {
    const s = await startRedis()
    assert.equal(s.host, '127.0.0.1')
    assert.equal(s.url, `redis://127.0.0.1:${s.port}`)
    assert.ok(alive(s.pid))
    assert.ok(fs.statSync(s.dir).isDirectory())
    const c = client(s.port)
    try {
      assert.equal(await c.ping(), 'PONG')
      // Bound to loopback only.
      assert.match(await s.command('CONFIG', 'GET', 'bind').then((r) => r[1]), /^127\.0\.0\.1$/)
    } finally {
      c.disconnect()
    }
    await s.stop()
    assert.equal(alive(s.pid), false)
    assert.equal(fs.existsSync(s.dir), false)
    await s.stop() // idempotent
  })

  test('with t, the server is stopped when the test ends', async (t) => {
    let s
    await t.test('inner', async (t2) => {
      s = await startRedis({ t: t2 })
      assert.ok(alive(s.pid))
    })
    assert.equal(alive(s.pid), false)
    assert.equal(fs.existsSync(s.dir), false)
  })

  test('a test process that dies (uncaught exception) takes its servers with it', async () => {
    const script = `require(${JSON.stringify(require.resolve('./fixtures/redis'))}).startRedis().then((s) => { console.log(JSON.stringify({ pid: s.pid, dir: s.dir })); throw new Error('boom') })`
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 })
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /boom/)
    const { pid, dir } = JSON.parse(r.stdout)
    await until(() => !alive(pid), `redis-server pid ${pid} to end`)
    assert.equal(fs.existsSync(dir), false)
  })

  test('a test process killed by SIGTERM takes its servers with it, and still dies of SIGTERM', async () => {
    const script = `require(${JSON.stringify(require.resolve('./fixtures/redis'))}).startRedis().then((s) => { console.log(JSON.stringify({ pid: s.pid, dir: s.dir })); setInterval(() => {}, 1000) })`
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    try {
      await until(() => out.includes('\n'), 'the server to start', 20_000)
    } finally {
      child.kill('SIGTERM')
    }
    assert.deepEqual(await exited, { code: null, signal: 'SIGTERM' })
    const { pid, dir } = JSON.parse(out)
    await until(() => !alive(pid), `redis-server pid ${pid} to end`)
    assert.equal(fs.existsSync(dir), false)
  })

  test('AOF with appendfsync always: SIGKILL, restart on the same port and directory, the data is back', async (t) => {
    const s = await startRedis({ appendonly: true, appendfsync: 'always', t })
    assert.deepEqual(await s.command('CONFIG', 'GET', 'appendfsync'), ['appendfsync', 'always'])
    assert.equal(await s.command('INCRBY', 'n', '41'), 41)
    assert.equal(await s.command('INCR', 'n'), 42)
    const { port, dir, pid } = s
    assert.deepEqual(await s.kill('SIGKILL'), { code: null, signal: 'SIGKILL' })
    assert.equal(alive(pid), false)
    assert.ok(fs.existsSync(path.join(dir, 'appendonlydir')), 'Redis 7 keeps its AOF in <dir>/appendonlydir')
    await assert.rejects(redisCommand(port, ['PING']), { code: 'ECONNREFUSED' })
    await s.restart()
    assert.equal(s.port, port)
    assert.equal(s.dir, dir)
    assert.notEqual(s.pid, pid)
    assert.equal(await s.command('GET', 'n'), '42')
    await assert.rejects(s.restart(), /still running/)
  })

  test('a server that cannot start fails with its log tail, and its directory is removed', async () => {
    const err = await startRedis({ args: ['--no-such-directive', 'x'] }).then(
      () => assert.fail('started'),
      (e) => e,
    )
    assert.match(err.message, /exited \(code 1/)
    assert.match(err.message, /Bad directive or wrong number of arguments/)
    const dir = /--- redis-server log \((.*)\) ---/.exec(err.message)[1]
    assert.equal(fs.existsSync(dir), false)
  })

  test('without redis-server on PATH: an error saying how to install it (the tests fail, not skip)', () => {
    const script = `require(${JSON.stringify(require.resolve('./fixtures/redis'))}).startRedis().then(() => process.exit(0), (e) => { console.log(e.message); process.exit(3) })`
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, PATH: '/nonexistent' }, encoding: 'utf8', timeout: 10_000 })
    assert.equal(r.status, 3, r.stderr)
    assert.match(r.stdout, /redis-server is needed .*ENOENT.*apt-get install -y redis-server/)
  })
})

describe('RESP framing (what the proxy relies on)', () => {
  test('frameEnd: RESP2 and RESP3 frames, incomplete ones are -1', () => {
    const frames = ['+OK\r\n', '-ERR x\r\n', ':12\r\n', '$3\r\na\r\n\r\n', '$-1\r\n', '*-1\r\n', '*2\r\n:1\r\n$1\r\nx\r\n', '%1\r\n+a\r\n:1\r\n', '_\r\n', ',1.5\r\n', '#t\r\n', '(12345678901234567890\r\n', '~1\r\n+a\r\n', '>2\r\n+message\r\n+x\r\n', '=7\r\ntxt:abc\r\n', '!3\r\nERR\r\n', '|1\r\n+k\r\n+v\r\n']
    for (const f of frames) {
      const b = Buffer.from(f + 'NEXT')
      assert.equal(frameEnd(b, 0), f.length, f)
      for (let cut = 0; cut < f.length; cut++) assert.equal(frameEnd(Buffer.from(f.slice(0, cut)), 0), -1, `${f} cut at ${cut}`)
    }
    assert.throws(() => frameEnd(Buffer.from('?\r\n'), 0), /not RESP/)
  })

  test('parseRequest: arrays of bulk strings (binary safe) and inline commands', () => {
    const bin = Buffer.from([0, 13, 10, 255])
    const req = encodeCommand(['EVALSHA', 'abc', '1', bin])
    const r = parseRequest(Buffer.concat([req, Buffer.from('*1\r\n')]), 0)
    assert.equal(r.end, req.length)
    assert.deepEqual(r.args.map((a) => a.toString('latin1')), ['EVALSHA', 'abc', '1', bin.toString('latin1')])
    assert.equal(parseRequest(req.subarray(0, req.length - 1), 0), null)
    assert.deepEqual(parseRequest(Buffer.from('PING  x\r\n'), 0).args.map(String), ['PING', 'x'])
  })
})

describe('faultProxy', () => {
  let server
  before(async () => {
    server = await startRedis()
  })
  after(() => server?.stop())

  test('forwards both ways; counts commands and connections', async (t) => {
    const proxy = await faultProxy(server.port, { t })
    const c = client(proxy.port)
    t.after(() => c.disconnect())
    assert.equal(await c.set('p:k', 'v'), 'OK')
    assert.equal(await c.get('p:k'), 'v')
    assert.equal(proxy.count('set'), 1)
    assert.equal(proxy.count('GET'), 1)
    assert.equal(proxy.stats.accepted, 1)
    assert.equal(proxy.active, 1)
  })

  test('a command written one byte at a time is recognised once it is whole', async (t) => {
    const proxy = await faultProxy(server.port, { t })
    const dropped = proxy.dropAfterRequest(containing('marker-1b'))
    const sock = net.connect(proxy.port, '127.0.0.1')
    sock.on('error', () => {}) // a write racing the proxy's close
    t.after(() => sock.destroy())
    await new Promise((resolve) => sock.once('connect', resolve))
    const closed = new Promise((resolve) => sock.once('close', resolve))
    let got = ''
    sock.on('data', (d) => (got += d))
    const bytes = Buffer.concat([encodeCommand(['SET', 'p:1b', 'before']), encodeCommand(['SET', 'p:1b', 'marker-1b']), encodeCommand(['SET', 'p:1b', 'after'])])
    for (const b of bytes) {
      if (sock.destroyed || sock.writableEnded) break
      sock.write(Buffer.from([b]))
      await sleep(0)
    }
    assert.deepEqual(await dropped, { name: 'SET', args: [Buffer.from('p:1b'), Buffer.from('marker-1b')], reply: '+OK\r\n' })
    await closed
    assert.equal(got, '+OK\r\n', 'the first reply only')
    assert.equal(await server.command('GET', 'p:1b'), 'marker-1b', 'the dropped command was applied, the one after it never sent')
  })

  test('hazard: an INCR whose reply is lost is applied twice by ioredis (autoResendUnfulfilledCommands: true, the default)', async (t) => {
    const proxy = await faultProxy(server.port, { t })
    const c = client(proxy.port, { autoResendUnfulfilledCommands: true })
    t.after(() => c.disconnect())
    assert.equal(await c.ping(), 'PONG')
    const dropped = proxy.dropAfterRequest(nth('INCR', 1))
    // Three commands in one tick: the one before the INCR is answered, the
    // one after it is never sent before the cut (ioredis re-sends it too).
    const [a, n, b] = await Promise.all([c.set('h:before', '1'), c.incr('h:n'), c.set('h:after', '1')])
    assert.deepEqual([a, b], ['OK', 'OK'])
    assert.deepEqual(await dropped, { name: 'INCR', args: [Buffer.from('h:n')], reply: ':1\r\n' })
    assert.equal(n, 2, 'the client saw the second application')
    assert.equal(await server.command('GET', 'h:n'), '2', 'one INCR asked for, applied twice')
    assert.equal(proxy.count('INCR'), 2)
    assert.equal(proxy.count('SET'), 2, 'h:before once (answered), h:after once (after the reconnect)')
    assert.equal(proxy.stats.accepted, 2, 'one reconnect')
    assert.equal(proxy.stats.dropped, 1)
  })

  test('with autoResendUnfulfilledCommands: false, ioredis 6.0.0 never settles the unanswered command (applied once)', async (t) => {
    const proxy = await faultProxy(server.port, { t })
    const c = client(proxy.port, { autoResendUnfulfilledCommands: false })
    t.after(() => c.disconnect())
    await c.ping()
    const dropped = proxy.dropAfterRequest(nth('INCR', 1))
    let settled = null
    c.incr('f:n').then(
      (v) => (settled = { v }),
      (e) => (settled = { e }),
    )
    await dropped
    await until(() => proxy.stats.accepted === 2 && c.status === 'ready', 'the reconnect')
    assert.equal(await c.get('f:n'), '1', 'applied once, and the connection works again')
    await sleep(500)
    assert.equal(settled, null, 'neither resolved nor rejected: ioredis dropped it from its queue (prevCommandQueue = null)')
  })

  test('refuse() resets new connections; cutAll() closes the open ones; queued commands run once allowed again', async (t) => {
    const proxy = await faultProxy(server.port, { t })
    const c = client(proxy.port)
    t.after(() => c.disconnect())
    await c.set('r:k', 'x')
    proxy.refuse(true)
    assert.equal(proxy.cutAll(), 1)
    assert.equal(proxy.stats.cut, 1)
    const pending = c.get('r:k') // offline queue while reconnecting
    await until(() => proxy.stats.refused >= 2, 'two refused reconnects')
    assert.equal(proxy.active, 0)
    proxy.refuse(false)
    assert.equal(await pending, 'x')
    assert.equal(proxy.active, 1)
  })

})

describe('startCluster', () => {
  test('3 masters, all slots ok; hash tags land on the slot owner; Redis.Cluster INCRs keys on every master', async (t) => {
    const started = Date.now()
    const cluster = await startCluster({ masters: 3, t })
    t.diagnostic(`cluster ready in ${Date.now() - started} ms`)
    assert.equal(cluster.nodes.length, 3)
    const ports = cluster.nodes.map((n) => n.port)
    for (const p of ports) {
      const info = await redisCommand(p, ['CLUSTER', 'INFO'])
      assert.match(info, /cluster_state:ok/)
      assert.match(info, /cluster_slots_assigned:16384/)
      assert.match(info, /cluster_known_nodes:3/)
      assert.match(info, /cluster_size:3/)
    }
    // Slot owner of each slot range, from one node's view.
    const ranges = (await redisCommand(ports[0], ['CLUSTER', 'SLOTS'])).map((r) => ({ from: r[0], to: r[1], port: r[2][1] }))
    const covered = ranges.reduce((n, r) => n + r.to - r.from + 1, 0)
    assert.equal(covered, 16384)
    assert.deepEqual([...new Set(ranges.map((r) => r.port))].sort(), [...ports].sort())
    const owner = (slot) => ranges.find((r) => r.from <= slot && slot <= r.to).port

    // A hash tag for each master (bounded search).
    const tagOf = new Map()
    for (let i = 0; i < 1000 && tagOf.size < 3; i++) {
      const slot = await redisCommand(ports[0], ['CLUSTER', 'KEYSLOT', `{tag${i}}`])
      const p = owner(slot)
      if (!tagOf.has(p)) tagOf.set(p, { tag: `tag${i}`, slot })
    }
    assert.equal(tagOf.size, 3, 'found a tag on each master')

    const c = new Redis.Cluster(cluster.nodes, { redisOptions: { retryStrategy: () => 20 } })
    c.on('error', () => {})
    t.after(() => c.disconnect())
    for (const [p, { tag, slot }] of tagOf) {
      const a = `{${tag}}:a`
      const b = `{${tag}}:b`
      assert.equal(await redisCommand(p, ['CLUSTER', 'KEYSLOT', a]), slot, 'only the tag is hashed')
      assert.equal(await c.incr(a), 1)
      assert.equal(await c.incrby(b, 5), 5)
      assert.equal(await redisCommand(p, ['GET', a]), '1', `on the owner ${p}`)
      assert.equal(await redisCommand(p, ['GET', b]), '5')
      for (const other of ports.filter((q) => q !== p)) {
        await assert.rejects(redisCommand(other, ['GET', a]), { message: `MOVED ${slot} 127.0.0.1:${p}` })
      }
    }
    // A script over two keys of one tag runs (a RedisDict table is one tag).
    const [p0, { tag }] = [...tagOf][0]
    assert.equal(await c.eval("return redis.call('INCR', KEYS[1]) + redis.call('INCR', KEYS[2])", 2, `{${tag}}:a`, `{${tag}}:b`), 8)
    assert.equal(await redisCommand(p0, ['GET', `{${tag}}:a`]), '2')
  })
})
