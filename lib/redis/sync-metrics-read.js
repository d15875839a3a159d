'use strict'
// The global totals of metrics stores synced to Redis (lib/redis/sync-metrics.js,
// docs/SYNC.md "Metrics") as a Prometheus text exposition (format 0.0.4):
// what every host's counters and histograms add up to, as of each host's
// last flush. Any process can read it, synced or not: it needs the Redis
// name only.
//
// One script reads the three hashes at once (a consistent snapshot: a
// histogram's buckets and sum from the same batches):
//   "{t}:d"  "<g>:<field>" -> 16 hex digits: histogram bucket counts
//   "{t}:f"  "<g>:<field>" -> a float in decimal: counter values, histogram sums
//   "{t}:s"  part -> string: synced series <g>, descriptors, help texts

const crypto = require('node:crypto')
const { adapt } = require('./client')
const { tableName, commandError } = require('./redis-table')

const SOURCE = "return { redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]) }"
const READ = { source: SOURCE, sha: crypto.createHash('sha1').update(SOURCE).digest('hex') }

/** FIELD.VALUE and FIELD.BUCKET of lib/metrics/series.js. */
const VALUE = 1
const BUCKET = 2

/** A hash as HGETALL answers it ([f, v, ...], or an object from some clients): [[f, v], ...]. */
function pairs(reply) {
  if (Array.isArray(reply)) {
    const out = []
    for (let i = 0; i < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])])
    return out
  }
  return Object.entries(reply ?? {}).map(([f, v]) => [f, String(v)])
}

function json(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The strings of "{t}:s": synced series by part, descriptors by part, help texts by metric name. */
function readStrings(list) {
  const synced = new Map()
  const descriptors = new Map()
  const helps = new Map()
  for (const [part, text] of list) {
    const s = json(text)
    if (s === null || typeof s !== 'object') continue
    const kind = s['atomic-dict-metrics']
    if (kind === 'synced' && typeof s.descriptor === 'string' && Array.isArray(s.series) && typeof s.series[0] === 'string') {
      synced.set(part, { descriptor: s.descriptor, name: s.series[0], values: s.series.slice(1) })
    } else if (kind === 'descriptor' && typeof s.name === 'string' && Array.isArray(s.labelNames)) {
      descriptors.set(part, s)
    } else if (kind === 'help' && typeof s.name === 'string' && typeof s.help === 'string') {
      if (!helps.has(s.name)) helps.set(s.name, [])
      helps.get(s.name).push(s.help)
    }
  }
  return { synced, descriptors, helps }
}

function escapeHelp(s) {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function escapeLabel(s) {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function number(v) {
  if (typeof v === 'bigint') return v.toString()
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

/** `{a="x",b="y"}` of the [name, value] pairs (sorted by name), plus `extra`. */
function labelText(labels, extra = '') {
  const all = labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  if (extra !== '') all.push(extra)
  return all.length === 0 ? '' : `{${all.join(',')}}`
}

/**
 * The families the hashes hold: name -> { type, help, buckets (a
 * histogram's bounds), series: Map(label text -> { labels, value | sum and
 * counts }), conflict (why the hosts' declarations cannot be added) }.
 */
function families(data, floats, strings) {
  const { synced, descriptors, helps } = readStrings(strings)
  const out = new Map()
  const seriesOf = (g) => {
    const s = synced.get(g)
    const d = s === undefined ? undefined : descriptors.get(s.descriptor)
    if (d === undefined || d.name !== s.name || (d.type !== 'counter' && d.type !== 'histogram')) return null
    let f = out.get(d.name)
    if (f === undefined) {
      const help = (helps.get(d.name) ?? []).sort()[0] ?? `${d.name} (synced by atomic-dict)`
      f = { name: d.name, type: d.type, help, buckets: d.buckets, descriptors: new Set(), series: new Map(), conflict: null }
      out.set(d.name, f)
    }
    f.descriptors.add(s.descriptor)
    if (f.conflict === null) {
      if (d.type !== f.type) f.conflict = `a ${f.type} on some hosts, a ${d.type} on others`
      else if (d.type === 'histogram' && JSON.stringify(d.buckets) !== JSON.stringify(f.buckets)) {
        f.conflict = `buckets ${JSON.stringify(f.buckets)} on some hosts, ${JSON.stringify(d.buckets)} on others`
      }
    }
    // Hosts may list a metric's labels differently (a label added): the
    // same label values, whatever the declaration, are one series.
    const labels = []
    d.labelNames.forEach((label, i) => {
      if (typeof s.values[i] === 'string') labels.push([label, s.values[i]])
    })
    labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    const key = labelText(labels)
    let series = f.series.get(key)
    if (series === undefined) {
      series = { labels, value: 0, counts: d.type === 'histogram' ? new Array(d.buckets.length + 1).fill(0n) : null }
      f.series.set(key, series)
    }
    return { f, series, d }
  }
  for (const [field, v] of floats) {
    const at = field.lastIndexOf(':')
    if (Number(field.slice(at + 1)) !== VALUE) continue
    const found = seriesOf(field.slice(0, at))
    if (found !== null) found.series.value += Number(v)
  }
  for (const [field, v] of data) {
    const at = field.lastIndexOf(':')
    const i = Number(field.slice(at + 1)) - BUCKET
    const found = seriesOf(field.slice(0, at))
    if (found === null || found.d.type !== 'histogram' || !(i >= 0 && i < found.series.counts.length) || !/^[0-9a-f]{16}$/.test(v)) continue
    found.series.counts[i] += BigInt('0x' + v)
  }
  return out
}

/** The exposition of `fams` (families() output), families by name, series by labels. */
function render(fams) {
  const lines = []
  for (const f of [...fams.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (f.conflict !== null) {
      lines.push(`# atomic-dict: ${f.name} left out: hosts declare it differently (${f.conflict}); give a changed metric a new name`)
      continue
    }
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    const series = [...f.series.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1])
    for (const s of series) {
      if (f.type === 'counter') {
        lines.push(`${f.name}${labelText(s.labels)} ${number(s.value)}`)
        continue
      }
      let count = 0n
      f.buckets.forEach((bound, i) => {
        count += s.counts[i]
        lines.push(`${f.name}_bucket${labelText(s.labels, `le="${number(bound)}"`)} ${count}`)
      })
      count += s.counts[f.buckets.length]
      lines.push(`${f.name}_bucket${labelText(s.labels, 'le="+Inf"')} ${count}`)
      lines.push(`${f.name}_sum${labelText(s.labels)} ${number(s.value)}`)
      lines.push(`${f.name}_count${labelText(s.labels)} ${count}`)
    }
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n'
}

/**
 * The global totals of the metrics stores synced to Redis as `name`
 * (syncToRedis(store, client, name)), as a Prometheus text exposition:
 * counters and histograms with their labels, HELP and TYPE lines, families
 * by name. A metric declared differently by hosts (another type, other
 * buckets) is left out, with a comment line saying why.
 */
function readSyncedMetrics(client, name) {
  return readMetrics(adapt(client), tableName(name))
}

/** readSyncedMetrics through `c`, a client adapted already (lib/redis/client.js), of the checked name `n`. */
async function readMetrics(c, n) {
  let r
  try {
    r = await c.script(READ, [`{${n}}:d`, `{${n}}:f`, `{${n}}:s`], [])
  } catch (err) {
    throw commandError(err, `reading the synced metrics of ${JSON.stringify(n)}`)
  }
  return render(families(pairs(r[0]), pairs(r[1]), pairs(r[2])))
}

module.exports = { readSyncedMetrics, readMetrics }
