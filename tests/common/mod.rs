//! Helpers shared by the integration tests (each test crate uses a subset).
#![allow(dead_code)]

use atomic_dict::core::{Geometry, Kind, Layout, Op, Table, Words};

/// splitmix64: a small deterministic generator, so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

pub fn dict(k64: u32, k32: u32, value_bits: u32, capacity: u64) -> Geometry {
    Geometry {
        kind: Kind::Dict,
        k64,
        k32,
        value_bits,
        signed: false,
        capacity,
        string_bytes: 0,
    }
}

pub fn set(k64: u32, k32: u32, capacity: u64) -> Geometry {
    Geometry {
        kind: Kind::Set,
        k64,
        k32,
        value_bits: 0,
        signed: false,
        capacity,
        string_bytes: 0,
    }
}

/// A new table of geometry `g` over zeroed heap memory.
pub fn new_table(g: Geometry) -> Table {
    let layout = Layout::new(g).expect("valid geometry");
    Table::create(Words::heap(layout.total_bytes()), g).expect("create")
}

/// The values a `bits`-wide table can hold.
pub fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Every read-modify-write operation.
pub const OPS: [Op; 6] = [Op::Add, Op::Sub, Op::And, Op::Or, Op::Xor, Op::Swap];

/// The model of `Table::fetch`: the value after `op`, in a `m`-masked width.
pub fn apply(op: Op, cur: u64, operand: u64, m: u64) -> u64 {
    let operand = operand & m;
    (match op {
        Op::Add => cur.wrapping_add(operand),
        Op::Sub => cur.wrapping_sub(operand),
        Op::And => cur & operand,
        Op::Or => cur | operand,
        Op::Xor => cur ^ operand,
        Op::Swap => operand,
    }) & m
}

/// Operands that hit the edges (0, 1, all ones, 32-bit boundaries) often.
pub fn random_operand(rng: &mut Rng) -> u64 {
    match rng.below(9) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => u32::MAX as u64,
        4 => 1u64 << 32,
        5 => (1u64 << 32) + 1,
        6 => rng.below(100),
        _ => rng.next(),
    }
}
