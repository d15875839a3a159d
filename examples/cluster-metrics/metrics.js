'use strict'
// Cluster-wide HTTP metrics in shared memory, exposed through prom-client.
//
// Every process (cluster worker, pm2 instance, plain process) declares the
// same prom-client metrics on one atomic-dict MetricsStore, records into it,
// and answers a scrape from it: any process reports the totals of all of
// them, with no IPC round trip to a primary (prom-client's
// AggregatorRegistry) and nothing for a primary to do under pm2.

const client = require('prom-client')
// Inside this repository the package is the repository's root; in your own
// project this is require('atomic-dict/metrics').
const { MetricsStore } = require('../../metrics')

/**
 * The store's room for series (rows): a counter series takes 1, a histogram
 * series (one route) its 11 buckets + 2, the in-flight gauge 1 per process
 * that ever held a contributor slot at once. A few hundred are used; the
 * rest is room for routes and codes added later. It is a constant so that
 * a file made by one version of the server opens in the next
 * (MetricsStore.open refuses a store of another size).
 */
const SERIES = 4096

/** The name the cluster primary shares the store under (shareWithCluster). */
const SHARED_AS = 'metrics'

/** A new store in this process: the cluster primary, or a lone process. */
function createStore() {
  return new MetricsStore({ series: SERIES })
}

/** The store the cluster primary shared with shareWithCluster({ [SHARED_AS]: store }). */
function inheritStore() {
  return MetricsStore.inherit(SHARED_AS)
}

/**
 * The store in the named file `file`, created by whichever process comes
 * first: for pm2, or processes that share no parent. Under /dev/shm it lives
 * in memory; on disk the counts also survive a reboot.
 */
function openStore(file) {
  return MetricsStore.open(file, { series: SERIES })
}

/**
 * This process's metrics, declared on `store` (every process declares them
 * alike) and registered in a prom-client Registry of its own, with the
 * store's own figures (series used, dropped observations).
 */
function httpMetrics(store) {
  const registry = new client.Registry()
  const registers = [registry]
  const requests = new store.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered by all processes, by route and status code',
    labelNames: ['route', 'code'],
    registers,
  })
  const inFlight = new store.Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being handled by all processes',
    // Each process keeps its own count, and the gauge is the sum over the
    // processes alive: a worker killed mid-request drops out at once.
    aggregate: 'sum',
    registers,
  })
  const duration = new store.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from a request to its response, by route',
    labelNames: ['route'],
    registers,
  })
  const bodyBytes = new store.Counter({
    name: 'http_response_body_bytes_total',
    help: 'Bytes of response bodies sent by all processes',
    registers,
  })
  store.collectStoreMetrics({ register: registry })

  return {
    registry,
    /**
     * A request for `route` (a route pattern, or 'other') has arrived.
     * Returns `finished(code, bytes)`, to call just before the response is
     * sent (res.end()), not on 'finish': a client that has its response, and
     * scrapes next (maybe another worker), always finds it counted; or
     * `finished.abandoned()` when the client left first (no longer in
     * flight, not counted as answered). Either once.
     */
    started(route) {
      inFlight.inc()
      const endTimer = duration.startTimer({ route })
      const finished = (code, bytes) => {
        requests.inc({ route, code })
        bodyBytes.inc(bytes)
        endTimer()
        inFlight.dec()
      }
      finished.abandoned = () => inFlight.dec()
      return finished
    },
  }
}

module.exports = { httpMetrics, createStore, inheritStore, openStore, SERIES, SHARED_AS }
