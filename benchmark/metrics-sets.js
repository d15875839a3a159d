'use strict'
// The metrics and observations of the metrics section, shared by
// benchmark/metrics.js and benchmark/metrics-worker.js so that both sides
// (prom-client's own metrics and the store's) see exactly the same ones.

const CODES = [200, 201, 404, 500, 503]
const ROUTES = ['/', '/api', '/api/users', '/api/items', '/login', '/logout', '/static', '/health']

/** The counter of the 10,000-series scrape. */
const SCRAPE_COUNTER = Object.freeze({ name: 'http_requests_total', help: 'Requests', labelNames: ['route', 'code'] })

/** Series i of a scrape: distinct label sets, 5 codes per route. */
const scrapeLabels = (i) => ({ route: `/api/r${Math.floor(i / CODES.length)}`, code: CODES[i % CODES.length] })
/** Its value: integers and quarters (exact in float64, whatever the order of the adds). */
const scrapeValue = (i) => 1 + (i % 97) + (i % 4) * 0.25

/** The Latch key a round of the contention test starts at (one-shot: one key per round). */
const startKey = (round) => 100n + BigInt(round)

// Histogram observations: dyadic values (sums exact in any order), spread
// over prom-client's default buckets and past the last one.
const DYADIC = [0.00390625, 0.0078125, 0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16]

/**
 * The sets of metrics a cluster scrape reads: 'app' (a counter of 8 routes
 * × 4 codes, a histogram of 8 routes with the default buckets, a gauge of
 * requests in flight) and `${series} series` (one counter of `series`
 * series, as the 10,000-series scrape).
 */
function clusterSets(series) {
  return [
    { name: 'app', kind: 'app' },
    { name: `${series} series`, kind: 'counter', count: series },
  ]
}

/**
 * Declares `set`'s metrics with `lib`'s classes (prom-client, or a
 * MetricsStore: both have Counter, Gauge, Histogram) in `registry`, and
 * makes worker `index`'s observations: the same in every worker, so the
 * totals are 4x one worker's.
 */
function observeSet(set, lib, registry, index) {
  void index // every worker observes alike (the totals are then easy to check)
  const registers = [registry]
  if (set.kind === 'counter') {
    const c = new lib.Counter({ name: 'bench_series_total', help: 'Series of the cluster scrape', labelNames: ['route', 'code'], registers })
    for (let i = 0; i < set.count; i++) c.inc(scrapeLabels(i), scrapeValue(i))
    return
  }
  const requests = new lib.Counter({ name: 'app_requests_total', help: 'Requests', labelNames: ['route', 'code'], registers })
  const latency = new lib.Histogram({ name: 'app_request_duration_seconds', help: 'Latency', labelNames: ['route'], registers })
  const inFlight = new lib.Gauge({ name: 'app_requests_in_flight', help: 'Requests in flight', registers })
  ROUTES.forEach((route, r) => {
    for (let c = 0; c < 4; c++) requests.inc({ route, code: CODES[c] }, 1 + ((r + c) % 7))
    for (let j = 0; j < 16; j++) latency.observe({ route }, DYADIC[(r + j) % DYADIC.length])
  })
  inFlight.inc(3)
}

/**
 * The sample lines of a Prometheus text, each with its labels sorted, in a
 * sorted array: two texts with the same series and values (in any order,
 * labels in any order) give equal arrays.
 */
function samples(text) {
  const out = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([^{\s]+)(?:\{(.*)\})?\s(.+)$/.exec(line)
    if (!m) {
      out.push(line)
      continue
    }
    const labels = m[2] ? m[2].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g).sort().join(',') : ''
    out.push(`${m[1]}{${labels}} ${m[3]}`)
  }
  return out.sort()
}

module.exports = { CODES, ROUTES, SCRAPE_COUNTER, scrapeLabels, scrapeValue, startKey, DYADIC, clusterSets, observeSet, samples }
