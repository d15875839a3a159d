#!/usr/bin/env node
'use strict'
// `node scripts/check-glibc.js FILE [--max 2.28]`: prints the highest GLIBC_
// symbol version the ELF shared object FILE needs, and fails (exit 1) when it
// is above --max (default 2.28, Node 20's own floor). It reads the ELF's
// version-needed section (.gnu.version_r, SHT_GNU_verneed) itself, so it
// needs neither objdump nor readelf. 64-bit little-endian ELF only.

const fs = require('node:fs')

const SHT_GNU_VERNEED = 0x6ffffffe

/** The NUL-terminated string at `at`, or null when it does not end within the file. */
function cstring(buf, at) {
  const end = at < buf.length ? buf.indexOf(0, at) : -1
  return end < 0 ? null : buf.toString('latin1', at, end)
}

/** An error for a FILE this script cannot read as it expects: a plain message, exit 1. */
function malformed(file, why) {
  return new Error(`${file} is not an ELF shared object this check can read: ${why}`)
}

/** Every version name FILE needs, as { file, name } (e.g. { file: 'libc.so.6', name: 'GLIBC_2.28' }). */
function neededVersions(file) {
  const buf = fs.readFileSync(file)
  // Every read is checked against the file's end (a truncated or hostile
  // file is refused, never read past), and every chain is bounded.
  const u16 = (at) => (at >= 0 && at + 2 <= buf.length ? buf.readUInt16LE(at) : fail(`offset ${at} is past the end`))
  const u32 = (at) => (at >= 0 && at + 4 <= buf.length ? buf.readUInt32LE(at) : fail(`offset ${at} is past the end`))
  const u64 = (at) => (at >= 0 && at + 8 <= buf.length ? Number(buf.readBigUInt64LE(at)) : fail(`offset ${at} is past the end`))
  const fail = (why) => {
    throw malformed(file, why)
  }
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) fail('no ELF header')
  if (buf[4] !== 2 || buf[5] !== 1) fail('not a 64-bit little-endian ELF file')
  if (u16(0x10) !== 3) fail('not a shared object (e_type is not ET_DYN)')
  if (u16(0x12) !== 62) fail(`built for machine ${u16(0x12)}, not x86-64 (62)`)
  const shoff = u64(0x28)
  const shentsize = u16(0x3a)
  const shnum = u16(0x3c)
  if (shentsize < 0x40) fail(`section headers of ${shentsize} bytes`)
  const section = (i) => {
    if (i >= shnum) fail(`section ${i} of ${shnum}`)
    const at = shoff + i * shentsize
    return { type: u32(at + 4), offset: u64(at + 0x18), size: u64(at + 0x20), link: u32(at + 0x28), info: u32(at + 0x2c) }
  }
  const found = []
  for (let i = 0; i < shnum; i++) {
    const s = section(i)
    if (s.type !== SHT_GNU_VERNEED) continue
    const strings = section(s.link).offset
    // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
    // Each entry takes 16 bytes, so a section of `size` bytes holds at most size / 16.
    const most = Math.floor(s.size / 16)
    if (s.info > most) fail(`${s.info} version-needed entries in ${s.size} bytes`)
    let need = s.offset
    for (let n = 0; n < s.info; n++) {
      const cnt = u16(need + 2)
      if (cnt > most) fail(`${cnt} versions of one file in ${s.size} bytes`)
      const fileName = cstring(buf, strings + u32(need + 4)) ?? fail('a file name past the end')
      let aux = need + u32(need + 8)
      for (let a = 0; a < cnt; a++) {
        found.push({ file: fileName, name: cstring(buf, strings + u32(aux + 8)) ?? fail('a version name past the end') })
        const next = u32(aux + 12)
        if (next === 0 && a + 1 < cnt) fail('a version chain ends early')
        aux += next
      }
      const next = u32(need + 12)
      if (next === 0 && n + 1 < s.info) fail('the file chain ends early')
      need += next
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

/**
 * The highest GLIBC_x.y version FILE needs ('0' when none), the list, and
 * the other GLIBC_ names it needs, which the check refuses: each means
 * some newer glibc (GLIBC_ABI_DT_RELR: 2.36), or, GLIBC_PRIVATE, exactly
 * the glibc it was linked against.
 */
function glibcFloor(file) {
  const names = neededVersions(file).map((v) => v.name).filter((n) => n.startsWith('GLIBC_'))
  const versions = names.map((n) => /^GLIBC_(\d+(?:\.\d+)*)$/.exec(n)).filter(Boolean).map((m) => m[1])
  const others = [...new Set(names.filter((n) => !/^GLIBC_\d/.test(n)))]
  const highest = versions.reduce((h, v) => (compare(v, h) > 0 ? v : h), '0')
  return { highest, versions: [...new Set(versions)].sort(compare), others }
}

module.exports = { neededVersions, glibcFloor, compare }

if (require.main === module) {
  const args = process.argv.slice(2)
  const maxAt = args.indexOf('--max')
  const max = maxAt >= 0 ? args.splice(maxAt, 2)[1] : '2.28'
  if (args.length !== 1 || !/^\d+(\.\d+)*$/.test(max ?? '')) {
    console.error('usage: node scripts/check-glibc.js FILE [--max 2.28]')
    process.exit(2)
  }
  let floor
  try {
    floor = glibcFloor(args[0])
  } catch (err) {
    console.error(`check-glibc: ${err.message}`)
    process.exit(1)
  }
  const { highest, versions, others } = floor
  if (others.length > 0) {
    console.error(`check-glibc: FAIL: ${args[0]} needs ${others.join(' ')}, which only a newer glibc than GLIBC_${max} provides`)
    process.exit(1)
  }
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
