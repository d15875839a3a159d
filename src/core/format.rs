//! The shared region's format: a 128-byte header, then 64-byte blocks of
//! rows, then (version 2 only) a string area: an index of `string_slots`
//! u64 entries and an arena of `string_bytes` bytes. docs/FORMAT.md at the top of
//! the repository is the reference; `lib/format.js` reads the same header.
//!
//! ```text
//! offset size field
//!      0    8 magic            b"ATOMDICT" (written last: a table is ready once it reads right)
//!      8    4 version          VERSION_STRINGS (2) with a string area, VERSION_PLAIN (1) without
//!     12    4 flags            bit 0: set (no value), bit 1: signed values
//!     16    4 k64              64-bit key parts
//!     20    4 k32              32-bit key parts
//!     24    4 value_bits       64 or 32 (0 for a set)
//!     28    4 row_bytes
//!     32    4 rows_per_block
//!     36    4 header_bytes     HEADER_BYTES: where block 0 starts
//!     40    8 block_count      a prime >= 2, below 2^32
//!     48    8 capacity         keys guaranteed to fit
//!     56    8 string_bytes     the arena's size: 0 (no area), or a multiple of 8 in [64, 2^30]
//!     64    8 entries          atomic: keys completely inserted (exact)
//!     72    8 reserved         atomic: rows claimed or being claimed (admission gate)
//!     80    8 string_slots     derived: 0, or the smallest power of two >= max(8, ceil(string_bytes / 18))
//!     88    8 strings_used     atomic: arena bytes allocated (<= string_bytes; admission gate, Relaxed)
//!     96    8 strings_count    atomic: strings published in the index
//!    104    8 strings_refused  atomic: intern attempts that found no room (arena or index)
//!    112    8 sync_id          0, or the id syncToRedis gives the table (JS only; never read here)
//!    120    8 scratch          zero (see OFF_SCRATCH)
//! ```
//! Everything else in the header is zero (the word at `OFF_SCRATCH` is
//! written only on a private table, or by the test failpoints). A row holds the 64-bit key parts at
//! 8-byte offsets, then the 32-bit key parts, then the value at its natural
//! alignment; rows never straddle a block.
//!
//! A version-1 table has every string field zero and no area: it is byte for
//! byte the format older builds read. A version-2 table's region goes on
//! after the blocks with the string index (at `128 + 64·block_count`,
//! `string_slots` u64 entries), then the arena (`string_bytes` bytes):
//!
//! ```text
//! index entry (u64)  0: empty; else low 32 bits = record's arena offset / 8 + 1,
//!                    high 32 bits = the high 32 bits of the string's key part (a tag)
//! record (8-aligned in the arena)
//!   word 0           the key part, string_key(s) (never 0)
//!   word 1           a user word (atomic, starts 0; applications keep per-string state there)
//!   word 2           the UTF-8 length in bytes (<= 2^20)
//!   then             the UTF-8 bytes, zero-padded to a multiple of 8, as little-endian u64 words
//! ```
//! The probe of a part starts at `part & (string_slots - 1)` and goes on one
//! entry at a time (wrapping), at most `string_slots` entries; strings.rs
//! implements it, and what a reader must check of untrusted records.

use std::fmt;

pub const MAGIC: u64 = u64::from_le_bytes(*b"ATOMDICT");
/// The version of a table without a string area: every string field is zero.
pub const VERSION_PLAIN: u32 = 1;
/// The version of a table with a string area.
pub const VERSION_STRINGS: u32 = 2;
/// The newest version this build reads (it reads both).
pub const FORMAT_VERSION: u32 = VERSION_STRINGS;
pub const HEADER_BYTES: usize = 128;
pub const BLOCK_BYTES: usize = 64;

pub const OFF_MAGIC: usize = 0;
pub const OFF_VERSION: usize = 8;
pub const OFF_FLAGS: usize = 12;
pub const OFF_K64: usize = 16;
pub const OFF_K32: usize = 20;
pub const OFF_VALUE_BITS: usize = 24;
pub const OFF_ROW_BYTES: usize = 28;
pub const OFF_ROWS_PER_BLOCK: usize = 32;
pub const OFF_HEADER_BYTES: usize = 36;
pub const OFF_BLOCK_COUNT: usize = 40;
pub const OFF_CAPACITY: usize = 48;
/// The arena's size in bytes (a user-chosen geometry field; 0: no area).
pub const OFF_STRING_BYTES: usize = 56;
/// The two counters share their own cache line, away from the read-mostly geometry.
pub const OFF_ENTRIES: usize = 64;
pub const OFF_RESERVED: usize = 72;
/// Derived from `string_bytes`: entries in the string index.
pub const OFF_STRING_SLOTS: usize = 80;
/// Atomic: arena bytes allocated (never above `string_bytes`).
pub const OFF_STRINGS_USED: usize = 88;
/// Atomic: strings published in the index.
pub const OFF_STRINGS_COUNT: usize = 96;
/// Atomic: intern attempts that found no room.
pub const OFF_STRINGS_REFUSED: usize = 104;
/// A word the format keeps zero: `lib/table-memory.js` uses it on a table nobody
/// else has seen, and the `pause-after-admit` failpoint as a handshake.
pub const OFF_SCRATCH: usize = 120;

pub const FLAG_SET: u32 = 1;
pub const FLAG_SIGNED: u32 = 2;

/// The largest capacity accepted: 2^31 keys (at least 32 GiB of rows). It
/// keeps `block_count` below 2^32, which lets JavaScript compute the probe
/// sequence exactly with 32-bit arithmetic.
pub const MAX_CAPACITY: u64 = 1 << 31;

/// The smallest string arena, in bytes (room for two short strings).
pub const MIN_STRING_BYTES: u64 = 64;
/// The largest string arena, in bytes: 1 GiB (its offsets / 8 fit the
/// index entry's 32 bits many times over).
pub const MAX_STRING_BYTES: u64 = 1 << 30;
/// The longest string an arena record holds, in UTF-8 bytes.
pub const MAX_STRING_LEN: u64 = 1 << 20;
/// The smallest string index, in entries.
pub const MIN_STRING_SLOTS: u64 = 8;
/// Arena bytes per index entry: the index gets at least
/// `string_bytes / STRING_BYTES_PER_SLOT` entries, so with every record at
/// its minimum of 24 bytes it stays at most 3/4 full (24 · 3/4 = 18).
pub const STRING_BYTES_PER_SLOT: u64 = 18;
/// Bytes of a record before its string: part, user word, length.
pub const RECORD_HEADER_BYTES: u64 = 24;

/// Load factor bound: at most 3 keys for every 4 rows.
const LOAD_NUM: u64 = 3;
const LOAD_DEN: u64 = 4;

/// Dictionary (a value per key) or set (keys only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dict,
    Set,
}

/// What a user chooses when making a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub kind: Kind,
    pub k64: u32,
    pub k32: u32,
    /// 64 or 32 for a dictionary, 0 for a set.
    pub value_bits: u32,
    pub signed: bool,
    pub capacity: u64,
    /// The string arena's size in bytes: 0 for none (a version-1 table), or
    /// a multiple of 8 from `MIN_STRING_BYTES` to `MAX_STRING_BYTES`.
    pub string_bytes: u64,
}

/// Why a geometry or a header is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// A user-chosen parameter is out of range: (argument name, message).
    Invalid(&'static str, String),
    /// The memory does not hold a table of this format.
    NotATable(String),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Invalid(arg, msg) => write!(f, "{arg} {msg}"),
            FormatError::NotATable(msg) => write!(f, "not an atomic-dict table: {msg}"),
        }
    }
}

impl std::error::Error for FormatError {}

/// Everything derived from a geometry: where rows and fields are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub geometry: Geometry,
    pub row_bytes: usize,
    pub rows_per_block: usize,
    pub block_count: u64,
    /// Byte offset of the value inside a row (meaningless for a set).
    pub value_offset: usize,
    /// Entries of the string index (0 without a string area).
    pub string_slots: u64,
}

/// The string index's size for an arena of `string_bytes` bytes (0 for 0):
/// the smallest power of two >= max(8, ceil(string_bytes / 18)).
pub fn string_slots(string_bytes: u64) -> u64 {
    if string_bytes == 0 {
        return 0;
    }
    string_bytes
        .div_ceil(STRING_BYTES_PER_SLOT)
        .max(MIN_STRING_SLOTS)
        .next_power_of_two()
}

impl Geometry {
    fn check(&self) -> Result<(), FormatError> {
        let inv = |arg, msg: &str| Err(FormatError::Invalid(arg, msg.to_owned()));
        if self.k64 > 8 {
            return inv("k64", "must be an integer from 0 to 8");
        }
        if self.k32 > 16 {
            return inv("k32", "must be an integer from 0 to 16");
        }
        if self.k64 + self.k32 == 0 {
            return inv("k64", "and k32 must give a key at least one part");
        }
        match (self.kind, self.value_bits) {
            (Kind::Dict, 32 | 64) | (Kind::Set, 0) => {}
            (Kind::Dict, _) => return inv("valueBits", "must be 32 or 64"),
            (Kind::Set, _) => return inv("valueBits", "must be 0 for a set"),
        }
        if self.kind == Kind::Set && self.signed {
            return inv("signed", "has no meaning for a set");
        }
        if self.capacity == 0 || self.capacity > MAX_CAPACITY {
            return inv(
                "capacity",
                &format!("must be an integer from 1 to {MAX_CAPACITY}"),
            );
        }
        let s = self.string_bytes;
        if s != 0 && (!s.is_multiple_of(8) || !(MIN_STRING_BYTES..=MAX_STRING_BYTES).contains(&s)) {
            return inv(
                "strings",
                &format!(
                    "must be 0 or a multiple of 8 from {MIN_STRING_BYTES} to {MAX_STRING_BYTES}"
                ),
            );
        }
        Ok(())
    }
}

impl Layout {
    /// The layout a new table of this geometry gets.
    pub fn new(geometry: Geometry) -> Result<Layout, FormatError> {
        geometry.check()?;
        let key_bytes = 8 * geometry.k64 as usize + 4 * geometry.k32 as usize;
        let value_bytes = geometry.value_bits as usize / 8;
        let value_offset = key_bytes.next_multiple_of(value_bytes.max(1));
        let align = if geometry.k64 > 0 || value_bytes == 8 {
            8
        } else {
            4
        };
        let row_bytes = (value_offset + value_bytes).next_multiple_of(align);
        if row_bytes > BLOCK_BYTES {
            return Err(FormatError::Invalid(
                "k64",
                format!(
                    "and k32 make a {row_bytes}-byte row; a row must fit in {BLOCK_BYTES} bytes"
                ),
            ));
        }
        let rows_per_block = BLOCK_BYTES / row_bytes;
        // rows >= capacity * 4/3, so the load factor stays at or below 3/4.
        let rows = (geometry.capacity * LOAD_DEN).div_ceil(LOAD_NUM);
        let blocks = rows.div_ceil(rows_per_block as u64).max(2);
        let block_count = next_prime(blocks);
        debug_assert!(
            block_count < 1 << 32,
            "MAX_CAPACITY keeps block_count in 32 bits"
        );
        Ok(Layout {
            geometry,
            row_bytes,
            rows_per_block,
            block_count,
            value_offset,
            string_slots: string_slots(geometry.string_bytes),
        })
    }

    /// The header's version for this layout: 2 with a string area, else 1.
    pub fn version(&self) -> u32 {
        if self.has_strings() {
            VERSION_STRINGS
        } else {
            VERSION_PLAIN
        }
    }

    /// Whether the table has a string area.
    pub fn has_strings(&self) -> bool {
        self.geometry.string_bytes != 0
    }

    pub fn parts(&self) -> usize {
        (self.geometry.k64 + self.geometry.k32) as usize
    }

    pub fn rows(&self) -> u64 {
        self.block_count * self.rows_per_block as u64
    }

    /// Bytes of the header and the blocks: where the string area starts.
    pub fn blocks_end(&self) -> usize {
        HEADER_BYTES + self.block_count as usize * BLOCK_BYTES
    }

    /// Byte offset of the string index (right after the blocks; the end of
    /// the region when there is no area).
    pub fn string_index_offset(&self) -> usize {
        self.blocks_end()
    }

    /// Byte offset of the string arena (right after the index).
    pub fn arena_offset(&self) -> usize {
        self.string_index_offset() + self.string_slots as usize * 8
    }

    /// Bytes the region needs: header, blocks, and the string index and
    /// arena when there are.
    pub fn total_bytes(&self) -> usize {
        self.arena_offset() + self.geometry.string_bytes as usize
    }

    /// Byte offset of a row in the region.
    #[inline]
    pub fn row_offset(&self, row: u64) -> usize {
        let rpb = self.rows_per_block as u64;
        HEADER_BYTES + (row / rpb) as usize * BLOCK_BYTES + (row % rpb) as usize * self.row_bytes
    }

    /// Byte offset of key part `i` inside a row.
    #[inline]
    pub fn part_offset(&self, i: usize) -> usize {
        let k64 = self.geometry.k64 as usize;
        if i < k64 {
            8 * i
        } else {
            8 * k64 + 4 * (i - k64)
        }
    }

    pub fn flags(&self) -> u32 {
        let mut flags = 0;
        if self.geometry.kind == Kind::Set {
            flags |= FLAG_SET;
        }
        if self.geometry.signed {
            flags |= FLAG_SIGNED;
        }
        flags
    }

    /// Checks a header read from memory of `region_len` bytes and returns the
    /// layout it describes. `read_u32`/`read_u64` read header fields by offset.
    /// Nothing read is trusted until it matches the layout this crate would
    /// make for the same geometry, and the region is long enough for it.
    pub fn from_header(
        region_len: usize,
        read_u32: impl Fn(usize) -> u32,
        read_u64: impl Fn(usize) -> u64,
    ) -> Result<Layout, FormatError> {
        let bad = |msg: String| Err(FormatError::NotATable(msg));
        if region_len < HEADER_BYTES {
            return bad(format!("{region_len} bytes is shorter than a header"));
        }
        if read_u64(OFF_MAGIC) != MAGIC {
            return bad("wrong magic number (or the table is not initialised yet)".into());
        }
        let version = read_u32(OFF_VERSION);
        if version != VERSION_PLAIN && version != VERSION_STRINGS {
            return bad(format!(
                "format version {version}, this build reads {VERSION_PLAIN} and {VERSION_STRINGS}"
            ));
        }
        let string_bytes = read_u64(OFF_STRING_BYTES);
        if version == VERSION_PLAIN {
            let fields = [
                ("string_bytes", OFF_STRING_BYTES),
                ("string_slots", OFF_STRING_SLOTS),
                ("strings_used", OFF_STRINGS_USED),
                ("strings_count", OFF_STRINGS_COUNT),
                ("strings_refused", OFF_STRINGS_REFUSED),
            ];
            if let Some((name, _)) = fields.iter().find(|&&(_, off)| read_u64(off) != 0) {
                return bad(format!(
                    "format version 1 has no string area, but its {name} is not 0"
                ));
            }
        } else if string_bytes == 0 {
            return bad("format version 2 needs a string area, but its string_bytes is 0".into());
        }
        let flags = read_u32(OFF_FLAGS);
        if flags & !(FLAG_SET | FLAG_SIGNED) != 0 {
            return bad(format!("unknown flags {flags:#x}"));
        }
        let geometry = Geometry {
            kind: if flags & FLAG_SET != 0 {
                Kind::Set
            } else {
                Kind::Dict
            },
            k64: read_u32(OFF_K64),
            k32: read_u32(OFF_K32),
            value_bits: read_u32(OFF_VALUE_BITS),
            signed: flags & FLAG_SIGNED != 0,
            capacity: read_u64(OFF_CAPACITY),
            string_bytes,
        };
        // Layout::new bounds capacity, and so block_count below 2^32, and
        // string_bytes (so the region's size cannot overflow).
        let layout = match Layout::new(geometry) {
            Ok(layout) => layout,
            Err(e) => return bad(format!("impossible geometry ({e})")),
        };
        let stored = (
            read_u32(OFF_ROW_BYTES) as usize,
            read_u32(OFF_ROWS_PER_BLOCK) as usize,
            read_u32(OFF_HEADER_BYTES) as usize,
            read_u64(OFF_BLOCK_COUNT),
        );
        let expected = (
            layout.row_bytes,
            layout.rows_per_block,
            HEADER_BYTES,
            layout.block_count,
        );
        if stored != expected {
            return bad(format!(
                "geometry fields (row bytes, rows per block, header bytes, blocks) are {stored:?}, expected {expected:?}"
            ));
        }
        let slots = read_u64(OFF_STRING_SLOTS);
        if slots != layout.string_slots {
            return bad(format!(
                "string_slots is {slots}, expected {} for {string_bytes} string bytes",
                layout.string_slots
            ));
        }
        if layout.total_bytes() > region_len {
            let what = if layout.has_strings() {
                format!(
                    "{} blocks and a string area of {string_bytes} bytes",
                    layout.block_count
                )
            } else {
                format!("{} blocks", layout.block_count)
            };
            return bad(format!(
                "{what} need {} bytes, the memory has {region_len}",
                layout.total_bytes()
            ));
        }
        Ok(layout)
    }
}

/// The smallest prime >= n (n >= 2).
pub fn next_prime(mut n: u64) -> u64 {
    if n <= 2 {
        return 2;
    }
    if n.is_multiple_of(2) {
        n += 1;
    }
    while !is_prime(n) {
        n += 2;
    }
    n
}

/// Deterministic Miller–Rabin for all `u64`.
fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let mul = |a: u64, b: u64| ((a as u128 * b as u128) % n as u128) as u64;
    let pow = |mut b: u64, mut e: u64| {
        let mut r = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                r = mul(r, b);
            }
            b = mul(b, b);
            e >>= 1;
        }
        r
    };
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for a in BASES {
        let mut x = pow(a, d);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul(x, x);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(k64: u32, k32: u32, value_bits: u32, capacity: u64) -> Geometry {
        Geometry {
            kind: Kind::Dict,
            k64,
            k32,
            value_bits,
            signed: false,
            capacity,
            string_bytes: 0,
        }
    }

    #[test]
    fn primes() {
        let small: Vec<u64> = (0..40).filter(|&n| is_prime(n)).collect();
        assert_eq!(small, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]);
        assert_eq!(next_prime(1 << 20), 1_048_583);
        assert!(is_prime(18_446_744_073_709_551_557)); // largest u64 prime
        assert!(!is_prime(3_215_031_751)); // strong pseudoprime to 2, 3, 5, 7
    }

    #[test]
    fn row_shapes() {
        let cases = [
            // (k64, k32, bits) -> (row_bytes, value_offset)
            ((1, 0, 64), (16, 8)),
            ((1, 0, 32), (16, 8)),
            ((0, 1, 32), (8, 4)),
            ((0, 1, 64), (16, 8)),
            ((2, 1, 64), (32, 24)),
            ((1, 1, 32), (16, 12)),
            ((0, 3, 32), (16, 12)),
            ((7, 0, 64), (64, 56)),
        ];
        for ((k64, k32, bits), (row, voff)) in cases {
            let l = Layout::new(dict(k64, k32, bits, 10)).unwrap();
            assert_eq!(
                (l.row_bytes, l.value_offset),
                (row, voff),
                "{k64} {k32} {bits}"
            );
        }
        assert!(Layout::new(dict(8, 0, 64, 10)).is_err());
    }

    #[test]
    fn load_factor_at_most_three_quarters() {
        for cap in [1u64, 2, 3, 4, 5, 100, 1000, 1 << 20] {
            let l = Layout::new(dict(1, 0, 64, cap)).unwrap();
            assert!(cap * 4 <= l.rows() * 3, "{cap}");
        }
        // 1 Mi keys of the default shape: well under 22 bytes a key.
        let l = Layout::new(dict(1, 0, 64, 1 << 20)).unwrap();
        assert!((l.total_bytes() as f64) / ((1 << 20) as f64) < 22.0);
    }

    #[test]
    fn rejects_bad_geometry() {
        assert!(Layout::new(dict(1, 0, 64, 0)).is_err());
        assert!(Layout::new(dict(1, 0, 64, MAX_CAPACITY + 1)).is_err());
        assert!(Layout::new(dict(0, 0, 64, 1)).is_err());
        assert!(Layout::new(dict(1, 0, 16, 1)).is_err());
    }

    #[test]
    fn string_geometry() {
        let with = |string_bytes| {
            Layout::new(Geometry {
                string_bytes,
                ..dict(1, 0, 64, 10)
            })
        };
        let plain = with(0).unwrap();
        assert_eq!((plain.string_slots, plain.version()), (0, 1));
        assert_eq!(plain.total_bytes(), plain.blocks_end());
        for (bytes, slots) in [
            (64u64, 8u64),
            (144, 8),
            (152, 16),
            (1024, 64),
            (4096, 256),
            (MAX_STRING_BYTES, 1 << 26),
        ] {
            let l = with(bytes).unwrap();
            assert_eq!(l.string_slots, slots, "{bytes}");
            assert_eq!(l.version(), 2);
            assert_eq!(l.string_index_offset(), l.blocks_end());
            assert_eq!(l.arena_offset(), l.blocks_end() + 8 * slots as usize);
            assert_eq!(l.total_bytes(), l.arena_offset() + bytes as usize);
            // At most 3/4 full with every record at its minimum.
            assert!(bytes / RECORD_HEADER_BYTES * 4 <= slots * 3, "{bytes}");
        }
        for bad in [8, 56, 65, 100, 1028, MAX_STRING_BYTES + 8, u64::MAX - 7] {
            match with(bad) {
                Err(FormatError::Invalid("strings", _)) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
