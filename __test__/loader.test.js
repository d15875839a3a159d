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
    fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true })
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

test('a platform package whose addon does not load: ERR_DLOPEN_FAILED with the loader error as the cause', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-loader-'))
  try {
    fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true })
    const pkg = path.join(dir, 'node_modules', platformPackage())
    fs.mkdirSync(pkg, { recursive: true })
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: platformPackage(), main: 'x.node' }))
    fs.writeFileSync(path.join(pkg, 'x.node'), 'not an ELF file')
    const code =
      "try { require('./lib/binding'); console.log('loaded') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, cause: e.cause && e.cause.message })) }"
    const out = JSON.parse(childProcess.execFileSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8' }))
    assert.equal(out.code, 'ERR_DLOPEN_FAILED')
    assert.match(out.message, /cannot load its prebuilt native addon .*x\.node/)
    assert.match(out.message, /needs glibc 2\.28 or later; this system has glibc \d/)
    assert.match(out.cause, /x\.node/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
