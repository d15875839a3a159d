'use strict'
// The Redis clients atomic-dict talks through, behind one small interface:
//   send(args)             one command (an array of strings), reply decoded as text
//   script(s, keys, args, whole)  a Lua script by SHA (EVALSHA), loaded again on
//                          NOSCRIPT; sent whole (EVAL) at once when `whole`
//   duplicate()            a new connection of the same kind
//   subscriber(sink)       a new pub/sub connection for waits (lib/redis/waits.js),
//                          see "Subscribers" below
// ioredis (Redis and Cluster) is used as is; node-redis (`redis` v4/v5:
// createClient, createCluster) through `fromNodeRedis` (docs/REDIS.md).
// Errors: a reply error from the server stays what it is (a ReplyError);
// anything else (the connection closed, a retry limit reached, no node
// reachable) is a connection error (commandError in redis-table.js).

const { typeError, codedError } = require('../errors')
const { isReplyError, isNoScript } = require('./reply-errors')
const { IoredisSubscriber, NodeRedisSubscriber, NodeRedisClusterSubscriber } = require('./subscribers')

/**
 * ioredis with `autoResendUnfulfilledCommands: false` drops the commands
 * whose reply was lost at a reconnect without settling their promises (its
 * ready handler forgets them), unless `maxRetriesPerRequest: 0` rejected
 * them first: an operation would hang forever. Refused up front; the
 * default (re-send) is safe here, the scripts answering a re-sent batch
 * with its first answers.
 */
function checkIoredisOptions(client) {
  const o = client.isCluster === true ? client.options?.redisOptions : client.options
  if (o === undefined || o === null) return
  if (o.commandTimeout !== undefined && o.commandTimeout !== null) {
    // A timed-out command is rejected but stays queued, and ioredis may send
    // it again later: applied after its retry was answered (twice), or
    // after batches issued behind it (out of order).
    throw codedError(
      'ERR_INVALID_ARG_VALUE',
      'an ioredis client with commandTimeout rejects commands that it may still send (again) later; atomic-dict cannot keep operations exactly once and in order with it: use a client without commandTimeout (waitAsync has its own timeout)',
      TypeError,
    )
  }
  if (o.autoResendUnfulfilledCommands === false && o.maxRetriesPerRequest !== 0) {
    throw codedError(
      'ERR_INVALID_ARG_VALUE',
      'an ioredis client with autoResendUnfulfilledCommands: false loses the commands in flight at a reconnect without settling them; leave it on (atomic-dict answers a re-sent batch with its first answers) or set maxRetriesPerRequest: 0',
      TypeError,
    )
  }
}

class IoredisClient {
  constructor(client) {
    checkIoredisOptions(client)
    this.client = client
    this.cluster = client.isCluster === true
  }

  // Arguments go as arrays, which ioredis flattens: spread into a call, a
  // bulk operation's hundreds of thousands of arguments overflow the stack.
  send(args) {
    return this.client.call(args[0], args.slice(1))
  }

  script(s, keys, args, whole = false) {
    // ioredis flattens array arguments one level: no spread copies.
    if (whole) return this.client.eval(s.source, keys.length, keys, args)
    return this.client.evalsha(s.sha, keys.length, keys, args).catch((err) => {
      if (!isNoScript(err)) throw err
      return this.client.eval(s.source, keys.length, keys, args)
    })
  }

  duplicate() {
    return new IoredisClient(this.client.duplicate())
  }

  subscriber(sink) {
    return new IoredisSubscriber(this.client, this.cluster, sink)
  }
}

/**
 * node-redis (package `redis`, v4 or v5): a client of `createClient()` or a
 * cluster of `createCluster()`, connected. Commands go through
 * `sendCommand`; a cluster's need the first key to find their node.
 */
class NodeRedisClient {
  constructor(client) {
    this.client = client
    /** The connect() of a duplicate, until it settles (a cluster cannot route before it). */
    this.connecting = null
    // A cluster's sendCommand is (firstKey, isReadonly, args).
    this.cluster = typeof client.getSlotMaster === 'function' || typeof client.getMasters === 'function' || Array.isArray(client.masters)
  }

  send(args, key = args[1]) {
    if (this.connecting !== null) return this.connecting.then(() => this.send(args, key))
    return this.cluster ? this.client.sendCommand(key, false, args.map(String)) : this.client.sendCommand(args.map(String))
  }

  script(s, keys, args, whole = false) {
    const send = (cmd, first) => this.send([cmd, first, String(keys.length), ...keys, ...args], keys[0])
    if (whole) return send('EVAL', s.source)
    return send('EVALSHA', s.sha).catch((err) => {
      if (!isNoScript(err)) throw err
      return send('EVAL', s.source)
    })
  }

  /**
   * node-redis' duplicate() is not connected (its commands reject with
   * ClientClosedError): this one is connecting (commands wait for it); a
   * failed connect surfaces as the commands' errors.
   */
  duplicate() {
    const client = this.client.duplicate()
    client.on('error', () => {}) // node-redis throws an 'error' event nobody listens to
    const adapter = new NodeRedisClient(client)
    adapter.connecting = client.connect().then(
      () => {
        adapter.connecting = null
      },
      () => {
        adapter.connecting = null
      },
    )
    return adapter
  }

  subscriber(sink) {
    return this.cluster ? new NodeRedisClusterSubscriber(this.client, sink) : new NodeRedisSubscriber(this.client, sink)
  }
}

/** The adapter for `client`: an ioredis Redis or Cluster, or one `fromNodeRedis` made. */
function adapt(client) {
  if (client instanceof NodeRedisClient) return client
  if (client !== null && typeof client === 'object' && typeof client.evalsha === 'function' && typeof client.call === 'function' && typeof client.duplicate === 'function') {
    return new IoredisClient(client)
  }
  if (client !== null && typeof client === 'object' && typeof client.sendCommand === 'function') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'client looks like a node-redis client: pass fromNodeRedis(client) (atomic-dict/redis)', TypeError)
  }
  throw typeError('client', 'an ioredis Redis or Cluster client, or fromNodeRedis(client)', client)
}

/** Wraps a node-redis client or cluster (v4/v5), connected, for RedisDict and friends. */
function fromNodeRedis(client) {
  if (client === null || typeof client !== 'object' || typeof client.sendCommand !== 'function' || typeof client.duplicate !== 'function') {
    throw typeError('client', 'a node-redis client or cluster (createClient/createCluster)', client)
  }
  return new NodeRedisClient(client)
}

/**
 * An HGETALL reply through `send` as a Map of strings: ioredis' call answers
 * a flat array, node-redis may answer an object.
 */
function hashReply(r) {
  const flat = Array.isArray(r) ? r : Object.entries(r ?? {}).flat()
  const out = new Map()
  for (let i = 0; i < flat.length; i += 2) out.set(String(flat[i]), String(flat[i + 1]))
  return out
}

module.exports = { adapt, fromNodeRedis, isReplyError, hashReply, NodeRedisClient }
