'use strict'
// examples/cluster-metrics with the real components a user runs it with: a
// 4-worker Node cluster and pm2 in cluster mode (the devDependency, its own
// PM2_HOME) under real HTTP load; a real Prometheus (Debian's package)
// scraping them, read back through its HTTP API; promtool's lint of a
// scrape; pm2 reload while the load runs; a worker SIGKILLed while it holds
// requests; pm2 started without METRICS_FILE. Nothing is mocked. A missing
// prometheus or promtool fails these tests, saying how to install them.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { startServer, alive, sleep } = require('./fixtures/servers')
const { startPrometheus, promtoolCheckMetrics, freePort, requireCommand, PROMETHEUS, PROMTOOL } = require('./fixtures/prometheus')
const { startPm2 } = require('./fixtures/pm2')
const { SERVER, plan, Tally, load, from, expected, scrape, scrapeAll, connectionOwners } = require('./fixtures/cluster-metrics')

/** Fails now, with how to install them, when prometheus or promtool is missing. */
function requireTools() {
  requireCommand('prometheus', PROMETHEUS)
  requireCommand('promtool', PROMTOOL)
}

/** { "label=v,...": value } of an instant vector, keyed by the given labels. */
function byLabels(result, names) {
  const out = {}
  for (const r of result) out[names.map((n) => r.metric[n]).join(' ')] = Number(r.value[1])
  return out
}

/**
 * Waits for a scrape of `job` that started after `since` (s), then checks
 * that Prometheus holds exactly what `tally` says was answered, with
 * `inFlight` requests open. Returns how many scrapes of the job it holds.
 */
async function checkPrometheus(prom, job, tally, since, inFlight = 0) {
  await prom.waitForScrape(job, since)
  const sel = `{job="${job}"}`
  assert.equal(await prom.value(`up${sel}`), 1, prom.output())
  assert.equal(await prom.value(`sum(http_requests_total${sel})`), tally.answered)
  const want = expected(tally, inFlight)
  assert.deepEqual(byLabels(await prom.query(`sum by (route, code) (http_requests_total${sel})`), ['route', 'code']), want.requests)
  assert.deepEqual(byLabels(await prom.query(`sum by (route) (http_request_duration_seconds_count${sel})`), ['route']), want.durations)
  assert.equal(await prom.value(`sum(http_response_body_bytes_total${sel})`), want.bytes)
  assert.equal(await prom.value(`http_requests_in_flight${sel}`), inFlight)
  assert.equal(await prom.value(`atomic_dict_metrics_dropped_total${sel}`), 0)
  return prom.value(`count_over_time(up${sel}[10m])`)
}

/** promtool check metrics on a scrape: exit 0 and nothing printed (no lint problem). */
async function checkLint(port) {
  const { text } = await scrape(port)
  const lint = await promtoolCheckMetrics(text)
  assert.deepEqual(lint, { code: 0, stdout: '', stderr: '' }, `promtool check metrics:\n${text}`)
}

/** Asserts that a load got an answer, of the expected status, for every request it sent. */
function assertAllAnswered(tally, sent, context = () => '') {
  assert.deepEqual(tally.failures, [], `requests that got no response\n${context()}`)
  assert.deepEqual(tally.wrongStatus, [], 'responses of another status than expected')
  if (sent !== undefined) assert.equal(tally.answered, sent)
}

test('4-worker cluster: Prometheus scrapes the exact totals of a few thousand real requests; promtool finds no problem', async (t) => {
  requireTools()
  const server = await startServer(t, SERVER, { PORT: '0', WORKERS: '4' })
  const prom = await startPrometheus(t, { cluster: server.port })

  const requests = plan(40) // 3,600: every route and status, 120 of them slow (150 ms)
  const tally = await load(server.port, from(requests), { keepAlive: 8, fresh: 8 })
  const end = Date.now() / 1000
  assertAllAnswered(tally, requests.length)
  assert.ok(tally.reusedSockets > 1000 && tally.freshConnections > 1000, `keep-alive ${tally.reusedSockets}, fresh ${tally.freshConnections}`)
  assert.equal(tally.workers.size, 4, `answered by ${[...tally.workers]}`)

  // Any worker reports the totals of all four.
  const answered = await scrapeAll(server.port, expected(tally), 4)
  assert.deepEqual([...answered].sort(), [...server.pids].sort())
  await checkLint(server.port)
  const scrapes = await checkPrometheus(prom, 'cluster', tally, end)
  t.diagnostic(
    `sent ${requests.length} (keep-alive ${tally.reusedSockets} on reused sockets, fresh ${tally.freshConnections}), ` +
      `retried ${tally.retries}; Prometheus holds ${scrapes} scrapes`,
  )
  assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output())
})

/**
 * A slow request (/api/slow?ms=) on a fresh connection: { localPort (once
 * connected), done (its { status } or its error) }.
 */
function hold(port, ms) {
  let connected
  const localPort = new Promise((resolve) => (connected = resolve))
  const done = new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/api/slow?ms=${ms}`, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode }))
      res.on('error', (err) => resolve({ error: err.code ?? err.message }))
    })
    req.on('socket', (s) => s.once('connect', () => connected(s.localPort)))
    req.on('error', (err) => resolve({ error: err.code ?? err.message }))
    req.setTimeout(20_000, () => req.destroy(new Error('no response in 20 s')))
  })
  return { localPort, done }
}

/** Scrapes until `n` requests are in flight (never more), for at most `ms`. */
async function untilInFlight(port, n, ms) {
  const end = Date.now() + ms
  for (;;) {
    const seen = (await scrape(port)).summary.inFlight
    assert.ok(seen >= 0 && seen <= n, `in flight: ${seen}`)
    if (seen === n) return
    assert.ok(Date.now() < end, `${n} requests were not in flight within ${ms} ms (last seen ${seen})`)
    await sleep(20)
  }
}

test('4-worker cluster: a worker SIGKILLed while it holds requests drops out of http_requests_in_flight at once; its replacement reports the same totals', async (t) => {
  const server = await startServer(t, SERVER, { PORT: '0', WORKERS: '4' })
  const { port } = server
  const before = await load(port, from(plan(4)))
  assertAllAnswered(before, 360)

  // 8 slow requests on fresh connections: the primary spreads them over the
  // workers. Which worker holds which is read from /proc.
  const SLOW_MS = 5000
  const held = Array.from({ length: 8 }, () => hold(port, SLOW_MS))
  const clientPorts = await Promise.all(held.map((h) => h.localPort))
  await untilInFlight(port, 8, 4000)
  const owners = connectionOwners(server.pids, port)
  const owner = clientPorts.map((p) => owners.get(p))
  assert.ok(owner.every((pid) => server.pids.includes(pid)), `owners ${owner} of ${clientPorts} among ${server.pids}`)
  const counts = new Map()
  for (const pid of owner) counts.set(pid, (counts.get(pid) ?? 0) + 1)
  const [victim, lost] = [...counts].sort((a, b) => b[1] - a[1])[0]
  assert.ok(lost >= 1 && lost < 8, `the requests' workers: ${JSON.stringify([...counts])}`)

  process.kill(victim, 'SIGKILL')
  for (let i = 0; i < 200 && alive(victim); i++) await sleep(10)
  assert.ok(!alive(victim), 'the SIGKILLed worker is still there')
  // At once: the first scrape after the death counts only the requests still open.
  const after = await scrape(port)
  assert.notEqual(after.worker, victim)
  assert.deepEqual(after.summary, expected(before, 8 - lost), `scraped from ${after.worker}`)

  // The killed worker's requests fail (never answered, never counted); the others are still open.
  const settled = await Promise.all(held.map((h, i) => (owner[i] === victim ? h.done : null)))
  for (const s of settled) if (s !== null) assert.ok(s.error, `a request of the killed worker got ${JSON.stringify(s)}`)

  // The primary forks a replacement, which inherits the store: it reports
  // the same totals (and the requests still open on the others).
  let replacement
  for (let i = 0; i < 100 && replacement === undefined; i++) {
    const s = await scrape(port)
    assert.deepEqual(s.summary, expected(before, 8 - lost), `scraped from ${s.worker}`)
    if (!server.pids.includes(s.worker)) replacement = s.worker
  }
  assert.ok(replacement, `no scrape answered by a new worker (workers ${server.pids}, killed ${victim})\n${server.output()}`)
  assert.match(server.output(), new RegExp(`worker ${victim} died \\(SIGKILL\\); forking another`))

  const results = await Promise.all(held.map((h) => h.done))
  const answered = new Tally()
  results.forEach((r, i) => {
    if (owner[i] === victim) return
    assert.deepEqual(r, { status: 200 })
    answered.add({ method: 'GET', path: '/api/slow', status: 200, route: '/api/slow' }, { status: 200, headers: {}, body: `slept ${SLOW_MS} ms\n` })
  })
  await scrapeAll(port, expected(before.merge(answered)), 4)
  t.diagnostic(`killed worker ${victim} holding ${lost} of 8 slow requests; replacement ${replacement}`)
  assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output())
  assert.doesNotMatch(server.output(), /shutdown deadline/)
})

/**
 * An endless shuffled stream of the mix's requests (those `keep` accepts),
 * stopped by `stop()`: next() returns null from then on, or once `max` were
 * handed out.
 */
function stream(max, keep = () => true) {
  const one = plan(1, 7).filter(keep)
  let i = 0
  let stopped = false
  return {
    next: () => (stopped || i >= max ? null : one[i++ % one.length]),
    stop: () => (stopped = true),
    get issued() {
      return i
    },
  }
}

/**
 * `pm2 reload cm` while `s`'s requests keep coming over keep-alive and fresh
 * connections (300 answered before it, 300 after it returns). pm2 starts a
 * new worker, waits until it listens, then SIGINTs the old one (SIGKILL
 * 1600 ms later), one instance after the other. Checks that every request
 * was answered, by the old workers and by the new ones; returns the tally
 * and the new pids.
 */
async function reloadUnderLoad(pm2, port, s, oldPids) {
  const tally = new Tally()
  const running = load(port, s.next, { keepAlive: 8, fresh: 8, tally })
  try {
    for (let i = 0; i < 1000 && tally.answered < 300; i++) await sleep(10)
    assert.ok(tally.answered >= 300, 'the load did not get going')
    const reload = await pm2.pm2(['reload', 'cm'])
    assert.equal(reload.code, 0, `${reload.stdout}\n${reload.stderr}`)
    const reloaded = tally.answered
    for (let i = 0; i < 1000 && tally.answered < reloaded + 300; i++) await sleep(10)
  } finally {
    s.stop()
    await running
  }
  const newPids = await pm2.waitOnline('cm', 4)
  assert.deepEqual(
    newPids.filter((p) => oldPids.includes(p)),
    [],
    'every worker was replaced',
  )
  const fromOld = [...tally.workers].filter((p) => oldPids.includes(p)).length
  const fromNew = [...tally.workers].filter((p) => newPids.includes(p)).length
  assert.equal(fromOld, 4, `the load reached ${fromOld} old workers`)
  assert.equal(fromNew, 4, `the load reached ${fromNew} new workers`)
  for (const pid of oldPids) assert.ok(!alive(pid), `old worker ${pid} still alive`)
  assertAllAnswered(tally, s.issued, () => `${pm2.logs('cm')}\n==> pm2.log\n${pm2.daemonLog()}`)
  return { tally, newPids }
}

function describeReload(tally) {
  return (
    `${tally.answered} answered (${tally.reusedSockets} on reused keep-alive sockets, ${tally.freshConnections} on fresh ` +
    `connections), ${tally.failures.length} failed, ${tally.retries} retried after the server closed an idle keep-alive socket`
  )
}

test('pm2 -i 4 with METRICS_FILE: Prometheus gets the exact totals; pm2 reload under load loses no request and counts each answered one once', async (t) => {
  requireTools()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-metrics-pm2-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const { pm2, waitOnline, logs, list, daemonLog } = startPm2(t)
  const env = { PORT: String(port), METRICS_FILE: path.join(dir, 'metrics') }
  const started = await pm2(['start', SERVER, '-i', '4', '--name', 'cm'], env)
  assert.equal(started.code, 0, `${started.stdout}\n${started.stderr}`)
  const pids = await waitOnline('cm', 4)
  // Online is not listening yet: wait for a first answer.
  for (let i = 0; ; i++) {
    const ok = await scrape(port).then(
      () => true,
      () => false,
    )
    if (ok) break
    assert.ok(i < 100, `nothing answers on ${port}\n${logs('cm')}`)
    await sleep(100)
  }
  const prom = await startPrometheus(t, { pm2: port })

  const requests = plan(20, 3) // 1,800
  const first = await load(port, from(requests))
  let end = Date.now() / 1000
  assertAllAnswered(first, requests.length)
  assert.deepEqual([...first.workers].sort(), [...pids].sort())
  await scrapeAll(port, expected(first), 4)
  await checkLint(port)
  await checkPrometheus(prom, 'pm2', first, end)

  // pm2 reload under load, twice: with the whole mix (slow requests in
  // flight at each SIGINT: answered with Connection: close), then with
  // fast requests only (an old worker has nothing in flight and leaves at
  // once: a connection its primary was handing it must not be lost).
  const pm2Api = { pm2, waitOnline, logs, daemonLog }
  const withSlow = await reloadUnderLoad(pm2Api, port, stream(50_000), pids)
  const fastOnly = await reloadUnderLoad(pm2Api, port, stream(50_000, (r) => r.route !== '/api/slow'), withSlow.newPids)
  end = Date.now() / 1000
  // The retried attempts were never read by the server: the only ways it
  // closes a connection with a request in it are its shutdown deadline
  // (which says so in its log) and pm2's SIGKILL (which pm2 logs); neither
  // happened. Each old worker left by itself.
  assert.doesNotMatch(logs('cm'), /shutdown deadline/)
  assert.doesNotMatch(daemonLog(), /sending SIGKILL/)
  assert.equal(daemonLog().match(/-reload- New worker listening/g)?.length, 8, daemonLog())
  // Every answered request is counted exactly once: the totals are exactly
  // what was answered, before and during the reloads.
  const all = first.merge(withSlow.tally).merge(fastOnly.tally)
  await scrapeAll(port, expected(all), 4)
  const scrapes = await checkPrometheus(prom, 'pm2', all, end)
  const upMin = await prom.value('min_over_time(up{job="pm2"}[10m])')
  t.diagnostic(`pm2 reload under the whole mix: ${describeReload(withSlow.tally)}`)
  t.diagnostic(`pm2 reload under fast requests: ${describeReload(fastOnly.tally)}`)
  t.diagnostic(`counted ${all.answered} = ${first.answered} before + the reloads'; ${scrapes} scrapes, min(up) ${upMin}`)
  assert.equal((await list()).filter((a) => a.name === 'cm').length, 4)
})

test('pm2 in cluster mode without METRICS_FILE: the workers print a hint that pm2 shows, and serve nothing', async (t) => {
  const port = await freePort()
  const { pm2, logs, home } = startPm2(t)
  const started = await pm2(['start', SERVER, '-i', '2', '--name', 'no-file'], { PORT: String(port) })
  assert.equal(started.code, 0, `${started.stdout}\n${started.stderr}`)
  const hint = 'cluster-metrics: started by pm2 in cluster mode without METRICS_FILE'
  for (let i = 0; !logs('no-file').includes(hint); i++) {
    assert.ok(i < 200, `no hint in the pm2 logs under ${home} after 20 s:\n${logs('no-file')}`)
    await sleep(100)
  }
  // In each instance's error log, and in what `pm2 logs` shows.
  for (const id of [0, 1]) {
    const file = path.join(home, 'logs', `no-file-error-${id}.log`)
    for (let i = 0; !(fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(hint)); i++) {
      assert.ok(i < 200, `no hint in ${file}:\n${logs('no-file')}`)
      await sleep(100)
    }
  }
  const shown = await pm2(['logs', 'no-file', '--nostream', '--lines', '20'])
  assert.equal(shown.code, 0, shown.stderr)
  assert.ok(shown.stdout.includes(hint), shown.stdout)
  assert.ok(shown.stdout.includes('METRICS_FILE=/dev/shm/myapp-metrics pm2 start'), shown.stdout)
  // No worker serves (none counts on its own).
  const refused = await new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume()
      resolve(`answered ${res.statusCode}`)
    })
    req.on('error', (err) => resolve(err.code))
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
  })
  assert.equal(refused, 'ECONNREFUSED')
})
