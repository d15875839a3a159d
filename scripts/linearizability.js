'use strict'
// Multi-process linearizability of add (docs/RELIABILITY.md).
//
//   node scripts/linearizability.js [--procs 8] [--ops 1000000]
//
// `procs` processes, each sharing one table by fork, wait for a common start
// signal and then do `ops` times add(K, 1n) on the same key, keeping every
// previous value add returned in a BigUint64Array, which they dump to a file
// of their own (8 bytes an operation). add is linearizable iff the previous
// values are exactly 0 .. procs*ops-1, each once, and each process's own
// values increase; the final value must be procs*ops. The parent checks the
// union with a bitmap (procs*ops bits). Exits 1 on any violation.
// Also used by __test__/reliability.test.js.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { AtomicDict, fork } = require('..')

const KEY = 0x5eedn

function child() {
  const [file, opsText] = process.argv.slice(3)
  const ops = Number(opsText)
  const dict = AtomicDict.inherit('dict')
  dict.load(KEY) // the key's row found, and cached, before the start
  const prev = new BigUint64Array(ops)
  process.on('message', (m) => {
    if (!m || !m.go) return
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < ops; i++) prev[i] = dict.add(KEY, 1n)
    const ns = Number(process.hrtime.bigint() - t0)
    const fd = fs.openSync(file, 'w')
    const bytes = new Uint8Array(prev.buffer)
    let off = 0
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off)
    fs.closeSync(fd)
    process.send({ done: true, ns }, () => process.disconnect())
  })
  process.send({ ready: true })
}

/** Runs the check; resolves to the figures and the problems found. */
async function runLinearizability({ procs = 8, ops = 1_000_000 } = {}) {
  const total = procs * ops
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-linearizability-'))
  const dict = new AtomicDict(16)
  const problems = []
  const start = Date.now()
  try {
    const children = []
    const ready = []
    const done = []
    for (let p = 0; p < procs; p++) {
      const file = path.join(dir, `prev-${p}.bin`)
      const c = fork(__filename, ['--child', file, String(ops)], { share: { dict }, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] })
      let stderr = ''
      c.stderr.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => c.kill('SIGKILL'), 110_000)
      ready.push(new Promise((resolve) => c.on('message', (m) => m && m.ready && resolve())))
      let ns = null
      c.on('message', (m) => {
        if (m && m.done) ns = m.ns
      })
      done.push(
        new Promise((resolve) =>
          c.on('close', (code, signal) => {
            clearTimeout(timer)
            resolve({ p, file, code, signal, ns, stderr })
          }),
        ),
      )
      children.push(c)
    }
    await Promise.race([Promise.all(ready), Promise.all(done)])
    const go = process.hrtime.bigint()
    for (const c of children) if (c.connected) c.send({ go: true })
    const outcomes = await Promise.all(done)
    const wallNs = Number(process.hrtime.bigint() - go)
    // The union of the previous values: exactly 0 .. total-1, each once.
    const seen = new Uint8Array(Math.ceil(total / 8))
    let values = 0
    let duplicates = 0
    let outOfRange = 0
    let notIncreasing = 0
    let interleavings = 0 // another process's add came between two of one process's
    for (const o of outcomes) {
      if (o.code !== 0 || o.signal !== null || o.ns === null) {
        problems.push(`process ${o.p}: exit ${o.code}, signal ${o.signal}${o.stderr ? `: ${o.stderr.trim()}` : ''}`)
        continue
      }
      const buf = fs.readFileSync(o.file)
      if (buf.length !== ops * 8) {
        problems.push(`process ${o.p}: ${buf.length} bytes of previous values, expected ${ops * 8}`)
        continue
      }
      // Little-endian u64s read as u32 halves: no BigInt per value.
      const u32 = new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4)
      let last = -1
      for (let i = 0; i < ops; i++) {
        const low = u32[2 * i]
        const high = u32[2 * i + 1]
        values++
        if (high !== 0 || low >= total) {
          outOfRange++
          continue
        }
        if (low <= last) notIncreasing++
        else if (last >= 0 && low !== last + 1) interleavings++
        last = low
        const byte = low >>> 3
        const bit = 1 << (low & 7)
        if (seen[byte] & bit) duplicates++
        else seen[byte] |= bit
      }
      fs.rmSync(o.file)
    }
    let missing = 0
    for (let v = 0; v < total; v++) if (!(seen[v >>> 3] & (1 << (v & 7)))) missing++
    const final = dict.load(KEY)
    if (duplicates) problems.push(`${duplicates} previous values returned more than once`)
    if (missing) problems.push(`${missing} values in 0..${total - 1} never returned`)
    if (outOfRange) problems.push(`${outOfRange} previous values out of 0..${total - 1}`)
    if (notIncreasing) problems.push(`${notIncreasing} times a process's add returned a value not above its previous one`)
    if (procs > 1 && interleavings === 0) problems.push('the processes never interleaved: nothing was tested')
    if (final !== BigInt(total)) problems.push(`final value ${final}, expected ${total}`)
    const rep = dict.verify()
    if (!rep.ok || rep.entries !== 1) problems.push(`verify: ${JSON.stringify(rep)}`)
    const workNs = Math.max(...outcomes.map((o) => o.ns ?? 0))
    return {
      procs,
      ops,
      total,
      values,
      duplicates,
      missing,
      outOfRange,
      notIncreasing,
      interleavings,
      final,
      problems,
      workMs: workNs / 1e6,
      wallMs: wallNs / 1e6,
      ms: Date.now() - start,
    }
  } finally {
    dict.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

function parseArgs(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(procs|ops)(?:=(.*))?$/.exec(argv[i])
    if (!m) throw new Error(`unknown argument ${argv[i]} (usage: node scripts/linearizability.js [--procs 8] [--ops 1000000])`)
    const v = Number(m[2] ?? argv[++i])
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${m[1]} needs a positive integer`)
    out[m[1]] = v
  }
  if ((out.procs ?? 8) * (out.ops ?? 1_000_000) >= 2 ** 32) throw new Error('procs * ops must be below 2^32')
  return out
}

async function main() {
  const r = await runLinearizability(parseArgs(process.argv.slice(2)))
  for (const p of r.problems) console.log(`VIOLATION: ${p}`)
  console.log(`linearizability: ${r.procs} processes x ${r.ops} add(k, 1n) on one key`)
  console.log(`previous values:   ${r.values} checked (bitmap of ${r.total} bits)`)
  console.log(`duplicated:        ${r.duplicates}`)
  console.log(`missing:           ${r.missing}`)
  console.log(`out of range:      ${r.outOfRange}`)
  console.log(`not increasing:    ${r.notIncreasing} (within one process)`)
  console.log(`interleavings:     ${r.interleavings} (another process's adds came between two of one process's)`)
  console.log(`final value:       ${r.final} (expected ${r.total})`)
  const mops = r.total / (r.workMs / 1000) / 1e6
  console.log(`adds:              ${(r.workMs / 1000).toFixed(2)} s for the slowest process (${mops.toFixed(1)} M adds/s total)`)
  console.log(`from go to exit:   ${(r.wallMs / 1000).toFixed(2)} s; whole run ${(r.ms / 1000).toFixed(1)} s`)
  console.log(r.problems.length ? 'linearizability: FAILED' : 'linearizability: passed')
  process.exitCode = r.problems.length ? 1 : 0
}

module.exports = { runLinearizability }

if (require.main === module) {
  if (process.argv[2] === '--child') child()
  else
    main().catch((err) => {
      console.error(err)
      process.exitCode = 2
    })
}
