'use strict'
// `sync.totals` (docs/SYNC.md, "Reading the totals"): this process's table
// of the totals in Redis, pulled by version. sync.lua gives every batch a
// version (the larger of the last + 1 and Redis' clock in µs) and records
// each field it changed with it in "{t}:c", so a pull reads only the fields
// changed since the version it holds. A pull also reads every host's last
// batch: when one went back, or the version did, or a batch counted a gap,
// Redis lost data, and the pull takes everything again.

const { AtomicDict } = require('../atomic-dict')
const { AtomicDictFullError } = require('../errors')
const { hashReply } = require('./client')
const { MAX_BATCH_KEYS } = require('./sync-rows')

/** Fields a pull asks for at once: more than a batch (one version) has, so paging by version moves on. */
const PULL_PAGE = 2 * MAX_BATCH_KEYS

/** Fields an HMGET asks for at once. */
const READ_CHUNK = 10_000

const HOST = /^[0-9a-f]{16}$/

class SyncTotals {
  #table
  #codec
  #keys
  #k64
  /** The version held: every field changed at or before it is in the table. */
  #version = 0
  /** The gaps counter ("e" in {t}:h) as of the last pull, or null before one. */
  #epoch = null
  /** Each host's last batch as of the last pull (host -> seq). */
  #hostSeqs = new Map()
  /** The error of the totals left out of a full table (kept: it stays full). */
  full = null

  /**
   * `shape`: the totals' (64-bit values, the synced table's keys); `codec`
   * its RedisCodec; `keys`: the sync's Redis keys ({t}:d, {t}:h, {t}:c, and
   * {t}:s when keys keep strings).
   */
  constructor(capacity, shape, codec, keys) {
    this.#table = new AtomicDict(capacity, shape)
    this.#codec = codec
    this.#keys = keys
    this.#k64 = shape.k64
  }

  get table() {
    return this.#table
  }

  /** Pulls what changed; `send(args)` runs one command (with the sync's timeout, failures coded). */
  async refresh(send) {
    const [data, hosts, changes] = this.#keys
    const record = hashReply(await send(['HGETALL', hosts]))
    const now = Number(record.get('v') ?? 0)
    const epoch = record.get('e') ?? '0'
    let full = now < this.#version || (this.#epoch !== null && epoch !== this.#epoch)
    for (const [host, seq] of this.#hostSeqs) if (Number(record.get(host) ?? 0) < seq) full = true
    this.#hostSeqs = new Map()
    for (const [f, value] of record) if (HOST.test(f)) this.#hostSeqs.set(f, Number(value))
    if (full) this.#version = 0
    else if (now === this.#version) return
    let skipped = 0
    const seen = full ? new Set() : null
    let from = `(${this.#version}`
    for (;;) {
      // [field, score, ...], or [[field, score], ...] from clients that pair them.
      const page = (await send(['ZRANGEBYSCORE', changes, from, String(now), 'WITHSCORES', 'LIMIT', '0', String(PULL_PAGE)])).flat()
      const fields = []
      for (let i = 0; i < page.length; i += 2) fields.push(String(page[i]))
      const strings = this.#keys.length > 3 ? await this.#stringsOf(fields, send) : null
      for (let at = 0; at < fields.length; at += READ_CHUNK) {
        const some = fields.slice(at, at + READ_CHUNK)
        const values = await send(['HMGET', data, ...some])
        for (let i = 0; i < some.length; i++) {
          if (values[i] === null) continue
          if (seen !== null) seen.add(some[i])
          if (!this.#store(this.#codec.keyOf(some[i], strings), this.#codec.decode(String(values[i])))) skipped++
        }
      }
      if (page.length < 2 * PULL_PAGE) break
      // From the last version seen, included: its other fields come again
      // (a version is one batch, fewer fields than a page), none is skipped.
      from = String(page[page.length - 1])
    }
    // A full pull: the totals Redis no longer has go back to 0 (the table keeps its keys).
    if (seen !== null) for (const [key] of this.#table) if (!seen.has(this.#codec.field(key))) this.#table.store(key, 0n)
    this.#version = now
    this.#epoch = epoch
    if (skipped > 0) {
      const err = new AtomicDictFullError(this.#table.capacity)
      err.message += ` (the totals table: ${skipped} total(s) left out; give syncToRedis a larger totalsCapacity: it holds the keys of every host)`
      this.full = err
    }
  }

  /** Stores a total; false when the table had no room for its key. */
  #store(key, value) {
    try {
      this.#table.store(key, value)
      return true
    } catch (err) {
      if (!(err instanceof AtomicDictFullError)) throw err
      return false
    }
  }

  /** The strings of the 64-bit parts of `fields`, as a Map (decimal part -> string). */
  async #stringsOf(fields, send) {
    const parts = new Set()
    for (const f of fields) for (const p of f.split(':').slice(0, this.#k64)) parts.add(p)
    const list = [...parts]
    if (list.length === 0) return new Map()
    const found = await send(['HMGET', this.#keys[3], ...list])
    const out = new Map()
    for (let i = 0; i < list.length; i++) if (found[i] !== null && found[i] !== '') out.set(list[i], String(found[i]))
    return out
  }

  close() {
    this.#table.close()
  }
}

module.exports = { SyncTotals }
