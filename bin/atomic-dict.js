#!/usr/bin/env node
'use strict'
// The atomic-dict command: `npx atomic-dict inspect <path>` describes the
// table in a named file (see lib/inspect.js). Exit status: 0 done, 1 an
// error (one line on stderr, naming the file), 2 bad usage.

const { parseArgs } = require('node:util')

const USAGE = `Usage: atomic-dict inspect <path> [--json] [--limit <n>]
       atomic-dict --help

Describes the atomic-dict table in the file at <path> (made with
AtomicDict.open or AtomicSet.open): its geometry, size, load factor,
probe-length statistics, its string area (when it has one: bytes used,
strings, refusals), an audit of its rows, and its entries (with 64-bit
key parts its string area decodes shown as those strings, quoted).

The file is opened read-only and copied: inspecting needs only read
permission and never changes it. The copy is a point-in-time snapshot
of a table other processes may be changing.

Options:
  --json       print JSON instead of text (64-bit integers as decimal strings)
  --limit <n>  print at most n entries (default: all)
  --help       print this help
`

const EXIT_ERROR = 1
const EXIT_USAGE = 2

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
  const [command, path, ...extra] = positionals
  if (command === undefined) return usageError('a command is needed')
  if (command !== 'inspect') return usageError(`unknown command ${JSON.stringify(command)}`)
  if (path === undefined || path === '') return usageError('inspect needs the path of a table file')
  if (extra.length > 0) return usageError(`unexpected argument ${JSON.stringify(extra[0])}`)
  let limit
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit) || !Number.isSafeInteger(Number(values.limit))) {
      return usageError(`--limit must be a non-negative integer, got ${JSON.stringify(values.limit)}`)
    }
    limit = Number(values.limit)
  }

  let text
  try {
    const { inspect, toJSON, formatText } = require('../lib/inspect')
    const result = inspect(path, { limit })
    text = values.json ? toJSON(result) + '\n' : formatText(result)
  } catch (err) {
    let message = String((err && err.message) || err).replace(/^atomic-dict: /, '')
    if (!message.includes(path)) message = `${path}: ${message}`
    process.stderr.write(`atomic-dict inspect: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
    process.exitCode = EXIT_ERROR
    return
  }
  print(text)
}

main(process.argv.slice(2))
