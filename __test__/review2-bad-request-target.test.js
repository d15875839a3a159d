'use strict'
// Review 2 finding: examples/cluster-metrics/server.js dies on one request.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { startServer, request, alive, sleep } = require('./fixtures/servers')
const { SERVER } = require('./fixtures/cluster-metrics')

/** Sends `raw` on a fresh connection; resolves with what came back before the connection closed (or after 5 s). */
function rawRequest(port, raw) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(raw))
    let text = ''
    s.setEncoding('utf8').on('data', (d) => (text += d))
    s.on('error', () => {})
    s.on('close', () => resolve(text))
    s.setTimeout(5000, () => s.destroy())
  })
}

// server.js line 123: `new URL(req.url, 'http://localhost')` runs outside
// the handler's try, and throws for a request target Node's parser accepts
// (`//[`, `http://[`): an uncaught exception in the 'request' listener. One
// request of a few bytes kills a worker with every request it holds (a lone
// process, WORKERS=0 or pm2's fork mode, serves nothing after it).
test('a request target new URL() refuses (GET //[) is answered with a 4xx and the server keeps serving', async (t) => {
  const server = await startServer(t, SERVER, { PORT: '0', WORKERS: '0' })
  const answer = await rawRequest(server.port, 'GET //[ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  await sleep(200)
  assert.ok(alive(server.pids[0]), `the server died on one request\n${server.output()}`)
  assert.match(answer, /^HTTP\/1\.1 4\d\d /, `answer: ${JSON.stringify(answer)}`)
  assert.equal((await request(server.port, '/')).status, 200)
})
