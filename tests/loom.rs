//! Model checking of the core algorithm with loom: every interleaving (up to
//! the preemption bound `LOOM_MAX_PREEMPTIONS`, when set) of a few threads
//! running the production `Table` code over loom atomics (`Words::heap` is a
//! vector of loom atomics under `--cfg loom`, see `src/core/memory.rs`).
//!
//! Run with `bash scripts/loom.sh`. Tables are tiny so the state space stays
//! tractable: a handful of rows, one to three key parts, two or three threads.

#![cfg(loom)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::time::Instant;

use atomic_dict::core::hash::{hash_key, Probe};
use atomic_dict::core::{Entry, Geometry, Kind, Layout, Op, Table, TableError};
use loom::thread;

mod common;
use common::*;

/// The block a key's probe starts at (pure arithmetic: usable outside a model).
fn home(g: Geometry, key: &[u64]) -> u64 {
    let layout = Layout::new(g).expect("valid geometry");
    Probe::new(hash_key(key), layout.block_count).block
}

/// `n` distinct keys `prefix ++ [x]` (x = 1, 2, ...) whose probes all start at
/// the same block, the block of the first one found.
fn colliding_keys(g: Geometry, prefix: &[u64], n: usize) -> Vec<Vec<u64>> {
    let key = |x: u64| {
        let mut k = prefix.to_vec();
        k.push(x);
        k
    };
    let target = home(g, &key(1));
    let keys: Vec<Vec<u64>> = (1..10_000)
        .map(key)
        .filter(|k| home(g, k) == target)
        .take(n)
        .collect();
    assert_eq!(keys.len(), n, "not enough colliding keys");
    keys
}

/// Every complete key of the table with its row (after the threads joined).
/// Panics if a key is complete in two rows.
fn scan(t: &Table) -> Vec<(Vec<u64>, u64)> {
    let mut key = vec![0u64; t.layout().parts()];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in 0..t.layout().rows() {
        if t.read_key(row, &mut key) {
            assert!(seen.insert(key.clone()), "key {key:?} complete in two rows");
            out.push((key.clone(), row));
        }
    }
    out
}

/// The rows in which `key` is complete.
fn rows_of(t: &Table, key: &[u64]) -> Vec<u64> {
    scan(t)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, r)| r)
        .collect()
}

/// The table's own audit, after the threads joined: sound, with `entries` keys.
fn audit(t: &Table, entries: u64) {
    let r = t.verify();
    assert!(r.ok(), "verify: {r:?}");
    assert_eq!(r.entries, entries, "verify entries: {r:?}");
    assert_eq!(r.complete_rows, entries, "verify complete rows: {r:?}");
    assert_eq!(t.len(), entries);
}

/// Runs a loom model with the preemption bound of `LOOM_MAX_PREEMPTIONS`
/// (none if unset), printing how many executions it explored and how long it
/// took. Meant for models of three or more threads.
fn model<F>(name: &str, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    run(name, loom::model::Builder::new(), f);
}

/// Runs a loom model exhaustively, whatever `LOOM_MAX_PREEMPTIONS` says: for
/// the two-thread models, which are small enough.
fn model_exhaustive<F>(name: &str, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = None;
    run(name, builder, f);
}

fn run<F>(name: &str, builder: loom::model::Builder, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let start = Instant::now();
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let bound = builder.preemption_bound;
    builder.check(move || {
        counter.fetch_add(1, StdOrdering::Relaxed);
        f();
    });
    let bound = match bound {
        Some(n) => format!("at most {n} preemptions"),
        None => "exhaustive".to_owned(),
    };
    println!(
        "loom model {name}: {} executions ({bound}) in {:.2?}",
        runs.load(StdOrdering::Relaxed),
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------
// a. The same key from two (and three) threads.

/// Both threads insert `key`; exactly one says inserted, both get one row.
fn same_key(g: Geometry, key: Vec<u64>, threads: usize) {
    let t = new_table(g);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let t = t.clone();
            let key = key.clone();
            thread::spawn(move || t.find_or_insert(&key).expect("room"))
        })
        .collect();
    let entries: Vec<Entry> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners = entries.iter().filter(|e| e.inserted).count();
    assert_eq!(
        winners, 1,
        "inserted seen by {winners} threads: {entries:?}"
    );
    assert!(
        entries.iter().all(|e| e.row == entries[0].row),
        "{entries:?}"
    );
    assert_eq!(t.len(), 1);
    assert_eq!(rows_of(&t, &key), vec![entries[0].row]);
    assert_eq!(t.find(&key), Some(entries[0].row));
    if g.kind == Kind::Dict {
        assert_eq!(t.load(entries[0].row), 0);
    }
    audit(&t, 1);
}

#[test]
fn a_same_key_two_threads() {
    model_exhaustive("a_same_key_two_threads (k64=1, v64)", || {
        same_key(dict(1, 0, 64, 2), vec![7], 2)
    });
}

#[test]
fn a_same_key_two_threads_u32_set() {
    model_exhaustive("a_same_key_two_threads (k32=1, set)", || {
        same_key(set(0, 1, 2), vec![7], 2)
    });
}

#[test]
fn a_same_key_three_threads() {
    model("a_same_key_three_threads (k64=1, v32)", || {
        same_key(dict(1, 0, 32, 3), vec![7], 3)
    });
}

// ---------------------------------------------------------------------------
// b. Different keys colliding on one home block.

/// Each thread inserts its own key (all with the same home block, some maybe
/// placed in the table beforehand by `prefill`); all end up findable, each in
/// its own row.
fn colliding_inserts(g: Geometry, prefill: &[Vec<u64>], keys: &[Vec<u64>]) {
    let t = new_table(g);
    for k in prefill {
        assert!(t.find_or_insert(k).unwrap().inserted);
    }
    let handles: Vec<_> = keys
        .iter()
        .map(|key| {
            let t = t.clone();
            let key = key.clone();
            thread::spawn(move || t.find_or_insert(&key).expect("room"))
        })
        .collect();
    let entries: Vec<Entry> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(entries.iter().all(|e| e.inserted), "{entries:?}");
    let rows: HashSet<u64> = entries.iter().map(|e| e.row).collect();
    assert_eq!(rows.len(), keys.len(), "rows shared: {entries:?}");
    for (key, e) in keys.iter().zip(&entries) {
        assert_eq!(t.find(key), Some(e.row), "find {key:?}");
        assert_eq!(rows_of(&t, key), vec![e.row]);
    }
    let total = (prefill.len() + keys.len()) as u64;
    assert_eq!(t.len(), total);
    assert_eq!(scan(&t).len() as u64, total);
    audit(&t, total);
}

#[test]
fn b_colliding_keys_two_threads() {
    // Capacity 2: 2 blocks of 4 rows; both keys start at the same block.
    let g = dict(1, 0, 64, 2);
    let keys = colliding_keys(g, &[], 2);
    model_exhaustive("b_colliding_keys_two_threads", move || {
        colliding_inserts(g, &[], &keys)
    });
}

#[test]
fn b_colliding_keys_overflow_to_next_block() {
    // Capacity 5: 2 blocks of 4 rows. Three keys fill all but one row of the
    // home block beforehand; of the two racing keys one gets the last row,
    // the other must probe on to the next block.
    let g = dict(1, 0, 64, 5);
    let keys = colliding_keys(g, &[], 5);
    let (prefill, racing) = keys.split_at(3);
    let (prefill, racing) = (prefill.to_vec(), racing.to_vec());
    model_exhaustive("b_colliding_keys_overflow_to_next_block", move || {
        colliding_inserts(g, &prefill, &racing)
    });
}

#[test]
fn b_colliding_keys_three_threads_overflow() {
    // Capacity 5: 2 blocks of 4 rows. Two keys fill half the home block
    // beforehand; three threads race for its last two rows with three more
    // colliding keys, so one of them must probe on to the next block.
    let g = dict(1, 0, 64, 5);
    let keys = colliding_keys(g, &[], 5);
    let (prefill, racing) = keys.split_at(2);
    let (prefill, racing) = (prefill.to_vec(), racing.to_vec());
    model("b_colliding_keys_three_threads_overflow", move || {
        colliding_inserts(g, &prefill, &racing)
    });
}

#[test]
fn b_colliding_keys_two_rows_per_block() {
    // k64=3: 32-byte rows, 2 rows a block, 2 blocks. Three colliding
    // keys: one placed beforehand, two racing for the home block's last row.
    let g = set(3, 0, 3);
    let keys = colliding_keys(g, &[1, 1], 3);
    let (prefill, racing) = keys.split_at(1);
    let (prefill, racing) = (prefill.to_vec(), racing.to_vec());
    model_exhaustive(
        "b_colliding_keys_two_rows_per_block (k64=3, set)",
        move || colliding_inserts(g, &prefill, &racing),
    );
}

// ---------------------------------------------------------------------------
// c. A reader racing an insert followed by a store.

fn reader_vs_insert_store(g: Geometry, key: Vec<u64>) {
    let t = new_table(g);
    let writer = {
        let t = t.clone();
        let key = key.clone();
        thread::spawn(move || {
            let e = t.find_or_insert(&key).expect("room");
            assert!(e.inserted);
            t.store(e.row, 42);
            e.row
        })
    };
    let reader = {
        let t = t.clone();
        let key = key.clone();
        thread::spawn(move || t.find(&key).map(|row| (row, t.load(row))))
    };
    let row = writer.join().unwrap();
    if let Some((seen_row, value)) = reader.join().unwrap() {
        assert_eq!(seen_row, row, "reader found the key in another row");
        assert!(value == 0 || value == 42, "reader saw value {value}");
    }
    assert_eq!(t.load(row), 42);
    audit(&t, 1);
}

#[test]
fn c_reader_vs_insert_then_store() {
    model_exhaustive("c_reader_vs_insert_then_store (k64=1, v64)", || {
        reader_vs_insert_store(dict(1, 0, 64, 2), vec![5])
    });
}

#[test]
fn c_reader_vs_insert_then_store_composite() {
    model_exhaustive("c_reader_vs_insert_then_store (k64=1, k32=1, v32)", || {
        reader_vs_insert_store(dict(1, 1, 32, 2), vec![5, 6])
    });
}

// ---------------------------------------------------------------------------
// d. Concurrent fetch-add on one key.

fn concurrent_adds(g: Geometry, threads: u64) {
    let t = new_table(g);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let t = t.clone();
            thread::spawn(move || {
                let e = t.find_or_insert(&[9]).expect("room: capacity >= threads");
                (e, t.fetch(e.row, Op::Add, 1))
            })
        })
        .collect();
    let results: Vec<(Entry, u64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let row = results[0].0.row;
    assert!(results.iter().all(|(e, _)| e.row == row));
    assert_eq!(results.iter().filter(|(e, _)| e.inserted).count(), 1);
    let mut prev: Vec<u64> = results.iter().map(|&(_, p)| p).collect();
    prev.sort_unstable();
    assert!(
        prev.iter().copied().eq(0..threads),
        "previous values {prev:?}"
    );
    assert_eq!(t.load(row), threads);
    audit(&t, 1);
}

#[test]
fn d_fetch_add_two_threads_u32() {
    model_exhaustive("d_fetch_add_two_threads (v32)", || {
        concurrent_adds(dict(1, 0, 32, 2), 2)
    });
}

#[test]
fn d_fetch_add_three_threads() {
    model("d_fetch_add_three_threads (v64)", || {
        concurrent_adds(dict(1, 0, 64, 3), 3)
    });
}

// ---------------------------------------------------------------------------
// e. Composite keys, and the capacity gate.

#[test]
fn e_composite_shared_prefix() {
    // (1, x) and (1, y) with the same home block: one thread's half-claimed
    // row (first part written) can be completed by the other with its own
    // second part, after which the first moves on.
    let g = dict(1, 1, 64, 2);
    let keys = colliding_keys(g, &[1], 2);
    model_exhaustive("e_composite_shared_prefix (k64=1, k32=1)", move || {
        colliding_inserts(g, &[], &keys)
    });
}

#[test]
fn e_composite_shared_two_part_prefix() {
    // k64=2, k32=1: keys (1, 2, x), (1, 2, y) share two parts.
    let g = dict(2, 1, 64, 2);
    let keys = colliding_keys(g, &[1, 2], 2);
    model_exhaustive(
        "e_composite_shared_two_part_prefix (k64=2, k32=1)",
        move || colliding_inserts(g, &[], &keys),
    );
}

#[test]
fn e_composite_same_key() {
    model_exhaustive("e_composite_same_key (k64=1, k32=1)", || {
        same_key(dict(1, 1, 32, 2), vec![1, 2], 2)
    });
}

#[test]
fn e_composite_same_key_three_parts() {
    model_exhaustive("e_composite_same_key (k64=2, k32=1)", || {
        same_key(dict(2, 1, 64, 2), vec![1, 2, 3], 2)
    });
}

#[test]
fn e_composite_same_and_other_key() {
    // Three threads: two insert (1, x), one inserts (1, y), same home block.
    let g = dict(1, 1, 64, 3);
    let keys = colliding_keys(g, &[1], 2);
    model("e_composite_same_and_other_key (3 threads)", move || {
        let t = new_table(g);
        let handles: Vec<_> = [&keys[0], &keys[0], &keys[1]]
            .into_iter()
            .map(|key| {
                let t = t.clone();
                let key = key.clone();
                thread::spawn(move || t.find_or_insert(&key).expect("room"))
            })
            .collect();
        let e: Vec<Entry> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(e[0].row, e[1].row, "{e:?}");
        assert_ne!(e[0].row, e[2].row, "{e:?}");
        assert_eq!(u32::from(e[0].inserted) + u32::from(e[1].inserted), 1);
        assert!(e[2].inserted);
        assert_eq!(rows_of(&t, &keys[0]), vec![e[0].row]);
        assert_eq!(rows_of(&t, &keys[1]), vec![e[2].row]);
        assert_eq!(t.find(&keys[0]), Some(e[0].row));
        assert_eq!(t.find(&keys[1]), Some(e[2].row));
        audit(&t, 2);
    });
}

/// Capacity 1, two threads, two different keys: exactly one fits.
fn capacity_gate(g: Geometry, keys: Vec<Vec<u64>>) {
    let t = new_table(g);
    let handles: Vec<_> = keys
        .iter()
        .map(|key| {
            let t = t.clone();
            let key = key.clone();
            thread::spawn(move || t.find_or_insert(&key))
        })
        .collect();
    let results: Vec<Result<Entry, TableError>> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok: Vec<usize> = (0..keys.len()).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(ok.len(), 1, "successes: {results:?}");
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(e) => {
                assert!(e.inserted);
                assert_eq!(t.find(&keys[i]), Some(e.row));
                assert_eq!(rows_of(&t, &keys[i]), vec![e.row]);
            }
            Err(err) => {
                assert_eq!(*err, TableError::Full { capacity: 1 });
                assert_eq!(t.find(&keys[i]), None);
                assert!(rows_of(&t, &keys[i]).is_empty());
            }
        }
    }
    assert_eq!(t.len(), 1);
    audit(&t, 1);
    assert!(t.verify().reserved <= 1);
}

#[test]
fn e_capacity_gate_one_part() {
    let g = dict(1, 0, 64, 1);
    let keys = colliding_keys(g, &[], 2);
    model_exhaustive("e_capacity_gate_one_part (capacity 1)", move || {
        capacity_gate(g, keys.clone())
    });
}

#[test]
fn e_capacity_gate_different_home_blocks() {
    let g = dict(1, 0, 64, 1);
    let a = vec![1u64];
    let b = (2..100)
        .map(|x| vec![x])
        .find(|k| home(g, k) != home(g, &a))
        .unwrap();
    model_exhaustive(
        "e_capacity_gate_different_home_blocks (capacity 1)",
        move || capacity_gate(g, vec![a.clone(), b.clone()]),
    );
}

#[test]
fn e_capacity_gate_composite_shared_prefix() {
    // The loser may have claimed the row's first part, which the winner
    // completes; the loser then finds no admission left.
    let g = dict(1, 1, 32, 1);
    let keys = colliding_keys(g, &[1], 2);
    model_exhaustive(
        "e_capacity_gate_composite_shared_prefix (capacity 1)",
        move || capacity_gate(g, keys.clone()),
    );
}

/// One free unit of capacity (`prefill` keys in a table of capacity
/// `prefill.len() + 1`), and `callers` threads: `callers[i]` is the index in
/// `keys` of the key thread i inserts. What the admission gate promises
/// (table.rs, "Refused admissions"): `Full` only when `capacity` distinct
/// keys are in the table or being inserted by calls for other keys. With one
/// free unit exactly one of the racing keys gets in; every caller of another
/// key gets `Full` and leaves no trace; every caller of that key gets its row
/// (one of them inserted it) — unless its wait's bound was spent while the
/// admitted caller of its key made no progress (a scheduler that starves
/// that caller for the whole bound; no lock-free insert can tell it from a
/// caller of another key, see table.rs). Returns how many callers of the
/// key that went in got `Full` that way; a `Full` the table was *seen* to
/// deserve is never one of them.
fn one_free_unit(g: Geometry, prefill: &[Vec<u64>], keys: &[Vec<u64>], callers: &[usize]) -> usize {
    let t = new_table(g);
    for k in prefill {
        assert!(t.find_or_insert(k).unwrap().inserted);
    }
    let handles: Vec<_> = callers
        .iter()
        .map(|&k| {
            let t = t.clone();
            let key = keys[k].clone();
            thread::spawn(move || t.find_or_insert_traced(&key))
        })
        .collect();
    let results: Vec<(Result<Entry, TableError>, bool)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let present: Vec<usize> = (0..keys.len())
        .filter(|&k| t.find(&keys[k]).is_some())
        .collect();
    assert_eq!(
        present.len(),
        1,
        "keys in the table {present:?}: {results:?}"
    );
    let winner = present[0];
    let row = t.find(&keys[winner]).unwrap();
    let full = Err(TableError::Full {
        capacity: g.capacity,
    });
    let (mut inserted, mut starved) = (0, 0);
    for (&k, (r, spent)) in callers.iter().zip(&results) {
        if k != winner {
            assert_eq!(*r, full, "{results:?}");
            assert!(rows_of(&t, &keys[k]).is_empty());
            continue;
        }
        match r {
            Ok(e) => {
                assert_eq!(e.row, row, "{results:?}");
                inserted += usize::from(e.inserted);
            }
            Err(_) if *spent => starved += 1,
            Err(_) => panic!(
                "Full seen for key {:?}, which went in: {results:?}",
                keys[k]
            ),
        }
    }
    assert_eq!(inserted, 1, "inserted seen {inserted} times: {results:?}");
    assert_eq!(rows_of(&t, &keys[winner]), vec![row]);
    let total = prefill.len() as u64 + 1;
    audit(&t, total);
    assert_eq!(t.verify().reserved, total, "no admission leaked or lost");
    starved
}

/// Runs `one_free_unit` in a model of three callers and reports how many
/// executions starved the admitted caller for a whole wait.
fn three_callers(name: &'static str, g: Geometry, keys: Vec<Vec<u64>>) {
    let starved = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = starved.clone();
    model(name, move || {
        if one_free_unit(g, &[], &keys, &[0, 0, 1]) > 0 {
            counter.fetch_add(1, StdOrdering::Relaxed);
        }
    });
    println!(
        "  {name}: a winning key's caller got Full after a spent wait (the admitted \
         caller starved) in {} executions",
        starved.load(StdOrdering::Relaxed)
    );
}

#[test]
fn e_capacity_gate_same_key() {
    // Capacity 1, both threads insert key 3: both get its row, neither Full
    // (before issue 11 the one refused while the other was inserting got Full).
    model_exhaustive("e_capacity_gate_same_key (capacity 1)", || {
        // One step of the admitted caller (its claim) ends any wait: never Full.
        assert_eq!(
            one_free_unit(dict(1, 0, 64, 1), &[], &[vec![3]], &[0, 0]),
            0
        )
    });
}

#[test]
fn e_capacity_gate_same_key_last_unit() {
    // Capacity 2, one key in beforehand (colliding), both threads insert a
    // second colliding key: the last unit, and the first row is taken.
    let g = dict(1, 0, 32, 2);
    let keys = colliding_keys(g, &[], 2);
    let (prefill, racing) = (vec![keys[0].clone()], vec![keys[1].clone()]);
    model_exhaustive(
        "e_capacity_gate_same_key_last_unit (capacity 2)",
        move || assert_eq!(one_free_unit(g, &prefill, &racing, &[0, 0]), 0),
    );
}

#[test]
fn e_capacity_gate_same_composite_key() {
    // Capacity 1, both threads insert (1, 2): whoever claims part 0, the
    // other completes or finds the row, neither is Full.
    model_exhaustive("e_capacity_gate_same_composite_key (capacity 1)", || {
        assert_eq!(
            one_free_unit(dict(1, 1, 32, 1), &[], &[vec![1, 2]], &[0, 0]),
            0
        )
    });
}

#[test]
fn e_capacity_gate_three_callers_two_keys() {
    // Capacity 1, colliding keys A and B; two threads insert A, one B.
    let g = dict(1, 0, 64, 1);
    let keys = colliding_keys(g, &[], 2);
    three_callers(
        "e_capacity_gate_three_callers_two_keys (capacity 1)",
        g,
        keys,
    );
}

#[test]
fn e_capacity_gate_three_callers_two_composite_keys() {
    // Capacity 1, (1, x) twice and (1, y) with the same home block: the
    // caller of one key may complete the row the other key's admitted caller
    // started; whichever key gets in, its callers get its row.
    let g = dict(1, 1, 32, 1);
    let keys = colliding_keys(g, &[1], 2);
    three_callers(
        "e_capacity_gate_three_callers_two_composite_keys (capacity 1)",
        g,
        keys,
    );
}

// ---------------------------------------------------------------------------
// Extra: `len()` and lookups racing an insert.

/// What `len()` promises (table.rs, "Memory orderings"): an insert is
/// counted once the inserting call has returned, and `len()` never exceeds
/// the keys visible. While an insert is in flight its key can be visible
/// before it is counted (this model found that the first wording, "len()
/// after observing a key counts it", did not hold: the count is incremented
/// after the key is published).
#[test]
fn f_len_counts_returned_inserts() {
    model_exhaustive("f_len_counts_returned_inserts", || {
        let t = new_table(dict(1, 0, 64, 2));
        let writer = {
            let t = t.clone();
            thread::spawn(move || t.find_or_insert(&[5]).expect("room"))
        };
        let reader = {
            let t = t.clone();
            thread::spawn(move || {
                // len() first, then the lookup: a counted key is visible.
                let len = t.len();
                (len, t.find(&[5]))
            })
        };
        let e = writer.join().unwrap();
        let (len, found) = reader.join().unwrap();
        assert!(len <= 1);
        if len == 1 {
            assert_eq!(found, Some(e.row), "a counted key is visible");
        }
        assert_eq!(t.len(), 1, "counted once the insert returned");
        audit(&t, 1);
    });
}

/// A lookup of a key that another thread inserts while a third inserts a
/// colliding key of the same prefix: the lookup finds it in its final row or
/// not at all, never in a row holding the other key.
#[test]
fn f_find_vs_composite_inserts() {
    let g = dict(1, 1, 64, 2);
    let keys = colliding_keys(g, &[1], 2);
    model("f_find_vs_composite_inserts (3 threads)", move || {
        let t = new_table(g);
        let inserters: Vec<_> = keys
            .iter()
            .map(|key| {
                let t = t.clone();
                let key = key.clone();
                thread::spawn(move || t.find_or_insert(&key).expect("room").row)
            })
            .collect();
        let reader = {
            let t = t.clone();
            let key = keys[0].clone();
            thread::spawn(move || t.find(&key))
        };
        let rows: Vec<u64> = inserters.into_iter().map(|h| h.join().unwrap()).collect();
        if let Some(row) = reader.join().unwrap() {
            assert_eq!(row, rows[0], "lookup found {:?} in a wrong row", keys[0]);
        }
        audit(&t, 2);
    });
}

// ---------------------------------------------------------------------------
// g. The string area (src/core/strings.rs).

use atomic_dict::core::{string_key, Interned, StringError};

/// A dict of capacity 2 with an arena of `bytes` bytes (8 index entries).
fn strings_table(bytes: u64) -> Geometry {
    Geometry {
        string_bytes: bytes,
        ..dict(1, 0, 64, 2)
    }
}

/// `n` distinct strings `prefix0`, `prefix1`, ... whose probes start at the
/// same index entry of an 8-entry index.
fn colliding_strings(prefix: &str, n: usize) -> Vec<String> {
    let home = |s: &str| string_key(s) & 7;
    let first = format!("{prefix}0");
    let target = home(&first);
    let out: Vec<String> = (0..10_000)
        .map(|i| format!("{prefix}{i}"))
        .filter(|s| home(s) == target)
        .take(n)
        .collect();
    assert_eq!(out.len(), n);
    out
}

/// The non-empty index entries, after the threads joined.
fn published(t: &Table) -> Vec<u64> {
    let l = t.layout();
    (0..l.string_slots)
        .map(|s| {
            t.words()
                .u64(l.string_index_offset() + 8 * s as usize)
                .load(loom::sync::atomic::Ordering::SeqCst)
        })
        .filter(|&e| e != 0)
        .collect()
}

/// Threads interning `strings[i]` each; after the join: every caller of a
/// string that got it got the same slot and record, one of them published
/// it; refusals are counted exactly; `count` = strings published = index
/// entries; a loser's record (allocated, wasted) is never published; every
/// published string decodes; the audit is clean. Returns the results.
fn interns(bytes: u64, strings: &[&str]) -> (Table, Vec<Result<Interned, StringError>>) {
    let t = new_table(strings_table(bytes));
    let handles: Vec<_> = strings
        .iter()
        .map(|s| {
            let t = t.clone();
            let s = s.to_string();
            thread::spawn(move || t.intern(&s))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let stats = t.string_stats().unwrap();
    let mut distinct: Vec<&str> = Vec::new();
    for (s, r) in strings.iter().zip(&results) {
        match r {
            Ok(i) => {
                assert_eq!(i.part, string_key(s));
                let same: Vec<&Interned> = strings
                    .iter()
                    .zip(&results)
                    .filter(|(o, _)| *o == s)
                    .filter_map(|(_, r)| r.as_ref().ok())
                    .collect();
                assert!(
                    same.iter()
                        .all(|j| (j.slot, j.record) == (i.slot, i.record)),
                    "{results:?}"
                );
                assert_eq!(same.iter().filter(|j| j.inserted).count(), 1, "{results:?}");
                assert_eq!(t.decode(i.part), Some((s.to_string(), i.record + 8)));
                if !distinct.contains(s) {
                    distinct.push(s);
                }
            }
            Err(e) => assert_eq!(*e, StringError::Refused, "{results:?}"),
        }
    }
    for s in strings {
        if !distinct.contains(s) {
            assert_eq!(
                t.decode(string_key(s)),
                None,
                "{s} refused to all, yet decodes"
            );
        }
    }
    let refusals = results.iter().filter(|r| r.is_err()).count() as u64;
    assert_eq!(stats.refused, refusals, "{results:?}");
    assert_eq!(stats.count, distinct.len() as u64, "{results:?}");
    assert_eq!(
        published(&t).len(),
        distinct.len(),
        "a wasted record was published"
    );
    assert!(stats.used <= bytes);
    let needed: u64 = distinct
        .iter()
        .map(|s| 24 + s.len().next_multiple_of(8) as u64)
        .sum();
    assert!(stats.used >= needed);
    let r = t.verify();
    assert!(r.ok(), "verify: {r:?}");
    assert_eq!(r.strings, distinct.len() as u64);
    (t, results)
}

#[test]
fn g_same_string_two_threads() {
    model_exhaustive("g_same_string_two_threads", || {
        let (_, r) = interns(64, &["a", "a"]);
        assert!(r.iter().all(|r| r.is_ok()), "{r:?}");
    });
}

#[test]
fn g_different_strings_same_home_two_threads() {
    let s = colliding_strings("k", 2);
    model_exhaustive("g_different_strings_same_home_two_threads", move || {
        let (_, r) = interns(64, &[&s[0], &s[1]]);
        let slots: HashSet<u64> = r.iter().map(|r| r.as_ref().unwrap().slot).collect();
        assert_eq!(slots.len(), 2, "{r:?}");
    });
}

#[test]
fn g_room_for_one_record_two_strings() {
    // 9 to 16 bytes: a 40-byte record; a 64-byte arena holds one.
    let s = colliding_strings("long-str", 2);
    model_exhaustive("g_room_for_one_record_two_strings", move || {
        let (t, r) = interns(64, &[&s[0], &s[1]]);
        assert_eq!(r.iter().filter(|r| r.is_ok()).count(), 1, "{r:?}");
        let stats = t.string_stats().unwrap();
        assert_eq!((stats.used, stats.count, stats.refused), (40, 1, 1));
    });
}

#[test]
fn g_room_for_one_record_same_string() {
    // The second caller finds no room: it gets the string if its first
    // caller published it by then, else a refusal; never a second record.
    let refused = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = refused.clone();
    model_exhaustive("g_room_for_one_record_same_string", move || {
        let (t, r) = interns(64, &["long-string", "long-string"]);
        let stats = t.string_stats().unwrap();
        assert_eq!((stats.used, stats.count), (40, 1));
        if r.iter().any(|r| r.is_err()) {
            counter.fetch_add(1, StdOrdering::Relaxed);
        }
    });
    println!(
        "  g_room_for_one_record_same_string: refused in {} executions",
        refused.load(StdOrdering::Relaxed)
    );
}

#[test]
fn g_three_threads_two_strings_room_for_two() {
    // "a" twice and "b" (same home entry), room for two records: both
    // callers of "a" may allocate (the loser's record is wasted, never
    // published), and then "b" is refused.
    let s = colliding_strings("", 2);
    let seen = std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let counters = seen.clone();
    model("g_three_threads_two_strings_room_for_two", move || {
        let (t, r) = interns(64, &[&s[0], &s[0], &s[1]]);
        let stats = t.string_stats().unwrap();
        if stats.used > 32 * stats.count {
            counters[0].fetch_add(1, StdOrdering::Relaxed);
        }
        if r[2].is_err() {
            counters[1].fetch_add(1, StdOrdering::Relaxed);
        }
    });
    println!(
        "  g_three_threads_two_strings_room_for_two: a record wasted in {} executions, \
         the other string refused in {}",
        seen[0].load(StdOrdering::Relaxed),
        seen[1].load(StdOrdering::Relaxed)
    );
}

#[test]
fn g_reader_sees_a_published_record() {
    // A reader that sees the index entry (Acquire) sees the whole record:
    // the record is written Relaxed and published by the entry's Release.
    model_exhaustive("g_reader_sees_a_published_record", || {
        let t = new_table(strings_table(64));
        let part = string_key("hello");
        let writer = {
            let t = t.clone();
            thread::spawn(move || t.intern("hello").unwrap())
        };
        let reader = {
            let t = t.clone();
            thread::spawn(move || {
                let l = t.layout();
                let home = l.string_index_offset() + 8 * (part & 7) as usize;
                let seen = t
                    .words()
                    .u64(home)
                    .load(loom::sync::atomic::Ordering::Acquire);
                (seen, t.decode(part))
            })
        };
        let i = writer.join().unwrap();
        let (seen, decoded) = reader.join().unwrap();
        if seen != 0 {
            assert_eq!(decoded, Some(("hello".to_owned(), i.record + 8)));
        } else {
            assert!(decoded.is_none() || decoded.as_ref().unwrap().0 == "hello");
        }
    });
}

#[test]
fn g_a_key_seen_is_a_string_decoded() {
    // Interning before inserting a key: a reader that finds the key decodes
    // its part (happens-before through the inserting thread).
    model_exhaustive("g_a_key_seen_is_a_string_decoded", || {
        let t = new_table(strings_table(64));
        let part = string_key("route");
        let writer = {
            let t = t.clone();
            thread::spawn(move || {
                t.intern("route").unwrap();
                t.find_or_insert(&[part]).unwrap();
            })
        };
        let reader = {
            let t = t.clone();
            thread::spawn(move || t.find(&[part]).map(|_| t.decode(part)))
        };
        writer.join().unwrap();
        if let Some(decoded) = reader.join().unwrap() {
            assert_eq!(decoded.map(|d| d.0), Some("route".to_owned()));
        }
    });
}
