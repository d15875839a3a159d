'use strict'
// The Python seed's README example, in Node: a table of 1 Mi capacity, 8
// worker processes, 16 tasks of 32 Ki iterations; each iteration takes a
// ticket `idx = add(1, 1)` and records `store(100 + idx, workerId)`.
// Then it checks the result exactly and prints the work phase's speed.
//
// Run: npm run example   (or: node examples/tickets.js [workers] [tasks] [iterations])

const { performance } = require('node:perf_hooks')
const { AtomicDict, fork } = require('..')

const isWorker = (process.argv[2] ?? '').startsWith('worker:')
const [WORKERS = 8, TASKS = 16, ITERATIONS = 32 * 1024] = process.argv.slice(isWorker ? 3 : 2).map(Number)

function worker() {
  const dict = AtomicDict.inherit('dict')
  const tasks = AtomicDict.inherit('tasks')
  const id = BigInt(process.argv[2].slice('worker:'.length))
  // Warm up the JIT on a private table before the start signal, so the work
  // phase measures the table, not V8's tiering (the seed's workers are C).
  const scratch = new AtomicDict(1 << 14)
  for (let i = 0; i < 10_000; i++) scratch.store(100n + scratch.add(1n, 1n), id)
  scratch.close()
  process.send({ ready: true })
  process.once('message', () => {
    const start = performance.timeOrigin + performance.now()
    let done = 0
    // Tasks are handed out by the table itself: each worker takes the next
    // task number until they run out, like a multiprocessing.Pool.
    while (tasks.add(1n, 1n) < BigInt(TASKS)) {
      for (let i = 0; i < ITERATIONS; i++) {
        const idx = dict.add(1n, 1n)
        dict.store(100n + idx, id)
      }
      done++
    }
    const end = performance.timeOrigin + performance.now()
    process.send({ start, end, done })
    process.disconnect()
  })
}

async function main() {
  const total = TASKS * ITERATIONS
  const dict = new AtomicDict(1024 * 1024)
  const tasks = new AtomicDict(1)
  const children = []
  for (let w = 1; w <= WORKERS; w++) {
    const args = [`worker:${w}`, ...process.argv.slice(2)]
    children.push(fork(__filename, args, { share: { dict, tasks } }))
  }
  const next = (child) => new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('error', reject)
  })
  await Promise.all(children.map(next))
  const reports = children.map(next)
  for (const child of children) child.send('go')
  const results = await Promise.all(reports)

  // Exact checks: one counter, every ticket recorded once by a real worker.
  const failures = []
  const counter = dict.get(1n)
  if (counter !== BigInt(total)) failures.push(`counter is ${counter}, expected ${total}`)
  for (let idx = 0; idx < total; idx++) {
    const v = dict.get(100n + BigInt(idx))
    if (v === undefined || v < 1n || v > BigInt(WORKERS)) {
      failures.push(`key ${100 + idx} holds ${v}`)
      if (failures.length > 10) break
    }
  }
  const keys = new Set(dict.keys())
  if (keys.size !== total + 1 || dict.size !== total + 1) {
    failures.push(`${keys.size} distinct keys iterated, size ${dict.size}, expected ${total + 1}`)
  }
  const tasksDone = results.reduce((n, r) => n + r.done, 0)
  if (tasksDone !== TASKS) failures.push(`${tasksDone} tasks done, expected ${TASKS}`)

  const seconds = (Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start))) / 1000
  const ops = 2 * total // an add and a store per iteration
  console.log(`${WORKERS} workers, ${TASKS} tasks of ${ITERATIONS} iterations: counter = ${counter}`)
  console.log(`keys 100..${99 + total} each present once with a worker id: ${failures.length === 0 ? 'yes' : 'NO'}`)
  console.log(`work phase: ${ops} operations in ${seconds.toFixed(3)} s = ${(ops / seconds / 1e6).toFixed(2)} M ops/s`)
  if (failures.length) {
    console.error('FAILED:\n  ' + failures.join('\n  '))
    process.exitCode = 1
  }
}

if (isWorker) worker()
else main()
