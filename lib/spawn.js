'use strict'
// Handing tables to child processes and cluster workers. Node has no
// fork(): a child gets a table's descriptor through its stdio array, and is
// told which descriptor holds which table (and the file's identity, so a
// wrong descriptor is refused): a child process by the ATOMIC_DICT_SHARED
// variable of the env it is given, a cluster worker by one more descriptor
// in cluster.settings.stdio, an unlinked read-only file holding that map
// (lib/attach.js, clusterTables). Nothing here changes process.env or
// patches a function.

const childProcess = require('node:child_process')
const cluster = require('node:cluster')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { ENV, CLUSTER_MAP_FILE, shareInfo, isClosed } = require('./attach')
const { typeError, codedError } = require('./errors')
const { checkOptions, boolean } = require('./options')

/** The [name, table] pairs of a `{ name: table }` object, each checked (open, a table). */
function checkShare(share, name) {
  if (share === null || typeof share !== 'object' || Array.isArray(share)) {
    throw typeError(name, 'an object of { name: AtomicDict | AtomicSet }', share)
  }
  const entries = Object.entries(share)
  for (const [key, table] of entries) shareInfo(table, `${name}.${key}`)
  return entries
}

/**
 * The user's stdio as an array of at least 3 entries, as child_process
 * builds it: not given, it inherits for a fork (`ipc`) unless `silent`, and
 * pipes otherwise; with `ipc`, an 'ipc' entry is added if missing.
 */
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

/** Appends the tables' descriptors to `stdio`; returns { name: { fd, kind, dev, ino } }. */
function appendShared(stdio, entries) {
  const info = {}
  for (const [name, table] of entries) {
    const s = shareInfo(table, name)
    info[name] = { fd: stdio.length, kind: s.kind, dev: s.dev, ino: s.ino }
    stdio.push(s.fd)
  }
  return info
}

const SHARE_OPTIONS = ['stdio', 'env', 'silent', 'ipc']

/**
 * `{ stdio, env }` for child_process.spawn/fork, cluster.setupPrimary +
 * cluster.fork(env), execa...: the caller's stdio with the tables'
 * descriptors appended, and the caller's env (default process.env, copied)
 * with ATOMIC_DICT_SHARED naming them.
 */
function shareOptions(tables, options) {
  const entries = checkShare(tables, 'tables')
  if (Array.isArray(options)) throw typeError('options', 'an object', options)
  options = checkOptions(options, SHARE_OPTIONS, 'shareOptions()')
  const { env } = options
  if (env !== undefined && env !== null && (typeof env !== 'object' || Array.isArray(env))) throw typeError('options.env', 'an object', env)
  const ipc = boolean(options, 'ipc', false)
  const silent = boolean(options, 'silent', false)
  const stdio = stdioArray(options.stdio, ipc, silent)
  const shared = JSON.stringify(appendShared(stdio, entries))
  return { stdio, env: { ...(env ?? process.env), [ENV]: shared } }
}

/** The options child_process gets: `share` replaced by stdio and env. */
function withShare(options, ipc) {
  if (options === undefined || options === null || typeof options !== 'object' || options.share === undefined) return options
  const { share, ...rest } = options
  checkShare(share, 'options.share')
  const shared = shareOptions(share, { stdio: rest.stdio, env: rest.env, silent: rest.silent, ipc })
  return { ...rest, ...shared }
}

/**
 * `[args, options]` as child_process reads them: args left out, undefined
 * or null is no arguments; an object in its place is the options.
 */
function splitArgs(args, options) {
  if (args === undefined || args === null) return [[], options]
  if (Array.isArray(args)) return [args, options]
  if (typeof args === 'object') return [[], args]
  throw typeError('args', 'an array', args)
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

// Cluster: cluster.fork() builds a worker's env from process.env and its
// own argument, so the map of names travels as a descriptor too: an
// unlinked, read-only file at the end of cluster.settings.stdio, which the
// worker finds by its name (lib/attach.js, clusterTables). Only workers get
// it: a plain child_process.fork of the primary sees none of this.
const clusterShared = new Map()
let applied = null // { stdio: what we set, user: the stdio it was built on, owned: the descriptors it holds }

/**
 * A read-only descriptor of an unlinked file holding `text`: in /dev/shm,
 * or in the temporary directory where /dev/shm is missing, read-only or full.
 */
function unlinkedFile(text) {
  for (const base of ['/dev/shm', os.tmpdir()]) {
    let dir
    try {
      dir = fs.mkdtempSync(path.join(base, 'atomic-dict-'))
      const file = path.join(dir, CLUSTER_MAP_FILE)
      fs.writeFileSync(file, text, { mode: 0o400, flag: 'wx' })
      return fs.openSync(file, 'r')
    } catch (err) {
      if (base !== '/dev/shm' || !['ENOENT', 'EACCES', 'EROFS', 'ENOSPC', 'EPERM'].includes(err.code)) throw err
    } finally {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * In the cluster primary, before cluster.fork(): every worker forked from
 * now on can `inherit(name)` these tables (and those of earlier calls that
 * are still open). It sets cluster.settings.stdio through
 * cluster.setupPrimary: call it after your own setupPrimary calls that set
 * stdio or silent (child_process ignores silent beside a stdio array).
 * Workers get descriptors of their own that this call opens (through
 * /proc/self/fd), held until the next call: a table closed here meanwhile
 * is still handed to workers, and its number, free for reuse, never is.
 */
function shareWithCluster(share) {
  if (!cluster.isPrimary) throw codedError('ERR_ATOMIC_DICT_NOT_PRIMARY', 'atomic-dict: shareWithCluster() is called in the cluster primary, not in a worker')
  const entries = checkShare(share, 'tables')
  for (const [name, table] of clusterShared) if (isClosed(table)) clusterShared.delete(name)
  const all = new Map([...clusterShared, ...entries])
  const settings = cluster.settings
  const user = applied !== null && settings.stdio === applied.stdio ? applied.user : settings.stdio
  const stdio = stdioArray(user, true, settings.silent)
  const tables = appendShared(stdio, all)
  const owned = []
  try {
    for (const { fd: at } of Object.values(tables)) {
      stdio[at] = fs.openSync(`/proc/self/fd/${stdio[at]}`, 'r+')
      owned.push(stdio[at])
    }
    const mapFd = unlinkedFile(JSON.stringify({ ppid: process.pid, tables }))
    owned.push(mapFd)
    stdio.push(mapFd)
  } catch (err) {
    for (const fd of owned) fs.closeSync(fd)
    throw err
  }
  if (applied !== null) for (const fd of applied.owned) fs.closeSync(fd)
  for (const [name, table] of entries) clusterShared.set(name, table)
  applied = { stdio, user, owned }
  cluster.setupPrimary({ stdio })
}

module.exports = { spawn, fork, shareWithCluster, shareOptions }
