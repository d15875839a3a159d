//! The interned-string area (format version 2, src/core/strings.rs): round
//! trips, refusals that change nothing, hostile memory that can never make a
//! part decode to a string that does not hash to it (nor panic, nor read out
//! of bounds, nor loop unboundedly), the version-2 header's validation, and
//! threads interning the same strings.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use atomic_dict::core::format::{
    MAX_STRING_BYTES, MAX_STRING_LEN, OFF_STRINGS_COUNT, OFF_STRINGS_REFUSED, OFF_STRINGS_USED,
    OFF_STRING_BYTES, OFF_STRING_SLOTS, OFF_VERSION,
};
use atomic_dict::core::strings::RecordProblem;
use atomic_dict::core::{string_key, FormatError, Geometry, Layout, StringError, Table, Words};

mod common;
use common::*;

fn with_strings(g: Geometry, string_bytes: u64) -> Geometry {
    Geometry { string_bytes, ..g }
}

/// A new dict of capacity 16 with an arena of `bytes` bytes.
fn area(bytes: u64) -> Table {
    new_table(with_strings(dict(1, 0, 64, 16), bytes))
}

fn r64(t: &Table, off: usize) -> u64 {
    t.words().u64(off).load(Ordering::SeqCst)
}

fn w64(t: &Table, off: usize, v: u64) {
    t.words().u64(off).store(v, Ordering::SeqCst)
}

/// Every word of the area and its counters: what a refusal must not change
/// (but for `strings_refused`).
fn area_words(t: &Table) -> Vec<u64> {
    let l = t.layout();
    let mut out: Vec<u64> = [OFF_STRINGS_USED, OFF_STRINGS_COUNT]
        .iter()
        .map(|&off| r64(t, off))
        .collect();
    out.extend(
        (l.string_index_offset()..l.total_bytes())
            .step_by(8)
            .map(|off| r64(t, off)),
    );
    out
}

fn refused(t: &Table) -> u64 {
    r64(t, OFF_STRINGS_REFUSED)
}

fn index_entry(t: &Table, slot: u64) -> usize {
    t.layout().string_index_offset() + 8 * slot as usize
}

/// The record size of a string of `len` bytes.
fn size(len: usize) -> u64 {
    24 + len.next_multiple_of(8) as u64
}

#[test]
fn round_trips() {
    let t = area(1 << 16);
    let strings = [
        "route:/api",
        "",
        "a",
        "12345678",
        "123456789",
        "é",
        "日本語",
        "😀 emoji",
        "\u{0}",
        "tab\tnew\nline",
        "GET",
    ];
    let mut used = 0;
    for s in strings {
        let i = t.intern(s).unwrap();
        assert!(i.inserted, "{s:?}");
        assert_eq!(i.part, string_key(s));
        used += size(s.len());
        assert_eq!(
            t.decode(i.part),
            Some((s.to_owned(), i.record + 8)),
            "{s:?}"
        );
    }
    let stats = t.string_stats().unwrap();
    assert_eq!(stats.count, strings.len() as u64);
    assert_eq!(stats.used, used);
    assert_eq!(stats.refused, 0);
    // Every string again: the same slot and record, nothing added.
    for s in strings {
        let i = t.intern(s).unwrap();
        assert!(!i.inserted);
        assert_eq!(t.decode(i.part).unwrap().0, s);
    }
    assert_eq!(t.string_stats().unwrap(), stats);
    // The record's layout is the format's (docs/FORMAT.md, "String area").
    let i = t.intern("123456789").unwrap();
    assert_eq!(r64(&t, i.record), string_key("123456789"));
    assert_eq!(r64(&t, i.record + 8), 0);
    assert_eq!(r64(&t, i.record + 16), 9);
    assert_eq!(r64(&t, i.record + 24), u64::from_le_bytes(*b"12345678"));
    assert_eq!(r64(&t, i.record + 32), u64::from(b'9'));
    let entry = r64(&t, index_entry(&t, i.slot));
    let arena = t.layout().arena_offset() as u64;
    assert_eq!(entry & 0xffff_ffff, (i.record as u64 - arena) / 8 + 1);
    assert_eq!(entry >> 32, i.part >> 32);
    let r = t.verify();
    assert!(r.ok(), "{r:?}");
    assert_eq!((r.strings, r.bad_strings), (strings.len() as u64, 0));
}

#[test]
fn the_length_limit() {
    let bytes = MAX_STRING_LEN + 24;
    let t = area(bytes);
    let long = "x".repeat(MAX_STRING_LEN as usize);
    let i = t.intern(&long).unwrap();
    assert_eq!(t.decode(i.part).unwrap().0, long);
    assert_eq!(t.string_stats().unwrap().used, bytes);
    // Multibyte, exactly at the limit (4-byte characters).
    let t = area(bytes);
    let emoji = "😀".repeat(MAX_STRING_LEN as usize / 4);
    assert_eq!(emoji.len() as u64, MAX_STRING_LEN);
    let i = t.intern(&emoji).unwrap();
    assert_eq!(t.decode(i.part).unwrap().0, emoji);
    // One byte over: refused as too long, and not counted as a refusal.
    let t = area(1 << 21);
    let before = area_words(&t);
    let over = "y".repeat(MAX_STRING_LEN as usize + 1);
    assert_eq!(t.intern(&over), Err(StringError::TooLong));
    assert_eq!(
        t.intern(&("é".repeat(MAX_STRING_LEN as usize / 2) + "z")),
        Err(StringError::TooLong)
    );
    assert_eq!(area_words(&t), before);
    assert_eq!(refused(&t), 0);
    assert_eq!(t.decode(string_key(&over)), None);
}

#[test]
fn refused_exactly_when_the_arena_is_full_and_nothing_changes() {
    // 64 bytes: two records of 32 (strings of 1 to 8 bytes) fill it.
    let t = area(64);
    assert_eq!(t.layout().string_slots, 8);
    t.intern("a").unwrap();
    t.intern("12345678").unwrap();
    assert_eq!(t.string_stats().unwrap().used, 64);
    let before = area_words(&t);
    for (n, s) in ["b", "", "c"].iter().enumerate() {
        assert_eq!(t.intern(s), Err(StringError::Refused));
        assert_eq!(area_words(&t), before, "a refusal changed the area");
        assert_eq!(refused(&t), n as u64 + 1);
        assert_eq!(t.decode(string_key(s)), None);
    }
    // Strings already in still intern.
    assert!(!t.intern("a").unwrap().inserted);
    assert_eq!(refused(&t), 3);

    // A record that fits exactly is taken, one byte more is not.
    let t = area(80);
    t.intern("0123456789abcdef").unwrap(); // 24 + 16
    assert_eq!(t.intern("0123456789abcdefX"), Err(StringError::Refused)); // 24 + 24 > 40 left
    let i = t.intern("0123456789abcde").unwrap(); // 24 + 16: exactly the rest
    assert!(i.inserted);
    assert_eq!(t.string_stats().unwrap().used, 80);
    assert_eq!(t.intern(""), Err(StringError::Refused));
    let r = t.verify();
    assert!(r.ok(), "{r:?}");
}

#[test]
fn many_strings_until_full() {
    let t = area(4096);
    let mut used = 0;
    let mut interned = Vec::new();
    for n in 0.. {
        let s = format!("string number {n}");
        let before = area_words(&t);
        match t.intern(&s) {
            Ok(i) => {
                assert!(i.inserted);
                used += size(s.len());
                interned.push((s, i));
            }
            Err(e) => {
                assert_eq!(e, StringError::Refused);
                assert!(used + size(s.len()) > 4096, "refused with room left");
                assert_eq!(area_words(&t), before);
                break;
            }
        }
    }
    let stats = t.string_stats().unwrap();
    assert_eq!(
        (stats.used, stats.count, stats.refused),
        (used, interned.len() as u64, 1)
    );
    for (s, i) in &interned {
        assert_eq!(t.decode(i.part).unwrap().0, *s);
        assert_eq!(
            t.intern(s).unwrap(),
            atomic_dict::core::Interned {
                inserted: false,
                ..*i
            }
        );
    }
    let r = t.verify();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.strings, interned.len() as u64);
}

#[test]
fn absent_parts_and_tables_without_an_area() {
    let t = area(256);
    t.intern("here").unwrap();
    for part in [0, 1, u64::MAX, string_key("absent"), string_key("here") ^ 1] {
        assert_eq!(t.decode(part), None, "{part:#x}");
    }
    let plain = new_table(dict(1, 0, 64, 16));
    assert_eq!(plain.intern("x"), Err(StringError::NoArea));
    assert_eq!(plain.decode(string_key("x")), None);
    assert_eq!(plain.string_stats(), None);
    let r = plain.verify();
    assert!(r.ok());
    assert_eq!((r.strings, r.bad_strings), (0, 0));
}

// ----------------------------------------------------------------- hostile memory

/// Runs `f` and fails if it panics or takes longer than 10 s.
#[track_caller]
fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{what} took {:?}",
        start.elapsed()
    );
    r
}

/// Writes a forged record at arena offset `off`: part, length and bytes.
fn forge_record(t: &Table, off: u64, part: u64, len: u64, bytes: &[u8]) {
    let base = t.layout().arena_offset() + off as usize;
    w64(t, base, part);
    w64(t, base + 8, 0);
    w64(t, base + 16, len);
    for (i, chunk) in bytes.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        w64(t, base + 24 + 8 * i, u64::from_le_bytes(w));
    }
}

fn entry(off: u64, part: u64) -> u64 {
    (off / 8 + 1) | (part >> 32 << 32)
}

#[test]
fn entries_pointing_outside_the_arena_are_skipped() {
    let bytes = 1024;
    let t = area(bytes);
    let part = string_key("victim");
    let home = part & (t.layout().string_slots - 1);
    let tag = part >> 32 << 32;
    // Entries with the victim's tag: offset field 0, at the arena's end, far
    // past it, the largest 32-bit offset.
    let forged = [
        tag,
        entry(bytes, part),
        entry(bytes - 16, part),
        tag | 0xffff_ffff,
        tag | 0x8000_0000,
    ];
    for (k, &e) in forged.iter().enumerate() {
        w64(
            &t,
            index_entry(&t, (home + k as u64) % t.layout().string_slots),
            e,
        );
    }
    assert_eq!(bounded("decode", || t.decode(part)), None);
    let i = bounded("intern", || t.intern("victim")).unwrap();
    assert!(i.inserted);
    assert_eq!(
        i.slot,
        (home + forged.len() as u64) % t.layout().string_slots
    );
    assert_eq!(t.decode(part).unwrap().0, "victim");
    let r = t.verify();
    assert!(!r.ok());
    assert_eq!(r.bad_strings, forged.len() as u64, "{r:?}");
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("points outside the arena")),
        "{r:?}"
    );
}

#[test]
fn forged_records_never_decode() {
    let t = area(4096);
    let slots = t.layout().string_slots;
    let part = string_key("real");
    let home = part & (slots - 1);
    let tag = part >> 32 << 32;
    let mut off = 0;
    let mut next = |len: u64| {
        let o = off;
        off += size(len as usize);
        o
    };
    // (record, why it must not decode)
    let cases: Vec<(u64, u64, u64, Vec<u8>)> = vec![
        // Bytes that do not hash to the part.
        (next(4), part, 4, b"fake".to_vec()),
        // Not UTF-8.
        (next(2), part, 2, vec![0xff, 0xfe]),
        // A length above the limit, and one past the arena.
        (next(0), part, MAX_STRING_LEN + 1, vec![]),
        (next(0), part, u64::MAX, vec![]),
        (next(0), part, 4000, vec![]),
        // Another part under the same tag.
        (next(4), part ^ 1, 4, b"real".to_vec()),
        // Part 0.
        (next(4), 0, 4, b"real".to_vec()),
    ];
    for (k, (off, p, len, bytes)) in cases.iter().enumerate() {
        forge_record(&t, *off, *p, *len, bytes);
        w64(
            &t,
            index_entry(&t, (home + k as u64) % slots),
            entry(*off, part) | tag,
        );
    }
    w64(&t, OFF_STRINGS_USED, off);
    w64(&t, OFF_STRINGS_COUNT, cases.len() as u64);
    assert_eq!(bounded("decode", || t.decode(part)), None);
    // "fake" hashes to its own part, but is published under another's.
    assert_eq!(t.decode(string_key("fake")), None);
    let i = bounded("intern", || t.intern("real")).unwrap();
    assert!(i.inserted);
    assert_eq!(i.slot, (home + cases.len() as u64) % slots);
    assert_eq!(t.decode(part).unwrap().0, "real");
    let r = t.verify();
    assert_eq!(r.strings, cases.len() as u64 + 1);
    assert_eq!(r.bad_strings, cases.len() as u64, "{r:?}");
    for why in [
        "do not hash",
        "not UTF-8",
        "longer than 2^20",
        "outside the arena",
        "does not match",
    ] {
        assert!(r.problems.iter().any(|p| p.contains(why)), "{why}: {r:?}");
    }
}

#[test]
fn an_index_full_of_garbage_refuses_and_stays_bounded() {
    let t = area(4096);
    let slots = t.layout().string_slots;
    let mut rng = Rng::new(7);
    for slot in 0..slots {
        // Never 0 (an empty entry would end the probe).
        w64(&t, index_entry(&t, slot), rng.next() | 1);
    }
    let before = area_words(&t);
    assert_eq!(
        bounded("intern", || t.intern("x")),
        Err(StringError::Refused)
    );
    assert_eq!(area_words(&t), before, "nothing allocated");
    assert_eq!(refused(&t), 1);
    for s in ["x", "y", ""] {
        assert_eq!(bounded("decode", || t.decode(string_key(s))), None);
    }
    let r = bounded("verify", || t.verify());
    assert!(!r.ok());
    assert_eq!(r.strings, slots);
}

#[test]
fn a_forged_index_of_huge_records_stops_at_the_budget() {
    // Every entry carries the victim's tag and points at one record of the
    // victim's part and 2^20 bytes that do not hash to it: without a bound
    // on the bytes read, a lookup would hash 2^20 bytes for each of the
    // 2^17 entries (128 GiB).
    let bytes = 2 * MAX_STRING_LEN + 64;
    let t = area(bytes);
    let slots = t.layout().string_slots;
    assert_eq!(slots, 1 << 17);
    let part = string_key("victim");
    forge_record(&t, 0, part, MAX_STRING_LEN, &[b'z'; 64]);
    for slot in 0..slots {
        w64(&t, index_entry(&t, slot), entry(0, part));
    }
    w64(&t, OFF_STRINGS_USED, size(MAX_STRING_LEN as usize));
    assert_eq!(bounded("decode", || t.decode(part)), None);
    let before = area_words(&t);
    assert_eq!(
        bounded("intern", || t.intern("victim")),
        Err(StringError::Refused)
    );
    assert_eq!(area_words(&t), before);
    // The audit reads at most the arena's size of records in all.
    let r = bounded("verify", || t.verify());
    assert_eq!((r.strings, r.bad_strings), (slots, slots));
    assert!(
        r.problems.iter().any(|p| p.contains("was not read")),
        "{r:?}"
    );
}

#[test]
fn counters_a_peer_broke() {
    // strings_used above the arena, or not a multiple of 8: no room.
    for used in [4096 + 8, u64::MAX, 12, 4095] {
        let t = area(4096);
        w64(&t, OFF_STRINGS_USED, used);
        let before = area_words(&t);
        assert_eq!(t.intern("x"), Err(StringError::Refused), "used {used}");
        assert_eq!(area_words(&t), before);
        assert_eq!(t.decode(string_key("x")), None);
        let r = t.verify();
        if used > 4096 {
            assert!(
                r.problems.iter().any(|p| p.contains("more than the arena")),
                "{r:?}"
            );
        }
    }
    // strings_count off: reported, and mended by repair_counts.
    let t = area(4096);
    for s in ["a", "b", "c"] {
        t.intern(s).unwrap();
    }
    w64(&t, OFF_STRINGS_COUNT, 2);
    let r = t.verify();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("strings_count is 2 but 3")),
        "{r:?}"
    );
    assert_eq!(t.repair_counts(), r);
    assert!(t.verify().ok());
    assert_eq!(t.string_stats().unwrap().count, 3);
}

#[test]
fn verify_reports_duplicates_and_unreachable_entries() {
    let t = area(4096);
    let slots = t.layout().string_slots;
    let a = t.intern("a").unwrap();
    // The same record published again, two entries after its home: found
    // twice (a duplicate) and, behind an empty entry, unreachable.
    let arena = t.layout().arena_offset() as u64;
    let e = entry(a.record as u64 - arena, a.part);
    w64(&t, index_entry(&t, (a.slot + 2) % slots), e);
    w64(&t, OFF_STRINGS_COUNT, 2);
    let r = t.verify();
    assert!(
        r.problems.iter().any(|p| p.contains("published twice")),
        "{r:?}"
    );
    assert_eq!(r.bad_strings, 1);
    // Move it: only the copy, behind an empty entry, is left.
    w64(&t, index_entry(&t, a.slot), 0);
    w64(&t, OFF_STRINGS_COUNT, 1);
    let r = t.verify();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("not found from its home entry")),
        "{r:?}"
    );
    assert_eq!(t.decode(a.part), None);
    // Past strings_used.
    let t = area(4096);
    let a = t.intern("a").unwrap();
    w64(&t, OFF_STRINGS_USED, 8);
    let r = t.verify();
    assert!(
        r.problems.iter().any(|p| p.contains("past strings_used")),
        "{r:?}"
    );
    let _ = a;
}

#[test]
fn random_garbage_never_panics_nor_lies() {
    let mut rng = Rng::new(0x5eed);
    for round in 0..200 {
        let t = area(*[64u64, 256, 4096].get(round % 3).unwrap());
        let l = *t.layout();
        let strings: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
        for s in strings.iter().take(rng.below(10) as usize) {
            let _ = t.intern(s);
        }
        // Scribble: random entries (often with a real string's tag and a
        // small offset), random record words, random counters.
        for _ in 0..rng.range(1, 40) {
            let which = rng.below(4);
            match which {
                0 => {
                    let slot = rng.below(l.string_slots);
                    let s = &strings[rng.below(20) as usize];
                    let off = rng.below(l.geometry.string_bytes / 8 + 4);
                    let low = if rng.chance(80) {
                        off + 1
                    } else {
                        rng.next() & 0xffff_ffff
                    };
                    w64(&t, index_entry(&t, slot), low | (string_key(s) >> 32 << 32));
                }
                1 => {
                    let off =
                        l.arena_offset() + 8 * rng.below(l.geometry.string_bytes / 8) as usize;
                    let v = match rng.below(4) {
                        0 => string_key(&strings[rng.below(20) as usize]),
                        1 => rng.below(64),
                        _ => random_operand(&mut rng),
                    };
                    w64(&t, off, v);
                }
                2 => w64(&t, OFF_STRINGS_USED, random_operand(&mut rng)),
                _ => w64(&t, index_entry(&t, rng.below(l.string_slots)), rng.next()),
            }
        }
        for s in &strings {
            let part = string_key(s);
            if let Some((got, word)) = bounded("decode", || t.decode(part)) {
                assert_eq!(
                    string_key(&got),
                    part,
                    "a part decoded to a string of another part"
                );
                assert!(word >= l.arena_offset() && word + 8 <= l.total_bytes());
            }
            match bounded("intern", || t.intern(s)) {
                Ok(i) => {
                    assert_eq!(i.part, part);
                    assert!(i.record >= l.arena_offset() && i.record + 24 <= l.total_bytes());
                    let _ = t.user_word(i.record).load(Ordering::SeqCst);
                }
                Err(e) => assert_eq!(e, StringError::Refused),
            }
        }
        let r = bounded("verify", || t.verify());
        let _ = bounded("repair", || t.repair_counts());
        let _ = r;
        for e in t.string_entries() {
            if let Ok(rec) = e.record {
                assert_eq!(string_key(&rec.string), rec.part);
            } else {
                assert!(matches!(
                    e.record,
                    Err(RecordProblem::OutsideArena
                        | RecordProblem::WrongPart
                        | RecordProblem::TooLong
                        | RecordProblem::NotUtf8
                        | RecordProblem::WrongHash
                        | RecordProblem::Overread)
                ));
            }
        }
    }
}

// ----------------------------------------------------------------- headers

/// A version-2 table with a few strings, filling its region exactly.
fn valid_v2(g: Geometry) -> (Words, Table) {
    let layout = Layout::new(g).unwrap();
    let words = Words::heap(layout.total_bytes());
    let t = Table::create(words.clone(), g).unwrap();
    for s in ["a", "bc", "def"] {
        t.intern(s).unwrap();
    }
    t.find_or_insert(&vec![7; layout.parts()]).unwrap();
    (words, t)
}

#[track_caller]
fn assert_not_a_table(words: &Words, what: &str) {
    let w = words.clone();
    match catch_unwind(AssertUnwindSafe(move || Table::attach(w))) {
        Err(_) => panic!("attach panicked on {what}"),
        Ok(Err(FormatError::NotATable(_))) => {}
        Ok(other) => panic!("{what}: {:?}", other.map(|t| *t.layout())),
    }
}

fn v2_geometries() -> Vec<Geometry> {
    vec![
        with_strings(dict(1, 0, 64, 100), 1024),
        with_strings(set(2, 1, 10), 96),
        with_strings(dict(0, 1, 32, 5), 4096),
        with_strings(dict(7, 0, 64, 3), 152),
    ]
}

#[test]
fn version_2_headers_attach_and_validate() {
    for g in v2_geometries() {
        let (words, t) = valid_v2(g);
        assert_eq!(r64(&t, OFF_VERSION) as u32, 2);
        let u = Table::attach(words.clone()).unwrap();
        assert_eq!(u.layout(), t.layout());
        for s in ["a", "bc", "def"] {
            assert_eq!(u.decode(string_key(s)).unwrap().0, s);
        }
        assert!(u.verify().ok());
        let l = *t.layout();
        let fresh = || {
            let (w, _) = valid_v2(g);
            w
        };
        let set32 = |w: &Words, off: usize, v: u32| w.u32(off).store(v, Ordering::SeqCst);
        let set64 = |w: &Words, off: usize, v: u64| w.u64(off).store(v, Ordering::SeqCst);
        for slots in [
            0,
            1,
            l.string_slots / 2,
            l.string_slots - 1,
            l.string_slots + 1,
            l.string_slots * 2,
            u64::MAX,
        ] {
            let w = fresh();
            set64(&w, OFF_STRING_SLOTS, slots);
            assert_not_a_table(&w, &format!("string_slots {slots} ({g:?})"));
        }
        let b = g.string_bytes;
        for bytes in [
            0,
            8,
            56,
            b + 1,
            b + 4,
            b - 4,
            MAX_STRING_BYTES + 8,
            u64::MAX,
            1 << 40,
        ] {
            let w = fresh();
            set64(&w, OFF_STRING_BYTES, bytes);
            assert_not_a_table(&w, &format!("string_bytes {bytes} ({g:?})"));
        }
        // A consistent bigger area (bytes and slots forged together).
        let w = fresh();
        let big = with_strings(g, b * 4);
        set64(&w, OFF_STRING_BYTES, big.string_bytes);
        set64(&w, OFF_STRING_SLOTS, Layout::new(big).unwrap().string_slots);
        assert_not_a_table(&w, "an area bigger than the region");
        // Version 1 with the area's fields set.
        let w = fresh();
        set32(&w, OFF_VERSION, 1);
        assert_not_a_table(&w, "version 1 with a string area");
        for v in [0, 3, u32::MAX] {
            let w = fresh();
            set32(&w, OFF_VERSION, v);
            assert_not_a_table(&w, &format!("version {v}"));
        }
        // Truncated: the area cut short.
        let total = l.total_bytes();
        for len in [l.blocks_end(), l.arena_offset(), total - 8] {
            let short = Words::heap(len);
            for off in (0..len).step_by(8) {
                short
                    .u64(off)
                    .store(words.u64(off).load(Ordering::SeqCst), Ordering::SeqCst);
            }
            assert_not_a_table(&short, &format!("{len} of {total} bytes"));
        }
    }
}

#[test]
fn version_1_headers_with_string_fields_are_refused() {
    for g in [dict(1, 0, 64, 100), set(0, 1, 10)] {
        for off in [
            OFF_STRING_BYTES,
            OFF_STRING_SLOTS,
            OFF_STRINGS_USED,
            OFF_STRINGS_COUNT,
            OFF_STRINGS_REFUSED,
        ] {
            let t = new_table(g);
            w64(&t, off, 64);
            assert_not_a_table(t.words(), &format!("version 1 with the word at {off} set"));
        }
        // Version 2 with string_bytes 0 (with or without slots).
        let t = new_table(g);
        t.words().u32(OFF_VERSION).store(2, Ordering::SeqCst);
        assert_not_a_table(t.words(), "version 2 without a string area");
        w64(&t, OFF_STRING_SLOTS, 8);
        assert_not_a_table(t.words(), "version 2 without string bytes");
    }
}

#[test]
fn version_1_tables_are_unchanged() {
    // A table without an area: version 1, every string field zero, the
    // region exactly header and blocks, as before version 2 existed.
    for g in [dict(1, 0, 64, 100), dict(2, 1, 32, 7), set(0, 3, 1000)] {
        let t = new_table(g);
        let l = *t.layout();
        assert_eq!(r64(&t, OFF_VERSION) as u32, 1);
        assert_eq!(l.total_bytes(), 128 + 64 * l.block_count as usize);
        for off in (56..128).step_by(8).filter(|&o| o != 64 && o != 72) {
            assert_eq!(r64(&t, off), 0, "header word {off}");
        }
        assert!(Table::attach(t.words().clone()).is_ok());
    }
}

// ----------------------------------------------------------------- threads

#[test]
fn threads_interning_overlapping_strings() {
    const THREADS: usize = 8;
    let strings: Vec<String> = (0..300)
        .map(|i| format!("key-{i}-{}", "é".repeat(i % 7)))
        .collect();
    let bytes: u64 = strings.iter().map(|s| size(s.len())).sum::<u64>() + 4096;
    let t = area(bytes.next_multiple_of(8));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|k| {
            let t = t.clone();
            let barrier = barrier.clone();
            let mut mine: Vec<String> = strings
                .iter()
                .enumerate()
                .filter(|(i, _)| (i + k) % 3 != 0)
                .map(|(_, s)| s.clone())
                .collect();
            Rng::new(k as u64).shuffle(&mut mine);
            std::thread::spawn(move || {
                barrier.wait();
                mine.into_iter()
                    .map(|s| {
                        let i = t.intern(&s).unwrap();
                        (s, i)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut got: HashMap<String, Vec<atomic_dict::core::Interned>> = HashMap::new();
    for h in handles {
        for (s, i) in h.join().unwrap() {
            got.entry(s).or_default().push(i);
        }
    }
    assert_eq!(got.len(), strings.len());
    for (s, all) in &got {
        assert_eq!(all.iter().filter(|i| i.inserted).count(), 1, "{s}: {all:?}");
        assert!(
            all.iter()
                .all(|i| (i.slot, i.record) == (all[0].slot, all[0].record)),
            "{s}"
        );
        assert_eq!(
            t.decode(string_key(s)).unwrap(),
            (s.clone(), all[0].record + 8)
        );
    }
    let stats = t.string_stats().unwrap();
    assert_eq!(stats.count, strings.len() as u64);
    assert_eq!(stats.refused, 0);
    let published: u64 = strings.iter().map(|s| size(s.len())).sum();
    assert!(stats.used >= published, "{stats:?}");
    let r = t.verify();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.strings, strings.len() as u64);
}

#[test]
fn threads_racing_for_a_small_arena() {
    // Room for a few of the strings: every string either decodes, or was
    // refused to every caller that found no record of it.
    for round in 0..20u64 {
        let t = area(512);
        const THREADS: usize = 4;
        let strings: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|k| {
                let t = t.clone();
                let barrier = barrier.clone();
                let mut mine = strings.clone();
                Rng::new(round * 10 + k as u64).shuffle(&mut mine);
                std::thread::spawn(move || {
                    barrier.wait();
                    mine.into_iter()
                        .map(|s| (t.intern(&s), s))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut refusals = 0;
        let mut slots: HashMap<String, HashSet<u64>> = HashMap::new();
        for h in handles {
            for (r, s) in h.join().unwrap() {
                match r {
                    Ok(i) => {
                        slots.entry(s).or_default().insert(i.slot);
                    }
                    Err(e) => {
                        assert_eq!(e, StringError::Refused);
                        refusals += 1;
                    }
                }
            }
        }
        let stats = t.string_stats().unwrap();
        assert_eq!(stats.refused, refusals);
        assert!(stats.used <= 512);
        assert_eq!(stats.count, slots.len() as u64);
        for (s, set) in &slots {
            assert_eq!(set.len(), 1, "{s} got two slots");
            assert_eq!(t.decode(string_key(s)).unwrap().0, *s);
        }
        let r = t.verify();
        assert!(r.ok(), "{r:?}");
    }
}
