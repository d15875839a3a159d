'use strict'
// The Redis backend (lib/redis, RedisDict) beside ioredis' own INCRBY, in one
// redis-server session (the Redis section of `npm run bench`):
//
//   awaited, one at a time (client without auto-pipelining):
//     incrby         await client.incrby(key, 1)            the basis
//     add            await d.add(1n, 1n)                    64-bit table
//     add32          await d32.add(1, 1)                    32-bit table
//     addString      await d.add('GET /api/users', 1n)      string key (SipHash part)
//     cas            await d.cas(2n, v, v + 1n)             always succeeds
//   auto-pipelined (a second client, enableAutoPipelining: true), in waves of
//   `window` operations in flight, each wave awaited (as benchmark/run.js'
//   INCR peer does):
//     incrby.pipelined   client.incrby(key, 1)              the basis
//     add.pipelined      d.add(3n, 1n)                      64-bit table
//
// Every kind runs once per round, rounds interleaved (A B A B …, the order
// reversed every other round); a figure is the median of its rounds. Every
// count is checked exactly: each reply equals the count before it, and the
// final value equals warm-ups + rounds × operations.
//
// Beside the time, per operation: this process' CPU (process.cpuUsage) and
// redis-server's (utime + stime from /proc/<pid>/stat, summed over the rounds;
// clock ticks of 10 ms, so read it over the whole run), and the server's own
// time per command (INFO commandstats, usec_per_call: EVALSHA's includes the
// HGET/HSET it calls). Then, in two child processes of this file, a CPU
// profile (V8's sampling profiler, the one `node --cpu-prof` starts, started
// here through node:inspector around the loop only) of the auto-pipelined
// add loop and of the INCRBY loop: self time by function and by group
// (lib/redis, ioredis, node internals, garbage collector), and GC events.
//
// Run by benchmark/run.js in a child process of its own; standalone:
//   node benchmark/redis.js [quick|full]
// prints the results as JSON (and the .cpuprofile paths, loadable in Chrome
// DevTools). Internal: node benchmark/redis.js --profile <port> <kind> <ops> <window>

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { HOST, findOnPath, startRedis } = require('./redis-server')
const childProcess = require('node:child_process')
const { performance, PerformanceObserver } = require('node:perf_hooks')

const ROOT = path.join(__dirname, '..')

const quickArg = process.argv[2] === 'quick'
const CONFIG = {
  rounds: quickArg ? 3 : 9, // interleaved rounds; figure: the median
  awaited: quickArg ? 400 : 2000, // awaited operations per kind and round
  pipelined: quickArg ? 4096 : 32_768, // auto-pipelined operations per kind and round
  window: 128, // auto-pipelined operations in flight at once
  warmAwaited: 300,
  warmWaves: 20,
  profileOps: quickArg ? 20_480 : 131_072, // auto-pipelined operations under the profiler, per kind
  profileIntervalUs: 100, // the profiler's sampling interval
  profileTop: 15, // functions listed by self time
}

const log = (msg) => process.stderr.write(`${msg}\n`)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const CLK_TCK = (() => {
  const r = childProcess.spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  const n = Number(`${r.stdout ?? ''}`.trim())
  return Number.isInteger(n) && n > 0 ? n : 100
})()

/** A process' CPU time so far (user + system), in ns, from /proc/<pid>/stat (clock-tick resolution). */
function procCpuNs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // f[0] is field 3 (state)
  return ((Number(f[11]) + Number(f[12])) * 1e9) / CLK_TCK // fields 14 utime, 15 stime
}

const selfCpuNs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}

function client(port, extra = {}) {
  const Redis = require('ioredis')
  const c = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, retryStrategy: () => null, ...extra })
  c.on('error', () => {}) // reported by the commands that fail
  return c
}

/** ioredis' INFO commandstats as { command: { calls, usec, usecPerCall } }. */
async function commandStats(c) {
  const text = await c.info('commandstats')
  const out = {}
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/gm)) {
    out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]), usecPerCall: Number(m[4]) }
  }
  return out
}

// ---------------------------------------------------------------------------
// The operations. Each kind: `run(n)` performs n operations and checks every
// reply against its own count (kept here), returning nothing.

function check(what, got, expected) {
  if (got !== expected) throw new Error(`${what}: got ${got}, expected ${expected} (a lost or doubled operation)`)
}

function kinds({ plain, pipe, RedisDict, window, tag = '' }) {
  const d = new RedisDict(plain, `bench${tag}`, { capacity: 1024 })
  const d32 = new RedisDict(plain, `bench32${tag}`, { capacity: 1024, valueBits: 32 })
  const dp = new RedisDict(pipe, `bench${tag}`, { capacity: 1024 })
  const incrKey = `bench${tag}:incrby`
  const incrPipeKey = `bench${tag}:incrby-pipelined`
  const counts = { incrby: 0, add: 0n, add32: 0, addString: 0n, cas: 0n, 'incrby.pipelined': 0, 'add.pipelined': 0n }

  // Waves of `window` operations issued in one tick (one write, with auto-pipelining), each wave awaited.
  async function waves(n, issue, onReply) {
    for (let done = 0; done < n; done += window) {
      const m = Math.min(window, n - done)
      const inFlight = new Array(m)
      for (let i = 0; i < m; i++) inFlight[i] = issue()
      const replies = await Promise.all(inFlight)
      for (let i = 0; i < m; i++) onReply(replies[i])
    }
  }
  // A wave's replies come in any order as far as this code is concerned: check
  // that they are exactly the counts before this wave's operations (a set).
  function waveChecker(what, kind, asBig) {
    return async (n, issue) => {
      const seen = new Set()
      const before = counts[kind]
      await waves(n, issue, (r) => seen.add(asBig ? r : Number(r)))
      const expectedLast = asBig ? before + BigInt(n) : before + n
      check(`${what}: distinct replies`, seen.size, n)
      for (const r of seen) {
        const ok = asBig ? r >= before && r < expectedLast : r > before && r <= expectedLast
        if (!ok) throw new Error(`${what}: reply ${r} outside (${before}, ${expectedLast}]`)
      }
      counts[kind] = expectedLast
    }
  }
  const incrbyWaves = waveChecker('auto-pipelined incrby', 'incrby.pipelined', false)
  const addWaves = waveChecker('auto-pipelined RedisDict add', 'add.pipelined', true)

  const list = [
    {
      id: 'incrby',
      label: 'ioredis await incrby(key, 1)',
      mode: 'awaited',
      async run(n) {
        for (let i = 0; i < n; i++) check('incrby', await plain.incrby(incrKey, 1), ++counts.incrby)
      },
    },
    {
      id: 'add',
      label: 'RedisDict await d.add(1n, 1n), 64-bit',
      mode: 'awaited',
      basis: 'incrby',
      async run(n) {
        for (let i = 0; i < n; i++) check('RedisDict add', await d.add(1n, 1n), counts.add++)
      },
    },
    {
      id: 'add32',
      label: 'RedisDict await d.add(1, 1), 32-bit table',
      mode: 'awaited',
      basis: 'incrby',
      async run(n) {
        for (let i = 0; i < n; i++) check('RedisDict add, 32-bit', await d32.add(1, 1), counts.add32++)
      },
    },
    {
      id: 'addString',
      label: 'RedisDict await d.add(\'GET /api/users\', 1n), string key',
      mode: 'awaited',
      basis: 'incrby',
      async run(n) {
        for (let i = 0; i < n; i++) check('RedisDict add, string key', await d.add('GET /api/users', 1n), counts.addString++)
      },
    },
    {
      id: 'cas',
      label: 'RedisDict await d.cas(2n, v, v + 1n), succeeding',
      mode: 'awaited',
      basis: 'incrby',
      async run(n) {
        for (let i = 0; i < n; i++) {
          const v = counts.cas
          check('RedisDict cas', await d.cas(2n, v, v + 1n), v)
          counts.cas = v + 1n
        }
      },
    },
    {
      id: 'incrby.pipelined',
      label: `ioredis incrby(key, 1), auto-pipelined, ${window} in flight`,
      mode: 'pipelined',
      run: (n) => incrbyWaves(n, () => pipe.incrby(incrPipeKey, 1)),
    },
    {
      id: 'add.pipelined',
      label: `RedisDict d.add(3n, 1n), auto-pipelined, ${window} in flight`,
      mode: 'pipelined',
      basis: 'incrby.pipelined',
      run: (n) => addWaves(n, () => dp.add(3n, 1n)),
    },
  ]

  // Every total read back once more at the end, by other commands than the ones timed.
  async function finalCheck() {
    check('incrby total', Number(await plain.get(incrKey)), counts.incrby)
    check('incrby.pipelined total', Number(await plain.get(incrPipeKey)), counts['incrby.pipelined'])
    check('add total', await d.load(1n), counts.add)
    check('add32 total', await d32.load(1), counts.add32)
    check('addString total', await d.load('GET /api/users'), counts.addString)
    check('cas total', await d.load(2n), counts.cas)
    check('add.pipelined total', await d.load(3n), counts['add.pipelined'])
    // the keys of table `bench${tag}` used so far: 1n, the string key, 2n, 3n
    check('table size', await d.size(), [counts.add, counts.addString, counts.cas, counts['add.pipelined']].filter((c) => c > 0n).length)
    return counts
  }

  return { list, ready: () => Promise.all([d.ready(), d32.ready(), dp.ready()]), finalCheck }
}

// ---------------------------------------------------------------------------
// The profile of one auto-pipelined loop, in a process of its own.

async function profileChild(port, kind, ops, window) {
  const inspector = require('node:inspector')
  const { RedisDict } = require('../lib/redis')
  const plain = client(port)
  const pipe = client(port, { enableAutoPipelining: true })
  const k = kinds({ plain, pipe, RedisDict, window, tag: `-profile-${kind}` })
  await k.ready()
  const op = k.list.find((x) => x.id === kind)
  await op.run(CONFIG.warmWaves * window * 4)

  const session = new inspector.Session()
  session.connect()
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))))
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: CONFIG.profileIntervalUs })
  const gc = { count: 0, ms: 0, byKind: {} }
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++
      gc.ms += e.duration
      const name = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' }[e.detail?.kind] ?? String(e.detail?.kind)
      gc.byKind[name] = (gc.byKind[name] ?? 0) + 1
    }
  })
  obs.observe({ entryTypes: ['gc'] })
  await post('Profiler.start')
  const cpu0 = selfCpuNs()
  const t0 = performance.now()
  await op.run(ops)
  const wallMs = performance.now() - t0
  const cpuNs = selfCpuNs() - cpu0
  const { profile } = await post('Profiler.stop')
  await new Promise((resolve) => setImmediate(resolve)) // the last GC entries
  obs.disconnect()
  session.disconnect()
  await k.finalCheck()
  const file = path.join(os.tmpdir(), `atomic-dict-bench-redis-${kind}.cpuprofile`)
  fs.writeFileSync(file, JSON.stringify(profile))
  plain.disconnect()
  pipe.disconnect()
  return { kind, ops, window, wallNsPerOp: (wallMs * 1e6) / ops, cpuNsPerOp: cpuNs / ops, gc: { ...gc, nsPerOp: (gc.ms * 1e6) / ops }, file, ...summarizeProfile(profile, ops) }
}

// ioredis functions whose inclusive time is listed beside lib/'s: sending a
// command, and reading replies.
const INCLUSIVE_IOREDIS = /^node_modules\/(ioredis|redis-parser)\/.*:(sendCommand|evalshaBuffer|incrby|toWritable|Command|exec|Pipeline\.exec|execute|returnReply|handleReply|parseReply|dataHandler)$/

/** Self time by function and by group, and inclusive time of lib/ and ioredis' entry points, from a V8 CPU profile. */
function summarizeProfile(profile, ops) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const next = profile.timeDeltas[i + 1] ?? 0 // a sample's time: until the next sample
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + next)
  }
  const fns = new Map()
  const groups = {}
  let total = 0
  let idle = 0
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame
    const where = url.startsWith('file://') ? path.relative(ROOT, url.slice(7)) : url
    const name = functionName || '(anonymous)'
    const group = name === '(idle)' ? 'idle'
      : name === '(garbage collector)' ? 'garbage collector'
        : name === '(program)' ? 'program (V8/native, outside JS)'
          : where.startsWith('lib/redis/') ? 'lib/redis'
            : where.startsWith('lib/') ? 'lib (key and value checks, errors)'
              : where.startsWith('node_modules/ioredis/') ? 'ioredis'
                : where.startsWith('node_modules/') ? `node_modules/${where.split('/')[1]}`
                  : where.startsWith('node:') ? 'node internals'
                    : where === '' ? 'native builtins (no script)' : where
    total += us
    if (group === 'idle') idle += us
    groups[group] = (groups[group] ?? 0) + us
    const key = `${name} ${where}:${lineNumber + 1}`
    const f = fns.get(key) ?? { function: name, where: where ? `${where}:${lineNumber + 1}` : '', group, selfUs: 0 }
    f.selfUs += us
    fns.set(key, f)
  }
  // Inclusive time of the functions of lib/ and of ioredis' entry points:
  // every sample under them, counted once per function however deep.
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const inclusive = new Map()
  for (const [id, us] of selfUs) {
    const seen = new Set()
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at).callFrame
      const where = url.startsWith('file://') ? path.relative(ROOT, url.slice(7)) : url
      if (!where.startsWith('lib/') && !INCLUSIVE_IOREDIS.test(`${where}:${functionName}`)) continue
      const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + us)
    }
  }
  const busy = total - idle
  const share = (us) => us / busy
  const top = [...fns.values()].filter((f) => f.group !== 'idle').sort((a, b) => b.selfUs - a.selfUs).slice(0, CONFIG.profileTop)
  return {
    sampledMs: total / 1000,
    busyMs: busy / 1000,
    idleShare: idle / total,
    busyNsPerOp: (busy * 1000) / ops,
    gcShareOfBusy: share(groups['garbage collector'] ?? 0),
    groups: Object.entries(groups)
      .filter(([g]) => g !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([group, us]) => ({ group, selfMs: us / 1000, shareOfBusy: share(us), nsPerOp: (us * 1000) / ops })),
    top: top.map((f) => ({ ...f, selfMs: f.selfUs / 1000, shareOfBusy: share(f.selfUs), nsPerOp: (f.selfUs * 1000) / ops })),
    inclusive: [...inclusive.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, CONFIG.profileTop)
      .map(([key, us]) => ({ function: key, totalMs: us / 1000, shareOfBusy: share(us), nsPerOp: (us * 1000) / ops })),
  }
}

function runProfileChild(port, kind, ops, window) {
  return new Promise((resolve, reject) => {
    const child = childProcess.fork(__filename, ['--profile', String(port), kind, String(ops), String(window)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let result
    child.on('message', (m) => {
      result = m
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (result?.error) reject(new Error(`profile of ${kind}: ${result.error}`))
      else if (result !== undefined && code === 0) resolve(result)
      else reject(new Error(`profile of ${kind} exited with ${signal ?? code}`))
    })
  })
}

// ---------------------------------------------------------------------------
// The section

async function measure() {
  const bin = findOnPath('redis-server')
  if (!bin) return { skipped: 'redis-server not found on PATH' }
  const { RedisDict } = require('../lib/redis')
  const began = performance.now()
  const server = await startRedis(bin)
  const plain = client(server.port)
  const pipe = client(server.port, { enableAutoPipelining: true })
  try {
    const version = (await plain.info('server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown'
    const ioredisVersion = require('ioredis/package.json').version
    const k = kinds({ plain, pipe, RedisDict, window: CONFIG.window })
    await k.ready()
    const n = (op) => (op.mode === 'awaited' ? CONFIG.awaited : CONFIG.pipelined)
    for (const op of k.list) await op.run(op.mode === 'awaited' ? CONFIG.warmAwaited : CONFIG.warmWaves * CONFIG.window)
    await plain.config('RESETSTAT')

    const per = Object.fromEntries(k.list.map((op) => [op.id, { nsPerOp: [], clientCpuNs: 0, serverCpuNs: 0, ops: 0 }]))
    for (let round = 0; round < CONFIG.rounds; round++) {
      const order = round % 2 ? [...k.list].reverse() : k.list
      for (const op of order) {
        const count = n(op)
        const s0 = procCpuNs(server.pid)
        const c0 = selfCpuNs()
        const t0 = performance.now()
        await op.run(count)
        const ms = performance.now() - t0
        const p = per[op.id]
        p.clientCpuNs += selfCpuNs() - c0
        p.serverCpuNs += procCpuNs(server.pid) - s0
        p.ops += count
        p.nsPerOp.push((ms * 1e6) / count)
      }
    }
    const stats = await commandStats(plain)
    const counts = await k.finalCheck()

    const results = k.list.map((op) => {
      const p = per[op.id]
      const ns = median(p.nsPerOp)
      return {
        id: op.id,
        label: op.label,
        mode: op.mode,
        opsPerRound: n(op),
        basis: op.basis ?? null,
        nsPerOp: ns,
        opsPerSec: 1e9 / ns,
        roundsNsPerOp: p.nsPerOp,
        clientCpuNsPerOp: p.clientCpuNs / p.ops,
        serverCpuNsPerOp: p.serverCpuNs / p.ops,
        // /proc/<pid>/stat counts clock ticks: few ticks, a coarse figure
        serverCpuTicks: Math.round((p.serverCpuNs * CLK_TCK) / 1e9),
      }
    })
    for (const r of results) {
      if (!r.basis) continue
      const b = results.find((x) => x.id === r.basis)
      // latency: ns ÷ the basis' ns (≤ 1 is as fast); throughput: ops/s ÷ the basis' ops/s (≥ 1 is as fast)
      r.ratio = r.mode === 'awaited' ? r.nsPerOp / b.nsPerOp : r.opsPerSec / b.opsPerSec
      r.ratioKind = r.mode === 'awaited' ? 'latency' : 'throughput'
      const paired = r.roundsNsPerOp.map((x, i) => (r.mode === 'awaited' ? x / b.roundsNsPerOp[i] : b.roundsNsPerOp[i] / x))
      r.pairedRatioMedian = median(paired)
      r.serverCpuVsBasis = b.serverCpuNsPerOp > 0 ? r.serverCpuNsPerOp / b.serverCpuNsPerOp : null
      r.clientCpuVsBasis = r.clientCpuNsPerOp / b.clientCpuNsPerOp
    }

    const profiles = []
    for (const kind of ['add.pipelined', 'incrby.pipelined']) {
      log(`  profile: ${kind}, ${CONFIG.profileOps} operations under the V8 sampling profiler (${CONFIG.profileIntervalUs} µs)…`)
      try {
        profiles.push(await runProfileChild(server.port, kind, CONFIG.profileOps, CONFIG.window))
      } catch (err) {
        profiles.push({ kind, error: err.message })
      }
    }

    const pick = (...names) => Object.fromEntries(names.filter((c) => stats[c]).map((c) => [c, stats[c]]))
    return {
      version,
      ioredisVersion,
      bin,
      config: { ...CONFIG, quick: quickArg },
      clockTicksPerSecond: CLK_TCK,
      results,
      counts: Object.fromEntries(Object.entries(counts).map(([key, v]) => [key, String(v)])),
      checked: true,
      commandStats: pick('incrby', 'evalsha', 'eval', 'hget', 'hset', 'hlen'),
      profiles,
      seconds: (performance.now() - began) / 1000,
    }
  } finally {
    plain.disconnect()
    pipe.disconnect()
    await server.stop()
  }
}

async function main() {
  if (process.argv[2] === '--profile') {
    const [port, kind, ops, window] = process.argv.slice(3)
    let r
    try {
      r = await profileChild(Number(port), kind, Number(ops), Number(window))
    } catch (err) {
      r = { error: err.stack ?? String(err) }
    }
    if (process.send) process.send(r, () => process.exit(0))
    else console.log(JSON.stringify(r, null, 2))
    return
  }
  let r
  try {
    r = await measure()
  } catch (err) {
    r = { error: err.message, stack: err.stack }
  }
  if (process.send) process.send(r, () => process.exit(0))
  else console.log(JSON.stringify(r, null, 2))
}

if (require.main === module) main()

module.exports = { summarizeProfile }
