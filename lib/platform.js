'use strict'
// The platform names of napi-rs (linux-x64-gnu, linux-arm64-musl, ...) and
// the packages that ship a prebuilt addon for them (npm/<platform>/). Used by
// the loader (lib/binding.js) and the install script (scripts/install.js).

/** This process's platform as napi-rs names it: glibc or musl from the process report. */
function platformName() {
  let name = `${process.platform}-${process.arch}`
  if (process.platform === 'linux') {
    let glibc = false
    try {
      glibc = Boolean(process.report.getReport().header.glibcVersionRuntime)
    } catch {
      // No report: say musl; the build from source works on both.
    }
    name += glibc ? '-gnu' : '-musl'
  }
  return name
}

/** The package that provides the prebuilt addon of platform `name`. */
function platformPackage(name = platformName()) {
  return `atomic-dict-${name}`
}

/** The platforms with a prebuilt package: the others are built from source. */
const PREBUILT = ['linux-x64-gnu']

module.exports = { platformName, platformPackage, PREBUILT }
