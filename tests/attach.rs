//! `Table::attach` validates a header: every corrupted, forged or truncated
//! region is an `Err` (never a panic, never a table), and a valid region
//! attaches and shows the same keys and values.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use atomic_dict::core::{FormatError, Geometry, Kind, Layout, Table, Words};

// Header offsets (docs/FORMAT.md / src/core/format.rs).
const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_FLAGS: usize = 12;
const OFF_K64: usize = 16;
const OFF_K32: usize = 20;
const OFF_VALUE_BITS: usize = 24;
const OFF_ROW_BYTES: usize = 28;
const OFF_ROWS_PER_BLOCK: usize = 32;
const OFF_HEADER_BYTES: usize = 36;
const OFF_BLOCK_COUNT: usize = 40;
const OFF_CAPACITY: usize = 48;
const HEADER_BYTES: usize = 128;
use atomic_dict::core::format::MAX_CAPACITY;

mod common;
use common::*;

const GEOMETRIES: [Geometry; 5] = [
    Geometry {
        kind: Kind::Dict,
        k64: 1,
        k32: 0,
        value_bits: 64,
        signed: false,
        capacity: 100,
        string_bytes: 0,
    },
    Geometry {
        kind: Kind::Dict,
        k64: 0,
        k32: 1,
        value_bits: 32,
        signed: true,
        capacity: 1000,
        string_bytes: 0,
    },
    Geometry {
        kind: Kind::Dict,
        k64: 2,
        k32: 1,
        value_bits: 64,
        signed: false,
        capacity: 37,
        string_bytes: 0,
    },
    Geometry {
        kind: Kind::Set,
        k64: 1,
        k32: 2,
        value_bits: 0,
        signed: false,
        capacity: 50,
        string_bytes: 0,
    },
    Geometry {
        kind: Kind::Dict,
        k64: 7,
        k32: 0,
        value_bits: 64,
        signed: false,
        capacity: 3,
        string_bytes: 0,
    },
];

/// A valid table filling its region exactly, with a few keys in it.
fn valid(g: Geometry) -> (Words, Table) {
    let layout = Layout::new(g).unwrap();
    let words = Words::heap(layout.total_bytes());
    let t = Table::create(words.clone(), g).unwrap();
    let parts = (g.k64 + g.k32) as usize;
    for i in 0..(g.capacity - 1).min(10) {
        let key: Vec<u64> = (0..parts).map(|p| i + p as u64 + 1).collect();
        let e = t.find_or_insert(&key).unwrap();
        if g.kind == Kind::Dict {
            t.store(e.row, 100 + i);
        }
    }
    (words, t)
}

fn w32(words: &Words, off: usize, v: u32) {
    words.u32(off).store(v, Ordering::SeqCst);
}

fn w64(words: &Words, off: usize, v: u64) {
    words.u64(off).store(v, Ordering::SeqCst);
}

fn r32(words: &Words, off: usize) -> u32 {
    words.u32(off).load(Ordering::SeqCst)
}

fn r64(words: &Words, off: usize) -> u64 {
    words.u64(off).load(Ordering::SeqCst)
}

/// `attach` must return an error, and must not panic.
#[track_caller]
fn assert_rejected(words: &Words, what: &str) {
    let w = words.clone();
    let result = catch_unwind(AssertUnwindSafe(move || Table::attach(w)));
    match result {
        Err(_) => panic!("attach panicked on {what}"),
        Ok(Ok(t)) => panic!(
            "attach accepted {what}: layout {:?} over {} bytes",
            t.layout(),
            words.len()
        ),
        Ok(Err(FormatError::NotATable(_))) => {}
        Ok(Err(e)) => panic!("attach on {what} gave {e:?}, expected NotATable"),
    }
}

/// Makes a fresh valid table of `g`, applies `corrupt` to its words and
/// checks `attach` rejects it.
fn reject_after(g: Geometry, what: &str, corrupt: impl Fn(&Words, &Layout)) {
    let (words, t) = valid(g);
    let layout = *t.layout();
    assert!(Table::attach(words.clone()).is_ok(), "control: {g:?}");
    corrupt(&words, &layout);
    assert_rejected(&words, &format!("{what} ({g:?})"));
}

#[test]
fn zeroed_and_short_regions() {
    assert_rejected(&Words::heap(0), "an empty region");
    assert_rejected(&Words::heap(64), "a region shorter than the header");
    assert_rejected(&Words::heap(120), "a region shorter than the header");
    assert_rejected(&Words::heap(HEADER_BYTES), "a zeroed header");
    assert_rejected(&Words::heap(1 << 16), "a zeroed region");
    // A short region whose first bytes are the magic number.
    let w = Words::heap(64);
    w64(&w, OFF_MAGIC, u64::from_le_bytes(*b"ATOMDICT"));
    assert_rejected(&w, "a 64-byte region with the magic number");
}

#[test]
fn valid_region_attaches_and_sees_the_same_table() {
    for g in GEOMETRIES {
        let (words, t) = valid(g);
        let u = Table::attach(words.clone()).expect("valid table attaches");
        assert_eq!(u.layout(), t.layout());
        assert_eq!(u.capacity(), g.capacity);
        assert_eq!(u.len(), t.len());
        let parts = t.layout().parts();
        let (mut a, mut b) = (vec![0; parts], vec![0; parts]);
        let mut n = 0;
        for row in 0..t.layout().rows() {
            let full = t.read_key(row, &mut a);
            assert_eq!(u.read_key(row, &mut b), full);
            if full {
                n += 1;
                assert_eq!(a, b);
                assert_eq!(u.find(&a), Some(row));
                if g.kind == Kind::Dict {
                    assert_eq!(u.load(row), t.load(row));
                }
            }
        }
        assert_eq!(n, t.len());
        // Changes through one handle are seen through the other.
        let key = vec![u32::MAX as u64; parts];
        let e = u.find_or_insert(&key).unwrap();
        assert!(e.inserted);
        assert_eq!(t.find(&key), Some(e.row));
        assert_eq!(t.len(), n + 1);
        if g.kind == Kind::Dict {
            u.store(e.row, 77);
            assert_eq!(t.load(e.row), 77);
        }

        // A region larger than the table needs is fine too.
        let big = Words::heap(t.layout().total_bytes() + 4096);
        Table::create(big.clone(), g).unwrap();
        assert!(Table::attach(big).is_ok());
    }
}

#[test]
fn corrupted_magic() {
    for g in GEOMETRIES {
        for byte in 0..8 {
            reject_after(g, &format!("magic byte {byte} flipped"), |w, _| {
                w64(w, OFF_MAGIC, r64(w, OFF_MAGIC) ^ (0xFF << (8 * byte)));
            });
        }
        reject_after(g, "magic zeroed", |w, _| w64(w, OFF_MAGIC, 0));
        reject_after(g, "magic byte-swapped", |w, _| {
            w64(w, OFF_MAGIC, r64(w, OFF_MAGIC).swap_bytes())
        });
    }
}

#[test]
fn wrong_version_or_flags() {
    for g in GEOMETRIES {
        for v in [0, 2, 0x100, u32::MAX] {
            reject_after(g, &format!("version {v}"), |w, _| w32(w, OFF_VERSION, v));
        }
        for bit in 2..32 {
            reject_after(g, &format!("unknown flag bit {bit}"), |w, _| {
                w32(w, OFF_FLAGS, r32(w, OFF_FLAGS) | (1 << bit))
            });
        }
        // Dict <-> set: the value width no longer fits the kind.
        reject_after(g, "set flag toggled", |w, _| {
            w32(w, OFF_FLAGS, r32(w, OFF_FLAGS) ^ 1)
        });
        if g.kind == Kind::Set {
            reject_after(g, "signed set", |w, _| w32(w, OFF_FLAGS, 3));
        }
    }
}

/// Forges the user-chosen fields (k64, k32, value_bits) to `forged`. The
/// header is rejected unless `forged` happens to give exactly the same row
/// layout and block count (e.g. (2,1,64) and (2,2,64) both have 32-byte rows
/// with the value at 24): such a header is self-consistent, cannot be told
/// apart, and must then attach as `forged`.
fn forge_geometry(g: Geometry, forged: Geometry, what: &str) {
    let l = Layout::new(g).unwrap();
    let same = Layout::new(forged).is_ok_and(|m| {
        (m.row_bytes, m.rows_per_block, m.block_count)
            == (l.row_bytes, l.rows_per_block, l.block_count)
    });
    let (words, _) = valid(g);
    w32(&words, OFF_K64, forged.k64);
    w32(&words, OFF_K32, forged.k32);
    w32(&words, OFF_VALUE_BITS, forged.value_bits);
    if same {
        let t = Table::attach(words).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(t.layout().geometry, forged, "{what}");
    } else {
        assert_rejected(&words, &format!("{what} ({g:?})"));
    }
}

#[test]
fn forged_geometry_fields() {
    for g in GEOMETRIES {
        for d in [1u32, 2, 8, 9, 17, 1 << 31, u32::MAX] {
            let k64 = g.k64.wrapping_add(d);
            forge_geometry(g, Geometry { k64, ..g }, &format!("k64 {k64}"));
            let k32 = g.k32.wrapping_add(d);
            forge_geometry(g, Geometry { k32, ..g }, &format!("k32 {k32}"));
        }
        forge_geometry(
            g,
            Geometry {
                k64: 0,
                k32: 0,
                ..g
            },
            "no key parts",
        );
        forge_geometry(g, Geometry { k64: 8, ..g }, "k64 8");
        forge_geometry(g, Geometry { k32: 16, ..g }, "k32 16");
        for bits in [0u32, 8, 16, 32, 64, 128, u32::MAX] {
            if bits != g.value_bits {
                forge_geometry(
                    g,
                    Geometry {
                        value_bits: bits,
                        ..g
                    },
                    &format!("value_bits {bits}"),
                );
            }
        }
        let stored = valid(g).0;
        for (name, off) in [
            ("row_bytes", OFF_ROW_BYTES),
            ("rows_per_block", OFF_ROWS_PER_BLOCK),
            ("header_bytes", OFF_HEADER_BYTES),
        ] {
            let right = r32(&stored, off);
            for v in [0u32, 1, 4, 8, 16, 64, 65, 128, u32::MAX] {
                if v != right {
                    reject_after(g, &format!("{name} = {v}"), |w, _| w32(w, off, v));
                }
            }
            for v in [right + 1, right - 1, right * 2] {
                reject_after(g, &format!("{name} = {v}"), |w, _| w32(w, off, v));
            }
        }
    }
}

#[test]
fn forged_block_count() {
    for g in GEOMETRIES {
        let blocks = Layout::new(g).unwrap().block_count;
        for v in [
            0,
            1,
            2,
            blocks - 1,
            blocks + 1,
            blocks + 2,
            blocks * 2,
            // Larger than the region can hold.
            blocks + 1000,
            1 << 32,
            1 << 58,
            u64::MAX / 64,
            u64::MAX / 64 + 1,
            u64::MAX - 1,
            u64::MAX,
        ] {
            if v == blocks {
                continue;
            }
            reject_after(g, &format!("block_count {v}"), |w, _| {
                w64(w, OFF_BLOCK_COUNT, v)
            });
        }
    }
}

#[test]
fn forged_capacity() {
    for g in GEOMETRIES {
        let blocks = Layout::new(g).unwrap().block_count;
        for cap in [
            0,
            g.capacity * 2,
            g.capacity * 100,
            1 << 32,
            MAX_CAPACITY,
            MAX_CAPACITY + 1,
            1 << 63,
            u64::MAX,
        ] {
            // A capacity giving the same block count is consistent (and safe:
            // the load factor bound still holds); skip those.
            if let Ok(l) = Layout::new(Geometry { capacity: cap, ..g }) {
                if l.block_count == blocks {
                    continue;
                }
            }
            reject_after(g, &format!("capacity {cap}"), |w, _| {
                w64(w, OFF_CAPACITY, cap)
            });
        }
    }
}

/// Capacity and block count forged together, consistently with each other,
/// describing a table bigger than the region: rejected for the region length.
#[test]
fn forged_bigger_consistent_header() {
    for g in GEOMETRIES {
        for cap in [g.capacity * 4, 100_000, 1 << 30, MAX_CAPACITY] {
            let big = Layout::new(Geometry { capacity: cap, ..g }).unwrap();
            reject_after(g, &format!("consistent header for {cap} keys"), |w, _| {
                w64(w, OFF_CAPACITY, cap);
                w64(w, OFF_BLOCK_COUNT, big.block_count);
            });
        }
    }
}

/// A capacity that keeps the same block count attaches, and the load factor
/// bound still holds for it (capacity keys fit in fewer than `rows` rows).
#[test]
fn same_block_count_capacity_is_consistent() {
    for g in GEOMETRIES {
        let l = Layout::new(g).unwrap();
        let (words, _) = valid(g);
        for cap in 1..=l.rows() {
            let ok = Layout::new(Geometry { capacity: cap, ..g })
                .map(|m| m.block_count == l.block_count)
                .unwrap_or(false);
            w64(&words, OFF_CAPACITY, cap);
            let r = Table::attach(words.clone());
            assert_eq!(r.is_ok(), ok, "capacity {cap} for {g:?}");
            if let Ok(t) = r {
                assert!(cap * 4 <= t.layout().rows() * 3);
                assert!(cap < t.layout().rows());
            }
        }
    }
}

/// A valid header copied into a region too small for its blocks.
#[test]
fn truncated_copy() {
    for g in GEOMETRIES {
        let (words, t) = valid(g);
        let total = t.layout().total_bytes();
        let copy_into = |len: usize| {
            let small = Words::heap(len);
            for off in (0..len.min(total)).step_by(8) {
                w64(&small, off, r64(&words, off));
            }
            small
        };
        for len in [
            HEADER_BYTES,
            HEADER_BYTES + 8,
            HEADER_BYTES + 64,
            total / 2,
            total - 64,
            total - 8,
        ] {
            if len < HEADER_BYTES || len >= total {
                continue;
            }
            assert_rejected(&copy_into(len), &format!("{len}-byte copy of {total}"));
        }
        // Header only, in a region shorter than a header.
        assert_rejected(&copy_into(HEADER_BYTES - 8), "a header cut short");
        // Control: a full copy attaches and holds the same keys.
        let full = Table::attach(copy_into(total)).expect("full copy attaches");
        assert_eq!(full.len(), t.len());
        let parts = t.layout().parts();
        let mut k = vec![0; parts];
        for row in 0..t.layout().rows() {
            if t.read_key(row, &mut k) {
                assert_eq!(full.find(&k), Some(row));
                if g.kind == Kind::Dict {
                    assert_eq!(full.load(row), t.load(row));
                }
            }
        }
    }
}

#[test]
fn create_rejects_a_short_region() {
    for g in [dict(1, 0, 64, 100), set(0, 1, 10)] {
        let need = Layout::new(g).unwrap().total_bytes();
        assert!(Table::create(Words::heap(need - 8), g).is_err());
        assert!(Table::create(Words::heap(64), g).is_err());
        assert!(Table::create(Words::heap(need), g).is_ok());
    }
}
