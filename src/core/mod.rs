//! The table itself: format, hashing, probing and atomic operations over a
//! region of atomic words. Knows nothing of Node or of how memory is mapped.

mod bulk;
mod failpoint;
pub mod format;
pub mod hash;
pub mod memory;
mod scan;
pub mod stats;
pub mod string_key;
pub mod strings;
pub mod sync;
pub mod table;
pub mod verify;

pub use format::{FormatError, Geometry, Kind, Layout};
pub use memory::{Backing, HeapBacking, Words};
pub use stats::ProbeStats;
pub use string_key::string_key;
pub use strings::{Interned, StringError, StringStats};
pub use table::{Entry, KeyError, Op, Table, TableError};
pub use verify::Report;
