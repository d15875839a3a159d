'use strict'
// Loads the native addon, in this order (napi-rs's convention, local build
// first):
//   1. atomic-dict.node at the package root: a build from source, made by
//      `npm run build` in a checkout or by the install script
//      (scripts/install.js) when no prebuilt binary matched. It exists only
//      if someone built it here, and preferring it means a checkout never
//      loads a registry package of the platform package's name instead.
//   2. the platform package of this platform (@atomic-dict/linux-x64-gnu, an
//      optional dependency), when installed.
// Otherwise one error, ERR_DLOPEN_FAILED, naming the platform looked for,
// the package that would provide it and how to build from source.

const fs = require('node:fs')
const path = require('node:path')
const { codedError } = require('./errors')
const { platformName, platformPackage, installedPrebuilt, glibcVersion, PREBUILT } = require('./platform')

const root = path.join(__dirname, '..')
const local = path.join(root, 'atomic-dict.node')

const fromSource =
  'To build it from source (needs Rust\'s cargo, https://rustup.rs): `npm rebuild atomic-dict` in the project ' +
  'that depends on it (pnpm: `pnpm approve-builds`, then `pnpm rebuild atomic-dict`), or `npm run build` in a ' +
  'checkout of atomic-dict.'

const VERSION = require('../package.json').version

function loadError(message, cause) {
  const e = codedError('ERR_DLOPEN_FAILED', `atomic-dict: ${message}`)
  if (cause) e.cause = cause
  return e
}

/**
 * The installed platform package's addon: { binding } (loaded), { error }
 * when it is there but unusable (another version, or a file that does not
 * load), or null when it is not installed.
 */
function prebuilt(pkg) {
  const installed = installedPrebuilt(pkg)
  if (installed === null) return null
  if (installed.broken !== undefined) {
    const why = installed.broken.message
    return { error: loadError(`${pkg} is installed (${installed.manifest}) but broken: ${why}. Reinstall it. ${fromSource}`, installed.broken) }
  }
  const { version, file } = installed
  if (version !== VERSION) {
    // A JS layer and an addon of different versions may disagree on
    // anything: never load them together.
    return { error: loadError(`${pkg} ${version} is installed, but atomic-dict ${VERSION} needs ${pkg} ${VERSION}. Install matching versions. ${fromSource}`) }
  }
  try {
    return { binding: require(file) }
  } catch (err) {
    const glibc = /GLIBC_/.test(err.message)
      ? ` ${pkg} needs glibc 2.28 or later; this system has ${glibcVersion() ? `glibc ${glibcVersion()}` : 'no glibc'}.`
      : ''
    return { error: loadError(`cannot load its prebuilt native addon ${file} from ${pkg} (${err.message}).${glibc} ${fromSource}`, err) }
  }
}

function load() {
  let localError
  if (fs.existsSync(local)) {
    try {
      return require(local)
    } catch (err) {
      // A build from elsewhere (a node_modules copied from another system):
      // the platform package may still serve.
      localError = loadError(`cannot load its native addon ${local}, built from source here (${err.message}). ${fromSource}`, err)
    }
  }
  const name = platformName()
  const pkg = platformPackage(name)
  const found = prebuilt(pkg)
  if (found !== null && found.binding !== undefined) return found.binding
  if (localError !== undefined) return localError
  if (found !== null) return found.error
  const provider = PREBUILT.includes(name)
    ? `the optional dependency ${pkg}, which was not installed (installed with --omit=optional or --no-optional?)`
    : `no prebuilt package: ${pkg} does not exist, and atomic-dict is built from source on ${name}`
  return loadError(
    `no native addon for ${name}: neither ${local} (a build from source) nor ${provider}. ` +
      `If the install script did not run (--ignore-scripts, or pnpm's onlyBuiltDependencies), it did not build it. ${fromSource}`,
  )
}

const binding = load()
if (binding instanceof Error) throw binding

module.exports = binding
