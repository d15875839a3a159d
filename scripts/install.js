#!/usr/bin/env node
'use strict'
// The install script. In a project that depends on atomic-dict: does
// nothing, silently, when the prebuilt addon of this platform (the optional
// dependency @atomic-dict/<platform>, lib/platform.js) is installed and loads;
// otherwise builds the addon from source with cargo (scripts/build.js) into a
// temporary CARGO_TARGET_DIR outside node_modules, copies the .node to the
// package root and removes the temporary directory, also when the build
// fails: no target/ is left in node_modules/atomic-dict. Without cargo it
// says what was looked for and exits 1.
// In a checkout (the package is not under node_modules) it always builds
// from source, into ./target, as `npm run build` does: a checkout never
// relies on a registry package of the platform package's name.

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { platformName, platformPackage, installedPrebuilt, PREBUILT } = require('../lib/platform')

const root = path.join(__dirname, '..')
const inCheckout = !path.resolve(root).split(path.sep).includes('node_modules')
const build = path.join(__dirname, 'build.js')

/** Whether the platform package of this version is installed and its addon loads here. */
function prebuiltLoads() {
  try {
    const installed = installedPrebuilt(platformPackage(), root)
    if (installed === null || installed.version !== require('../package.json').version) return false
    require(installed.file)
    return true
  } catch {
    return false
  }
}

if (inCheckout) {
  const r = spawnSync(process.execPath, [build], { cwd: root, stdio: 'inherit' })
  process.exit(r.status === null ? 1 : r.status)
}

if (prebuiltLoads()) process.exit(0)

const name = platformName()
const pkg = platformPackage(name)
const why = PREBUILT.includes(name)
  ? `the prebuilt addon ${pkg} is not installed or does not load here`
  : `there is no prebuilt addon for ${name}`
const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
if (cargo.error || cargo.status !== 0) {
  console.error(
    `atomic-dict: ${why}, so it must be built from source, which needs Rust's cargo ` +
      `(https://rustup.rs), and cargo ${cargo.error ? `cannot run: ${cargo.error.message}` : `--version failed`}. ` +
      `Install Rust and run \`npm rebuild atomic-dict\`${PREBUILT.includes(name) ? `, or install without omitting the optional dependency ${pkg}` : ''}.`,
  )
  process.exit(1)
}

console.error(`atomic-dict: ${why}: building it from source with ${cargo.stdout.trim()}`)
const targetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-build-'))
// The build (scripts/build.js, cargo, rustc) runs in a process group of its
// own, so that a signal to this script (Ctrl-C reaching npm's group, or a
// kill of this process alone) stops all of it: it is passed on to the whole
// group, and once the build has exited the directory (about 100 MB) is
// removed and this script exits as a shell reports a signal, 128 + its
// number. Retries cover files a dying rustc writes as the removal runs.
const child = spawn(process.execPath, [build], {
  cwd: root,
  stdio: 'inherit',
  detached: true,
  env: { ...process.env, CARGO_TARGET_DIR: targetDir },
})
let caught
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    caught ??= signal
    try {
      process.kill(-child.pid, signal)
    } catch {
      // The group is gone already.
    }
  })
}
function finish(status) {
  fs.rmSync(targetDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
  process.exit(status)
}
child.on('error', (err) => {
  console.error(`atomic-dict: cannot run the build: ${err.message}`)
  finish(1)
})
child.on('exit', (code, signal) => {
  const stopped = caught ?? signal
  finish(stopped ? 128 + os.constants.signals[stopped] : (code ?? 1))
})
