//! The format's hash and probe sequence, for tests that need keys with a
//! chosen home block (`__test__/format.test.js`, `reliability.test.js`,
//! `inspect.test.js`): the core's own functions, never a JS twin.

use napi::bindgen_prelude::BigInt;
use napi::Result;
use napi_derive::napi;

use crate::core::hash::{hash_key, Probe};

use super::table::key_parts;

/// A key's hash and the start of its probe sequence over some blocks.
#[napi(object)]
pub struct ProbeStart {
    /// The 64-bit hash, as 16 hex digits.
    pub hash: String,
    pub block: f64,
    pub step: f64,
}

/// `probeOf(parts, blocks)`: the hash of a key's parts (bigints in
/// [1, 2^64)) and its home block and step over `blocks` blocks (at least 2).
#[napi(js_name = "probeOf")]
pub fn probe_of(parts: Vec<BigInt>, blocks: f64) -> Result<ProbeStart> {
    let parts = key_parts(parts)?;
    if parts.is_empty() || !(2.0..=u32::MAX as f64).contains(&blocks) || blocks.fract() != 0.0 {
        return Err(super::table::invalid("a key and at least 2 blocks"));
    }
    let hash = hash_key(&parts);
    let probe = Probe::new(hash, blocks as u64);
    Ok(ProbeStart {
        hash: format!("{hash:016x}"),
        block: probe.block as f64,
        step: probe.step as f64,
    })
}
