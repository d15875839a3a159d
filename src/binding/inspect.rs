//! `inspectFile(path, limit)`: everything `npx atomic-dict inspect` prints
//! about a named table (its entries' 64-bit parts decoded as strings when
//! its string area holds them), read from a private copy of the file
//! (`shm::read_snapshot`): it needs only read permission and never changes
//! the file. The copy is a point-in-time snapshot of a table other processes
//! may be changing (see `read_snapshot` for what that means per word).
//!
//! `inspectPid(pid, limit)`: the same for every table a running process
//! holds open (memfds and named files), found through `/proc/<pid>/fd`:
//! each regular file there is opened read-only through its link and is
//! looked at only if it starts with the table magic number.
//!
//! Error messages carry no " (os error N)" suffix (`shm::plain_message`).

use std::collections::HashMap;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use napi::bindgen_prelude::BigInt;
use napi::{Error, Result};
use napi_derive::napi;

use crate::core::format::{VERSION_PLAIN, VERSION_STRINGS};
use crate::core::{Kind, ProbeStats, Report};
use crate::shm::{
    errno, has_table_magic, open_proc_fd, plain_message, read_snapshot, snapshot_of, Snapshot,
};

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

/// `io_error`'s code and message, the message without " (os error N)".
fn plain_io_error(e: io::Error) -> Error {
    let mut err = io_error(e);
    err.reason = plain_message(&err.reason);
    err
}

fn gather(snapshot: Snapshot, limit: Option<u64>) -> Gathered {
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
    Gathered {
        snapshot,
        report,
        probe,
        entries,
    }
}

/// Runs `f`, turning a panic into an error naming `what`: nothing here
/// should panic (every offset is checked against the validated layout), and
/// if something does, it must not unwind into Node.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        fail(
            "ERR_ATOMIC_DICT_INTERNAL",
            format!("inspecting {what} failed: {why}"),
        )
    })?
}

fn parse_limit(limit: Option<f64>) -> Result<Option<u64>> {
    match limit {
        None => Ok(None),
        Some(n) if n >= 0.0 && n.fract() == 0.0 => Ok(Some(n as u64)),
        Some(_) => Err(fail(
            "ERR_INVALID_ARG_VALUE",
            "limit must be a non-negative integer",
        )),
    }
}

/// Reads a copy of the table in the file at `path` (read-only; symbolic
/// links and non-regular files refused; its header checked as attaching
/// checks it) and returns its geometry, counters, audit, probe-length
/// statistics and its first `limit` entries (all when `limit` is absent).
/// Errors are "CODE|message" like the rest of the binding, and name `path`.
#[napi]
pub fn inspect_file(path: String, limit: Option<f64>) -> Result<Inspection> {
    let limit = parse_limit(limit)?;
    guarded(&path, || {
        let snapshot = read_snapshot(Path::new(&path)).map_err(plain_io_error)?;
        Ok(build(gather(snapshot, limit)))
    })
}

/// The JS object of what was gathered.
fn build(gathered: Gathered) -> Inspection {
    let Gathered {
        snapshot,
        report: audit,
        probe,
        entries,
    } = gathered;
    let layout = *snapshot.table.layout();
    let g = layout.geometry;
    Inspection {
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
    }
}

/// One table a process holds open (see [`inspect_pid`]).
#[napi(object, use_nullable = true)]
pub struct FdTable {
    /// The descriptor's number in that process.
    pub fd: u32,
    /// Its other descriptors for the same file (a table inherited by a
    /// child is open twice there, say), read once.
    pub also: Vec<u32>,
    /// What /proc says it is: "/memfd:atomic-dict (deleted)" for a table
    /// made by `new AtomicDict`, a file's path for a named table.
    pub target: String,
    /// The file's name now, when /proc gives a name it no longer has: a
    /// named table is made under a temporary name in its directory and
    /// then linked to its own, so the process that made it holds it under
    /// "/dir/.name.….tmp (deleted)"; the file in that directory with the
    /// same inode is its name. Null when /proc's name is current, for a
    /// memfd, and when no such file is found.
    pub name: Option<String>,
    /// `/proc/<pid>/fd/<fd>`, the path it was read through.
    pub path: String,
    /// The table, or null when `error` says why it could not be read.
    pub inspection: Option<Inspection>,
    /// Why a file that starts with the table magic number is not a table
    /// this build reads (hostile, corrupt or of a newer format), or could
    /// not be copied; null for a table.
    pub error: Option<String>,
}

/// What `inspectPid` returns.
#[napi(object)]
pub struct PidInspection {
    /// The process's tables, by descriptor number.
    pub tables: Vec<FdTable>,
    /// Descriptors the process had open when they were listed.
    pub descriptors: u32,
    /// Descriptors that could not be looked at, or regular files among
    /// them that could not be opened or read (so whether they hold tables
    /// is not known).
    pub unreadable: u32,
}

/// What the descriptor `fd` of a process is, as far as inspecting goes.
enum Found {
    /// Not a table (no magic number, not a regular file, or closed since).
    Nothing,
    /// A regular file that could not be opened or read.
    Unreadable,
    /// A descriptor /proc does not let this process look at (another
    /// user's process, or one the kernel protects from ptrace).
    Denied,
    /// A table (or a file posing as one), and its (device, inode).
    Table(Box<FdTable>, (u64, u64)),
    /// A file already looked at through another descriptor: its (device,
    /// inode).
    Again((u64, u64)),
}

/// Directory entries looked at by [`current_name`], at most.
const NAME_SEARCH_LIMIT: usize = 10_000;

/// The current name of a file /proc names `target` ("/dir/x (deleted)")
/// that is still linked somewhere (see `FdTable::name`): the entry of /dir
/// with inode `id`, if one of its first entries is.
fn current_name(target: &str, id: (u64, u64)) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let old = Path::new(target.strip_suffix(" (deleted)")?);
    if !old.is_absolute() {
        return None;
    }
    let dir = old.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .take(NAME_SEARCH_LIMIT)
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .find(|p| {
            std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && (m.dev(), m.ino()) == id)
        })
        .map(|p| p.display().to_string())
}

/// Looks at descriptor `fd` under `dir` (`/proc/<pid>/fd`); `seen` holds
/// the (device, inode) of every file already looked at, and gets this one.
fn look_at(
    dir: &Path,
    fd: u32,
    limit: Option<u64>,
    seen: &mut std::collections::HashSet<(u64, u64)>,
) -> Found {
    use std::os::unix::fs::MetadataExt;
    let link = dir.join(fd.to_string());
    let path = link.display().to_string();
    let target = match std::fs::read_link(&link) {
        Ok(t) => t.display().to_string(),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
            return Found::Denied
        }
        Err(_) => return Found::Nothing, // closed since it was listed
    };
    let file = match open_proc_fd(&link) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Found::Nothing,
        Err(e) if errno(&e) == Some(libc::ENOENT) => return Found::Nothing,
        Err(_) => return Found::Unreadable,
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(_) => return Found::Unreadable,
    };
    let id = (meta.dev(), meta.ino());
    if !seen.insert(id) {
        return Found::Again(id);
    }
    match has_table_magic(&file) {
        Ok(true) => {}
        Ok(false) => return Found::Nothing,
        Err(_) => return Found::Unreadable,
    }
    let (inspection, error) = match snapshot_of(&file, &path) {
        Ok(snapshot) => (Some(build(gather(snapshot, limit))), None),
        Err(e) => (None, Some(plain_message(&e.to_string()))),
    };
    let name = if meta.nlink() > 0 {
        current_name(&target, id)
    } else {
        None
    };
    Found::Table(
        Box::new(FdTable {
            fd,
            also: Vec::new(),
            name,
            target,
            path,
            inspection,
            error,
        }),
        id,
    )
}

/// Lists the atomic-dict tables process `pid` holds open and inspects each
/// as `inspectFile` does, from a private copy read through
/// `/proc/<pid>/fd/<n>` (read-only: the process and its tables are never
/// changed). Descriptors that are not regular files, or do not start with
/// the table magic number, are skipped. Errors: "ESRCH|..." for no such
/// process, "EACCES|..." when its descriptors may not be listed.
#[napi]
pub fn inspect_pid(pid: u32, limit: Option<f64>) -> Result<PidInspection> {
    let limit = parse_limit(limit)?;
    guarded(&format!("process {pid}"), || {
        let dir = Path::new("/proc").join(pid.to_string()).join("fd");
        let denied = || {
            fail(
                "EACCES",
                format!(
                    "process {pid}: cannot read its descriptors: permission denied \
                     (it needs ptrace rights over the process: be its user, or root)"
                ),
            )
        };
        let listing_failed = |e: io::Error| match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ESRCH) => {
                fail("ESRCH", format!("process {pid}: no such process"))
            }
            Some(libc::EACCES) | Some(libc::EPERM) => denied(),
            _ => fail(
                "ERR_ATOMIC_DICT_IO",
                plain_message(&format!("process {pid}: cannot list its descriptors: {e}")),
            ),
        };
        let mut fds = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(listing_failed)? {
            let entry = entry.map_err(listing_failed)?;
            if let Some(fd) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            {
                fds.push(fd);
            }
        }
        fds.sort_unstable();
        let mut tables: Vec<FdTable> = Vec::new();
        let mut ids = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut unreadable: u32 = 0;
        let mut refused: u32 = 0;
        for &fd in &fds {
            match look_at(&dir, fd, limit, &mut seen) {
                Found::Nothing => {}
                Found::Unreadable => unreadable += 1,
                Found::Denied => refused += 1,
                Found::Table(t, id) => {
                    tables.push(*t);
                    ids.push(id);
                }
                Found::Again(id) => {
                    // Only files with the magic number are in `ids`.
                    if let Some(i) = ids.iter().position(|&x| x == id) {
                        tables[i].also.push(fd);
                    }
                }
            }
        }
        // Listing is allowed where looking is not (root without ptrace
        // rights over the process): nothing seen at all is a refusal.
        if tables.is_empty() && refused > 0 && refused as usize == fds.len() {
            return Err(denied());
        }
        unreadable += refused;
        Ok(PidInspection {
            tables,
            descriptors: fds.len() as u32,
            unreadable,
        })
    })
}

/// The table format versions this build reads (and writes: the first for
/// tables without a string area, the second for tables with one).
#[napi]
pub fn format_versions() -> Vec<u32> {
    vec![VERSION_PLAIN, VERSION_STRINGS]
}
