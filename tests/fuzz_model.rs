//! Randomised model test of the core table (single-threaded, so every result
//! is exact): random geometries (k64 0..=3, k32 0..=3, 32- or 64-bit values
//! or a set, capacities 1..5000) and random operations checked one by one
//! against a `HashMap` model, with `len()` after every operation, periodic
//! full scans and `Table::verify()` at the end of each geometry.
//!
//! The number of operations comes from `ATOMIC_DICT_FUZZ_OPS` (default
//! 100_000, so plain `cargo test` stays fast) and the seed from
//! `ATOMIC_DICT_FUZZ_SEED` (default fixed). `bash scripts/fuzz.sh` runs a
//! million operations in release mode.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Instant;

use atomic_dict::core::{Entry, Geometry, KeyError, Kind, Layout, Table, TableError, Words};

mod common;
use common::*;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
        Err(_) => default,
    }
}

/// A random geometry: at least one key part, the row within 64 bytes (always
/// true for k64, k32 <= 3, checked anyway by `Layout::new`).
fn random_geometry(rng: &mut Rng) -> Geometry {
    loop {
        let k64 = rng.below(4) as u32;
        let k32 = rng.below(4) as u32;
        if k64 + k32 == 0 {
            continue;
        }
        let kind = if rng.chance(25) {
            Kind::Set
        } else {
            Kind::Dict
        };
        let value_bits = match kind {
            Kind::Set => 0,
            Kind::Dict => {
                if rng.chance(50) {
                    32
                } else {
                    64
                }
            }
        };
        // Skewed towards small capacities so that tables fill up often.
        let capacity = match rng.below(10) {
            0..=2 => rng.range(1, 16),
            3..=5 => rng.range(1, 300),
            _ => rng.range(1, 4999),
        };
        let g = Geometry {
            kind,
            k64,
            k32,
            value_bits,
            signed: kind == Kind::Dict && rng.chance(30),
            capacity,
            string_bytes: 0,
        };
        if Layout::new(g).is_ok() {
            return g;
        }
    }
}

/// How keys of one geometry are drawn: part `i` comes from `1..=small_max[i]`
/// (so keys repeat, collide and share prefixes), except for "large" keys,
/// whose parts are often anywhere in the part's range.
struct KeyGen {
    k64: usize,
    parts: usize,
    small_max: Vec<u64>,
    large_percent: u64,
}

impl KeyGen {
    fn new(rng: &mut Rng, g: Geometry) -> KeyGen {
        let parts = (g.k64 + g.k32) as usize;
        // Aim the small key space at about `spread` times the capacity.
        let spread = [1, 2, 4][rng.below(3) as usize];
        let target = (g.capacity * spread).max(2);
        let mut small_max = vec![1u64; parts];
        let mut room = target;
        for (i, max) in small_max.iter_mut().enumerate() {
            if i + 1 == parts {
                *max = room.max(1);
            } else {
                // Leading parts: few values, so prefixes are shared.
                *max = rng.range(1, 4).min(room.max(1));
                room = room.div_ceil(*max);
            }
        }
        KeyGen {
            k64: g.k64 as usize,
            parts,
            small_max,
            large_percent: rng.below(30),
        }
    }

    fn key(&self, rng: &mut Rng) -> Vec<u64> {
        let large = rng.chance(self.large_percent);
        (0..self.parts)
            .map(|i| {
                if large && (i + 1 == self.parts || rng.chance(50)) {
                    let m = if i < self.k64 {
                        u64::MAX
                    } else {
                        u32::MAX as u64
                    };
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

    /// An invalid key and the error `check_key` must give for it.
    fn bad_key(&self, rng: &mut Rng) -> (Vec<u64>, KeyError) {
        let mut key = self.key(rng);
        match rng.below(3) {
            0 => {
                let got = if rng.chance(50) || self.parts == 1 {
                    self.parts + 1 + rng.below(2) as usize
                } else {
                    rng.below(self.parts as u64) as usize
                };
                key.resize(got, 1);
                (
                    key,
                    KeyError::Parts {
                        expected: self.parts,
                        got,
                    },
                )
            }
            1 if self.parts > self.k64 => {
                // A 32-bit part too wide (earlier parts stay valid).
                let part = self.k64 + rng.below((self.parts - self.k64) as u64) as usize;
                key[part] = (1u64 << 32) + rng.below(1 << 20);
                (key, KeyError::TooWide { part })
            }
            _ => {
                let part = rng.below(self.parts as u64) as usize;
                key[part] = 0;
                (key, KeyError::Zero { part })
            }
        }
    }
}

/// The model of one table, and the divergences found so far.
struct Model {
    table: Table,
    g: Geometry,
    value_mask: u64,
    values: HashMap<Vec<u64>, u64>,
    rows: HashMap<Vec<u64>, u64>,
    used_rows: HashSet<u64>,
    keys: Vec<Vec<u64>>,
    ops: u64,
    divergences: u64,
    log: String,
}

/// Records a divergence (with the first few messages) instead of panicking,
/// so the run can report how many there were.
macro_rules! check {
    ($m:expr, $cond:expr, $($fmt:tt)*) => {
        if !$cond {
            $m.diverge(format!($($fmt)*));
        }
    };
}

impl Model {
    fn new(g: Geometry) -> Model {
        let layout = Layout::new(g).expect("valid geometry");
        let table = Table::create(Words::heap(layout.total_bytes()), g).expect("create");
        Model {
            table,
            g,
            value_mask: mask(g.value_bits),
            values: HashMap::new(),
            rows: HashMap::new(),
            used_rows: HashSet::new(),
            keys: Vec::new(),
            ops: 0,
            divergences: 0,
            log: String::new(),
        }
    }

    fn diverge(&mut self, msg: String) {
        self.divergences += 1;
        if self.divergences <= 10 {
            let _ = writeln!(self.log, "  op {} of {:?}: {msg}", self.ops, self.g);
        }
    }

    fn is_set(&self) -> bool {
        self.g.kind == Kind::Set
    }

    fn find(&mut self, key: &[u64]) {
        let got = self.table.find(key);
        let want = self.rows.get(key).copied();
        check!(self, got == want, "find {key:?}: {got:?}, model {want:?}");
    }

    /// `find_or_insert`, checked; the key's row when it is (now) in the table.
    fn find_or_insert(&mut self, key: &[u64]) -> Option<u64> {
        let got = self.table.find_or_insert(key);
        match self.rows.get(key).copied() {
            Some(row) => {
                let want = Ok(Entry {
                    row,
                    inserted: false,
                });
                check!(
                    self,
                    got == want,
                    "re-insert {key:?}: {got:?}, model {want:?}"
                );
                Some(row)
            }
            None if (self.values.len() as u64) < self.g.capacity => match got {
                Ok(e) => {
                    check!(self, e.inserted, "first insert of {key:?} not inserted");
                    check!(
                        self,
                        e.row < self.table.layout().rows() && self.used_rows.insert(e.row),
                        "insert {key:?}: row {} reused or out of range",
                        e.row
                    );
                    if !self.is_set() {
                        let v = self.table.load(e.row);
                        check!(self, v == 0, "new key {key:?} has value {v}");
                    }
                    self.rows.insert(key.to_vec(), e.row);
                    self.values.insert(key.to_vec(), 0);
                    self.keys.push(key.to_vec());
                    Some(e.row)
                }
                Err(e) => {
                    self.diverge(format!(
                        "insert {key:?} with {} of {} keys: {e}",
                        self.values.len(),
                        self.g.capacity
                    ));
                    None
                }
            },
            None => {
                let want = Err(TableError::Full {
                    capacity: self.g.capacity,
                });
                check!(self, got == want, "insert {key:?} when full: {got:?}");
                let found = self.table.find(key);
                check!(
                    self,
                    found.is_none(),
                    "Full insert left {key:?} at {found:?}"
                );
                None
            }
        }
    }

    fn value_op(&mut self, rng: &mut Rng, key: &[u64], row: u64) {
        let m = self.value_mask;
        let cur = self.values[key];
        match rng.below(6) {
            0 => {
                let v = self.table.load(row);
                check!(self, v == cur, "load {key:?}: {v:#x}, model {cur:#x}");
            }
            1 => {
                let v = random_operand(rng);
                self.table.store(row, v);
                self.values.insert(key.to_vec(), v & m);
            }
            2 | 3 => {
                let op = OPS[rng.below(6) as usize];
                let operand = random_operand(rng);
                let prev = self.table.fetch(row, op, operand);
                check!(
                    self,
                    prev == cur,
                    "fetch {op:?} {operand:#x} on {key:?}: previous {prev:#x}, model {cur:#x}"
                );
                self.values.insert(key.to_vec(), apply(op, cur, operand, m));
            }
            4 => {
                // Matching expected (sometimes with bits above the width,
                // which a 32-bit table ignores): stores.
                let expected = if m != u64::MAX && rng.chance(30) {
                    cur | (rng.range(1, u32::MAX as u64) << 32)
                } else {
                    cur
                };
                let desired = random_operand(rng);
                let prev = self.table.cas(row, expected, desired);
                check!(
                    self,
                    prev == cur,
                    "cas (match) on {key:?}: {prev:#x}, model {cur:#x}"
                );
                self.values.insert(key.to_vec(), desired & m);
            }
            _ => {
                // Non-matching expected: changes nothing.
                let expected = (cur ^ (1 + rng.below(m.min(1 << 40)))) & m;
                let prev = self.table.cas(row, expected, random_operand(rng));
                check!(
                    self,
                    prev == cur,
                    "cas (mismatch) on {key:?}: {prev:#x}, model {cur:#x}"
                );
            }
        }
        let after = self.table.load(row);
        let want = self.values[key];
        check!(
            self,
            after == want,
            "value of {key:?} after op: {after:#x}, model {want:#x}"
        );
    }

    fn step(&mut self, rng: &mut Rng, keys: &KeyGen) {
        self.ops += 1;
        if rng.chance(1) {
            let (key, want) = keys.bad_key(rng);
            let got = self.table.check_key(&key);
            check!(
                self,
                got == Err(want.clone()),
                "check_key {key:?}: {got:?}, want {want:?}"
            );
        } else {
            let key = if !self.keys.is_empty() && rng.chance(50) {
                self.keys[rng.below(self.keys.len() as u64) as usize].clone()
            } else {
                keys.key(rng)
            };
            let valid = self.table.check_key(&key);
            check!(self, valid.is_ok(), "check_key {key:?}: {valid:?}");
            let choice = if self.is_set() {
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
        }
        let len = self.table.len();
        let want = self.values.len() as u64;
        check!(self, len == want, "len {len}, model {want}");
    }

    /// Every row: the complete keys are exactly the model's, each once, at
    /// the model's row, with the model's value.
    fn scan(&mut self) {
        let layout = *self.table.layout();
        let mut key = vec![0u64; layout.parts()];
        let mut seen = 0u64;
        for row in 0..layout.rows() {
            if self.table.read_key(row, &mut key) {
                seen += 1;
                let want = self.rows.get(&key).copied();
                check!(
                    self,
                    want == Some(row),
                    "scan: {key:?} in row {row}, model {want:?}"
                );
                if !self.is_set() && want == Some(row) {
                    let v = self.table.load(row);
                    let mv = self.values[&key];
                    check!(
                        self,
                        v == mv,
                        "scan: value of {key:?} {v:#x}, model {mv:#x}"
                    );
                }
            } else {
                check!(self, key[0] == 0, "scan: partial row {row} ({key:?})");
            }
        }
        let want = self.values.len() as u64;
        check!(
            self,
            seen == want,
            "scan: {seen} complete rows, model {want}"
        );
    }

    fn verify(&mut self) {
        let r = self.table.verify();
        let want = self.values.len() as u64;
        check!(self, r.ok(), "verify: {r:?}");
        check!(
            self,
            r.entries == want,
            "verify: {} entries, model {want}",
            r.entries
        );
        check!(
            self,
            r.complete_rows == want,
            "verify: {} complete rows",
            r.complete_rows
        );
        check!(
            self,
            r.partial_rows == 0,
            "verify: {} partial rows",
            r.partial_rows
        );
        check!(
            self,
            r.reserved == want,
            "verify: reserved {}, model {want}",
            r.reserved
        );
    }
}

#[test]
fn fuzz_model() {
    let total_ops = env_u64("ATOMIC_DICT_FUZZ_OPS", 100_000);
    let seed = env_u64("ATOMIC_DICT_FUZZ_SEED", 0x5EED_F022);
    let mut rng = Rng(seed);
    let start = Instant::now();
    let (mut done, mut geometries, mut divergences, mut fills) = (0u64, 0u64, 0u64, 0u64);
    let mut executed = 0u64;
    let mut log = String::new();
    while done < total_ops {
        let g = random_geometry(&mut rng);
        let keys = KeyGen::new(&mut rng, g);
        // Enough operations to fill a small table several times over.
        let ops = rng.range(50, 3 * g.capacity + 500).min(total_ops - done);
        let scan_every = (20_000 / g.capacity.max(1)).clamp(50, 5_000);
        let mut model = Model::new(g);
        for i in 0..ops {
            model.step(&mut rng, &keys);
            if i % scan_every == scan_every - 1 {
                model.scan();
            }
            if model.divergences > 0 {
                break; // the model no longer describes the table
            }
        }
        model.scan();
        model.verify();
        done += ops;
        executed += model.ops;
        geometries += 1;
        if model.values.len() as u64 == g.capacity {
            fills += 1;
        }
        if model.divergences > 0 {
            divergences += model.divergences;
            log.push_str(&model.log);
        }
    }
    println!(
        "fuzz_model: {executed} ops over {geometries} geometries ({fills} filled to capacity), \
         seed {seed:#x}, {divergences} divergences, {:.2?}",
        start.elapsed()
    );
    assert_eq!(divergences, 0, "divergences:\n{log}");
}
