'use strict'
// The native addon, with its errors made into ordinary Node errors: the
// binding reports "CODE|message", which becomes an Error with that `code`.

const binding = require('./binding')

function convert(err) {
  const m = /^([A-Z][A-Z0-9_]*)\|([\s\S]*)$/.exec(err && err.message)
  if (!m) return err
  const e = new Error(`atomic-dict: ${m[2]}`)
  e.code = m[1]
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
