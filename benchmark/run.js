'use strict'
// npm run bench [-- --quick] [-- --no-rust]
//
// The whole benchmark in one run, so every ratio compares figures measured
// side by side on the same machine at about the same time:
//   1. the native core: `cargo bench --bench core -- --quick` (criterion;
//      skipped with --no-rust), read back from target/criterion;
//   2. single process, 64-bit and 32-bit tables (benchmark/single.js,
//      tinybench), with Atomics.add, a JS Map and Buffer#indexOf measured in
//      the same process; the Python seed's single-process figures
//      (benchmark/seed-single.py) when atomic-dict 0.5.0 is importable;
//   3. peers across processes: an IPC counter in a parent process, Redis INCR
//      (awaited and auto-pipelined); and the Redis backend, RedisDict of
//      lib/redis, beside ioredis' INCRBY in one redis-server session, rounds
//      interleaved, with a CPU profile of its auto-pipelined loop
//      (benchmark/redis.js, in a child process of its own); and syncToRedis:
//      local.add with and without a sync attached, Redis commands/s against
//      adds/s, the time of a flush (benchmark/sync.js, a child process);
//   4. shared memory per entry of a named 1 Mi-capacity table;
//   5. 1, 2, 4, 8 processes on their own keys and on one key, and the
//      seed's README example: examples/tickets.js beside the seed itself
//      (benchmark/seed-tickets.py), runs interleaved;
//   6. the metrics module beside prom-client (benchmark/metrics.js, in a
//      child process of its own): counter.inc, histogram.observe and more
//      against prom-client's own in the same process, one registry.metrics()
//      over 10,000 series against prom-client's, 1, 2, 4 processes on one
//      counter, and a 4-worker cluster scrape against prom-client's
//      AggregatorRegistry;
// then prints a table per section, and writes benchmark/results/results.json,
// benchmark/results/summary.md (the targets as a markdown table) and
// benchmark/results/scaling.svg. A target that is not met is reported, not
// an error: the exit status is non-zero only when something crashed.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { findOnPath, freePort } = require('./redis-server')
const childProcess = require('node:child_process')
const { once } = require('node:events')
const { performance } = require('node:perf_hooks')
const { setTimeout: sleep } = require('node:timers/promises')
const { AtomicDict, fork } = require('..')
const { workerKeys } = require('./scaling-keys')
const { scalingSvg } = require('./chart')
const { nextMessage } = require('./children')

const ROOT = path.join(__dirname, '..')
const RESULTS = path.join(__dirname, 'results')
const FLAGS = ['--quick', '--no-rust', '--with-rust']
const args = new Set(process.argv.slice(2))
for (const a of args) if (!FLAGS.includes(a)) throw new Error(`unknown option ${a} (known: ${FLAGS.join(', ')})`)
const NO_RUST = args.has('--no-rust') // --with-rust is the default now, and accepted
const QUICK = args.has('--quick') // a smoke test: shorter everything, same outputs

const CONFIG = {
  singleTaskMs: QUICK ? 100 : 250, // tinybench time budget per task and pass
  singlePasses: QUICK ? 1 : 5, // figures are the lowest median over the passes
  ipcRoundTrips: QUICK ? 1000 : 4000,
  redisRoundTrips: QUICK ? 1000 : 4000,
  redisPipelined: QUICK ? 10_000 : 40_000,
  redisPipelineWindow: 128, // auto-pipelined INCRs in flight at once
  scalingProcesses: [1, 2, 4, 8],
  scalingOpsPerProcess: QUICK ? 500_000 : 4_000_000,
  scalingRounds: QUICK ? 1 : 5, // figure: the median round
  ticketRuns: QUICK ? 2 : 5, // Node's example and the seed's, interleaved; figure: the best run of each
  seedSinglePasses: QUICK ? 1 : 3,
  seedSingleScale: QUICK ? 0.25 : 1,
  memoryCapacity: 1 << 20,
  metricsTaskMs: QUICK ? 100 : 250, // the metrics section's tinybench budget per task and pass
  metricsPasses: QUICK ? 1 : 5, // its hot-path figures are the lowest median over the passes
}

// The seed's README example as recorded on this kind of machine
// (1,048,576 operations in about 0.35 s). Used only when Python's
// atomic-dict 0.5.0 is not installed, labelled "not measured in this run",
// and the target against it is then skipped.
const SEED_VERSION = '0.5.0'
const SEED_TICKETS_FALLBACK = {
  ops: 1_048_576,
  seconds: 0.35,
  opsPerSec: 1_048_576 / 0.35,
  source: 'the seed\'s figure recorded on this kind of machine: not measured in this run',
}

const TARGETS = {
  slotAddVsAtomics: 1.3, // ≤, ns/op ÷ Atomics.add ns/op
  seenAddVsAtomics: 2.5, // ≤, one-part seen key
  compositeVsAtomics: 3, // ≤, [bigint, number] and ['GET', '/api', 200]
  firstUseVsCore: 1.5, // ≤, add.first.* ÷ core/find_add_2mi_memfd
  insertVsCore: 1.5, // ≤, store.new.* ÷ core/insert_new_memfd
  iterationVsIndexOf: 3, // ≤, one pass ÷ Buffer#indexOf over as many bytes
  bulkVsSingle: 4, // ≥, single calls' ns/key ÷ bulk ns/key
  ticketsVsSeed: 2, // ≥, Node's work phase ops/s ÷ the seed's, same run
  peerFactor: 1000, // ≥, dict.add ops/s ÷ the peer's
  redisAddLatencyVsIncrby: 1.2, // ≤, awaited RedisDict add ns/op ÷ awaited ioredis incrby ns/op, same server, interleaved
  redisAddThroughputVsIncrby: 0.8, // ≥, auto-pipelined RedisDict add ops/s ÷ auto-pipelined INCRBY ops/s, same window
  syncAddVsNone: 1.1, // ≤, local.add ns/op with syncToRedis attached ÷ without, same table, interleaved rounds
  bytesPerEntry: 22, // ≤, file size ÷ capacity (one page of header allowed)
  page: 4096,
  metricsIncVsProm: 1, // ≤, store counter.inc(labels) ns/op ÷ prom-client's, same process
  metricsObserveVsProm: 1, // ≤, store histogram.observe(labels, v) ns/op ÷ prom-client's
  metricsScrapeVsProm: 2, // ≤, one registry.metrics() over 10,000 series ÷ prom-client's, steady state
}

// The criterion ids each ratio target divides by: the same operation on a
// table of the same size in the same kind of memory (a memfd). A `_32` twin
// is used for 32-bit tables when benches/core.rs has one; otherwise the
// 64-bit figure, and the basis says so.
const CORE_BASIS = {
  firstUse: { 64: /^core\/find_add_2mi_memfd$/, 32: /^core\/find_add_2mi_32_memfd$/ },
  insert: { 64: /^core\/insert_new_memfd$/, 32: /^core\/insert_new_32_memfd$/ },
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


// ---------------------------------------------------------------------------
// 1. The native core: criterion's results

function runCargoBench() {
  log('cargo bench --bench core -- --quick …')
  const started = new Date()
  const r = childProcess.spawnSync('cargo', ['bench', '--bench', 'core', '--', '--quick'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 15 * 60_000,
  })
  const seconds = (Date.now() - started.getTime()) / 1000
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit status ${r.status ?? r.signal}`
    const tail = `${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n')
    log(`cargo bench failed (${why}); its targets are skipped, the rest runs.\n${tail}`)
    return { ok: false, startedAt: started.toISOString(), seconds, error: why, stderrTail: tail }
  }
  log(`cargo bench done in ${seconds.toFixed(0)} s`)
  return { ok: true, startedAt: started.toISOString(), seconds }
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

// Which JS figure a criterion benchmark is the native floor of (shown side by
// side; the targets use CORE_BASIS). Ids are core/<name>[_32][_memfd].
const NATIVE_TWINS = [
  [/^atomic_fetch_add/, 'atomics'],
  [/^fetch_add_row/, 'slot.add'],
  [/^find_add_existing/, 'add.seen.bigint'],
  [/^find_add_many_2mi/, 'addMany.first.bigint'],
  [/^find_add_2mi/, 'add.first.bigint'],
  [/^insert_many/, 'storeMany.new.bigint'],
  [/^insert_new/, 'store.new.bigint'],
  [/^scan_sparse/, 'iter.keys'],
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
// The Python seed (atomic-dict 0.5.0), when python3 on PATH can import it

function seedPython() {
  const python = findOnPath('python3')
  if (!python) return { available: false, why: 'python3 not on PATH' }
  const r = childProcess.spawnSync(python, ['-c', 'import sys, atomic_dict; print(atomic_dict.__version__, sys.version.split()[0])'], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (r.status !== 0) return { available: false, python, why: `python3 cannot import atomic_dict (pip install atomic-dict==${SEED_VERSION})` }
  const [version, pythonVersion] = r.stdout.trim().split(/\s+/)
  if (version !== SEED_VERSION) return { available: false, python, version, why: `atomic_dict ${version} installed, not ${SEED_VERSION}` }
  return { available: true, python, version, pythonVersion }
}

/** Runs a Python script of this folder and returns the JSON of its last output line. */
function runPython(python, script, argv, timeoutMs) {
  const r = childProcess.spawnSync(python, [path.join(__dirname, script), ...argv], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  })
  const last = `${r.stdout ?? ''}`.trim().split('\n').pop()
  let json = null
  try {
    json = JSON.parse(last)
  } catch {
    // reported below
  }
  if (r.error || r.status !== 0 || !json) {
    const why = r.error ? r.error.message : `exit status ${r.status ?? r.signal}`
    return { error: `${script} failed (${why}): ${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim().slice(-800)}`, result: json }
  }
  return { result: json }
}

// ---------------------------------------------------------------------------
// 3. Peers across processes

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

/**
 * Redis INCR over loopback through ioredis: awaited one at a time, then
 * auto-pipelined (`enableAutoPipelining`, `window` INCRs in flight at once,
 * as a busy server's concurrent requests would issue them).
 */
async function redisPeer(n, pipelined, window) {
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
  const options = { host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null }
  const client = new Redis(options)
  const pipe = new Redis({ ...options, enableAutoPipelining: true })
  client.on('error', () => {}) // connection refusals while the server starts
  pipe.on('error', () => {})
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
    const version = (await client.info('server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown'
    const key = 'atomic-dict-bench'
    await client.del(key)
    for (let i = 0; i < 300; i++) await client.incr(key)
    let start = performance.now()
    let last = 0
    for (let i = 0; i < n; i++) last = await client.incr(key)
    let ms = performance.now() - start
    if (last !== 300 + n) throw new Error(`awaited INCR counted ${last}, expected ${300 + n}`)
    const nsPerOp = (ms * 1e6) / n

    await pipe.connect()
    const pkey = 'atomic-dict-bench-pipelined'
    await pipe.del(pkey)
    const burst = async (count) => {
      let top = 0
      for (let done = 0; done < count; done += window) {
        const inFlight = []
        for (let i = 0; i < Math.min(window, count - done); i++) inFlight.push(pipe.incr(pkey))
        top = Math.max(top, ...(await Promise.all(inFlight)))
      }
      return top
    }
    await burst(10 * window)
    start = performance.now()
    const top = await burst(pipelined)
    ms = performance.now() - start
    if (top !== 10 * window + pipelined) throw new Error(`pipelined INCR counted ${top}, expected ${10 * window + pipelined}`)
    const pipeNs = (ms * 1e6) / pipelined
    return {
      version,
      bin,
      roundTrips: n,
      nsPerOp,
      opsPerSec: 1e9 / nsPerOp,
      last,
      pipelined: { ops: pipelined, window, nsPerOp: pipeNs, opsPerSec: 1e9 / pipeNs },
    }
  } catch (err) {
    return { skipped: `redis failed: ${err.message}`, nsPerOp: null, opsPerSec: null }
  } finally {
    client.disconnect()
    pipe.disconnect()
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
    await Promise.all(children.map((c) => nextMessage(c, (m) => m.warm, 'scaling worker')))
    const results = []
    for (let round = 1; round <= rounds; round++) {
      const reports = children.map((c) => nextMessage(c, (m) => m.round === round, 'scaling worker'))
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

/** The seed's README example run with the seed (benchmark/seed-tickets.py). */
function seedTickets(python) {
  const { result, error } = runPython(python, 'seed-tickets.py', [], 180_000)
  if (error) return { error, checked: result?.checked ?? false }
  return result
}

// ---------------------------------------------------------------------------
// Output

function fmtNs(ns) {
  if (ns === null || ns === undefined) return '—'
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`
  return `${ns >= 100 ? ns.toFixed(0) : ns.toFixed(1)} ns`
}

function fmtOps(ops) {
  if (ops === null || ops === undefined) return '—'
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(ops >= 1e8 ? 0 : 2)} M`
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} K`
  return ops.toFixed(0)
}

const fmtX = (x) => (x === null || x === undefined ? '—' : `${x >= 100 ? x.toFixed(0) : x.toFixed(2)}x`)
const fmtFrac = (x) => `1/${x >= 100 ? x.toFixed(0) : x.toFixed(1)}x`

/** A single-process figure's time, in its unit: per operation, per key of a bulk call, per pass. */
function fmtTime(r) {
  if (r.unit === 'key') return `${fmtNs(r.nsPerOp)}/key`
  if (r.unit === 'pass') return `${fmtNs(r.nsPerOp)}/pass`
  return fmtNs(r.nsPerOp)
}

function fmtRate(r) {
  if (r.unit === 'pass') return ''
  return `${fmtOps(r.opsPerSec)}${r.unit === 'key' ? ' keys' : ''}`
}

function printTable(title, header, rows, rightAligned = []) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)))
  const line = (cells) =>
    cells.map((c, i) => (rightAligned.includes(i) ? String(c ?? '').padStart(widths[i]) : String(c ?? '').padEnd(widths[i]))).join('  ').trimEnd()
  console.log(`\n${title}`)
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of rows) console.log(line(r))
}

const verdict = (met) => (met === null ? 'skipped' : met ? 'met' : 'NOT MET')

/** The targets as a markdown table, to paste into the README. */
function summaryMarkdown(out) {
  const m = out.machine
  const esc = (t) => String(t).replaceAll('|', '\\|')
  const lines = [
    `### Benchmark results`,
    '',
    `\`npm run bench${QUICK ? ' -- --quick' : ''}\` on ${m.cores} × ${m.cpu}, Node ${m.node}, ${m.os}, ${m.date.slice(0, 10)}` +
      `${QUICK ? ' (quick: a smoke test, noisier figures)' : ''}. ` +
      'Every ratio divides figures measured in the same run, unless its basis says otherwise.',
    '',
    '| figure | value | basis (measured in the same run) | ratio | target | status |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const t of out.targets) {
    const status = t.met === null ? `skipped${t.note ? ` (${t.note})` : ''}` : t.met ? 'met' : '**not met**'
    lines.push(`| ${esc(t.figure)} | ${esc(t.valueText)} | ${esc(t.basisText ?? '—')} | ${t.ratio === null || t.ratio === undefined ? '—' : fmtX(t.ratio)} | ${esc(t.limitText)} | ${esc(status)} |`)
  }
  const met = out.targets.filter((t) => t.met === true).length
  const missed = out.targets.filter((t) => t.met === false).length
  const skipped = out.targets.filter((t) => t.met === null).length
  lines.push('', `${met} met, ${missed} not met, ${skipped} skipped.`)
  const extra = []
  const st = out.seed.tickets
  extra.push(st.measured
    ? `Seed (Python atomic-dict ${out.seed.version}, Python ${out.seed.pythonVersion}) README example: ${fmtOps(st.best.opsPerSec)} ops/s (best of ${st.runs.length}); atomic-dict: ${fmtOps(out.tickets.best.opsPerSec)} ops/s (best of ${out.tickets.runs.length}).`
    : `Seed README example: ${out.seed.why}; ${fmtOps(st.best.opsPerSec)} ops/s from ${st.best.source}.`)
  if (out.redis.skipped) extra.push(`Redis: ${out.redis.skipped}.`)
  else extra.push(`Redis ${out.redis.version} INCR over loopback (ioredis): ${fmtOps(out.redis.opsPerSec)} ops/s awaited, ${fmtOps(out.redis.pipelined.opsPerSec)} ops/s auto-pipelined (${out.redis.pipelined.window} in flight).`)
  extra.push(...redisDictNotes(out.redisDict))
  if (out.sync) extra.push(...syncNotes(out.sync))
  if (out.metrics) extra.push(...metricsNotes(out.metrics))
  extra.push(out.cargoBench?.ok ? `Rust core: \`cargo bench --bench core -- --quick\` in the same run (${out.cargoBench.seconds.toFixed(0)} s).` : `Rust core: ${out.cargoBench ? `cargo bench failed (${out.cargoBench.error})` : 'not run (--no-rust)'}; its ratios are skipped.`)
  lines.push('', ...extra.map((e) => `- ${e}`), '')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------
// Targets: each one a ratio of two figures of this run (or a size), kept in
// out.targets and printed in the tables and in summary.md.

/** A new target; `ratio` is null (and the target skipped) when the basis is missing. */
function makeTarget({ group, figure, value, valueText, basis = null, basisText = null, ratio, limit, direction, limitText, note = null }) {
  const met = ratio === null || ratio === undefined || !Number.isFinite(ratio) ? null : direction === '≥' ? ratio >= limit : ratio <= limit
  return { group, figure, value, valueText, basis, basisText, ratio: met === null ? null : ratio, limit, direction, limitText, met, note }
}

/** The core figure a JS figure of a `bits`-bit table is held to, from this run only. */
function coreBasis(native, kind, bits, noRustWhy) {
  const pick = (re) => native.find((n) => re.test(n.id))
  let n = pick(CORE_BASIS[kind][bits])
  let note = ''
  if (!n && bits === 32) {
    n = pick(CORE_BASIS[kind][64])
    if (n) note = ' (64-bit core table: no 32-bit memfd twin in benches/core.rs)'
  }
  const wanted = CORE_BASIS[kind][64].source.replace(/^\^|\$$/g, '').replaceAll('\\', '')
  if (!n) return { ns: null, text: `${wanted}: ${noRustWhy ?? 'absent from target/criterion'}`, why: noRustWhy ?? `${wanted} absent` }
  if (!n.thisRun) return { ns: null, text: `${n.id}: ${fmtNs(n.meanNs)}, not measured in this run`, why: noRustWhy ?? 'core not measured in this run' }
  return { ns: n.meanNs, text: `${n.id}: ${fmtNs(n.meanNs)}${note}`, why: null }
}

// Bulk calls and the single calls they are compared with (same keys, same kind of table).
const BULK_TWINS = [
  [/^getMany\.first\.(\w+)$/, 'get.first.$1'],
  [/^loadMany\.first\.(\w+)$/, 'load.first.$1'],
  [/^addMany\.first\.(\w+)$/, 'add.first.$1'],
  [/^storeMany\.new\.(\w+)$/, 'store.new.$1'],
  [/^set\.addMany\.new\.(\w+)$/, 'set.add.new.$1'],
]
const bulkTwin = (id) => {
  for (const [re, twin] of BULK_TWINS) if (re.test(id)) return id.replace(re, twin)
  return null
}

/** The target a single-process figure is held to, or null. */
function singleTarget(bits, s, r, native, noRustWhy) {
  const fig = (id) => s.results.find((x) => x.id === id)
  const atomics = fig('atomics')
  const figure = `${bits}-bit ${r.label}`
  const common = { group: `single ${bits}-bit`, figure, value: r.nsPerOp, valueText: fmtTime(r) }
  const vsAtomics = (limit) =>
    makeTarget({ ...common, basis: atomics.nsPerOp, basisText: `${atomics.label}: ${fmtNs(atomics.nsPerOp)}`, ratio: r.nsPerOp / atomics.nsPerOp, limit, direction: '≤', limitText: `≤ ${limit}x Atomics.add` })
  if (r.id === 'slot.add') return vsAtomics(TARGETS.slotAddVsAtomics)
  if (r.id.startsWith('add.seen.')) return vsAtomics(TARGETS.seenAddVsAtomics)
  if (r.id === 'composite.pair' || r.id === 'composite.triple') return vsAtomics(TARGETS.compositeVsAtomics)
  const core = (kind, limit, what) => {
    const b = coreBasis(native, kind, bits, noRustWhy)
    // Beside the target's basis, the core's latency figure where there is
    // one: each key waiting for the value of the one before, as each JS
    // call does (no two calls' misses overlap), where the basis lets the
    // CPU run ahead into the next key's miss.
    const chained = kind === 'firstUse' ? native.find((n) => n.thisRun && n.id === `core/find_add_2mi${bits === 32 ? '_32' : ''}_memfd_chained`) : null
    const text = chained ? `${b.text}; chained (each key waits for the last): ${fmtNs(chained.meanNs)}, ${fmtX(r.nsPerOp / chained.meanNs)}` : b.text
    return makeTarget({ ...common, basis: b.ns, basisText: text, ratio: b.ns ? r.nsPerOp / b.ns : null, limit, direction: '≤', limitText: `≤ ${limit}x the core's ${what}`, note: b.why })
  }
  if (r.id === 'add.first.number' || r.id === 'add.first.bigint') return core('firstUse', TARGETS.firstUseVsCore, 'find-and-add, 2 Mi keys')
  if (r.id === 'store.new.number' || r.id === 'store.new.bigint') return core('insert', TARGETS.insertVsCore, 'insert')
  if (r.id.startsWith('iter.')) {
    const scan = fig('scan.indexOf')
    const limit = TARGETS.iterationVsIndexOf
    return makeTarget({ ...common, basis: scan.nsPerOp, basisText: `Buffer#indexOf over ${s.iterBytes} bytes: ${fmtNs(scan.nsPerOp)}`, ratio: r.nsPerOp / scan.nsPerOp, limit, direction: '≤', limitText: `≤ ${limit}x Buffer#indexOf` })
  }
  const twinId = bulkTwin(r.id)
  if (twinId) {
    const twin = fig(twinId)
    const limit = TARGETS.bulkVsSingle
    return makeTarget({ ...common, valueText: `${fmtOps(r.opsPerSec)} keys/s`, basis: twin.opsPerSec, basisText: `${twin.label}: ${fmtOps(twin.opsPerSec)} keys/s`, ratio: twin.nsPerOp / r.nsPerOp, limit, direction: '≥', limitText: `≥ ${limit}x the single calls' keys/s` })
  }
  return null
}

// ---------------------------------------------------------------------------
// 3b. The Redis backend (benchmark/redis.js): its targets, tables and profile.

const REDIS_TARGETS = {
  add: { limit: TARGETS.redisAddLatencyVsIncrby, direction: '≤', limitText: `≤ ${TARGETS.redisAddLatencyVsIncrby}x ioredis' awaited incrby time` },
  'add.pipelined': { limit: TARGETS.redisAddThroughputVsIncrby, direction: '≥', limitText: `≥ ${TARGETS.redisAddThroughputVsIncrby}x ioredis' auto-pipelined INCRBY ops/s` },
}

const fmtShare = (x) => `${(100 * x).toFixed(x >= 0.1 ? 0 : 1)}%`

/** The Redis backend's targets (via `target`), its table and its profile facts. */
function redisDictTables(rd, target) {
  const figureOf = (id) => (id === 'add' ? 'RedisDict await d.add(k, 1n) (lib/redis, 64-bit) ÷ ioredis await incrby(key, 1), same redis-server, interleaved rounds'
    : 'RedisDict d.add(k, 1n) auto-pipelined ops/s ÷ ioredis incrby auto-pipelined ops/s, same window, same redis-server, interleaved rounds')
  if (!rd.results) {
    const why = rd.skipped ?? `benchmark/redis.js failed: ${rd.error}`
    const failed = Boolean(rd.error) && /expected/.test(rd.error) // a count that does not add up is a failure, not a skip
    for (const [id, t] of Object.entries(REDIS_TARGETS)) {
      const made = target(makeTarget({ group: 'redis', figure: figureOf(id), value: null, valueText: '—', ratio: null, ...t, note: why }))
      if (failed) made.met = false
    }
    console.log(`\nRedis backend (RedisDict): ${why}`)
    return
  }
  const c = rd.config
  const rows = []
  for (const r of rd.results) {
    const t = REDIS_TARGETS[r.id]
    let made = null
    if (t) {
      const b = rd.results.find((x) => x.id === r.basis)
      made = target(makeTarget({
        group: 'redis',
        figure: figureOf(r.id),
        value: r.mode === 'awaited' ? r.nsPerOp : r.opsPerSec,
        valueText: r.mode === 'awaited' ? fmtNs(r.nsPerOp) : `${fmtOps(r.opsPerSec)} ops/s`,
        basis: r.mode === 'awaited' ? b.nsPerOp : b.opsPerSec,
        basisText: r.mode === 'awaited' ? `${b.label}: ${fmtNs(b.nsPerOp)}` : `${b.label}: ${fmtOps(b.opsPerSec)} ops/s`,
        ratio: r.ratio,
        ...t,
      }))
    }
    const server = r.serverCpuTicks < 20 ? `${fmtNs(r.serverCpuNsPerOp)} (${r.serverCpuTicks} ticks)` : fmtNs(r.serverCpuNsPerOp)
    rows.push([
      r.label,
      fmtNs(r.nsPerOp),
      fmtOps(r.opsPerSec),
      r.basis ? `${fmtX(r.ratio)} ${r.ratioKind === 'latency' ? 'time' : 'ops/s'}` : '(basis)',
      made ? made.limitText : '',
      made ? verdict(made.met) : '',
      fmtNs(r.clientCpuNsPerOp),
      server,
    ])
  }
  printTable(
    `Redis backend: RedisDict (lib/redis) beside ioredis ${rd.ioredisVersion} INCRBY, Redis ${rd.version}, one server; median of ${c.rounds} interleaved rounds (${c.awaited} awaited / ${c.pipelined} auto-pipelined ops per kind and round); ratio: against the INCRBY of the same mode`,
    ['operation', 'time/op', 'ops/s', 'ratio', 'target', 'status', 'Node CPU/op', 'server CPU/op'],
    rows,
    [1, 2, 3, 6, 7],
  )
  const cs = rd.commandStats
  const paired = rd.results.filter((r) => r.basis).map((r) => `${r.id} ${fmtX(r.pairedRatioMedian)}`).join(', ')
  console.log(`  counts checked exactly (every reply and every total): ${rd.checked ? 'yes' : 'NO'}; median of the per-round ratios: ${paired}`)
  console.log(`  server CPU: /proc/<pid>/stat utime+stime over all rounds (${rd.clockTicksPerSecond} ticks/s; few ticks: coarse); ` +
    `inside the command (INFO commandstats usec_per_call): ${Object.entries(cs).map(([k, v]) => `${k.toUpperCase()} ${v.usecPerCall} µs`).join(', ')} (EVALSHA's includes its HGET/HSET)`)
  for (const p of rd.profiles) {
    if (p.error) {
      console.log(`  profile of ${p.kind}: failed (${p.error.split('\n')[0]})`)
      continue
    }
    console.log(`  profile of ${p.kind} (${fmtOps(p.ops)} ops, ${p.window} in flight, node:inspector's V8 sampling profiler): ${fmtNs(p.wallNsPerOp)}/op wall, ` +
      `${fmtNs(p.cpuNsPerOp)}/op Node CPU, ${fmtNs(p.busyNsPerOp)}/op sampled busy; GC ${fmtShare(p.gcShareOfBusy)} of busy (${p.gc.count} GCs, ${fmtNs(p.gc.nsPerOp)}/op); ${p.file}`)
    console.log(`    by group: ${p.groups.slice(0, 8).map((g) => `${g.group} ${fmtShare(g.shareOfBusy)} (${fmtNs(g.nsPerOp)})`).join(', ')}`)
    console.log(`    self time: ${p.top.slice(0, 10).map((f) => `${f.function}${f.where ? ` [${f.where}]` : ''} ${fmtShare(f.shareOfBusy)}`).join(', ')}`)
    console.log(`    inclusive: ${p.inclusive.slice(0, 8).map((f) => `${f.function} ${fmtNs(f.nsPerOp)}`).join(', ')}`)
  }
}

/** Lines for summary.md: the Redis backend's figures beside INCRBY. */
function redisDictNotes(rd) {
  if (!rd?.results) return [`Redis backend (RedisDict): ${rd?.skipped ?? `failed: ${rd?.error}`}.`]
  const f = (id) => rd.results.find((r) => r.id === id)
  const lines = [
    `Redis backend (RedisDict of lib/redis, Redis ${rd.version}, ioredis ${rd.ioredisVersion}, one server, median of ${rd.config.rounds} interleaved rounds): ` +
      rd.results.map((r) => `${r.label} ${fmtNs(r.nsPerOp)}${r.basis ? ` (${fmtX(r.ratio)}${r.ratioKind === 'latency' ? ' the time' : ' the ops/s'} of ${r.basis})` : ''}`).join('; ') + '.',
  ]
  const p = rd.profiles.find((x) => x.kind === 'add.pipelined' && !x.error)
  const i = rd.profiles.find((x) => x.kind === 'incrby.pipelined' && !x.error)
  if (p && i) {
    lines.push(`Redis backend, Node CPU per auto-pipelined op: RedisDict add ${fmtNs(p.cpuNsPerOp)} (GC ${fmtShare(p.gcShareOfBusy)}), INCRBY ${fmtNs(i.cpuNsPerOp)}; ` +
      `server CPU per op: ${fmtNs(f('add.pipelined').serverCpuNsPerOp)} and ${fmtNs(f('incrby.pipelined').serverCpuNsPerOp)}; in the command: EVALSHA ${rd.commandStats.evalsha?.usecPerCall} µs, INCRBY ${rd.commandStats.incrby?.usecPerCall} µs.`)
  }
  return lines
}

// ---------------------------------------------------------------------------
// 3c. syncToRedis (benchmark/sync.js): its targets and tables.

const SYNC_FIGURES = {
  flusher: 'syncToRedis: local.add(k, 1n) with a sync attached, this process the flusher (scans on its event loop), ÷ without a sync; same table, interleaved rounds',
  remote: 'syncToRedis: local.add(k, 1n) with a sync attached ({ flush: false }), the flusher another process, ÷ without a sync; same table, interleaved rounds',
}

/** syncToRedis' targets (via `target`) and tables. */
function syncTables(s, target) {
  const limit = TARGETS.syncAddVsNone
  const limitText = `≤ ${limit}x the time without a sync`
  if (!s.add) {
    const why = s.skipped ?? `benchmark/sync.js failed: ${s.error}`
    const failed = Boolean(s.error) // a crash or a count that does not add up is a failure, not a skip
    for (const figure of Object.values(SYNC_FIGURES)) {
      const made = target(makeTarget({ group: 'sync', figure, value: null, valueText: '—', ratio: null, limit, direction: '≤', limitText, note: why }))
      if (failed) made.met = false
    }
    console.log(`\nsyncToRedis: ${why}`)
    return
  }
  const c = s.config
  const a = s.add
  const base = a.results.find((r) => r.id === 'none')
  const rows = []
  for (const r of a.results) {
    const made = r.basis ? target(makeTarget({
      group: 'sync',
      figure: SYNC_FIGURES[r.id],
      value: r.nsPerOp,
      valueText: fmtNs(r.nsPerOp),
      basis: base.nsPerOp,
      basisText: `${base.label}: ${fmtNs(base.nsPerOp)}`,
      ratio: r.ratio,
      limit,
      direction: '≤',
      limitText,
    })) : null
    rows.push([
      r.label,
      fmtNs(r.nsPerOp),
      fmtOps(r.opsPerSec),
      r.basis ? fmtX(r.ratio) : '(basis)',
      r.basis ? fmtX(r.pairedRatioMedian) : '',
      made ? made.limitText : '',
      made ? verdict(made.met) : '',
      `${fmtNs(r.addNsPerOp)} (CPU ${fmtNs(r.addCpuNsPerOp)})`,
      `${r.outsideMsPerSec.toFixed(1)} ms`,
      r.basis ? `${fmtNs(r.cpuNsPerOp)} (${fmtX(r.cpuRatio)})` : fmtNs(r.cpuNsPerOp),
      r.basis ? `${r.batchesPerRound} / ${r.keysPerRound}` : '',
    ])
  }
  printTable(
    `syncToRedis: local.add on a ${a.capacity.toLocaleString('en-US')}-capacity table opened by path, ${a.keys.toLocaleString('en-US')} bigint keys, Redis ${s.version}; median of ${c.rounds} interleaved rounds of ${c.roundMs} ms (adds in chunks of ${a.addsPerChunk.toLocaleString('en-US')}, setImmediate between)`,
    ['operation', 'time/op', 'ops/s', 'ratio', 'paired ratio', 'target', 'status', 'inside the chunks', 'event loop per s', 'CPU/op (ratio)', 'batches / keys sent per round'],
    rows,
    [1, 2, 3, 4, 7, 8, 9, 10],
  )
  console.log(`  totals in Redis equal to the local adds, exactly: ${s.checked ? 'yes' : 'NO'}; paired ratio: the median of the per-round ratios; ` +
    'inside the chunks: time/op counting only the add loops (and this process\'s CPU/op in them); event loop per s: the rest of the window (yields, and the sync\'s timers and replies); ' +
    'CPU/op: this process\'s CPU time (what other processes took from the core left out)')
  const loopShare = (id) => (a.results.find((x) => x.id === id).outsideMsPerSec - base.outsideMsPerSec) / 1000
  console.log(`  the event loop's time taken by the sync (its share of a second, beyond the no-sync rounds' yields): ${fmtShare(loopShare('flusher'))} as the flusher, ${fmtShare(loopShare('remote'))} with the flusher elsewhere`)
  if (s.loadAverage) console.log(`  load average (1 min) before and after this section: ${s.loadAverage.before[0].toFixed(2)}, ${s.loadAverage.after[0].toFixed(2)} on ${os.cpus().length} cores`)

  const r = s.rate
  printTable(
    `syncToRedis: Redis commands against adds, this process the flusher, interval ${r.interval} ms, ${r.windowMs} ms per row (commands: sent by the sync's client; server calls: INFO commandstats, with the calls inside scripts; keys and batches: sync.stats())`,
    ['distinct keys changed per interval', 'adds/s', 'commands/s', 'EVAL(SHA)/s', 'server calls/s', 'batches/s', 'keys sent/s', 'keys/batch', 'commands per 1M adds'],
    r.rows.map((x) => [
      `${x.distinct.toLocaleString('en-US')}${x.limited ? ` (adds limited to ~${fmtOps(c.limitedRate)}/s)` : ''}`,
      fmtOps(x.opsPerSec),
      x.commandsPerSec.toFixed(1),
      x.evalPerSec.toFixed(1),
      fmtOps(x.serverCallsPerSec),
      x.batchesPerSec.toFixed(1),
      fmtOps(x.keysPerSec),
      x.keysPerBatch.toFixed(0),
      (x.commandsPerOp * 1e6).toFixed(x.commandsPerOp * 1e6 >= 10 ? 0 : 2),
    ]),
    [1, 2, 3, 4, 5, 6, 7, 8],
  )
  const cmds = [...new Set(r.rows.flatMap((x) => Object.keys(x.commandsPerSecByCommand)))]
  const inner = [...new Set(r.rows.flatMap((x) => Object.keys(x.serverCallsPerSecByCommand)))]
  console.log(`  commands sent: ${cmds.join(', ') || 'none'}; server calls: ${inner.join(', ') || 'none'}; expected: ~${(1000 / r.interval).toFixed(0)} batches/s whatever the adds/s, keys sent/s ≈ distinct keys × ${(1000 / r.interval).toFixed(0)}`)

  const sc = s.scan
  printTable(
    `syncToRedis: one await sync.flush() by the flusher, ${sc.capacity.toLocaleString('en-US')}-capacity table holding ${sc.present.toLocaleString('en-US')} keys; median of ${sc.reps} (scan + round trip; busy: this thread's event-loop time, what the flush takes from the application)`,
    ['keys changed', 'keys sent', 'outcome', 'wall time', 'event loop busy', 'CPU'],
    sc.rows.map((x) => [x.changed.toLocaleString('en-US'), String(x.sentKeys), Object.keys(x.outcomes).join(', '), fmtMs(x.wallMs), fmtMs(x.busyMs), fmtMs(x.cpuMs)]),
    [0, 1, 3, 4, 5],
  )
  const ff = sc.firstFlush
  console.log(`  before the timed flushes, the ${sc.present.toLocaleString('en-US')} new keys: ${ff.keys.toLocaleString('en-US')} keys sent in ${fmtMs(ff.ms)} (batches of at most 10,000)`)
}

/** Lines for summary.md: syncToRedis' figures without a target. */
function syncNotes(s) {
  if (!s.add) return [`syncToRedis: ${s.skipped ?? `failed: ${s.error}`}.`]
  const rate = s.rate.rows.map((x) => `${x.distinct}${x.limited ? ' (rate-limited)' : ''} keys: ${fmtOps(x.opsPerSec)} adds/s, ${x.commandsPerSec.toFixed(1)} commands/s, ${fmtOps(x.keysPerSec)} keys sent/s`).join('; ')
  const scan = s.scan.rows.map((x) => `${x.changed} changed: ${fmtMs(x.wallMs)} (event loop busy ${fmtMs(x.busyMs)})`).join('; ')
  return [
    `syncToRedis, Redis commands against adds (interval ${s.rate.interval} ms, this process the flusher): ${rate}.`,
    `syncToRedis, one flush of a ${s.scan.capacity.toLocaleString('en-US')}-capacity table holding ${s.scan.present.toLocaleString('en-US')} keys: ${scan}.`,
  ]
}

// ---------------------------------------------------------------------------
// 6. The metrics module beside prom-client: its targets and tables.

const fmtMs = (ms) => (ms === null || ms === undefined ? '—' : `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(2)} ms`)

/** The metrics section's targets (via `target`) and printed tables. */
function metricsTables(m, target) {
  const prom = `prom-client ${m.promClient}`
  const pair = (id) => m.hot.pairs.find((p) => p.id === id)
  const passes = m.config.passes
  const rows = []
  const hotTarget = (id, limit) => {
    const p = pair(id)
    return target(makeTarget({
      group: 'metrics',
      figure: `metrics: ${p.label}`,
      value: p.store.nsPerOp,
      valueText: fmtNs(p.store.nsPerOp),
      basis: p.prom.nsPerOp,
      basisText: `${prom}'s, same process: ${fmtNs(p.prom.nsPerOp)}`,
      ratio: p.ratio,
      limit,
      direction: '≤',
      limitText: `≤ ${limit}x ${prom}`,
    }))
  }
  const targets = { 'counter.inc': TARGETS.metricsIncVsProm, 'histogram.observe': TARGETS.metricsObserveVsProm }
  for (const p of m.hot.pairs) {
    const t = targets[p.id] === undefined ? null : hotTarget(p.id, targets[p.id])
    rows.push([p.label, fmtNs(p.store.nsPerOp), fmtNs(p.prom.nsPerOp), fmtX(p.ratio), t ? t.limitText : '(no target)', t ? verdict(t.met) : ''])
  }
  const s = m.scrape
  const limit = TARGETS.metricsScrapeVsProm
  const scrapeTarget = target(makeTarget({
    group: 'metrics',
    figure: `metrics: one registry.metrics() over ${s.series.toLocaleString('en-US')} counter series, steady state (nothing new since the last read)`,
    value: s.store.medianMs,
    valueText: fmtMs(s.store.medianMs),
    basis: s.prom.medianMs,
    basisText: `${prom}'s registry.metrics() over the same series and values, same process: ${fmtMs(s.prom.medianMs)}`,
    ratio: s.ratio,
    limit,
    direction: '≤',
    limitText: `≤ ${limit}x ${prom}`,
    note: s.equal ? null : 'the two texts differ: a parity bug',
  }))
  if (!s.equal) scrapeTarget.met = false // a scrape that prints something else is no match, whatever its speed
  const fr = s.firstRead
  rows.push(
    [`registry.metrics(), ${s.series.toLocaleString('en-US')} series (${(s.bytes / 1024).toFixed(0)} KiB), steady state`, fmtMs(s.store.medianMs), fmtMs(s.prom.medianMs), fmtX(s.ratio), scrapeTarget.limitText, verdict(scrapeTarget.met)],
    ['  first read by a store object new to the series (it rescans; this process)', fmtMs(fr.object.medianMs), fmtMs(s.prom.medianMs), fmtX(fr.object.medianMs / s.prom.medianMs), '(no target)', ''],
    ['  first read in a process new to the series (it rescans; cold JIT)', fmtMs(fr.process.medianMs), fmtMs(s.prom.medianMs), fmtX(fr.process.medianMs / s.prom.medianMs), '(no target)', ''],
  )
  printTable(
    `atomic-dict/metrics beside ${prom} (its own unshared metrics), same process; ns/op: median of batch means, best of ${passes} pass(es); scrapes: median of ${s.store.samplesMs.length} interleaved reads`,
    ['operation', 'store', prom, 'store ÷ prom-client', 'target', 'status'],
    rows,
    [1, 2, 3],
  )
  console.log(`  the two texts over ${s.series} series: ${s.equal ? `equal byte for byte (${s.bytes} bytes)` : `DIFFER (store ${s.bytes} bytes, prom-client ${s.promBytes})`}; ` +
    `first reads: median of ${fr.object.samplesMs.length} new store object(s) and of ${fr.process.samplesMs.length} new process(es) (their later reads: ${fmtMs(fr.process.laterMedianMs)}); texts equal: ${fr.object.equal && fr.process.equal ? 'yes' : 'NO'}`)

  // Contention.
  const by = (mode, n) => m.contention.find((c) => c.mode === mode && c.processes === n)
  const spread = (c) => {
    if (c.rounds.length < 2) return fmtOps(c.opsPerSec)
    const r = c.rounds.map((x) => x.opsPerSec)
    return `${fmtOps(c.opsPerSec)} (${fmtOps(Math.min(...r))}–${fmtOps(Math.max(...r))})`
  }
  const procs = m.config.contentionProcesses
  printTable(
    `metrics: counter.inc({ route, code }) across processes, ${fmtOps(m.config.contentionOps)} per process, total ops/s (median of ${m.config.contentionRounds} round(s)); ${os.cpus().length} cores`,
    ['processes', 'store, one series', 'store, own series', `${prom}, own counter (unshared)`, 'one series vs 1 process'],
    procs.map((n) => [String(n), spread(by('same', n)), spread(by('distinct', n)), spread(by('prom', n)), fmtX(by('same', n).opsPerSec / by('same', 1).opsPerSec)]),
    [0, 1, 2, 3, 4],
  )
  if (m.config.contentionRounds > 1) console.log('  (in brackets: the slowest and the fastest round; processes sharing 2 cores move a lot from round to round)')

  // Cluster.
  const c = m.cluster
  if (c.error) {
    console.log(`\nmetrics: cluster scrape (${c.workers} workers): not measured (${c.error})`)
  } else {
    printTable(
      `metrics: one scrape of a ${c.workers}-worker cluster, median of ${m.config.clusterRounds} interleaved scrapes`,
      ['metrics', 'samples', 'AggregatorRegistry.clusterMetrics() (primary, IPC)', 'store registry.metrics() (one worker)', 'aggregator ÷ store', 'same totals'],
      c.sets.map((x) => [x.set, String(x.samples), fmtMs(x.aggregator.medianMs), fmtMs(x.store.medianMs), fmtX(x.ratio), x.sameText ? 'yes (same text)' : x.sameTotals ? 'yes' : 'NO']),
      [1, 2, 3, 4],
    )
  }
}

/** Lines for summary.md: the metrics section's figures without a target. */
function metricsNotes(m) {
  const prom = `prom-client ${m.promClient}`
  const lines = []
  const hot = m.hot.pairs.filter((p) => p.id !== 'counter.inc' && p.id !== 'histogram.observe')
  lines.push(`Metrics, no target: ${hot.map((p) => `\`${p.short}\` ${fmtNs(p.store.nsPerOp)} (${prom}: ${fmtNs(p.prom.nsPerOp)}, ${fmtX(p.ratio)})`).join('; ')}.`)
  const s = m.scrape
  lines.push(`Metrics, first read over ${s.series} series (the store rescans): ${fmtMs(s.firstRead.object.medianMs)} by a store object new to them, ${fmtMs(s.firstRead.process.medianMs)} in a new process (${prom}'s steady read: ${fmtMs(s.prom.medianMs)}).`)
  const by = (mode, n) => m.contention.find((c) => c.mode === mode && c.processes === n)
  lines.push(`Metrics, counter.inc across ${m.config.contentionProcesses.join(', ')} processes (total ops/s): one series ${m.config.contentionProcesses.map((n) => fmtOps(by('same', n).opsPerSec)).join(' / ')}; own series ${m.config.contentionProcesses.map((n) => fmtOps(by('distinct', n).opsPerSec)).join(' / ')}; ${prom}, unshared ${m.config.contentionProcesses.map((n) => fmtOps(by('prom', n).opsPerSec)).join(' / ')}.`)
  const c = m.cluster
  lines.push(c.error
    ? `Metrics, ${c.workers}-worker cluster scrape: not measured (${c.error}).`
    : `Metrics, one scrape of a ${c.workers}-worker cluster: ${c.sets.map((x) => `${x.set}: AggregatorRegistry.clusterMetrics() ${fmtMs(x.aggregator.medianMs)}, store ${fmtMs(x.store.medianMs)} (${fmtX(x.ratio)})`).join('; ')}.`)
  return lines
}

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
    config: { ...CONFIG, rust: !NO_RUST, quick: QUICK },
    targets: [],
  }
  const seed = seedPython()
  out.seed = { ...seed, tickets: null, single: null }
  log(seed.available ? `seed: Python atomic-dict ${seed.version} (Python ${seed.pythonVersion}), measured in this run` : `seed: ${seed.why}; its figures are not measured in this run`)

  // 1. The native core, first (while nothing else runs).
  let noRustWhy = null
  if (NO_RUST) noRustWhy = 'not run (--no-rust)'
  else {
    out.cargoBench = runCargoBench()
    if (!out.cargoBench.ok) noRustWhy = `cargo bench failed (${out.cargoBench.error})`
  }
  const since = out.cargoBench ? Date.parse(out.cargoBench.startedAt) : Infinity
  const native = readCriterion().map((n) => ({ ...n, thisRun: Date.parse(n.measuredAt) >= since }))

  // 2. Single process (each width in its own fresh process; tinybench inside).
  out.single = {}
  for (const bits of [64, 32]) {
    log(`single process, ${bits}-bit values (tinybench, ${CONFIG.singlePasses} × ${CONFIG.singleTaskMs} ms per task)…`)
    out.single[bits] = await forkForMessage('single.js', [String(bits), String(CONFIG.singleTaskMs), String(CONFIG.singlePasses)])
  }
  const fig = (bits, id) => out.single[bits].results.find((r) => r.id === id)
  const ours = fig(64, 'add.seen.bigint') // the figure peers are compared with
  if (seed.available) {
    log('seed, single process (benchmark/seed-single.py)…')
    const r = runPython(seed.python, 'seed-single.py', [String(CONFIG.seedSinglePasses), String(CONFIG.seedSingleScale)], 300_000)
    out.seed.single = r.error ? { error: r.error } : r.result
    if (r.error) log(r.error)
  }

  // 3. Peers across processes.
  log(`IPC counter: ${CONFIG.ipcRoundTrips} awaited round trips…`)
  out.ipc = await ipcPeer(CONFIG.ipcRoundTrips)
  log('Redis INCR…')
  out.redis = await redisPeer(CONFIG.redisRoundTrips, CONFIG.redisPipelined, CONFIG.redisPipelineWindow)
  if (out.redis.skipped) log(out.redis.skipped)
  log('Redis backend: RedisDict beside ioredis INCRBY (benchmark/redis.js)…')
  out.redisDict = await forkForMessage('redis.js', [QUICK ? 'quick' : 'full'])
  if (out.redisDict.skipped || out.redisDict.error) log(`Redis backend: ${out.redisDict.skipped ?? out.redisDict.error}`)
  log('syncToRedis: local.add with and without a sync, Redis commands against adds, flush time (benchmark/sync.js)…')
  out.sync = await forkForMessage('sync.js', [QUICK ? 'quick' : 'full']).catch((err) => ({ error: err.message }))
  if (out.sync.skipped || out.sync.error) log(`syncToRedis: ${out.sync.skipped ?? out.sync.error}`)

  out.native = native.map((n) => {
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
  // The ticket example and the seed's, interleaved so both see the same machine.
  out.tickets = { runs: [] }
  const seedRuns = []
  for (let i = 0; i < CONFIG.ticketRuns; i++) {
    log(`examples/tickets.js, run ${i + 1}/${CONFIG.ticketRuns}…`)
    out.tickets.runs.push(ticketExample())
    if (seed.available) {
      log(`seed's README example (benchmark/seed-tickets.py), run ${i + 1}/${CONFIG.ticketRuns}…`)
      const r = seedTickets(seed.python)
      if (r.error) log(r.error)
      seedRuns.push(r)
    }
  }
  out.tickets.best = out.tickets.runs.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a))
  const goodSeed = seedRuns.filter((r) => !r.error && r.checked)
  out.seed.tickets = goodSeed.length
    ? { measured: true, runs: seedRuns, best: goodSeed.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a)) }
    : { measured: false, runs: seedRuns, best: SEED_TICKETS_FALLBACK, why: seed.available ? 'every seed run failed' : seed.why }
  if (seed.available && !goodSeed.length) out.seed.why = 'every run of benchmark/seed-tickets.py failed'
  out.tickets.vsSeed = out.tickets.best.opsPerSec / out.seed.tickets.best.opsPerSec

  // 6. The metrics module beside prom-client.
  log(`metrics module beside prom-client (benchmark/metrics.js; tinybench, ${CONFIG.metricsPasses} × ${CONFIG.metricsTaskMs} ms per task)…`)
  out.metrics = await forkForMessage('metrics.js', [String(CONFIG.metricsTaskMs), String(CONFIG.metricsPasses), QUICK ? 'quick' : 'full'])

  // ---- Targets, and the printed tables.
  const target = (t) => {
    out.targets.push(t)
    return t
  }
  const HEADER = ['benchmark', 'time', 'ops/s', 'vs Atomics.add', 'ratio', 'target', 'status']
  const RIGHT = [1, 2, 3, 4]

  for (const bits of [64, 32]) {
    const s = out.single[bits]
    const base = fig(bits, 'atomics').nsPerOp
    const rows = []
    for (const r of s.results) {
      r.vsAtomics = r.unit === 'op' ? r.nsPerOp / base : null
      const t = singleTarget(bits, s, r, native, noRustWhy)
      if (t) target(t)
      rows.push([r.label, fmtTime(r), fmtRate(r), fmtX(r.vsAtomics), t ? fmtX(t.ratio) : '', t ? t.limitText : '', t ? verdict(t.met) : ''])
    }
    for (const k of s.skipped) {
      const limit = TARGETS.bulkVsSingle
      target(makeTarget({ group: `single ${bits}-bit`, figure: `${bits}-bit ${k.label}`, value: null, valueText: '—', ratio: null, limit, direction: '≥', limitText: `≥ ${limit}x the single calls' keys/s`, note: k.why }))
      rows.push([k.label, '—', '—', '', '', `≥ ${limit}x the single calls' keys/s`, `skipped (${k.why})`])
    }
    printTable(`Single process, ${bits}-bit values (${bits === 64 ? 'bigint' : 'number'}); median of batch means, best of ${s.passes} pass(es); ratio: against the target's basis (summary.md names it)`, HEADER, rows, RIGHT)
    const noisy = s.results.filter((r) => Math.max(...r.passMediansNs) / Math.min(...r.passMediansNs) > 1.3)
    if (noisy.length) {
      console.log(`  noisy machine: pass medians differed by more than 30% for ${noisy.map((r) => r.id).join(', ')} (all in results.json)`)
    }
  }
  for (const kind of ['firstUse', 'insert']) {
    for (const bits of [64, 32]) console.log(`  ${kind === 'firstUse' ? 'first use' : 'insert'}, ${bits}-bit: core basis ${coreBasis(native, kind, bits, noRustWhy).text}`)
  }

  // The seed's single-process figures beside ours.
  const ss = out.seed.single
  if (ss && !ss.error) {
    const pairs = [
      ['d[k].add(1), seen key', ss.nsPerOp.seen, 'add.seen.bigint'],
      ['v.add(1), a handle kept from d[1]', ss.nsPerOp.handle, 'slot.add'],
      ['d[k].add(1), existing key of a full 2 Mi table', ss.nsPerOp.first, 'add.first.bigint'],
      ['d[k] = 1, new key (1 Mi capacity, empty to full)', ss.nsPerOp.insert, 'store.new.bigint'],
    ]
    printTable(
      `The seed (Python atomic-dict ${ss.version}, Python ${ss.python}) beside atomic-dict (64-bit), single process, measured in this run`,
      ['seed operation', 'seed', 'atomic-dict operation', 'atomic-dict', 'seed ÷ ours'],
      pairs.map(([what, ns, id]) => [what, fmtNs(ns), fig(64, id).label, fmtNs(fig(64, id).nsPerOp), fmtX(ns / fig(64, id).nsPerOp)]),
      [1, 3, 4],
    )
  } else {
    console.log(`\nThe seed, single process: ${ss?.error ?? `${seed.why}: not measured in this run`}`)
  }

  // Peers across processes.
  const base64 = fig(64, 'atomics').nsPerOp
  const peerRows = []
  const peerLines = []
  const redisName = `Redis${out.redis.version ? ` ${out.redis.version}` : ''} INCR over loopback (ioredis, awaited)`
  for (const [name, short, p] of [['IPC counter in a parent process, awaited round trip', 'IPC counter', out.ipc], [redisName, 'Redis INCR', out.redis]]) {
    const limitText = `≥ ${TARGETS.peerFactor}x fewer ops/s`
    if (p.skipped) {
      target(makeTarget({ group: 'peers', figure: name, value: null, valueText: '—', ratio: null, limit: TARGETS.peerFactor, direction: '≥', limitText, note: p.skipped }))
      peerRows.push([name, '—', '—', '—', '—', limitText, 'skipped'])
      p.oursOverPeer = null
      peerLines.push(`${short}: ${p.skipped}`)
      continue
    }
    p.oursOverPeer = ours.opsPerSec / p.opsPerSec
    const t = target(makeTarget({ group: 'peers', figure: name, value: p.opsPerSec, valueText: `${fmtOps(p.opsPerSec)} ops/s`, basis: ours.opsPerSec, basisText: `64-bit ${ours.label}: ${fmtOps(ours.opsPerSec)} ops/s`, ratio: p.oursOverPeer, limit: TARGETS.peerFactor, direction: '≥', limitText }))
    peerRows.push([name, fmtNs(p.nsPerOp), fmtOps(p.opsPerSec), fmtX(p.nsPerOp / base64), fmtX(t.ratio), limitText, verdict(t.met)])
    peerLines.push(`${short}: ${fmtFrac(p.oursOverPeer)} of dict.add (64-bit, seen bigint key, ${fmtOps(ours.opsPerSec)} ops/s)`)
  }
  if (out.redis.pipelined) {
    const pp = out.redis.pipelined
    peerRows.push([`Redis INCR, auto-pipelined (${pp.window} in flight)`, fmtNs(pp.nsPerOp), fmtOps(pp.opsPerSec), fmtX(pp.nsPerOp / base64), fmtX(ours.opsPerSec / pp.opsPerSec), '(no target)', ''])
    peerLines.push(`Redis INCR auto-pipelined: ${fmtFrac(ours.opsPerSec / pp.opsPerSec)} of dict.add`)
  }
  const rd = out.redisDict
  const rdFig = (id) => (rd.results ? rd.results.find((r) => r.id === id) : null)
  for (const [id, what] of [['add', 'awaited'], ['add.pipelined', `auto-pipelined (${rd.config?.window} in flight)`]]) {
    const r = rdFig(id)
    if (!r) continue
    peerRows.push([`RedisDict add (lib/redis), ${what}`, fmtNs(r.nsPerOp), fmtOps(r.opsPerSec), fmtX(r.nsPerOp / base64), fmtX(ours.opsPerSec / r.opsPerSec), '(targets: Redis backend table)', ''])
    peerLines.push(`RedisDict add ${what}: ${fmtFrac(ours.opsPerSec / r.opsPerSec)} of dict.add`)
  }
  for (const id of ['map.number', 'map.bigint']) {
    const m = fig(64, id)
    peerLines.push(`${m.label}: ${m.opsPerSec >= ours.opsPerSec ? `${fmtX(m.opsPerSec / ours.opsPerSec)}` : fmtFrac(ours.opsPerSec / m.opsPerSec)} of dict.add (one process only: not shared)`)
  }
  printTable('Peers across processes (vs Atomics.add: the 64-bit in-process limit; ratio: dict.add ops/s ÷ the peer\'s)', HEADER, peerRows, RIGHT)
  for (const l of peerLines) console.log(`  ${l}`)
  redisDictTables(out.redisDict, target)
  syncTables(out.sync, target)

  // Native.
  if (out.native.length) {
    const rows = out.native.map((n) => [
      n.id,
      fmtNs(n.meanNs),
      fmtOps(1e9 / n.meanNs),
      n.thisRun ? 'yes' : `no (${n.measuredAt.slice(0, 16)})`,
      n.jsTwin ? `${n.jsTwin.label} (${n.jsTwin.bits}-bit)` : '',
      n.jsTwin ? fmtNs(n.jsTwin.nsPerOp) : '',
      n.jsOverNative ? fmtX(n.jsOverNative) : '',
    ])
    printTable(
      `Native core (criterion mean, target/criterion${noRustWhy ? `; ${noRustWhy}` : ''})`,
      ['criterion id', 'ns/op', 'ops/s', 'this run', 'JS counterpart', 'JS ns/op', 'JS / native'],
      rows,
      [1, 2, 5, 6],
    )
  } else {
    console.log(`\nNative core: no criterion results in target/criterion${noRustWhy ? ` (${noRustWhy})` : ''}`)
  }

  // Memory.
  const mem = out.memory[64]
  const memLimit = TARGETS.bytesPerEntry * mem.capacity + TARGETS.page
  const memTarget = target(makeTarget({
    group: 'memory',
    figure: 'shared memory per entry, 64-bit values, capacity 1 Mi (file size ÷ capacity)',
    value: mem.bytesPerEntry,
    valueText: `${mem.bytesPerEntry.toFixed(2)} B/entry (${mem.fileBytes} bytes)`,
    ratio: mem.fileBytes / memLimit,
    limit: 1,
    direction: '≤',
    limitText: `≤ ${TARGETS.bytesPerEntry} B/entry + 1 page`,
  }))
  memTarget.ratio = null // a size, not a ratio of two figures
  printTable('Shared memory (named table under /dev/shm, capacity 1 Mi; fstat size ÷ capacity)', ['table', 'file bytes', 'bytes/entry', 'target', 'status'], [
    ['64-bit values (default shape)', String(mem.fileBytes), mem.bytesPerEntry.toFixed(2), memTarget.limitText, verdict(memTarget.met)],
    ['32-bit values', String(out.memory[32].fileBytes), out.memory[32].bytesPerEntry.toFixed(2), '', ''],
  ], [1, 2])

  // Scaling.
  const by = (mode, n) => out.scaling.find((s) => s.mode === mode && s.processes === n)
  const one1 = by('own', 1).opsPerSec
  printTable(
    `Multi-process: dict.add(key, 1n), ${fmtOps(CONFIG.scalingOpsPerProcess)} ops per process, total ops/s (median of ${CONFIG.scalingRounds} round(s)); ${out.machine.cores} cores`,
    ['processes', 'own keys', 'one key', 'own vs 1 process', 'one vs 1 process'],
    CONFIG.scalingProcesses.map((n) => [String(n), fmtOps(by('own', n).opsPerSec), fmtOps(by('one', n).opsPerSec), fmtX(by('own', n).opsPerSec / one1), fmtX(by('one', n).opsPerSec / one1)]),
    [0, 1, 2, 3, 4],
  )

  // Tickets.
  const tk = out.tickets.best
  const st = out.seed.tickets
  const seedLabel = st.measured
    ? `Python seed ${out.seed.version} (benchmark/seed-tickets.py, best of ${st.runs.length}, this run)`
    : `Python seed (${st.best.source})`
  const tkTarget = target(makeTarget({
    group: 'tickets',
    figure: 'the seed\'s README example (8 processes, 16 × 32 Ki ticket + store), work phase ops/s',
    value: tk.opsPerSec,
    valueText: `${fmtOps(tk.opsPerSec)} ops/s`,
    basis: st.measured ? st.best.opsPerSec : null,
    basisText: st.measured ? `the seed, same example: ${fmtOps(st.best.opsPerSec)} ops/s` : `the seed: ${fmtOps(st.best.opsPerSec)} ops/s, not measured in this run`,
    ratio: st.measured ? out.tickets.vsSeed : null,
    limit: TARGETS.ticketsVsSeed,
    direction: '≥',
    limitText: `≥ ${TARGETS.ticketsVsSeed}x the seed`,
    note: st.measured ? null : st.why,
  }))
  printTable('Ticket example (8 processes, add + store per iteration), work phase', ['run', 'time/op', 'ops/s', 'seconds', 'ratio', 'target', 'status'], [
    [seedLabel, fmtNs(1e9 / st.best.opsPerSec), fmtOps(st.best.opsPerSec), st.best.seconds.toFixed(3), '', '', ''],
    [`atomic-dict, examples/tickets.js (best of ${out.tickets.runs.length})`, fmtNs(1e9 / tk.opsPerSec), fmtOps(tk.opsPerSec), tk.seconds.toFixed(3), st.measured ? fmtX(out.tickets.vsSeed) : '—', tkTarget.limitText, verdict(tkTarget.met)],
  ], [1, 2, 3, 4])
  console.log(`  atomic-dict runs: ${out.tickets.runs.map((r) => fmtOps(r.opsPerSec)).join(', ')}; checked: ${out.tickets.runs.every((r) => r.checked) ? 'yes' : 'NO'}`)
  if (st.runs.length) console.log(`  seed runs: ${st.runs.map((r) => (r.error ? 'failed' : fmtOps(r.opsPerSec))).join(', ')}; checked: ${st.runs.every((r) => r.checked) ? 'yes' : 'NO'}`)
  else console.log(`  seed: ${st.why}; ${fmtX(out.tickets.vsSeed)} the figure above, which is not measured in this run: target skipped`)

  metricsTables(out.metrics, target)

  const met = out.targets.filter((t) => t.met === true).length
  const missed = out.targets.filter((t) => t.met === false)
  const skipped = out.targets.filter((t) => t.met === null).length
  console.log(`\nTargets: ${met} met, ${missed.length} not met${skipped ? `, ${skipped} skipped` : ''}${missed.length ? ':' : ''}`)
  for (const t of missed) console.log(`  NOT MET: ${t.figure}: ${t.ratio === null ? t.valueText : fmtX(t.ratio)} (${t.limitText})`)

  // ---- Files.
  out.durationSeconds = (Date.now() - began) / 1000
  fs.writeFileSync(path.join(RESULTS, 'results.json'), JSON.stringify(out, null, 2) + '\n')
  fs.writeFileSync(path.join(RESULTS, 'summary.md'), summaryMarkdown(out))
  const svg = await scalingSvg(
    out.scaling.map((s) => ({ processes: s.processes, mode: s.mode === 'own' ? 'own keys (16 per process)' : 'one key (all processes)', opsPerSec: s.opsPerSec })),
    {
      title: 'atomic-dict: dict.add(key, 1n) across processes',
      subtitle: `${out.machine.cores} × ${out.machine.cpu}, Node ${process.version}, ${out.machine.date.slice(0, 10)}; ${fmtOps(CONFIG.scalingOpsPerProcess)} adds per process, median of ${CONFIG.scalingRounds} rounds`,
    },
  )
  fs.writeFileSync(path.join(RESULTS, 'scaling.svg'), svg)
  const rel = (f) => path.relative(ROOT, path.join(RESULTS, f))
  console.log(`\nWrote ${rel('results.json')}, ${rel('summary.md')} and ${rel('scaling.svg')} in ${out.durationSeconds.toFixed(0)} s`)
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}

module.exports = { ipcPeer, redisPeer, memoryPerEntry, scalingRun, ticketExample, readCriterion, seedPython, seedTickets }
