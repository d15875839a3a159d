'use strict'
// Compiles the TypeScript blocks (```ts) of README.md and docs/*.md with `tsc --strict`,
// each block as its own module: with `--consumer DIR` (what
// scripts/type-check.js passes), in a consumer project DIR whose
// node_modules/atomic-dict is the packed package; alone, against this
// repository's index.d.ts (through `paths`, for a quick look). A line marked
// `// @ts-expect-error` must fail to compile (tsc reports the directive
// otherwise), so the README's misuse examples are checked too.

const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const pages = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const blocks = []
const origin = [] // block i came from origin[i] (page, its n-th ts block)
for (const page of pages) {
  const text = fs.readFileSync(path.join(root, page), 'utf8')
  for (const [n, m] of [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].entries()) {
    blocks.push(m[1])
    origin.push(`${page}, ts block ${n + 1}`)
  }
}
if (blocks.length === 0) {
  console.error('readme-types: README.md and docs/*.md have no ```ts blocks')
  process.exit(1)
}

const at = process.argv.indexOf('--consumer')
const consumer = at === -1 ? undefined : process.argv[at + 1]
const dir = consumer ? fs.mkdtempSync(path.join(consumer, 'readme-')) : fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-readme-'))
try {
  const files = blocks.map((code, i) => {
    const file = path.join(dir, `block-${i + 1}.ts`)
    fs.writeFileSync(file, `${code}\nexport {}\n`)
    return file
  })
  const config = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'ES2022',
      lib: ['ES2022'],
      module: 'node16',
      moduleResolution: 'node16',
      types: ['node'],
      typeRoots: [path.join(consumer ?? root, 'node_modules', '@types')],
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      ...(consumer ? {} : { paths: { 'atomic-dict': [path.join(root, 'index.d.ts')] } }),
    },
    files,
  }
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2))
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const r = childProcess.spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0) {
    // Point at the pages, not the temporary files.
    const out = (r.stdout + r.stderr).replace(/^block-(\d+)\.ts/gm, (_, i) => origin[i - 1])
    console.error(out)
    console.error(`readme-types: the documentation's TypeScript does not compile (blocks kept in ${dir})`)
    process.exit(1)
  }
  console.log(
    `readme-types: ${blocks.length} TypeScript blocks of ${pages.join(', ')} compile with tsc --strict` +
      (consumer ? ' against the packed package' : ' against index.d.ts'),
  )
  fs.rmSync(dir, { recursive: true, force: true })
} catch (err) {
  fs.rmSync(dir, { recursive: true, force: true })
  throw err
}
