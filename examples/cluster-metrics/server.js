'use strict'
// A Node cluster HTTP server whose workers keep Prometheus metrics (requests
// per route and status code, requests in flight, durations, bytes) in one
// shared atomic-dict MetricsStore; any worker answers GET /metrics with the
// totals of the whole cluster, in prom-client's Prometheus text format.
// See README.md in this folder.
//
//   node examples/cluster-metrics/server.js                 4 workers, the store shared by the primary
//   METRICS_FILE=/dev/shm/app-metrics node .../server.js    the store in a named file (pm2, plain processes)
//   METRICS_FILE=/dev/shm/app-metrics pm2 start examples/cluster-metrics/server.js -i 4
//
// Environment: PORT (default 3000; 0 picks a free port), HOST, WORKERS
// (default 4; 0 serves in this one process), METRICS_FILE (a path).

const cluster = require('node:cluster')
const http = require('node:http')
// In your own project: require('atomic-dict').
const { shareWithCluster } = require('../..')
const { supervise, listen, underPm2, exitWithHint } = require('../shared/http-cluster')
const { httpMetrics, createStore, inheritStore, openStore, SHARED_AS } = require('./metrics')

const PORT = Number(process.env.PORT ?? 3000)
const HOST = process.env.HOST || undefined
const WORKERS = Number(process.env.WORKERS ?? 4)
const METRICS_FILE = process.env.METRICS_FILE || undefined
/** Set in the environment of the workers forked by primary() below. */
const FORKED = 'CLUSTER_METRICS_WORKER'
/** The `route` label of every path that is not in the route table. */
const OTHER = 'other'

// ------------------------------------------------------------ the routes

const ITEMS = ['apple', 'pear', 'plum']

/** The route table: a route's label is its pattern, never the raw path. */
const ROUTES = [
  { route: '/', match: (p) => p === '/', GET: (req, url, send) => send(200, 'hello\n') },
  {
    route: '/api/items',
    match: (p) => p === '/api/items',
    GET: (req, url, send) => send(200, JSON.stringify(ITEMS)),
    POST: (req, url, send) => {
      req.resume() // the body is not used; read it so that the socket stays usable
      req.on('end', () => send(201, '{"created":true}'))
    },
  },
  {
    route: '/api/items/:id',
    match: (p) => /^\/api\/items\/[^/]+$/.test(p),
    GET: (req, url, send) => {
      const item = ITEMS[Number(url.pathname.slice('/api/items/'.length))]
      if (item === undefined) send(404, '{"error":"no such item"}')
      else send(200, JSON.stringify(item))
    },
  },
  {
    // Answers after ?ms= milliseconds (at most 10 s): shows requests in flight.
    route: '/api/slow',
    match: (p) => p === '/api/slow',
    GET: (req, url, send) => {
      const ms = Math.min(Number(url.searchParams.get('ms')) || 100, 10_000)
      setTimeout(() => send(200, `slept ${ms} ms\n`), ms)
    },
  },
  {
    route: '/api/fail',
    match: (p) => p === '/api/fail',
    GET: () => {
      throw new Error('this route always fails')
    },
  },
]

function findRoute(pathname) {
  return ROUTES.find((r) => r.match(pathname))
}

// ------------------------------------------------------------ a worker

/**
 * A cluster worker whose primary is not this script's (pm2 in cluster mode
 * runs its own primary): nobody shared a store with it, and without
 * METRICS_FILE each worker would count alone. Say so (in a way that reaches
 * pm2's logs) and exit 1.
 */
function refuseForeignPrimary() {
  const hint = underPm2()
    ? 'cluster-metrics: started by pm2 in cluster mode without METRICS_FILE. pm2 runs its own cluster primary, so no ' +
      'metrics store can be shared with the workers: set METRICS_FILE to a path all of them open, e.g.\n' +
      '  METRICS_FILE=/dev/shm/myapp-metrics pm2 start examples/cluster-metrics/server.js -i 4\n' +
      '(or start this script in fork mode, without -i: it then runs its own primary and workers).'
    : 'cluster-metrics: this cluster worker was not forked by this script\'s primary, so no metrics store was shared ' +
      'with it: set METRICS_FILE to a path every process opens.'
  exitWithHint(hint)
}

function worker() {
  if (!METRICS_FILE && cluster.isWorker && !process.env[FORKED]) {
    refuseForeignPrimary()
    return
  }
  let store
  if (METRICS_FILE) store = openStore(METRICS_FILE)
  else if (cluster.isWorker) store = inheritStore()
  else store = createStore() // WORKERS=0: one process, nothing to share
  const metrics = httpMetrics(store)
  const registry = metrics.registry

  const server = http.createServer((req, res) => {
    res.setHeader('x-worker', process.pid)
    let url
    try {
      url = new URL(req.url, 'http://localhost')
    } catch {
      url = null // a target Node's parser takes and URL refuses (`//[`): a 400, counted as 'other'
    }
    if (url?.pathname === '/metrics') {
      // Scrapes are not counted themselves: they would change the totals
      // they report.
      serveMetrics(res)
      return
    }
    const found = url === null ? undefined : findRoute(url.pathname)
    // The label is the route's pattern, never the raw path: the set of
    // series stays bounded (a Prometheus rule, and the store's room).
    const finished = metrics.started(found?.route ?? OTHER)
    let sent = false
    // A client that leaves before its response (an upload cut off, a slow
    // request given up on): no longer in flight, and not counted as answered.
    res.once('close', () => {
      if (sent) return
      sent = true
      finished.abandoned()
    })
    const send = (code, body) => {
      if (sent) return
      sent = true
      const bytes = Buffer.from(body)
      try {
        finished(code, bytes.length)
      } catch (err) {
        console.error('cluster-metrics: could not count a response:', err) // never costs the response
      }
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': bytes.length })
      res.end(bytes)
    }
    const handler = found?.[req.method]
    try {
      if (url === null) send(400, 'bad request target\n')
      else if (!found) send(404, 'not found\n')
      else if (!handler) send(405, 'method not allowed\n')
      else handler(req, url, send)
    } catch (err) {
      console.error(`cluster-metrics: ${req.method} ${url?.pathname}:`, err.message)
      send(500, 'internal server error\n')
    }
  })

  async function serveMetrics(res) {
    try {
      const text = await registry.metrics()
      res.writeHead(200, { 'content-type': registry.contentType })
      res.end(text)
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`${err}\n`)
    }
  }

  // Shutdown (SIGTERM, SIGINT, pm2's 'shutdown' message): stop accepting,
  // close idle keep-alive connections, answer the requests in flight with
  // Connection: close, exit when they are done (at most 1.4 s: within pm2's
  // kill_timeout). Closing the store drops this process's in-flight count.
  listen(server, { port: PORT, host: HOST, forkedVar: FORKED, name: 'cluster-metrics', close: () => store.close() })
}

// ------------------------------------------------------------ the primary

function primary() {
  // A store (a memfd) made here and inherited by every worker (also the ones
  // forked later to replace a worker that died). With METRICS_FILE the
  // workers open the file themselves, as they would under pm2.
  if (!METRICS_FILE) shareWithCluster({ [SHARED_AS]: createStore() })

  supervise({ name: 'cluster-metrics', workers: WORKERS, forkedVar: FORKED })
}

if (cluster.isPrimary && WORKERS > 0) primary()
else worker()
