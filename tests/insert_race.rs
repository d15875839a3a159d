//! Races on one shared table: concurrent inserts of the same keys, a ticket
//! counter, and concurrent inserts up to capacity.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;

use atomic_dict::core::{Geometry, Op, Table, TableError};

mod common;
use common::*;

const THREADS: usize = 4;

/// All complete keys, checking none appears twice.
fn scan_keys(t: &Table) -> Vec<(Vec<u64>, u64)> {
    let parts = t.layout().parts();
    let mut key = vec![0u64; parts];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in 0..t.layout().rows() {
        if t.read_key(row, &mut key) {
            assert!(seen.insert(key.clone()), "key {key:?} is in two rows");
            out.push((key.clone(), row));
        }
    }
    out
}

/// The order thread `t` visits key indices in, in round `round`.
fn order(t: usize, round: usize, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    if round == 0 {
        // Round 0: everybody in the same order, the most contention per key.
        return v;
    }
    match t {
        0 => {}
        1 => v.reverse(),
        2 => v.sort_by_key(|&i| (i % 2, i)), // evens then odds
        _ => Rng(round as u64 * 1000 + t as u64).shuffle(&mut v),
    }
    v
}

/// Every thread find_or_inserts every key, then adds 1 to each key's value.
fn same_keys_race(g: Geometry, key: fn(usize) -> Vec<u64>) {
    const N: usize = 5000;
    for round in 0..3 {
        // Capacity exactly N: the last keys' callers race each other for
        // the last units, and each must get its key's row, never `Full`
        // (table.rs, "Refused admissions").
        let t = new_table(Geometry {
            capacity: N as u64,
            ..g
        });
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|tid| {
                let t = t.clone();
                let barrier = barrier.clone();
                thread::spawn(move || {
                    let ord = order(tid, round, N);
                    let mut rows = vec![0u64; N];
                    let mut inserted = vec![false; N];
                    barrier.wait();
                    for &i in &ord {
                        let e = t
                            .find_or_insert(&key(i))
                            .unwrap_or_else(|e| panic!("thread {tid}, key {i}: {e}"));
                        rows[i] = e.row;
                        inserted[i] = e.inserted;
                    }
                    for &i in &ord {
                        t.fetch(rows[i], Op::Add, 1);
                    }
                    (rows, inserted)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();

        for i in 0..N {
            let row = results[0].0[i];
            for (tid, (rows, _)) in results.iter().enumerate() {
                assert_eq!(rows[i], row, "thread {tid} got another row for key {i}");
            }
            let winners = results.iter().filter(|(_, ins)| ins[i]).count();
            assert_eq!(winners, 1, "key {i}: {winners} threads saw inserted");
            assert_eq!(t.find(&key(i)), Some(row));
            assert_eq!(t.load(row), THREADS as u64, "value of key {i}");
        }
        let keys = scan_keys(&t);
        assert_eq!(keys.len(), N);
        let want: HashSet<Vec<u64>> = (0..N).map(key).collect();
        let got: HashSet<Vec<u64>> = keys.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(got, want);
        assert_eq!(t.len(), N as u64);
        assert!(t.verify().ok(), "{:?}", t.verify());
        assert!(t.find_or_insert(&key(N)).is_err(), "full after N keys");
    }
}

#[test]
fn same_keys_one_part_64() {
    same_keys_race(dict(1, 0, 64, 0), |i| vec![i as u64 + 1]);
}

#[test]
fn same_keys_one_part_32() {
    same_keys_race(dict(0, 1, 32, 0), |i| vec![i as u64 + 1]);
}

#[test]
fn same_keys_composite_shared_prefixes() {
    same_keys_race(dict(2, 1, 64, 0), |i| {
        vec![i as u64 % 3 + 1, 1, i as u64 + 1]
    });
}

#[test]
fn same_keys_composite_one_prefix() {
    // Every key has the same first part: rows are taken over by other keys
    // of the same prefix all the time.
    same_keys_race(dict(1, 1, 64, 0), |i| vec![1, i as u64 + 1]);
}

#[test]
fn ticket_counter() {
    const PER: u64 = 50_000;
    let t = new_table(dict(1, 0, 64, 10));
    let row = t.find_or_insert(&[42]).unwrap().row;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let t = t.clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                (0..PER)
                    .map(|_| t.fetch(row, Op::Add, 1))
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = Vec::new();
    for h in handles {
        let mine = h.join().unwrap();
        // Each thread's own tickets increase.
        assert!(mine.windows(2).all(|w| w[0] < w[1]));
        all.extend(mine);
    }
    all.sort_unstable();
    let total = THREADS as u64 * PER;
    assert!(
        all.iter().copied().eq(0..total),
        "tickets are not 0..{total} once each"
    );
    assert_eq!(t.load(row), total);
}

/// Threads insert disjoint keys until `Full`: exactly `capacity` succeed.
fn capacity_race(g: Geometry, key: fn(usize, u64) -> Vec<u64>) {
    const CAP: u64 = 1000;
    for _round in 0..5 {
        let t = new_table(Geometry { capacity: CAP, ..g });
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|tid| {
                let t = t.clone();
                let barrier = barrier.clone();
                thread::spawn(move || {
                    barrier.wait();
                    let mut mine = Vec::new();
                    for i in 0.. {
                        let k = key(tid, i);
                        match t.find_or_insert(&k) {
                            Ok(e) => {
                                assert!(e.inserted, "disjoint keys are new");
                                t.store(e.row, tid as u64 * 1_000_000 + i + 1);
                                mine.push(k);
                            }
                            Err(TableError::Full { capacity }) => {
                                assert_eq!(capacity, CAP);
                                break;
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        let inserted: Vec<Vec<Vec<u64>>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let total: usize = inserted.iter().map(Vec::len).sum();
        assert_eq!(total as u64, CAP, "successful inserts");
        assert_eq!(t.len(), CAP);
        let keys = scan_keys(&t);
        assert_eq!(keys.len() as u64, CAP);
        for (tid, ks) in inserted.iter().enumerate() {
            for (i, k) in ks.iter().enumerate() {
                let row = t.find(k).expect("inserted key present");
                assert_eq!(t.load(row), tid as u64 * 1_000_000 + i as u64 + 1);
            }
        }
        // Full for a new key afterwards, and len unchanged.
        assert!(t.find_or_insert(&key(0, 1 << 30)).is_err());
        assert_eq!(t.len(), CAP);
    }
}

#[test]
fn capacity_race_one_part() {
    capacity_race(dict(1, 0, 64, 0), |tid, i| {
        vec![(tid as u64) << 40 | (i + 1)]
    });
}

#[test]
fn capacity_race_shared_prefix() {
    // Keys of all threads share prefixes, so rows claimed by one thread are
    // completed by another.
    capacity_race(dict(2, 1, 64, 0), |tid, i| {
        vec![i % 2 + 1, 1, tid as u64 * 100_000 + i + 1]
    });
}
