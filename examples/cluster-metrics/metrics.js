'use strict'
// Cluster-wide HTTP metrics in shared memory, exposed through prom-client.
//
// Every process (cluster worker, pm2 instance, plain process) records into
// the same two tables and answers a scrape from them, so any process reports
// the totals of all of them: no IPC round trip to a primary, as prom-client's
// AggregatorRegistry needs, and nothing for a primary to do under pm2.
//
//   requests: an AtomicDict keyed by [route, status code] (the route is a
//             string key part: its 64-bit hash), counting responses.
//   gauges:   Counters { inFlight, responseBytes }, signed 64-bit.

const client = require('prom-client')
// Inside this repository the package is the repository's root; in your own
// project this is require('atomic-dict').
const { AtomicDict, Counters, stringKey } = require('../..')

/** The label of every path that is not in the route table. */
const OTHER = 'other'

/**
 * Room for [route, code] keys. A key is never removed, so the table must
 * hold every pair ever counted: (routes + 1) x the status codes the server
 * sends. It is a constant rather than computed from the route table so that
 * a named file made by one version of the server still opens in the next
 * (open() refuses a file whose capacity differs from the one asked).
 */
const CAPACITY = 4096
const REQUEST_KEYS = { k64: 1, k32: 1 } // [route (a string), status code]
const GAUGES = ['inFlight', 'responseBytes']
const GAUGE_OPTIONS = { signed: true } // inFlight goes down too

/** New tables in this process (the cluster primary, or a lone process). */
function createTables() {
  return {
    requests: new AtomicDict(CAPACITY, REQUEST_KEYS),
    gauges: new Counters(GAUGES, GAUGE_OPTIONS),
  }
}

/** The tables the cluster primary shared with shareWithCluster(createTables()). */
function inheritTables() {
  return {
    requests: AtomicDict.inherit('requests'),
    gauges: Counters.inherit('gauges', GAUGES, GAUGE_OPTIONS),
  }
}

/**
 * The tables in the named files `${prefix}.requests` and `${prefix}.gauges`
 * (created by whichever process comes first): for pm2, or processes that
 * share no parent. Under /dev/shm they live in memory; on disk the counts
 * survive restarts.
 */
function openTables(prefix) {
  return {
    requests: AtomicDict.open(`${prefix}.requests`, { capacity: CAPACITY, ...REQUEST_KEYS, valueBits: 64 }),
    gauges: Counters.open(`${prefix}.gauges`, GAUGES, GAUGE_OPTIONS),
  }
}

class HttpMetrics {
  #requests
  #gauges
  #routes
  #byKey

  /**
   * @param {{requests: AtomicDict, gauges: Counters}} tables
   * @param {readonly string[]} routes the route table's routes: the only
   *   `route` labels besides 'other'. A key stores the route's hash, and this
   *   list is how a scrape turns a hash back into the route.
   */
  constructor(tables, routes) {
    this.#requests = tables.requests
    this.#gauges = tables.gauges
    this.#routes = new Set(routes)
    this.#byKey = new Map([...routes, OTHER].map((route) => [stringKey(route), route]))
  }

  /** A request has arrived. */
  started() {
    this.#gauges.add('inFlight')
  }

  /**
   * A response is about to be sent. Called before res.end(), not on 'finish',
   * so that a client that has the response (and scrapes next, maybe from
   * another worker) always finds it counted.
   */
  finished(route, code, bytes) {
    this.#requests.add([this.#routes.has(route) ? route : OTHER, code], 1n)
    this.#gauges.add('responseBytes', bytes)
    this.#gauges.sub('inFlight')
  }

  /**
   * A prom-client Registry of this process whose metrics are read from the
   * shared tables at each scrape: `collect()` replaces the metric's values
   * with the tables' (an exact total: every value is one atomic load).
   */
  registry() {
    const registry = new client.Registry()
    const requests = this.#requests
    const gauges = this.#gauges
    const byKey = this.#byKey
    new client.Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered by all processes, by route and status code',
      labelNames: ['route', 'code'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [[routeKey, code], count] of requests.entries()) {
          // A hash not in this process's route table (a file shared with
          // another version of the server) is counted as 'other'; inc() adds
          // up series with the same labels.
          this.inc({ route: byKey.get(routeKey) ?? OTHER, code }, Number(count))
        }
      },
    })
    new client.Counter({
      name: 'http_response_body_bytes_total',
      help: 'Bytes of response bodies sent by all processes',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(Number(gauges.get('responseBytes')))
      },
    })
    new client.Gauge({
      name: 'http_requests_in_flight',
      help: 'Requests being handled by all processes',
      registers: [registry],
      collect() {
        this.set(Number(gauges.get('inFlight')))
      },
    })
    return registry
  }

  close() {
    this.#requests.close()
    this.#gauges.close()
  }
}

module.exports = { HttpMetrics, createTables, inheritTables, openTables, OTHER, CAPACITY }
