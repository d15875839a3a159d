//! Model-based tests of the core table: random operation sequences checked
//! step by step against a `HashMap` model, plus capacity, key-validation and
//! value-semantics tests. Single-threaded, so every result is exact.

use std::collections::{HashMap, HashSet};

use atomic_dict::core::{Entry, Geometry, KeyError, Kind, Op, Table, TableError};

mod common;
use common::*;

/// How keys are drawn: `small` parts come from `1..=small_max[i]` so keys
/// collide, share prefixes and repeat; the rest are large random parts.
struct KeyGen {
    k64: usize,
    k32: usize,
    small_max: Vec<u64>,
    large_percent: u64,
}

impl KeyGen {
    fn key(&self, rng: &mut Rng) -> Vec<u64> {
        let large = rng.chance(self.large_percent);
        (0..self.k64 + self.k32)
            .map(|i| {
                let wide = i < self.k64;
                if large && (i + 1 == self.k64 + self.k32 || rng.chance(50)) {
                    let m = if wide { u64::MAX } else { u32::MAX as u64 };
                    // Non-zero, often near the top of the range.
                    match rng.below(4) {
                        0 => m,
                        1 => m - rng.below(16),
                        _ => 1 + rng.below(m),
                    }
                } else {
                    rng.range(1, self.small_max[i])
                }
            })
            .collect()
    }
}

struct Model {
    table: Table,
    is_set: bool,
    value_mask: u64,
    capacity: u64,
    values: HashMap<Vec<u64>, u64>,
    rows: HashMap<Vec<u64>, u64>,
    keys: Vec<Vec<u64>>,
    ops: u64,
}

impl Model {
    fn new(g: Geometry) -> Model {
        Model {
            table: new_table(g),
            is_set: g.kind == Kind::Set,
            value_mask: mask(g.value_bits),
            capacity: g.capacity,
            values: HashMap::new(),
            rows: HashMap::new(),
            keys: Vec::new(),
            ops: 0,
        }
    }

    fn check_len(&self) {
        assert_eq!(self.table.len(), self.values.len() as u64, "len after op");
    }

    /// Every row: complete keys are exactly the model's keys, once each, at the
    /// row `find` gave, with the model's value.
    fn scan(&self) {
        let parts = self.table.layout().parts();
        let mut seen = HashSet::new();
        let mut key = vec![0u64; parts];
        for row in 0..self.table.layout().rows() {
            if self.table.read_key(row, &mut key) {
                assert!(seen.insert(key.clone()), "key {key:?} in two rows");
                let want_row = self.rows.get(&key);
                assert_eq!(want_row, Some(&row), "key {key:?} in row {row}");
                if !self.is_set {
                    assert_eq!(self.table.load(row), self.values[&key], "value of {key:?}");
                }
            }
        }
        assert_eq!(
            seen.len(),
            self.values.len(),
            "scan found a different key count"
        );
    }

    fn find(&mut self, key: &[u64]) {
        let before = self.table.len();
        let got = self.table.find(key);
        assert_eq!(got, self.rows.get(key).copied(), "find {key:?}");
        assert_eq!(self.table.len(), before, "find must not insert");
    }

    fn find_or_insert(&mut self, key: &[u64]) -> Option<u64> {
        let got = self.table.find_or_insert(key);
        match self.rows.get(key) {
            Some(&row) => {
                assert_eq!(
                    got,
                    Ok(Entry {
                        row,
                        inserted: false
                    }),
                    "re-find {key:?}"
                );
                Some(row)
            }
            None if (self.values.len() as u64) < self.capacity => {
                let entry = got.unwrap_or_else(|e| panic!("insert {key:?}: {e}"));
                assert!(entry.inserted, "first insert of {key:?} must say inserted");
                assert!(
                    !self.rows.values().any(|&r| r == entry.row),
                    "row {} reused",
                    entry.row
                );
                if !self.is_set {
                    assert_eq!(self.table.load(entry.row), 0, "new value must be 0");
                }
                self.rows.insert(key.to_vec(), entry.row);
                self.values.insert(key.to_vec(), 0);
                self.keys.push(key.to_vec());
                Some(entry.row)
            }
            None => {
                assert_eq!(
                    got,
                    Err(TableError::Full {
                        capacity: self.capacity
                    }),
                    "insert into a full table"
                );
                assert_eq!(self.table.find(key), None);
                None
            }
        }
    }

    fn value_op(&mut self, rng: &mut Rng, key: &[u64], row: u64) {
        let m = self.value_mask;
        let cur = self.values[key];
        match rng.below(5) {
            0 => assert_eq!(self.table.load(row), cur, "load"),
            1 => {
                let v = random_operand(rng);
                self.table.store(row, v);
                self.values.insert(key.to_vec(), v & m);
            }
            2 => {
                let op = OPS[rng.below(6) as usize];
                let operand = random_operand(rng);
                let prev = self.table.fetch(row, op, operand);
                assert_eq!(prev, cur, "fetch {op:?} {operand:#x} previous");
                self.values.insert(key.to_vec(), apply(op, cur, operand, m));
            }
            3 => {
                // Matching expected: stores.
                let desired = random_operand(rng);
                let prev = self.table.cas(row, cur, desired);
                assert_eq!(prev, cur, "cas (match) previous");
                self.values.insert(key.to_vec(), desired & m);
            }
            _ => {
                // Non-matching expected (within the value width): no store.
                let expected = (cur ^ (1 + rng.below(m.min(1 << 40)))) & m;
                assert_ne!(expected, cur);
                let prev = self.table.cas(row, expected, random_operand(rng));
                assert_eq!(prev, cur, "cas (mismatch) previous");
            }
        }
        assert_eq!(self.table.load(row), self.values[key], "value after op");
    }

    fn step(&mut self, rng: &mut Rng, keys: &KeyGen) {
        self.ops += 1;
        // Half the time reuse a known key, so value ops and re-finds are common.
        let key = if !self.keys.is_empty() && rng.chance(50) {
            self.keys[rng.below(self.keys.len() as u64) as usize].clone()
        } else {
            keys.key(rng)
        };
        self.table
            .check_key(&key)
            .expect("generated keys are valid");
        let choice = if self.is_set {
            rng.below(2)
        } else {
            rng.below(4)
        };
        match choice {
            0 => self.find(&key),
            1 => {
                self.find_or_insert(&key);
            }
            _ => {
                if let Some(row) = self.find_or_insert(&key) {
                    self.value_op(rng, &key, row);
                }
            }
        }
        self.check_len();
    }
}

fn run_model(g: Geometry, keys: &KeyGen, seed: u64, ops: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let mut model = Model::new(g);
    for i in 0..ops {
        model.step(&mut rng, keys);
        if i % 2000 == 1999 {
            model.scan();
        }
    }
    model.scan();
    model.ops
}

fn keygen(k64: usize, k32: usize, small_max: &[u64], large_percent: u64) -> KeyGen {
    assert_eq!(small_max.len(), k64 + k32);
    KeyGen {
        k64,
        k32,
        small_max: small_max.to_vec(),
        large_percent,
    }
}

/// Runs one geometry over a roomy table and over a tight one that fills up.
fn run_geometry(g: Geometry, keys: &KeyGen, seed: u64) {
    let mut total = 0;
    // Roomy: the whole small key space fits plus the large keys.
    total += run_model(
        Geometry {
            capacity: 20_000,
            ..g
        },
        keys,
        seed,
        16_000,
    );
    // Tight: fills up, then Full must be reported exactly at capacity.
    total += run_model(Geometry { capacity: 300, ..g }, keys, seed ^ 0xABCD, 12_000);
    total += run_model(Geometry { capacity: 5, ..g }, keys, seed ^ 0x1234, 3_000);
    assert_eq!(total, 31_000);
}

#[test]
fn model_k64_1_value64() {
    let keys = keygen(1, 0, &[50], 10);
    run_geometry(dict(1, 0, 64, 0), &keys, 1);
}

#[test]
fn model_k64_1_value32() {
    let keys = keygen(1, 0, &[50], 10);
    run_geometry(dict(1, 0, 32, 0), &keys, 2);
}

#[test]
fn model_k32_1_value32() {
    let keys = keygen(0, 1, &[50], 10);
    run_geometry(dict(0, 1, 32, 0), &keys, 3);
}

#[test]
fn model_k64_2_k32_1_value64() {
    // Small first parts: many keys share one- and two-part prefixes.
    let keys = keygen(2, 1, &[3, 4, 50], 10);
    run_geometry(dict(2, 1, 64, 0), &keys, 4);
}

#[test]
fn model_k64_1_k32_2_value32() {
    let keys = keygen(1, 2, &[4, 5, 50], 10);
    run_geometry(dict(1, 2, 32, 0), &keys, 5);
}

#[test]
fn model_k64_3_value64() {
    let keys = keygen(3, 0, &[2, 5, 50], 10);
    run_geometry(dict(3, 0, 64, 0), &keys, 6);
}

#[test]
fn model_set() {
    let keys = keygen(1, 0, &[50], 10);
    run_geometry(set(1, 0, 0), &keys, 7);
    let keys = keygen(1, 1, &[3, 50], 10);
    run_geometry(set(1, 1, 0), &keys, 8);
}

/// With capacity N exactly N distinct keys fit; the next distinct insert is
/// `Full`, changing nothing; existing keys keep their rows and values.
#[test]
fn capacity_is_exact() {
    let geometries = [
        dict(1, 0, 64, 0),
        dict(0, 1, 32, 0),
        dict(2, 1, 64, 0),
        dict(1, 2, 32, 0),
        set(1, 0, 0),
    ];
    for g in geometries {
        for n in [1u64, 2, 3, 7, 100, 1000] {
            let g = Geometry { capacity: n, ..g };
            let t = new_table(g);
            assert_eq!(t.capacity(), n);
            let parts = (g.k64 + g.k32) as usize;
            // Keys share their prefix (1, 1, ...) and differ in the last part.
            let key = |i: u64| {
                let mut k = vec![1u64; parts];
                k[parts - 1] = i + 1;
                k
            };
            let mut rows = Vec::new();
            for i in 0..n {
                let e = t.find_or_insert(&key(i)).expect("fits");
                assert!(e.inserted);
                if g.kind == Kind::Dict {
                    t.store(e.row, 1000 + i);
                }
                rows.push(e.row);
                assert_eq!(t.len(), i + 1);
            }
            for extra in 0..3 {
                let k = key(n + extra);
                assert_eq!(
                    t.find_or_insert(&k),
                    Err(TableError::Full { capacity: n }),
                    "{g:?}: insert past capacity"
                );
                assert_eq!(t.find(&k), None);
                assert_eq!(t.len(), n);
            }
            for i in 0..n {
                let k = key(i);
                assert_eq!(t.find(&k), Some(rows[i as usize]));
                assert_eq!(
                    t.find_or_insert(&k),
                    Ok(Entry {
                        row: rows[i as usize],
                        inserted: false
                    })
                );
                if g.kind == Kind::Dict {
                    assert_eq!(t.load(rows[i as usize]), 1000 + i);
                }
            }
            assert_eq!(t.len(), n);
            // Still full afterwards.
            assert!(t.find_or_insert(&key(n + 10)).is_err());
            assert_eq!(t.len(), n);
        }
    }
}

#[test]
fn check_key_rejects_bad_keys() {
    let t = new_table(dict(2, 2, 64, 10));
    assert_eq!(t.check_key(&[1, 2, 3, 4]), Ok(()));
    assert_eq!(
        t.check_key(&[u64::MAX, u64::MAX, u32::MAX as u64, u32::MAX as u64]),
        Ok(())
    );
    assert_eq!(
        t.check_key(&[]),
        Err(KeyError::Parts {
            expected: 4,
            got: 0
        })
    );
    assert_eq!(
        t.check_key(&[1, 2, 3]),
        Err(KeyError::Parts {
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        t.check_key(&[1, 2, 3, 4, 5]),
        Err(KeyError::Parts {
            expected: 4,
            got: 5
        })
    );
    for part in 0..4 {
        let mut k = vec![1, 2, 3, 4];
        k[part] = 0;
        assert_eq!(t.check_key(&k), Err(KeyError::Zero { part }));
    }
    for part in 2..4 {
        for wide in [1u64 << 32, u64::MAX, (u32::MAX as u64) + 1] {
            let mut k = vec![1, 2, 3, 4];
            k[part] = wide;
            assert_eq!(t.check_key(&k), Err(KeyError::TooWide { part }));
        }
    }
    // 64-bit parts take any non-zero value.
    assert_eq!(t.check_key(&[1 << 32, u64::MAX, 1, 1]), Ok(()));

    let t = new_table(dict(0, 1, 32, 10));
    assert_eq!(t.check_key(&[u32::MAX as u64]), Ok(()));
    assert_eq!(t.check_key(&[1 << 32]), Err(KeyError::TooWide { part: 0 }));
    assert_eq!(t.check_key(&[0]), Err(KeyError::Zero { part: 0 }));
    assert_eq!(
        t.check_key(&[]),
        Err(KeyError::Parts {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(
        t.check_key(&[1, 1]),
        Err(KeyError::Parts {
            expected: 1,
            got: 2
        })
    );
}

/// Values are raw bits: 32-bit values truncate and zero-extend, arithmetic
/// wraps, and "signed" only changes how the bits are read.
#[test]
fn value_bits_semantics() {
    for signed in [false, true] {
        // 64-bit
        let t = new_table(Geometry {
            signed,
            ..dict(1, 0, 64, 4)
        });
        let r = t.find_or_insert(&[7]).unwrap().row;
        assert_eq!(t.fetch(r, Op::Sub, 1), 0);
        assert_eq!(t.load(r), u64::MAX);
        assert_eq!(t.load(r) as i64, -1);
        assert_eq!(t.fetch(r, Op::Add, 2), u64::MAX);
        assert_eq!(t.load(r), 1);
        t.store(r, i64::MIN as u64);
        assert_eq!(t.fetch(r, Op::Sub, 1), i64::MIN as u64);
        assert_eq!(t.load(r) as i64, i64::MAX);

        // 32-bit
        let t = new_table(Geometry {
            signed,
            ..dict(1, 0, 32, 4)
        });
        let r = t.find_or_insert(&[7]).unwrap().row;
        assert_eq!(t.fetch(r, Op::Sub, 1), 0);
        assert_eq!(t.load(r), u32::MAX as u64, "zero-extended two's complement");
        assert_eq!(t.load(r) as u32 as i32, -1);
        assert_eq!(t.fetch(r, Op::Add, 1), u32::MAX as u64);
        assert_eq!(t.load(r), 0, "wraps mod 2^32");
        t.store(r, 0x1234_5678_9ABC_DEF0);
        assert_eq!(t.load(r), 0x9ABC_DEF0, "store truncates");
        assert_eq!(t.fetch(r, Op::Swap, u64::MAX), 0x9ABC_DEF0);
        assert_eq!(t.load(r), u32::MAX as u64);
        assert_eq!(t.fetch(r, Op::And, 0xFFFF_0000_0000_00FF), u32::MAX as u64);
        assert_eq!(t.load(r), 0xFF);
        assert_eq!(
            t.fetch(r, Op::Add, (1 << 32) + 1),
            0xFF,
            "operand truncates"
        );
        assert_eq!(t.load(r), 0x100);
        // A matching cas returns exactly `expected`.
        assert_eq!(t.cas(r, 0x100, 5), 0x100);
        assert_eq!(t.load(r), 5);
        assert_eq!(t.cas(r, 6, 9), 5);
        assert_eq!(t.load(r), 5);
        t.store(r, (-5i32) as u32 as u64);
        assert_eq!(t.load(r) as u32 as i32, -5);
        assert_eq!(t.fetch(r, Op::Add, 10), 0xFFFF_FFFB);
        assert_eq!(t.load(r), 5);
    }
}

/// On 32-bit tables every operand is truncated to 32 bits, `cas`'s
/// `expected` included (as JS `Atomics.compareExchange` on a Uint32Array
/// does): callers compare the previous value with the truncated `expected`.
#[test]
fn cas_32bit_truncates_expected_like_atomics() {
    let t = new_table(dict(1, 0, 32, 4));
    let r = t.find_or_insert(&[1]).unwrap().row;
    t.store(r, 5);
    let expected = (1u64 << 32) | 5;
    let prev = t.cas(r, expected, 9);
    assert_eq!(prev, expected as u32 as u64);
    assert_eq!(t.load(r), 9);
    assert_eq!(t.cas(r, 5, 11), 9, "a failed cas returns the current value");
    assert_eq!(t.load(r), 9);
}

/// A set: `inserted` is true exactly for the first insert of each key.
#[test]
fn set_inserted_only_first_time() {
    let t = new_table(set(0, 2, 500));
    let mut rng = Rng::new(99);
    let mut seen = HashSet::new();
    for _ in 0..5_000 {
        let k = vec![rng.range(1, 3), rng.range(1, 100)];
        let e = t.find_or_insert(&k).unwrap();
        assert_eq!(e.inserted, seen.insert(k.clone()), "{k:?}");
        assert_eq!(t.len(), seen.len() as u64);
    }
}
