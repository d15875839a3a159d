'use strict'
// The platform names of napi-rs (linux-x64-gnu, linux-arm64-musl, ...) and
// the packages that ship a prebuilt addon for them (npm/<platform>/). Used by
// the loader (lib/binding.js) and the install script (scripts/install.js).

/**
 * glibc or musl: /usr/bin/ldd's text first (what napi-rs's loader and
 * detect-libc read; 0.2 ms), else the process report's glibcVersionRuntime,
 * without its network section (report.excludeNetwork, Node >= 20.13):
 * building that section does reverse DNS lookups, which can hang a process
 * for seconds (nodejs/node#46060).
 */
function isGlibc() {
  try {
    const ldd = require('node:fs').readFileSync('/usr/bin/ldd', 'latin1')
    if (ldd.includes('musl')) return false
    if (ldd.includes('GNU C Library') || ldd.includes('GLIBC')) return true
  } catch {
    // No ldd (a distroless image, say): ask the process report.
  }
  return glibcVersion() !== undefined
}

/** The runtime glibc version from the process report ('2.36'), undefined on musl or without a report. */
function glibcVersion() {
  const report = process.report
  const excluded = report && report.excludeNetwork
  try {
    report.excludeNetwork = true
    return report.getReport().header.glibcVersionRuntime
  } catch {
    return undefined
  } finally {
    if (report) report.excludeNetwork = excluded
  }
}

/** This process's platform as napi-rs names it: linux-x64-gnu, linux-arm64-musl, ... */
function platformName() {
  let name = `${process.platform}-${process.arch}`
  if (process.platform === 'linux') name += isGlibc() ? '-gnu' : '-musl'
  return name
}

/** The package that provides the prebuilt addon of platform `name`. */
function platformPackage(name = platformName()) {
  return `@atomic-dict/${name}`
}

/**
 * The installed platform package `pkg` as seen from `from` (a directory
 * whose node_modules lookup applies; default: this package's): { file (its
 * addon), version }, { broken (the error), manifest } when it is there but
 * unreadable, or null when it is not installed.
 */
function installedPrebuilt(pkg, from = __dirname) {
  let manifest
  try {
    manifest = require.resolve(`${pkg}/package.json`, { paths: [from] })
  } catch (err) {
    if (err.code === 'MODULE_NOT_FOUND') return null
    // Resolving reads the manifest: one that does not parse fails here.
    return { broken: err, manifest: `${pkg}/package.json` }
  }
  // A broken package (a manifest that does not parse, an addon missing)
  // is reported as one, not as the resolver's error.
  let version, file
  try {
    version = JSON.parse(require('node:fs').readFileSync(manifest, 'utf8')).version
    file = require.resolve(pkg, { paths: [from] })
  } catch (err) {
    return { broken: err, manifest }
  }
  return { file, version }
}

/** The platforms with a prebuilt package: the others are built from source. */
const PREBUILT = ['linux-x64-gnu']

module.exports = { platformName, platformPackage, installedPrebuilt, isGlibc, glibcVersion, PREBUILT }
