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

/**
 * listen(): a worker (or lone process) serves `server` on port/host, tells
 * its primary the port (or prints it when alone), and on SIGTERM/SIGINT
 * stops accepting, lets requests in flight finish, calls `close()`, exits.
 */
function listen(server, { port, host, forkedVar, close }) {
  server.listen(port, host, () => {
    const { port: actual } = server.address()
    if (process.env[forkedVar]) process.send({ listening: actual })
    else console.log(`listening on ${actual} (pid ${process.pid})`)
  })
  let closing = false
  const shutdown = () => {
    if (closing) return
    closing = true
    server.close(() => {
      close()
      process.exit(0)
    })
    server.closeIdleConnections()
    setTimeout(() => server.closeAllConnections(), 10_000).unref()
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

module.exports = { supervise, listen }
