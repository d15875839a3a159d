'use strict'
// atomic-dict/redis: the same tables kept in Redis or Redis Cluster, for
// processes on several hosts (see docs/REDIS.md).
module.exports = require('./lib/redis')
