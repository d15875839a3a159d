//! atomic-dict: a lock-free shared `Map<u64, u64>` for Node.js processes.
//!
//! Three layers, each depending only on the one before:
//! - [`core`]: the format and the lock-free algorithm over atomic words;
//! - [`shm`]: shared memory (memfd, mappings) to hold a table,
//!   [`futex`] and [`wait`]: waiting on its words across processes, and
//!   [`contributors`]: which processes using a table are alive (OFD locks);
//! - `binding` (feature `node`): the napi-rs surface that `index.js` builds
//!   the JS API on.

// Linux x86-64 and aarch64 only: besides Linux's memfds and futexes, the
// wait path's mixed-size atomic accesses rely on those CPUs (see the
// SAFETY comment of core::memory::Words::u32).
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!("atomic-dict supports Linux on x86-64 and aarch64 only");

#[cfg(not(loom))]
pub mod contributors;
pub mod core;
#[cfg(not(loom))]
pub mod futex;
#[cfg(not(loom))]
pub mod memory;
#[cfg(not(loom))]
pub mod shm;
#[cfg(not(loom))]
pub mod wait;

#[cfg(all(feature = "node", not(loom)))]
pub mod binding;
