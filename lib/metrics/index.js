'use strict'
// require('atomic-dict/metrics'): Prometheus metrics in shared memory,
// drop-in for prom-client's Counter, Gauge and Histogram (docs/METRICS.md).

const { MetricsStore } = require('./store')
const { Counter } = require('./counter')
const { Gauge } = require('./gauge')
const { Histogram } = require('./histogram')

module.exports = { MetricsStore, Counter, Gauge, Histogram }
