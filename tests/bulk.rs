//! The bulk calls against their single-key counterparts: `next_key_rows`
//! against the rows `read_key` reports complete.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use atomic_dict::core::{Geometry, Table};

mod common;
use common::*;

/// A 64-bit key, a composite one (k64 = 2, k32 = 1) and a 32-bit one, at
/// capacity 0 (each test sets its own).
fn geometries() -> [Geometry; 3] {
    [dict(1, 0, 64, 0), dict(2, 1, 64, 0), dict(0, 1, 32, 0)]
}

fn with_capacity(g: Geometry, capacity: u64) -> Geometry {
    Geometry { capacity, ..g }
}

/// Key number `i` (distinct for distinct `i`) of a table of geometry `g`:
/// earlier parts small, so keys share prefixes; the last part tells them
/// apart, and on 64-bit last parts odd `i` use the top of the range.
fn key(g: Geometry, i: u64) -> Vec<u64> {
    let parts = (g.k64 + g.k32) as usize;
    let mut k: Vec<u64> = (0..parts as u64 - 1).map(|p| (i + p) % 3 + 1).collect();
    let last = if g.k32 == 0 && i % 2 == 1 {
        u64::MAX - i
    } else {
        i + 1
    };
    k.push(last);
    k
}

fn parts(t: &Table) -> usize {
    t.layout().parts()
}

/// The rows `read_key` reports complete, from `from` on.
fn complete_rows(t: &Table, from: u64) -> Vec<u64> {
    let mut key = vec![0u64; parts(t)];
    (from..t.layout().rows())
        .filter(|&row| t.read_key(row, &mut key))
        .collect()
}

/// Every row `next_key_rows` gives from `from`, `size` at a time, checking
/// each call's result and resume row.
fn scan(t: &Table, from: u64, size: usize) -> Vec<u64> {
    let rows = t.layout().rows();
    let mut out = vec![u64::MAX; size];
    let mut all = Vec::new();
    let mut at = from;
    loop {
        let (n, next) = t.next_key_rows(at, &mut out);
        assert!(n <= size);
        let got = &out[..n];
        assert!(got.windows(2).all(|w| w[0] < w[1]), "row order");
        assert!(got.iter().all(|&r| r >= at && r < rows));
        if n == size {
            assert_eq!(next, got[n - 1] + 1, "resume after the last row");
        } else {
            assert_eq!(next, rows, "a short answer ends the scan");
        }
        all.extend_from_slice(got);
        if next == rows {
            return all;
        }
        at = next;
    }
}

fn check_scans(t: &Table) {
    let rows = t.layout().rows();
    for from in [0, 1, 5, rows / 2, rows - 1] {
        let want = complete_rows(t, from);
        for size in [1, 3, 1000] {
            assert_eq!(scan(t, from, size), want, "from {from}, {size} at a time");
        }
    }
    for from in [rows, rows + 1, u64::MAX] {
        assert_eq!(t.next_key_rows(from, &mut [0; 3]), (0, rows));
    }
    assert_eq!(t.next_key_rows(3, &mut []), (0, 3));
}

#[test]
fn next_key_rows_on_empty_sparse_and_full_tables() {
    // set(0, 16): sixteen 32-bit parts, the widest key a row can hold.
    let mut shapes = geometries().to_vec();
    shapes.push(set(0, 16, 0));
    for g in shapes {
        let empty = new_table(with_capacity(g, 300));
        check_scans(&empty);
        assert_eq!(scan(&empty, 0, 1), []);

        let sparse = new_table(with_capacity(g, 10_000));
        for i in [3, 700] {
            sparse.find_or_insert(&key(g, i)).unwrap();
        }
        check_scans(&sparse);
        assert_eq!(scan(&sparse, 0, 3).len(), 2);

        let full = new_table(with_capacity(g, 300));
        for i in 0..300 {
            full.find_or_insert(&key(g, i)).unwrap();
        }
        check_scans(&full);
        let rows = scan(&full, 0, 3);
        assert_eq!(rows.len(), 300);
        let mut k = vec![0u64; parts(&full)];
        let keys: HashSet<Vec<u64>> = rows
            .iter()
            .map(|&r| {
                assert!(full.read_key(r, &mut k));
                k.clone()
            })
            .collect();
        assert_eq!(keys, (0..300).map(|i| key(g, i)).collect());
    }
}

/// Rows whose key is not complete (as an inserter that died mid-way leaves
/// them) are skipped, as `read_key` skips them.
#[test]
fn next_key_rows_skips_partial_rows() {
    let g = dict(2, 1, 64, 50);
    let t = new_table(g);
    for i in 0..20 {
        t.find_or_insert(&key(g, i)).unwrap();
    }
    let free = complete_rows(&t, 0);
    let mut free_rows = (0..t.layout().rows()).filter(|r| !free.contains(r));
    let layout = *t.layout();
    // Part 0 only, then parts 0 and 1 (the 32-bit part 2 left 0).
    let (a, b) = (free_rows.next().unwrap(), free_rows.next().unwrap());
    let word = |row: u64, part: usize| t.words().u64(layout.row_offset(row) + 8 * part);
    word(a, 0).store(9, Ordering::SeqCst);
    word(b, 0).store(9, Ordering::SeqCst);
    word(b, 1).store(9, Ordering::SeqCst);
    assert_eq!(complete_rows(&t, 0), free);
    check_scans(&t);
    assert_eq!(scan(&t, 0, 1), free);
}

/// The scan is live: keys inserted behind its position are missed, keys
/// inserted ahead of it are seen.
#[test]
fn next_key_rows_is_live() {
    for g in geometries() {
        let t = new_table(with_capacity(g, 2000));
        for i in 0..500 {
            t.find_or_insert(&key(g, i)).unwrap();
        }
        let mut out = [0u64; 3];
        let mut at = 0;
        while at < t.layout().rows() / 2 {
            at = t.next_key_rows(at, &mut out).1;
        }
        let before: Vec<u64> = complete_rows(&t, at);
        let mut ahead = Vec::new();
        let mut behind = 0;
        for i in 500..1500 {
            let row = t.find_or_insert(&key(g, i)).unwrap().row;
            if row >= at {
                ahead.push(row);
            } else {
                behind += 1;
            }
        }
        assert!(behind > 0 && !ahead.is_empty());
        let mut want = [before, ahead].concat();
        want.sort_unstable();
        assert_eq!(scan(&t, at, 3), want);
    }
}
