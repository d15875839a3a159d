'use strict'
// atomic-dict on Redis: require('atomic-dict/redis') (docs/REDIS.md).

const { RedisDict } = require('./redis-dict')
const { fromNodeRedis } = require('./client')

module.exports = { RedisDict, fromNodeRedis }
