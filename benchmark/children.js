'use strict'
// What the benchmark's multi-process sections share about their child processes.

/**
 * The next message of `child` that `test` accepts; rejects if the child
 * exits first (`what` names it in the error).
 */
function nextMessage(child, test, what = 'worker') {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (!test(m)) return
      cleanup()
      resolve(m)
    }
    const onExit = (code) => {
      cleanup()
      reject(new Error(`${what} exited with ${code}`))
    }
    const cleanup = () => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

module.exports = { nextMessage }
