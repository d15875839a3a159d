'use strict'
// The native addon, with its errors made into ordinary Node errors: the
// binding reports one JSON object as the message (src/binding/table.rs,
// Failure), `{ code, message, errno?, syscall?, path? }`. One with an errno
// becomes a system error named as fs errors are; the others an Error with
// that `code` (and `path` when the binding names one).

const binding = require('./binding')
const { codedError, systemError } = require('./errors')

function convert(err) {
  const message = err && err.message
  if (typeof message !== 'string' || !message.startsWith('{"code":')) return err
  const f = JSON.parse(message)
  if (f.errno !== undefined) return systemError(f.errno, f.syscall, f.message, f.path)
  const e = codedError(f.code, `atomic-dict: ${f.message}`)
  if (f.path !== undefined) e.path = f.path
  return e
}

function call(fn, ...args) {
  try {
    return fn(...args)
  } catch (err) {
    throw convert(err)
  }
}

module.exports = {
  createTable: (...args) => call(binding.createTable, ...args),
  attachFd: (fd) => call(binding.attachFd, fd),
  openTable: (...args) => call(binding.openTable, ...args),
  call,
  convert,
}
