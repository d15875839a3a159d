'use strict'
// npm run bench [-- --with-rust] [-- --quick]
//
// The whole benchmark in one run, so every ratio compares figures measured
// side by side on the same machine at about the same time:
//   1. single process, 64-bit and 32-bit tables (benchmark/single.js, tinybench),
//      with Atomics.add and a JS Map measured in the same process;
//   2. peers across processes: an IPC counter in a parent process, Redis INCR;
//   3. the native core (criterion results in target/criterion, from
//      `cargo bench --bench core`, run first with --with-rust);
//   4. shared memory per entry of a named 1 Mi-capacity table;
//   5. 1, 2, 4, 8 processes on their own keys and on one key, and the
//      seed's ticket example (examples/tickets.js);
// then prints a table, writes benchmark/results/results.json and
// benchmark/results/scaling.svg.

const fs = require('node:fs')
const os = require('node:os')
const net = require('node:net')
const path = require('node:path')
const childProcess = require('node:child_process')
const { once } = require('node:events')
const { performance } = require('node:perf_hooks')
const { setTimeout: sleep } = require('node:timers/promises')
const { AtomicDict, fork } = require('..')
const { workerKeys } = require('./scaling-keys')
const { scalingSvg } = require('./chart')

const ROOT = path.join(__dirname, '..')
const RESULTS = path.join(__dirname, 'results')
const args = new Set(process.argv.slice(2))
const WITH_RUST = args.has('--with-rust')
const QUICK = args.has('--quick') // a smoke test: shorter everything, same outputs

const CONFIG = {
  singleTaskMs: QUICK ? 100 : 250, // tinybench time budget per task and pass
  singlePasses: QUICK ? 1 : 5, // figures are the lowest median over the passes
  ipcRoundTrips: QUICK ? 1000 : 4000,
  redisRoundTrips: QUICK ? 1000 : 4000,
  scalingProcesses: [1, 2, 4, 8],
  scalingOpsPerProcess: QUICK ? 500_000 : 4_000_000,
  scalingRounds: QUICK ? 1 : 5, // figure: the median round
  ticketRuns: QUICK ? 1 : 3, // figure: the best run
  memoryCapacity: 1 << 20,
}

// The Python seed's README example on this machine: 1,048,576 operations in
// about 0.35 s.
const SEED_TICKETS = { ops: 1_048_576, seconds: 0.35, opsPerSec: 1_048_576 / 0.35 }

const TARGETS = {
  slotAddVsAtomics: 1.3,
  seenAddVsAtomics: 2.5,
  firstUseNs: 150,
  insertNs: 150,
  peerFactor: 1000,
  ticketsVsSeed: 5,
  bytesPerEntry: 22,
  page: 4096,
}

const log = (msg) => process.stderr.write(`${msg}\n`)

// ---------------------------------------------------------------------------
// Child processes

/** Forks a Node script and resolves with its single message (rejects on failure). */
function forkForMessage(script, argv) {
  return new Promise((resolve, reject) => {
    const child = childProcess.fork(path.join(__dirname, script), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let result
    child.on('message', (m) => {
      result = m
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (result !== undefined && code === 0) resolve(result)
      else reject(new Error(`${script} ${argv.join(' ')} exited with ${signal ?? code}`))
    })
  })
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const file = path.join(dir, name)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      if (fs.statSync(file).isFile()) return file
    } catch {
      // not here
    }
  }
  return null
}

// ---------------------------------------------------------------------------
// 3. The native core: criterion's results

function runCargoBench() {
  log('cargo bench --bench core -- --quick …')
  const r = childProcess.spawnSync('cargo', ['bench', '--bench', 'core', '--', '--quick'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit status ${r.status ?? r.signal}`
    const tail = `${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n')
    log(`cargo bench failed (${why}); continuing with whatever target/criterion holds.\n${tail}`)
    return { ok: false, error: why, stderrTail: tail }
  }
  log('cargo bench done')
  return { ok: true }
}

/** Every criterion benchmark under target/criterion: its id and mean (ns). */
function readCriterion() {
  const dir = path.join(ROOT, 'target', 'criterion')
  const found = []
  const walk = (d) => {
    let entries
    try {
      entries = fs.readdirSync(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue
      const sub = path.join(d, e.name)
      if (e.name === 'new') {
        const est = path.join(sub, 'estimates.json')
        if (!fs.existsSync(est)) continue
        let id = path.relative(dir, d).split(path.sep).join('/')
        try {
          id = JSON.parse(fs.readFileSync(path.join(sub, 'benchmark.json'), 'utf8')).full_id ?? id
        } catch {
          // the directory path is the id
        }
        const mean = JSON.parse(fs.readFileSync(est, 'utf8')).mean
        found.push({ id, meanNs: mean.point_estimate, measuredAt: fs.statSync(est).mtime.toISOString() })
      } else if (e.name !== 'report' && e.name !== 'base' && e.name !== 'change') {
        walk(sub)
      }
    }
  }
  walk(dir)
  return found.sort((a, b) => a.id.localeCompare(b.id))
}

// Which JS figure a criterion benchmark is the native floor of. Ids are
// core/<name>[_32][_memfd].
const NATIVE_TWINS = [
  [/^atomic_fetch_add/, 'atomics'],
  [/^fetch_add_row/, 'slot.add'],
  [/^find_add_existing/, 'add.seen.bigint'],
  [/^find_add_1mi/, 'add.first.bigint'],
  [/^insert_new/, 'store.new.bigint'],
  [/^load/, 'load.bigint'],
  [/^cas_increment/, 'cas.bigint'],
]

function nativeTwin(id) {
  const name = id.split('/').pop()
  const bits = /_32(_|$)/.test(name) ? 32 : 64
  for (const [re, js] of NATIVE_TWINS) if (re.test(name)) return { bits, js }
  return null
}

// ---------------------------------------------------------------------------
// 2. Peers across processes

/** A counter in this (parent) process, reached by awaited IPC round trips. */
async function ipcPeer(n) {
  const child = childProcess.fork(path.join(__dirname, 'ipc-client.js'), [String(n)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let counter = 0
  const done = new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (m.op === 'incr') child.send({ value: ++counter })
      else if (m.done) resolve(m)
    })
    child.on('error', reject)
    child.on('exit', (code) => reject(new Error(`ipc-client exited with ${code}`)))
  })
  const r = await done
  await once(child, 'exit').catch(() => {})
  const nsPerOp = (r.ms * 1e6) / r.ops
  return { roundTrips: r.ops, nsPerOp, opsPerSec: 1e9 / nsPerOp, counter }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Redis INCR over loopback through ioredis, awaited one at a time. */
async function redisPeer(n) {
  const bin = findOnPath('redis-server')
  if (!bin) return { skipped: 'redis-server not found: skipped', nsPerOp: null, opsPerSec: null }
  const port = await freePort()
  const server = childProcess.spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  server.stderr.on('data', (d) => {
    stderr += d
  })
  const exited = once(server, 'exit')
  const Redis = require('ioredis')
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  client.on('error', () => {}) // connection refusals while the server starts
  try {
    let connected = false
    for (let attempt = 0; attempt < 100 && !connected; attempt++) {
      if (server.exitCode !== null) throw new Error(`redis-server exited: ${stderr.trim()}`)
      try {
        await client.connect()
        connected = true
      } catch {
        client.disconnect()
        await sleep(50)
      }
    }
    if (!connected) throw new Error('redis-server did not accept connections within 5 s')
    const key = 'atomic-dict-bench'
    await client.del(key)
    for (let i = 0; i < 300; i++) await client.incr(key)
    const start = performance.now()
    let last = 0
    for (let i = 0; i < n; i++) last = await client.incr(key)
    const ms = performance.now() - start
    const nsPerOp = (ms * 1e6) / n
    return { roundTrips: n, nsPerOp, opsPerSec: 1e9 / nsPerOp, last, version: (await client.info('server')).match(/redis_version:(\S+)/)?.[1] }
  } catch (err) {
    return { skipped: `redis failed: ${err.message}`, nsPerOp: null, opsPerSec: null }
  } finally {
    client.disconnect()
    if (server.exitCode === null) server.kill('SIGTERM')
    await exited
  }
}

// ---------------------------------------------------------------------------
// 4. Shared memory per entry

function memoryPerEntry(capacity) {
  const out = {}
  for (const valueBits of [64, 32]) {
    const file = path.join('/dev/shm', `atomic-dict-bench-${process.pid}-${valueBits}`)
    const dict = AtomicDict.open(file, { capacity, valueBits })
    try {
      const fd = fs.openSync(file, 'r')
      const st = fs.fstatSync(fd)
      fs.closeSync(fd)
      out[valueBits] = {
        capacity,
        fileBytes: st.size,
        allocatedBytes: st.blocks * 512,
        bytesPerEntry: st.size / capacity,
        bytesPerEntryLessPage: (st.size - TARGETS.page) / capacity,
      }
    } finally {
      dict.close()
      AtomicDict.unlink(file)
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// 5. Multi-process

function nextMessage(child, test) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (!test(m)) return
      cleanup()
      resolve(m)
    }
    const onExit = (code) => {
      cleanup()
      reject(new Error(`scaling worker exited with ${code}`))
    }
    const cleanup = () => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

async function scalingRun(processes, mode, ops, rounds) {
  const dict = new AtomicDict(4096)
  const children = []
  for (let w = 0; w < processes; w++) {
    children.push(fork(path.join(__dirname, 'scaling-worker.js'), [String(w), mode, String(ops), String(processes)], {
      share: { dict },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }))
  }
  try {
    await Promise.all(children.map((c) => nextMessage(c, (m) => m.warm)))
    const results = []
    for (let round = 1; round <= rounds; round++) {
      const reports = children.map((c) => nextMessage(c, (m) => m.round === round))
      // The processes start together by themselves: a Latch per round.
      for (const c of children) c.send({ round })
      const r = await Promise.all(reports)
      const seconds = (Math.max(...r.map((x) => x.end)) - Math.min(...r.map((x) => x.start))) / 1000
      const total = r.reduce((n, x) => n + x.ops, 0)
      results.push({ seconds, ops: total, opsPerSec: total / seconds })
    }
    // Exact check: every add landed.
    const keys = new Set()
    for (let w = 0; w < processes; w++) for (const k of workerKeys(mode, w)) keys.add(k)
    let sum = 0n
    for (const k of keys) sum += dict.load(k)
    const expected = BigInt(processes * ops * rounds)
    if (sum !== expected) throw new Error(`${processes} processes, ${mode}: counted ${sum}, expected ${expected}`)
    const sorted = results.map((r) => r.opsPerSec).sort((a, b) => a - b)
    return { processes, mode, opsPerProcess: ops, rounds: results, opsPerSec: sorted[(sorted.length - 1) >> 1] }
  } finally {
    for (const c of children) if (c.connected) c.send({ exit: true })
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : null)))
    dict.close()
  }
}

function ticketExample() {
  const r = childProcess.spawnSync(process.execPath, [path.join(ROOT, 'examples', 'tickets.js')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  })
  const m = /work phase: (\d+) operations in ([\d.]+) s = ([\d.]+) M ops\/s/.exec(r.stdout ?? '')
  if (r.status !== 0 || !m) {
    throw new Error(`examples/tickets.js failed (${r.error?.message ?? r.status}): ${r.stdout}${r.stderr}`)
  }
  const ops = Number(m[1])
  const seconds = Number(m[2])
  return { ops, seconds, opsPerSec: ops / seconds, checked: /each present once with a worker id: yes/.test(r.stdout) }
}

// ---------------------------------------------------------------------------
// Output

function fmtNs(ns) {
  if (ns === null || ns === undefined) return '—'
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`
  return ns >= 100 ? ns.toFixed(0) : ns.toFixed(1)
}

function fmtOps(ops) {
  if (ops === null || ops === undefined) return '—'
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(ops >= 1e8 ? 0 : 2)} M`
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} K`
  return ops.toFixed(0)
}

const fmtX = (x) => (x === null || x === undefined ? '—' : `${x >= 100 ? x.toFixed(0) : x.toFixed(2)}x`)
const fmtFrac = (x) => `1/${x >= 100 ? x.toFixed(0) : x.toFixed(1)}x`

function printTable(title, header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)))
  const right = header.map((_, i) => i > 0 && i < 4)
  const line = (cells) =>
    cells.map((c, i) => (right[i] ? String(c ?? '').padStart(widths[i]) : String(c ?? '').padEnd(widths[i]))).join('  ').trimEnd()
  console.log(`\n${title}`)
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of rows) console.log(line(r))
}

const verdict = (met) => (met === null ? 'skipped' : met ? 'met' : 'NOT MET')

// ---------------------------------------------------------------------------

async function main() {
  const began = Date.now()
  fs.mkdirSync(RESULTS, { recursive: true })
  const out = {
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      availableParallelism: os.availableParallelism?.() ?? null,
      node: process.version,
      v8: process.versions.v8,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      totalMemoryBytes: os.totalmem(),
      date: new Date().toISOString(),
    },
    config: { ...CONFIG, withRust: WITH_RUST, quick: QUICK },
    seed: SEED_TICKETS,
    targets: [],
  }

  if (WITH_RUST) out.cargoBench = runCargoBench()

  // 1. Single process (each width in its own fresh process; tinybench inside).
  out.single = {}
  for (const bits of [64, 32]) {
    log(`single process, ${bits}-bit values (tinybench, ${CONFIG.singlePasses} × ${CONFIG.singleTaskMs} ms per task)…`)
    out.single[bits] = await forkForMessage('single.js', [String(bits), String(CONFIG.singleTaskMs), String(CONFIG.singlePasses)])
  }
  const fig = (bits, id) => out.single[bits].results.find((r) => r.id === id)
  const ours = fig(64, 'add.seen.bigint') // the figure peers are compared with

  // 2. Peers across processes.
  log(`IPC counter: ${CONFIG.ipcRoundTrips} awaited round trips…`)
  out.ipc = await ipcPeer(CONFIG.ipcRoundTrips)
  log('Redis INCR…')
  out.redis = await redisPeer(CONFIG.redisRoundTrips)
  if (out.redis.skipped) log(out.redis.skipped)

  // 3. Native.
  out.native = readCriterion().map((n) => {
    const twin = nativeTwin(n.id)
    const js = twin && out.single[twin.bits].results.find((r) => r.id === twin.js)
    return { ...n, jsTwin: js ? { bits: twin.bits, id: js.id, label: js.label, nsPerOp: js.nsPerOp } : null, jsOverNative: js ? js.nsPerOp / n.meanNs : null }
  })

  // 4. Memory.
  out.memory = memoryPerEntry(CONFIG.memoryCapacity)

  // 5. Multi-process.
  out.scaling = []
  for (const mode of ['own', 'one']) {
    for (const n of CONFIG.scalingProcesses) {
      log(`${n} process${n > 1 ? 'es' : ''}, ${mode === 'own' ? 'own keys' : 'one key'}…`)
      out.scaling.push(await scalingRun(n, mode, CONFIG.scalingOpsPerProcess, CONFIG.scalingRounds))
    }
  }
  out.tickets = { runs: [] }
  for (let i = 0; i < CONFIG.ticketRuns; i++) {
    log(`examples/tickets.js, run ${i + 1}/${CONFIG.ticketRuns}…`)
    out.tickets.runs.push(ticketExample())
  }
  out.tickets.best = out.tickets.runs.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a))
  out.tickets.vsSeed = out.tickets.best.opsPerSec / SEED_TICKETS.opsPerSec

  // ---- Targets, and the printed tables.
  const target = (name, value, limit, met) => {
    out.targets.push({ name, value, limit, met })
    return verdict(met)
  }
  const HEADER = ['benchmark', 'ns/op', 'ops/s', 'vs Atomics.add', 'target', 'status']

  for (const bits of [64, 32]) {
    const s = out.single[bits]
    const base = fig(bits, 'atomics').nsPerOp
    const rows = []
    for (const r of s.results) {
      const ratio = r.nsPerOp / base
      r.vsAtomics = ratio
      let t = ''
      let status = ''
      if (r.id === 'slot.add') {
        t = `≤ ${TARGETS.slotAddVsAtomics}x Atomics.add`
        status = target(`${bits}-bit ${r.label}`, ratio, TARGETS.slotAddVsAtomics, ratio <= TARGETS.slotAddVsAtomics)
      } else if (r.id.startsWith('add.seen')) {
        t = `≤ ${TARGETS.seenAddVsAtomics}x Atomics.add`
        status = target(`${bits}-bit ${r.label}`, ratio, TARGETS.seenAddVsAtomics, ratio <= TARGETS.seenAddVsAtomics)
      } else if (r.id.startsWith('add.first')) {
        t = `≤ ${TARGETS.firstUseNs} ns`
        status = target(`${bits}-bit ${r.label}`, r.nsPerOp, TARGETS.firstUseNs, r.nsPerOp <= TARGETS.firstUseNs)
      } else if (r.id.startsWith('store.new')) {
        t = `≤ ${TARGETS.insertNs} ns`
        status = target(`${bits}-bit ${r.label}`, r.nsPerOp, TARGETS.insertNs, r.nsPerOp <= TARGETS.insertNs)
      }
      rows.push([r.label, fmtNs(r.nsPerOp), fmtOps(r.opsPerSec), fmtX(ratio), t, status])
    }
    printTable(`Single process, ${bits}-bit values (${bits === 64 ? 'bigint' : 'number'}); median of batch means, best of ${s.passes} pass(es)`, HEADER, rows)
    const noisy = s.results.filter((r) => Math.max(...r.passMediansNs) / Math.min(...r.passMediansNs) > 1.3)
    if (noisy.length) {
      console.log(`  noisy machine: pass medians differed by more than 30% for ${noisy.map((r) => r.id).join(', ')} (all in results.json)`)
    }
  }

  // Peers across processes.
  const base64 = fig(64, 'atomics').nsPerOp
  const peerRows = []
  const peerLines = []
  for (const [name, p] of [['IPC counter in a parent process, awaited round trip', out.ipc], ['Redis INCR over loopback (ioredis, awaited)', out.redis]]) {
    if (p.skipped) {
      peerRows.push([name, '—', '—', '—', `≥ ${TARGETS.peerFactor}x fewer ops/s`, target(name, null, TARGETS.peerFactor, null)])
      p.oursOverPeer = null
      peerLines.push(`${name.split(' ')[0] === 'Redis' ? 'Redis INCR' : 'IPC counter'}: ${p.skipped}`)
      continue
    }
    p.oursOverPeer = ours.opsPerSec / p.opsPerSec
    const met = p.oursOverPeer >= TARGETS.peerFactor
    peerRows.push([name, fmtNs(p.nsPerOp), fmtOps(p.opsPerSec), fmtX(p.nsPerOp / base64), `≥ ${TARGETS.peerFactor}x fewer ops/s`, target(name, p.oursOverPeer, TARGETS.peerFactor, met)])
    peerLines.push(`${name.startsWith('Redis') ? 'Redis INCR' : 'IPC counter'}: ${fmtFrac(p.oursOverPeer)} of dict.add (64-bit, seen bigint key, ${fmtOps(ours.opsPerSec)} ops/s)`)
  }
  for (const id of ['map.number', 'map.bigint']) {
    const m = fig(64, id)
    peerLines.push(`${m.label}: ${m.opsPerSec >= ours.opsPerSec ? `${fmtX(m.opsPerSec / ours.opsPerSec)}` : fmtFrac(ours.opsPerSec / m.opsPerSec)} of dict.add (one process only: not shared)`)
  }
  printTable('Peers across processes (vs Atomics.add: the 64-bit in-process limit)', HEADER, peerRows)
  for (const l of peerLines) console.log(`  ${l}`)

  // Native.
  if (out.native.length) {
    const rows = out.native.map((n) => [
      n.id,
      fmtNs(n.meanNs),
      fmtOps(1e9 / n.meanNs),
      n.jsTwin ? `${n.jsTwin.label} (${n.jsTwin.bits}-bit)` : '',
      n.jsTwin ? fmtNs(n.jsTwin.nsPerOp) : '',
      n.jsOverNative ? fmtX(n.jsOverNative) : '',
    ])
    const when = out.native.map((n) => n.measuredAt).sort().pop()
    printTable(
      `Native core (criterion mean, target/criterion, measured ${when}${WITH_RUST ? '' : '; not re-run: pass --with-rust'})`,
      ['criterion id', 'ns/op', 'ops/s', 'JS counterpart', 'JS ns/op', 'JS / native'],
      rows,
    )
  } else {
    console.log('\nNative core: no criterion results in target/criterion (run `npm run bench -- --with-rust`)')
  }

  // Memory.
  const mem = out.memory[64]
  const memLimit = TARGETS.bytesPerEntry * mem.capacity + TARGETS.page
  printTable('Shared memory (named table under /dev/shm, capacity 1 Mi; fstat size ÷ capacity)', ['table', 'file bytes', 'bytes/entry', '', 'target', 'status'], [
    ['64-bit values (default shape)', String(mem.fileBytes), mem.bytesPerEntry.toFixed(2), '', `≤ ${TARGETS.bytesPerEntry} B/entry + 1 page`, target('bytes per entry (64-bit values), file size', mem.fileBytes, memLimit, mem.fileBytes <= memLimit)],
    ['32-bit values', String(out.memory[32].fileBytes), out.memory[32].bytesPerEntry.toFixed(2), '', '', ''],
  ])

  // Scaling.
  const by = (mode, n) => out.scaling.find((s) => s.mode === mode && s.processes === n)
  const one1 = by('own', 1).opsPerSec
  printTable(
    `Multi-process: dict.add(key, 1n), ${fmtOps(CONFIG.scalingOpsPerProcess)} ops per process, total ops/s (median of ${CONFIG.scalingRounds} round(s)); ${out.machine.cores} cores`,
    ['processes', 'own keys', 'one key', 'own vs 1 process', 'one vs 1 process'],
    CONFIG.scalingProcesses.map((n) => [String(n), fmtOps(by('own', n).opsPerSec), fmtOps(by('one', n).opsPerSec), fmtX(by('own', n).opsPerSec / one1), fmtX(by('one', n).opsPerSec / one1)]),
  )
  const tk = out.tickets.best
  printTable('Ticket example (examples/tickets.js: 8 processes, add + store per iteration), work phase', HEADER, [
    ['Python seed (README example, this machine)', '', fmtOps(SEED_TICKETS.opsPerSec), '', '', ''],
    [`atomic-dict (best of ${out.tickets.runs.length})`, fmtNs(1e9 / tk.opsPerSec), fmtOps(tk.opsPerSec), '', `≥ ${TARGETS.ticketsVsSeed}x the seed`, target('ticket work phase vs seed', out.tickets.vsSeed, TARGETS.ticketsVsSeed, out.tickets.vsSeed >= TARGETS.ticketsVsSeed)],
  ])
  console.log(`  ${fmtX(out.tickets.vsSeed)} the seed's ${fmtOps(SEED_TICKETS.opsPerSec)} ops/s; runs: ${out.tickets.runs.map((r) => fmtOps(r.opsPerSec)).join(', ')}; checked: ${out.tickets.runs.every((r) => r.checked) ? 'yes' : 'NO'}`)

  const met = out.targets.filter((t) => t.met === true).length
  const missed = out.targets.filter((t) => t.met === false)
  const skipped = out.targets.filter((t) => t.met === null).length
  console.log(`\nTargets: ${met} met, ${missed.length} not met${skipped ? `, ${skipped} skipped` : ''}${missed.length ? ':' : ''}`)
  for (const t of missed) console.log(`  NOT MET: ${t.name}`)

  // ---- Files.
  out.durationSeconds = (Date.now() - began) / 1000
  fs.writeFileSync(path.join(RESULTS, 'results.json'), JSON.stringify(out, null, 2) + '\n')
  const svg = await scalingSvg(
    out.scaling.map((s) => ({ processes: s.processes, mode: s.mode === 'own' ? 'own keys (16 per process)' : 'one key (all processes)', opsPerSec: s.opsPerSec })),
    {
      title: 'atomic-dict: dict.add(key, 1n) across processes',
      subtitle: `${out.machine.cores} × ${out.machine.cpu}, Node ${process.version}, ${out.machine.date.slice(0, 10)}; ${fmtOps(CONFIG.scalingOpsPerProcess)} adds per process, median of ${CONFIG.scalingRounds} rounds`,
    },
  )
  fs.writeFileSync(path.join(RESULTS, 'scaling.svg'), svg)
  console.log(`\nWrote ${path.relative(ROOT, path.join(RESULTS, 'results.json'))} and ${path.relative(ROOT, path.join(RESULTS, 'scaling.svg'))} in ${out.durationSeconds.toFixed(0)} s`)
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}

module.exports = { ipcPeer, redisPeer, memoryPerEntry, scalingRun, ticketExample, readCriterion }
