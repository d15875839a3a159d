//! `inspectFile(path, limit)`: everything `npx atomic-dict inspect` prints
//! about a named table (its entries' 64-bit parts decoded as strings when
//! its string area holds them), read from a private copy of the file
//! (`shm::read_snapshot`): it needs only read permission and never changes
//! the file. The copy is a point-in-time snapshot of a table other processes
//! may be changing (see `read_snapshot` for what that means per word).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use napi::bindgen_prelude::BigInt;
use napi::Result;
use napi_derive::napi;

use crate::core::{Kind, ProbeStats, Report};
use crate::shm::{read_snapshot, Snapshot};

use super::table::{fail, io_error, report, StringAreaStats, VerifyReport};

/// A table's geometry, as its header gives it. Counts are numbers (exact:
/// every one is below 2^53).
#[napi(object)]
pub struct InspectGeometry {
    /// "dict" or "set".
    pub kind: String,
    pub capacity: f64,
    pub k64: u32,
    pub k32: u32,
    /// 64 or 32; 0 for a set.
    pub value_bits: u32,
    pub signed: bool,
    pub block_count: f64,
    pub rows_per_block: u32,
    pub row_bytes: u32,
    /// block_count × rows_per_block.
    pub rows: f64,
    /// Bytes the table uses: the header, its blocks, and its string index
    /// and arena when it has them (see `Inspection::strings`).
    pub table_bytes: f64,
    /// The file's length (at least table_bytes).
    pub file_bytes: f64,
}

/// Probe lengths of the complete keys (see core::stats).
#[napi(object)]
pub struct InspectProbeStats {
    /// histogram[n]: keys found n blocks along their probe sequence (1: in
    /// their home block); index 0 is 0, the length is max + 1.
    pub histogram: Vec<f64>,
    pub max: f64,
    pub mean: f64,
    pub count: f64,
}

/// One complete key of the copy: its parts, the strings its 64-bit parts
/// decode as (null for a part that does not, and for 32-bit parts), and its
/// value as raw bits (zero-extended for 32-bit values), null for a set.
#[napi(object, use_nullable = true)]
pub struct InspectEntry {
    pub key: Vec<BigInt>,
    pub strings: Vec<Option<String>>,
    pub value: Option<BigInt>,
}

/// What `inspectFile` returns.
#[napi(object, use_nullable = true)]
pub struct Inspection {
    pub geometry: InspectGeometry,
    /// The header's entry count (what `size` reads).
    pub size: f64,
    /// The header's admission counter.
    pub reserved: f64,
    /// The audit of the copy (as `verify()` returns it).
    pub verify: VerifyReport,
    pub probe: InspectProbeStats,
    /// The string area's size and counters, null without one.
    pub strings: Option<StringAreaStats>,
    /// Complete keys of the copy, in row order: all of them, or the first
    /// `limit`. `verify.completeRows` says how many there are in all.
    pub entries: Vec<InspectEntry>,
}

/// One key of the copy: parts, the strings they decode as, value.
type GatheredEntry = (Vec<u64>, Vec<Option<String>>, Option<u64>);

/// Everything read from the copy, before it becomes JS values.
struct Gathered {
    snapshot: Snapshot,
    report: Report,
    probe: ProbeStats,
    entries: Vec<GatheredEntry>,
}

fn gather(path: &str, limit: Option<u64>) -> Result<Gathered> {
    let snapshot = read_snapshot(Path::new(path)).map_err(io_error)?;
    let table = &snapshot.table;
    let layout = *table.layout();
    let report = table.verify();
    let probe = table.probe_stats();
    let is_set = layout.geometry.kind == Kind::Set;
    let limit = limit.unwrap_or(u64::MAX);
    let mut entries = Vec::new();
    let mut key = vec![0u64; layout.parts()];
    let k64 = layout.geometry.k64 as usize;
    // Each part decoded once (a part often recurs across composite keys).
    let mut decoded: HashMap<u64, Option<String>> = HashMap::new();
    for row in 0..layout.rows() {
        if entries.len() as u64 >= limit {
            break;
        }
        if table.read_key(row, &mut key) {
            let value = (!is_set).then(|| table.load(row));
            let strings = key
                .iter()
                .enumerate()
                .map(|(i, &part)| {
                    if i >= k64 || !table.has_strings() {
                        return None;
                    }
                    decoded
                        .entry(part)
                        .or_insert_with(|| table.decode(part).map(|(s, _)| s))
                        .clone()
                })
                .collect();
            entries.push((key.clone(), strings, value));
        }
    }
    Ok(Gathered {
        snapshot,
        report,
        probe,
        entries,
    })
}

/// Reads a copy of the table in the file at `path` (read-only; symbolic
/// links and non-regular files refused; its header checked as attaching
/// checks it) and returns its geometry, counters, audit, probe-length
/// statistics and its first `limit` entries (all when `limit` is absent).
/// Errors are "CODE|message" like the rest of the binding, and name `path`.
#[napi]
pub fn inspect_file(path: String, limit: Option<f64>) -> Result<Inspection> {
    let limit = match limit {
        None => None,
        Some(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as u64),
        Some(_) => {
            return Err(fail(
                "ERR_INVALID_ARG_VALUE",
                "limit must be a non-negative integer",
            ))
        }
    };
    // Nothing below should panic (every offset is checked against the
    // validated layout); if something does, it becomes an error, never an
    // unwind into Node.
    let gathered = catch_unwind(AssertUnwindSafe(|| gather(&path, limit))).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        fail(
            "ERR_ATOMIC_DICT_INTERNAL",
            format!("inspecting {path} failed: {what}"),
        )
    })??;
    let Gathered {
        snapshot,
        report: audit,
        probe,
        entries,
    } = gathered;
    let layout = *snapshot.table.layout();
    let g = layout.geometry;
    Ok(Inspection {
        geometry: InspectGeometry {
            kind: match g.kind {
                Kind::Dict => "dict",
                Kind::Set => "set",
            }
            .to_owned(),
            capacity: g.capacity as f64,
            k64: g.k64,
            k32: g.k32,
            value_bits: g.value_bits,
            signed: g.signed,
            block_count: layout.block_count as f64,
            rows_per_block: layout.rows_per_block as u32,
            row_bytes: layout.row_bytes as u32,
            rows: layout.rows() as f64,
            table_bytes: layout.total_bytes() as f64,
            file_bytes: snapshot.file_bytes as f64,
        },
        size: audit.entries as f64,
        reserved: audit.reserved as f64,
        verify: report(audit),
        probe: InspectProbeStats {
            histogram: probe.histogram.iter().map(|&n| n as f64).collect(),
            max: probe.max as f64,
            mean: probe.mean,
            count: probe.count as f64,
        },
        strings: snapshot.table.string_stats().map(StringAreaStats::from),
        entries: entries
            .into_iter()
            .map(|(key, strings, value)| InspectEntry {
                key: key.into_iter().map(BigInt::from).collect(),
                strings,
                value: value.map(BigInt::from),
            })
            .collect(),
    })
}
