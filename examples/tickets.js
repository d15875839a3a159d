'use strict'
// The Python seed's README example, in Node: a table of 1 Mi capacity, 8
// worker processes, 16 tasks of 32 Ki iterations; each iteration takes a
// ticket `idx = add(1, 1)` and records `store(100 + idx, workerId)`.
// Then it checks the result exactly and prints the work phase's speed.
//
// Run: npm run example   (or: node examples/tickets.js [workers] [tasks] [iterations])

const { AtomicDict, Latch, fork } = require('..')

const isWorker = (process.argv[2] ?? '').startsWith('worker:')
const [WORKERS = 8, TASKS = 16, ITERATIONS = 32 * 1024] = process.argv.slice(isWorker ? 3 : 2).map(Number)
// Keys of the small 'tasks' table: the next task number, and the start line.
const NEXT_TASK = 1n
const START = 2n

// Milliseconds on CLOCK_MONOTONIC (process.hrtime), the one clock every
// process of the machine reads alike: performance.timeOrigin + performance.now()
// is off by up to a few ms from one process to another.
const clock = () => Number(process.hrtime.bigint()) / 1e6

function worker() {
  const dict = AtomicDict.inherit('dict')
  const tasks = AtomicDict.inherit('tasks')
  const id = BigInt(process.argv[2].slice('worker:'.length))
  // Warm up the JIT on a private table before the start line, so the work
  // phase measures the table, not V8's tiering (the seed's workers are C).
  const scratch = new AtomicDict(1 << 14)
  for (let i = 0; i < 10_000; i++) scratch.store(100n + scratch.add(1n, 1n), id)
  scratch.close()
  // Every worker starts its work phase together: the last one to arrive at
  // the latch wakes the others (they sleep in the kernel meanwhile).
  new Latch(tasks, START, WORKERS).arriveAndWait()
  const start = clock()
  let done = 0
  // Tasks are handed out by the table itself: each worker takes the next
  // task number until they run out, like a multiprocessing.Pool.
  while (tasks.add(NEXT_TASK, 1n) < BigInt(TASKS)) {
    for (let i = 0; i < ITERATIONS; i++) {
      const idx = dict.add(1n, 1n)
      dict.store(100n + idx, id)
    }
    done++
  }
  const end = clock()
  process.send({ start, end, done })
  process.disconnect()
}

async function main() {
  const total = TASKS * ITERATIONS
  const dict = new AtomicDict(1024 * 1024)
  const tasks = new AtomicDict(2)
  const children = []
  for (let w = 1; w <= WORKERS; w++) {
    const args = [`worker:${w}`, ...process.argv.slice(2)]
    children.push(fork(__filename, args, { share: { dict, tasks } }))
  }
  const reports = children.map(
    (child) =>
      new Promise((resolve, reject) => {
        child.once('message', resolve)
        child.once('error', reject)
        // A worker that dies before reporting (its message may still be on the way for 500 ms).
        child.once('exit', (code, signal) => {
          setTimeout(() => reject(new Error(`worker exited with ${signal ?? code} before reporting`)), 500)
        })
      }),
  )
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
