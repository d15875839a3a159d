//! The interned-string area (format version 2, docs/FORMAT.md "String area"): a
//! fixed-size, lock-free table of the strings whose key parts a table
//! holds, so that a part can be given back as the string it stands for.
//!
//! The area is an index of `string_slots` u64 entries and an arena of
//! `string_bytes` bytes, after the blocks (format.rs). A string is stored
//! once, as a record in the arena (its key part, a user word, its UTF-8
//! length, its bytes), and published by an index entry pointing at it
//! (offset / 8 + 1 in the low 32 bits, the part's high 32 bits as a tag in
//! the high ones). A part's probe starts at `part & (slots - 1)` and goes
//! on one entry at a time, wrapping, at most `slots` entries.
//!
//! # Invariants
//! - An index entry is written once, by a compare-and-swap from 0, and never
//!   changes; a lookup that meets an empty entry knows the part is in no
//!   later one (an interner only passes an entry it saw non-zero).
//! - The arena is allocated by bumping `strings_used` with a
//!   compare-and-swap from a value that leaves room (never a blind add), so
//!   `strings_used <= string_bytes` at all times and a refusal changes
//!   nothing but `strings_refused`. Records are never freed or moved.
//! - A record is complete before the entry that publishes it is written;
//!   a record that loses the race for its entry goes on to the next empty
//!   entry of its probe, or is left unpublished (wasted: bounded by the
//!   callers that raced, each wasting at most one record per call).
//! - `strings_count` counts the compare-and-swaps that published an entry
//!   (exactly one per published record); it is incremented just after, so a
//!   process killed in between leaves it one short (`verify()` reports it,
//!   `repair_counts()` mends it).
//! - With every record at its minimum of 24 bytes the index is at most 3/4
//!   full (format.rs, `STRING_BYTES_PER_SLOT`), so in an honest table the
//!   arena runs out before the index does: "index full" means a peer wrote
//!   garbage into it.
//! - Two distinct strings with the same 64-bit part are one key part anyway
//!   (string_key.rs): the first interned is the one the part decodes to, and
//!   interning the second finds the first's record (it validates for the
//!   part) and returns it.
//!
//! # Untrusted memory
//! The area is shared memory any peer can write. Nothing read from it is
//! trusted: an entry's offset and a record's length are checked against the
//! arena's bounds (from the validated layout, never re-read) before a byte
//! is read, a length above 2^20 is refused, and a record decodes only if its
//! stored part is the part looked up, its bytes are UTF-8 and they hash to
//! that part: so no peer can make a part decode to a string that does not
//! hash to it. A record that fails is skipped (the probe goes on). A probe
//! visits at most `slots` entries, and reads the bytes of at most
//! `FULL_READS` records (those whose stored part is the part looked up; in
//! an honest table that is one record, or one per string of that part when
//! strings sharing a part raced to be interned): a probe that would read
//! more has met a forged index and stops (a lookup reports the part absent,
//! an intern is refused). So a call reads at most `slots` entries and
//! `FULL_READS` records of at most 2^20 bytes, never panics and never reads
//! outside the region. Listing the whole index (`string_entries`, for
//! `verify`) reads at most `string_bytes` bytes of records in all (honest
//! entries point at distinct allocations); entries past that are reported
//! as `RecordProblem::Overread`, unread.
//!
//! # Memory orderings
//! A record is written with Relaxed stores by the one caller that allocated
//! it (nobody else can reach it before it is published), then published by
//! the entry's compare-and-swap with Release; readers load entries with
//! Acquire, so the record's words happen-before their (Relaxed) loads of
//! them. An interner that loses the compare-and-swap reads the winning
//! entry with Acquire (the failure ordering), and so the winner's record.
//! `strings_used` is an allocation gate that publishes nothing (like
//! `reserved`, table.rs): Relaxed, its compare-and-swap always acts on the
//! latest value. `strings_count` and `strings_refused` are statistics that
//! publish nothing: Relaxed.
//!
//! Interning a string before inserting a key that uses it (what the JS
//! layer does) gives readers the string with the key: the key's part is
//! published with Release after the intern returned, so a reader whose
//! Acquire load sees the key's part also sees the index entry and the
//! record (happens-before through the inserting thread).

use std::fmt;

use super::failpoint;
use super::format::{
    MAX_STRING_LEN, OFF_STRINGS_COUNT, OFF_STRINGS_REFUSED, OFF_STRINGS_USED, RECORD_HEADER_BYTES,
};
use super::string_key::string_key;
use super::sync::{AtomicU64, Ordering};
use super::table::Table;

/// A string in the area: where it is, and whether this call put it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interned {
    /// The index entry that publishes it (0 to `string_slots - 1`).
    pub slot: u64,
    /// The record's byte offset in the region.
    pub record: usize,
    /// The string's key part, `string_key(s)`.
    pub part: u64,
    /// Whether this call published it.
    pub inserted: bool,
}

impl Interned {
    /// Byte offset in the region of the record's user word.
    pub fn user_word_offset(&self) -> usize {
        self.record + 8
    }
}

/// Why a string was not interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringError {
    /// The table has no string area (a version-1 table).
    NoArea,
    /// The string's UTF-8 form is longer than `MAX_STRING_LEN` bytes.
    TooLong,
    /// No room: the arena (or the index) is full. Counted in
    /// `strings_refused`; nothing else changed.
    Refused,
}

impl fmt::Display for StringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StringError::NoArea => write!(f, "the table has no string area"),
            StringError::TooLong => {
                write!(f, "a string is interned only up to {MAX_STRING_LEN} bytes")
            }
            StringError::Refused => write!(f, "the string area is full"),
        }
    }
}

impl std::error::Error for StringError {}

/// The string area's size and counters, as read now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StringStats {
    /// The arena's size in bytes.
    pub bytes: u64,
    /// Entries in the index.
    pub slots: u64,
    /// Arena bytes allocated.
    pub used: u64,
    /// Strings published in the index.
    pub count: u64,
    /// Intern attempts that found no room.
    pub refused: u64,
}

/// A non-empty index entry, as [`Table::string_entries`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringEntry {
    /// The entry's index.
    pub slot: u64,
    /// The entry's raw value.
    pub entry: u64,
    /// The record it points at, checked, or why it does not validate.
    pub record: Result<StringRecord, RecordProblem>,
}

/// A record that validates: its part, string and place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringRecord {
    pub part: u64,
    pub string: String,
    /// The record's byte offset in the region.
    pub record: usize,
    /// The record's size in bytes (24 + its padded length).
    pub size: u64,
}

/// Why an index entry does not publish a valid record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordProblem {
    /// The entry's offset field is 0, or the record (or its bytes) would
    /// reach past the arena.
    OutsideArena,
    /// The record's part is 0 or does not carry the entry's tag.
    WrongPart,
    /// The record's length is above `MAX_STRING_LEN`.
    TooLong,
    /// The record's bytes are not UTF-8.
    NotUtf8,
    /// The record's bytes do not hash to its part.
    WrongHash,
    /// Not read: the entries before it already pointed at more record bytes
    /// than the arena holds (a forged index).
    Overread,
}

impl fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordProblem::OutsideArena => "points outside the arena",
            RecordProblem::WrongPart => "points at a record whose part does not match its tag",
            RecordProblem::TooLong => "points at a record longer than 2^20 bytes",
            RecordProblem::NotUtf8 => "points at a record whose bytes are not UTF-8",
            RecordProblem::WrongHash => "points at a record whose bytes do not hash to its part",
            RecordProblem::Overread => {
                "was not read: the entries before it point at more record bytes than the arena holds"
            }
        })
    }
}

/// The area's place and size, from the validated layout (never re-read).
#[derive(Clone, Copy)]
struct Area {
    /// Byte offset of the index.
    index: usize,
    /// Index entries (a power of two).
    slots: u64,
    /// Byte offset of the arena.
    arena: usize,
    /// The arena's size in bytes.
    bytes: u64,
}

/// The most records a probe reads in full (see "Untrusted memory").
const FULL_READS: u32 = 4;

/// What a look at one record found.
enum Check<T> {
    /// It validates for the part (and holds `T`).
    Valid(T),
    /// It does not: skip it.
    Invalid,
    /// Reading it would pass the probe's bound: the index is forged.
    Exhausted,
}

/// An entry's value for the record at arena offset `off`, tagged with `part`.
fn entry_for(off: u64, part: u64) -> u64 {
    (off / 8 + 1) | (part >> 32 << 32)
}

/// Bytes of a record whose string is `len` bytes long.
fn record_size(len: u64) -> u64 {
    RECORD_HEADER_BYTES + len.next_multiple_of(8)
}

impl Table {
    fn area(&self) -> Option<Area> {
        let layout = self.layout();
        if !layout.has_strings() {
            return None;
        }
        Some(Area {
            index: layout.string_index_offset(),
            slots: layout.string_slots,
            arena: layout.arena_offset(),
            bytes: layout.geometry.string_bytes,
        })
    }

    /// Whether the table has a string area.
    pub fn has_strings(&self) -> bool {
        self.layout().has_strings()
    }

    fn index_entry(&self, area: Area, slot: u64) -> &AtomicU64 {
        self.words().u64(area.index + 8 * slot as usize)
    }

    /// Interns `s`: returns its record, publishing one when the area does not
    /// hold it yet. Lock-free; see the module's comment.
    pub fn intern(&self, s: &str) -> Result<Interned, StringError> {
        let area = self.area().ok_or(StringError::NoArea)?;
        if s.len() as u64 > MAX_STRING_LEN {
            return Err(StringError::TooLong);
        }
        self.intern_in(area, s, string_key(s))
    }

    fn intern_in(&self, area: Area, s: &str, part: u64) -> Result<Interned, StringError> {
        let bytes = s.as_bytes();
        let mask = area.slots - 1;
        let tag = part >> 32;
        let mut budget = FULL_READS;
        // The arena offset of this call's record, once allocated and written.
        let mut mine: Option<u64> = None;
        let mut slot = part & mask;
        for _ in 0..area.slots {
            let cell = self.index_entry(area, slot);
            let mut entry = cell.load(Ordering::Acquire);
            if entry == 0 {
                match self.own_record(area, &mut mine, part, bytes) {
                    Some(off) => match cell.compare_exchange(
                        0,
                        entry_for(off, part),
                        Ordering::Release,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => {
                            self.words()
                                .u64(OFF_STRINGS_COUNT)
                                .fetch_add(1, Ordering::Relaxed);
                            return Ok(Interned {
                                slot,
                                record: area.arena + off as usize,
                                part,
                                inserted: true,
                            });
                        }
                        // Another caller published here first: look at what
                        // it published (it may be this string).
                        Err(now) => entry = now,
                    },
                    None => {
                        // No room. A caller of this very string may have
                        // published it here meanwhile: look again first.
                        entry = cell.load(Ordering::Acquire);
                        if entry == 0 {
                            return Err(self.refuse());
                        }
                    }
                }
            }
            if entry >> 32 == tag {
                match self.holds(area, entry, part, bytes, &mut budget) {
                    Check::Valid(record) => {
                        return Ok(Interned {
                            slot,
                            record,
                            part,
                            inserted: false,
                        })
                    }
                    Check::Invalid => {}
                    Check::Exhausted => return Err(self.refuse()),
                }
            }
            slot = (slot + 1) & mask;
        }
        // Every entry walked, none empty (a forged index).
        Err(self.refuse())
    }

    /// This call's record of `bytes`: the one it allocated and wrote at an
    /// earlier empty entry (whose compare-and-swap it lost), or a new one;
    /// `None` when the arena has no room for it.
    fn own_record(
        &self,
        area: Area,
        mine: &mut Option<u64>,
        part: u64,
        bytes: &[u8],
    ) -> Option<u64> {
        if mine.is_none() {
            let off = self.allocate(area, record_size(bytes.len() as u64))?;
            failpoint::intern_after_alloc();
            self.write_record(area, off, part, bytes);
            failpoint::intern_before_publish();
            *mine = Some(off);
        }
        *mine
    }

    /// Counts a refusal and returns its error.
    fn refuse(&self) -> StringError {
        self.words()
            .u64(OFF_STRINGS_REFUSED)
            .fetch_add(1, Ordering::Relaxed);
        StringError::Refused
    }

    /// Takes `size` bytes of the arena: their arena offset, or `None` when
    /// they do not fit. A compare-and-swap from a value that leaves room, so
    /// `strings_used` never passes `string_bytes` and a refusal changes
    /// nothing. A value a peer made impossible (above the arena, or not a
    /// multiple of 8) leaves no room.
    fn allocate(&self, area: Area, size: u64) -> Option<u64> {
        let used = self.words().u64(OFF_STRINGS_USED);
        let mut seen = used.load(Ordering::Relaxed);
        loop {
            if !seen.is_multiple_of(8) || seen > area.bytes || area.bytes - seen < size {
                return None;
            }
            match used.compare_exchange_weak(
                seen,
                seen + size,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(seen),
                Err(now) => seen = now,
            }
        }
    }

    /// Writes the record of `bytes` (whose part is `part`) at arena offset
    /// `off`, which this call allocated: nobody else reaches it before the
    /// entry that publishes it (Relaxed stores; see "Memory orderings").
    fn write_record(&self, area: Area, off: u64, part: u64, bytes: &[u8]) {
        let base = area.arena + off as usize;
        let words = self.words();
        words.u64(base).store(part, Ordering::Relaxed);
        words.u64(base + 8).store(0, Ordering::Relaxed);
        words
            .u64(base + 16)
            .store(bytes.len() as u64, Ordering::Relaxed);
        let payload = words.u64s(base + 24, bytes.len().div_ceil(8));
        for (word, chunk) in payload.iter().zip(bytes.chunks(8)) {
            let mut le = [0u8; 8];
            le[..chunk.len()].copy_from_slice(chunk);
            word.store(u64::from_le_bytes(le), Ordering::Relaxed);
        }
    }

    /// The checked header of the record `entry` points at, for `part`: the
    /// record's region offset and string length. `Err` says why not.
    fn record_header(
        &self,
        area: Area,
        entry: u64,
        part: u64,
    ) -> Result<(usize, u64), RecordProblem> {
        let low = entry & 0xffff_ffff;
        if low == 0 {
            return Err(RecordProblem::OutsideArena);
        }
        let off = (low - 1) * 8;
        if off + RECORD_HEADER_BYTES > area.bytes {
            return Err(RecordProblem::OutsideArena);
        }
        let base = area.arena + off as usize;
        let words = self.words();
        if part == 0 || words.u64(base).load(Ordering::Relaxed) != part {
            return Err(RecordProblem::WrongPart);
        }
        let len = words.u64(base + 16).load(Ordering::Relaxed);
        if len > MAX_STRING_LEN {
            return Err(RecordProblem::TooLong);
        }
        if off + record_size(len) > area.bytes {
            return Err(RecordProblem::OutsideArena);
        }
        Ok((base, len))
    }

    /// The string bytes of the record at `base` (checked by `record_header`).
    fn record_bytes(&self, base: usize, len: u64) -> Vec<u8> {
        let len = len as usize;
        let mut out = Vec::with_capacity(len.next_multiple_of(8));
        for word in self.words().u64s(base + 24, len.div_ceil(8)) {
            out.extend_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// Whether the record's `len` bytes at `base` are exactly `bytes`
    /// (without copying them).
    fn record_equals(&self, base: usize, len: u64, bytes: &[u8]) -> bool {
        if len != bytes.len() as u64 {
            return false;
        }
        let payload = self.words().u64s(base + 24, bytes.len().div_ceil(8));
        payload.iter().zip(bytes.chunks(8)).all(|(word, chunk)| {
            let have = word.load(Ordering::Relaxed).to_le_bytes();
            have[..chunk.len()] == *chunk
        })
    }

    /// Takes one full read out of a probe's budget.
    fn spend(budget: &mut u32) -> bool {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        true
    }

    /// The string of the record `entry` points at, if it validates for `part`.
    fn decode_entry(
        &self,
        area: Area,
        entry: u64,
        part: u64,
        budget: &mut u32,
    ) -> Check<(String, usize)> {
        let Ok((base, len)) = self.record_header(area, entry, part) else {
            return Check::Invalid;
        };
        if !Self::spend(budget) {
            return Check::Exhausted;
        }
        let Ok(string) = String::from_utf8(self.record_bytes(base, len)) else {
            return Check::Invalid;
        };
        if string_key(&string) != part {
            return Check::Invalid;
        }
        Check::Valid((string, base))
    }

    /// Whether the record `entry` points at holds `bytes` (whose part is
    /// `part`), or another string of the same part (the first interned of
    /// two strings that share a part is the part's string): its region
    /// offset then.
    fn holds(
        &self,
        area: Area,
        entry: u64,
        part: u64,
        bytes: &[u8],
        budget: &mut u32,
    ) -> Check<usize> {
        let Ok((base, len)) = self.record_header(area, entry, part) else {
            return Check::Invalid;
        };
        if !Self::spend(budget) {
            return Check::Exhausted;
        }
        if self.record_equals(base, len, bytes) {
            // `bytes` is UTF-8 and hashes to `part`: so does the record.
            return Check::Valid(base);
        }
        match std::str::from_utf8(&self.record_bytes(base, len)) {
            Ok(other) if string_key(other) == part => Check::Valid(base),
            _ => Check::Invalid,
        }
    }

    /// The string whose key part is `part`, if the area holds it, and the
    /// byte offset of its record's user word. Never changes anything; bounded
    /// by the area's size whatever the memory holds.
    pub fn decode(&self, part: u64) -> Option<(String, usize)> {
        let area = self.area()?;
        if part == 0 {
            return None;
        }
        let mask = area.slots - 1;
        let mut budget = FULL_READS;
        let mut slot = part & mask;
        for _ in 0..area.slots {
            let entry = self.index_entry(area, slot).load(Ordering::Acquire);
            if entry == 0 {
                return None;
            }
            if entry >> 32 == part >> 32 {
                match self.decode_entry(area, entry, part, &mut budget) {
                    Check::Valid((string, base)) => return Some((string, base + 8)),
                    Check::Invalid => {}
                    Check::Exhausted => return None,
                }
            }
            slot = (slot + 1) & mask;
        }
        None
    }

    /// The user word of the record at byte offset `record` of the region
    /// (an [`Interned::record`] of this table).
    ///
    /// # Panics
    /// If the table has no string area or `record` is not a record's place
    /// in the arena.
    pub fn user_word(&self, record: usize) -> &AtomicU64 {
        let area = self.area().expect("the table has no string area");
        let end = area.arena + area.bytes as usize;
        assert!(
            record >= area.arena
                && (record - area.arena).is_multiple_of(8)
                && record + RECORD_HEADER_BYTES as usize <= end,
            "{record} is not a record of the string arena"
        );
        self.words().u64(record + 8)
    }

    /// The area's size and counters (`None` without an area).
    pub fn string_stats(&self) -> Option<StringStats> {
        let area = self.area()?;
        let read = |off| self.words().u64(off).load(Ordering::Relaxed);
        Some(StringStats {
            bytes: area.bytes,
            slots: area.slots,
            used: read(OFF_STRINGS_USED),
            count: read(OFF_STRINGS_COUNT),
            refused: read(OFF_STRINGS_REFUSED),
        })
    }

    /// Reads the index from entry `from_slot` on and writes the non-empty
    /// entries into `out` as `(slot, entry)` pairs, until `out` is full or
    /// the index ends. Returns how many it wrote and the slot to resume from
    /// (`string_slots` at the end; `(0, 0)` without an area).
    pub fn next_strings(&self, from_slot: u64, out: &mut [(u64, u64)]) -> (usize, u64) {
        let Some(area) = self.area() else {
            return (0, 0);
        };
        let mut written = 0;
        let mut slot = from_slot.min(area.slots);
        while slot < area.slots && written < out.len() {
            let entry = self.index_entry(area, slot).load(Ordering::Acquire);
            if entry != 0 {
                out[written] = (slot, entry);
                written += 1;
            }
            slot += 1;
        }
        (written, slot)
    }

    /// Every non-empty index entry in slot order, with its record checked
    /// against the part the record holds (for `verify` and inspection).
    /// Reads at most `string_bytes` bytes of records in all (see "Untrusted
    /// memory").
    pub fn string_entries(&self) -> impl Iterator<Item = StringEntry> + '_ {
        let area = self.area();
        let slots = area.map_or(0, |a| a.slots);
        let mut budget = area.map_or(0, |a| a.bytes);
        (0..slots).filter_map(move |slot| {
            let area = area?;
            let entry = self.index_entry(area, slot).load(Ordering::Acquire);
            (entry != 0).then(|| StringEntry {
                slot,
                entry,
                record: self.check_entry(area, entry, &mut budget),
            })
        })
    }

    /// The record `entry` points at, validated for the part it holds, read
    /// only if it fits in `budget` bytes (which it then takes).
    fn check_entry(
        &self,
        area: Area,
        entry: u64,
        budget: &mut u64,
    ) -> Result<StringRecord, RecordProblem> {
        let low = entry & 0xffff_ffff;
        let off = low.checked_sub(1).map(|l| l * 8);
        let part = match off {
            Some(off) if off + RECORD_HEADER_BYTES <= area.bytes => self
                .words()
                .u64(area.arena + off as usize)
                .load(Ordering::Relaxed),
            _ => return Err(RecordProblem::OutsideArena),
        };
        if part == 0 || part >> 32 != entry >> 32 {
            return Err(RecordProblem::WrongPart);
        }
        let (base, len) = self.record_header(area, entry, part)?;
        let size = record_size(len);
        if size > *budget {
            return Err(RecordProblem::Overread);
        }
        *budget -= size;
        let string =
            String::from_utf8(self.record_bytes(base, len)).map_err(|_| RecordProblem::NotUtf8)?;
        if string_key(&string) != part {
            return Err(RecordProblem::WrongHash);
        }
        Ok(StringRecord {
            part,
            string,
            record: base,
            size,
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::core::format::{OFF_STRING_BYTES, OFF_STRING_SLOTS};
    use crate::core::{Geometry, Kind, Layout, Words};

    fn table(string_bytes: u64) -> Table {
        let g = Geometry {
            kind: Kind::Dict,
            k64: 1,
            k32: 0,
            value_bits: 64,
            signed: false,
            capacity: 16,
            string_bytes,
        };
        Table::create(Words::heap(Layout::new(g).unwrap().total_bytes()), g).unwrap()
    }

    #[test]
    fn round_trip_and_duplicates() {
        let t = table(4096);
        let a = t.intern("route:/api").unwrap();
        assert!(a.inserted);
        assert_eq!(a.part, string_key("route:/api"));
        assert_eq!(a.slot, a.part & (t.layout().string_slots - 1));
        let again = t.intern("route:/api").unwrap();
        assert_eq!(
            again,
            Interned {
                inserted: false,
                ..a
            }
        );
        assert_eq!(
            t.decode(a.part),
            Some(("route:/api".to_owned(), a.user_word_offset()))
        );
        t.user_word(a.record)
            .store(7, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            t.words()
                .u64(a.user_word_offset())
                .load(std::sync::atomic::Ordering::SeqCst),
            7
        );
        let s = t.string_stats().unwrap();
        assert_eq!((s.count, s.used, s.refused), (1, 24 + 16, 0));
        assert_eq!(t.decode(string_key("absent")), None);
        assert_eq!(t.decode(0), None);
    }

    #[test]
    fn no_area() {
        let t = table(0);
        assert_eq!(t.intern("x"), Err(StringError::NoArea));
        assert_eq!(t.decode(string_key("x")), None);
        assert_eq!(t.string_stats(), None);
        assert_eq!(t.string_entries().count(), 0);
        assert_eq!(t.next_strings(0, &mut [(0, 0); 4]), (0, 0));
        let w = t.words();
        assert_eq!(
            w.u64(OFF_STRING_BYTES)
                .load(std::sync::atomic::Ordering::SeqCst),
            0
        );
        assert_eq!(
            w.u64(OFF_STRING_SLOTS)
                .load(std::sync::atomic::Ordering::SeqCst),
            0
        );
    }

    #[test]
    fn next_strings_lists_the_published_entries() {
        let t = table(1024);
        let mut slots: Vec<u64> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| t.intern(s).unwrap().slot)
            .collect();
        slots.sort_unstable();
        let mut out = [(0u64, 0u64); 2];
        let mut from = 0;
        let mut seen = Vec::new();
        loop {
            let (n, next) = t.next_strings(from, &mut out);
            seen.extend(out[..n].iter().map(|&(slot, _)| slot));
            if n < out.len() {
                assert_eq!(next, t.layout().string_slots);
                break;
            }
            from = next;
        }
        assert_eq!(seen, slots);
    }
}
