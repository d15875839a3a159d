'use strict'
// Checking options objects: the one place that knows how an option is
// checked (unknown names, integers, booleans) and what makes a table.

const { MAX_CAPACITY, MIN_STRING_BYTES, MAX_STRING_BYTES } = require('./format')
const { typeError, rangeError, codedError } = require('./errors')

/**
 * `options` (undefined: {}) after checking it is an object whose own keys
 * are all in `known`: an unknown name is a TypeError with Node's
 * ERR_INVALID_ARG_VALUE (the argument has the right type, an object, but a
 * value that is not allowed), naming it and the known ones, and the right
 * spelling when it differs only in case. `what` names the call, `name`
 * the argument (for nested options, e.g. 'options.expect').
 */
function checkOptions(options, known, what, name = 'options') {
  options = object(options, name)
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase())
    const hint = near === undefined ? '' : `; did you mean ${JSON.stringify(near)}?`
    throw codedError(
      'ERR_INVALID_ARG_VALUE',
      `${name}.${key} is not an option of ${what} (they are: ${known.join(', ')})${hint}`,
      TypeError,
    )
  }
  return options
}

function capacity(v) {
  if (typeof v !== 'number') throw typeError('capacity', 'a number', v)
  if (!Number.isInteger(v) || v < 1 || v > MAX_CAPACITY) throw rangeError('capacity', 'an integer from 1 to 2^31', v)
  return v
}

/** `options[key]`, an integer in [min, max], or `fallback` when left out; `name` is the argument's. */
function integer(options, key, fallback, min, max, name = 'options') {
  const v = options[key]
  if (v === undefined) return fallback
  if (typeof v !== 'number') throw typeError(`${name}.${key}`, 'a number', v)
  if (!Number.isInteger(v) || v < min || v > max) throw rangeError(`${name}.${key}`, `an integer from ${min} to ${max}`, v)
  return v
}

/** `options[key]`, a boolean, or `fallback` when left out; `name` is the argument's. */
function boolean(options, key, fallback, name = 'options') {
  const v = options[key]
  if (v === undefined) return fallback
  if (typeof v !== 'boolean') throw typeError(`${name}.${key}`, 'a boolean', v)
  return v
}

/** The string area's size in bytes (docs/FORMAT.md, "String area"): 0 (none, the default) or a multiple of 8 from 64 to 2^30. */
function strings(options) {
  const v = options.strings
  if (v === undefined) return 0
  if (typeof v !== 'number') throw typeError('options.strings', 'a number', v)
  if (!Number.isInteger(v) || (v !== 0 && (v < MIN_STRING_BYTES || v > MAX_STRING_BYTES || v % 8 !== 0))) {
    throw rangeError('options.strings', '0 or a multiple of 8 from 64 to 2^30', v)
  }
  return v
}

function object(options, name = 'options') {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object') throw typeError(name, 'an object', options)
  return options
}

/** A row must fit a 64-byte block: 8 bytes a 64-bit part, 4 a 32-bit part, the value aligned. */
function keyShape(options, valueBytes) {
  const k64 = integer(options, 'k64', 1, 0, 8)
  const k32 = integer(options, 'k32', 0, 0, 16)
  if (k64 + k32 === 0) throw codedError('ERR_OUT_OF_RANGE', 'options.k64 + options.k32 must be at least 1, got 0', RangeError)
  const keyBytes = 8 * k64 + 4 * k32
  const valueOffset = valueBytes ? Math.ceil(keyBytes / valueBytes) * valueBytes : keyBytes
  const rowBytes = Math.ceil((valueOffset + valueBytes) / (k64 > 0 || valueBytes === 8 ? 8 : 4)) * (k64 > 0 || valueBytes === 8 ? 8 : 4)
  if (rowBytes > 64) {
    throw codedError('ERR_OUT_OF_RANGE', `options.k64 and options.k32 make a ${rowBytes}-byte row; a row must fit in 64 bytes`, RangeError)
  }
  return { k64, k32 }
}

const DICT_OPTIONS = ['k64', 'k32', 'valueBits', 'signed', 'strings']
const SET_OPTIONS = ['k64', 'k32', 'strings']
const OPEN_OPTIONS = ['capacity', 'create', 'mode', 'allowInsecure']

/** The options of `AtomicDict.open` / `AtomicSet.open` ('dict' | 'set'), checked for unknown names. */
function openOptions(options, kind) {
  const known = [...OPEN_OPTIONS, ...(kind === 'set' ? SET_OPTIONS : DICT_OPTIONS)]
  return checkOptions(options, known, kind === 'set' ? 'AtomicSet.open()' : 'AtomicDict.open()')
}

function dictOptions(options) {
  options = checkOptions(options, DICT_OPTIONS, 'new AtomicDict()')
  const valueBits = options.valueBits === undefined ? 64 : options.valueBits
  if (typeof valueBits !== 'number') throw typeError('options.valueBits', '32 or 64', valueBits)
  if (valueBits !== 32 && valueBits !== 64) throw rangeError('options.valueBits', '32 or 64', valueBits)
  const signed = boolean(options, 'signed', false)
  return { ...keyShape(options, valueBits / 8), valueBits, signed, strings: strings(options) }
}

function setOptions(options) {
  options = checkOptions(options, SET_OPTIONS, 'new AtomicSet()')
  return { ...keyShape(options, 0), valueBits: 0, signed: false, strings: strings(options) }
}

module.exports = { capacity, dictOptions, setOptions, openOptions, checkOptions, integer, boolean }
