'use strict'
// tinybench passes, shared by benchmark/single.js and benchmark/metrics.js.

/**
 * Runs `tasks` ([{ id, batch, body }]: `body(batch)` runs `batch`
 * operations and returns the milliseconds they took) in `passes` tinybench
 * passes of `time` ms per task, alternating the order of the list from pass
 * to pass so no task always runs at the same point. Returns a Map of task id
 * to one summary per pass: { medianNs, meanNs, rmePercent, samples } per
 * operation. `onPass(pass)` is called after each.
 */
async function runPasses(tasks, { passes, time, onPass = () => {} }) {
  const { Bench } = await import('tinybench')
  const runs = new Map()
  for (let pass = 1; pass <= passes; pass++) {
    const bench = new Bench({ time, warmupTime: 100, iterations: 16, warmupIterations: 8 })
    for (const { id, batch, body } of pass % 2 ? tasks : [...tasks].reverse()) {
      bench.add(id, () => {
        const ms = body(batch)
        return { overriddenDuration: ms / batch, overriddenIterationCost: ms }
      }, { async: false })
    }
    await bench.run()
    for (const task of bench.tasks) {
      const r = task.result
      if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state} ${r.error?.stack ?? ''}`)
      const list = runs.get(task.name) ?? []
      list.push({ medianNs: r.latency.p50 * 1e6, meanNs: r.latency.mean * 1e6, rmePercent: r.latency.rme, samples: r.latency.samplesCount })
      runs.set(task.name, list)
    }
    onPass(pass)
  }
  return runs
}

module.exports = { runPasses }
