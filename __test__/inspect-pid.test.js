'use strict'
// `npx atomic-dict inspect --pid <pid>` and `inspect /proc/<pid>/fd/<n>`
// against real child processes holding memfd tables (new AtomicDict /
// AtomicSet), a table with a string area, a named table file, and
// descriptors that are not tables (files, a FIFO, pipes, /dev/null); hostile
// memfds and files that start with the magic number; a table being changed
// while it is read; --version; error messages without "(os error N)".

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const childProcess = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const BIN = path.join(ROOT, 'bin', 'atomic-dict.js')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-inspect-pid-'))
const children = []
after(() => {
  for (const c of children) c.kill('SIGKILL')
  fs.rmSync(dir, { recursive: true, force: true })
})

function run(...args) {
  const r = childProcess.spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 })
  if (r.error) throw r.error
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

/**
 * Starts a child running `body` (with `ROOT`, `fs`, `AtomicDict`, `AtomicSet`
 * and `fdOf(make)` — the descriptor a table made by `make()` added — in
 * scope); `body` ends with `ready(info)`, which prints `info` as JSON. The
 * child lives until its stdin closes. Resolves { child, pid, info }.
 */
function startChild(body) {
  const script = `
    const fs = require('node:fs')
    const { AtomicDict, AtomicSet } = require(${JSON.stringify(ROOT)})
    const link = (fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) } catch { return null } }
    // The memfds open now (the listing's own descriptor is gone by then).
    const fds = () => new Set(fs.readdirSync('/proc/self/fd').filter((fd) => (link(fd) || '').startsWith('/memfd:')))
    function fdOf(make) {
      const before = fds()
      const made = make()
      const added = [...fds()].filter((fd) => !before.has(fd))
      if (added.length !== 1) throw new Error('expected one new memfd, got ' + added)
      return [made, Number(added[0])]
    }
    function ready(info) { process.stdout.write(JSON.stringify(info) + '\\n') }
    process.stdin.on('data', () => {})
    process.stdin.on('end', () => process.exit(0))
    ${body}
  `
  const child = childProcess.spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (b) => {
      out += b
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve({ child, pid: child.pid, info: JSON.parse(out.slice(0, nl)) })
    })
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before it was ready`)))
  })
}

function stop(c) {
  c.child.stdin.end()
}

/** The child's memfd/file bytes and descriptor state, to compare before/after. */
function state(pid, fd) {
  const fdinfo = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')
  return { bytes: fs.readFileSync(`/proc/${pid}/fd/${fd}`), pos: /^pos:\s*(\d+)/m.exec(fdinfo)[1], flags: /^flags:\s*(\d+)/m.exec(fdinfo)[1] }
}

function entryMap(entries) {
  return new Map(entries.map((e) => [JSON.stringify(e.key), e.value]))
}

describe('inspect --pid on a process with tables', () => {
  let c
  const named = path.join(dir, 'named.table')
  const plainFile = path.join(dir, 'plain.txt')
  const almostMagic = path.join(dir, 'almost')
  const fifo = path.join(dir, 'fifo')
  before(async () => {
    fs.writeFileSync(plainFile, 'not a table\n'.repeat(100))
    fs.writeFileSync(almostMagic, 'ATOMDIC') // 7 bytes: shorter than the magic number
    childProcess.execFileSync('mkfifo', [fifo])
    c = await startChild(`
      const [dict, dictFd] = fdOf(() => new AtomicDict(100))
      dict.store(1n, 10n)
      dict.store(2n ** 64n - 1n, 2n ** 64n - 1n)
      dict.store(77n, 0n)
      const [set, setFd] = fdOf(() => new AtomicSet(50, { k64: 0, k32: 2 }))
      set.add([1, 2])
      set.add([3, 0xffffffff])
      const [str, strFd] = fdOf(() => new AtomicDict(20, { k64: 1, k32: 1, valueBits: 32, signed: true, strings: 4096 }))
      str.store(['GET /', 200], -5)
      str.store([42n, 7], 9)
      str.store(['é ✓', 1], 2 ** 31 - 1)
      const file = AtomicDict.open(${JSON.stringify(named)}, { capacity: 10 })
      file.store(5n, 6n)
      const plain = fs.openSync(${JSON.stringify(plainFile)}, 'r')
      const almost = fs.openSync(${JSON.stringify(almostMagic)}, 'r')
      const fifo = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK)
      const links = Object.fromEntries(fs.readdirSync('/proc/self/fd').map((fd) => [fd, link(fd)]))
      ready({ dictFd, setFd, strFd, plain, almost, fifo, links })
    `)
  })
  after(() => stop(c))

  test('finds exactly its tables, with their contents', () => {
    const { dictFd, setFd, strFd, links } = c.info
    // What the child holds besides its tables: a plain file, a FIFO, pipes.
    assert.ok(Object.values(links).some((l) => l && l.startsWith('pipe:[')), JSON.stringify(links))
    assert.equal(links[c.info.fifo], fifo)
    // The named table's descriptor, by inode: /proc names the file by the
    // temporary name it was made under (see AtomicDict.open), since removed.
    const { ino } = fs.statSync(named)
    const namedFd = Number(Object.keys(links).find((fd) => links[fd] && fs.statSync(`/proc/${c.pid}/fd/${fd}`).ino === ino))
    assert.ok(namedFd > 2)

    const r = run('inspect', '--pid', String(c.pid), '--json')
    assert.equal(r.stderr, '')
    assert.equal(r.status, 0)
    const tables = JSON.parse(r.stdout)
    assert.ok(Array.isArray(tables))
    assert.deepEqual(
      tables.map((t) => t.fd),
      [dictFd, setFd, strFd, namedFd].sort((a, b) => a - b),
    )
    const byFd = new Map(tables.map((t) => [t.fd, t]))
    for (const fd of [dictFd, setFd, strFd]) {
      const t = byFd.get(fd)
      assert.equal(t.target, '/memfd:atomic-dict (deleted)')
      assert.equal(t.what, 'memfd "atomic-dict"')
      assert.equal(t.path, `/proc/${c.pid}/fd/${fd}`)
      assert.deepEqual(t.also, [])
      assert.equal(t.verify.ok, true)
    }
    assert.match(links[namedFd], / \(deleted\)$/)
    assert.equal(byFd.get(namedFd).target, links[namedFd])
    assert.equal(byFd.get(namedFd).name, named, 'found by its inode in its directory')
    assert.equal(byFd.get(namedFd).what, `file ${named}`)
    for (const fd of [dictFd, setFd, strFd]) assert.equal(byFd.get(fd).name, null)

    const dict = byFd.get(dictFd)
    assert.equal(dict.geometry.capacity, 100)
    assert.equal(dict.size, 3)
    assert.deepEqual(
      entryMap(dict.entries),
      new Map([
        ['"1"', '10'],
        [JSON.stringify((2n ** 64n - 1n).toString()), (2n ** 64n - 1n).toString()],
        ['"77"', '0'],
      ]),
    )
    const set = byFd.get(setFd)
    assert.equal(set.geometry.kind, 'set')
    assert.deepEqual(new Set(set.entries.map((e) => JSON.stringify(e))), new Set(['{"key":[1,2]}', '{"key":[3,4294967295]}']))
    const str = byFd.get(strFd)
    assert.deepEqual(str.strings, { ...str.strings, count: 2, refused: 0 })
    assert.deepEqual(
      entryMap(str.entries),
      new Map([
        ['["GET /",200]', -5],
        ['["42",7]', 9],
        ['["é ✓",1]', 2 ** 31 - 1],
      ]),
    )
    assert.deepEqual(entryMap(byFd.get(namedFd).entries), new Map([['"5"', '6']]))
  })

  test('text output: each table under its descriptor, string parts quoted', () => {
    const { dictFd, strFd } = c.info
    const r = run('inspect', '--pid', String(c.pid))
    assert.equal(r.stderr, '')
    assert.equal(r.status, 0)
    assert.match(r.stdout, new RegExp(`^fd {12}${dictFd}: memfd "atomic-dict"\\npath {10}/proc/${c.pid}/fd/${dictFd}\\nkind {10}dict$`, 'm'))
    assert.match(r.stdout, new RegExp(`^fd {12}${strFd}: memfd "atomic-dict"$`, 'm'))
    assert.match(r.stdout, /^ *"GET \/" +200 +-5$/m)
    assert.match(r.stdout, /^ *"é ✓" +1 +2147483647$/m)
    assert.equal(r.stdout.match(/^fd {12}/gm).length, 4)
  })

  test('a /proc/<pid>/fd/<n> path reads the same table', () => {
    const { strFd } = c.info
    const byPid = JSON.parse(run('inspect', '--pid', String(c.pid), '--json').stdout).find((t) => t.fd === strFd)
    const p = `/proc/${c.pid}/fd/${strFd}`
    const r = run('inspect', p, '--json')
    assert.equal(r.stderr, '')
    assert.equal(r.status, 0)
    const direct = JSON.parse(r.stdout)
    const { fd, also, target, name, what, ...rest } = byPid
    assert.deepEqual(direct, rest)
    assert.equal(direct.path, p)
    // The FIFO, the plain file and a too-short file through /proc: refused
    // clearly, never opened in a way that blocks.
    const f = run('inspect', `/proc/${c.pid}/fd/${c.info.fifo}`)
    assert.equal(f.status, 1)
    assert.equal(f.stderr, `atomic-dict inspect: /proc/${c.pid}/fd/${c.info.fifo} is not a regular file (a FIFO)\n`)
    const t = run('inspect', `/proc/${c.pid}/fd/${c.info.plain}`)
    assert.equal(t.status, 1)
    assert.match(t.stderr, /is not an atomic-dict table: wrong magic number/)
    const a = run('inspect', `/proc/${c.pid}/fd/${c.info.almost}`)
    assert.equal(a.status, 1)
    assert.match(a.stderr, /is not an atomic-dict table: 7 bytes is shorter than a header/)
  })

  test('inspecting changes neither the memfds, nor the file, nor the descriptors', () => {
    const { dictFd, setFd, strFd, plain } = c.info
    const fds = [dictFd, setFd, strFd, plain]
    const before = fds.map((fd) => state(c.pid, fd))
    const namedBefore = fs.readFileSync(named)
    const mtime = fs.statSync(named).mtimeMs
    assert.equal(run('inspect', '--pid', String(c.pid)).status, 0)
    assert.equal(run('inspect', '--pid', String(c.pid), '--json').status, 0)
    assert.equal(run('inspect', `/proc/${c.pid}/fd/${dictFd}`).status, 0)
    assert.deepEqual(fds.map((fd) => state(c.pid, fd)), before)
    assert.deepEqual(fs.readFileSync(named), namedBefore)
    assert.equal(fs.statSync(named).mtimeMs, mtime)
  })
})

describe('inspect --pid: other processes', () => {
  test('a table open twice (an inherited descriptor and its dup) is read once', async () => {
    const c = await startChild(`
      const [dict, fd] = fdOf(() => new AtomicDict(10))
      dict.store(3n, 4n)
      const again = fs.openSync('/proc/self/fd/' + fd, 'r')
      ready({ fd, again })
    `)
    try {
      const r = run('inspect', '--pid', String(c.pid), '--json')
      assert.equal(r.status, 0, r.stderr)
      const tables = JSON.parse(r.stdout)
      assert.equal(tables.length, 1)
      assert.equal(tables[0].fd, Math.min(c.info.fd, c.info.again))
      assert.deepEqual(tables[0].also, [Math.max(c.info.fd, c.info.again)])
      const text = run('inspect', '--pid', String(c.pid)).stdout
      assert.match(text, new RegExp(`^fd {12}\\d+: memfd "atomic-dict" \\(also open as fd ${tables[0].also[0]}\\)$`, 'm'))
    } finally {
      stop(c)
    }
  })

  test('a named table another process made: its name as /proc gives it', async () => {
    const file = path.join(dir, 'made-here.table')
    const { AtomicDict } = require('..')
    const mine = AtomicDict.open(file, { capacity: 10 })
    mine.store(1n, 2n)
    const c = await startChild(`
      const t = AtomicDict.open(${JSON.stringify(file)})
      ready({})
    `)
    try {
      const r = run('inspect', '--pid', String(c.pid), '--json')
      assert.equal(r.status, 0, r.stderr)
      const [t, ...more] = JSON.parse(r.stdout)
      assert.deepEqual(more, [])
      assert.equal(t.target, file)
      assert.equal(t.name, null)
      assert.equal(t.what, `file ${file}`)
      assert.deepEqual(t.entries, [{ key: '1', value: '2' }])
      assert.match(run('inspect', '--pid', String(c.pid)).stdout, new RegExp(`^fd {12}${t.fd}: file ${file}$`, 'm'))
    } finally {
      stop(c)
      mine.close()
    }
  })

  test('hostile memfds and files with the magic number are reported, not crashed on', async () => {
    const bad = path.join(dir, 'bad-geometry')
    const huge = path.join(dir, 'huge-claim')
    const c = await startChild(`
      // A memfd table made hostile through a second, writable open of it:
      // row_bytes (offset 28) 99, and another whose block count (offset 40)
      // claims 2^40 blocks.
      const [, fdA] = fdOf(() => new AtomicDict(10))
      const w = fs.openSync('/proc/self/fd/' + fdA, 'r+')
      const b = Buffer.alloc(4); b.writeUInt32LE(99); fs.writeSync(w, b, 0, 4, 28); fs.closeSync(w)
      const [, fdB] = fdOf(() => new AtomicDict(10))
      const w2 = fs.openSync('/proc/self/fd/' + fdB, 'r+')
      const q = Buffer.alloc(8); q.writeBigUInt64LE(2n ** 40n); fs.writeSync(w2, q, 0, 8, 40); fs.closeSync(w2)
      const [good, goodFd] = fdOf(() => new AtomicDict(10))
      good.store(8n, 9n)
      // Files: the magic number, then garbage; and one claiming 2^31 capacity.
      const g = Buffer.alloc(4096, 0xab); g.write('ATOMDICT', 0, 'latin1')
      fs.writeFileSync(${JSON.stringify(bad)}, g)
      const h = Buffer.alloc(256); h.write('ATOMDICT', 0, 'latin1'); h.writeUInt32LE(1, 8); h.writeUInt32LE(1, 16)
      h.writeUInt32LE(64, 24); h.writeUInt32LE(16, 28); h.writeUInt32LE(4, 32); h.writeUInt32LE(128, 36)
      h.writeBigUInt64LE(715827883n, 40); h.writeBigUInt64LE(2n ** 31n, 48)
      fs.writeFileSync(${JSON.stringify(huge)}, h)
      const fdC = fs.openSync(${JSON.stringify(bad)}, 'r')
      const fdD = fs.openSync(${JSON.stringify(huge)}, 'r')
      ready({ fdA, fdB, goodFd, fdC, fdD })
    `)
    try {
      const { fdA, fdB, goodFd, fdC, fdD } = c.info
      const r = run('inspect', '--pid', String(c.pid), '--json')
      assert.equal(r.signal, null)
      assert.equal(r.status, 1)
      const tables = JSON.parse(r.stdout)
      assert.deepEqual(tables.map((t) => t.fd), [fdA, fdB, goodFd, fdC, fdD].sort((x, y) => x - y))
      const byFd = new Map(tables.map((t) => [t.fd, t]))
      assert.deepEqual(byFd.get(goodFd).entries, [{ key: '8', value: '9' }])
      for (const fd of [fdA, fdB, fdC, fdD]) {
        const t = byFd.get(fd)
        assert.equal(t.geometry, undefined)
        assert.match(t.error, new RegExp(`^/proc/${c.pid}/fd/${fd} is not an atomic-dict table: `))
      }
      assert.match(byFd.get(fdA).error, /geometry fields/)
      assert.match(byFd.get(fdB).error, /geometry fields/)
      assert.match(byFd.get(fdD).error, /blocks need \d+ bytes, the memory has 256/)
      const lines = r.stderr.trimEnd().split('\n')
      assert.equal(lines.length, 4, r.stderr)
      for (const line of lines) assert.match(line, new RegExp(`^atomic-dict inspect: process ${c.pid}: fd \\d+: /proc/${c.pid}/fd/\\d+ is not an atomic-dict table: `))
      assert.doesNotMatch(r.stderr, /os error|\n\s+at /)

      const text = run('inspect', '--pid', String(c.pid))
      assert.equal(text.status, 1)
      assert.match(text.stdout, new RegExp(`^fd {5}${fdA}: memfd "atomic-dict"\\npath {3}/proc/${c.pid}/fd/${fdA}\\nerror {2}.*geometry fields`, 'm'))
      const direct = run('inspect', `/proc/${c.pid}/fd/${fdB}`)
      assert.equal(direct.status, 1)
      assert.equal(direct.stdout, '')
      assert.match(direct.stderr, /^atomic-dict inspect: \/proc\/\d+\/fd\/\d+ is not an atomic-dict table: geometry fields .*\n$/)
    } finally {
      stop(c)
    }
  })

  test('a table the process is changing while it is read', async () => {
    const c = await startChild(`
      const [d, fd] = fdOf(() => new AtomicDict(300000))
      let k = 1n
      d.store(k, k)
      ready({ fd })
      const tick = () => { for (let i = 0; i < 5000; i++, k++) d.store(k, k); if (k < 300000n) setImmediate(tick) }
      tick()
    `)
    try {
      let prev = 0
      for (let i = 0; i < 3; i++) {
        const r = run('inspect', '--pid', String(c.pid), '--json')
        assert.equal(r.signal, null)
        assert.equal(r.status, 0, r.stderr)
        const [t] = JSON.parse(r.stdout)
        assert.equal(t.fd, c.info.fd)
        assert.ok(t.keys >= prev)
        prev = t.keys
        // Every complete key is a real key: its value is itself, or 0 when
        // the copy caught it between its insert and its store.
        for (const { key, value } of t.entries) {
          assert.ok(BigInt(key) >= 1n && BigInt(key) <= 300000n, key)
          assert.ok(value === key || value === '0', `${key}: ${value}`)
        }
      }
    } finally {
      stop(c)
    }
  })

  test('a process without tables: a message, exit 3, [] for --json', async () => {
    const c = await startChild(`ready({})`)
    try {
      const r = run('inspect', '--pid', String(c.pid))
      assert.equal(r.status, 3)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, new RegExp(`^atomic-dict inspect: process ${c.pid} holds no atomic-dict table \\(\\d+ open descriptors\\)\\n$`))
      const j = run('inspect', '--pid', String(c.pid), '--json')
      assert.equal(j.status, 3)
      assert.equal(j.stdout, '[]\n')
    } finally {
      stop(c)
    }
  })

  test('no such process: exit 1, a clear message', () => {
    const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'))
    const r = run('inspect', '--pid', String(pidMax + 1))
    assert.equal(r.status, 1)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr, `atomic-dict inspect: process ${pidMax + 1}: no such process\n`)
  })

  test('a process whose descriptors may not be read: exit 1, permission denied', (t) => {
    // Deterministic only where this process itself is refused pid 1's
    // descriptors (not root, or root without ptrace rights over it).
    let denied = false
    try {
      for (const fd of fs.readdirSync('/proc/1/fd')) fs.readlinkSync(`/proc/1/fd/${fd}`)
    } catch (err) {
      denied = err.code === 'EACCES' || err.code === 'EPERM'
    }
    if (!denied) return t.skip('this process may read pid 1\'s descriptors')
    const r = run('inspect', '--pid', '1')
    assert.equal(r.status, 1)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /^atomic-dict inspect: process 1: cannot read its descriptors: permission denied \(.*\)\n$/)
  })

  test('bad --pid usage exits 2', () => {
    for (const args of [
      ['inspect', '--pid', '0'],
      ['inspect', '--pid', '-1'],
      ['inspect', '--pid', 'abc'],
      ['inspect', '--pid', '1.5'],
      ['inspect', '--pid', '99999999999'],
      ['inspect', '--pid'],
      ['inspect', '--pid', '1', 'some-file'],
    ]) {
      const r = run(...args)
      assert.equal(r.status, 2, JSON.stringify(args))
      assert.equal(r.stdout, '')
      assert.match(r.stderr, /^atomic-dict: /)
      assert.match(r.stderr, /Usage: atomic-dict inspect <path>/)
    }
  })
})

describe('--version and error messages', () => {
  test('--version prints the package version and the format versions', () => {
    const { version } = require('../package.json')
    for (const flag of ['--version', '-V']) {
      const r = run(flag)
      assert.equal(r.status, 0)
      assert.equal(r.stderr, '')
      assert.equal(r.stdout, `atomic-dict ${version}\ntable format versions 1 and 2 (read and written)\n`)
    }
    const help = run('--help')
    assert.match(help.stdout, /--pid <pid> {2}inspect the tables of a running process/)
    assert.match(help.stdout, /--version {4}print this package's version/)
  })

  test('io errors read as "path: what", without "(os error N)"', () => {
    const missing = path.join(dir, 'no', 'such')
    const r = run('inspect', missing)
    assert.equal(r.status, 1)
    assert.equal(r.stderr, `atomic-dict inspect: ${missing}: no such file or directory\n`)
    const notDir = path.join(dir, 'plain-file-for-enotdir')
    fs.writeFileSync(notDir, 'x')
    const e = run('inspect', path.join(notDir, 'x'))
    assert.equal(e.status, 1)
    assert.equal(e.stderr, `atomic-dict inspect: ${path.join(notDir, 'x')}: not a directory\n`)
    const gone = run('inspect', `/proc/${process.pid}/fd/999999`)
    assert.equal(gone.status, 1)
    assert.equal(gone.stderr, `atomic-dict inspect: /proc/${process.pid}/fd/999999: no such file or directory\n`)
    for (const x of [r, e, gone]) assert.doesNotMatch(x.stderr, /os error/)
  })
})
