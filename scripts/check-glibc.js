#!/usr/bin/env node
'use strict'
// `node scripts/check-glibc.js FILE [--max 2.28]`: prints the highest GLIBC_
// symbol version the ELF shared object FILE needs, and fails (exit 1) when it
// is above --max (default 2.28, Node 20's own floor). It reads the ELF's
// version-needed section (.gnu.version_r, SHT_GNU_verneed) itself, so it
// needs neither objdump nor readelf. 64-bit little-endian ELF only.

const fs = require('node:fs')

const SHT_GNU_VERNEED = 0x6ffffffe

function cstring(buf, at) {
  const end = buf.indexOf(0, at)
  return buf.toString('latin1', at, end < 0 ? buf.length : end)
}

/** Every version name FILE needs, as { file, name } (e.g. { file: 'libc.so.6', name: 'GLIBC_2.28' }). */
function neededVersions(file) {
  const buf = fs.readFileSync(file)
  if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`)
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`)
  const shoff = Number(buf.readBigUInt64LE(0x28))
  const shentsize = buf.readUInt16LE(0x3a)
  const shnum = buf.readUInt16LE(0x3c)
  const section = (i) => {
    const at = shoff + i * shentsize
    return {
      type: buf.readUInt32LE(at + 4),
      offset: Number(buf.readBigUInt64LE(at + 0x18)),
      link: buf.readUInt32LE(at + 0x28),
      info: buf.readUInt32LE(at + 0x2c),
    }
  }
  const found = []
  for (let i = 0; i < shnum; i++) {
    const s = section(i)
    if (s.type !== SHT_GNU_VERNEED) continue
    const strings = section(s.link).offset
    // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
    let need = s.offset
    for (let n = 0; n < s.info; n++) {
      const cnt = buf.readUInt16LE(need + 2)
      const fileName = cstring(buf, strings + buf.readUInt32LE(need + 4))
      let aux = need + buf.readUInt32LE(need + 8)
      for (let a = 0; a < cnt; a++) {
        found.push({ file: fileName, name: cstring(buf, strings + buf.readUInt32LE(aux + 8)) })
        aux += buf.readUInt32LE(aux + 12)
      }
      need += buf.readUInt32LE(need + 12)
    }
  }
  return found
}

const compare = (a, b) => {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0)
  }
  return 0
}

/** The highest GLIBC_x.y version FILE needs ('0' when none), and the list. */
function glibcFloor(file) {
  const versions = neededVersions(file)
    .map((v) => /^GLIBC_(\d+(?:\.\d+)*)$/.exec(v.name))
    .filter(Boolean)
    .map((m) => m[1])
  const highest = versions.reduce((h, v) => (compare(v, h) > 0 ? v : h), '0')
  return { highest, versions: [...new Set(versions)].sort(compare) }
}

module.exports = { neededVersions, glibcFloor, compare }

if (require.main === module) {
  const args = process.argv.slice(2)
  const maxAt = args.indexOf('--max')
  const max = maxAt >= 0 ? args.splice(maxAt, 2)[1] : '2.28'
  if (args.length !== 1) {
    console.error('usage: node scripts/check-glibc.js FILE [--max 2.28]')
    process.exit(2)
  }
  const { highest, versions } = glibcFloor(args[0])
  if (versions.length === 0) {
    console.error(`check-glibc: ${args[0]} needs no GLIBC_ symbol version: not a glibc build?`)
    process.exit(1)
  }
  if (compare(highest, max) > 0) {
    console.error(`check-glibc: FAIL: ${args[0]} needs GLIBC_${highest}, above the floor GLIBC_${max} (needs: ${versions.join(' ')})`)
    process.exit(1)
  }
  console.log(`check-glibc: ${args[0]} needs at most GLIBC_${highest} (<= ${max}; needs: ${versions.join(' ')})`)
}
