'use strict'
// The Lua scripts, read once, and running one by SHA: EVALSHA, and on
// NOSCRIPT (a server restarted, flushed or failed over since the script was
// loaded) EVAL, which loads it again. EVALSHA that fails with NOSCRIPT has
// run nothing, so the retry cannot apply an operation twice.

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

function load(file) {
  const source = fs.readFileSync(path.join(__dirname, file), 'utf8')
  return { source, sha: crypto.createHash('sha1').update(source).digest('hex') }
}

const SCRIPTS = { rmw: load('rmw.lua'), attach: load('attach.lua'), sync: load('sync.lua') }

/**
 * Runs `script` on `client` (an ioredis Redis or Cluster) with `keys` and
 * `args`; resolves with the reply, strings as Buffers.
 */
async function run(client, script, keys, args) {
  try {
    return await client.evalshaBuffer(script.sha, keys.length, ...keys, ...args)
  } catch (err) {
    if (!(err instanceof Error) || !String(err.message).startsWith('NOSCRIPT')) throw err
    return client.evalBuffer(script.source, keys.length, ...keys, ...args)
  }
}

module.exports = { SCRIPTS, run }
