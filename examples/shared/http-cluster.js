'use strict'
// What both HTTP examples (cluster-metrics, rate-limit) share: the cluster
// primary, and a worker's listen and graceful shutdown.
//
// supervise(): the primary. Forks `workers` workers
// (with `env[forkedVar] = '1'`, so a worker knows it has a primary to talk
// to), prints `listening on <port> (workers: <pids>)` once every worker has
// reported its port (process.send({ listening: port })), replaces a worker
// that dies, and on SIGTERM/SIGINT stops the workers and exits.

const cluster = require('node:cluster')

function supervise({ name, workers, forkedVar }) {
  let stopping = false
  const alive = new Set() // workers not yet exited
  const ready = new Map() // worker pid -> port
  let announced = false
  cluster.on('message', (w, message) => {
    if (message?.listening === undefined) return
    ready.set(w.process.pid, message.listening)
    if (!announced && ready.size === workers) {
      announced = true
      const ports = new Set(ready.values())
      console.log(`listening on ${[...ports].join(', ')} (workers: ${[...ready.keys()].join(', ')})`)
    }
  })
  const fork = () => alive.add(cluster.fork({ [forkedVar]: '1' }))
  cluster.on('exit', (w, code, signal) => {
    alive.delete(w)
    ready.delete(w.process.pid)
    if (stopping) {
      if (alive.size === 0) process.exit(0)
      return
    }
    console.error(`${name}: worker ${w.process.pid} died (${signal ?? code}); forking another`)
    fork()
  })
  const stop = () => {
    if (stopping) return
    stopping = true
    if (alive.size === 0) process.exit(0)
    for (const w of alive) w.process.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  for (let i = 0; i < workers; i++) fork()
}

/** How long a worker lets requests in flight finish after a shutdown signal. */
const SHUTDOWN_DEADLINE_MS = 1400

/**
 * listen(): a worker (or lone process) serves `server` on port/host, tells
 * its primary the port (or prints it when alone), and shuts down on SIGTERM,
 * SIGINT, or the message 'shutdown' (what pm2 sends instead of SIGINT with
 * --shutdown-with-message):
 *
 *  - server.close(): no new connections. In a cluster (ours or pm2's) the
 *    primary hands new connections to the other workers; one it was handing
 *    to this worker meanwhile is refused by it and given to another worker.
 *    A cluster worker does it through cluster.worker.disconnect(), which
 *    also waits for the primary to acknowledge, over the IPC channel, that
 *    it has taken the worker out: a worker that exited before that would
 *    leave a connection handed to it in no one's hands (the primary neither
 *    closes nor redistributes it; the client waits forever). Measured with
 *    pm2 reload under load: 2 fresh connections of 4,678 requests hung.
 *  - server.closeIdleConnections(): keep-alive connections with no request
 *    in them are closed at once (a client that was just sending a request
 *    on one sees ECONNRESET on a reused connection: the request was never
 *    read, and an HTTP client retries it). A connection that has not sent
 *    its first request yet is not idle: its request is answered.
 *  - requests in flight (and any that arrive on their connections before
 *    they answer) are answered with `Connection: close`, so no client sends
 *    another request on that connection; the connection closes after the
 *    response.
 *  - once no connection is left (and, in a cluster, the IPC channel is
 *    closed), `close()` (the app's cleanup) and exit 0.
 *  - `deadlineMs` (default 1400 ms) after the signal, whatever is still
 *    open is closed (a line on stderr says so) and the process exits anyway:
 *    pm2 SIGKILLs a process kill_timeout (default 1600 ms) after its SIGINT,
 *    and an exit of our own still runs `close()`. Requests slower than that
 *    are cut off (and, since a response is counted just before it is sent,
 *    not counted).
 */
function listen(server, { port, host, forkedVar, close, name = 'server', deadlineMs = SHUTDOWN_DEADLINE_MS }) {
  /** Responses not yet finished (nor aborted). */
  const open = new Set()
  let closing = false
  server.prependListener('request', (req, res) => {
    if (closing) res.setHeader('connection', 'close')
    open.add(res)
    res.once('close', () => open.delete(res))
  })
  server.listen(port, host, () => {
    const { port: actual } = server.address()
    if (process.env[forkedVar]) process.send({ listening: actual })
    else console.log(`listening on ${actual} (pid ${process.pid})`)
  })

  let exited = false
  const exit = () => {
    if (exited) return
    exited = true
    try {
      close()
    } finally {
      process.exit(0)
    }
  }
  const shutdown = () => {
    if (closing) return
    closing = true
    for (const res of open) if (!res.headersSent) res.setHeader('connection', 'close')
    if (cluster.isWorker) {
      // Closes the server, waits until every connection has closed and the
      // primary has acknowledged, then disconnects the IPC channel.
      cluster.worker.once('disconnect', exit)
      cluster.worker.disconnect()
    } else {
      server.close(exit) // called once every connection has closed
    }
    server.closeIdleConnections()
    setTimeout(() => {
      const unanswered = open.size
      server.closeAllConnections()
      // Under pm2 stderr goes to the log file through a stream: exit once
      // the line is written, not before (or a moment later in any case).
      process.stderr.write(`${name}: shutdown deadline (${deadlineMs} ms) reached with ${unanswered} request(s) unanswered: closed every connection\n`, exit)
      setTimeout(exit, 100)
    }, deadlineMs).unref()
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  if (process.send) process.on('message', (message) => message === 'shutdown' && shutdown())
}

module.exports = { supervise, listen }
