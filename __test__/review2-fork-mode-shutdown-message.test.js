'use strict'
// Review 2 finding (examples/shared/http-cluster.js supervise()): the
// README (cluster-metrics, "Shutdown") says a worker shuts down gracefully
// on SIGTERM, SIGINT or the message 'shutdown' (what pm2 sends instead of
// SIGINT with --shutdown-with-message), and that pm2 in fork mode (no -i)
// runs the script as its own primary. In fork mode the message goes to that
// primary, and supervise() only listens for signals: it ignores the message,
// so pm2 waits its whole kill_timeout and SIGKILLs the process tree, cutting
// off whatever the workers had in flight.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { startPm2 } = require('./fixtures/pm2')
const { freePort } = require('./fixtures/prometheus')
const { sleep } = require('./fixtures/servers')
const { SERVER, scrape } = require('./fixtures/cluster-metrics')

test('pm2 fork mode with --shutdown-with-message: pm2 stop shuts the server down without a SIGKILL', async (t) => {
  const port = await freePort()
  const { pm2, waitOnline, logs, daemonLog } = startPm2(t)
  const started = await pm2(['start', SERVER, '--name', 'fm', '--shutdown-with-message'], { PORT: String(port), WORKERS: '2' })
  assert.equal(started.code, 0, `${started.stdout}\n${started.stderr}`)
  await waitOnline('fm', 1)
  for (let i = 0; ; i++) {
    const ok = await scrape(port).then(
      () => true,
      () => false,
    )
    if (ok) break
    assert.ok(i < 100, `nothing answers on ${port}\n${logs('fm')}`)
    await sleep(100)
  }
  const stopped = await pm2(['stop', 'fm'])
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.doesNotMatch(daemonLog(), /sending SIGKILL/, daemonLog())
})
