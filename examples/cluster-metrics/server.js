'use strict'
// A Node cluster HTTP server whose workers count requests per route and
// status code in shared memory; any worker answers GET /metrics with the
// totals of the whole cluster, in prom-client's Prometheus text format.
// See README.md in this folder.
//
//   node examples/cluster-metrics/server.js                 4 workers, tables shared by the primary
//   METRICS_FILE=/dev/shm/app-metrics node .../server.js    tables in named files (pm2, plain processes)
//
// Environment: PORT (default 3000; 0 picks a free port), HOST, WORKERS
// (default 4; 0 serves in this one process), METRICS_FILE (a path prefix).

const cluster = require('node:cluster')
const http = require('node:http')
// In your own project: require('atomic-dict').
const { shareWithCluster } = require('../..')
const { supervise, listen } = require('../shared/http-cluster')
const { HttpMetrics, createTables, inheritTables, openTables } = require('./metrics')

const PORT = Number(process.env.PORT ?? 3000)
const HOST = process.env.HOST || undefined
const WORKERS = Number(process.env.WORKERS ?? 4)
const METRICS_FILE = process.env.METRICS_FILE || undefined
/** Set in the environment of the workers forked by primary() below. */
const FORKED = 'CLUSTER_METRICS_WORKER'

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

function worker() {
  let tables
  try {
    if (METRICS_FILE) tables = openTables(METRICS_FILE)
    else if (cluster.isWorker) tables = inheritTables()
    else tables = createTables() // WORKERS=0: one process, nothing to share
  } catch (err) {
    if (err.code === 'ERR_ATOMIC_DICT_NOT_SHARED') {
      // A cluster worker whose primary is not ours: pm2 in cluster mode.
      console.error('cluster-metrics: no tables were shared with this worker; under pm2, set METRICS_FILE')
    }
    throw err
  }
  const metrics = new HttpMetrics(tables, ROUTES.map((r) => r.route))
  const registry = metrics.registry()

  const server = http.createServer((req, res) => {
    res.setHeader('x-worker', process.pid)
    const url = new URL(req.url, 'http://localhost')
    if (url.pathname === '/metrics') {
      // Scrapes are not counted themselves: they would change the totals
      // they report.
      serveMetrics(res)
      return
    }
    metrics.started()
    const found = findRoute(url.pathname)
    const route = found?.route // undefined: counted as 'other'
    let sent = false
    const send = (code, body) => {
      if (sent) return
      sent = true
      const bytes = Buffer.from(body)
      try {
        metrics.finished(route, code, bytes.length)
      } catch (err) {
        console.error('cluster-metrics: could not count a response:', err) // never costs the response
      }
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': bytes.length })
      res.end(bytes)
    }
    const handler = found?.[req.method]
    try {
      if (!found) send(404, 'not found\n')
      else if (!handler) send(405, 'method not allowed\n')
      else handler(req, url, send)
    } catch (err) {
      console.error(`cluster-metrics: ${req.method} ${url.pathname}:`, err.message)
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

  // Graceful shutdown: stop accepting, let requests in flight finish, exit.
  listen(server, { port: PORT, host: HOST, forkedVar: FORKED, close: () => metrics.close() })
}

// ------------------------------------------------------------ the primary

function primary() {
  // Memfd tables made here and inherited by every worker (also the ones
  // forked later to replace a worker that died). With METRICS_FILE the
  // workers open the files themselves, as they would under pm2.
  if (!METRICS_FILE) shareWithCluster(createTables())

  supervise({ name: 'cluster-metrics', workers: WORKERS, forkedVar: FORKED })
}

if (cluster.isPrimary && WORKERS > 0) primary()
else worker()
