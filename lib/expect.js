'use strict'
// The `expect` option of `inherit` and `attach`: the shape the caller
// relies on (and its TypeScript types say), checked against the table that
// is reached before anyone uses it.

const { typeError, rangeError, codedError } = require('./errors')

/** Fields of `expect` by kind, with the view field each is checked against. */
const FIELDS = {
  dict: { k64: 'k64', k32: 'k32', valueBits: 'valueBits', signed: 'signed', strings: 'stringBytes' },
  set: { k64: 'k64', k32: 'k32', strings: 'stringBytes' },
}

function unknownKey(name, key, allowed) {
  return codedError('ERR_INVALID_ARG_VALUE', `${name}.${key} is not known (known: ${allowed.join(', ')})`, TypeError)
}

function integerField(expect, key, min, max) {
  const v = expect[key]
  if (typeof v !== 'number') throw typeError(`options.expect.${key}`, 'a number', v)
  if (!Number.isInteger(v) || v < min || v > max) throw rangeError(`options.expect.${key}`, `an integer from ${min} to ${max}`, v)
}

/**
 * Checks the options of `inherit`/`attach` (`{ expect }`) before any table
 * is reached; returns the `expect` object, or undefined when none.
 */
function expectOf(options, kind) {
  if (options === undefined) return undefined
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object', options)
  for (const key of Object.keys(options)) if (key !== 'expect') throw unknownKey('options', key, ['expect'])
  const expect = options.expect
  if (expect === undefined) return undefined
  if (expect === null || typeof expect !== 'object') throw typeError('options.expect', 'an object', expect)
  const allowed = Object.keys(FIELDS[kind])
  for (const key of Object.keys(expect)) {
    if (!allowed.includes(key)) throw unknownKey('options.expect', key, allowed)
    if (expect[key] === undefined) continue
    if (key === 'k64') integerField(expect, key, 0, 8)
    else if (key === 'k32') integerField(expect, key, 0, 16)
    else if (key === 'strings') integerField(expect, key, 0, 2 ** 30)
    else if (key === 'signed' && typeof expect.signed !== 'boolean') throw typeError('options.expect.signed', 'a boolean', expect.signed)
    else if (key === 'valueBits' && expect.valueBits !== 32 && expect.valueBits !== 64) {
      throw (typeof expect.valueBits === 'number' ? rangeError : typeError)('options.expect.valueBits', '32 or 64', expect.valueBits)
    }
  }
  return expect
}

/**
 * The differences between the table `parts` reached and `expect`, one
 * string each (empty when it matches).
 */
function differences(parts, expect, kind) {
  const out = []
  for (const [key, field] of Object.entries(FIELDS[kind])) {
    if (expect[key] !== undefined && parts.view[field] !== expect[key]) out.push(`${key} ${parts.view[field]} (expected ${expect[key]})`)
  }
  return out
}

/**
 * Returns `parts` when the table matches `expect` (or there is none); else
 * closes it again and throws ERR_ATOMIC_DICT_GEOMETRY naming each difference.
 */
function checkExpect(parts, expect, kind, what, close) {
  if (expect === undefined) return parts
  const diffs = differences(parts, expect, kind)
  if (diffs.length === 0) return parts
  close(parts)
  throw codedError('ERR_ATOMIC_DICT_GEOMETRY', `atomic-dict: ${what} is not the table expected: ${diffs.join(', ')}`)
}

module.exports = { expectOf, checkExpect }
