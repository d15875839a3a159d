'use strict'
// Walking a table's hash with HSCAN (docs/REDIS.md, "Iteration"). HSCAN
// returns every field present from start to end at least once, and may
// return one twice (when the hash grows meanwhile): fields already given
// are remembered and skipped, so each key comes once.

const { commandError } = require('./redis-table')

/** Fields per HSCAN call (a hint to Redis). */
const COUNT = '512'

/**
 * Async iterator of [field, value, strings] over `table`'s hash: `strings`
 * is null, or (when `withStrings`) a Map from the decimal string parts of
 * this batch's keys to their strings (from the "{t}:s" hash).
 */
async function* scan(table, withStrings) {
  await table.ready()
  const client = table.client
  const seen = new Set()
  let cursor = '0'
  do {
    let reply
    try {
      reply = await client.send(['HSCAN', table.data, cursor, 'COUNT', COUNT])
    } catch (err) {
      throw commandError(err, 'iteration', 'once')
    }
    cursor = String(reply[0])
    const flat = reply[1]
    const batch = []
    for (let i = 0; i < flat.length; i += 2) {
      const field = String(flat[i])
      if (seen.has(field)) continue
      seen.add(field)
      batch.push(field, String(flat[i + 1]))
    }
    const strings = withStrings ? await stringsOf(table, batch) : null
    for (let i = 0; i < batch.length; i += 2) yield [batch[i], batch[i + 1], strings]
  } while (cursor !== '0')
}

/** The strings of the 64-bit parts among `batch`'s fields (field, value, field, ...). */
async function stringsOf(table, batch) {
  const parts = new Set()
  for (let i = 0; i < batch.length; i += 2) for (const p of batch[i].split(':')) parts.add(p)
  const map = new Map()
  if (parts.size === 0) return map
  const list = [...parts]
  let found
  try {
    found = await table.client.send(['HMGET', table.strings, ...list])
  } catch (err) {
    throw commandError(err, 'iteration', 'once')
  }
  for (let i = 0; i < list.length; i++) if (found[i] !== null && found[i] !== undefined) map.set(list[i], String(found[i]))
  return map
}

module.exports = { scan }
