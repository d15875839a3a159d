'use strict'
// The per-process cache of keys given as arrays (`[route, code]`), in front
// of the native core. An entry holds a key's parts exactly as the caller gave
// them (numbers, bigints, strings) and the slot the core found for them; a
// lookup compares the parts with ===, so a hit needs no checks (only keys the
// core has checked are stored, and === holds only for the same type and
// value) and allocates nothing. 5 and 5n are the same key but get separate
// entries.
//
// The index comes from a cheap hash of the parts: a number's low 32 bits, a
// bigint's two halves (through a BigUint64Array, without BigInt
// arithmetic), and for a string its length and its first and last
// characters (JS gives no access to the hash V8 keeps in a string; hashing
// every character would cost more than the cache saves). Strings alike in
// those collide; the cache is two-way, so two such keys share a set without
// evicting each other, and a third only costs misses (a call into the
// core), never a wrong slot.
//
// Keys of two and of three parts (the usual composite keys) have classes
// with the parts in separate arrays and the loops unrolled; other counts
// share a generic one.

const SPLIT64 = new BigUint64Array(1)
const SPLIT32 = new Uint32Array(SPLIT64.buffer)

function partHash(v) {
  if (typeof v === 'string') {
    const n = v.length
    return n === 0 ? 0 : Math.imul(n, 0x9e3779b1) ^ v.charCodeAt(0) ^ (v.charCodeAt(n - 1) << 8)
  }
  if (typeof v === 'number') return v | 0
  if (typeof v === 'bigint') {
    SPLIT64[0] = v
    return SPLIT32[0] ^ Math.imul(SPLIT32[1], 0x85ebca6b)
  }
  return 0
}

/** The index of a set (its first entry) for hash `h`, under `mask`. */
function setOf(h, mask) {
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b)
  return (h ^ (h >>> 13)) & mask
}

const MIX = 0x9e3779b1

// Every class: `get(key)` (an array of any length) gives the cached slot or
// -1; `set(key, slot)` caches a checked key of `count` parts that the caller
// does not change. Empty entries hold 0 parts, which no valid key has, and
// slot -1. The newest entry of a set goes first, the one it displaces
// second.

class Parts2 {
  constructor(entries) {
    this.mask = (entries - 1) & ~1
    this.p0 = new Array(entries).fill(0)
    this.p1 = new Array(entries).fill(0)
    this.slots = new Float64Array(entries).fill(-1)
  }

  /** The set a key of two parts (read once, first) belongs to. */
  index(key) {
    return setOf(Math.imul(partHash(key[0]), MIX) ^ partHash(key[1]), this.mask)
  }

  get(key) {
    if (key.length !== 2) return -1
    // Each part is read once, before anything else: a getter that runs
    // meanwhile (and changes the cache) cannot mix two keys' parts.
    const a = key[0]
    const b = key[1]
    const e = setOf(Math.imul(partHash(a), MIX) ^ partHash(b), this.mask)
    if (this.p0[e] === a && this.p1[e] === b) return this.slots[e]
    if (this.p0[e + 1] === a && this.p1[e + 1] === b) return this.slots[e + 1]
    return -1
  }

  set(key, slot) {
    const a = key[0]
    const b = key[1]
    const e = this.index(key)
    this.p0[e + 1] = this.p0[e]
    this.p1[e + 1] = this.p1[e]
    this.slots[e + 1] = this.slots[e]
    this.p0[e] = a
    this.p1[e] = b
    this.slots[e] = slot
  }
}

class Parts3 {
  constructor(entries) {
    this.mask = (entries - 1) & ~1
    this.p0 = new Array(entries).fill(0)
    this.p1 = new Array(entries).fill(0)
    this.p2 = new Array(entries).fill(0)
    this.slots = new Float64Array(entries).fill(-1)
  }

  /** The set a key of three parts belongs to. */
  index(key) {
    return setOf(Math.imul(Math.imul(partHash(key[0]), MIX) ^ partHash(key[1]), MIX) ^ partHash(key[2]), this.mask)
  }

  get(key) {
    if (key.length !== 3) return -1
    // Each part is read once, before anything else (as in Parts2).
    const a = key[0]
    const b = key[1]
    const c = key[2]
    const e = setOf(Math.imul(Math.imul(partHash(a), MIX) ^ partHash(b), MIX) ^ partHash(c), this.mask)
    if (this.p0[e] === a && this.p1[e] === b && this.p2[e] === c) return this.slots[e]
    if (this.p0[e + 1] === a && this.p1[e + 1] === b && this.p2[e + 1] === c) return this.slots[e + 1]
    return -1
  }

  set(key, slot) {
    const a = key[0]
    const b = key[1]
    const c = key[2]
    const e = this.index(key)
    this.p0[e + 1] = this.p0[e]
    this.p1[e + 1] = this.p1[e]
    this.p2[e + 1] = this.p2[e]
    this.slots[e + 1] = this.slots[e]
    this.p0[e] = a
    this.p1[e] = b
    this.p2[e] = c
    this.slots[e] = slot
  }
}

class PartsN {
  constructor(count, entries) {
    this.count = count
    this.mask = (entries - 1) & ~1
    this.parts = new Array(entries * count).fill(0)
    this.slots = new Float64Array(entries).fill(-1)
    // A lookup's parts, read once; `busy` while they are being read, so a
    // lookup made from a getter meanwhile misses instead of reusing them.
    this.given = new Array(count).fill(0)
    this.busy = false
  }

  index(key) {
    let h = 0
    for (let i = 0; i < this.count; i++) h = Math.imul(h, MIX) ^ partHash(key[i])
    return setOf(h, this.mask)
  }

  same(entry, key) {
    const base = entry * this.count
    for (let i = 0; i < this.count; i++) if (this.parts[base + i] !== key[i]) return false
    return true
  }

  get(key) {
    if (key.length !== this.count || this.busy) return -1
    const given = this.given
    this.busy = true
    try {
      for (let i = 0; i < this.count; i++) given[i] = key[i]
    } finally {
      this.busy = false
    }
    const e = this.index(given)
    if (this.same(e, given)) return this.slots[e]
    if (this.same(e + 1, given)) return this.slots[e + 1]
    return -1
  }

  set(key, slot) {
    const e = this.index(key)
    const parts = this.parts
    const base = e * this.count
    for (let i = 0; i < this.count; i++) {
      parts[base + this.count + i] = parts[base + i]
      parts[base + i] = key[i]
    }
    this.slots[e + 1] = this.slots[e]
    this.slots[e] = slot
  }
}

/** A cache for keys of `count` parts with `entries` (a power of two, at least 2) entries. */
function partsCache(count, entries) {
  if (count === 2) return new Parts2(entries)
  if (count === 3) return new Parts3(entries)
  return new PartsN(count, entries)
}

module.exports = { partsCache, partHash }
