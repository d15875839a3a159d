'use strict'
// `npm run test:types`: checks the package's types as a consumer gets them.
// `npm pack`s the package into a temporary directory, extracts the tarball
// as node_modules/atomic-dict of a temporary consumer project (types need
// no install script), links this repository's typescript, @types/node and
// prom-client and ioredis there, and compiles the type tests of __test__ (types.ts,
// metrics-types.ts, *.types.ts) with `tsc --strict` three ways:
//   - CommonJS, module/moduleResolution node16 (__test__/tsconfig.json);
//   - ESM, module/moduleResolution nodenext, the tests as .mts files;
//   - moduleResolution bundler (module esnext).
// Each imports 'atomic-dict' and 'atomic-dict/metrics' by name: no `paths`.
// It fails if `any` is used as a type in the published .d.ts files, and
// compiles the README's TypeScript blocks against the packed package too
// (scripts/readme-types.js). The temporary directory is always removed.
// `node scripts/type-check.js --consumer DIR` does the same against the
// atomic-dict already installed in DIR/node_modules (npm or pnpm; the
// install checks of scripts/check-pack.sh), in DIR.

const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const testDir = path.join(root, '__test__')
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')

function run(command, args, options) {
  const r = childProcess.spawnSync(command, args, { encoding: 'utf8', ...options })
  if (r.error) throw r.error
  return r
}

/** The places `any` is written as a type in `file` (a .d.ts), as "file:line: text". */
function anyTypes(file) {
  const ts = require(path.join(root, 'node_modules', 'typescript'))
  const text = fs.readFileSync(file, 'utf8')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found = []
  const visit = (node) => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart())
      found.push(`${path.basename(file)}:${line + 1}: ${text.split('\n')[line].trim()}`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

function main(dir) {
  // Pack (no scripts run), and extract as a consumer's dependency.
  const packed = run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { cwd: root })
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`)
  const tarball = path.join(dir, packed.stdout.trim().split('\n').pop())
  const consumer = path.join(dir, 'consumer')
  const pkg = path.join(consumer, 'node_modules', 'atomic-dict')
  fs.mkdirSync(pkg, { recursive: true })
  const tar = run('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1'])
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`)
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  return check(consumer)
}

/** Compiles the type tests in `consumer` against its node_modules/atomic-dict; 0 when they pass. */
function check(consumer) {
  const pkg = fs.realpathSync(path.join(consumer, 'node_modules', 'atomic-dict'))
  for (const dep of ['typescript', '@types/node', 'prom-client', 'ioredis']) {
    const to = path.join(consumer, 'node_modules', dep)
    if (fs.existsSync(to)) continue
    fs.mkdirSync(path.dirname(to), { recursive: true })
    fs.symlinkSync(path.join(root, 'node_modules', dep), to, 'dir')
  }

  const problems = []
  for (const file of ['index.d.ts', 'metrics.d.ts', 'redis.d.ts']) {
    for (const hit of anyTypes(path.join(pkg, file))) problems.push(`\`any\` as a type in the published ${hit}`)
  }

  // The type tests, as .ts (CommonJS) and .mts (ESM) files.
  const base = JSON.parse(fs.readFileSync(path.join(testDir, 'tsconfig.json'), 'utf8'))
  const tests = base.files
  for (const file of tests) {
    const code = fs.readFileSync(path.join(testDir, file), 'utf8')
    fs.writeFileSync(path.join(consumer, file), code)
    fs.writeFileSync(path.join(consumer, file.replace(/\.ts$/, '.mts')), code)
  }
  const configs = {
    'node16 (CommonJS)': { compilerOptions: base.compilerOptions, files: tests },
    'nodenext (ESM)': {
      compilerOptions: { ...base.compilerOptions, module: 'nodenext', moduleResolution: 'nodenext' },
      files: tests.map((f) => f.replace(/\.ts$/, '.mts')),
    },
    bundler: {
      compilerOptions: { ...base.compilerOptions, module: 'esnext', moduleResolution: 'bundler' },
      files: tests,
    },
  }
  for (const [name, config] of Object.entries(configs)) {
    if (config.compilerOptions.paths) problems.push('__test__/tsconfig.json maps modules with `paths`: the test would not see the package')
    const file = path.join(consumer, `tsconfig.${name.split(' ')[0]}.json`)
    fs.writeFileSync(file, JSON.stringify(config, null, 2))
    const r = run(process.execPath, [tsc, '-p', file], { cwd: consumer })
    if (r.status !== 0) problems.push(`tsc --strict, ${name}:\n${r.stdout}${r.stderr}`)
    else console.log(`type-check: ${tests.join(', ')} compile against the packed package, ${name}`)
  }

  const readme = run(process.execPath, [path.join(__dirname, 'readme-types.js'), '--consumer', consumer], { cwd: root })
  process.stdout.write(readme.stdout)
  if (readme.status !== 0) problems.push(readme.stderr)

  if (problems.length) {
    console.error(problems.join('\n'))
    return 1
  }
  return 0
}

const consumerAt = process.argv.indexOf('--consumer')
if (consumerAt >= 0) {
  process.exitCode = check(path.resolve(process.argv[consumerAt + 1]))
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-types-'))
  let status = 1
  try {
    status = main(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  process.exitCode = status
}
