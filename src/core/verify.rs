//! `Table::verify`: an audit of a table's rows against its invariants, for
//! tests, crash recovery checks and `npx atomic-dict inspect`-style tools.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::format::{OFF_ENTRIES, OFF_RESERVED, OFF_STRINGS_COUNT, OFF_STRINGS_USED};
use super::sync::Ordering;
use super::table::Table;

/// What `verify` found. `problems` is empty when the table is sound.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The header's entry count.
    pub entries: u64,
    /// The header's admission counter (claimed rows plus admissions not yet
    /// claimed; on a quiescent table any excess is leaked admissions).
    pub reserved: u64,
    /// Rows holding a complete key.
    pub complete_rows: u64,
    /// Rows whose first part is claimed but whose key is incomplete (an
    /// insert in flight, or an inserter that died mid-way).
    pub partial_rows: u64,
    /// Keys found complete in more than one row.
    pub duplicate_keys: u64,
    /// Complete keys that a lookup from their home block does not reach.
    pub unreachable_keys: u64,
    /// Entries published in the string index (0 without a string area).
    pub strings: u64,
    /// Published string entries that a lookup of their part would not
    /// decode: pointing outside the arena or past `strings_used`, at a
    /// record that does not validate, unreachable from their home entry, or
    /// a second entry of a part already published.
    pub bad_strings: u64,
    /// Human-readable descriptions of every violation (capped at 20).
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

const MAX_PROBLEMS: usize = 20;

impl Table {
    /// Scans every row. Meant for a quiescent table: inserts in flight show
    /// up as partial rows and count mismatches.
    pub fn verify(&self) -> Report {
        let layout = *self.layout();
        let words = self.words();
        let mut report = Report {
            entries: words.u64(OFF_ENTRIES).load(Ordering::Acquire),
            reserved: words.u64(OFF_RESERVED).load(Ordering::Acquire),
            ..Report::default()
        };
        let problem = |report: &mut Report, msg: String| {
            if report.problems.len() < MAX_PROBLEMS {
                report.problems.push(msg);
            }
        };
        let parts = layout.parts();
        let mut key = vec![0u64; parts];
        let mut rows_of: HashMap<Vec<u64>, u64> = HashMap::new();
        for row in 0..layout.rows() {
            if self.read_key(row, &mut key) {
                report.complete_rows += 1;
                if let Some(first) = rows_of.insert(key.clone(), row) {
                    report.duplicate_keys += 1;
                    problem(
                        &mut report,
                        format!("key {key:?} is in rows {first} and {row}"),
                    );
                }
            } else if key[0] != 0 {
                report.partial_rows += 1;
            }
        }
        for (key, &row) in &rows_of {
            if self.check_key(key).is_err() || self.find(key) != Some(row) {
                report.unreachable_keys += 1;
                problem(
                    &mut report,
                    format!("key {key:?} in row {row} is not found from its home block"),
                );
            }
        }
        if report.entries != report.complete_rows {
            let msg = format!(
                "the entry count is {} but {} rows hold complete keys",
                report.entries, report.complete_rows
            );
            problem(&mut report, msg);
        }
        let claimed = report.complete_rows + report.partial_rows;
        if report.reserved < claimed {
            let msg = format!(
                "the admission counter is {} but {claimed} rows are claimed",
                report.reserved
            );
            problem(&mut report, msg);
        } else if report.reserved > claimed {
            // On a quiescent table every admission has claimed a row or given
            // its unit back: these units belong to inserters that died between
            // admission and claim, and are lost until `repair_counts`.
            let msg = format!(
                "the admission counter is {} but only {claimed} rows are claimed: \
                 {} admissions leaked",
                report.reserved,
                report.reserved - claimed
            );
            problem(&mut report, msg);
        }
        if claimed > self.capacity() {
            let msg = format!(
                "{claimed} rows are claimed, more than the capacity {}",
                self.capacity()
            );
            problem(&mut report, msg);
        }
        self.verify_strings(&mut report, problem);
        report
    }

    /// The string area's part of the audit (string.rs, "Invariants").
    fn verify_strings(&self, report: &mut Report, problem: impl Fn(&mut Report, String)) {
        let Some(stats) = self.string_stats() else {
            return;
        };
        let words = self.words();
        let used = words.u64(OFF_STRINGS_USED).load(Ordering::Acquire);
        let count = words.u64(OFF_STRINGS_COUNT).load(Ordering::Acquire);
        if used > stats.bytes {
            problem(
                report,
                format!(
                    "strings_used is {used}, more than the arena's {} bytes",
                    stats.bytes
                ),
            );
        }
        let slots = stats.slots;
        let mask = slots - 1;
        let arena = self.layout().arena_offset() as u64;
        // Which entries are taken, to tell whether a lookup reaches each.
        let mut taken = vec![0u64; slots.div_ceil(64) as usize];
        // Valid entries: slot -> part, and part -> its first slot.
        let mut good: HashMap<u64, u64> = HashMap::new();
        let mut first_slot: HashMap<u64, u64> = HashMap::new();
        for e in self.string_entries() {
            report.strings += 1;
            taken[(e.slot / 64) as usize] |= 1 << (e.slot % 64);
            let r = match e.record {
                Ok(r) => r,
                Err(why) => {
                    report.bad_strings += 1;
                    problem(
                        report,
                        format!("string index entry {} = {:#x} {why}", e.slot, e.entry),
                    );
                    continue;
                }
            };
            if r.record as u64 - arena + r.size > used {
                report.bad_strings += 1;
                problem(
                    report,
                    format!(
                        "string index entry {} points at a record past strings_used ({used})",
                        e.slot
                    ),
                );
                continue;
            }
            match first_slot.entry(r.part) {
                Entry::Occupied(first) => {
                    report.bad_strings += 1;
                    problem(
                        report,
                        format!(
                            "string part {:#018x} is published twice, in index entries {} and {}",
                            r.part,
                            first.get(),
                            e.slot
                        ),
                    );
                }
                Entry::Vacant(v) => {
                    v.insert(e.slot);
                    good.insert(e.slot, r.part);
                }
            }
        }
        // A lookup of a part walks from its home entry and stops at an empty
        // one: an entry is reachable when no empty entry lies between. One
        // pass over the index from an empty entry (there is none only when
        // every entry is taken, and then every one is reachable), counting
        // the taken entries since the last empty one.
        let is_taken = |s: u64| taken[(s / 64) as usize] & (1 << (s % 64)) != 0;
        if let Some(first_empty) = (0..slots).find(|&s| !is_taken(s)) {
            let mut since_empty = 0u64;
            for k in 1..=slots {
                let slot = (first_empty + k) & mask;
                if !is_taken(slot) {
                    since_empty = 0;
                    continue;
                }
                since_empty += 1;
                let Some(&part) = good.get(&slot) else {
                    continue;
                };
                // Entries a lookup visits from its home entry to this one.
                let walk = (slot.wrapping_sub(part & mask) & mask) + 1;
                if walk > since_empty {
                    report.bad_strings += 1;
                    problem(
                        report,
                        format!(
                            "string part {part:#018x} in index entry {slot} is not found from its home entry"
                        ),
                    );
                }
            }
        }
        if count != report.strings {
            let msg = format!(
                "strings_count is {count} but {} string index entries are published",
                report.strings
            );
            problem(report, msg);
        }
    }
}

impl Table {
    /// Recounts the header's counters from the rows: `entries` = complete
    /// rows, `reserved` = claimed rows (and `strings_count` = published
    /// string index entries). Only for a table nobody is changing
    /// at the moment (for example after the processes using it were killed):
    /// a process killed between claiming a key and counting it leaves
    /// `entries` one short, and one killed between its admission and its
    /// claim leaves `reserved` one unit over (a unit of capacity nobody can
    /// use); `verify` reports both and this mends them. On a table in use it
    /// would count admissions in flight as leaked and give them away: the
    /// table could then take more than `capacity` keys. Returns the report
    /// from before the repair.
    pub fn repair_counts(&self) -> Report {
        let before = self.verify();
        let words = self.words();
        let claimed = before.complete_rows + before.partial_rows;
        words
            .u64(OFF_ENTRIES)
            .store(before.complete_rows, Ordering::Release);
        words.u64(OFF_RESERVED).store(claimed, Ordering::Release);
        if self.has_strings() {
            // A process killed between publishing a string and counting it
            // leaves the count one short.
            words
                .u64(OFF_STRINGS_COUNT)
                .store(before.strings, Ordering::Release);
        }
        before
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::core::{Geometry, Kind, Layout, Table, Words};

    fn table(k64: u32, k32: u32, capacity: u64) -> Table {
        let g = Geometry {
            kind: Kind::Dict,
            k64,
            k32,
            value_bits: 64,
            signed: false,
            capacity,
            string_bytes: 0,
        };
        Table::create(Words::heap(Layout::new(g).unwrap().total_bytes()), g).unwrap()
    }

    #[test]
    fn a_sound_table_verifies() {
        let t = table(2, 1, 500);
        for i in 1..=500u64 {
            t.find_or_insert(&[1 + i % 3, i, 7]).unwrap();
        }
        let r = t.verify();
        assert!(r.ok(), "{r:?}");
        assert_eq!(
            (r.entries, r.complete_rows, r.partial_rows, r.reserved),
            (500, 500, 0, 500)
        );
    }

    #[test]
    fn damage_is_reported() {
        let t = table(1, 0, 100);
        for i in 1..=50u64 {
            t.find_or_insert(&[i]).unwrap();
        }
        // A forged duplicate: copy key 7 into an empty row elsewhere.
        let layout = *t.layout();
        let row7 = t.find(&[7]).unwrap();
        let empty = (0..layout.rows())
            .find(|&r| {
                let mut k = [0u64];
                !t.read_key(r, &mut k) && r != row7
            })
            .unwrap();
        let off = layout.row_offset(empty);
        t.words()
            .u64(off)
            .store(7, std::sync::atomic::Ordering::SeqCst);
        let r = t.verify();
        assert!(!r.ok());
        assert_eq!(r.complete_rows, 51);
        assert_eq!(r.duplicate_keys, 1, "{r:?}");
        assert!(
            r.problems.iter().any(|p| p.contains("entry count")),
            "{r:?}"
        );
    }

    #[test]
    fn repair_recounts_a_count_left_short_by_a_crash() {
        let t = table(1, 0, 100);
        for i in 1..=10u64 {
            t.find_or_insert(&[i]).unwrap();
        }
        // As if an inserter died after its CAS and before counting.
        t.words()
            .u64(crate::core::format::OFF_ENTRIES)
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        assert!(!t.verify().ok());
        let before = t.repair_counts();
        assert_eq!((before.entries, before.complete_rows), (9, 10));
        let after = t.verify();
        assert!(after.ok(), "{after:?}");
        assert_eq!(t.len(), 10);
    }

    #[test]
    fn a_leaked_admission_is_reported_and_given_back() {
        let t = table(1, 0, 3);
        for i in 1..=2u64 {
            t.find_or_insert(&[i]).unwrap();
        }
        // As if an inserter died after its admission and before its claim.
        t.words()
            .u64(crate::core::format::OFF_RESERVED)
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let r = t.verify();
        assert!(!r.ok());
        assert_eq!((r.reserved, r.complete_rows), (3, 2));
        assert!(
            r.problems.iter().any(|p| p.contains("1 admissions leaked")),
            "{r:?}"
        );
        // The leaked unit is lost to inserts until it is given back.
        assert!(t.find_or_insert(&[3]).is_err());
        assert_eq!(t.repair_counts(), r);
        let after = t.verify();
        assert!(after.ok(), "{after:?}");
        assert_eq!(after.reserved, 2);
        assert!(t.find_or_insert(&[3]).unwrap().inserted);
        assert!(t.verify().ok());
    }
}
