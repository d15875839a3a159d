'use strict'
// String keys: a string stands for the 64-bit key part
// SipHash-2-4("atomic-dict:str1", UTF-8 bytes), 0 replaced by 1 (docs/FORMAT.md,
// "String keys"). The hash is computed by the native core
// (src/core/string_key.rs), the one implementation; this module checks the
// argument and remembers recent results.

const binding = require('./binding')
const native = require('./native')
const { typeError, codedError } = require('./errors')

/** Recent results; cleared when it reaches this many entries. */
const MEMO_LIMIT = 1 << 14
const memo = new Map()

/** Throws unless `s` is a string that can be a key (checks only). */
function checkString(s, name) {
  if (typeof s !== 'string') throw typeError(name, 'a string', s)
  if (!s.isWellFormed()) {
    throw codedError('ERR_INVALID_ARG_VALUE', `${name} must be a well-formed string, got one with a lone surrogate`, TypeError)
  }
}

/** The key part (a bigint in [1, 2^64)) that the string `s` stands for. */
function stringKey(s, name = 'key') {
  const known = memo.get(s)
  if (known !== undefined) return known
  checkString(s, name)
  return hashed(s)
}

/** The native hash of a checked string not in the memo, remembered. */
function hashed(s) {
  const k = native.call(binding.stringKey, s)
  if (memo.size >= MEMO_LIMIT) memo.clear()
  memo.set(s, k)
  return k
}

/** The key part of the string `s`, or null when it cannot be a key (a lone surrogate). */
function stringPart(s) {
  const known = memo.get(s)
  if (known !== undefined) return known
  return s.isWellFormed() ? hashed(s) : null
}

module.exports = { stringKey, stringPart, checkString }
