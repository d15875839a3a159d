'use strict'
// Loads the native addon that `npm install` builds (scripts/build.js).

const path = require('node:path')
const { codedError } = require('./errors')

const file = path.join(__dirname, '..', 'atomic-dict.node')
let binding
try {
  binding = require(file)
} catch (err) {
  const e = codedError(
    'ERR_DLOPEN_FAILED',
    `atomic-dict: cannot load its native addon ${file} (${err.message}). ` +
      'It is built from source by `npm install` (or `npm run build`), which needs Rust\'s cargo.',
  )
  e.cause = err
  throw e
}

module.exports = binding
