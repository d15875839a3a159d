'use strict'
// Sharing tables with real processes and threads: spawn, fork, cluster
// workers and worker threads contend with this process on the same memory;
// the user's stdio and env keep working; errors are clear and leave the
// process running; close() and GC release what they should.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { AtomicDict, AtomicSet, spawn, fork, shareWithCluster } = require('..')
const { READY, GO, SHARED_KEYS, OWN_BASE, work } = require('./fixtures/work')

const FIXTURES = path.join(__dirname, 'fixtures')
const PARTICIPANT = path.join(FIXTURES, 'participant.js')
const CLUSTER_PRIMARY = path.join(FIXTURES, 'cluster-primary.js')
const CHILD = path.join(FIXTURES, 'child.js')
const THREAD = path.join(FIXTURES, 'thread.js')

const CLOSED = 'ERR_ATOMIC_DICT_CLOSED'
const NOT_SHARED = 'ERR_ATOMIC_DICT_NOT_SHARED'
const WRONG_KIND = 'ERR_ATOMIC_DICT_WRONG_KIND'
const NOT_A_TABLE = 'ERR_ATOMIC_DICT_NOT_A_TABLE'

// ---------------------------------------------------------------- helpers

/** Resolves with { code, signal } when the child has exited. */
function exited(child) {
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

/** Everything a readable stream gives until it ends. */
function readAll(stream) {
  return new Promise((resolve, reject) => {
    let text = ''
    stream.setEncoding('utf8')
    stream.on('data', (s) => (text += s))
    stream.on('error', reject)
    stream.on('end', () => resolve(text))
  })
}

/** The next IPC message of a child process or worker thread (rejects if it ends first). */
function nextMessage(emitter) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err)
    const onExit = (code, signal) => {
      // Give a message sent just before exiting the time to arrive.
      setTimeout(() => reject(new Error(`exited (${code ?? signal}) without sending a message`)), 200)
    }
    emitter.once('error', onError)
    emitter.once('exit', onExit)
    emitter.once('message', (m) => {
      emitter.removeListener('error', onError)
      emitter.removeListener('exit', onExit)
      resolve(m)
    })
  })
}

/** Runs a child to its end: its one JSON line on stdout, and a clean exit. */
async function jsonFromStdout(child) {
  const [text, status] = await Promise.all([readAll(child.stdout), exited(child)])
  assert.deepEqual(status, { code: 0, signal: null }, `child failed; stdout: ${text}`)
  return JSON.parse(text)
}

/** The one message a child sends, and a clean exit. */
async function messageAndExit(child) {
  const [message, status] = await Promise.all([nextMessage(child), exited(child)])
  assert.deepEqual(status, { code: 0, signal: null })
  return message
}

/** A worker thread's one result message, and a clean exit. */
async function threadResult(worker) {
  const [message, code] = await Promise.all([
    nextMessage(worker),
    new Promise((resolve) => worker.once('exit', resolve)),
  ])
  assert.equal(code, 0)
  return message
}

async function until(what, predicate, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** `fn` throws an Error with this code (and a message matching `message`). */
function throwsCode(fn, code, message) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, `not an Error: ${e}`)
    assert.equal(e.code, code, `code of "${e.message}"`)
    if (message) assert.match(e.message, message)
    return true
  })
}

function openFds() {
  return fs.readdirSync('/proc/self/fd').length
}

// ------------------------------------------------ 1. contention, exactly

const PARTICIPANTS = 9 // this process, spawn, fork, 4 cluster workers, 2 threads
const CLUSTER_WORKERS = 4
const THREADS = 2

/**
 * Starts every kind of participant on `table`, waits until all are ready,
 * releases them together and does the same work here; returns all results.
 */
async function contend(mode, table, n) {
  const ctl = new AtomicDict(8)
  const share = { table, ctl }
  const config = (id) => ({ mode, id, n })

  const spawned = spawn(process.execPath, [PARTICIPANT], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PARTICIPANT: JSON.stringify(config(1)) },
    share,
  })
  const forked = fork(PARTICIPANT, [JSON.stringify(config(2))], { share })
  const primary = fork(
    CLUSTER_PRIMARY,
    [JSON.stringify({ mode, n, workers: CLUSTER_WORKERS, setup: 'both', idBase: 3 })],
    { share, silent: true },
  )
  const threads = []
  for (let i = 0; i < THREADS; i++) {
    threads.push(
      new Worker(PARTICIPANT, {
        workerData: { config: config(3 + CLUSTER_WORKERS + i), table: table.share(), ctl: ctl.share() },
      }),
    )
  }
  const pending = [
    jsonFromStdout(spawned),
    messageAndExit(forked),
    Promise.all([nextMessage(primary), readAll(primary.stdout), readAll(primary.stderr), exited(primary)]),
    ...threads.map(threadResult),
  ]
  pending.forEach((p) => p.catch(() => {})) // awaited below

  await until('every participant to be ready', () => ctl.load(READY) === BigInt(PARTICIPANTS - 1))
  ctl.store(GO, 1n)
  const mine = { id: 0, where: 'parent', created: table.created, ...work(mode, table, 0, n) }

  const [fromSpawn, fromFork, [fromPrimary, primaryOut, primaryErr, primaryStatus], ...fromThreads] =
    await Promise.all(pending)
  assert.deepEqual(primaryStatus, { code: 0, signal: null }, primaryErr)
  assert.equal(fromPrimary.tableCreated, false)
  // setup 'both': the later setupPrimary's stdio ('inherit') is what workers got.
  const hellos = primaryOut.split('\n').filter(Boolean).sort()
  assert.deepEqual(hellos, [3, 4, 5, 6].map((id) => `hello from ${id}`))
  const fromWorkers = fromPrimary.workers.map((w) => {
    assert.equal(w.code, 0)
    assert.equal(w.piped, false)
    return w.result
  })
  const results = [mine, fromSpawn, fromFork, ...fromWorkers, ...fromThreads].sort((a, b) => a.id - b.id)
  assert.deepEqual(
    results.map((r) => [r.id, r.where, r.created]),
    [
      [0, 'parent', true],
      [1, 'spawn', false],
      [2, 'fork', false],
      [3, 'cluster', false],
      [4, 'cluster', false],
      [5, 'cluster', false],
      [6, 'cluster', false],
      [7, 'thread', false],
      [8, 'thread', false],
    ],
  )
  ctl.close()
  return results
}

/** The exact checks of a dict run: counts, and every ticket handed out once. */
function checkTickets(t, table, results, n, one) {
  const total = PARTICIPANTS * n
  const big = typeof one === 'bigint'
  assert.equal(table.get(1n), big ? BigInt(total) : total)
  for (const key of [2n, 3n, 4n, 5n]) assert.equal(table.get(key), big ? BigInt(total / 4) : total / 4)
  assert.equal(table.size, 5)

  const all = new Float64Array(total)
  let at = 0
  let interleaved = 0
  for (const r of results) {
    assert.equal(r.tickets.length, n)
    // A participant's own tickets increase; a gap means another took some meanwhile.
    for (let i = 1; i < n; i++) assert.ok(r.tickets[i] > r.tickets[i - 1], `participant ${r.id} ticket ${i}`)
    if (r.tickets[n - 1] - r.tickets[0] !== n - 1) interleaved++
    all.set(r.tickets, at)
    at += n
  }
  all.sort()
  for (let i = 0; i < total; i++) {
    if (all[i] !== i) assert.fail(`ticket ${i}: found ${all[i]} (duplicated or missing ticket)`)
  }
  t.diagnostic(`${interleaved} of ${PARTICIPANTS} participants had their tickets interleaved with others'`)
  // They really ran at the same time: some took tickets in between others'.
  assert.ok(interleaved >= 2, `only ${interleaved} participants overlapped`)
}

describe('all kinds of participants contend on one table', () => {
  test('64-bit dict: exact counts, tickets 0..N-1 each once', async (t) => {
    const n = 20000
    const dict = new AtomicDict(16)
    const results = await contend('dict64', dict, n)
    checkTickets(t, dict, results, n, 1n)
    dict.close()
  })

  test('32-bit dict: exact counts, tickets 0..N-1 each once', async (t) => {
    const n = 20000
    const dict = new AtomicDict(16, { valueBits: 32 })
    const results = await contend('dict32', dict, n)
    checkTickets(t, dict, results, n, 1)
    dict.close()
  })

  test('AtomicSet: each shared key inserted by exactly one participant, exact size', async () => {
    const n = 4000
    const set = new AtomicSet(SHARED_KEYS + PARTICIPANTS * n)
    const results = await contend('set', set, n)
    const wins = new Map()
    for (const r of results) {
      assert.equal(r.ownTrue, n, `participant ${r.id} own keys`)
      for (const key of r.sharedWon) wins.set(key, (wins.get(key) ?? 0) + 1)
    }
    for (let key = 1; key <= SHARED_KEYS; key++) assert.equal(wins.get(key), 1, `shared key ${key}`)
    assert.equal(wins.size, SHARED_KEYS)
    assert.equal(set.size, SHARED_KEYS + PARTICIPANTS * n)
    for (let id = 0; id < PARTICIPANTS; id++) {
      assert.equal(set.has(BigInt(OWN_BASE * (id + 1))), true)
      assert.equal(set.has(BigInt(OWN_BASE * (id + 1) + n - 1)), true)
      assert.equal(set.has(BigInt(OWN_BASE * (id + 1) + n)), false)
    }
    assert.equal(set.add(SHARED_KEYS), false)
    set.close()
  })
})

// ------------------------------------------------ 2. user stdio, env, cluster setup

describe("the user's stdio and env keep working", () => {
  test("spawn with stdio ['ignore','pipe','inherit'] and only the user's env", async () => {
    const d = new AtomicDict(8)
    d.store(5n, 41n)
    const child = spawn(process.execPath, [CHILD, 'env-inherit', 'print'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { MY_VAR: 'from spawn' },
      share: { d },
    })
    assert.equal(child.stdin, null)
    assert.equal(child.stderr, null)
    assert.notEqual(child.stdout, null)
    const result = await jsonFromStdout(child)
    assert.deepEqual(result, {
      envKeys: ['ATOMIC_DICT_SHARED', 'MY_VAR'],
      myVar: 'from spawn',
      created: false,
      before: '41',
    })
    assert.equal(d.get(5n), 42n)
    d.close()
  })

  test("spawn with stdio 'pipe' (a string) and args omitted", async () => {
    const d = new AtomicDict(8)
    const child = spawn(process.execPath, {
      stdio: 'pipe',
      env: { ...process.env, MY_VAR: 'string stdio' },
      share: { d },
    })
    assert.notEqual(child.stdin, null)
    assert.notEqual(child.stderr, null)
    child.stdin.end(`
      const d = require(${JSON.stringify(path.join(__dirname, '..'))}).AtomicDict.inherit('d')
      d.add(1n, 3n)
      console.log(JSON.stringify({ myVar: process.env.MY_VAR, value: String(d.get(1n)) }))
    `)
    const [result, stderr] = await Promise.all([jsonFromStdout(child), readAll(child.stderr)])
    assert.deepEqual(result, { myVar: 'string stdio', value: '3' })
    assert.equal(stderr, '')
    assert.equal(d.get(1n), 3n)
    d.close()
  })

  test('fork with silent: true gives child.stdout, the env var and IPC', async () => {
    const d = new AtomicDict(8)
    const child = fork(CHILD, ['env-inherit', 'print'], {
      silent: true,
      env: { ...process.env, MY_VAR: 'from fork' },
      share: { d },
    })
    assert.notEqual(child.stdout, null)
    assert.notEqual(child.stderr, null)
    const [text, message] = await Promise.all([readAll(child.stdout), messageAndExit(child)])
    assert.equal(message.myVar, 'from fork')
    assert.equal(message.created, false)
    assert.equal(message.before, '0')
    assert.ok(message.envKeys.includes('MY_VAR') && message.envKeys.includes('ATOMIC_DICT_SHARED'))
    assert.deepEqual(JSON.parse(text), message)
    assert.equal(d.get(5n), 1n)
    d.close()
  })

  test("fork with the user's stdio array", async () => {
    const d = new AtomicDict(8)
    d.store(5n, 9n)
    const child = fork(CHILD, ['env-inherit', 'print'], {
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, MY_VAR: 'array' },
      share: { d },
    })
    assert.notEqual(child.stdin, null)
    assert.notEqual(child.stderr, null)
    child.stdin.end()
    const [text, stderr, message] = await Promise.all([readAll(child.stdout), readAll(child.stderr), messageAndExit(child)])
    assert.equal(stderr, '')
    assert.equal(message.myVar, 'array')
    assert.equal(message.before, '9')
    assert.deepEqual(JSON.parse(text), message)
    assert.equal(d.get(5n), 10n)
    d.close()
  })

  test('fork with default stdio: the env var reaches the child', async () => {
    const d = new AtomicDict(8)
    const child = fork(CHILD, ['env-inherit'], { env: { ...process.env, MY_VAR: 'default' }, share: { d } })
    const message = await messageAndExit(child)
    assert.equal(message.myVar, 'default')
    assert.equal(message.before, '0')
    assert.equal(d.get(5n), 1n)
    d.close()
  })

  for (const setup of ['none', 'before', 'after', 'both-keep']) {
    test(`cluster: shareWithCluster with setupPrimary ${setup}`, async () => {
      const table = new AtomicDict(16)
      const ctl = new AtomicDict(8)
      ctl.store(GO, 1n) // no contention here: workers start at once
      const n = 1000
      const primary = fork(
        CLUSTER_PRIMARY,
        [JSON.stringify({ mode: 'dict64', n, workers: CLUSTER_WORKERS, setup, idBase: 1 })],
        { share: { table, ctl }, silent: true },
      )
      const [message, out, err, status] = await Promise.all([
        nextMessage(primary),
        readAll(primary.stdout),
        readAll(primary.stderr),
        exited(primary),
      ])
      assert.deepEqual(status, { code: 0, signal: null }, err)
      const piped = setup === 'before' || setup === 'both-keep'
      const hellos = [1, 2, 3, 4].map((id) => `hello from ${id}\n`)
      assert.equal(message.workers.length, CLUSTER_WORKERS)
      for (const w of message.workers) {
        assert.equal(w.code, 0)
        assert.equal(w.piped, piped)
        assert.equal(w.result.where, 'cluster')
        assert.equal(w.result.created, false)
        if (piped) assert.equal(w.stdout, `hello from ${w.result.id}\n`)
      }
      assert.deepEqual(out.split(/(?<=\n)/).filter(Boolean).sort(), piped ? [] : hellos)
      assert.equal(table.get(1n), BigInt(CLUSTER_WORKERS * n))
      assert.equal(ctl.load(READY), BigInt(CLUSTER_WORKERS))
      const tickets = message.workers.flatMap((w) => w.result.tickets).sort((a, b) => a - b)
      assert.deepEqual(tickets, Array.from({ length: CLUSTER_WORKERS * n }, (_, i) => i))
      table.close()
      ctl.close()
    })
  }
})

// ------------------------------------------------ 3. two tables at once

describe('two tables under two names', () => {
  function tables() {
    const counts = new AtomicDict(8)
    const seen = new AtomicSet(8)
    counts.store(2n, 22n)
    seen.add(3n)
    return { counts, seen }
  }

  function check({ counts, seen }, result) {
    assert.deepEqual(result, {
      countsCreated: false,
      seenCreated: false,
      stored: '22',
      hasThree: true,
      before: '0',
      addSeven: true,
      addThree: false,
      size: 2,
    })
    assert.equal(counts.get(1n), 10n)
    assert.equal(seen.has(7n), true)
    assert.equal(seen.size, 2)
    assert.equal(seen.add(7n), false)
    counts.close()
    seen.close()
  }

  test('fork', async () => {
    const share = tables()
    check(share, await messageAndExit(fork(CHILD, ['two'], { share })))
  })

  test('spawn', async () => {
    const share = tables()
    const child = spawn(process.execPath, [CHILD, 'two'], { stdio: ['ignore', 'pipe', 'inherit'], share })
    check(share, await jsonFromStdout(child))
  })
})

// ------------------------------------------------ 4. errors

describe('errors are clear and the process carries on', () => {
  test('inherit of an unknown name, with nothing shared', () => {
    throwsCode(() => AtomicDict.inherit('nothing-here'), NOT_SHARED, /"nothing-here".*none was shared/)
    throwsCode(() => AtomicSet.inherit('nothing-here'), NOT_SHARED, /"nothing-here"/)
    assert.throws(() => AtomicDict.inherit(42), { name: 'TypeError', message: /name/ })
  })

  test('inherit of an unknown name and of the wrong kind in a child', async () => {
    const a = new AtomicDict(8)
    const s = new AtomicSet(8)
    const r = await messageAndExit(fork(CHILD, ['errors'], { share: { a, s } }))
    assert.equal(r.unknown.code, NOT_SHARED)
    assert.match(r.unknown.message, /"nope".*shared: "a", "s"/)
    assert.equal(r.setOfDict.code, WRONG_KIND)
    assert.match(r.setOfDict.message, /"a".*AtomicDict.*not an AtomicSet/)
    assert.equal(r.dictOfSet.code, WRONG_KIND)
    assert.match(r.dictOfSet.message, /"s".*AtomicSet.*not an AtomicDict/)
    assert.equal(r.notString.name, 'TypeError')
    assert.equal(r.before, '0')
    assert.equal(r.added, true)
    assert.equal(a.get(9n), 1n)
    assert.equal(s.has(9n), true)
    a.close()
    s.close()
  })

  test('a plain child_process.spawn with a copied ATOMIC_DICT_SHARED gets an error, never a table', async () => {
    const a = new AtomicDict(8)
    a.store(1n, 11n)
    const { shared } = await messageAndExit(fork(CHILD, ['print-env'], { share: { a } }))
    const info = JSON.parse(shared)
    assert.deepEqual(Object.keys(info), ['a'])
    const fd = info.a.fd
    assert.ok(fd >= 3)

    const other = new AtomicDict(8) // another table's memory
    other.store(1n, 99n)
    const tmp = path.join(os.tmpdir(), `atomic-dict-copied-${process.pid}`)
    fs.writeFileSync(tmp, 'not a table')
    const fileFd = fs.openSync(tmp, 'r+')
    const atFd = (what) => [...Array.from({ length: fd - 3 }, () => 'ignore'), what]

    const variants = {
      'nothing at that descriptor': ['ignore', 'pipe', 'pipe'],
      'a regular file at that descriptor': ['ignore', 'pipe', 'pipe', ...atFd(fileFd)],
      "another table's memfd at that descriptor": ['ignore', 'pipe', 'pipe', ...atFd(other.share().fd)],
    }
    try {
      for (const [what, stdio] of Object.entries(variants)) {
        const child = childProcess.spawn(process.execPath, [CHILD, 'copied-env'], {
          env: { ...process.env, ATOMIC_DICT_SHARED: shared },
          stdio,
        })
        const [result, stderr] = await Promise.all([jsonFromStdout(child), readAll(child.stderr)])
        assert.equal(stderr, '', what)
        assert.equal(result.ok, false, `${what}: inherited ${JSON.stringify(result.value)}`)
        assert.equal(result.code, NOT_SHARED, what)
        assert.match(result.message, new RegExp(`"a".*descriptor ${fd}`), what)
        assert.equal(result.alive, true)
      }
    } finally {
      fs.closeSync(fileFd)
      fs.unlinkSync(tmp)
    }
    assert.equal(a.get(1n), 11n)
    assert.equal(other.get(1n), 99n)
    a.close()
    other.close()
  })

  test('attach of forged descriptors', () => {
    const d = new AtomicDict(8)
    const s = new AtomicSet(8)
    d.store(1n, 5n)
    const good = d.share()
    const setDesc = s.share()
    const tmpJunk = path.join(os.tmpdir(), `atomic-dict-junk-${process.pid}`)
    const tmpEmpty = path.join(os.tmpdir(), `atomic-dict-empty-${process.pid}`)
    const junk = Buffer.alloc(4096, 0x41)
    fs.writeFileSync(tmpJunk, junk)
    fs.writeFileSync(tmpEmpty, '')
    const opened = [
      ['a file of junk', fs.openSync(tmpJunk, 'r+')],
      ['an empty file', fs.openSync(tmpEmpty, 'r+')],
      ['a directory', fs.openSync(os.tmpdir(), 'r')],
    ]
    const before = openFds()
    try {
      // Wrong process.
      throwsCode(() => AtomicDict.attach({ ...good, pid: good.pid + 1 }), NOT_SHARED, new RegExp(`process ${good.pid + 1}`))
      // Descriptors of files that are not tables, with their real identity.
      for (const [what, fd] of opened) {
        const st = fs.fstatSync(fd, { bigint: true })
        const forged = { ...good, fd, dev: String(st.dev), ino: String(st.ino) }
        assert.throws(
          () => AtomicDict.attach(forged),
          (e) => {
            assert.equal(e.code, NOT_A_TABLE, `${what}: ${e.code}: ${e.message}`)
            assert.match(e.message, /not an atomic-dict table|not a regular file/, what)
            return true
          },
        )
      }
      assert.deepEqual(fs.readFileSync(tmpJunk), junk) // refused without writing
      // A descriptor that is not open.
      let closedFd = 1000
      while (fs.existsSync(`/proc/self/fd/${closedFd}`)) closedFd++
      throwsCode(() => AtomicDict.attach({ ...good, fd: closedFd }), NOT_SHARED, new RegExp(`descriptor ${closedFd} is not open`))
      // Wrong identity for the right descriptor.
      throwsCode(() => AtomicDict.attach({ ...good, ino: String(BigInt(good.ino) + 1n) }), NOT_SHARED, /no longer refers/)
      throwsCode(() => AtomicDict.attach({ ...good, dev: String(BigInt(good.dev) + 1n) }), NOT_SHARED, /no longer refers/)
      // Every refusal so far closed what it opened. (The refusals below map
      // the table first and let go of it when V8 frees the buffer, like close().)
      assert.ok(openFds() <= before, `descriptors leaked: ${before} -> ${openFds()}`)
      // Another table's descriptor with its identity.
      throwsCode(() => AtomicDict.attach({ ...setDesc, kind: 'dict' }), WRONG_KIND, /AtomicSet, not an AtomicDict/)
      throwsCode(() => AtomicDict.attach(setDesc), WRONG_KIND, /AtomicSet, not an AtomicDict/)
      throwsCode(() => AtomicSet.attach(good), WRONG_KIND, /AtomicDict, not an AtomicSet/)
      // Missing or mistyped fields.
      for (const field of ['type', 'fd', 'dev', 'ino']) {
        const { [field]: _gone, ...rest } = good
        assert.throws(() => AtomicDict.attach(rest), { name: 'TypeError', message: /descriptor must be/ }, field)
      }
      assert.throws(() => AtomicDict.attach({ ...good, fd: String(good.fd) }), { name: 'TypeError' })
      assert.throws(() => AtomicDict.attach({ ...good, fd: -1 }), { name: 'TypeError' })
      assert.throws(() => AtomicDict.attach({ ...good, dev: 1 }), { name: 'TypeError' })
      {
        const { pid: _pid, ...rest } = good
        throwsCode(() => AtomicDict.attach(rest), NOT_SHARED, /descriptor was made in process undefined/)
        const { kind: _kind, ...noKind } = good
        assert.throws(() => AtomicDict.attach(noKind), { name: 'TypeError', message: /descriptor must be/ })
      }
      // Not an object at all.
      for (const bad of [null, undefined, 42, 'descriptor', [], () => {}]) {
        assert.throws(() => AtomicDict.attach(bad), { name: 'TypeError', message: /descriptor must be/ })
        assert.throws(() => AtomicSet.attach(bad), { name: 'TypeError', message: /descriptor must be/ })
      }
      // And the real descriptor still works.
      const twin = AtomicDict.attach(good)
      assert.equal(twin.created, false)
      assert.equal(twin.get(1n), 5n)
      twin.close()
    } finally {
      for (const [, fd] of opened) fs.closeSync(fd)
      fs.unlinkSync(tmpJunk)
      fs.unlinkSync(tmpEmpty)
      d.close()
      s.close()
    }
  })

  test('attach of a forged descriptor: a read-only regular file (/etc/hostname)', () => {
    const d = new AtomicDict(8)
    const fd = fs.openSync('/etc/hostname', 'r')
    const before = openFds()
    try {
      const st = fs.fstatSync(fd, { bigint: true })
      const forged = { ...d.share(), fd, dev: String(st.dev), ino: String(st.ino) }
      assert.throws(
        () => AtomicDict.attach(forged),
        (e) => {
          assert.equal(e.code, NOT_A_TABLE, `${e.code}: ${e.message}`)
          assert.match(e.message, new RegExp(`descriptor ${fd}|not an atomic-dict table`))
          return true
        },
      )
      assert.ok(openFds() <= before)
    } finally {
      fs.closeSync(fd)
      d.close()
    }
  })

  test('options.share that is not an object of tables is a TypeError', () => {
    const d = new AtomicDict(8)
    const bads = [
      [42, /options\.share must be/],
      [null, /options\.share must be/],
      ['d', /options\.share must be/],
      [[d], /options\.share must be/],
      [{ d: {} }, /options\.share\.d must be an AtomicDict or an AtomicSet/],
      [{ d, x: 42 }, /options\.share\.x must be/],
      [{ d: new Map() }, /options\.share\.d must be/],
    ]
    for (const [share, message] of bads) {
      assert.throws(() => spawn(process.execPath, ['-e', ''], { share }), { name: 'TypeError', message })
      assert.throws(() => fork(CHILD, ['two'], { share }), { name: 'TypeError', message })
    }
    assert.throws(() => shareWithCluster(42), { name: 'TypeError' })
    assert.throws(() => shareWithCluster({ d: {} }), { name: 'TypeError', message: /tables\.d must be/ })
    assert.throws(() => spawn(process.execPath, ['-e', ''], { share: { d }, stdio: 42 }), {
      name: 'TypeError',
      message: /options\.stdio/,
    })
    assert.equal(d.size, 0)
    d.close()
  })
})

// ------------------------------------------------ 5. close() and GC

describe('close()', () => {
  test('every later call throws ERR_ATOMIC_DICT_CLOSED; twice is fine; siblings keep working', () => {
    const d = new AtomicDict(8)
    d.store(1n, 10n)
    const value = d.slot(2n)
    value.store(20n)
    const sibling = AtomicDict.attach(d.share())
    assert.equal(d.created, true)
    assert.equal(sibling.created, false)
    d.close()
    d.close()
    const calls = {
      add: () => d.add(1n, 1n),
      sub: () => d.sub(1n, 1n),
      store: () => d.store(1n, 1n),
      set: () => d.set(1n, 1n),
      cas: () => d.cas(1n, 10n, 11n),
      swap: () => d.swap(1n, 1n),
      load: () => d.load(1n),
      get: () => d.get(1n),
      has: () => d.has(1n),
      size: () => d.size,
      iterator: () => [...d],
      keys: () => d.keys().next(),
      values: () => d.values().next(),
      entries: () => d.entries().next(),
      forEach: () => d.forEach(() => {}),
      slot: () => d.slot(1n),
      'slot.load': () => value.load(),
      'slot.add': () => value.add(1n),
      'slot.store': () => value.store(1n),
      'slot.cas': () => value.cas(20n, 21n),
      'slot.swap': () => value.swap(1n),
    }
    for (const [name, call] of Object.entries(calls)) {
      assert.throws(call, (e) => {
        assert.equal(e.code, CLOSED, `${name}: ${e.message}`)
        assert.match(e.message, /closed/)
        return true
      })
    }
    assert.equal(d.created, true)
    assert.equal(sibling.get(1n), 10n)
    assert.equal(sibling.get(2n), 20n)
    assert.equal(sibling.add(1n, 1n), 10n)
    assert.equal(sibling.size, 2)
    sibling.close()
  })

  test('AtomicSet: every later call throws ERR_ATOMIC_DICT_CLOSED', () => {
    const s = new AtomicSet(8)
    s.add(1n)
    const sibling = AtomicSet.attach(s.share())
    s.close()
    s.close()
    for (const call of [() => s.add(2n), () => s.add(1n), () => s.has(1n), () => s.size, () => [...s], () => s.forEach(() => {})]) {
      throwsCode(call, CLOSED, /closed/)
    }
    assert.equal(sibling.add(2n), true)
    assert.equal(sibling.size, 2)
    sibling.close()
  })

  test('a closed table cannot be shared: share(), spawn, fork, shareWithCluster say it is closed', () => {
    const d = new AtomicDict(8)
    const s = new AtomicSet(8)
    d.close()
    s.close()
    const calls = {
      'dict.share()': () => d.share(),
      'set.share()': () => s.share(),
      shareWithCluster: () => shareWithCluster({ d }),
      spawn: () => spawn(process.execPath, ['-e', ''], { share: { d } }),
      fork: () => fork(CHILD, ['two'], { share: { s } }),
    }
    const got = {}
    for (const [name, call] of Object.entries(calls)) {
      try {
        call()
        got[name] = 'no error'
      } catch (e) {
        got[name] = `${e.code}: ${e.message}`
      }
    }
    const closed = `${CLOSED}: atomic-dict: the table is closed`
    assert.deepEqual(got, Object.fromEntries(Object.keys(calls).map((name) => [name, closed])))
  })

  test('other processes keep working after this one closes', async () => {
    const d = new AtomicDict(8)
    const twin = AtomicDict.attach(d.share())
    d.store(3n, 1n)
    const child = fork(CHILD, ['hold'], { share: { d } })
    const done = exited(child)
    assert.deepEqual(await nextMessage(child), { ready: true })
    d.close()
    const result = nextMessage(child)
    child.send('go')
    const r = await result
    assert.deepEqual((await done), { code: 0, signal: null })
    assert.equal(r.before, '1')
    assert.equal(r.seen, '6')
    assert.equal(r.closed.code, CLOSED)
    // The child closed its own too; this process's twin still works.
    assert.equal(twin.get(3n), 6n)
    assert.equal(twin.add(3n, 1n), 6n)
    twin.close()
  })

  test('in a worker thread that attached, and while the main thread closes its own', async () => {
    const d = new AtomicDict(8)
    const twin = AtomicDict.attach(d.share())
    const worker = new Worker(THREAD, { workerData: { descriptor: d.share() } })
    const done = new Promise((resolve) => worker.once('exit', resolve))
    const ready = await nextMessage(worker)
    assert.deepEqual(ready, { ready: true, created: false })
    d.close() // the worker's mapping is its own
    const report = nextMessage(worker)
    worker.postMessage('go')
    const r = await report
    assert.equal(await done, 0)
    assert.equal(r.before, '0')
    assert.equal(r.slotBefore, '0')
    assert.equal(r.firstClose, 'ok')
    assert.deepEqual(r.after, {
      add: CLOSED,
      load: CLOSED,
      get: CLOSED,
      has: CLOSED,
      size: CLOSED,
      iterate: CLOSED,
      slot: CLOSED,
      slotLoad: CLOSED,
      slotAdd: CLOSED,
    })
    assert.equal(twin.get(3n), 7n)
    assert.equal(twin.get(4n), 1n)
    assert.equal(twin.size, 2)
    twin.close()
  })

  test('many tables made and dropped: no crash, descriptors and mappings come back (--expose-gc)', async () => {
    const child = childProcess.spawn(process.execPath, ['--expose-gc', CHILD, 'gc'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const r = await jsonFromStdout(child)
    assert.equal(r.rounds.length, 4)
    for (const [i, round] of r.rounds.entries()) {
      const kept = i >= 2 ? 1 : 0 // the slot kept from round 2 holds its table's mapping
      if (i === 0) {
        // Round 0 closes each table: close() releases the descriptor at once.
        assert.ok(round.peak <= r.base.fds + 2, `round 0 closed its tables at once (peak ${round.peak})`)
      } else {
        assert.ok(round.peak >= r.base.fds + 200, `round ${i} made its tables (peak ${round.peak})`)
      }
      assert.equal(round.maps, r.base.maps + kept, `round ${i}: memfd mappings left`)
      assert.ok(
        round.fds <= r.base.fds + kept + 2,
        `round ${i}: ${round.fds} descriptors open after gc, ${r.base.fds} at the start`,
      )
    }
    assert.equal(r.sample, String(200))
    // A slot outlives its dropped table object and still reaches the memory.
    assert.equal(r.keptBefore, '0')
    assert.equal(r.keptAfter, '5')
  })
})
