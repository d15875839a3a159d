'use strict'
// The errors the JS API throws. Every message names the argument at fault;
// every error has a `code` (docs/ERRORS.md lists them all).

const { getSystemErrorMap } = require('node:util')

function typeError(name, expected, got) {
  return codedError('ERR_INVALID_ARG_TYPE', `${name} must be ${expected}, got ${describe(got)}`, TypeError)
}

function rangeError(name, expected, got) {
  return codedError('ERR_OUT_OF_RANGE', `${name} must be ${expected}, got ${describe(got)}`, RangeError)
}

/** An error of class `Class` (default Error) with a Node-style `code`. */
function codedError(code, message, Class = Error) {
  const e = new Class(message)
  e.code = code
  return e
}

/**
 * A system error as Node's fs makes them: `code` the errno's name from
 * Node's own table ('ENOENT'), `errno` Node's negative number (-2),
 * `syscall`, and `path` when there is one. `errno` is given positive, as
 * the kernel reports it; one Node has no name for gets ERR_ATOMIC_DICT_IO.
 */
function systemError(errno, syscall, message, path) {
  const known = getSystemErrorMap().get(-errno)
  const e = codedError(known === undefined ? 'ERR_ATOMIC_DICT_IO' : known[0], `atomic-dict: ${message}`)
  e.errno = -errno
  if (syscall !== undefined) e.syscall = syscall
  if (path !== undefined) e.path = path
  return e
}

function describe(v) {
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
  if (Array.isArray(v)) return `an array of ${v.length}`
  if (v === null) return 'null'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'function') return 'a function'
  return String(v)
}

class AtomicDictFullError extends Error {
  constructor(capacity) {
    super(`atomic-dict: the table is full: it holds its capacity of ${capacity} keys`)
    this.name = 'AtomicDictFullError'
    this.code = 'ERR_ATOMIC_DICT_FULL'
    this.capacity = capacity
  }
}

function closedError() {
  return codedError('ERR_ATOMIC_DICT_CLOSED', 'atomic-dict: the table is closed')
}

module.exports = { typeError, rangeError, codedError, systemError, describe, AtomicDictFullError, closedError }
