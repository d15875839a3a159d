'use strict'
// Inspecting a named table file (`npx atomic-dict inspect <path>`): the
// native side (src/binding/inspect.rs) reads a private copy of the file —
// opened read-only, never changed — validates its header as attaching does,
// audits it and measures probe lengths; this module turns that into a plain
// object, and formats it as text or JSON.
//
// The copy is a point-in-time snapshot: a table other processes are changing
// may have moved on by the time it is printed, and words read a moment apart
// may disagree (a count off by the inserts in flight, say).
//
// A table with a string area (the `strings` option) shows each 64-bit key
// part its area decodes as that string (checked natively: the string hashes
// to the part), and the area's size and counters.
//
// `inspectPid` does the same for every table a running process holds open
// (memfds made by `new AtomicDict`, and named files), read through
// /proc/<pid>/fd/<n>: also read-only, from private copies.

const binding = require('./binding')
const native = require('./native')
const { typeError, rangeError } = require('./errors')

/**
 * A key's parts as iteration hands them back: 64-bit parts as the strings
 * they decode as (`strings[i]`, null for none) or bigints, 32-bit parts as
 * numbers, a one-part key bare.
 */
function formatKey(parts, strings, k64) {
  const key = parts.map((p, i) => (i < k64 ? (strings[i] ?? p) : Number(p)))
  return key.length === 1 ? key[0] : key
}

/** A value's raw bits as the table reads them: bigint or number, signed or not. */
function formatValue(bits, valueBits, signed) {
  const v = signed ? BigInt.asIntN(valueBits, bits) : bits
  return valueBits === 32 ? Number(v) : v
}

/**
 * Reads the table in the file at `path` and describes it:
 * { path, geometry: { kind, capacity, k64, k32, valueBits, signed,
 *   blockCount, rowsPerBlock, rowBytes, rows, tableBytes, fileBytes },
 *   size, loadFactor (size / capacity), rowOccupancy (size / rows),
 *   probe: { count, max, mean, histogram }, verify: { ok, entries, reserved,
 *   completeRows, partialRows, duplicateKeys, unreachableKeys, strings,
 *   badStrings, problems }, strings: { bytes, slots, used, count, refused }
 *   or null (no string area), keys (complete keys in the copy), entries:
 *   [{ key, value? }] (row order; 64-bit parts that decode as strings are
 *   those strings; no value for a set), omitted (complete keys left out by
 *   `limit`) }.
 * Throws errors with a `code` (ENOENT, ERR_ATOMIC_DICT_NOT_A_TABLE, …) whose
 * message names the path.
 */
function inspect(path, { limit } = {}) {
  if (typeof path !== 'string' || path === '') throw typeError('path', 'a non-empty string', path)
  checkLimit(limit)
  return fromNative(path, native.call(() => binding.inspectFile(path, limit)))
}

function checkLimit(limit) {
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
    throw (typeof limit === 'number' ? rangeError : typeError)('limit', 'a non-negative safe integer', limit)
  }
}

/** The plain object of a native inspection of the table read at `path`. */
function fromNative(path, r) {
  const g = r.geometry
  const isSet = g.kind === 'set'
  const entries = r.entries.map(({ key, strings, value }) => {
    const entry = { key: formatKey(key, strings, g.k64) }
    if (!isSet) entry.value = formatValue(value, g.valueBits, g.signed)
    return entry
  })
  const keys = r.verify.completeRows
  return {
    path,
    geometry: { ...g },
    size: r.size,
    loadFactor: r.size / g.capacity,
    rowOccupancy: r.size / g.rows,
    probe: { count: r.probe.count, max: r.probe.max, mean: r.probe.mean, histogram: [...r.probe.histogram] },
    verify: { ...r.verify, problems: [...r.verify.problems] },
    strings: r.strings === null || r.strings === undefined ? null : { ...r.strings },
    keys,
    entries,
    omitted: keys - entries.length,
  }
}

/**
 * What a descriptor's /proc link says it is, for people: `memfd "name"` for
 * a memfd (what `new AtomicDict` makes), else `file <path>`: the file's
 * current `name` when known, else /proc's name (with " (deleted)" when the
 * file has been removed since it was opened).
 */
function describeTarget(target, name = null) {
  const memfd = /^\/memfd:(.*) \(deleted\)$/s.exec(target)
  if (memfd) return `memfd ${JSON.stringify(memfd[1])}`
  return `file ${name ?? target}`
}

/**
 * The atomic-dict tables process `pid` holds open:
 * { pid, descriptors (how many it had open), unreadable (descriptors that
 * could not be looked at), tables: [{ fd, also (its other descriptors for
 * the same file, read once), target (what /proc says: e.g.
 * "/memfd:atomic-dict (deleted)"), name (a named table's current name when
 * /proc gives the temporary name it was made under, else null), what
 * (describeTarget), path
 * ("/proc/<pid>/fd/<fd>"), and either the fields `inspect` returns, or
 * error (a file with the table magic number that is not a table this
 * version reads: hostile, corrupt, or newer) }] } in descriptor order.
 * Descriptors that are not tables are left out. Throws errors with a
 * `code`: ESRCH (no such process), EACCES (its descriptors may not be read).
 */
function inspectPid(pid, { limit } = {}) {
  if (!(Number.isSafeInteger(pid) && pid > 0 && pid <= 0xffff_ffff)) {
    throw (typeof pid === 'number' ? rangeError : typeError)('pid', 'a positive integer', pid)
  }
  checkLimit(limit)
  const r = native.call(() => binding.inspectPid(pid, limit))
  return {
    pid,
    descriptors: r.descriptors,
    unreadable: r.unreadable,
    tables: r.tables.map(({ fd, also, target, name, path, inspection, error }) => {
      const head = { fd, also: [...also], target, name, what: describeTarget(target, name) }
      return inspection ? { ...head, ...fromNative(path, inspection) } : { ...head, path, error }
    }),
  }
}

/** The table format versions this version reads, e.g. [1, 2]. */
function formatVersions() {
  return [...binding.formatVersions()]
}

/** JSON text of an inspection: bigints as decimal strings. */
function toJSON(result, indent = 2) {
  return JSON.stringify(result, (_, v) => (typeof v === 'bigint' ? v.toString() : v), indent)
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function fixed(x, digits) {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x)
}

/** The human-readable description: a header block, then the entries as an aligned table. */
function formatText(result) {
  const { geometry: g, probe, verify } = result
  const isSet = g.kind === 'set'
  const keyShape = []
  if (g.k64) keyShape.push(`${g.k64} × 64-bit`)
  if (g.k32) keyShape.push(`${g.k32} × 32-bit`)
  const histogram = probe.histogram
    .map((n, length) => (length > 0 && n > 0 ? `${length}: ${n}` : null))
    .filter((s) => s !== null)
    .join(', ')
  const lines = [
    ...fdLine(result),
    ['path', result.path],
    ['kind', isSet ? 'set' : 'dict'],
    ['key', `${plural(g.k64 + g.k32, 'part')}: ${keyShape.join(' + ')}`],
    ['value', isSet ? 'none (a set)' : `${g.valueBits}-bit ${g.signed ? 'signed' : 'unsigned'}`],
    ['capacity', String(g.capacity)],
    ['size', String(result.size)],
    ['load factor', `${fixed(result.loadFactor, 4)} of capacity, ${fixed(result.rowOccupancy, 4)} of rows`],
    [
      'geometry',
      `${plural(g.blockCount, 'block')} × ${g.rowsPerBlock} rows of ${g.rowBytes} bytes = ${g.rows} rows; ` +
        `${g.tableBytes} bytes (file: ${g.fileBytes})`,
    ],
    [
      'probe length',
      probe.count === 0
        ? 'no keys'
        : `max ${probe.max}, mean ${fixed(probe.mean, 4)} blocks over ${plural(probe.count, 'key')} (${histogram})`,
    ],
    ...stringsLine(result.strings),
    [
      'verify',
      verify.ok
        ? 'ok'
        : `${plural(verify.problems.length, 'problem')} (complete rows ${verify.completeRows}, ` +
          `partial rows ${verify.partialRows}, duplicate keys ${verify.duplicateKeys}, ` +
          `unreachable keys ${verify.unreachableKeys})`,
    ],
  ]
  const width = Math.max(...lines.map(([name]) => name.length))
  const out = lines.map(([name, text]) => `${name.padEnd(width)}  ${text}`)
  for (const problem of verify.problems) out.push(`${''.padEnd(width)}  - ${problem}`)
  out.push('')
  // concat, not push(...): a spread of a million lines overflows the stack.
  const all = out.concat(entryTable(result))
  if (result.omitted > 0) {
    const n = result.omitted
    all.push(`(${n} more ${n === 1 ? 'entry' : 'entries'} not shown: printed ${result.entries.length} of ${result.keys})`)
  }
  return all.join('\n') + '\n'
}

/** The descriptor's line, for a table found by `inspectPid`. */
function fdLine(result) {
  return result.fd === undefined ? [] : [['fd', fdText(result)]]
}

function fdText({ fd, also, what }) {
  const others = also.length > 0 ? ` (also open as fd ${also.join(', ')})` : ''
  return `${fd}: ${what}${others}`
}

/**
 * The text of `inspectPid`'s tables: each described as `formatText`
 * describes a file's (with its descriptor first), a table that could not be
 * read by its descriptor, path and error; a blank line between them.
 */
function formatPidText(found) {
  return found.tables
    .map((t) => {
      if (t.error === undefined) return formatText(t)
      return `fd     ${fdText(t)}\npath   ${t.path}\nerror  ${t.error}\n`
    })
    .join('\n')
}

/** The string area's line (none for a table without one): its use, and its refusals. */
function stringsLine(strings) {
  if (strings === null) return []
  const { bytes, slots, used, count, refused } = strings
  const share = bytes > 0 ? ` (${fixed((100 * used) / bytes, 1)}%)` : ''
  let text = `${plural(count, 'string')} in ${used} of ${bytes} bytes${share}, ${slots} index entries; ${refused} refused`
  if (refused > 0) text += ' (no room: those strings read back as their 64-bit parts)'
  return [['strings', text]]
}

/** A cell of the entry table: strings quoted (JSON), numbers and bigints as digits. */
function cell(v) {
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}

/** The entries as right-aligned columns: one per key part, then the value. */
function entryTable(result) {
  const { geometry: g, entries } = result
  if (result.keys === 0) return ['(no entries)']
  const parts = g.k64 + g.k32
  const header = parts === 1 ? ['key'] : Array.from({ length: parts }, (_, i) => `key[${i}]`)
  if (g.kind !== 'set') header.push('value')
  const rows = entries.map(({ key, value }) => {
    const cells = (parts === 1 ? [key] : key).map(cell)
    if (g.kind !== 'set') cells.push(String(value))
    return cells
  })
  // A loop, not Math.max(...): a spread of a million rows overflows the stack.
  const widths = header.map((h) => h.length)
  for (const cells of rows) {
    for (let i = 0; i < cells.length; i++) if (cells[i].length > widths[i]) widths[i] = cells[i].length
  }
  const line = (cells) => cells.map((c, i) => c.padStart(widths[i])).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  ')].concat(rows.map(line))
}

module.exports = { inspect, inspectPid, formatVersions, describeTarget, toJSON, formatText, formatPidText }
