'use strict'
// The `expect` option of `inherit` and `attach`: the shape the caller
// relies on (and its TypeScript types say), checked against the table that
// is reached before anyone uses it.

const { typeError, rangeError, codedError } = require('./errors')
const { checkOptions, integer, boolean } = require('./options')

/** Fields of `expect` by kind, with the view field each is checked against. */
const FIELDS = {
  dict: { k64: 'k64', k32: 'k32', valueBits: 'valueBits', signed: 'signed', strings: 'stringBytes' },
  set: { k64: 'k64', k32: 'k32', strings: 'stringBytes' },
}

/**
 * Checks the options of `inherit`/`attach` (`{ expect }`) before any table
 * is reached; returns the `expect` object, or undefined when none.
 */
function expectOf(options, kind) {
  if (options === undefined) return undefined
  const what = `${kind === 'dict' ? 'AtomicDict' : 'AtomicSet'}.inherit()/attach()`
  checkOptions(options, ['expect'], what)
  if (options.expect === undefined) return undefined
  const expect = checkOptions(options.expect, Object.keys(FIELDS[kind]), what, 'options.expect')
  integer(expect, 'k64', undefined, 0, 8, 'options.expect')
  integer(expect, 'k32', undefined, 0, 16, 'options.expect')
  integer(expect, 'strings', undefined, 0, 2 ** 30, 'options.expect')
  boolean(expect, 'signed', undefined, 'options.expect')
  if (expect.valueBits !== undefined && expect.valueBits !== 32 && expect.valueBits !== 64) {
    throw (typeof expect.valueBits === 'number' ? rangeError : typeError)('options.expect.valueBits', '32 or 64', expect.valueBits)
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
