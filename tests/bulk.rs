//! The bulk calls against their single-key counterparts: `find_many` against
//! `find`, `find_or_insert_many` against sequential `find_or_insert` on a
//! twin table (and a `HashMap` of keys seen), `next_key_rows` against the
//! rows `read_key` reports complete; then `find_or_insert_many` racing on
//! overlapping key sets.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::thread;

use atomic_dict::core::{Entry, Geometry, Op, Table, TableError};

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

fn flat(keys: &[Vec<u64>]) -> Vec<u64> {
    keys.concat()
}

fn parts(t: &Table) -> usize {
    t.layout().parts()
}

/// A list of `n` key numbers below `space`, with duplicates, some of them
/// adjacent (so a batch holds the same key twice).
fn numbers(rng: &mut Rng, n: usize, space: u64) -> Vec<u64> {
    let mut v: Vec<u64> = Vec::with_capacity(n);
    while v.len() < n {
        match (v.last(), rng.below(10)) {
            (Some(&last), 0) => v.push(last),
            (Some(_), 1) => v.push(v[rng.below(v.len() as u64) as usize]),
            _ => v.push(rng.below(space)),
        }
    }
    v
}

const SIZES: [usize; 8] = [0, 1, 3, 15, 16, 17, 100, 1000];

#[test]
fn find_many_equals_find() {
    let mut rng = Rng::new(11);
    for g in geometries() {
        let t = new_table(with_capacity(g, 2000));
        // Numbers below 1500 are in the table, 1500..3000 are not.
        for i in 0..1500 {
            t.find_or_insert(&key(g, i)).unwrap();
        }
        let len = t.len();
        for n in SIZES {
            let keys: Vec<Vec<u64>> = numbers(&mut rng, n, 3000)
                .into_iter()
                .map(|i| key(g, i))
                .collect();
            let mut out = vec![7u64; n];
            t.find_many(&flat(&keys), parts(&t), &mut out);
            for (k, &row) in keys.iter().zip(&out) {
                assert_eq!(Some(row).filter(|&r| r != u64::MAX), t.find(k), "{k:?}");
            }
            assert!(out.contains(&u64::MAX) || n < 100, "absent keys asked");
            assert_eq!(t.len(), len, "find_many must not insert");
        }
    }
}

#[test]
fn find_many_on_empty_and_full_tables() {
    for g in geometries() {
        let t = new_table(with_capacity(g, 100));
        let keys: Vec<Vec<u64>> = (0..200).map(|i| key(g, i)).collect();
        let mut out = vec![0u64; 200];
        t.find_many(&flat(&keys), parts(&t), &mut out);
        assert!(out.iter().all(|&r| r == u64::MAX), "empty table");
        let rows: Vec<u64> = keys[..100]
            .iter()
            .map(|k| t.find_or_insert(k).unwrap().row)
            .collect();
        t.find_many(&flat(&keys), parts(&t), &mut out);
        assert_eq!(&out[..100], &rows[..]);
        assert!(out[100..].iter().all(|&r| r == u64::MAX), "full table");
    }
}

/// Keys of the wrong width, or fewer words than `out` asks for: only keys
/// given in full are looked up, every other slot says absent; nothing
/// panics.
#[test]
fn bulk_calls_with_mismatched_lengths() {
    let g = dict(2, 1, 64, 100);
    let t = new_table(g);
    let keys: Vec<Vec<u64>> = (0..5).map(|i| key(g, i)).collect();
    let rows: Vec<u64> = keys
        .iter()
        .map(|k| t.find_or_insert(k).unwrap().row)
        .collect();
    let words = flat(&keys);
    let mut out = vec![0u64; 5];

    t.find_many(&words, 2, &mut out);
    assert_eq!(out, [u64::MAX; 5], "wrong width");
    t.find_many(&words, 0, &mut out);
    assert_eq!(out, [u64::MAX; 5], "zero width");
    t.find_many(&words[..3 * 3 + 2], 3, &mut out);
    assert_eq!(&out[..3], &rows[..3], "three whole keys");
    assert_eq!(&out[3..], [u64::MAX; 2]);
    let mut short = vec![0u64; 2];
    t.find_many(&words, 3, &mut short);
    assert_eq!(short, &rows[..2], "keys beyond out are not looked at");

    let none = Entry {
        row: u64::MAX,
        inserted: false,
    };
    let mut entries = vec![
        Entry {
            row: 1,
            inserted: true
        };
        5
    ];
    assert_eq!(t.find_or_insert_many(&words, 4, &mut entries), Ok(()));
    assert_eq!(entries, [none; 5], "wrong width: nothing done");
    let new_key = key(g, 99);
    let mut words2 = flat(&keys[..2]);
    words2.extend_from_slice(&new_key);
    words2.push(1); // a part of a fourth key, not given in full
    assert_eq!(t.find_or_insert_many(&words2, 3, &mut entries), Ok(()));
    assert_eq!(entries[0].row, rows[0]);
    assert_eq!(entries[1].row, rows[1]);
    assert!(entries[2].inserted);
    assert_eq!(&entries[3..], [none; 2]);
    assert_eq!(t.len(), 6);
    assert!(t.find_or_insert_many(&[], 3, &mut []).is_ok());
    t.find_many(&[], 3, &mut []);
}

#[test]
fn find_or_insert_many_equals_sequential_find_or_insert() {
    let mut rng = Rng::new(12);
    for g in geometries() {
        let g = with_capacity(g, 5000);
        let (bulk, seq) = (new_table(g), new_table(g));
        let mut seen = HashSet::new();
        for round in 0..6 {
            for n in SIZES {
                let numbers = numbers(&mut rng, n, 1000 * (round + 1));
                let keys: Vec<Vec<u64>> = numbers.iter().map(|&i| key(g, i)).collect();
                let mut out = vec![
                    Entry {
                        row: 0,
                        inserted: true
                    };
                    n
                ];
                assert_eq!(
                    bulk.find_or_insert_many(&flat(&keys), parts(&bulk), &mut out),
                    Ok(())
                );
                for (k, got) in keys.iter().zip(&out) {
                    let want = seq.find_or_insert(k).unwrap();
                    assert_eq!(*got, want, "{k:?}");
                    assert_eq!(got.inserted, seen.insert(k.clone()), "{k:?}");
                }
                assert_eq!(bulk.len(), seen.len() as u64);
            }
        }
        assert_eq!(seq.len(), bulk.len());
        assert!(bulk.verify().ok(), "{:?}", bulk.verify());
    }
}

/// A batch that fills the table exactly, then one key more: `Err` at that
/// key, the entries before it filled as sequential inserts fill them, the
/// rest untouched, `len()` exactly the capacity.
#[test]
fn find_or_insert_many_stops_at_the_first_full() {
    let untouched = Entry {
        row: 12345,
        inserted: true,
    };
    for g in geometries() {
        for capacity in [1u64, 2, 5, 16, 17, 100] {
            let g = with_capacity(g, capacity);
            let (bulk, seq) = (new_table(g), new_table(g));
            // Some keys are in the table already.
            for i in 0..capacity / 3 {
                bulk.find_or_insert(&key(g, i)).unwrap();
                seq.find_or_insert(&key(g, i)).unwrap();
            }
            // Every key once, some twice, then a new key, then an old one.
            let mut numbers = Vec::new();
            for i in 0..capacity {
                numbers.push(i);
                if i % 3 == 1 {
                    numbers.push(i / 2);
                }
            }
            let over = numbers.len();
            numbers.extend([capacity, 0, capacity + 1]);
            let keys: Vec<Vec<u64>> = numbers.iter().map(|&i| key(g, i)).collect();
            let mut out = vec![untouched; keys.len()];
            let full = TableError::Full { capacity };
            assert_eq!(
                bulk.find_or_insert_many(&flat(&keys), parts(&bulk), &mut out),
                Err((over, full.clone())),
                "{g:?}"
            );
            for (i, k) in keys.iter().enumerate() {
                let want = seq.find_or_insert(k);
                if i < over {
                    assert_eq!(Ok(out[i]), want, "{g:?}: key {i}");
                } else {
                    assert_eq!(out[i], untouched, "{g:?}: key {i} after the Full");
                }
                if i == over {
                    assert_eq!(want, Err(full.clone()));
                }
            }
            assert_eq!(bulk.len(), capacity);
            assert_eq!(bulk.find(&key(g, capacity)), None);
            assert!(bulk.verify().ok(), "{:?}", bulk.verify());

            // A full table still finds its keys in bulk; a new first key is
            // refused at index 0.
            let old: Vec<Vec<u64>> = (0..capacity).rev().map(|i| key(g, i)).collect();
            let mut found = vec![untouched; old.len()];
            assert_eq!(
                bulk.find_or_insert_many(&flat(&old), parts(&bulk), &mut found),
                Ok(())
            );
            for (k, e) in old.iter().zip(&found) {
                assert_eq!(Some(e.row), bulk.find(k));
                assert!(!e.inserted);
            }
            let mut one = [untouched; 2];
            let new_first = flat(&[key(g, capacity + 5), key(g, 0)]);
            assert_eq!(
                bulk.find_or_insert_many(&new_first, parts(&bulk), &mut one),
                Err((0, full))
            );
            assert_eq!(one, [untouched; 2]);
            assert_eq!(bulk.len(), capacity);
        }
    }
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
    let p = parts(t);
    let mut keys = vec![0u64; size * p];
    let mut key = vec![0u64; p];
    let mut all = Vec::new();
    let mut at = from;
    loop {
        let (n, next) = t.next_key_rows(at, &mut out, &mut keys);
        assert!(n <= size);
        let got = &out[..n];
        // The parts handed out are the row's key.
        for (i, &row) in got.iter().enumerate() {
            assert!(t.read_key(row, &mut key));
            assert_eq!(&keys[i * p..][..p], &key[..], "parts of row {row}");
        }
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
        assert_eq!(t.next_key_rows(from, &mut [0; 3], &mut []), (0, rows));
    }
    assert_eq!(t.next_key_rows(3, &mut [], &mut []), (0, 3));
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
            at = t.next_key_rows(at, &mut out, &mut []).1;
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

/// Threads run `find_or_insert_many` over overlapping key sets (each key in
/// two threads' sets, and twice in each), a table of exactly the number of
/// keys: every key ends in one row, every caller of a key gets that row,
/// exactly one occurrence across the threads says inserted, nothing is
/// `Full`.
#[test]
fn find_or_insert_many_races() {
    const THREADS: u64 = 4;
    const KEYS: u64 = 4000;
    for g in [dict(1, 0, 64, 0), dict(2, 1, 64, 0)] {
        for round in 0..3u64 {
            let t = new_table(with_capacity(g, KEYS));
            let barrier = Arc::new(Barrier::new(THREADS as usize));
            let handles: Vec<_> = (0..THREADS)
                .map(|tid| {
                    let t = t.clone();
                    let barrier = barrier.clone();
                    thread::spawn(move || {
                        let mut rng = Rng::new(round * 100 + tid);
                        // Keys tid * KEYS / 4 .. + KEYS / 2, wrapping: each
                        // key belongs to two threads.
                        let mine = (0..KEYS / 2).map(|i| (tid * KEYS / THREADS + i) % KEYS);
                        let mut numbers: Vec<u64> = mine.clone().chain(mine).collect();
                        rng.shuffle(&mut numbers);
                        let keys: Vec<u64> = numbers.iter().flat_map(|&i| key(g, i)).collect();
                        let parts = (g.k64 + g.k32) as usize;
                        let mut out = vec![
                            Entry {
                                row: 0,
                                inserted: false
                            };
                            numbers.len()
                        ];
                        barrier.wait();
                        let mut at = 0;
                        while at < numbers.len() {
                            let n = (rng.range(1, 300) as usize).min(numbers.len() - at);
                            let r = t.find_or_insert_many(
                                &keys[at * parts..(at + n) * parts],
                                parts,
                                &mut out[at..at + n],
                            );
                            r.unwrap_or_else(|(i, e)| panic!("thread {tid}: key {i}: {e}"));
                            at += n;
                        }
                        for e in &out {
                            t.fetch(e.row, Op::Add, 1);
                        }
                        numbers.into_iter().zip(out).collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut rows: HashMap<u64, u64> = HashMap::new();
            let mut inserted: HashMap<u64, u64> = HashMap::new();
            for h in handles {
                for (i, e) in h.join().unwrap() {
                    assert_eq!(*rows.entry(i).or_insert(e.row), e.row, "key {i}: two rows");
                    *inserted.entry(i).or_default() += e.inserted as u64;
                }
            }
            assert_eq!(rows.len() as u64, KEYS);
            assert!(inserted.values().all(|&n| n == 1), "inserted once per key");
            for (&i, &row) in &rows {
                assert_eq!(t.find(&key(g, i)), Some(row));
                // Two threads, twice each.
                assert_eq!(t.load(row), 4, "key {i}");
            }
            let mut found = scan(&t, 0, 1000);
            found.sort_unstable();
            let mut want: Vec<u64> = rows.values().copied().collect();
            want.sort_unstable();
            assert_eq!(found, want, "one row per key, no other");
            assert_eq!(t.len(), KEYS);
            assert!(t.verify().ok(), "{:?}", t.verify());
        }
    }
}
