'use strict'
// atomic-dict on Redis: require('atomic-dict/redis') (docs/REDIS.md).

const { RedisDict } = require('./redis-dict')
const { RedisSet } = require('./redis-set')
const { RedisCounters } = require('./redis-counters')
const { fromNodeRedis } = require('./client')
const { syncToRedis, syncStatus } = require('./sync')
const { readSyncedMetrics } = require('./sync-metrics-read')

module.exports = { RedisDict, RedisSet, RedisCounters, fromNodeRedis, syncToRedis, syncStatus, readSyncedMetrics }
