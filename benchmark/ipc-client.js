'use strict'
// The IPC peer's client: a counter kept in the parent process (as in a
// cluster primary: prom-client's AggregatorRegistry, rate-limiter-flexible's
// cluster mode), incremented by a request/response message per operation.
// Forked by benchmark/run.js with node:child_process (no shared memory).
//   argv: [round trips]

const { performance } = require('node:perf_hooks')

const N = Number(process.argv[2] ?? 3000)
const WARMUP = 300

let resolveReply = null
process.on('message', (m) => {
  if (m && m.value !== undefined && resolveReply) {
    const r = resolveReply
    resolveReply = null
    r(m.value)
  }
})

function increment() {
  return new Promise((resolve) => {
    resolveReply = resolve
    process.send({ op: 'incr' })
  })
}

async function main() {
  for (let i = 0; i < WARMUP; i++) await increment()
  const start = performance.now()
  let last = 0
  for (let i = 0; i < N; i++) last = await increment()
  const ms = performance.now() - start
  process.send({ done: true, ops: N, ms, last })
  process.disconnect()
}

main()
