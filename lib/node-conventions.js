'use strict'
// What makes the API's objects behave like Node's own: `using` (the
// dispose symbol), util.inspect output, JSON, and refusing structured clone.

const { markAsUncloneable } = require('node:worker_threads')
const { inspect } = require('node:util')

/** Symbol.dispose, or on a Node without it the symbol Node itself uses then. */
const DISPOSE = Symbol.dispose ?? Symbol.for('nodejs.dispose')
/** Symbol.asyncDispose (`await using`), or Node's own symbol where the runtime lacks it. */
const ASYNC_DISPOSE = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')

/** util.inspect's hook. */
const INSPECT = inspect.custom

/**
 * What an object's [util.inspect.custom](depth, options) returns: `name(what())`,
 * or `[name]` below the depth util.inspect goes to, as Node prints objects there.
 */
function inspected(name, depth, options, what) {
  if (depth < 0) return options.stylize(`[${name}]`, 'special')
  return `${name}(${what()})`
}

/** A value as util.inspect shows it, with the caller's options (colors, numericSeparator). */
function shown(value, options) {
  return inspect(value, { ...options, depth: options.depth === null ? null : options.depth - 1 })
}

/** A value's type: u64, i64, u32 or i32. */
function valueType(bits, signed) {
  return `${signed ? 'i' : 'u'}${bits}`
}

/** A key's shape: `1 x u64`, `2 x u64 + 1 x u32`. */
function keyShape(k64, k32) {
  const parts = []
  if (k64 > 0) parts.push(`${k64} x u64`)
  if (k32 > 0) parts.push(`${k32} x u32`)
  return parts.join(' + ')
}

/** A value or key part for JSON: a bigint as its decimal string, anything else as it is. */
function jsonValue(v) {
  return typeof v === 'bigint' ? v.toString() : v
}

/** A key for JSON: each part as jsonValue (a composite key stays an array). */
function jsonKey(key) {
  return Array.isArray(key) ? key.map(jsonValue) : jsonValue(key)
}

/**
 * Makes structured clone (workerData, postMessage, structuredClone) throw
 * for `object` (a table, slot, counters, latch, semaphore or store), which
 * would otherwise arrive as an empty object: worker_threads.markAsUncloneable
 * where Node has it (22.10+), else an enumerable own property holding a
 * function, whose source V8 quotes in the DataCloneError (V8 shortens a
 * longer source).
 */
function refuseCloning(object) {
  if (markAsUncloneable !== undefined) markAsUncloneable(object)
  else Object.defineProperty(object, 'notClonable', { value: notClonable, enumerable: true })
}
// prettier-ignore
function notClonable() { /* an atomic-dict object: post table.share() and attach() it in the thread */ }

module.exports = { refuseCloning, DISPOSE, ASYNC_DISPOSE, INSPECT, inspected, shown, valueType, keyShape, jsonValue, jsonKey }
