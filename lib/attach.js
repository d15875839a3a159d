'use strict'
// Reaching one table from other threads and processes: descriptors for
// worker threads, the environment variable (or, in a cluster worker, the
// descriptor of a small file) that tells a child which inherited descriptor
// holds which table, and named files.

const fs = require('node:fs')
const tables = require('./table-memory')
const native = require('./native')
const { typeError, closedError, codedError } = require('./errors')
const { openOptions, integer, boolean } = require('./options')

/** The environment variable naming the tables a child inherits. */
const ENV = 'ATOMIC_DICT_SHARED'

/**
 * The name of the unlinked file whose descriptor shareWithCluster appends to
 * cluster.settings.stdio: JSON { ppid, tables: { name: { fd, kind, dev, ino } } }.
 */
const CLUSTER_MAP_FILE = 'cluster-tables.json'
const CLUSTER_MAP_LINK = /\/atomic-dict-[^/]+\/cluster-tables\.json \(deleted\)$/

const KIND_NAMES = { dict: 'AtomicDict', set: 'AtomicSet' }

function identity(fd) {
  const st = fs.fstatSync(fd, { bigint: true })
  return { dev: String(st.dev), ino: String(st.ino) }
}

function internalsOf(table, name) {
  const t = tables.internals.get(table)
  if (!t) throw typeError(name, 'an AtomicDict or an AtomicSet', table)
  return t
}

/** Whether this process has closed the table object `table`. */
function isClosed(table) {
  return internalsOf(table, 'table').view.closed
}

/** What a child needs to find a shared table: its kind and file identity. */
function shareInfo(table, name) {
  const t = internalsOf(table, name)
  if (t.view.closed) throw closedError()
  const fd = native.call(() => t.native.fd())
  return { fd, kind: t.kind, ...identity(fd) }
}

/**
 * Maps the table behind `fd` after checking that the descriptor still names
 * the file it was shared as (a closed and reused descriptor names another).
 */
function attachChecked(fd, dev, ino, kind, what) {
  let id
  try {
    id = identity(fd)
  } catch (err) {
    throw codedError('ERR_ATOMIC_DICT_NOT_SHARED', `atomic-dict: ${what}: descriptor ${fd} is not open in this process (${err.code})`)
  }
  if (id.dev !== dev || id.ino !== ino) {
    throw codedError('ERR_ATOMIC_DICT_NOT_SHARED', `atomic-dict: ${what}: descriptor ${fd} no longer refers to the shared table`)
  }
  const parts = tables.attachFd(fd)
  checkKind(parts, kind, what)
  return parts
}

function checkKind(parts, kind, what) {
  const actual = parts.view.isSet ? 'set' : 'dict'
  if (actual !== kind) {
    tables.closeTable(parts)
    throw codedError('ERR_ATOMIC_DICT_WRONG_KIND', `atomic-dict: ${what} is an ${KIND_NAMES[actual]}, not an ${KIND_NAMES[kind]}`)
  }
}

/** A plain, structured-clonable descriptor of a table, for worker threads. */
function describe(table) {
  const info = shareInfo(table, 'table')
  // A worker thread may block in wait() on it: process.exit() ends such waits.
  return { type: 'atomic-dict', kind: info.kind, pid: process.pid, fd: info.fd, dev: info.dev, ino: info.ino }
}

/** The table a descriptor made by `share()` names, for `attach`. */
function attachDescriptor(descriptor, kind) {
  const d = descriptor
  if (d === null || typeof d !== 'object' || d.type !== 'atomic-dict') {
    throw typeError('descriptor', 'an object made by table.share()', d)
  }
  if (
    !Number.isInteger(d.fd) ||
    d.fd < 0 ||
    typeof d.dev !== 'string' ||
    typeof d.ino !== 'string' ||
    !Object.prototype.hasOwnProperty.call(KIND_NAMES, d.kind)
  ) {
    throw typeError('descriptor', 'an object made by table.share()', d)
  }
  if (d.pid !== process.pid) {
    throw codedError(
      'ERR_ATOMIC_DICT_NOT_SHARED',
      `atomic-dict: the descriptor was made in process ${d.pid}; attach() works in its worker threads. ` +
        'Other processes get tables through spawn/fork/shareWithCluster and inherit(), or open().',
    )
  }
  if (d.kind !== kind) {
    throw codedError('ERR_ATOMIC_DICT_WRONG_KIND', `atomic-dict: the descriptor is of an ${KIND_NAMES[d.kind]}, not an ${KIND_NAMES[kind]}`)
  }
  return attachChecked(d.fd, d.dev, d.ino, kind, 'the descriptor')
}

function parseObject(text) {
  try {
    const v = JSON.parse(text)
    return v !== null && typeof v === 'object' ? v : undefined
  } catch {
    return undefined
  }
}

/**
 * The tables the cluster primary (this process's parent) shared with
 * shareWithCluster: the map in a descriptor whose file is named
 * CLUSTER_MAP_FILE. One passed on from a grandparent names another parent
 * and is not taken.
 */
function clusterTables() {
  let fds
  try {
    fds = fs.readdirSync('/proc/self/fd')
  } catch {
    return undefined
  }
  for (const fd of fds) {
    let target
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue // the descriptor of readdirSync itself, closed by now
    }
    if (!CLUSTER_MAP_LINK.test(target)) continue
    const size = fs.fstatSync(Number(fd)).size
    const buffer = Buffer.alloc(size)
    // At position 0: every worker shares the file's offset with the others.
    fs.readSync(Number(fd), buffer, 0, size, 0)
    const map = parseObject(buffer.toString('utf8'))
    if (map !== undefined && map.ppid === process.ppid && map.tables !== null && typeof map.tables === 'object') return map.tables
  }
  return undefined
}

let inherited
/** What this process was given: a cluster worker's map, else ATOMIC_DICT_SHARED. */
function inheritedTables() {
  if (inherited === undefined) {
    inherited = clusterTables() ?? (process.env[ENV] ? parseObject(process.env[ENV]) : undefined) ?? {}
  }
  return inherited
}

/** The table a parent shared under `name` (spawn/fork `share`, or shareWithCluster). */
function inherit(name, kind) {
  if (typeof name !== 'string') throw typeError('name', 'a string', name)
  const info = Object.prototype.hasOwnProperty.call(inheritedTables(), name) ? inherited[name] : undefined
  if (!info || !Number.isInteger(info.fd)) {
    const names = Object.keys(inheritedTables())
    throw codedError(
      'ERR_ATOMIC_DICT_NOT_SHARED',
      `atomic-dict: no table was shared with this process as ${JSON.stringify(name)}` +
        (names.length ? ` (shared: ${names.map((n) => JSON.stringify(n)).join(', ')})` : ' (none was shared)'),
    )
  }
  if (info.kind !== kind) {
    throw codedError('ERR_ATOMIC_DICT_WRONG_KIND', `atomic-dict: ${JSON.stringify(name)} was shared as an ${KIND_NAMES[info.kind] ?? info.kind}, not an ${KIND_NAMES[kind]}`)
  }
  return attachChecked(info.fd, String(info.dev), String(info.ino), kind, `shared table ${JSON.stringify(name)}`)
}

function checkPath(path) {
  if (typeof path !== 'string' || path.length === 0) throw typeError('path', 'a non-empty string', path)
  if (path.includes('\0')) throw typeError('path', 'a string without NUL bytes', path)
}

/**
 * Opens (or creates) the table in the file at `path`. The shape options
 * (given, or their defaults) must match an existing table, unless
 * `fileShape`: then only those given must, and the others are the file's
 * (for a caller that reads the shape back, as MetricsStore does);
 * `geometryOf(options)` checks them and fills defaults for creating one. `defaultCapacity`, when given, is the capacity
 * of a new file if `options.capacity` is not (and is not checked against an
 * existing one).
 */
function open(path, options, kind, geometryOf, defaultCapacity = 0, fileShape = false) {
  checkPath(path)
  options = openOptions(options, kind)
  const create = boolean(options, 'create', true)
  const mode = integer(options, 'mode', 0o600, 0, 0o777)
  const capacity = integer(options, 'capacity', undefined, 1, 2 ** 31)
  const allowInsecure = boolean(options, 'allowInsecure', false)
  if (mode & 0o022 && !allowInsecure) {
    throw codedError(
      'ERR_ATOMIC_DICT_INSECURE',
      `atomic-dict: options.mode ${'0o' + mode.toString(8)} lets group or others write the table; ` +
        'pass allowInsecure: true to create it anyway',
    )
  }
  const { capacity: _capacity, create: _create, mode: _mode, allowInsecure: _allow, ...shape } = options
  const geometry = geometryOf(shape)
  const parts = tables.openTable(path, create, mode, allowInsecure, kind === 'set', capacity ?? defaultCapacity, geometry)
  checkKind(parts, kind, path)
  const v = parts.view
  const mismatches = []
  if (capacity !== undefined && v.capacity !== capacity) mismatches.push(`capacity ${v.capacity} (asked ${capacity})`)
  // Every shape option, given or left to its default, against the file's
  // geometry: the options say what table the caller will use (and its
  // TypeScript type), so a file of another shape is refused, not adopted.
  for (const [key, field] of [['k64', 'k64'], ['k32', 'k32'], ['valueBits', 'valueBits'], ['signed', 'signed'], ['strings', 'stringBytes']]) {
    if ((shape[key] !== undefined || !fileShape) && v[field] !== geometry[key]) {
      mismatches.push(`${key} ${v[field]} (asked ${geometry[key]}${shape[key] === undefined ? ', the default' : ''})`)
    }
  }
  if (mismatches.length) {
    tables.closeTable(parts)
    throw codedError('ERR_ATOMIC_DICT_GEOMETRY', `atomic-dict: ${path} holds a table of another geometry: ${mismatches.join(', ')}`)
  }
  // Kept with the table's internals: syncToRedis puts its state beside it.
  parts.path = path
  return parts
}

/** Removes a named table's file (processes that have it open keep their mapping). */
function unlink(path) {
  checkPath(path)
  fs.unlinkSync(path)
}

module.exports = { ENV, CLUSTER_MAP_FILE, isClosed, shareInfo, describe, attachDescriptor, inherit, open, unlink, internalsOf }
