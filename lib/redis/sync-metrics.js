'use strict'
// A MetricsStore as a sync source (docs/SYNC.md): not yet.

/** The source of `table` if it is a MetricsStore (see sourceOf in sync.js), else null. */
function metricsSource() {
  return null
}

module.exports = { metricsSource }
