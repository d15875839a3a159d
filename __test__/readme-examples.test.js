'use strict'
// The README's JavaScript blocks run as shown, as a user's file that
// requires 'atomic-dict' (a project with the package in node_modules).
// Paths under /dev/shm are moved to a temporary directory, so the test
// leaves nothing behind. A line `expression // result …` whose comment
// starts with a literal result (`0n`, `-5`, `true`) is checked: the
// expression must give exactly that. A block using atomic-dict/redis gets
// a real redis-server (started here, stopped after) in REDIS_URL.

const { test } = require('node:test')
const assert = require('node:assert')
const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { startRedis } = require('./fixtures/redis')

const root = path.join(__dirname, '..')
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1])

test('the README has JavaScript examples that require the package', () => {
  assert.ok(blocks.length >= 2, `found ${blocks.length} js blocks`)
  for (const b of blocks) assert.match(b, /require\('atomic-dict(\/metrics|\/redis)?'\)/)
})

/** The block with each `expr // literal` line turned into a check of the literal. */
function checked(code) {
  let checks = 0
  const lines = code.split('\n').map((line) => {
    const m = /^(\s*)(?!(?:const|let|var|for|if|\/\/))(\S.*?);?\s+\/\/ (-?\d+n?|true|false)\b/.exec(line)
    if (!m) return line
    checks++
    return `${m[1]}__check(${m[2]}, ${m[3]}, ${JSON.stringify(line.trim())})`
  })
  const prelude =
    'function __check(got, want, line) {\n' +
    '  if (got !== want) { console.error(`README line ${line}: got ${String(got)}`); process.exit(1) }\n' +
    '}\n'
  return { source: prelude + lines.join('\n'), checks }
}

test('the README example states results that are checked', () => {
  assert.ok(checked(blocks[0]).checks >= 4)
  const redis = blocks.find((b) => b.includes("require('atomic-dict/redis')"))
  assert.ok(redis !== undefined && checked(redis).checks >= 4, 'the Redis example states checked results')
})

for (const [i, code] of blocks.entries()) {
  test(`README js block ${i + 1} runs as shown`, async (t) => {
    const env = { ...process.env }
    if (code.includes("require('atomic-dict/redis')")) {
      const server = await startRedis({ t })
      env.REDIS_URL = server.url
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-readme-js-'))
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
    fs.mkdirSync(path.join(dir, 'node_modules'))
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'atomic-dict'))
    for (const dep of ['prom-client', 'ioredis']) fs.symlinkSync(path.join(root, 'node_modules', dep), path.join(dir, 'node_modules', dep))
    const file = path.join(dir, 'example.js')
    fs.writeFileSync(file, checked(code.replaceAll('/dev/shm/', `${dir}/`)).source)
    const r = childProcess.spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 })
    assert.strictEqual(r.status, 0, `block ${i + 1} exited ${r.status} ${r.signal ?? ''}\n${r.stderr}`)
    assert.strictEqual(r.stderr, '')
  })
}
