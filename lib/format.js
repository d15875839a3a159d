'use strict'
// The table's header, as src/core/format.rs lays it out (docs/FORMAT.md is the
// reference). JS never reads a table's geometry from here: it takes the
// layout Rust validated (NativeTable#layout); these offsets are for the
// counters (entries, the string area's) and the tests. Offsets are in bytes.

const MAGIC = 0x5443_4944_4d4f_5441n // b"ATOMDICT" read as a little-endian u64
const VERSION_PLAIN = 1 // a table without a string area
const VERSION_STRINGS = 2 // a table with a string area
const FORMAT_VERSION = VERSION_STRINGS // the newest version this package reads (it reads both)
const HEADER_BYTES = 128
const BLOCK_BYTES = 64
const MAX_CAPACITY = 2 ** 31 // keeps block_count below 2^32 (src/core/format.rs)
// The string area (docs/FORMAT.md, "String area"): its arena is 0 (none) or a
// multiple of 8 in [MIN_STRING_BYTES, MAX_STRING_BYTES] bytes, and holds
// strings of at most MAX_STRING_LEN UTF-8 bytes.
const MIN_STRING_BYTES = 64
const MAX_STRING_BYTES = 2 ** 30
const MAX_STRING_LEN = 2 ** 20

const OFF = Object.freeze({
  MAGIC: 0,
  VERSION: 8,
  FLAGS: 12,
  K64: 16,
  K32: 20,
  VALUE_BITS: 24,
  ROW_BYTES: 28,
  ROWS_PER_BLOCK: 32,
  HEADER_BYTES: 36,
  BLOCK_COUNT: 40,
  CAPACITY: 48,
  STRING_BYTES: 56,
  ENTRIES: 64,
  RESERVED: 72,
  STRING_SLOTS: 80,
  STRINGS_USED: 88,
  STRINGS_COUNT: 96,
  STRINGS_REFUSED: 104,
  // 0, or the random id syncToRedis gives a table the first time it syncs
  // (lib/redis/sync-state.js): a table made again at the same path, even in
  // the same inode, has another. The core never reads it.
  SYNC_ID: 112,
  // A word the format keeps zero; used only to check, on a table nobody else
  // has seen yet, that JS and Rust see the same memory.
  SCRATCH: 120,
})

const FLAG_SET = 1
const FLAG_SIGNED = 2

module.exports = {
  MAGIC,
  VERSION_PLAIN,
  VERSION_STRINGS,
  FORMAT_VERSION,
  HEADER_BYTES,
  BLOCK_BYTES,
  MAX_CAPACITY,
  MIN_STRING_BYTES,
  MAX_STRING_BYTES,
  MAX_STRING_LEN,
  OFF,
  FLAG_SET,
  FLAG_SIGNED,
}
