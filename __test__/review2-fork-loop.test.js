'use strict'
// Review 2 finding: examples/shared/http-cluster.js supervise() forks in a loop.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const net = require('node:net')
const { once } = require('node:events')
const { sleep } = require('./fixtures/servers')
const { SERVER } = require('./fixtures/cluster-metrics')

// http-cluster.js supervise(): a worker that dies is replaced at once, with
// no backoff and no limit, even one that never listened. A worker that
// cannot listen (the port is taken: the commonest start-up error, or a
// METRICS_FILE it cannot open) dies at start, so the primary forks workers
// in a tight loop for ever, each a full Node start (measured: 60 in 3 s on 2
// cores), and never says it gave up.
test('the cluster primary does not fork workers in a loop when they cannot listen (port taken)', async (t) => {
  const taken = net.createServer()
  await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.after(() => taken.close())
  const child = childProcess.spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: String(taken.address().port), HOST: '127.0.0.1', WORKERS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') // its workers exit when their IPC channel closes
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s))
  child.stdout.resume()
  await Promise.race([once(child, 'exit'), sleep(3000)])
  const forks = (stderr.match(/forking another/g) ?? []).length
  assert.ok(forks < 10, `${forks} workers forked in 3 s to replace workers that could not listen (primary exit: ${child.exitCode ?? 'still running'})`)
})
