'use strict'
// A table too large for the memory there is fails with ENOMEM instead of
// setting off the out-of-memory killer (src/memory.rs): a memfd or a file
// on tmpfs takes its pages when its storage is reserved, and nothing else
// stops it short of the machine's or the container's memory.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { AtomicDict, AtomicSet } = require('..')

const ROOT = path.join(__dirname, '..')

test('a table larger than the machine is ENOMEM, at once, and leaves nothing behind', () => {
  // 2^31 rows of 64 bytes at most 3/4 full: about 183 GB.
  const bytes = (2 ** 31 / 0.75) * 64
  assert.ok(os.totalmem() < bytes, `this machine has ${os.totalmem()} bytes: the test needs one with less than ${bytes}`)
  const started = Date.now()
  assert.throws(() => new AtomicDict(2 ** 31, { k64: 7 }), (e) => {
    assert.equal(e.code, 'ENOMEM')
    assert.equal(e.errno, -12)
    assert.match(e.message, /^atomic-dict: cannot create shared memory: a table in shared memory needs \d+ bytes of memory and \d+ are available/)
    assert.doesNotMatch(e.message, /os error/)
    return true
  })
  assert.ok(Date.now() - started < 5000, 'refusing took as long as reserving would')
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'atomic-dict-room-'))
  try {
    assert.throws(() => AtomicSet.open(path.join(dir, 'huge'), { capacity: 2 ** 31, k64: 8 }), { code: 'ENOMEM' })
    assert.deepEqual(fs.readdirSync(dir), [], 'a refused open left a file')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const small = new AtomicDict(1000)
  small.add(1n)
  assert.equal(small.get(1n), 1n)
  small.close()
})

/**
 * A memory cgroup of `limit` bytes that a child can be started in: v1
 * (/sys/fs/cgroup/memory) or v2 (/sys/fs/cgroup with the memory
 * controller), or null where this process may not make one.
 */
function memoryCgroup(limit) {
  const name = `atomic-dict-room-${process.pid}`
  const v1 = '/sys/fs/cgroup/memory'
  try {
    if (fs.existsSync(path.join(v1, 'memory.limit_in_bytes'))) {
      const dir = path.join(v1, name)
      fs.mkdirSync(dir)
      fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limit))
      return dir
    }
    const v2 = '/sys/fs/cgroup'
    if (fs.readFileSync(path.join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) {
      const dir = path.join(v2, name)
      fs.mkdirSync(dir)
      fs.writeFileSync(path.join(dir, 'memory.max'), String(limit))
      return dir
    }
  } catch {
    return null
  }
  return null
}

test('in a container (a memory cgroup of 128 MiB), a table larger than its room is ENOMEM, not an OOM kill', (t) => {
  const dir = memoryCgroup(128 * 1024 * 1024)
  if (dir === null) {
    // Making a cgroup needs root and a writable cgroup file system (CI has both).
    assert.notEqual(process.getuid(), 0, 'running as root, yet no memory cgroup could be made')
    t.skip('making a memory cgroup needs root')
    return
  }
  t.after(() => fs.rmdirSync(dir))
  const script = `
    const fs = require('node:fs')
    fs.writeFileSync(${JSON.stringify(path.join(dir, 'cgroup.procs'))}, String(process.pid))
    const { AtomicDict } = require(${JSON.stringify(ROOT)})
    const out = {}
    for (const capacity of [10_000_000, 100_000]) {
      try { const d = new AtomicDict(capacity); d.add(1n); out[capacity] = 'ok'; d.close() } catch (e) { out[capacity] = e.code }
    }
    process.stdout.write(JSON.stringify(out))
  `
  const r = childProcess.spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(r.signal, null, `the child was killed (${r.signal}): the check did not hold`)
  assert.equal(r.status, 0, r.stderr)
  // 10 M keys need about 213 MB: more than the cgroup's 128 MiB; 100 k keys about 2 MB.
  assert.deepEqual(JSON.parse(r.stdout), { 10000000: 'ENOMEM', 100000: 'ok' })
})
