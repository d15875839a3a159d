'use strict'
// Named files, with real processes: AtomicDict.open / AtomicSet.open races
// (exactly one creator, nothing lost, no temporary file left), persistence
// across processes, file modes under a umask, hostile files (each tried in a
// child process, so that a SIGBUS or SIGSEGV fails the test instead of
// killing the runner), geometry mismatches that leave the file untouched,
// and bad arguments.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const childProcess = require('node:child_process')
const { AtomicDict, AtomicSet } = require('..')

const RACE_FIXTURE = path.join(__dirname, 'fixtures', 'open-race.js')
const TRY_FIXTURE = path.join(__dirname, 'fixtures', 'open-try.js')
const CHILD_TIMEOUT_MS = 20_000

// ---------------------------------------------------------------------------
// Temporary directories: one under os.tmpdir() (a disk here) and one under
// /dev/shm (memory), both removed at the end.

const dirs = []
function freshDir(base) {
  const dir = fs.mkdtempSync(path.join(base, 'atomic-dict-open-test-'))
  dirs.push(dir)
  return dir
}
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

const HAS_SHM = (() => {
  try {
    return fs.statSync('/dev/shm').isDirectory()
  } catch {
    return false
  }
})()

// ---------------------------------------------------------------------------
// Children.

/** Runs fixtures/open-try.js with `spec`; resolves to its JSON line plus exit status. */
function tryInChild(spec) {
  return new Promise((resolve, reject) => {
    const child = childProcess.fork(TRY_FIXTURE, [JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.trim().split('\n').pop()
      let result
      try {
        result = line ? JSON.parse(line) : undefined
      } catch {
        result = undefined
      }
      resolve({ code, signal, result, stdout, stderr })
    })
  })
}

/** tryInChild, asserting that the child exited normally (no signal, status 0) and answered. */
async function tryOpen(spec) {
  const r = await tryInChild(spec)
  const what = `child for ${JSON.stringify(spec)}: exit ${r.code}, signal ${r.signal}, stderr:\n${r.stderr}`
  assert.equal(r.signal, null, `the child was killed by a signal (a crash): ${what}`)
  assert.equal(r.code, 0, what)
  assert.ok(r.result, `no JSON result from ${what}`)
  return r.result
}

/**
 * Starts `n` children that all open `file` with `options` at the same moment
 * and each does `count` times add(1n, 1n) and add(100n + i, 1n).
 */
async function race(file, n, count, options) {
  const children = []
  const ready = []
  const done = []
  for (let i = 0; i < n; i++) {
    const child = childProcess.fork(RACE_FIXTURE, [file, String(i), String(count), JSON.stringify(options)], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    let reply
    ready.push(
      new Promise((resolve, reject) => {
        child.once('message', (m) => (m && m.ready ? resolve() : reject(new Error(`child ${i}: ${JSON.stringify(m)}`))))
        child.once('exit', () => reject(new Error(`child ${i} exited before it was ready: ${stderr}`)))
      }),
    )
    done.push(
      new Promise((resolve) => {
        child.on('message', (m) => {
          if (m && !m.ready) reply = m
        })
        child.on('close', (code, signal) => {
          clearTimeout(timer)
          resolve({ code, signal, reply, stderr })
        })
      }),
    )
    children.push(child)
  }
  try {
    await Promise.all(ready)
  } catch (err) {
    for (const c of children) c.kill('SIGKILL')
    await Promise.all(done)
    throw err
  }
  const start = Date.now() + 150
  for (const c of children) c.send({ start })
  const outcomes = await Promise.all(done)
  outcomes.forEach((o, i) => {
    assert.equal(o.signal, null, `racer ${i} was killed by ${o.signal}: ${o.stderr}`)
    assert.equal(o.code, 0, `racer ${i} exited ${o.code}: ${o.stderr}`)
    assert.ok(o.reply, `racer ${i} sent no result: ${o.stderr}`)
    assert.equal(o.reply.error, undefined, `racer ${i} failed: ${JSON.stringify(o.reply.error)}`)
  })
  return outcomes.map((o) => o.reply)
}

/** The checks every race must pass; returns the file's table closed again. */
function checkRace(file, replies, count, options) {
  const n = replies.length
  const creators = replies.filter((r) => r.created === true)
  assert.equal(creators.length, 1, `exactly one creator, got created = ${JSON.stringify(replies.map((r) => r.created))}`)
  for (const r of replies) assert.equal(typeof r.created, 'boolean')
  // Every process sees the one table's geometry.
  for (const r of replies) {
    assert.deepEqual(r.options, { capacity: options.capacity, k64: 1, k32: 0, valueBits: 64, signed: false, strings: 0 })
  }
  // The values add(1n) returned are exactly 0 .. n*count-1, each once.
  const seen = new Uint8Array(n * count)
  let total = 0
  for (const r of replies) {
    assert.equal(r.prev.length, count)
    for (const v of r.prev) {
      assert.ok(Number.isInteger(v) && v >= 0 && v < n * count, `previous value ${v} out of range`)
      assert.equal(seen[v], 0, `previous value ${v} returned twice`)
      seen[v] = 1
      total++
    }
    // Each process's own previous values increase (its adds are in order).
    for (let i = 1; i < r.prev.length; i++) assert.ok(r.prev[i] > r.prev[i - 1])
  }
  assert.equal(total, n * count)

  const dict = AtomicDict.open(file, { create: false })
  try {
    assert.equal(dict.created, false)
    assert.equal(dict.get(1n), BigInt(n * count))
    for (let i = 0; i < n; i++) assert.equal(dict.get(BigInt(100 + i)), BigInt(count), `key ${100 + i}`)
    assert.equal(dict.get(BigInt(100 + n)), undefined)
    assert.equal(dict.size, n + 1)
    const keys = [...dict.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    assert.deepEqual(keys, [1n, ...Array.from({ length: n }, (_, i) => BigInt(100 + i))])
  } finally {
    dict.close()
  }
  // Only the table file is left in its directory: no temporary drafts.
  assert.deepEqual(fs.readdirSync(path.dirname(file)), [path.basename(file)])
  assert.ok(fs.lstatSync(file).isFile())
}

// ---------------------------------------------------------------------------
// 1. Races.

describe('open: many processes creating one new file at once', () => {
  // A big capacity makes creating take ~10 ms (storage is reserved up
  // front), so that several processes find the file missing and go down the
  // create path together: all but one must lose the link and attach.
  const ROUNDS = [
    { base: os.tmpdir(), capacity: 1000 },
    { base: '/dev/shm', capacity: 1000 },
    { base: os.tmpdir(), capacity: 1_000_000 },
    { base: '/dev/shm', capacity: 1_000_000 },
    { base: '/dev/shm', capacity: 1_000_000 },
  ]
  const N = 4
  const COUNT = 20_000
  let contended = 0

  ROUNDS.forEach(({ base, capacity }, round) => {
    const name = `round ${round + 1}: ${N} processes, ${base}, capacity ${capacity}`
    test(name, { skip: base === '/dev/shm' && !HAS_SHM && 'no /dev/shm' }, async (t) => {
      const dir = freshDir(base)
      const file = path.join(dir, 'race.table')
      const OPTIONS = { capacity }
      const replies = await race(file, N, COUNT, OPTIONS)
      const times = replies.map((r) => r.openedAt)
      const missing = replies.filter((r) => r.missing).length
      contended += Math.max(0, missing - 1)
      t.diagnostic(`open() calls spread over ${Math.max(...times) - Math.min(...times)} ms; ${missing} found the file missing`)
      checkRace(file, replies, COUNT, OPTIONS)
      // A new file's mode is 0o600 by default, whatever the umask.
      assert.equal(fs.statSync(file).mode & 0o777, 0o600)
    })
  })

  test('the races raced: in some round several processes found the file missing', () => {
    assert.ok(contended > 0, 'no round had two processes opening a missing file at once')
  })

  test('an AtomicSet opened by 4 processes at once: one creator, one table', async () => {
    const dir = freshDir(HAS_SHM ? '/dev/shm' : os.tmpdir())
    const file = path.join(dir, 'set.table')
    const spec = { path: file, kind: 'set', options: { capacity: 50, k64: 1, k32: 1 } }
    const results = await Promise.all([0, 1, 2, 3].map(() => tryOpen(spec)))
    for (const r of results) assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(results.filter((r) => r.created).length, 1)
    const set = AtomicSet.open(file, { create: false, k64: 1, k32: 1 })
    assert.deepEqual(set.options, { capacity: 50, k64: 1, k32: 1, strings: 0 })
    set.close()
    assert.deepEqual(fs.readdirSync(dir), ['set.table'])
  })
})

// ---------------------------------------------------------------------------
// 2. Persistence.

describe('open: the table persists in its file', () => {
  test('values survive their processes, accumulate across processes, and unlink removes the name', async () => {
    const dir = freshDir(os.tmpdir())
    const file = path.join(dir, 'counts.table')
    const options = { capacity: 64 }
    checkRace(file, await race(file, 2, 1000, options), 1000, options)

    // All writers have exited: open again here, without options and with them.
    const bare = AtomicDict.open(file)
    assert.equal(bare.created, false)
    assert.deepEqual(bare.options, { capacity: 64, k64: 1, k32: 0, valueBits: 64, signed: false, strings: 0 })
    assert.equal(bare.get(1n), 2000n)
    assert.equal(bare.get(100n), 1000n)
    assert.equal(bare.get(101n), 1000n)
    assert.equal(bare.size, 3)
    const full = AtomicDict.open(file, { capacity: 64, k64: 1, k32: 0, valueBits: 64, signed: false, create: false })
    assert.equal(full.created, false)
    assert.equal(full.get(1n), 2000n)
    // Both objects map the same memory.
    full.add(1n, 10n)
    assert.equal(bare.get(1n), 2010n)
    bare.close()
    full.close()
    assert.throws(() => bare.get(1n), { code: 'ERR_ATOMIC_DICT_CLOSED' })

    // A new process attaches (create: false) and adds more.
    const r = await tryOpen({ path: file, kind: 'dict', options: { create: false }, add: [['1', '5'], ['7', '3']], get: ['100'] })
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(r.created, false)
    assert.deepEqual(r.prev, ['2010', '0'])
    assert.deepEqual(r.values, ['1000'])
    assert.equal(r.size, 4)

    const again = AtomicDict.open(file, { create: false })
    assert.equal(again.get(1n), 2015n)
    assert.equal(again.get(7n), 3n)
    assert.equal(again.size, 4)

    // unlink removes the name; a mapping that is open keeps working.
    AtomicDict.unlink(file)
    assert.equal(fs.existsSync(file), false)
    assert.equal(again.add(1n, 1n), 2015n)
    assert.equal(again.get(1n), 2016n)
    again.close()
    assert.throws(() => AtomicDict.open(file, { create: false }), { code: 'ENOENT' })
    assert.throws(() => AtomicDict.unlink(file), { code: 'ENOENT' })
    assert.deepEqual(fs.readdirSync(dir), [])
  })

  test('shape options not given are their defaults and must match the file too (32-bit signed, composite keys)', async () => {
    const dir = freshDir(HAS_SHM ? '/dev/shm' : os.tmpdir())
    const file = path.join(dir, 'pairs.table')
    const shape = { k64: 1, k32: 1, valueBits: 32, signed: true }
    const r = await tryOpen({ path: file, kind: 'dict', options: { capacity: 10, ...shape } })
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(r.created, true)
    const before = fs.readFileSync(file)
    // Left out, each is its default: a 64-bit one-part unsigned table is not this file.
    assert.throws(() => AtomicDict.open(file, { create: false }), {
      code: 'ERR_ATOMIC_DICT_GEOMETRY',
      message: `atomic-dict: ${file} holds a table of another geometry: k32 1 (asked 0, the default), valueBits 32 (asked 64, the default), signed true (asked false, the default)`,
    })
    assert.throws(() => AtomicDict.open(file, { valueBits: 32 }), (e) => e.code === 'ERR_ATOMIC_DICT_GEOMETRY' && !/valueBits/.test(e.message) && /k32 1 \(asked 0, the default\)/.test(e.message))
    assert.throws(() => AtomicSet.open(file, { k32: 1 }), { code: 'ERR_ATOMIC_DICT_WRONG_KIND' })
    assert.deepEqual(fs.readFileSync(file), before, 'a refused open changed the file')
    const made = AtomicDict.open(file, { create: false, ...shape })
    assert.deepEqual(made.options, { capacity: 10, ...shape, strings: 0 })
    assert.equal(made.sub([5n, 6], 3), 0)
    made.close()
    const seen = AtomicDict.open(file, shape)
    assert.equal(seen.get([5n, 6]), -3)
    assert.equal(seen.created, false)
    seen.close()
  })

  test('a missing file: create:false gives ENOENT, creating without capacity fails, nothing is left behind', () => {
    const dir = freshDir(os.tmpdir())
    const file = path.join(dir, 'missing.table')
    assert.throws(() => AtomicDict.open(file, { create: false }), (e) => e.code === 'ENOENT' && e.message.includes(file))
    assert.throws(() => AtomicSet.open(file, { create: false, capacity: 5 }), { code: 'ENOENT' })
    assert.throws(() => AtomicDict.open(file), (e) => e instanceof Error && /capacity/.test(e.message))
    assert.throws(() => AtomicDict.open(file, { create: true, k64: 2 }), (e) => e instanceof Error && /capacity/.test(e.message))
    assert.throws(
      () => AtomicDict.open(path.join(dir, 'no-such-dir', 'x.table'), { capacity: 5 }),
      (e) => e.code === 'ENOENT',
    )
    assert.deepEqual(fs.readdirSync(dir), [])
  })
  test('a legal 255-byte file name can be created', () => {
    // The draft is made under a temporary name beside the file; that name
    // must not be longer than NAME_MAX when the file's own name is not.
    const dir = freshDir(os.tmpdir())
    const file = path.join(dir, 'n'.repeat(255))
    fs.writeFileSync(file, '') // the name itself is legal here
    fs.unlinkSync(file)
    const d = AtomicDict.open(file, { capacity: 4 })
    assert.equal(d.created, true)
    d.close()
    assert.deepEqual(fs.readdirSync(dir), ['n'.repeat(255)])
  })

  test('permission denied gives code EACCES (opening, and creating in an unwritable directory)', async () => {
    const root = process.getuid && process.getuid() === 0
    const dir = freshDir(os.tmpdir())
    fs.chmodSync(dir, 0o755)
    const file = path.join(dir, 'private.table')
    AtomicDict.open(file, { capacity: 4, mode: root ? 0o600 : 0o000 }).close()
    const locked = path.join(dir, 'locked')
    fs.mkdirSync(locked)
    fs.chmodSync(locked, 0o555)
    const as = root ? { uid: 65534 } : {}
    const r1 = await tryOpen({ path: file, kind: 'dict', options: {}, ...as })
    const r2 = await tryOpen({ path: path.join(locked, 'new.table'), kind: 'dict', options: { capacity: 4 }, ...as })
    for (const r of [r1, r2]) {
      assert.equal(r.ok, false, JSON.stringify(r))
      assert.match(r.message, /permission denied/)
    }
    assert.deepEqual(fs.readdirSync(locked), [])
    assert.deepEqual([r1.code, r2.code], ['EACCES', 'EACCES'], `${r1.message}\n${r2.message}`)
  })
})

// ---------------------------------------------------------------------------
// 3. Modes.

describe('open: the mode of a new file is exactly options.mode', () => {
  const cases = [
    { name: 'default under umask 0', umask: 0, mode: undefined, expected: 0o600 },
    { name: 'default under umask 0o077', umask: 0o077, mode: undefined, expected: 0o600 },
    { name: '0o640 under umask 0o077', umask: 0o077, mode: 0o640, expected: 0o640 },
    { name: '0o666 under umask 0o022 (allowInsecure)', umask: 0o022, mode: 0o666, expected: 0o666, allowInsecure: true },
    { name: '0o400 under umask 0', umask: 0, mode: 0o400, expected: 0o400 },
  ]
  for (const c of cases) {
    test(c.name, async () => {
      const dir = freshDir(HAS_SHM ? '/dev/shm' : os.tmpdir())
      const file = path.join(dir, 'mode.table')
      const options = { capacity: 8 }
      if (c.mode !== undefined) options.mode = c.mode
      if (c.allowInsecure) options.allowInsecure = true
      const r = await tryOpen({ path: file, kind: 'dict', options, umask: c.umask, add: [['1', '1']] })
      assert.equal(r.ok, true, JSON.stringify(r))
      assert.equal(r.created, true)
      assert.equal(r.mode, c.expected)
      assert.equal(fs.statSync(file).mode & 0o777, c.expected)
      assert.deepEqual(fs.readdirSync(dir), ['mode.table'])
    })
  }

  test('the mode of an existing file is not changed by opening it with another mode', async () => {
    const dir = freshDir(os.tmpdir())
    const file = path.join(dir, 'kept.table')
    AtomicDict.open(file, { capacity: 8, mode: 0o640 }).close()
    const r = await tryOpen({ path: file, kind: 'dict', options: { capacity: 8, mode: 0o600 } })
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(r.created, false)
    assert.equal(fs.statSync(file).mode & 0o777, 0o640)
  })
})

// ---------------------------------------------------------------------------
// 4. Hostile files, each tried in a child process.

/** The table file every hostile case starts from: a dict of capacity 100 with keys 1..5. */
const GOOD = { capacity: 100 }

function writeWith(file, bytes) {
  fs.writeFileSync(file, bytes, { mode: 0o600 })
  return file
}

function patched(bytes, fn) {
  const b = Buffer.from(bytes)
  fn(b)
  return b
}

describe('open: hostile files throw a clear error and never crash the process', { concurrency: 4 }, () => {
  let dir
  let good // bytes of a valid table
  let goodFile
  let bigHeader // the header of a valid table of capacity 100_000

  before(() => {
    dir = freshDir(os.tmpdir())
    goodFile = path.join(dir, 'good.table')
    const d = AtomicDict.open(goodFile, GOOD)
    for (let k = 1n; k <= 5n; k++) d.add(k, k * 10n)
    d.close()
    good = fs.readFileSync(goodFile)
    const bigFile = path.join(dir, 'big.table')
    AtomicDict.open(bigFile, { capacity: 100_000 }).close()
    bigHeader = fs.readFileSync(bigFile).subarray(0, 128)
    fs.unlinkSync(bigFile)
  })

  /**
   * A case: `make()` returns the path to open (with { capacity: 100 }, so
   * create is true: an existing bad file must not be replaced either). The
   * child must exit normally, report an error whose code is one of `codes`
   * and whose message matches `message`; a regular file must be unchanged.
   */
  const cases = [
    { name: 'an empty file', make: (f) => writeWith(f, Buffer.alloc(0)), codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'], message: /empty/ },
    {
      name: 'a file of 100 random bytes',
      make: (f) => writeWith(f, require('node:crypto').randomBytes(100)),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /not an atomic-dict table.*shorter than a header/,
    },
    {
      name: 'a valid table truncated to 64 bytes',
      make: (f) => writeWith(f, good.subarray(0, 64)),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /shorter than a header/,
    },
    {
      name: 'a valid table truncated to 127 bytes',
      make: (f) => writeWith(f, good.subarray(0, 127)),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /127 bytes is shorter than a header/,
    },
    {
      name: 'a valid table truncated to half its size',
      make: (f) => writeWith(f, good.subarray(0, good.length / 2)),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: () => new RegExp(`need ${good.length} bytes, the memory has ${good.length / 2}$`),
    },
    {
      name: 'a valid table less its last 8 bytes',
      make: (f) => writeWith(f, good.subarray(0, good.length - 8)),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /bytes, the memory has/,
    },
    {
      name: 'a valid table with its magic changed',
      make: (f) => writeWith(f, patched(good, (b) => (b[0] ^= 0x20))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /magic/,
    },
    {
      name: 'a file of zeros the size of a table (magic never written)',
      make: (f) => writeWith(f, Buffer.alloc(good.length)),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /magic/,
    },
    {
      name: 'a valid table with its version changed',
      make: (f) => writeWith(f, patched(good, (b) => b.writeUInt32LE(2, 8))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /version 2/,
    },
    {
      name: 'a valid table with unknown flags',
      make: (f) => writeWith(f, patched(good, (b) => b.writeUInt32LE(0x80, 12))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /flags/,
    },
    {
      name: 'block_count forged larger than the file',
      make: (f) => writeWith(f, patched(good, (b) => b.writeBigUInt64LE(b.readBigUInt64LE(40) * 1000n, 40))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /geometry fields/,
    },
    {
      name: 'block_count set to 0',
      make: (f) => writeWith(f, patched(good, (b) => b.writeBigUInt64LE(0n, 40))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /geometry fields/,
    },
    {
      name: 'block_count set to 2^64-1',
      make: (f) => writeWith(f, patched(good, (b) => b.writeBigUInt64LE(2n ** 64n - 1n, 40))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /geometry fields/,
    },
    {
      name: 'capacity forged larger (2^31)',
      make: (f) => writeWith(f, patched(good, (b) => b.writeBigUInt64LE(2n ** 31n, 48))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /geometry fields/,
    },
    {
      name: 'capacity forged beyond 2^31',
      make: (f) => writeWith(f, patched(good, (b) => b.writeBigUInt64LE(2n ** 40n, 48))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /impossible geometry/,
    },
    {
      name: 'a consistent header of a 100,000-key table over a 100-key file',
      make: (f) => writeWith(f, patched(good, (b) => bigHeader.copy(b, 0))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /blocks need \d+ bytes, the memory has \d+/,
    },
    {
      name: 'row_bytes changed',
      make: (f) => writeWith(f, patched(good, (b) => b.writeUInt32LE(24, 28))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /geometry fields/,
    },
    {
      name: 'k64 set to 9 (no such geometry)',
      make: (f) => writeWith(f, patched(good, (b) => b.writeUInt32LE(9, 16))),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /impossible geometry/,
    },
    {
      // The Rust side accepts a region longer than the table needs; the JS
      // side must then not fail on typed-array lengths either.
      name: 'a valid table with 1 trailing byte',
      make: (f) => writeWith(f, Buffer.concat([good, Buffer.from([0])])),
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /not an atomic-dict table/,
      orOpens: true,
    },
    {
      name: 'a valid table with 64 trailing zero bytes (opens)',
      make: (f) => writeWith(f, Buffer.concat([good, Buffer.alloc(64)])),
      opens: true,
    },
    {
      name: 'a FIFO',
      make: (f) => {
        childProcess.execFileSync('mkfifo', ['-m', '600', f])
        return f
      },
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'],
      message: /not a regular file/,
      special: true,
    },
    {
      name: 'a directory',
      make: (f) => {
        fs.mkdirSync(f)
        return f
      },
      codes: ['EISDIR'],
      message: /directory/i,
      special: true,
    },
    { name: '/dev/null (a character device)', make: () => '/dev/null', codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE'], message: /not a regular file/, special: true },
    {
      name: 'a symlink to a valid table',
      make: (f) => {
        fs.symlinkSync(goodFile, f)
        return f
      },
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE', 'ELOOP'],
      message: /symbolic link/,
      special: true,
    },
    {
      name: 'a symlink to nothing (create: true must not create its target)',
      make: (f) => {
        fs.symlinkSync(f + '.target', f)
        return f
      },
      codes: ['ERR_ATOMIC_DICT_NOT_A_TABLE', 'ELOOP'],
      message: /symbolic link/,
      special: true,
      after: (f) => {
        assert.equal(fs.existsSync(f + '.target'), false, 'the symlink target was created')
        assert.ok(fs.lstatSync(f).isSymbolicLink())
      },
    },
  ]

  let n = 0
  for (const c of cases) {
    test(c.name, async () => {
      const file = c.make(path.join(dir, `case-${++n}`))
      const regular = fs.lstatSync(file).isFile()
      const before = regular ? fs.readFileSync(file) : undefined
      const r = await tryOpen({ path: file, kind: 'dict', options: GOOD, get: ['1', '5'] })
      if (c.opens) {
        assert.equal(r.ok, true, JSON.stringify(r))
        assert.equal(r.created, false)
        assert.deepEqual(r.values, ['10', '50'])
        return
      }
      if (!(c.orOpens && r.ok)) {
        assert.equal(r.ok, false, `opened: ${JSON.stringify(r)}`)
        assert.equal(r.name, 'Error', JSON.stringify(r))
        assert.ok(c.codes.includes(r.code), `code ${r.code} is not one of ${c.codes} (message: ${r.message})`)
        assert.match(r.message, typeof c.message === 'function' ? c.message() : c.message)
        assert.match(r.message, /^atomic-dict: /)
      } else {
        assert.deepEqual(r.values, ['10', '50'])
      }
      if (regular) assert.deepEqual(fs.readFileSync(file), before, 'the file was changed')
      if (c.after) c.after(file)
      // Nothing else appeared in the directory (no temporary drafts).
      for (const name of fs.readdirSync(dir)) assert.ok(!name.startsWith('.'), `left behind: ${name}`)
    })
  }

  test('an AtomicSet.open of the same hostile bytes is refused too', async () => {
    const file = writeWith(path.join(dir, 'set-case'), patched(good, (b) => b.writeBigUInt64LE(0n, 40)))
    const r = await tryOpen({ path: file, kind: 'set', options: { capacity: 100 } })
    assert.equal(r.ok, false)
    assert.equal(r.code, 'ERR_ATOMIC_DICT_NOT_A_TABLE')
  })

  test('a path with a NUL byte', async () => {
    const r = await tryOpen({ path: path.join(dir, 'a\0b'), kind: 'dict', options: GOOD })
    assert.equal(r.ok, false)
    assert.ok(r.name === 'TypeError' || /NUL|null byte|\\0/i.test(r.message), JSON.stringify(r))
    assert.equal(fs.existsSync(path.join(dir, 'a')), false)
  })

  const mismatches = [
    { option: 'capacity', options: { capacity: 101 } },
    { option: 'capacity', options: { capacity: 100_000, create: false } },
    { option: 'k64', options: { capacity: 100, k64: 2 } },
    { option: 'k32', options: { k32: 1 } },
    { option: 'valueBits', options: { capacity: 100, valueBits: 32 } },
    { option: 'signed', options: { signed: true } },
  ]
  for (const m of mismatches) {
    test(`options mismatch: ${JSON.stringify(m.options)} → ERR_ATOMIC_DICT_GEOMETRY, file unchanged`, async () => {
      const file = path.join(dir, `mismatch-${++n}`)
      fs.copyFileSync(goodFile, file)
      const before = fs.readFileSync(file)
      const r = await tryOpen({ path: file, kind: 'dict', options: m.options })
      assert.equal(r.ok, false, JSON.stringify(r))
      assert.equal(r.code, 'ERR_ATOMIC_DICT_GEOMETRY', JSON.stringify(r))
      assert.match(r.message, new RegExp(m.option))
      assert.ok(r.message.includes(file))
      assert.deepEqual(fs.readFileSync(file), before, 'the file was changed')
      // Still openable with the right options, with its values.
      const d = AtomicDict.open(file, { capacity: 100, k64: 1, k32: 0, valueBits: 64, signed: false, create: false })
      assert.equal(d.get(3n), 30n)
      assert.equal(d.size, 5)
      d.close()
    })
  }

  test('AtomicDict.open of a set file, AtomicSet.open of a dict file → ERR_ATOMIC_DICT_WRONG_KIND', async () => {
    const setFile = path.join(dir, 'a.set')
    AtomicSet.open(setFile, { capacity: 10 }).close()
    const before = fs.readFileSync(setFile)
    const r1 = await tryOpen({ path: setFile, kind: 'dict', options: {} })
    assert.equal(r1.ok, false)
    assert.equal(r1.code, 'ERR_ATOMIC_DICT_WRONG_KIND')
    assert.match(r1.message, /AtomicSet, not an AtomicDict/)
    const r2 = await tryOpen({ path: setFile, kind: 'dict', options: { capacity: 10 } })
    assert.equal(r2.code, 'ERR_ATOMIC_DICT_WRONG_KIND')
    assert.deepEqual(fs.readFileSync(setFile), before)
    const r3 = await tryOpen({ path: goodFile, kind: 'set', options: {} })
    assert.equal(r3.code, 'ERR_ATOMIC_DICT_WRONG_KIND')
    assert.match(r3.message, /AtomicDict, not an AtomicSet/)
  })
})

// ---------------------------------------------------------------------------
// 5. Bad arguments: thrown before any file is touched.

describe('open: bad arguments', () => {
  let dir
  let file
  before(() => {
    dir = freshDir(os.tmpdir())
    file = path.join(dir, 'args.table')
  })

  const badPaths = [undefined, null, 42, 42n, {}, ['a'], '', Buffer.from('x')]
  for (const p of badPaths) {
    test(`path ${Buffer.isBuffer(p) ? 'Buffer' : typeof p === 'bigint' ? `${p}n` : JSON.stringify(p)} → TypeError`, () => {
      assert.throws(() => AtomicDict.open(p, { capacity: 5 }), (e) => e instanceof TypeError && /path/.test(e.message))
      assert.throws(() => AtomicSet.open(p, { capacity: 5 }), (e) => e instanceof TypeError && /path/.test(e.message))
      assert.throws(() => AtomicDict.unlink(p), (e) => e instanceof TypeError && /path/.test(e.message))
    })
  }

  const badOptions = [
    { options: null, cls: TypeError, name: /options/ },
    { options: 'x', cls: TypeError, name: /options/ },
    { options: { capacity: 5, create: 'yes' }, cls: TypeError, name: /options\.create/ },
    { options: { capacity: 5, create: 1 }, cls: TypeError, name: /options\.create/ },
    { options: { capacity: 5, create: null }, cls: TypeError, name: /options\.create/ },
    { options: { capacity: 5, mode: -1 }, cls: RangeError, name: /options\.mode/ },
    { options: { capacity: 5, mode: 0o1000 }, cls: RangeError, name: /options\.mode/ },
    { options: { capacity: 5, mode: 0o4755 }, cls: RangeError, name: /options\.mode/ },
    { options: { capacity: 5, mode: 1.5 }, cls: RangeError, name: /options\.mode/ },
    { options: { capacity: 5, mode: '600' }, cls: TypeError, name: /options\.mode/ },
    { options: { capacity: 0 }, cls: RangeError, name: /options\.capacity/ },
    { options: { capacity: 1.5 }, cls: RangeError, name: /options\.capacity/ },
    { options: { capacity: -1 }, cls: RangeError, name: /options\.capacity/ },
    { options: { capacity: 2 ** 31 + 1 }, cls: RangeError, name: /options\.capacity/ },
    { options: { capacity: '5' }, cls: TypeError, name: /options\.capacity/ },
    { options: { capacity: 5n }, cls: TypeError, name: /options\.capacity/ },
    { options: { capacity: 5, k64: 9 }, cls: RangeError, name: /options\.k64/ },
    { options: { capacity: 5, valueBits: 16 }, cls: RangeError, name: /options\.valueBits/ },
    { options: { capacity: 5, signed: 1 }, cls: TypeError, name: /options\.signed/ },
  ]
  for (const b of badOptions) {
    const label = b.options && typeof b.options === 'object' ? JSON.stringify(b.options, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)) : JSON.stringify(b.options)
    test(`options ${label} → ${b.cls.name}, no file created`, () => {
      assert.throws(() => AtomicDict.open(file, b.options), (e) => e instanceof b.cls && b.name.test(e.message))
      assert.deepEqual(fs.readdirSync(dir), [])
    })
  }

  test('bad options are refused for an existing table too, leaving it unchanged', () => {
    const existing = path.join(dir, 'existing.table')
    const d = AtomicDict.open(existing, { capacity: 5 })
    d.add(1n, 1n)
    const bytes = fs.readFileSync(existing)
    assert.throws(() => AtomicDict.open(existing, { create: 'no' }), TypeError)
    assert.throws(() => AtomicDict.open(existing, { mode: 0o10000 }), RangeError)
    assert.throws(() => AtomicDict.open(existing, { capacity: 0 }), RangeError)
    assert.throws(() => AtomicSet.open(existing, { capacity: 1.5 }), RangeError)
    assert.deepEqual(fs.readFileSync(existing), bytes)
    d.close()
    AtomicDict.unlink(existing)
    assert.deepEqual(fs.readdirSync(dir), [])
  })
})
