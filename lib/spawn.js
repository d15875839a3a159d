'use strict'
// Handing tables to child processes and cluster workers. Node has no
// fork(): a child gets a table's descriptor through its stdio array, and the
// ATOMIC_DICT_SHARED environment variable tells it which descriptor holds
// which table (and the file's identity, so a wrong descriptor is refused).

const childProcess = require('node:child_process')
const cluster = require('node:cluster')
const { ENV, shareInfo } = require('./share')
const { typeError } = require('./errors')

function checkShare(share) {
  if (share === null || typeof share !== 'object' || Array.isArray(share)) {
    throw typeError('options.share', 'an object of { name: AtomicDict | AtomicSet }', share)
  }
  return Object.entries(share)
}

/** The user's stdio as an array of at least 3 entries (with 'ipc' for fork). */
function stdioArray(stdio, ipc, silent) {
  let base
  if (stdio === undefined || stdio === null) {
    base = ipc && !silent ? ['inherit', 'inherit', 'inherit'] : ['pipe', 'pipe', 'pipe']
  } else if (typeof stdio === 'string') {
    base = [stdio, stdio, stdio]
  } else if (Array.isArray(stdio)) {
    base = stdio.slice()
    for (let i = 0; i < 3; i++) if (base[i] === undefined || base[i] === null) base[i] = 'pipe'
  } else {
    throw typeError('options.stdio', 'a string or an array', stdio)
  }
  if (ipc && !base.includes('ipc')) base.push('ipc')
  return base
}

/** Appends the shared tables' descriptors to stdio; returns the env entry. */
function appendShared(stdio, entries) {
  const info = {}
  for (const [name, table] of entries) {
    const s = shareInfo(table, `options.share.${name}`)
    info[name] = { fd: stdio.length, kind: s.kind, dev: s.dev, ino: s.ino }
    stdio.push(s.fd)
  }
  return JSON.stringify(info)
}

function withShare(options, ipc) {
  if (options === undefined || options === null || options.share === undefined) return options
  const { share, ...rest } = options
  const entries = checkShare(share)
  const stdio = stdioArray(rest.stdio, ipc, rest.silent)
  const shared = appendShared(stdio, entries)
  return { ...rest, stdio, env: { ...(rest.env ?? process.env), [ENV]: shared } }
}

function splitArgs(args, options) {
  return Array.isArray(args) ? [args, options] : [[], args]
}

/** child_process.spawn, plus `options.share: { name: table }`. */
function spawn(command, args, options) {
  ;[args, options] = splitArgs(args, options)
  return childProcess.spawn(command, args, withShare(options, false))
}

/** child_process.fork, plus `options.share: { name: table }`. */
function fork(modulePath, args, options) {
  ;[args, options] = splitArgs(args, options)
  return childProcess.fork(modulePath, args, withShare(options, true))
}

// Cluster: the tables go into cluster.settings.stdio of every worker the
// primary forks, and into the primary's environment (which cluster.fork
// passes on). The user's own setupPrimary options keep working: setupPrimary
// is wrapped so that a later call that replaces stdio gets the tables
// appended again.
const clusterShared = new Map()
let userStdio // the stdio the user asked for, without our descriptors
let appliedStdio // the array we put in cluster.settings.stdio

function applyCluster() {
  const settings = cluster.settings
  if (settings.stdio !== appliedStdio) userStdio = settings.stdio
  const stdio = stdioArray(userStdio, true, settings.silent)
  process.env[ENV] = appendShared(stdio, clusterShared)
  appliedStdio = stdio
  settings.stdio = stdio
}

let wrapped = false
function wrapSetupPrimary() {
  if (wrapped) return
  wrapped = true
  const original = cluster.setupPrimary
  const setupPrimary = function setupPrimary(...args) {
    const result = original.apply(this, args)
    applyCluster()
    return result
  }
  cluster.setupPrimary = setupPrimary
  if (cluster.setupMaster) cluster.setupMaster = setupPrimary
}

/**
 * In the cluster primary, before cluster.fork(): every worker forked from
 * now on can `inherit(name)` these tables.
 */
function shareWithCluster(share) {
  if (!cluster.isPrimary) throw new Error('atomic-dict: shareWithCluster() is called in the cluster primary')
  for (const [name, table] of checkShare(share)) {
    shareInfo(table, `tables.${name}`) // checks it is a table, and that it is open
    clusterShared.set(name, table)
  }
  wrapSetupPrimary()
  cluster.setupPrimary()
}

module.exports = { spawn, fork, shareWithCluster }
