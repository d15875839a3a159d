'use strict'
// A Node cluster HTTP server that admits at most LIMIT requests per client
// in each window of WINDOW_MS, across all its workers, with a fixed-window
// limiter (limiter.js) on a shared table. See README.md in this folder.
//
//   node examples/rate-limit/server.js                          4 workers, table shared by the primary
//   RATE_LIMIT_FILE=/dev/shm/app-limits node .../server.js      the table in a named file (pm2, plain processes)
//
// Environment: PORT (default 3000; 0 picks a free port), HOST, WORKERS
// (default 4; 0 serves in this one process), LIMIT (default 100), WINDOW_MS
// (default 60000), MAX_CLIENTS (default 100000: the table's capacity),
// RATE_LIMIT_FILE (a path).

const cluster = require('node:cluster')
const http = require('node:http')
// In your own project: require('atomic-dict').
const { AtomicDict, shareWithCluster } = require('../..')
const { supervise, listen, underPm2, exitWithHint } = require('../shared/http-cluster')
const { FixedWindowLimiter } = require('./limiter')

const PORT = Number(process.env.PORT ?? 3000)
const HOST = process.env.HOST || undefined
const WORKERS = Number(process.env.WORKERS ?? 4)
const LIMIT = Number(process.env.LIMIT ?? 100)
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 60_000)
const MAX_CLIENTS = Number(process.env.MAX_CLIENTS ?? 100_000)
const RATE_LIMIT_FILE = process.env.RATE_LIMIT_FILE || undefined
/** Set in the environment of the workers forked by primary() below. */
const FORKED = 'RATE_LIMIT_WORKER'

/**
 * The client a request counts against: the x-client-id header (an API key,
 * or a user id set by an authenticating proxy in front of this server: a
 * header any client may set is only a demonstration), else the address.
 */
function clientOf(req) {
  const id = req.headers['x-client-id']
  return id ? `id:${id}` : `ip:${req.socket.remoteAddress}`
}

// ------------------------------------------------------------ a worker

function worker() {
  let table
  try {
    if (RATE_LIMIT_FILE) table = AtomicDict.open(RATE_LIMIT_FILE, { capacity: MAX_CLIENTS })
    else if (cluster.isWorker) table = AtomicDict.inherit('clients')
    else table = new AtomicDict(MAX_CLIENTS) // WORKERS=0: one process, nothing to share
  } catch (err) {
    if (err.code === 'ERR_ATOMIC_DICT_NOT_SHARED') {
      // A cluster worker whose primary is not ours: pm2 in cluster mode.
      exitWithHint(
        `rate-limit: no table was shared with this worker (${underPm2() ? 'pm2 runs its own cluster primary' : 'its primary is not this script'}); ` +
          'set RATE_LIMIT_FILE to a path every process opens, e.g.\n' +
          '  RATE_LIMIT_FILE=/dev/shm/myapp-limits pm2 start examples/rate-limit/server.js -i 4',
      )
      return
    }
    throw err
  }
  const limiter = new FixedWindowLimiter(table, { limit: LIMIT, windowMs: WINDOW_MS })
  let warnedFull = false

  const server = http.createServer((req, res) => {
    res.setHeader('x-worker', process.pid)
    let decision
    try {
      decision = limiter.take(clientOf(req))
    } catch (err) {
      if (err.code !== 'ERR_ATOMIC_DICT_FULL') {
        console.error('rate-limit:', err)
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end('internal server error\n')
        return
      }
      // The table holds MAX_CLIENTS clients and keys are never removed: a
      // new client cannot be counted. Failing closed (503) keeps the limit
      // for everyone; failing open would let anyone who can make up new
      // client ids (many addresses, or forged ids) bypass it, exactly when
      // the table is being flooded. Known clients are not affected.
      if (!warnedFull) {
        warnedFull = true
        console.error(`rate-limit: the table of ${MAX_CLIENTS} clients is full; new clients get 503`)
      }
      res.writeHead(503, { 'content-type': 'text/plain' })
      res.end('too many clients\n')
      return
    }
    // The RateLimit-* fields of the IETF draft; x-ratelimit-window is the
    // window the request was counted in (for the tests and for debugging).
    res.setHeader('ratelimit-limit', LIMIT)
    res.setHeader('ratelimit-remaining', decision.remaining)
    res.setHeader('ratelimit-reset', Math.ceil(decision.resetMs / 1000))
    res.setHeader('x-ratelimit-window', decision.window)
    if (!decision.allowed) {
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': Math.ceil(decision.resetMs / 1000) })
      res.end('too many requests\n')
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(`ok, ${decision.remaining} left in this window\n`)
  })

  // Graceful shutdown: stop accepting, let requests in flight finish, exit.
  listen(server, { port: PORT, host: HOST, forkedVar: FORKED, close: () => table.close() })
}

// ------------------------------------------------------------ the primary

function primary() {
  // A memfd table made here and inherited by every worker (also the ones
  // forked later to replace a worker that died). With RATE_LIMIT_FILE the
  // workers open the file themselves, as they would under pm2.
  if (!RATE_LIMIT_FILE) shareWithCluster({ clients: new AtomicDict(MAX_CLIENTS) })

  supervise({ name: 'rate-limit', workers: WORKERS, forkedVar: FORKED })
}

if (cluster.isPrimary && WORKERS > 0) primary()
else worker()
