'use strict'
// Review 2 finding: examples/cluster-metrics/server.js leaks in-flight counts.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { once } = require('node:events')
const { startServer, sleep } = require('./fixtures/servers')
const { SERVER, scrape } = require('./fixtures/cluster-metrics')

// server.js: metrics.started() (inFlight.inc()) runs when a request arrives,
// and its finished() (inFlight.dec()) only in send(). POST /api/items sends
// on the body's 'end', which never comes when the client goes away in the
// middle of its body: the process's in-flight share stays up by one for as
// long as it lives, and http_requests_in_flight over-reports for good.
test('a POST whose client leaves in the middle of its body does not stay in http_requests_in_flight', async (t) => {
  const server = await startServer(t, SERVER, { PORT: '0', WORKERS: '0' })
  const { port } = server
  const s = net.connect(port, '127.0.0.1')
  s.on('error', () => {})
  await once(s, 'connect')
  s.write('POST /api/items HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":')
  for (let i = 0; (await scrape(port)).summary.inFlight !== 1; i++) {
    assert.ok(i < 200, 'the POST was never in flight')
    await sleep(10)
  }
  s.destroy() // the client goes away: the request is over, unanswered
  let inFlight
  for (let i = 0; i < 30; i++) {
    inFlight = (await scrape(port)).summary.inFlight
    if (inFlight === 0) break
    await sleep(100)
  }
  assert.equal(inFlight, 0, 'http_requests_in_flight 3 s after the only request in flight was aborted')
})
