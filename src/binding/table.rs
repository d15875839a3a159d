use std::sync::Arc;

use napi::bindgen_prelude::{ArrayBuffer, BigInt};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::core::{Backing, Geometry, Kind, Op, Table, Words};
use crate::shm::Mapping;

fn invalid(msg: impl ToString) -> Error {
    Error::new(Status::InvalidArg, msg.to_string())
}

/// A table mapped into this process.
#[napi]
pub struct NativeTable {
    table: Table,
}

/// Creates a table in a new sealed memfd. Arguments are validated by the JS
/// layer first; they are checked again here.
#[napi]
pub fn create_table(
    is_set: bool,
    capacity: i64,
    k64: u32,
    k32: u32,
    value_bits: u32,
    signed: bool,
) -> Result<NativeTable> {
    let capacity = u64::try_from(capacity).map_err(|_| invalid("capacity must be positive"))?;
    let geometry = Geometry {
        kind: if is_set { Kind::Set } else { Kind::Dict },
        k64,
        k32,
        value_bits,
        signed,
        capacity,
    };
    let layout = crate::core::Layout::new(geometry).map_err(invalid)?;
    let mapping = Mapping::create_memfd(layout.total_bytes())
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    let words = Words::new(Arc::new(mapping));
    let table = Table::create(words, geometry).map_err(invalid)?;
    Ok(NativeTable { table })
}

fn key_parts(key: Vec<BigInt>) -> Result<Vec<u64>> {
    key.iter()
        .map(|part| match part.get_u64() {
            (false, v, true) => Ok(v),
            _ => Err(invalid("key parts must be in [1, 2^64)")),
        })
        .collect()
}

fn op_from(name: &str) -> Result<Op> {
    Ok(match name {
        "add" => Op::Add,
        "sub" => Op::Sub,
        "and" => Op::And,
        "or" => Op::Or,
        "xor" => Op::Xor,
        "swap" => Op::Swap,
        _ => return Err(invalid(format!("unknown operation {name}"))),
    })
}

#[napi]
impl NativeTable {
    /// An ArrayBuffer over the table's memory (not a copy). The mapping stays
    /// alive while the buffer does, whatever happens to this object.
    #[napi]
    pub fn buffer<'env>(&self, env: &'env Env) -> Result<ArrayBuffer<'env>> {
        let owner: Arc<dyn Backing> = self.table.words().owner().clone();
        let (ptr, len) = owner.bytes();
        // SAFETY: `owner` keeps the mapping valid for `len` bytes at `ptr`; it
        // is moved into the finalizer hint and dropped only when V8 frees the
        // buffer. JS reaches the memory only through Atomics on typed arrays.
        unsafe { ArrayBuffer::from_external(env, ptr, len, owner, |_, owner| drop(owner)) }
    }

    /// Reads a u64 header word with Rust's atomics: lets the JS layer check
    /// that its view and the native side see the same memory.
    #[napi]
    pub fn header_word(&self, offset: u32) -> Result<BigInt> {
        let off = offset as usize;
        if !off.is_multiple_of(8) || off + 8 > crate::core::format::HEADER_BYTES {
            return Err(invalid("offset must be a header word"));
        }
        let v = self
            .table
            .words()
            .u64(off)
            .load(std::sync::atomic::Ordering::SeqCst);
        Ok(BigInt::from(v))
    }

    /// The row holding `key`, or -1 (never inserts). For cross-checks in tests.
    #[napi]
    pub fn find(&self, key: Vec<BigInt>) -> Result<i64> {
        let key = key_parts(key)?;
        self.table.check_key(&key).map_err(invalid)?;
        Ok(self.table.find(&key).map_or(-1, |row| row as i64))
    }

    /// The row holding `key`, inserting it when absent. For cross-checks in tests.
    #[napi]
    pub fn insert(&self, key: Vec<BigInt>) -> Result<i64> {
        let key = key_parts(key)?;
        self.table.check_key(&key).map_err(invalid)?;
        let entry = self
            .table
            .find_or_insert(&key)
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(entry.row as i64)
    }

    fn check_row(&self, row: i64) -> Result<u64> {
        let rows = self.table.layout().rows();
        match u64::try_from(row) {
            Ok(r) if r < rows && self.table.layout().geometry.value_bits != 0 => Ok(r),
            _ => Err(invalid("row out of range")),
        }
    }

    /// Applies a value operation in Rust. For cross-checks in tests.
    #[napi]
    pub fn fetch(&self, row: i64, op: String, operand: BigInt) -> Result<BigInt> {
        let row = self.check_row(row)?;
        let (_, v, _) = operand.get_u64();
        Ok(BigInt::from(self.table.fetch(row, op_from(&op)?, v)))
    }

    /// Loads a value in Rust. For cross-checks in tests.
    #[napi]
    pub fn load(&self, row: i64) -> Result<BigInt> {
        let row = self.check_row(row)?;
        Ok(BigInt::from(self.table.load(row)))
    }
}
