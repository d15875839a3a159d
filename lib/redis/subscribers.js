'use strict'
// Subscribers: the pub/sub connection of lib/redis/waits.js, one per client
// object per process, behind one small interface so that waits.js knows no
// client library. `adapter.subscriber(sink)` makes a new connection (a
// duplicate of the client) that calls
//   sink.message(channel, text)   a message published on a subscribed channel
//   sink.reconnected()            the connection dropped and is back, every
//                                 channel subscribed before the drop confirmed
//                                 again (what was published meanwhile is lost)
//   sink.ended(err)               the connection is gone for good (the client
//                                 gave up reconnecting); not after close()
// and answers
//   subscribe(channel)    a Promise settled once the server confirmed it
//                         (SUBSCRIBE; SSUBSCRIBE on a Cluster, on its shard)
//   unsubscribe(channel)  a Promise
//   ref() / unref()       whether its sockets keep the process alive
//   close()               closes it now; no sink call after that
// A standalone server: SUBSCRIBE / PUBLISH; a Cluster: sharded pub/sub
// (SSUBSCRIBE / SPUBLISH, Redis 7.0+), so a notify goes to its shard only.

const { isReplyError } = require('./reply-errors')

/**
 * ioredis: a duplicate of the Redis (autoResubscribe) or Cluster (with
 * `shardedSubscribers: true`). ioredis subscribes its channels again itself
 * when it reconnects; once a subscription of ours on it is confirmed (after
 * ioredis' own, on the same connection), the sink hears `reconnected`.
 */
class IoredisSubscriber {
  #conn
  #sink
  #sharded
  #closed = false
  #referenced = true
  /** The channels subscribed (or being subscribed), to subscribe again after a reconnect. */
  #channels = new Set()
  /** The connection was lost since it last was ready. */
  #lost = false

  constructor(raw, cluster, sink) {
    this.#sink = sink
    this.#sharded = cluster
    const conn = cluster ? raw.duplicate([], { shardedSubscribers: true, lazyConnect: false }) : raw.duplicate({ autoResubscribe: true, lazyConnect: false, enableOfflineQueue: true })
    this.#conn = conn
    const live = () => !this.#closed
    // Without a listener ioredis would print every connection error.
    conn.on('error', nothing)
    conn.on(cluster ? 'smessage' : 'message', (channel, message) => {
      if (live()) sink.message(channel, message)
    })
    conn.on('connect', () => {
      if (live()) this.#apply()
    })
    conn.on('close', () => {
      if (live()) this.#lost = true
    })
    conn.on('ready', () => {
      if (live()) this.#apply()
      if (live() && this.#lost) {
        this.#lost = false
        this.#resubscribed()
      }
    })
    if (cluster) {
      // ioredis' sharded subscribers reconnect on their own; each that comes back is a "+subscriber".
      conn.on('+subscriber', () => {
        if (live()) this.#resubscribed()
      })
    }
    conn.on('end', () => {
      if (!live()) return
      this.#closed = true
      sink.ended(new Error('the subscriber connection was closed'))
    })
  }

  subscribe(channel) {
    this.#channels.add(channel)
    const conn = this.#conn
    return (this.#sharded ? conn.ssubscribe(channel) : conn.subscribe(channel)).then(() => {
      this.#apply() // a Cluster's sockets are made meanwhile
    })
  }

  unsubscribe(channel) {
    this.#channels.delete(channel)
    const conn = this.#conn
    return this.#sharded ? conn.sunsubscribe(channel) : conn.unsubscribe(channel)
  }

  ref() {
    this.#referenced = true
    this.#apply()
  }

  unref() {
    this.#referenced = false
    this.#apply()
  }

  close() {
    if (this.#closed) return
    this.#closed = true
    this.#conn.disconnect()
  }

  #resubscribed() {
    const names = [...this.#channels]
    if (names.length === 0) return
    const conn = this.#conn
    const again = this.#sharded ? Promise.all(names.map((n) => conn.ssubscribe(n))) : conn.subscribe(...names)
    again.then(
      () => {
        if (this.#closed) return
        this.#apply()
        this.#sink.reconnected()
      },
      nothing, // closed again: the next ready tries again
    )
  }

  /** References the sockets or not, as asked last (ioredis has no ref(): its streams are). */
  #apply() {
    if (this.#closed) return
    for (const stream of ioredisStreams(this.#conn)) {
      if (this.#referenced) stream.ref?.()
      else stream.unref?.()
    }
  }
}

/** The sockets of an ioredis Redis (its stream) or Cluster (its nodes' and sharded subscribers'). */
function ioredisStreams(conn) {
  if (conn.stream !== undefined) return conn.stream === null ? [] : [conn.stream]
  const out = []
  const nodes = conn.connectionPool?.getNodes?.('all') ?? []
  for (const node of nodes) if (node?.stream) out.push(node.stream)
  const plain = conn.subscriber?.getInstance?.()?.stream
  if (plain) out.push(plain)
  const group = conn.shardedSubscribers
  const subs = group?.shardedSubscribers ?? group?.subscribers
  if (subs !== undefined && typeof subs.values === 'function') {
    for (const s of subs.values()) {
      const stream = s?.getInstance?.()?.stream
      if (stream) out.push(stream)
    }
  }
  return out
}

/** A subscription lost to a dropped socket is sent again at most this often. */
const MAX_SUBSCRIBE_TRIES = 20

/**
 * `subscribeOnce()` once `connected`, again (up to MAX_SUBSCRIBE_TRIES
 * times) while it fails for a dropped socket (`open()` still true, not a
 * reply error): node-redis does not re-send a SUBSCRIBE whose socket dropped.
 */
function subscribeWithRetries(connected, subscribeOnce, open) {
  let tries = 0
  const attempt = () =>
    connected.then(subscribeOnce).catch((err) => {
      if (!open() || isReplyError(err) || ++tries > MAX_SUBSCRIBE_TRIES) throw err
      return attempt()
    })
  return attempt()
}

/**
 * node-redis, createClient(): `client.duplicate()` (not connected) then
 * `connect()`. `subscribe(channel, listener)` resolves once the server
 * confirmed it (node-redis adds the listener then). When the socket drops,
 * node-redis reconnects (its reconnectStrategy), subscribes every channel
 * that has a listener again and only then says 'ready' (its socket
 * initiator awaits the re-subscriptions): so 'ready' after a drop is
 * `reconnected`. A SUBSCRIBE in flight when the socket dropped is rejected
 * (its listener never added, so node-redis does not re-send it): it is sent
 * again here. When the reconnectStrategy gives up, node-redis emits 'error'
 * with the client no longer open: `ended`. Its ref()/unref() last across
 * reconnects (each new socket is made unreferenced).
 */
class NodeRedisSubscriber {
  #client
  #closed = false
  #referenced = true
  #lost = false
  #connected
  #listener

  constructor(raw, sink) {
    const client = raw.duplicate()
    this.#client = client
    this.#listener = (message, channel) => {
      if (!this.#closed) sink.message(channel, message)
    }
    // node-redis throws an 'error' event nobody listens to.
    client.on('error', (err) => {
      if (this.#closed) return
      this.#lost = true
      if (!client.isOpen) {
        // Its reconnectStrategy gave up: no more reconnection.
        this.#closed = true
        sink.ended(err)
      }
    })
    client.on('reconnecting', () => {
      this.#lost = true
    })
    // unref() before the socket is made is kept for it; between its creation
    // and its 'connect' node-redis would miss it: applied again then.
    client.on('connect', () => this.#apply())
    client.on('ready', () => {
      this.#apply()
      if (this.#closed || !this.#lost) return
      this.#lost = false
      sink.reconnected()
    })
    this.#connected = client.connect()
    this.#connected.catch(nothing)
  }

  subscribe(channel) {
    return subscribeWithRetries(this.#connected, () => this.#client.subscribe(channel, this.#listener), () => !this.#closed && this.#client.isOpen)
  }

  // With the listener: node-redis marks the channel as unsubscribing, so a
  // subscribe right after it sends SUBSCRIBE again (without, it would only
  // add a listener that the UNSUBSCRIBE's reply then drops).
  unsubscribe(channel) {
    return this.#connected.then(() => this.#client.unsubscribe(channel, this.#listener))
  }

  ref() {
    this.#referenced = true
    this.#apply()
  }

  unref() {
    this.#referenced = false
    this.#apply()
  }

  #apply() {
    if (this.#closed) return
    if (this.#referenced) this.#client.ref()
    else this.#client.unref()
  }

  close() {
    if (this.#closed) return
    this.#closed = true
    try {
      this.#client.destroy()
    } catch {
      // not open (any more)
    }
  }
}

/**
 * node-redis, createCluster(): `cluster.duplicate()` (not connected) then
 * `connect()` (a client per master); `sSubscribe(channel, listener)` makes
 * (on first use) a sharded pub/sub client for the channel's master, follows
 * MOVED, and resolves once confirmed; `sUnsubscribe` destroys that client
 * once it has no channel left. Each such client reconnects and subscribes
 * again by itself as above; the cluster reports only its first 'ready'
 * ('node-ready' is a once), so the shard clients' own events are listened
 * to here, found in `cluster._slots` (node-redis internals, v5). A cluster
 * has no ref()/unref(): those of its node clients (masters, replicas,
 * shard pub/sub clients) are called.
 */
class NodeRedisClusterSubscriber {
  #cluster
  #sink
  #closed = false
  #referenced = true
  #connected
  #listener
  /** The shard pub/sub clients already listened to. */
  #seen = new WeakSet()

  constructor(raw, sink) {
    this.#sink = sink
    const cluster = raw.duplicate()
    this.#cluster = cluster
    this.#listener = (message, channel) => {
      if (!this.#closed) sink.message(channel, message)
    }
    cluster.on('error', nothing)
    this.#connected = cluster.connect().then(() => this.#apply())
    this.#connected.catch(nothing)
  }

  subscribe(channel) {
    const once = () => this.#cluster.sSubscribe(channel, this.#listener).then(() => this.#watch())
    return subscribeWithRetries(this.#connected, once, () => !this.#closed && this.#cluster.isOpen)
  }

  unsubscribe(channel) {
    return this.#connected.then(() => this.#cluster.sUnsubscribe(channel, this.#listener))
  }

  ref() {
    this.#referenced = true
    this.#apply()
  }

  unref() {
    this.#referenced = false
    this.#apply()
  }

  close() {
    if (this.#closed) return
    this.#closed = true
    try {
      this.#cluster.destroy()
    } catch {
      // not open (any more)
    }
  }

  /** Listens to the shard pub/sub clients made since last time: a 'ready' after a drop is `reconnected`. */
  #watch() {
    for (const client of this.#shardClients()) {
      if (this.#seen.has(client)) continue
      this.#seen.add(client)
      let lost = false
      client.on('error', () => (lost = true))
      client.on('reconnecting', () => (lost = true))
      client.on('ready', () => {
        this.#apply()
        if (this.#closed || !lost) return
        lost = false
        this.#sink.reconnected()
      })
    }
    this.#apply()
  }

  *#shardClients() {
    for (const master of this.#cluster._slots?.masters ?? []) if (master.pubSub?.client) yield master.pubSub.client
  }

  *#nodeClients() {
    const slots = this.#cluster._slots
    if (slots === undefined) return
    for (const node of [...(slots.masters ?? []), ...(slots.replicas ?? [])]) {
      if (node.client) yield node.client
      if (node.pubSub?.client) yield node.pubSub.client
    }
    if (slots.pubSubNode?.client) yield slots.pubSubNode.client
  }

  #apply() {
    if (this.#closed) return
    for (const client of this.#nodeClients()) {
      if (this.#referenced) client.ref?.()
      else client.unref?.()
    }
  }
}

function nothing() {}

module.exports = { IoredisSubscriber, NodeRedisSubscriber, NodeRedisClusterSubscriber }
