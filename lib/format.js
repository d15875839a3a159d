'use strict'
// The table's header, as src/core/format.rs lays it out (FORMAT.md is the
// reference). Offsets are in bytes; the *_W64 / *_W32 constants are indexes
// into BigUint64Array / Uint32Array views of the region.

const MAGIC = 0x5443_4944_4d4f_5441n // b"ATOMDICT" read as a little-endian u64
const FORMAT_VERSION = 1
const HEADER_BYTES = 128
const BLOCK_BYTES = 64
const MAX_CAPACITY = 2 ** 31 // keeps block_count below 2^32 (see lib/hash.js)

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
  ENTRIES: 64,
  RESERVED: 72,
  // A word the format keeps zero; used only to check, on a table nobody else
  // has seen yet, that JS and Rust see the same memory.
  SCRATCH: 120,
})

const FLAG_SET = 1
const FLAG_SIGNED = 2

/** Reads a table's geometry from its header through typed-array views. */
function readHeader(u32, u64) {
  if (Atomics.load(u64, OFF.MAGIC / 8) !== MAGIC) throw new Error('atomic-dict: not a table (wrong magic number)')
  const flags = Atomics.load(u32, OFF.FLAGS / 4)
  return {
    version: Atomics.load(u32, OFF.VERSION / 4),
    isSet: (flags & FLAG_SET) !== 0,
    signed: (flags & FLAG_SIGNED) !== 0,
    k64: Atomics.load(u32, OFF.K64 / 4),
    k32: Atomics.load(u32, OFF.K32 / 4),
    valueBits: Atomics.load(u32, OFF.VALUE_BITS / 4),
    rowBytes: Atomics.load(u32, OFF.ROW_BYTES / 4),
    rowsPerBlock: Atomics.load(u32, OFF.ROWS_PER_BLOCK / 4),
    headerBytes: Atomics.load(u32, OFF.HEADER_BYTES / 4),
    blockCount: Number(Atomics.load(u64, OFF.BLOCK_COUNT / 8)),
    capacity: Number(Atomics.load(u64, OFF.CAPACITY / 8)),
  }
}

module.exports = { MAGIC, FORMAT_VERSION, HEADER_BYTES, BLOCK_BYTES, MAX_CAPACITY, OFF, FLAG_SET, FLAG_SIGNED, readHeader }
