'use strict'
// atomic-dict on Redis (docs/REDIS-DESIGN.md): work in progress, not yet
// exported from package.json.

const { RedisDict } = require('./redis-dict')

module.exports = { RedisDict }
