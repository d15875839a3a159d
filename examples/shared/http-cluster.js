'use strict'
// What both HTTP examples (cluster-metrics, rate-limit) share: the cluster
// primary, and a worker's listen and graceful shutdown.
//
// supervise(): the primary. Forks `workers` workers
// (with `env[forkedVar] = '1'`, so a worker knows it has a primary to talk
// to), prints `listening on <port> (workers: <pids>)` once every worker has
// reported its port (process.send({ listening: port })), replaces a worker
// that dies, and on SIGTERM, SIGINT or pm2's 'shutdown' message (fork mode)
// stops the workers and exits. Workers that die before they listen (a port
// taken, a file that cannot be opened) are replaced after a growing pause,
// and after MAX_EARLY_DEATHS in a row the primary gives up (exit 1) rather
// than fork for ever.

const cluster = require('node:cluster')

/** Workers dying before they listen, in a row, after which the primary gives up. */
const MAX_EARLY_DEATHS = 5

function supervise({ name, workers, forkedVar }) {
  let stopping = false
  const alive = new Set() // workers not yet exited
  const ready = new Map() // worker pid -> port
  const listened = new Set() // workers that have listened
  let earlyDeaths = 0
  let announced = false
  cluster.on('message', (w, message) => {
    if (message?.listening === undefined) return
    listened.add(w)
    earlyDeaths = 0
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
    const early = !listened.delete(w)
    if (stopping) {
      if (alive.size === 0) process.exit(0)
      return
    }
    if (!early) {
      console.error(`${name}: worker ${w.process.pid} died (${signal ?? code}); forking another`)
      fork()
      return
    }
    earlyDeaths++
    if (earlyDeaths >= MAX_EARLY_DEATHS) {
      console.error(`${name}: ${earlyDeaths} workers in a row died before listening (the last: ${signal ?? code}); giving up`)
      stopping = true
      for (const other of alive) other.process.kill('SIGTERM')
      process.exitCode = 1
      if (alive.size === 0) process.exit(1)
      return
    }
    const pause = 100 * 2 ** earlyDeaths
    console.error(`${name}: worker ${w.process.pid} died before listening (${signal ?? code}); forking another in ${pause} ms`)
    setTimeout(() => stopping || fork(), pause)
  })
  const stop = () => {
    if (stopping) return
    stopping = true
    if (alive.size === 0) process.exit(0)
    for (const w of alive) w.process.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  // pm2 in fork mode with --shutdown-with-message sends this to the primary.
  if (process.send) process.on('message', (message) => message === 'shutdown' && stop())
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
  /** Per connection: responses not yet flushed, and requests seen. */
  const connections = new Map()
  let closing = false
  server.on('connection', (socket) => {
    connections.set(socket, { unflushed: 0, requests: 0 })
    socket.once('close', () => connections.delete(socket))
  })
  server.prependListener('request', (req, res) => {
    if (closing) res.setHeader('connection', 'close')
    open.add(res)
    const c = connections.get(res.socket)
    if (c) {
      c.requests++
      c.unflushed++
    }
    // 'finish': the last byte went to the kernel; 'close': or never will.
    let done = false
    const flushed = () => {
      if (done) return
      done = true
      open.delete(res)
      if (c) c.unflushed--
      if (closing) server.closeIdleConnections()
    }
    res.once('finish', flushed)
    res.once('close', flushed)
  })
  // Node's own closeIdleConnections() (also called by server.close())
  // counts a connection idle once its response has ended, before its bytes
  // are written: it would cut off a large response to a slow reader. Idle
  // here: it has had a request, and every response on it is flushed. (A
  // connection that has not sent its first request yet is not idle.)
  server.closeIdleConnections = function closeIdleConnections() {
    for (const [socket, c] of connections) {
      if (c.requests > 0 && c.unflushed === 0 && socket.writableLength === 0) socket.destroy()
    }
  }
  server.on('error', (err) => exitWithHint(`${name}: cannot listen on ${host ?? '*'}:${port}: ${err.message}`))
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

/** Whether pm2 started this process (pm2 puts these in its processes' environment). */
function underPm2() {
  return process.env.pm_id !== undefined || process.env.PM2_HOME !== undefined || process.env.pm2_env !== undefined
}

/**
 * Prints `hint` on stderr and exits 1 once it is written. Under pm2,
 * process.stderr.write is pm2's: it appends to the log file through a
 * stream (asynchronously) and sends the line to pm2's daemon over IPC for a
 * live `pm2 logs`. A process that exits at once loses both (pm2 shows
 * nothing), so the exit waits for the write's callback (the line is in the
 * log file), then a moment for the IPC message; a backstop exits anyway.
 */
function exitWithHint(hint) {
  process.exitCode = 1
  process.stderr.write(`${hint}\n`, () => setTimeout(() => process.exit(1), 200))
  setTimeout(() => process.exit(1), 3000)
}

module.exports = { supervise, listen, underPm2, exitWithHint }
