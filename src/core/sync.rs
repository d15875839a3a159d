//! The atomics the core uses: `std`'s in production, loom's under `--cfg loom`
//! so the same algorithm code can be model-checked (see `tests/loom.rs`).

#[cfg(loom)]
pub use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
