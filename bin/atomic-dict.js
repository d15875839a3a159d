#!/usr/bin/env node
'use strict'
// The atomic-dict command: `npx atomic-dict inspect <path>` describes the
// table in a named file, `inspect --pid <pid>` every table a running
// process holds open (see lib/inspect.js). Exit status: 0 done, 1 an error
// (one line on stderr, naming the file or process), 2 bad usage, 3 the
// process holds no table.

const { parseArgs } = require('node:util')

const USAGE = `Usage: atomic-dict inspect <path> [--json] [--limit <n>]
       atomic-dict inspect --pid <pid> [--json] [--limit <n>]
       atomic-dict --version
       atomic-dict --help

Describes the atomic-dict table in the file at <path> (made with
AtomicDict.open or AtomicSet.open, or a descriptor /proc/<pid>/fd/<n>):
its geometry, size, load factor, probe-length statistics, its string area
(when it has one: bytes used, strings, refusals), an audit of its rows,
and its entries (with 64-bit key parts its string area decodes shown as
those strings, quoted).

With --pid, describes every table process <pid> holds open (tables made
with new AtomicDict / new AtomicSet are memfds, and named files), found
in /proc/<pid>/fd by their header; other descriptors are skipped. Each is
shown with its descriptor number; --json prints an array.

Files are opened read-only and copied: inspecting needs only read
permission (for --pid, the right to look at the process's descriptors:
its user, or root) and never changes a table. The copy is a point-in-time
snapshot of a table other processes may be changing.

Options:
  --json       print JSON instead of text (64-bit integers as decimal strings)
  --limit <n>  print at most n entries per table (default: all)
  --pid <pid>  inspect the tables of a running process
  --version    print this package's version and the table format versions it reads
  --help       print this help

Exit status: 0 done; 1 an error (a file that is not a table, a process
whose descriptors may not be read, a table found with --pid that is not
valid); 2 bad usage; 3 --pid found no table.
`

const EXIT_ERROR = 1
const EXIT_USAGE = 2
const EXIT_NO_TABLE = 3

/** An error's message, once, as one line. */
function oneLine(err) {
  return String((err && err.message) || err)
    .replace(/^atomic-dict: /, '')
    .replace(/\s*\n\s*/g, ' ')
}

function version() {
  const lines = [`atomic-dict ${require('../package.json').version}`]
  try {
    const versions = require('../lib/inspect').formatVersions()
    lines.push(`table format versions ${versions.join(' and ')} (read and written)`)
  } catch (err) {
    process.stderr.write(`atomic-dict: cannot load the native addon: ${oneLine(err)}\n`)
    process.exitCode = EXIT_ERROR
  }
  print(lines.join('\n') + '\n')
}

function usageError(message) {
  process.stderr.write(`atomic-dict: ${message}\n\n${USAGE}`)
  process.exitCode = EXIT_USAGE
}

/** Writes to stdout; a reader that went away (`| head`) is not an error. */
function print(text) {
  process.stdout.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err
  })
  process.stdout.write(text)
}

function main(argv) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        limit: { type: 'string' },
        pid: { type: 'string' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    return usageError(err.message)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(USAGE)
    return
  }
  if (values.version) return version()
  const [command, path, ...extra] = positionals
  if (command === undefined) return usageError('a command is needed')
  if (command !== 'inspect') return usageError(`unknown command ${JSON.stringify(command)}`)
  let pid
  if (values.pid !== undefined) {
    if (!/^[1-9]\d{0,9}$/.test(values.pid) || Number(values.pid) > 0xffff_ffff) {
      return usageError(`--pid must be a process id (a positive integer), got ${JSON.stringify(values.pid)}`)
    }
    if (path !== undefined) return usageError('inspect takes a path or --pid, not both')
    pid = Number(values.pid)
  } else if (path === undefined || path === '') {
    return usageError('inspect needs the path of a table file, or --pid <pid>')
  }
  if (extra.length > 0) return usageError(`unexpected argument ${JSON.stringify(extra[0])}`)
  let limit
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit) || !Number.isSafeInteger(Number(values.limit))) {
      return usageError(`--limit must be a non-negative integer, got ${JSON.stringify(values.limit)}`)
    }
    limit = Number(values.limit)
  }

  if (pid !== undefined) return inspectPid(pid, values.json, limit)
  let text
  try {
    const { inspect, toJSON, formatText } = require('../lib/inspect')
    const result = inspect(path, { limit })
    text = values.json ? toJSON(result) + '\n' : formatText(result)
  } catch (err) {
    let message = oneLine(err)
    if (!message.includes(path)) message = `${path}: ${message}`
    process.stderr.write(`atomic-dict inspect: ${message}\n`)
    process.exitCode = EXIT_ERROR
    return
  }
  print(text)
}

/**
 * `inspect --pid`: every table the process holds, then one stderr line per
 * descriptor that starts like a table but is not one (exit 1), or a line
 * saying it holds none (exit 3; --json still prints []).
 */
function inspectPid(pid, json, limit) {
  let found
  let text
  try {
    const lib = require('../lib/inspect')
    found = lib.inspectPid(pid, { limit })
    text = json ? lib.toJSON(found.tables) + '\n' : lib.formatPidText(found)
  } catch (err) {
    let message = oneLine(err)
    if (!message.includes(`process ${pid}`)) message = `process ${pid}: ${message}`
    process.stderr.write(`atomic-dict inspect: ${message}\n`)
    process.exitCode = EXIT_ERROR
    return
  }
  print(text)
  const bad = found.tables.filter((t) => t.error !== undefined)
  for (const t of bad) process.stderr.write(`atomic-dict inspect: process ${pid}: fd ${t.fd}: ${t.error}\n`)
  if (bad.length > 0) {
    process.exitCode = EXIT_ERROR
  } else if (found.tables.length === 0) {
    const n = found.descriptors
    const unread = found.unreadable > 0 ? `; ${found.unreadable} could not be read` : ''
    process.stderr.write(
      `atomic-dict inspect: process ${pid} holds no atomic-dict table (${n} open ${n === 1 ? 'descriptor' : 'descriptors'}${unread})\n`,
    )
    process.exitCode = EXIT_NO_TABLE
  }
}

main(process.argv.slice(2))
