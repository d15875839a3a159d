//! atomic-dict: a lock-free shared `Map<u64, u64>` for Node.js processes.
//!
//! Three layers, each depending only on the one before:
//! - [`core`]: the format and the lock-free algorithm over atomic words;
//! - [`shm`]: shared memory (memfd, mappings) to hold a table, and
//!   [`futex`] and [`wait`]: waiting on its words across processes;
//! - `binding` (feature `node`): the napi-rs surface that `index.js` builds
//!   the JS API on.

pub mod core;
#[cfg(not(loom))]
pub mod futex;
#[cfg(not(loom))]
pub mod shm;
#[cfg(not(loom))]
pub mod wait;

#[cfg(all(feature = "node", not(loom)))]
pub mod binding;
