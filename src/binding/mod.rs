//! The napi-rs binding: creates and attaches tables and hands JS a view of
//! their memory. Value operations run in JS (`lib/`) with `Atomics` on that
//! view; the native methods here are for set-up, and for tests that check
//! the JS and Rust implementations of the format against each other.

pub mod block;
pub mod contributors;
pub mod format;
pub mod inspect;
pub mod locate;
pub mod strings;
pub mod table;
mod uv;
pub mod wait;
