'use strict'
// Review 2 finding (examples/rate-limit/server.js, worker()): under pm2 in
// cluster mode without RATE_LIMIT_FILE no table was shared with the worker;
// it console.error()s a hint and rethrows at once. Under pm2 stderr reaches
// the log file through a stream (asynchronously), so a process that dies
// right after writing loses the line, and the uncaught error too: pm2's
// logs stay empty while pm2 restarts the workers. This is the defect
// examples/cluster-metrics fixed for METRICS_FILE (refuseForeignPrimary(),
// tested in real-clients.test.js); the rate-limit example, which the README
// also says runs under pm2 with RATE_LIMIT_FILE, still has it.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { startPm2 } = require('./fixtures/pm2')
const { freePort } = require('./fixtures/prometheus')
const { sleep } = require('./fixtures/servers')

const SERVER = path.join(__dirname, '..', 'examples', 'rate-limit', 'server.js')

test('rate-limit started by pm2 in cluster mode without RATE_LIMIT_FILE says so in pm2\'s logs', async (t) => {
  const port = await freePort()
  const { pm2, logs, home } = startPm2(t)
  const started = await pm2(['start', SERVER, '-i', '2', '--name', 'rl'], { PORT: String(port) })
  assert.equal(started.code, 0, `${started.stdout}\n${started.stderr}`)
  for (let i = 0; !logs('rl').includes('RATE_LIMIT_FILE'); i++) {
    assert.ok(i < 100, `no word of RATE_LIMIT_FILE in the pm2 logs under ${home} after 10 s:\n${logs('rl')}`)
    await sleep(100)
  }
})
