//! The lock-free table: finding, inserting and changing keys' values in a
//! region laid out as `format.rs` says.
//!
//! # Invariants (what makes it lock-free and correct)
//! - A key part word is written only by a compare-and-swap from 0, and never
//!   changes again. Key parts are never 0, so 0 means "not written yet".
//! - The parts of a row are written in order (part 0 first). A row whose last
//!   part is non-zero holds a complete key; a row with part 0 set and a later
//!   part 0 is being inserted (or its inserter died), and whoever reaches it
//!   with a key of the same prefix may complete it with its own parts.
//! - Every key follows one probe sequence (blocks in double-hashing order, rows
//!   of a block in order). An inserter only passes a row after seeing a
//!   non-zero part that differs from its key, which is permanent, so a key is
//!   complete in at most one row, and a lookup that meets an empty part (of a
//!   row whose earlier parts match) knows the key is in no later row.
//! - `reserved` counts rows whose part 0 was claimed plus admissions in
//!   flight (an admitted insert that has not yet claimed its row, or given
//!   its unit back after losing the row to another caller). An insert claims
//!   a part 0 only after an admission, a compare-and-swap of `reserved` from
//!   below `capacity`, so `reserved <= capacity` at all times and a refusal
//!   changes nothing; since the table has more rows than `capacity`, an
//!   admitted insert always finds a free row.
//! - `entries` counts complete keys: only the compare-and-swap that writes a
//!   row's last part increments it (exactly one does per row). So at every
//!   moment `entries <= complete rows <= claimed rows <= reserved <= capacity`.
//! - Values start at 0 (the region is zero-filled) and are changed only by
//!   single atomic instructions.
//!
//! # Refused admissions (when an insert reports `Full`)
//! `Full` means `capacity` distinct keys are in the table or are being
//! inserted by calls for other keys; a call racing another call for the same
//! key gets that key's row. An insert reaches the first row of its probe
//! sequence that holds neither its key nor another (every earlier row holds
//! another key, for good); an admitted caller of the same key is about to
//! claim that very row, or to lose it (or a row before it, which it saw free
//! a moment earlier) to another key and give its unit back.
//! So a refused insert does not fail at once: it reads the row again, and
//! again, until one of these happens:
//! - the row holds (or starts) its key: it uses the row, completing the key
//!   with its own parts if needed, which needs no admission;
//! - the row holds another key: it goes on probing as usual;
//! - an admission succeeds: it claims the row as usual;
//! - `entries` reads `capacity` (Acquire) before a re-read of the row finds
//!   it still free: then `capacity` keys are complete, `reserved` is
//!   `capacity` with nothing in flight, no row can ever be claimed again, and
//!   the key is not among those keys (it could only be in this row). `Full`
//!   is linearizable at that read of `entries`;
//! - the wait's bound (`ADMISSION_WAIT`, spinning, then yielding, then short
//!   sleeps; under loom `LOOM_YIELDS` yields) is spent: `Full`.
//!
//! The bound keeps inserts lock-free, and it is needed: an admitted caller
//! that has not yet claimed its row has written nothing that says which key
//! it inserts, so a caller refused meanwhile cannot tell "a caller of my key
//! is about to claim this row" from "a caller of another key is", and can
//! only wait for it to move. If that caller stays descheduled for longer
//! than the bound (the window is two instructions long), or was killed
//! there, the refused caller reports `Full`. A killed one leaks its unit:
//! `verify()` reports the admissions no row accounts for and
//! `repair_counts()` gives them back (on a quiescent table). The same bound
//! applies while `capacity` is taken by rows not yet counted: partial rows
//! of an inserter that died (which keep their unit), or a row whose
//! inserter died before counting it (`repair_counts()` mends the count).
//! Lookups never reserve, never wait and never report `Full`.
//!
//! # Memory orderings
//! Value operations are `SeqCst`, like JavaScript's `Atomics`, so Rust and JS
//! users of one table see one order of value operations. Key parts use
//! Acquire/Release: a key word carries no data of its own (the value starts at
//! 0 whoever wins), so this only keeps the usual "write then publish"
//! reasoning simple. `reserved` is an admission gate and publishes nothing:
//! Relaxed (its compare-and-swap always acts on the latest value, so the
//! bound `reserved <= capacity` needs no ordering). `entries` is
//! incremented (AcqRel) after the key is published: an insert is counted
//! once the inserting call has returned, and a key that `len()` counts is
//! visible to a lookup made after it (loom checks both, `tests/loom.rs`).
//! While an insert is in flight, its key can be found a moment before it is
//! counted. A refused insert relies on the same edge: its Acquire load of
//! `entries` that reads `capacity` reads from the last of a chain of AcqRel
//! increments, so every counted key's parts happen-before its re-read of the
//! row, which therefore sees the key if it is there.
//!
//! The scan (`next_key_rows`, scan.rs) reads first key parts Relaxed, only to
//! decide whether to look at a row closer. Sound because a key part, once
//! written, never changes: a Relaxed load reads 0 or the part's final value,
//! and coherence still makes it see a part written before the load
//! happened-before it. What the scan relies on it reads again with the
//! Acquire loads above. (The bulk calls only prefetch, bulk.rs.)

use std::fmt;

use super::failpoint;
use super::format::{
    FormatError, Geometry, Layout, HEADER_BYTES, MAGIC, OFF_BLOCK_COUNT, OFF_CAPACITY, OFF_ENTRIES,
    OFF_FLAGS, OFF_HEADER_BYTES, OFF_K32, OFF_K64, OFF_MAGIC, OFF_RESERVED, OFF_ROWS_PER_BLOCK,
    OFF_ROW_BYTES, OFF_STRING_BYTES, OFF_STRING_SLOTS, OFF_VALUE_BITS, OFF_VERSION,
};
use super::hash::{hash_key, Probe};
use super::memory::Words;
use super::sync::{AtomicU64, Ordering};

/// An operation that returns the value before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Swap,
}

/// Why an insert did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableError {
    /// `capacity` distinct keys are in the table or are being inserted by
    /// calls for other keys (see "Refused admissions" above).
    Full { capacity: u64 },
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::Full { capacity } => {
                write!(
                    f,
                    "the table is full: it holds its capacity of {capacity} keys"
                )
            }
        }
    }
}

impl std::error::Error for TableError {}

/// Why a key is not valid for a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    Parts { expected: usize, got: usize },
    Zero { part: usize },
    TooWide { part: usize },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Parts { expected, got } => {
                write!(f, "key must have {expected} parts, got {got}")
            }
            KeyError::Zero { part } => write!(f, "key part {part} must not be 0"),
            KeyError::TooWide { part } => write!(f, "key part {part} must fit in 32 bits"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Where a key lives, and whether this call put it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub row: u64,
    pub inserted: bool,
}

enum RowMatch {
    /// The row holds the key (`true`: this call completed it).
    Found(bool),
    /// The row holds or is taking another key.
    Other,
    /// Lookup only: the key is in no row of the table.
    Absent,
    /// Insert only: the row's first part is free, and no unit of capacity
    /// was left to claim it (nothing was changed).
    Refused,
}

/// A refused insert waits this long, at most, for the admissions in flight
/// to be resolved before it reports `Full` (see "Refused admissions").
#[cfg(not(loom))]
pub const ADMISSION_WAIT: std::time::Duration = std::time::Duration::from_millis(100);
/// Busy re-reads before a refused insert starts to yield, then to sleep.
#[cfg(not(loom))]
const SPINS: u32 = 64;
#[cfg(not(loom))]
const YIELDS: u32 = 64;
/// Under loom a refused insert yields (loom then runs the other threads
/// until they finish, block or yield too) at most this many times.
#[cfg(loom)]
const LOOM_YIELDS: u32 = 2;

/// What one call has learnt from being refused (see "Refused admissions").
#[derive(Default)]
struct Refusal {
    /// `entries` was `capacity` before the row was read again: the table's
    /// keys are final, so a free row now means the key is not among them.
    full: bool,
    /// The wait's bound was spent (the `Full` it led to was not seen).
    spent: bool,
    waits: u32,
    #[cfg(not(loom))]
    deadline: Option<std::time::Instant>,
}

impl Refusal {
    /// After `Refused`: `Ok` to read the row again, or `Full`.
    fn again(&mut self, table: &Table) -> Result<(), TableError> {
        let full = TableError::Full {
            capacity: table.capacity(),
        };
        if self.full {
            return Err(full);
        }
        if table.entries().load(Ordering::Acquire) >= table.capacity() {
            self.full = true;
            return Ok(());
        }
        if self.waits == 0 {
            failpoint::refused(&table.words);
        }
        self.waits += 1;
        if self.pause(&table.words) {
            Ok(())
        } else {
            self.spent = true;
            Err(full)
        }
    }

    /// Waits a little; `false` once the wait's bound is spent.
    #[cfg(not(loom))]
    fn pause(&mut self, words: &Words) -> bool {
        use std::time::{Duration, Instant};
        if self.waits <= SPINS {
            std::hint::spin_loop();
            return true;
        }
        let now = Instant::now();
        if failpoint::admitter_paused(words) {
            // Tests only: the bound does not run while a pause-after-admit
            // failpoint holds an admitter, so the outcome does not depend on
            // how fast the racing processes start.
            self.deadline = None;
        }
        if now >= *self.deadline.get_or_insert(now + ADMISSION_WAIT) {
            return false;
        }
        if self.waits <= SPINS + YIELDS {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
        true
    }

    #[cfg(loom)]
    fn pause(&mut self, _words: &Words) -> bool {
        if self.waits > LOOM_YIELDS {
            return false;
        }
        loom::thread::yield_now();
        true
    }
}

/// A table over a region of atomic words.
#[derive(Clone)]
pub struct Table {
    layout: Layout,
    words: Words,
}

impl Table {
    /// Lays out a new table in a zero-filled region (the string area's
    /// index and counters start at zero too). The magic number is written
    /// last (Release), so a peer that reads it (Acquire) sees a complete
    /// header.
    pub fn create(words: Words, geometry: Geometry) -> Result<Table, FormatError> {
        let layout = Layout::new(geometry)?;
        if words.len() < layout.total_bytes() {
            return Err(FormatError::Invalid(
                "capacity",
                format!(
                    "needs {} bytes, the memory has {}",
                    layout.total_bytes(),
                    words.len()
                ),
            ));
        }
        let w32 = |off, v: u32| words.u32(off).store(v, Ordering::Relaxed);
        let w64 = |off, v: u64| words.u64(off).store(v, Ordering::Relaxed);
        w32(OFF_VERSION, layout.version());
        w32(OFF_FLAGS, layout.flags());
        w32(OFF_K64, geometry.k64);
        w32(OFF_K32, geometry.k32);
        w32(OFF_VALUE_BITS, geometry.value_bits);
        w32(OFF_ROW_BYTES, layout.row_bytes as u32);
        w32(OFF_ROWS_PER_BLOCK, layout.rows_per_block as u32);
        w32(OFF_HEADER_BYTES, HEADER_BYTES as u32);
        w64(OFF_BLOCK_COUNT, layout.block_count);
        w64(OFF_CAPACITY, geometry.capacity);
        // Zero without a string area: a version-1 header, byte for byte.
        w64(OFF_STRING_BYTES, geometry.string_bytes);
        w64(OFF_STRING_SLOTS, layout.string_slots);
        words.u64(OFF_MAGIC).store(MAGIC, Ordering::Release);
        Ok(Table { layout, words })
    }

    /// Attaches to a region that should hold a table, validating its header.
    /// The layout is copied out of shared memory once, here: nothing later
    /// re-reads geometry that a peer could have overwritten.
    pub fn attach(words: Words) -> Result<Table, FormatError> {
        let len = words.len();
        if len < HEADER_BYTES {
            return Err(FormatError::NotATable(format!(
                "{len} bytes is shorter than a header"
            )));
        }
        if words.u64(OFF_MAGIC).load(Ordering::Acquire) != MAGIC {
            return Err(FormatError::NotATable(
                "wrong magic number (or the table is not initialised yet)".into(),
            ));
        }
        let layout = Layout::from_header(
            len,
            |off| words.u32(off).load(Ordering::Relaxed),
            |off| words.u64(off).load(Ordering::Relaxed),
        )?;
        Ok(Table { layout, words })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn words(&self) -> &Words {
        &self.words
    }

    pub fn capacity(&self) -> u64 {
        self.layout.geometry.capacity
    }

    /// Keys completely inserted.
    pub fn len(&self) -> u64 {
        self.entries().load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> &AtomicU64 {
        self.words.u64(OFF_ENTRIES)
    }

    fn reserved(&self) -> &AtomicU64 {
        self.words.u64(OFF_RESERVED)
    }

    /// Checks that `key` is a key of this table: the right number of parts,
    /// none zero, 32-bit parts within 32 bits.
    pub fn check_key(&self, key: &[u64]) -> Result<(), KeyError> {
        let expected = self.layout.parts();
        if key.len() != expected {
            return Err(KeyError::Parts {
                expected,
                got: key.len(),
            });
        }
        let k64 = self.layout.geometry.k64 as usize;
        for (part, &p) in key.iter().enumerate() {
            if p == 0 {
                return Err(KeyError::Zero { part });
            }
            if part >= k64 && p > u32::MAX as u64 {
                return Err(KeyError::TooWide { part });
            }
        }
        Ok(())
    }

    /// The row holding `key`, if it is in the table. Never inserts.
    /// `key` must have passed [`Table::check_key`].
    pub fn find(&self, key: &[u64]) -> Option<u64> {
        self.find_from(self.probe(key), key)
    }

    /// The row holding `key`, inserting it (with value 0) when absent.
    /// `key` must have passed [`Table::check_key`].
    pub fn find_or_insert(&self, key: &[u64]) -> Result<Entry, TableError> {
        self.find_or_insert_from(self.probe(key), key)
    }

    /// Where `key`'s probe sequence starts: its hash and home block (the
    /// bulk calls compute it ahead, to touch the home blocks of many keys
    /// before probing any; see bulk.rs).
    #[inline]
    pub(super) fn probe(&self, key: &[u64]) -> Probe {
        Probe::new(hash_key(key), self.layout.block_count)
    }

    /// `find`, given `self.probe(key)`.
    pub(super) fn find_from(&self, probe: Probe, key: &[u64]) -> Option<u64> {
        match self.locate(probe, key, false, &mut Refusal::default()) {
            Ok(Some(entry)) => Some(entry.row),
            _ => None,
        }
    }

    /// `find_or_insert`, given `self.probe(key)`.
    pub(super) fn find_or_insert_from(
        &self,
        probe: Probe,
        key: &[u64],
    ) -> Result<Entry, TableError> {
        self.find_or_insert_with(probe, key, &mut Refusal::default())
    }

    /// `find_or_insert` for the loom models, which also says whether a
    /// `Full` came from a spent wait bound (`true`) rather than from a table
    /// seen full (see "Refused admissions").
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn find_or_insert_traced(&self, key: &[u64]) -> (Result<Entry, TableError>, bool) {
        let mut refused = Refusal::default();
        let result = self.find_or_insert_with(self.probe(key), key, &mut refused);
        (result, refused.spent)
    }

    fn find_or_insert_with(
        &self,
        probe: Probe,
        key: &[u64],
        refused: &mut Refusal,
    ) -> Result<Entry, TableError> {
        match self.locate(probe, key, true, refused)? {
            Some(entry) => Ok(entry),
            // Unreachable while the header's counters are intact: an admitted
            // insert always finds a free row. A peer that scribbled over
            // the rows can make the table look full; report that, never spin.
            None => Err(TableError::Full {
                capacity: self.capacity(),
            }),
        }
    }

    /// The probe: walks `key`'s probe sequence from `probe` (which must be
    /// `self.probe(key)`) to its row, or to the proof that it is absent.
    fn locate(
        &self,
        mut probe: Probe,
        key: &[u64],
        insert: bool,
        refused: &mut Refusal,
    ) -> Result<Option<Entry>, TableError> {
        debug_assert!(self.check_key(key).is_ok());
        let layout = &self.layout;
        let rpb = layout.rows_per_block as u64;
        for _ in 0..layout.block_count {
            let first = probe.block * rpb;
            for row in first..first + rpb {
                loop {
                    match self.match_row(row, key, insert) {
                        RowMatch::Found(inserted) => return Ok(Some(Entry { row, inserted })),
                        RowMatch::Other => break,
                        RowMatch::Absent => return Ok(None),
                        // Read the same row again (it may hold the key now),
                        // unless the table is full for this key.
                        RowMatch::Refused => refused.again(self)?,
                    }
                }
            }
            probe.advance();
        }
        Ok(None)
    }

    fn match_row(&self, row: u64, key: &[u64], insert: bool) -> RowMatch {
        let base = self.layout.row_offset(row);
        let k64 = self.layout.geometry.k64 as usize;
        let last = key.len() - 1;
        let mut inserted = false;
        for (i, &want) in key.iter().enumerate() {
            let off = base + self.layout.part_offset(i);
            let wide = i < k64;
            let current = self.load_part(off, wide);
            if current == want {
                continue;
            }
            if current != 0 {
                return RowMatch::Other;
            }
            if !insert {
                return RowMatch::Absent;
            }
            if i == 0 {
                if !self.admit() {
                    return RowMatch::Refused;
                }
                failpoint::after_admit(&self.words);
            }
            match self.claim_part(off, wide, want) {
                Ok(()) => {
                    if i == last {
                        failpoint::before_count();
                        self.entries().fetch_add(1, Ordering::AcqRel);
                        inserted = true;
                    } else {
                        failpoint::after_part();
                    }
                }
                Err(actual) => {
                    if i == 0 {
                        // Someone else took this row; give our admission back.
                        self.reserved().fetch_sub(1, Ordering::Relaxed);
                    }
                    if actual != want {
                        return RowMatch::Other;
                    }
                }
            }
        }
        RowMatch::Found(inserted)
    }

    /// Takes one unit of capacity for a row claim, or `false` when all
    /// `capacity` units are taken. A compare-and-swap from below capacity, so
    /// `reserved` never exceeds it and a refusal changes nothing.
    fn admit(&self) -> bool {
        let capacity = self.capacity();
        let reserved = self.reserved();
        let mut seen = reserved.load(Ordering::Relaxed);
        while seen < capacity {
            match reserved.compare_exchange_weak(
                seen,
                seen + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => seen = now,
            }
        }
        false
    }

    #[inline]
    fn load_part(&self, off: usize, wide: bool) -> u64 {
        if wide {
            self.words.u64(off).load(Ordering::Acquire)
        } else {
            self.words.u32(off).load(Ordering::Acquire) as u64
        }
    }

    /// Compare-and-swap a key part from 0; `Err` holds the part found instead.
    #[inline]
    fn claim_part(&self, off: usize, wide: bool, want: u64) -> Result<(), u64> {
        let (ok, fail) = (Ordering::AcqRel, Ordering::Acquire);
        if wide {
            self.words
                .u64(off)
                .compare_exchange(0, want, ok, fail)
                .map(drop)
        } else {
            self.words
                .u32(off)
                .compare_exchange(0, want as u32, ok, fail)
                .map(drop)
                .map_err(u64::from)
        }
    }

    /// Reads row `row`'s key into `out` (`parts()` long); `false` when the row
    /// holds no complete key.
    pub fn read_key(&self, row: u64, out: &mut [u64]) -> bool {
        let base = self.layout.row_offset(row);
        let k64 = self.layout.geometry.k64 as usize;
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = self.load_part(base + self.layout.part_offset(i), i < k64);
            if *slot == 0 {
                return false;
            }
        }
        true
    }

    fn value_offset(&self, row: u64) -> usize {
        debug_assert!(self.layout.geometry.value_bits != 0, "a set has no values");
        self.layout.row_offset(row) + self.layout.value_offset
    }

    fn wide_values(&self) -> bool {
        self.layout.geometry.value_bits == 64
    }

    /// The value of a row, as raw bits (zero-extended for 32-bit values).
    pub fn load(&self, row: u64) -> u64 {
        let off = self.value_offset(row);
        if self.wide_values() {
            self.words.u64(off).load(Ordering::SeqCst)
        } else {
            self.words.u32(off).load(Ordering::SeqCst) as u64
        }
    }

    /// Stores raw bits (truncated to 32 bits for 32-bit values).
    pub fn store(&self, row: u64, value: u64) {
        let off = self.value_offset(row);
        if self.wide_values() {
            self.words.u64(off).store(value, Ordering::SeqCst)
        } else {
            self.words.u32(off).store(value as u32, Ordering::SeqCst)
        }
    }

    /// Applies `op` with `operand` and returns the value before it. Arithmetic
    /// wraps modulo 2^bits.
    pub fn fetch(&self, row: u64, op: Op, operand: u64) -> u64 {
        let off = self.value_offset(row);
        const O: Ordering = Ordering::SeqCst;
        if self.wide_values() {
            let a = self.words.u64(off);
            match op {
                Op::Add => a.fetch_add(operand, O),
                Op::Sub => a.fetch_sub(operand, O),
                Op::And => a.fetch_and(operand, O),
                Op::Or => a.fetch_or(operand, O),
                Op::Xor => a.fetch_xor(operand, O),
                Op::Swap => a.swap(operand, O),
            }
        } else {
            let a = self.words.u32(off);
            let v = operand as u32;
            u64::from(match op {
                Op::Add => a.fetch_add(v, O),
                Op::Sub => a.fetch_sub(v, O),
                Op::And => a.fetch_and(v, O),
                Op::Or => a.fetch_or(v, O),
                Op::Xor => a.fetch_xor(v, O),
                Op::Swap => a.swap(v, O),
            })
        }
    }

    /// Compare-and-swap: stores `desired` if the value is `expected`; returns
    /// the value before (equal to `expected` when it stored). On 32-bit
    /// values both operands are truncated to 32 bits first, as for every
    /// operation (and as `Atomics.compareExchange` on a Uint32Array does).
    pub fn cas(&self, row: u64, expected: u64, desired: u64) -> u64 {
        let off = self.value_offset(row);
        const O: Ordering = Ordering::SeqCst;
        if self.wide_values() {
            match self
                .words
                .u64(off)
                .compare_exchange(expected, desired, O, O)
            {
                Ok(v) | Err(v) => v,
            }
        } else {
            let a = self.words.u32(off);
            match a.compare_exchange(expected as u32, desired as u32, O, O) {
                Ok(v) | Err(v) => u64::from(v),
            }
        }
    }
}
