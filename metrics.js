'use strict'
// atomic-dict/metrics: Prometheus metrics shared by every process (see docs/METRICS.md).
module.exports = require('./lib/metrics')
