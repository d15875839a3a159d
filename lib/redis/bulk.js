'use strict'
// Bulk operations on a table kept in Redis (getMany, loadMany, addMany,
// storeMany, a set's addMany), with the local semantics (docs/API.md,
// "Bulk"): every key and value is checked, in the local order and with the
// local errors, before anything is sent; keys are taken in order (a key
// given twice changes twice). A read is one HMGET; a write is one entry of
// the table's batch, applied by rmw.lua as one atomic step, exactly once
// like the single operations: it finds or inserts its keys in order, and
// when one does not fit it rejects ERR_ATOMIC_DICT_FULL before any value
// changed, the error's `done` counting the keys before it (found, or
// inserted with value 0) and `inserted[i]` saying which this call inserted.

const { codedError, AtomicDictFullError } = require('../errors')
const { keyCount } = require('../key-cache')
const { valuesArg } = require('../value-args')

/**
 * The hash fields of `keys` (an array), each checked as locally (errors
 * name `keys[i]`); with `strings` (a Map), the string parts' decimal ->
 * string are added to it.
 */
function fieldsOf(codec, keys, strings, n = keyCount(keys)) {
  const fields = new Array(n)
  const found = strings === null ? null : []
  for (let i = 0; i < n; i++) fields[i] = codec.field(keys[i], found, `keys[${i}]`)
  // Reading a key may have run a getter that changed the array: refuse the
  // call before anything is sent, as locally.
  if (keys.length !== n) throw codedError('ERR_INVALID_ARG_VALUE', `keys changed length while the call read them (${n}, now ${keys.length})`, RangeError)
  if (found !== null) for (let i = 0; i < found.length; i += 2) strings.set(found[i], found[i + 1])
  return fields
}

/** The values of `keys` by one HMGET: `absent` for a key not in the table. */
function readMany(table, codec, keys, absent, what) {
  try {
    const fields = fieldsOf(codec, keys, null)
    if (fields.length === 0) return Promise.resolve([])
    return table.read(['HMGET', table.data, ...fields], what, (reply) => {
      const out = new Array(fields.length)
      for (let i = 0; i < out.length; i++) out[i] = reply[i] === null || reply[i] === undefined ? absent : codec.decode(String(reply[i]))
      return out
    })
  } catch (err) {
    return Promise.reject(err)
  }
}

/** The full error of a bulk answer "-" + one flag per key found or inserted. */
function fullError(capacity, answer) {
  const err = new AtomicDictFullError(capacity)
  err.done = answer.length - 1
  err.inserted = new Array(err.done)
  for (let i = 0; i < err.done; i++) err.inserted[i] = answer.charCodeAt(i + 1) === 49 // '1'
  return err
}

/**
 * Queues the bulk write `op` (madd | mswap | mstore | mins, see rmw.lua) of
 * `fields` with `operands` (an array of hex, one per key), or `operand`
 * (hex for every key), and `strings` (Map or null); resolves with
 * `decode(answer)` or rejects ERR_ATOMIC_DICT_FULL.
 */
function writeMany(table, op, fields, operand, operands, strings, what, decode) {
  const count = fields.length
  const args = [op, String(count), operands === null ? operand : '', operands === null ? '' : 'each', String(strings === null ? 0 : strings.size)]
  if (strings !== null) for (const [part, s] of strings) args.push(part, s)
  for (let i = 0; i < count; i++) args.push(fields[i])
  if (operands !== null) for (let i = 0; i < count; i++) args.push(operands[i])
  const capacity = table.capacity
  return table.enqueue(args, what, (answer) => {
    if (answer.charCodeAt(0) === 45) throw fullError(capacity, answer) // '-'
    return decode(answer)
  })
}

/** The values of a bulk answer: `count` fixed-width hex values, concatenated. */
function valuesOf(codec, answer, count) {
  const w = codec.digits
  if (answer.length !== count * w) {
    throw codedError('ERR_ATOMIC_DICT_REDIS', `atomic-dict: Redis answered ${answer.length} characters for ${count} values of ${w} hex digits`)
  }
  const out = new Array(count)
  for (let i = 0; i < count; i++) out[i] = codec.decode(answer.slice(i * w, i * w + w))
  return out
}

/**
 * A dict's read-modify-write of many keys: 'madd' (addMany: resolves with
 * the values before), 'mswap' (the values before) or 'mstore' (undefined).
 * `given` is one value for every key or an array of one per key, checked
 * (before the keys, as locally) and named `name`.
 */
function modifyMany(table, codec, withStrings, op, keys, given, name) {
  try {
    const count = keyCount(keys)
    const each = Array.isArray(given)
    const v = valuesArg(given, count, codec.check, name)
    const strings = withStrings ? new Map() : null
    const fields = fieldsOf(codec, keys, strings, count)
    if (count === 0) return Promise.resolve(op === 'mstore' ? undefined : [])
    // sub is add of the negated delta; the others send the value's bits.
    const hex = (x) => codec.hex(x)
    const decode = op === 'mstore' ? nothing : (answer) => valuesOf(codec, answer, count)
    return writeMany(table, op, fields, each ? '' : hex(v), each ? v.map(hex) : null, strings, op === 'madd' ? 'addMany' : op === 'mswap' ? 'swapMany' : 'storeMany', decode)
  } catch (err) {
    return Promise.reject(err)
  }
}

/** A set's addMany: resolves with, per key, whether this call inserted it. */
function insertMany(table, codec, withStrings, keys) {
  try {
    const count = keyCount(keys)
    const strings = withStrings ? new Map() : null
    const fields = fieldsOf(codec, keys, strings, count)
    if (count === 0) return Promise.resolve([])
    return writeMany(table, 'mins', fields, '', null, strings, 'addMany', (answer) => {
      if (answer.length !== count) throw codedError('ERR_ATOMIC_DICT_REDIS', `atomic-dict: Redis answered ${answer.length} flags for ${count} keys`)
      const out = new Array(count)
      for (let i = 0; i < count; i++) out[i] = answer.charCodeAt(i) === 49
      return out
    })
  } catch (err) {
    return Promise.reject(err)
  }
}

function nothing() {}

/** RedisDict's swap of many keys (not public API: RedisCounters' reset). */
const SWAP_MANY = Symbol('atomic-dict.redis.swapMany')

module.exports = { readMany, modifyMany, insertMany, fieldsOf, SWAP_MANY }
