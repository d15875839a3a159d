//! Benchmarks of the core table (no Node): `cargo bench --bench core`.
//!
//! Every id is `core/<name>` and one iteration is one operation, so
//! `target/criterion/core/<name>/new/estimates.json`'s `mean.point_estimate`
//! is in ns per operation (the JS benchmark reads it to compare). The bulk
//! (`_many`) benchmarks call `find_many` / `find_or_insert_many` on 1024 keys
//! at a time, but one iteration is still one key, to compare with the
//! single-key figures; a `scan_` iteration is one walk over a whole table
//! with `next_key_rows`.
//!
//! Tables have one 64-bit key part (the JS default shape); `_32` tables have
//! 32-bit values (`valueBits: 32`), `_memfd` tables live in a sealed memfd
//! mapping instead of heap memory. One thread, no contention.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atomic_dict::core::{Entry, Geometry, HeapBacking, Kind, Layout, Op, Table, Words};
use atomic_dict::shm::Mapping;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};

/// Capacity of the big tables (`find_add_1mi`, `insert_new`).
const MI: u64 = 1 << 20;
/// Capacity of the small tables that hold one key used over and over.
const SMALL: u64 = 1024;
/// The key those benchmarks use.
const KEY: u64 = 42;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Memory {
    Heap,
    Memfd,
}

fn geometry(value_bits: u32, capacity: u64) -> Geometry {
    Geometry {
        kind: Kind::Dict,
        k64: 1,
        k32: 0,
        value_bits,
        signed: false,
        capacity,
        string_bytes: 0,
    }
}

fn table(value_bits: u32, capacity: u64, memory: Memory) -> Table {
    let geometry = geometry(value_bits, capacity);
    let len = Layout::new(geometry).unwrap().total_bytes();
    let words = match memory {
        Memory::Heap => Words::heap(len),
        Memory::Memfd => Words::new(Arc::new(Mapping::create_memfd(len).unwrap())),
    };
    Table::create(words, geometry).unwrap()
}

/// A small table holding `KEY`, and `KEY`'s row.
fn one_key(value_bits: u32, memory: Memory) -> (Table, u64) {
    let t = table(value_bits, SMALL, memory);
    let row = t.find_or_insert(&[KEY]).unwrap().row;
    (t, row)
}

fn suffix(value_bits: u32) -> &'static str {
    if value_bits == 32 {
        "_32"
    } else {
        ""
    }
}

fn memory_suffix(memory: Memory) -> &'static str {
    match memory {
        Memory::Heap => "",
        Memory::Memfd => "_memfd",
    }
}

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// The hardware limit: one `lock xadd` on a hot word (SeqCst like the table).
fn atomic_fetch_add(g: &mut Group) {
    let word = AtomicU64::new(0);
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| black_box(&word).fetch_add(1, Ordering::SeqCst))
    });
    let word = AtomicU32::new(0);
    g.bench_function("atomic_fetch_add_32", |b| {
        b.iter(|| black_box(&word).fetch_add(1, Ordering::SeqCst))
    });
}

/// `slot.add(1)` in JS: a row found before, one atomic add.
fn fetch_add_row(g: &mut Group, bits: u32) {
    let (t, row) = one_key(bits, Memory::Heap);
    g.bench_function(format!("fetch_add_row{}", suffix(bits)), |b| {
        b.iter(|| t.fetch(black_box(row), Op::Add, 1))
    });
}

/// `dict.add(key, 1)` without the JS key cache: hash, probe, add.
fn find_add_existing(g: &mut Group, bits: u32, memory: Memory) {
    let (t, _) = one_key(bits, memory);
    let id = format!("find_add_existing{}{}", suffix(bits), memory_suffix(memory));
    g.bench_function(id, |b| {
        b.iter(|| {
            let row = t.find(&[black_box(KEY)]).unwrap();
            t.fetch(row, Op::Add, 1)
        })
    });
}

/// As `find_add_existing`, over `keys` keys in a full table of that
/// capacity (1 Mi: 24 MiB, far beyond the caches): mostly a cache miss per
/// operation. The 2 Mi memfd variant is the JS benchmark's table: the same
/// size, in the same kind of memory (shared memory gets no huge pages).
fn find_add_full(g: &mut Group, bits: u32, keys: u64, memory: Memory) {
    let t = table(bits, keys, memory);
    for k in 1..=keys {
        t.find_or_insert(&[k]).unwrap();
    }
    let mut i = 0u64;
    let size = if keys == MI { "1mi" } else { "2mi" };
    let id = format!("find_add_{size}{}{}", suffix(bits), memory_suffix(memory));
    g.bench_function(&id, |b| {
        b.iter(|| {
            i = (i + 1) & (keys - 1);
            let row = t.find(&[black_box(i + 1)]).unwrap();
            t.fetch(row, Op::Add, 1)
        })
    });
    if memory == Memory::Memfd {
        // The same, each key waiting for the value the one before returned
        // (`prev >> 63` is 0, but the CPU cannot know): no two operations'
        // misses overlap, as for a caller whose every call returns its
        // value before the next starts. Independent iterations above let
        // the CPU run ahead into the next key's miss.
        let mut prev = 0u64;
        g.bench_function(format!("{id}_chained"), |b| {
            b.iter(|| {
                i = (i + 1) & (keys - 1);
                let row = t.find(&[i + 1 + (prev >> 63)]).unwrap();
                prev = t.fetch(row, Op::Add, 1);
                prev
            })
        });
    }
}

/// Inserts of new keys into a 1 Mi-capacity table. The table persists across
/// samples and is replaced (untimed) before it would be full, so the figure
/// is the average over fills from empty to the 3/4 load factor, first touch
/// of the memory (page faults, for a fresh memfd) included.
///
/// `iter_custom` rather than `iter_batched`: the latter would keep a `Table`
/// clone per iteration in its input vector, and would drop full tables inside
/// the timed loop or need that vector to span tables.
fn insert_new(g: &mut Group, bits: u32, memory: Memory) {
    let id = format!("insert_new{}{}", suffix(bits), memory_suffix(memory));
    let mut t = table(bits, MI, memory);
    let mut next = 1u64; // keys are never 0; each table gets new ones
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                if t.len() == MI {
                    t = table(bits, MI, memory);
                }
                let n = left.min(MI - t.len());
                let start = Instant::now();
                for k in next..next + n {
                    black_box(t.find_or_insert(&[black_box(k)]).unwrap());
                }
                timed += start.elapsed();
                next += n;
                left -= n;
            }
            timed
        })
    });
}

/// Keys per bulk call in the `_many` benchmarks.
const BULK: usize = 1024;

/// `find_add_full` in bulk: `find_many` over `BULK` keys at a time (the
/// same keys in the same order), then one add on each row. One iteration is
/// still one key (found and added to), so the figure compares per key.
fn find_add_many_full(g: &mut Group, bits: u32, keys: u64, memory: Memory) {
    let t = table(bits, keys, memory);
    for k in 1..=keys {
        t.find_or_insert(&[k]).unwrap();
    }
    let mut i = 0u64;
    let mut batch = vec![0u64; BULK];
    let mut rows = vec![0u64; BULK];
    let size = if keys == MI { "1mi" } else { "2mi" };
    let id = format!(
        "find_add_many_{size}{}{}",
        suffix(bits),
        memory_suffix(memory)
    );
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut left = iters;
            while left > 0 {
                let n = (left as usize).min(BULK);
                for k in &mut batch[..n] {
                    i = (i + 1) & (keys - 1);
                    *k = i + 1;
                }
                t.find_many(black_box(&batch[..n]), 1, &mut rows[..n]);
                for &row in &rows[..n] {
                    black_box(t.fetch(row, Op::Add, 1));
                }
                left -= n as u64;
            }
            start.elapsed()
        })
    });
}

/// `insert_new` in bulk: `find_or_insert_many` over `BULK` new keys at a
/// time, tables replaced (untimed) as there. One iteration is one key.
fn insert_new_many(g: &mut Group, bits: u32, memory: Memory) {
    let id = format!("insert_new_many{}{}", suffix(bits), memory_suffix(memory));
    let mut t = table(bits, MI, memory);
    let mut next = 1u64;
    let mut batch = vec![0u64; BULK];
    let mut entries = vec![
        Entry {
            row: 0,
            inserted: false
        };
        BULK
    ];
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                if t.len() == MI {
                    t = table(bits, MI, memory);
                }
                let n = left.min(MI - t.len()).min(BULK as u64) as usize;
                let start = Instant::now();
                for (k, key) in batch[..n].iter_mut().zip(next..) {
                    *k = key;
                }
                t.find_or_insert_many(black_box(&batch[..n]), 1, &mut entries[..n])
                    .unwrap();
                black_box(&entries);
                timed += start.elapsed();
                next += n as u64;
                left -= n as u64;
            }
            timed
        })
    });
}

/// `next_key_rows` over every row of a table of `capacity` holding `keys`
/// keys, `BULK` rows at most per call: the JS iterator's walk. One
/// iteration is one whole-table scan (`Layout::total_bytes` of a 1 Mi
/// table is 22.4 MB, of a 2 Mi one 44.7 MB). The heap table's memory is
/// written once first: zeroed heap memory never written can be the
/// kernel's zero page, 4 KiB that stay in the cache, and the scan would
/// not read memory at all (a memfd's pages are real memory once read).
fn scan(g: &mut Group, name: &str, capacity: u64, keys: u64, memory: Memory) {
    let t = match memory {
        Memory::Heap => {
            let geometry = geometry(64, capacity);
            let len = Layout::new(geometry).unwrap().total_bytes();
            let words: Vec<AtomicU64> = (0..len.div_ceil(8)).map(|_| AtomicU64::new(0)).collect();
            for w in &words {
                w.store(0, Ordering::Relaxed);
            }
            let backing = HeapBacking::from_words(words, len).unwrap();
            Table::create(Words::new(Arc::new(backing)), geometry).unwrap()
        }
        Memory::Memfd => table(64, capacity, memory),
    };
    for k in 1..=keys {
        t.find_or_insert(&[k]).unwrap();
    }
    let rows = t.layout().rows();
    let mut out = vec![0u64; BULK];
    g.bench_function(name, |b| {
        b.iter(|| {
            let (mut from, mut found) = (0, 0);
            while from < rows {
                let (n, next) = t.next_key_rows(from, &mut out, &mut []);
                found += n;
                from = next;
            }
            assert_eq!(found as u64, keys);
            found
        })
    });
}

/// `slot.load()`: one SeqCst load (a plain `mov` on x86).
fn load(g: &mut Group, bits: u32) {
    let (t, row) = one_key(bits, Memory::Heap);
    g.bench_function(format!("load{}", suffix(bits)), |b| {
        b.iter(|| t.load(black_box(row)))
    });
}

/// A compare-and-swap increment loop (uncontended: one load, one CAS).
fn cas_increment(g: &mut Group, bits: u32) {
    let (t, row) = one_key(bits, Memory::Heap);
    g.bench_function(format!("cas_increment{}", suffix(bits)), |b| {
        b.iter(|| {
            let row = black_box(row);
            let mut current = t.load(row);
            loop {
                // On a 32-bit table `cas` truncates, so 2^32 wraps to 0.
                let before = t.cas(row, current, current.wrapping_add(1));
                if before == current {
                    break before;
                }
                current = before;
            }
        })
    });
}

fn core(c: &mut Criterion) {
    let mut g = c.benchmark_group("core");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);

    atomic_fetch_add(&mut g);
    for bits in [64, 32] {
        fetch_add_row(&mut g, bits);
    }
    for bits in [64, 32] {
        find_add_existing(&mut g, bits, Memory::Heap);
    }
    find_add_existing(&mut g, 64, Memory::Memfd);
    for bits in [64, 32] {
        find_add_full(&mut g, bits, MI, Memory::Heap);
    }
    for bits in [64, 32] {
        find_add_full(&mut g, bits, 2 * MI, Memory::Memfd);
    }
    for bits in [64, 32] {
        insert_new(&mut g, bits, Memory::Heap);
    }
    for bits in [64, 32] {
        insert_new(&mut g, bits, Memory::Memfd);
    }
    find_add_many_full(&mut g, 64, MI, Memory::Heap);
    find_add_many_full(&mut g, 64, 2 * MI, Memory::Memfd);
    insert_new_many(&mut g, 64, Memory::Heap);
    insert_new_many(&mut g, 64, Memory::Memfd);
    scan(&mut g, "scan_sparse_1mi", MI, 2, Memory::Heap);
    scan(&mut g, "scan_sparse_2mi_memfd", 2 * MI, 2, Memory::Memfd);
    scan(&mut g, "scan_full_1mi", MI, MI, Memory::Heap);
    for bits in [64, 32] {
        load(&mut g, bits);
    }
    for bits in [64, 32] {
        cas_increment(&mut g, bits);
    }
    g.finish();
}

criterion_group!(benches, core);
criterion_main!(benches);
