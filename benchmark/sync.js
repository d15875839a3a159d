'use strict'
// syncToRedis (lib/redis/sync.js, issue 17) in one redis-server session (the
// sync section of `npm run bench`):
//
//   1. local.add(k, 1n) on a table opened by path (capacity 100,000, 64-bit
//      values, 1,000 distinct bigint keys), three ways, rounds interleaved
//      (the order reversed every other round), figure: the median round:
//        none     no sync attached anywhere
//        flusher  syncToRedis(local, client, name, { interval: 100 }) in this
//                 process, which is the host's flusher: its scans and sends
//                 run on this event loop, between the adds
//        remote   the flusher is another process (a child of this file, on
//                 the same table); this one attaches with { flush: false }
//                 and only adds
//      Each round adds for a window of `roundMs` (6 or 10 intervals, so
//      several flushes), in chunks of CHUNK adds with a setImmediate between
//      them (as an application's requests leave the loop now and then;
//      without it the timers could never run). The same chunking and the
//      same loop function in every variant; time/op = the window's wall
//      time ÷ its adds. A synced round opens its own
//      table object and sync, waits for the lease and one flush before the
//      window, and closes them after it: no sync runs during another
//      variant's round.
//   2. Redis commands per second against operations per second: adds at
//      full speed (and once at ~10,000/s) over K distinct keys, K = 1, 100,
//      10,000, this process the flusher, interval 100 ms: the commands the
//      sync's client sends per second (counted on its sendCommand), the
//      calls the server runs per second (INFO commandstats, reset before the
//      window: it counts the calls inside scripts too; the monitor's INFO and
//      CONFIG left out), keys sent/s and batches/s from sync.stats().
//   3. What a flush costs the flusher: a 100,000-capacity table holding
//      50,000 keys, C = 0, 100, 10,000 of them changed, then `await
//      sync.flush()` timed (interval set far away so no timer flush
//      interferes): wall time (scan + round trip), this thread's busy time
//      (event-loop utilization: the time taken from the application) and
//      CPU time; medians.
//
// Every count is checked exactly: after each part, the totals in Redis
// (RedisDict.loadMany on `{name}:d`, another client) equal the local values.
//
// Run by benchmark/run.js in a child process of its own; standalone:
//   node benchmark/sync.js [quick|full]
// prints the results as JSON. Internal: node benchmark/sync.js --flusher
// (the remote flusher, driven over IPC).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { HOST, findOnPath, startRedis } = require('./redis-server')
const childProcess = require('node:child_process')
const { performance } = require('node:perf_hooks')
const { setImmediate: yieldToLoop, setTimeout: sleep } = require('node:timers/promises')

const quickArg = process.argv[2] === 'quick'
const CONFIG = {
  interval: 100, // ms, the sync's interval in parts 1 and 2
  capacity: 100_000,
  keys: 1000, // part 1's distinct keys
  chunk: 10_000, // adds between two yields to the event loop
  rounds: quickArg ? 3 : 15, // part 1: interleaved rounds per variant; figure: the median
  roundMs: quickArg ? 600 : 1000, // part 1: the timed window of a round (~10 intervals in full)
  distinct: [1, 100, 10_000], // part 2: distinct changed keys per interval
  rateMs: quickArg ? 1000 : 3000, // part 2: the window of a row
  limitedRate: 10_000, // part 2: adds/s of the rate-limited row
  scanPresent: 50_000, // part 3: keys present in the 100,000-capacity table
  scanChanged: [0, 100, 10_000], // part 3: keys changed before a flush
  scanReps: quickArg ? 5 : 21, // part 3: flushes timed per C; figure: the median
}

const log = (msg) => process.stderr.write(`${msg}\n`)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}


function client(port) {
  const Redis = require('ioredis')
  const c = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, retryStrategy: () => null })
  c.on('error', () => {}) // reported by the commands that fail
  return c
}

/**
 * Counts the commands `c` (an ioredis client) sends, by name, in `sent`:
 * every command goes through its sendCommand, pipelined ones too (INFO
 * commandstats counts the calls a script makes as well, so it cannot tell).
 */
function countSent(c) {
  const sent = {}
  const send = c.sendCommand
  c.sendCommand = function (command, ...rest) {
    const n = String(command?.name ?? '?').toLowerCase()
    sent[n] = (sent[n] ?? 0) + 1
    return send.call(this, command, ...rest)
  }
  return sent
}

/** INFO commandstats as { command: calls }. */
async function commandCalls(c) {
  const text = await c.info('commandstats')
  const out = {}
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2])
  return out
}

/** Resolves once `test()` is true; rejects after `ms`. */
async function until(test, ms, what) {
  const end = Date.now() + ms
  while (!test()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await sleep(5)
  }
}

/**
 * Makes `sync` the host's flusher: flush() takes the lease when it is free
 * (the first timer tick comes one interval after syncToRedis); then waits
 * for it (another process may be letting it go).
 */
async function takeLease(sync, what) {
  if (!sync.flusher) await sync.flush()
  await until(() => sync.flusher, 5000, what)
}

/** 64-bit keys from a seeded PRNG (mulberry32), distinct, none 0. */
function keySet(n, seed) {
  let a = seed >>> 0
  const next32 = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return BigInt((t ^ (t >>> 14)) >>> 0)
  }
  const set = new Set()
  while (set.size < n) {
    const k = (next32() << 32n) | next32()
    if (k !== 0n) set.add(k)
  }
  return [...set]
}

const shmPath = (tag) => path.join('/dev/shm', `atomic-dict-bench-sync-${process.pid}-${tag}`)

function removeTable(file) {
  const { AtomicDict } = require('..')
  try {
    AtomicDict.unlink(file)
  } catch {
    // not there
  }
  fs.rmSync(`${file}.sync`, { force: true }) // the sync's state file (its default name)
}

/** Checks that the Redis totals of `name` equal `expected` (a Map key → bigint), through another client. */
async function checkTotals(port, name, expected) {
  const { RedisDict } = require('../lib/redis')
  const c = client(port)
  try {
    const d = new RedisDict(c, name, { valueBits: 64, capacity: 2 ** 31 })
    const keys = [...expected.keys()]
    for (let i = 0; i < keys.length; i += 1000) {
      const part = keys.slice(i, i + 1000)
      const got = await d.loadMany(part)
      for (let j = 0; j < part.length; j++) {
        const want = expected.get(part[j])
        if (got[j] !== want) throw new Error(`${name}: Redis total of key ${part[j]} is ${got[j]}, expected ${want} (a lost or doubled delta)`)
      }
    }
  } finally {
    c.disconnect()
  }
}

// ---------------------------------------------------------------------------
// The add loop, `passes` passes over `keys`: one function for every variant,
// so each runs the same compiled code (AtomicDict's add, which they share
// anyway, sees both plain and guarded table objects in this process).

function adds(t, keys, passes) {
  for (let p = 0; p < passes; p++) for (let i = 0; i < keys.length; i++) t.add(keys[i], 1n)
}

/**
 * Adds for `ms`, in chunks of `passes` passes, yielding to the event loop
 * between them; returns { ops, ms, passes, addMs, cpuMs, addCpuMs } (addMs:
 * the time inside the chunks; the rest went to the event loop: the yields,
 * and the timers and replies of a sync; cpuMs: this process's CPU time,
 * which leaves out the time other processes took the core: redis-server, a
 * remote flusher, anything else on the machine; addCpuMs: the CPU time
 * inside the chunks, process.cpuUsage() around each, about 1 µs a chunk of
 * some 250 µs, the same in every variant).
 */
async function addWindow(loop, t, keys, passes, ms) {
  let ops = 0
  let done = 0
  let addMs = 0
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const end = t0 + ms
  let now = t0
  let addCpuUs = 0
  do {
    const u = process.cpuUsage()
    loop(t, keys, passes)
    const du = process.cpuUsage(u)
    addCpuUs += du.user + du.system
    done += passes
    ops += passes * keys.length
    addMs += performance.now() - now
    await yieldToLoop()
    now = performance.now()
  } while (now < end)
  const cpu = process.cpuUsage(c0)
  return { ops, ms: now - t0, passes: done, addMs, cpuMs: (cpu.user + cpu.system) / 1000, addCpuMs: addCpuUs / 1000 }
}

// ---------------------------------------------------------------------------
// The remote flusher: a child of this file, driven over IPC.

async function flusherChild() {
  const { AtomicDict } = require('..')
  const { syncToRedis } = require('../lib/redis')
  const [port, file, name, interval] = process.argv.slice(3)
  const c = client(Number(port))
  let t = null
  let sync = null
  process.on('message', async (m) => {
    try {
      if (m.start) {
        t = AtomicDict.open(file, { capacity: CONFIG.capacity })
        sync = syncToRedis(t, c, name, { interval: Number(interval) })
        await takeLease(sync, 'the remote flusher\'s lease')
        await sync.flush()
        const { batches, keys } = sync.stats()
        process.send({ started: true, batches, keys })
      } else if (m.stop) {
        const { batches, keys } = sync.stats() // before the final flush of close()
        await sync.close()
        t.close()
        sync = t = null
        process.send({ stopped: true, batches, keys })
      } else if (m.exit) {
        c.disconnect()
        process.exit(0)
      }
    } catch (err) {
      process.send({ error: err.stack ?? String(err) })
    }
  })
  process.send({ ready: true })
}

function nextMessage(child, test, what) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m.error) {
        cleanup()
        reject(new Error(`${what}: ${m.error}`))
      } else if (test(m)) {
        cleanup()
        resolve(m)
      }
    }
    const onExit = (code, signal) => {
      cleanup()
      reject(new Error(`${what} exited with ${signal ?? code}`))
    }
    const cleanup = () => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

// ---------------------------------------------------------------------------
// 1. local.add without and with a sync.

async function partAdd(port) {
  const { AtomicDict } = require('..')
  const { syncToRedis } = require('../lib/redis')
  const name = 'bench-add'
  const file = shmPath('add')
  removeTable(file)
  const keys = keySet(CONFIG.keys, 1)
  const passes = Math.max(1, Math.round(CONFIG.chunk / keys.length))
  const c = client(port)
  const child = childProcess.fork(__filename, ['--flusher', String(port), file, name, String(CONFIG.interval)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let totalPasses = 0
  const flushes = { flusher: [], remote: [] }
  try {
    await nextMessage(child, (m) => m.ready, 'the remote flusher')
    const variants = [
      {
        id: 'none',
        label: 'local.add(k, 1n), no sync',
        async round() {
          const t = AtomicDict.open(file, { capacity: CONFIG.capacity })
          adds(t, keys, 1) // this object's keys seen before the window
          totalPasses += 1
          const w = await addWindow(adds, t, keys, passes, CONFIG.roundMs)
          t.close()
          return w
        },
      },
      {
        id: 'flusher',
        label: `local.add(k, 1n), syncToRedis({ interval: ${CONFIG.interval} }) here, this process the flusher`,
        basis: 'none',
        async round() {
          const t = AtomicDict.open(file, { capacity: CONFIG.capacity })
          const sync = syncToRedis(t, c, name, { interval: CONFIG.interval })
          await takeLease(sync, 'the lease')
          adds(t, keys, 1)
          totalPasses += 1
          await sync.flush()
          const s0 = sync.stats()
          const w = await addWindow(adds, t, keys, passes, CONFIG.roundMs)
          const s1 = sync.stats()
          flushes.flusher.push({ batches: s1.batches - s0.batches, keys: s1.keys - s0.keys })
          await sync.close()
          t.close()
          return w
        },
      },
      {
        id: 'remote',
        label: 'local.add(k, 1n), syncToRedis({ flush: false }) here, the flusher another process',
        basis: 'none',
        async round() {
          child.send({ start: true })
          const s0 = await nextMessage(child, (m) => m.started, 'the remote flusher')
          const t = AtomicDict.open(file, { capacity: CONFIG.capacity })
          const sync = syncToRedis(t, c, name, { interval: CONFIG.interval, flush: false })
          if (sync.flusher) throw new Error('a sync with { flush: false } holds the lease')
          adds(t, keys, 1)
          totalPasses += 1
          const w = await addWindow(adds, t, keys, passes, CONFIG.roundMs)
          await sync.close()
          t.close()
          child.send({ stop: true })
          const s1 = await nextMessage(child, (m) => m.stopped, 'the remote flusher')
          flushes.remote.push({ batches: s1.batches - s0.batches, keys: s1.keys - s0.keys })
          return w
        },
      },
    ]
    // Warm-up: one short round of each (JIT, the script loaded in Redis).
    for (const v of variants) {
      const w = await v.round()
      totalPasses += w.passes
    }
    const per = Object.fromEntries(variants.map((v) => [v.id, []]))
    const inAdds = Object.fromEntries(variants.map((v) => [v.id, []])) // ns/op inside the chunks
    const outside = Object.fromEntries(variants.map((v) => [v.id, []])) // ms per s outside them
    const cpu = Object.fromEntries(variants.map((v) => [v.id, []])) // this process's CPU ns/op
    const addCpu = Object.fromEntries(variants.map((v) => [v.id, []])) // its CPU ns/op inside the chunks
    for (let round = 0; round < CONFIG.rounds; round++) {
      const order = round % 2 ? [...variants].reverse() : variants
      for (const v of order) {
        const w = await v.round()
        totalPasses += w.passes
        per[v.id].push((w.ms * 1e6) / w.ops)
        inAdds[v.id].push((w.addMs * 1e6) / w.ops)
        outside[v.id].push(((w.ms - w.addMs) * 1000) / w.ms)
        cpu[v.id].push((w.cpuMs * 1e6) / w.ops)
        addCpu[v.id].push((w.addCpuMs * 1e6) / w.ops)
      }
    }
    // Every add of every round is in Redis exactly once: one last flush, then the totals.
    const t = AtomicDict.open(file, { capacity: CONFIG.capacity })
    const sync = syncToRedis(t, c, name, { interval: CONFIG.interval })
    await takeLease(sync, 'the lease')
    await sync.flush()
    await sync.close()
    const expected = new Map(keys.map((k) => [k, BigInt(totalPasses)]))
    for (const k of keys) if (t.load(k) !== BigInt(totalPasses)) throw new Error(`local value of ${k}: ${t.load(k)}, expected ${totalPasses}`)
    t.close()
    await checkTotals(port, name, expected)

    const results = variants.map((v) => {
      const ns = median(per[v.id])
      return {
        id: v.id,
        label: v.label,
        basis: v.basis ?? null,
        nsPerOp: ns,
        opsPerSec: 1e9 / ns,
        roundsNsPerOp: per[v.id],
        addNsPerOp: median(inAdds[v.id]),
        outsideMsPerSec: median(outside[v.id]),
        cpuNsPerOp: median(cpu[v.id]),
        addCpuNsPerOp: median(addCpu[v.id]),
        roundsCpuNsPerOp: cpu[v.id],
      }
    })
    for (const r of results) {
      if (!r.basis) continue
      const b = results.find((x) => x.id === r.basis)
      r.ratio = r.nsPerOp / b.nsPerOp
      r.pairedRatioMedian = median(r.roundsNsPerOp.map((x, i) => x / b.roundsNsPerOp[i]))
      r.cpuRatio = r.cpuNsPerOp / b.cpuNsPerOp
      const f = flushes[r.id].slice(-CONFIG.rounds)
      r.batchesPerRound = median(f.map((x) => x.batches))
      r.keysPerRound = median(f.map((x) => x.keys))
    }
    return { keys: keys.length, capacity: CONFIG.capacity, passesPerChunk: passes, addsPerChunk: passes * keys.length, results, checked: true }
  } finally {
    if (child.connected) child.send({ exit: true })
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve))
    c.disconnect()
    removeTable(file)
  }
}

// ---------------------------------------------------------------------------
// 2. Redis commands per second against operations per second.

async function partRate(port) {
  const { AtomicDict } = require('..')
  const { syncToRedis } = require('../lib/redis')
  const mon = client(port)
  const c = client(port)
  const sentBy = countSent(c)
  const rows = []
  const cases = CONFIG.distinct.map((k) => ({ k, limited: false }))
  cases.splice(2, 0, { k: 100, limited: true })
  try {
    for (const { k, limited } of cases) {
      const tag = `rate-${k}${limited ? '-limited' : ''}`
      const name = `bench-${tag}`
      const file = shmPath(tag)
      removeTable(file)
      const keys = keySet(k, 100 + k)
      const t = AtomicDict.open(file, { capacity: CONFIG.capacity })
      const sync = syncToRedis(t, c, name, { interval: CONFIG.interval })
      try {
        await takeLease(sync, 'the lease')
        let passes = 0
        adds(t, keys, 1)
        passes += 1
        await sync.flush()
        const s0 = sync.stats()
        await mon.config('RESETSTAT')
        const sent0 = { ...sentBy }
        let w
        if (!limited) {
          const chunkPasses = Math.max(1, Math.round(CONFIG.chunk / keys.length))
          w = await addWindow(adds, t, keys, chunkPasses, CONFIG.rateMs)
        } else {
          // ~limitedRate adds/s: one pass over the keys every keys.length / limitedRate s.
          const every = (1000 * keys.length) / CONFIG.limitedRate
          const t0 = performance.now()
          let ops = 0
          let done = 0
          let now = t0
          while (now - t0 < CONFIG.rateMs) {
            adds(t, keys, 1)
            done++
            ops += keys.length
            const next = t0 + done * every
            await sleep(Math.max(0, next - performance.now()))
            now = performance.now()
          }
          w = { ops, ms: now - t0, passes: done }
        }
        const sent1 = { ...sentBy }
        const calls = await commandCalls(mon)
        const s1 = sync.stats()
        passes += w.passes
        await sync.close()
        const expected = new Map(keys.map((key) => [key, BigInt(passes)]))
        await checkTotals(port, name, expected)
        const sec = w.ms / 1000
        // Sent by the sync's client (the wire), and run by the server (with the calls its scripts make).
        const sentPerSec = {}
        let sentTotal = 0
        for (const [cmd, n] of Object.entries(sent1)) {
          const d = n - (sent0[cmd] ?? 0)
          if (!d) continue
          sentPerSec[cmd] = d / sec
          sentTotal += d
        }
        const serverPerSec = {}
        let serverTotal = 0
        for (const [cmd, n] of Object.entries(calls)) {
          if (cmd === 'info' || cmd === 'config' || cmd.startsWith('config|')) continue // the monitor's own
          serverPerSec[cmd] = n / sec
          serverTotal += n
        }
        const batches = s1.batches - s0.batches
        const sent = s1.keys - s0.keys
        rows.push({
          distinct: k,
          limited,
          opsPerSec: w.ops / sec,
          seconds: sec,
          commandsPerSec: sentTotal / sec,
          commandsPerSecByCommand: sentPerSec,
          evalPerSec: (sentPerSec.evalsha ?? 0) + (sentPerSec.eval ?? 0) + (sentPerSec.fcall ?? 0),
          serverCallsPerSec: serverTotal / sec,
          serverCallsPerSecByCommand: serverPerSec,
          batchesPerSec: batches / sec,
          keysPerSec: sent / sec,
          keysPerBatch: batches ? sent / batches : 0,
          commandsPerOp: sentTotal / w.ops,
          checked: true,
        })
      } finally {
        if (!t.closed) {
          await sync.close().catch(() => {})
          t.close()
        }
        removeTable(file)
      }
    }
    return { interval: CONFIG.interval, windowMs: CONFIG.rateMs, rows }
  } finally {
    mon.disconnect()
    c.disconnect()
  }
}

// ---------------------------------------------------------------------------
// 3. What a flush costs the flusher.

async function partScan(port) {
  const { AtomicDict } = require('..')
  const { syncToRedis } = require('../lib/redis')
  const name = 'bench-scan'
  const file = shmPath('scan')
  removeTable(file)
  const keys = keySet(CONFIG.scanPresent, 7)
  const c = client(port)
  const t = AtomicDict.open(file, { capacity: CONFIG.capacity })
  const expected = new Map()
  // far away: no timer flush between a change and the timed flush
  const sync = syncToRedis(t, c, name, { interval: 3_600_000 })
  try {
    await takeLease(sync, 'the lease')
    for (const k of keys) {
      t.add(k, 1n)
      expected.set(k, 1n)
    }
    // every present key, once (a batch holds at most so many keys: several flushes)
    // (the sync's first tick, at once, may send a batch of them too: counted from stats())
    const first = { outcome: null, keys: 0, flushes: 0, ms: 0 }
    const k0 = sync.stats().keys
    const f0 = performance.now()
    for (;;) {
      const r = await sync.flush()
      if (!r.keys) break
      first.outcome = r.outcome
      first.flushes++
      if (first.flushes > 1000) throw new Error('the first flushes do not end')
    }
    first.ms = performance.now() - f0
    first.keys = sync.stats().keys - k0
    const rows = []
    let at = 0
    for (const changed of CONFIG.scanChanged) {
      const wall = []
      const busy = []
      const cpu = []
      const outcomes = {}
      let sentKeys = null
      for (let rep = -1; rep < CONFIG.scanReps; rep++) {
        for (let i = 0; i < changed; i++) {
          const k = keys[at]
          at = (at + 1) % keys.length
          t.add(k, 1n)
          expected.set(k, expected.get(k) + 1n)
        }
        const e0 = performance.eventLoopUtilization()
        const c0 = process.cpuUsage()
        const t0 = performance.now()
        const r = await sync.flush()
        const ms = performance.now() - t0
        const cu = process.cpuUsage(c0)
        const e = performance.eventLoopUtilization(e0)
        if (rep < 0) continue // warm-up
        if (r.keys !== changed) throw new Error(`flush after ${changed} changed keys sent ${r.keys}`)
        sentKeys = r.keys
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
        wall.push(ms)
        busy.push(e.active)
        cpu.push((cu.user + cu.system) / 1000)
      }
      rows.push({ changed, sentKeys, outcomes, wallMs: median(wall), busyMs: median(busy), cpuMs: median(cpu), samples: wall.length, wallMsAll: wall })
    }
    await sync.close()
    await checkTotals(port, name, expected)
    return { capacity: CONFIG.capacity, present: keys.length, reps: CONFIG.scanReps, firstFlush: first, rows, checked: true }
  } finally {
    if (!t.closed) {
      await sync.close().catch(() => {})
      t.close()
    }
    c.disconnect()
    removeTable(file)
  }
}

// ---------------------------------------------------------------------------

async function measure() {
  const bin = findOnPath('redis-server')
  if (!bin) return { skipped: 'redis-server not found on PATH' }
  let syncToRedis
  try {
    ;({ syncToRedis } = require('../lib/redis'))
  } catch (err) {
    return { skipped: `lib/redis does not load: ${err.message}` }
  }
  if (typeof syncToRedis !== 'function') return { skipped: 'lib/redis has no syncToRedis' }
  const began = performance.now()
  const loadBefore = os.loadavg()
  const server = await startRedis(bin, 'atomic-dict-bench-sync-redis-')
  try {
    const probe = client(server.port)
    const version = (await probe.info('server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown'
    probe.disconnect()
    log('  sync 1/3: local.add without and with a sync…')
    const add = await partAdd(server.port)
    log('  sync 2/3: Redis commands/s against adds/s…')
    const rate = await partRate(server.port)
    log('  sync 3/3: flush time of a 100,000-capacity table…')
    const scan = await partScan(server.port)
    return {
      version,
      ioredisVersion: require('ioredis/package.json').version,
      config: { ...CONFIG, quick: quickArg },
      add,
      rate,
      scan,
      checked: add.checked && rate.rows.every((r) => r.checked) && scan.checked,
      loadAverage: { before: loadBefore, after: os.loadavg() },
      seconds: (performance.now() - began) / 1000,
    }
  } finally {
    await server.stop()
  }
}

async function main() {
  if (process.argv[2] === '--flusher') return flusherChild()
  let r
  try {
    r = await measure()
  } catch (err) {
    r = { error: err.message, stack: err.stack }
  }
  if (process.send) process.send(r, () => process.exit(0))
  else {
    console.log(JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? String(v) : v), 2))
    process.exit(0)
  }
}

if (require.main === module) main()
