'use strict'
// The per-process key cache in front of a table view. A key's row never
// changes once inserted (keys are never removed, the table never grows), so a
// row found once is valid for ever, in every process: the cache never needs
// invalidating, only bounding.

const { KeyCodec } = require('./keys')
const { closedError } = require('./errors')

/** Entries kept per table and process before the cache starts over. */
const CACHE_LIMIT = 1 << 17

class Keyed {
  /**
   * `toSlot(row)` maps a row to what callers want cached for it (a dict
   * caches the index of the row's value in its values view).
   */
  constructor(view, toSlot) {
    this.view = view
    this.codec = new KeyCodec(view.k64, view.k32)
    this.toSlot = toSlot
    // One-part keys given bare (numbers, bigints) are their own cache keys.
    this.bare = new Map()
    // Keys given as arrays are cached under their parts joined by commas.
    this.joined = new Map()
  }

  /**
   * The cached slot of `key`, finding it (and inserting it when `insert`)
   * on a miss; -1 when absent and not inserting. Throws TypeError/RangeError
   * for a bad key before anything changes. `view.inserted` is set only when
   * the table was searched (a cache miss); see AtomicSet#add.
   */
  slot(key, insert) {
    const hit = this.bare.get(key)
    return hit !== undefined ? hit : this.miss(key, insert)
  }

  miss(key, insert) {
    const parts = this.codec.parts(key)
    const array = Array.isArray(key)
    let cacheKey = key
    if (array) {
      cacheKey = parts.join(',')
      const hit = this.joined.get(cacheKey)
      if (hit !== undefined) return hit
    }
    const row = this.view.locate(parts, insert)
    if (row < 0) return -1
    const slot = this.toSlot(row)
    const cache = array ? this.joined : this.bare
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(cacheKey, slot)
    return slot
  }

  /** Whether `key` (given bare) is in this process's cache. */
  has(key) {
    return this.bare.has(key)
  }

  /** Live iteration over complete keys: [user-facing key, row] pairs. */
  *rows() {
    const view = this.view
    for (let row = 0; row < view.rows; row++) {
      const parts = view.readKey(row)
      if (parts !== null) yield [this.codec.fromParts(parts), row]
    }
  }
}

/** What a closed table's methods reach: everything throws ERR_ATOMIC_DICT_CLOSED. */
class ClosedKeys {
  slot() {
    throw closedError()
  }

  miss() {
    throw closedError()
  }

  has() {
    throw closedError()
  }

  rows() {
    throw closedError()
  }
}

module.exports = { Keyed, ClosedKeys, CACHE_LIMIT }
