'use strict'
// The per-process cache of keys given as arrays (`[route, code]`), in front
// of the native core. An entry holds a key's parts exactly as the caller gave
// them (numbers, bigints, strings) and the slot the core found for them; a
// lookup compares the parts with ===, so a hit needs no checks (only keys the
// core has checked are stored, and === holds only for the same type and
// value) and allocates nothing. 5 and 5n are the same key but get separate
// entries.
//
// The index comes from a cheap hash of the parts: a number's 32-bit halves,
// a bigint's (through a BigUint64Array, without BigInt arithmetic), and for
// a string its length and four of its characters (JS gives no access to the
// hash V8 keeps in a string; hashing every character would cost more than
// the cache saves). Strings alike in those characters collide; the cache is
// two-way, so two such keys share a set without evicting each other, and a
// third only costs misses (a call into the core), never a wrong slot.

const SPLIT64 = new BigUint64Array(1)
const SPLIT32 = new Uint32Array(SPLIT64.buffer)

function partHash(v) {
  switch (typeof v) {
    case 'number':
      return (v | 0) ^ Math.imul((v / 4294967296) | 0, 0x85ebca6b)
    case 'string': {
      const n = v.length
      if (n === 0) return 0
      return Math.imul(n, 0x9e3779b1) ^ v.charCodeAt(0) ^ (v.charCodeAt(n - 1) << 8) ^ (v.charCodeAt(n >> 1) << 16) ^ (v.charCodeAt((3 * n) >> 2) << 24)
    }
    case 'bigint':
      SPLIT64[0] = v
      return SPLIT32[0] ^ Math.imul(SPLIT32[1], 0x85ebca6b)
    default:
      return 0
  }
}

class PartsCache {
  /** A cache for keys of `count` parts with `entries` (a power of two, at least 2) entries. */
  constructor(count, entries) {
    this.count = count
    // Sets of two entries: the index of a set's first.
    this.mask = (entries - 1) & ~1
    // Empty entries hold 0 parts, which no valid key has, and slot -1.
    this.parts = new Array(entries * count).fill(0)
    this.slots = new Float64Array(entries).fill(-1)
  }

  index(key) {
    let h = 0
    for (let i = 0; i < this.count; i++) h = Math.imul(h ^ partHash(key[i]), 0x9e3779b1) ^ (h >>> 15)
    return (h ^ (h >>> 16)) & this.mask
  }

  same(entry, key) {
    const base = entry * this.count
    for (let i = 0; i < this.count; i++) if (this.parts[base + i] !== key[i]) return false
    return true
  }

  /** The slot cached for `key` (an array), or -1. */
  get(key) {
    if (key.length !== this.count) return -1
    const e = this.index(key)
    if (this.same(e, key)) return this.slots[e]
    if (this.same(e + 1, key)) return this.slots[e + 1]
    return -1
  }

  /** Caches `slot` for `key`, a checked key (an array of `count` parts) the caller does not change. */
  set(key, slot) {
    const e = this.index(key)
    const parts = this.parts
    const base = e * this.count
    // The newest entry goes first; the one it displaces moves to second.
    for (let i = 0; i < this.count; i++) {
      parts[base + this.count + i] = parts[base + i]
      parts[base + i] = key[i]
    }
    this.slots[e + 1] = this.slots[e]
    this.slots[e] = slot
  }
}

module.exports = { PartsCache }
