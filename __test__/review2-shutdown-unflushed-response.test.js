'use strict'
// Review 2 finding (examples/shared/http-cluster.js listen(), the shutdown):
// a response whose handler has called res.end() but whose bytes are still
// being written to a slow reader is cut off at the signal. Node's
// server.closeIdleConnections() (called by the shutdown, and by
// server.close() itself since Node 19, so also through
// cluster.worker.disconnect()) counts a connection as idle once its
// response is `finished` (end() called), not once it is flushed, and
// destroys the socket with the rest of the body in its write queue. The
// process then exits at once, with no deadline line: the response was
// counted (the example counts just before res.end()) and the client got a
// truncated body. A large /metrics scrape by a Prometheus across a network
// is such a response. The shutdown promises that requests in flight are
// answered (within the deadline).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const path = require('node:path')
const { once } = require('node:events')
const { startServer, sleep } = require('./fixtures/servers')

const BYTES = 32 * 1024 * 1024

test('shutdown: a response ended but not yet flushed to a slow reader is delivered whole', async (t) => {
  const server = await startServer(t, path.join(__dirname, 'fixtures', 'review2-big-response.js'), { BYTES: String(BYTES) })
  const s = net.connect(server.port, '127.0.0.1')
  t.after(() => s.destroy())
  s.on('error', () => {})
  await once(s, 'connect')
  let received = 0
  let head = ''
  s.on('data', (d) => {
    if (head.length < 200) head += d.subarray(0, 200).toString('latin1')
    received += d.length
  })
  const closed = once(s, 'close')
  s.pause() // a slow reader: the body stays in the server's write queue
  s.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
  for (let i = 0; !server.output().includes('ended'); i++) {
    assert.ok(i < 200, `the server never ended its response\n${server.output()}`)
    await sleep(10)
  }
  await sleep(100)
  server.child.kill('SIGTERM')
  await sleep(300)
  s.resume()
  let timer
  await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))])
  clearTimeout(timer)
  const headerBytes = head.indexOf('\r\n\r\n') + 4
  assert.ok(headerBytes > 4, `no response head: ${JSON.stringify(head)}`)
  assert.equal(received - headerBytes, BYTES, `body bytes received of ${BYTES} (server output:\n${server.output()})`)
})
