'use strict'
// The loader (lib/binding.js) and the install script's helpers: with neither
// a build from source nor the platform package, one ERR_DLOPEN_FAILED that
// names the platform, the package and how to build; the platform name from
// process.platform/arch and glibc; scripts/check-glibc.js on the addon.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { platformName, platformPackage } = require('../lib/platform')
const { glibcFloor, compare } = require('../scripts/check-glibc')

const root = path.join(__dirname, '..')

test('the platform is named as napi-rs names it', () => {
  const glibc = process.report.getReport().header.glibcVersionRuntime
  assert.equal(platformName(), `${process.platform}-${process.arch}${glibc ? '-gnu' : '-musl'}`)
  assert.equal(platformPackage('linux-x64-gnu'), '@atomic-dict/linux-x64-gnu')
})

test('without a local build or the platform package: one ERR_DLOPEN_FAILED saying what was looked for', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-loader-'))
  try {
    copyPackage(dir)
    const code =
      "try { require('./lib/binding'); console.log('loaded') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"
    const out = JSON.parse(childProcess.execFileSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8' }))
    assert.equal(out.code, 'ERR_DLOPEN_FAILED')
    assert.match(out.message, new RegExp(`no native addon for ${platformName()}`))
    assert.match(out.message, new RegExp(platformPackage()))
    assert.match(out.message, /npm rebuild atomic-dict/)
    assert.match(out.message, /npm run build/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('check-glibc reads the GLIBC_ versions the addon needs', () => {
  const { highest, versions } = glibcFloor(path.join(root, 'atomic-dict.node'))
  assert.ok(versions.includes('2.2.5'), versions.join(' '))
  assert.equal(highest, versions[versions.length - 1])
  assert.ok(compare('2.34', '2.28') > 0 && compare('2.28', '2.28') === 0 && compare('2.2.5', '2.28') < 0)
  const objdump = childProcess.spawnSync('objdump', ['-T', path.join(root, 'atomic-dict.node')], { encoding: 'utf8' })
  if (objdump.status === 0) {
    const seen = [...new Set(objdump.stdout.match(/GLIBC_[0-9.]+/g))].map((v) => v.slice(6)).sort(compare)
    assert.equal(seen[seen.length - 1], highest)
  }
})

/** The package's JS (lib/ and package.json) in `dir`, without any addon. */
function copyPackage(dir) {
  fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true })
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'))
}

/** A platform package in `dir`'s node_modules: `version`, its addon `addon` (a path to copy) or junk. */
function platformPackageIn(dir, { version = require('../package.json').version, addon } = {}) {
  const pkg = path.join(dir, 'node_modules', platformPackage())
  fs.mkdirSync(pkg, { recursive: true })
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: platformPackage(), version, main: 'x.node' }))
  if (addon) fs.copyFileSync(addon, path.join(pkg, 'x.node'))
  else fs.writeFileSync(path.join(pkg, 'x.node'), 'not an ELF file')
  return pkg
}

/** What requiring the loader in `dir` gives: 'loaded' and the file it loaded, or the error. */
function loadIn(dir) {
  const code = `
    try {
      require('./lib/binding')
      const nodes = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
      console.log(JSON.stringify({ loaded: nodes }))
    } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, cause: e.cause && e.cause.message })) }`
  return JSON.parse(childProcess.execFileSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8' }))
}

function inTempDir(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-loader-'))
  try {
    fn(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

test('a platform package whose addon does not load: ERR_DLOPEN_FAILED with the loader error as the cause', () => {
  inTempDir((dir) => {
    copyPackage(dir)
    platformPackageIn(dir)
    const out = loadIn(dir)
    assert.equal(out.code, 'ERR_DLOPEN_FAILED')
    assert.match(out.message, /cannot load its prebuilt native addon .*x\.node/)
    // Not a glibc problem: the message does not blame glibc.
    assert.doesNotMatch(out.message, /needs glibc/)
    assert.match(out.message, /pnpm rebuild atomic-dict/)
    assert.match(out.cause, /x\.node/)
  })
})

test('a platform package of another version is refused, naming both versions', () => {
  inTempDir((dir) => {
    copyPackage(dir)
    platformPackageIn(dir, { version: '0.0.9', addon: path.join(root, 'atomic-dict.node') })
    const out = loadIn(dir)
    assert.equal(out.code, 'ERR_DLOPEN_FAILED')
    assert.match(out.message, new RegExp(`${platformPackage()} 0\\.0\\.9 is installed, but atomic-dict ${require('../package.json').version.replace(/\./g, '\\.')} needs`))
  })
})

test('the platform package serves when the local build does not load (a node_modules copied from elsewhere); a good local build wins', () => {
  inTempDir((dir) => {
    copyPackage(dir)
    const pkg = platformPackageIn(dir, { addon: path.join(root, 'atomic-dict.node') })
    fs.writeFileSync(path.join(dir, 'atomic-dict.node'), 'built for another system')
    assert.deepEqual(loadIn(dir), { loaded: [fs.realpathSync(path.join(pkg, 'x.node'))] })
    fs.copyFileSync(path.join(root, 'atomic-dict.node'), path.join(dir, 'atomic-dict.node'))
    assert.deepEqual(loadIn(dir), { loaded: [path.join(fs.realpathSync(dir), 'atomic-dict.node')] })
    // Neither loads: the local build's error, which is the one to fix.
    fs.writeFileSync(path.join(dir, 'atomic-dict.node'), 'built for another system')
    fs.writeFileSync(path.join(pkg, 'x.node'), 'junk')
    const out = loadIn(dir)
    assert.equal(out.code, 'ERR_DLOPEN_FAILED')
    assert.match(out.message, /built from source here/)
  })
})

for (const [how, signal, status] of [['Ctrl-C (its whole process group)', 'SIGINT', 130], ['a SIGTERM to it alone', 'SIGTERM', 143]])
test(`the install script, stopped by ${how} while cargo builds, stops the build, removes its temporary target directory and exits ${status}`, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-install-'))
  try {
    // The package as installed (under node_modules, so not a checkout), no prebuilt.
    const pkg = path.join(dir, 'project', 'node_modules', 'atomic-dict')
    copyPackage(pkg)
    fs.mkdirSync(path.join(pkg, 'scripts'))
    for (const f of ['install.js', 'build.js']) fs.copyFileSync(path.join(root, 'scripts', f), path.join(pkg, 'scripts', f))
    // A cargo that answers --version and then builds for a long time.
    const bin = path.join(dir, 'bin')
    fs.mkdirSync(bin)
    fs.writeFileSync(path.join(bin, 'cargo'), '#!/bin/sh\nif [ "$1" = --version ]; then echo "cargo 1.0.0 (fake)"; exit 0; fi\nexec sleep 30\n', { mode: 0o755 })
    const tmp = path.join(dir, 'tmp')
    fs.mkdirSync(tmp)
    const child = childProcess.spawn(process.execPath, [path.join(pkg, 'scripts', 'install.js')], {
      cwd: pkg,
      detached: true, // its own process group, as npm runs it: the signal reaches cargo too
      stdio: 'ignore',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, TMPDIR: tmp },
    })
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
    const building = () => fs.readdirSync(tmp).filter((f) => f.startsWith('atomic-dict-build-'))
    for (let i = 0; i < 200 && building().length === 0; i++) await new Promise((r) => setTimeout(r, 50))
    assert.equal(building().length, 1, 'the build never started')
    await new Promise((r) => setTimeout(r, 200)) // cargo is running
    process.kill(signal === 'SIGINT' ? -child.pid : child.pid, signal)
    assert.deepEqual(await exited, { code: status, signal: null })
    assert.deepEqual(building(), [])
    assert.equal(fs.existsSync(path.join(pkg, 'atomic-dict.node')), false, 'a stopped build left an addon')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('check-glibc refuses a truncated file plainly, and a GLIBC_ name that is no version number', () => {
  inTempDir((dir) => {
    const check = (file) => childProcess.spawnSync(process.execPath, [path.join(root, 'scripts', 'check-glibc.js'), file, '--max', '9.99'], { encoding: 'utf8' })
    const bytes = fs.readFileSync(path.join(root, 'atomic-dict.node'))
    for (const [name, length] of [['three', 3], ['header-only', 64], ['cut', 5000]]) {
      const file = path.join(dir, name)
      fs.writeFileSync(file, bytes.subarray(0, length))
      const r = check(file)
      assert.equal(r.status, 1, `${name}: ${r.stderr}`)
      assert.match(r.stderr, /is not an ELF shared object this check can read/)
      assert.doesNotMatch(r.stderr, /at .*check-glibc\.js/, 'a stack trace')
    }
    // GLIBC_2.2.5 renamed GLIBC_ABI_XY (as GLIBC_ABI_DT_RELR stands for 2.36): refused.
    const patched = Buffer.from(bytes)
    const at = patched.indexOf('GLIBC_2.2.5\0')
    assert.ok(at > 0)
    patched.write('GLIBC_ABI_X', at, 'latin1')
    fs.writeFileSync(path.join(dir, 'relr'), patched)
    assert.deepEqual(glibcFloor(path.join(dir, 'relr')).others, ['GLIBC_ABI_X'])
    const r = check(path.join(dir, 'relr'))
    assert.equal(r.status, 1)
    assert.match(r.stderr, /needs GLIBC_ABI_X, which only a newer glibc/)
  })
})

test('a platform package without its addon (or with a broken manifest) is ERR_DLOPEN_FAILED saying so, not the resolver\'s error', () => {
  inTempDir((dir) => {
    copyPackage(dir)
    const pkg = platformPackageIn(dir)
    fs.rmSync(path.join(pkg, 'x.node'))
    let out = loadIn(dir)
    assert.equal(out.code, 'ERR_DLOPEN_FAILED')
    assert.match(out.message, /is installed \(.*package\.json\) but broken: Cannot find module/)
    fs.writeFileSync(path.join(pkg, 'package.json'), '{ not json')
    out = loadIn(dir)
    assert.equal(out.code, 'ERR_DLOPEN_FAILED')
    assert.match(out.message, /but broken: .*JSON/)
  })
})

test('check-glibc refuses an addon for another machine, an executable, and a version name past the end of the file', () => {
  inTempDir((dir) => {
    const bytes = fs.readFileSync(path.join(root, 'atomic-dict.node'))
    const check = (buf, name) => {
      fs.writeFileSync(path.join(dir, name), buf)
      return childProcess.spawnSync(process.execPath, [path.join(root, 'scripts', 'check-glibc.js'), path.join(dir, name), '--max', '9.99'], { encoding: 'utf8' })
    }
    const arm = Buffer.from(bytes)
    arm.writeUInt16LE(183, 0x12) // EM_AARCH64
    let r = check(arm, 'arm')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /built for machine 183, not x86-64/)
    const exe = Buffer.from(bytes)
    exe.writeUInt16LE(2, 0x10) // ET_EXEC
    r = check(exe, 'exe')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /not a shared object/)
    assert.equal(check(bytes, 'good').status, 0)
  })
})
