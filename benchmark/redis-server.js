'use strict'
// What the benchmarks that need a Redis share: finding redis-server on PATH
// and starting one on a free loopback port in a temporary directory,
// stopped by pid (and SIGKILLed if this process exits first).

const childProcess = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const HOST = '127.0.0.1'

/** The executable `name` on PATH, or null. */
function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const file = path.join(dir, name)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      if (fs.statSync(file).isFile()) return file
    } catch {
      // not here
    }
  }
  return null
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, HOST, () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Starts redis-server `bin` in a new temporary directory (named from `prefix`); resolves with { child, pid, port, stop() } once it accepts connections. */
async function startRedis(bin, prefix = 'atomic-dict-bench-redis-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  const port = await freePort()
  const child = childProcess.spawn(bin, ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL')
  }
  process.once('exit', kill)
  let out = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s: ${out.trim().slice(-400)}`)), 10_000)
    const onData = (d) => {
      out += d
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        child.off('exit', onExit)
        resolve()
      }
    }
    const onExit = (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited (${code}): ${out.trim().slice(-400)}`))
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', onExit)
  })
  child.stdout.resume()
  child.stderr.resume()
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      process.kill(child.pid, 'SIGTERM')
      await exited
    }
    process.off('exit', kill)
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return { child, pid: child.pid, port, stop }
}

module.exports = { HOST, findOnPath, freePort, startRedis }
