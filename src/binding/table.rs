use std::io;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::{ArrayBuffer, BigInt, Object};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::core::format::{BLOCK_BYTES, HEADER_BYTES};
use crate::core::{Backing, FormatError, Geometry, Kind, Layout, Op, Table, Words};
use crate::futex::{self, WaitWord};
use crate::shm::Mapping;
use crate::wait::Keep;

use super::locate::{make_locator, LocateState};

/// An error on its way to JS. It crosses as one JSON object in the
/// message, `{"code", "message", "errno"?, "syscall"?, "path"?}`, which
/// lib/native.js turns into an Error with those properties. A system error
/// carries its errno (positive, as the kernel gives it) and no code:
/// lib/native.js names it from Node's own table, as fs errors are named.
pub(super) struct Failure {
    code: &'static str,
    message: String,
    errno: Option<i32>,
    syscall: Option<&'static str>,
    path: Option<String>,
}

impl Failure {
    pub(super) fn new(code: &'static str, msg: impl std::fmt::Display) -> Failure {
        Failure {
            code,
            message: msg.to_string(),
            errno: None,
            syscall: None,
            path: None,
        }
    }

    /// A system error that no `io::Error` carries (`errno` positive).
    pub(super) fn system(
        errno: i32,
        syscall: &'static str,
        msg: impl std::fmt::Display,
    ) -> Failure {
        Failure {
            errno: Some(errno),
            syscall: Some(syscall),
            ..Failure::new("", msg)
        }
    }

    /// Prefixes the message with `path`, for one that does not name it.
    pub(super) fn about(mut self, path: &Path) -> Failure {
        self.message = format!("{}: {}", path.display(), self.message);
        self.at(path)
    }

    /// Names `path` as the file at fault, unless a path is already named.
    pub(super) fn at(mut self, path: &Path) -> Failure {
        if self.path.is_none() {
            self.path = Some(path.display().to_string());
        }
        self
    }

    pub(super) fn into_error(self) -> Error {
        let mut json = format!(
            "{{\"code\":{},\"message\":{}",
            json_string(self.code),
            json_string(&self.message)
        );
        if let Some(errno) = self.errno {
            json.push_str(&format!(",\"errno\":{errno}"));
        }
        if let Some(syscall) = self.syscall {
            json.push_str(&format!(",\"syscall\":{}", json_string(syscall)));
        }
        if let Some(path) = &self.path {
            json.push_str(&format!(",\"path\":{}", json_string(path)));
        }
        json.push('}');
        Error::new(Status::GenericFailure, json)
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(super) fn fail(code: &'static str, msg: impl std::fmt::Display) -> Error {
    Failure::new(code, msg).into_error()
}

pub(super) fn invalid(msg: impl std::fmt::Display) -> Error {
    fail("ERR_INVALID_ARG_VALUE", msg)
}

fn format_failure(e: FormatError) -> Failure {
    match e {
        FormatError::Invalid(..) => Failure::new("ERR_INVALID_ARG_VALUE", e),
        FormatError::NotATable(_) => Failure::new("ERR_ATOMIC_DICT_NOT_A_TABLE", e),
    }
}

fn format_error(e: FormatError) -> Error {
    format_failure(e).into_error()
}

/// An I/O error as a [`Failure`]: a system error keeps its errno, system
/// call and path; a file refused as untrusted or as no table gets our code.
pub(super) fn io_failure(e: io::Error) -> Failure {
    if e.get_ref()
        .is_some_and(|inner| inner.is::<crate::shm::Untrusted>())
    {
        return Failure::new("ERR_ATOMIC_DICT_INSECURE", e);
    }
    let context = crate::shm::context(&e);
    if let Some(errno) = crate::shm::errno(&e) {
        return Failure {
            code: "",
            message: context.map_or_else(|| crate::shm::describe_errno(errno), |c| c.to_string()),
            errno: Some(errno),
            syscall: context.and_then(|c| c.syscall),
            path: context.and_then(|c| c.path.as_ref().map(|p| p.display().to_string())),
        };
    }
    let code = match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => "ERR_ATOMIC_DICT_NOT_A_TABLE",
        _ => "ERR_ATOMIC_DICT_IO",
    };
    Failure::new(code, e)
}

pub(super) fn io_error(e: io::Error) -> Error {
    io_failure(e).into_error()
}

struct Inner {
    table: Table,
    mapping: Arc<Mapping>,
}

/// What keeps the mapping alive for the JS buffer: the buffer's finalizer
/// holds one reference, and `detach` empties it once the buffer can no
/// longer reach the memory, so `close()` unmaps at once instead of at GC.
type Hold = Arc<Mutex<Option<Arc<dyn Backing>>>>;

/// What `verify()` found (see core::verify::Report); counts as numbers.
#[napi(object)]
pub struct VerifyReport {
    pub ok: bool,
    pub entries: f64,
    pub reserved: f64,
    pub complete_rows: f64,
    pub partial_rows: f64,
    pub duplicate_keys: f64,
    pub unreachable_keys: f64,
    /// Entries published in the string index (0 without a string area).
    pub strings: f64,
    /// Published string entries a lookup would not decode (see core::verify).
    pub bad_strings: f64,
    pub problems: Vec<String>,
}

pub(super) fn report(r: crate::core::Report) -> VerifyReport {
    VerifyReport {
        ok: r.ok(),
        entries: r.entries as f64,
        reserved: r.reserved as f64,
        complete_rows: r.complete_rows as f64,
        partial_rows: r.partial_rows as f64,
        duplicate_keys: r.duplicate_keys as f64,
        unreachable_keys: r.unreachable_keys as f64,
        strings: r.strings as f64,
        bad_strings: r.bad_strings as f64,
        problems: r.problems,
    }
}

/// A table's layout as Rust validated it (see `NativeTable::layout`).
#[napi(object)]
pub struct TableLayout {
    pub is_set: bool,
    pub signed: bool,
    pub k64: u32,
    pub k32: u32,
    pub value_bits: u32,
    pub capacity: f64,
    pub row_bytes: u32,
    pub rows_per_block: u32,
    pub block_count: f64,
    pub rows: f64,
    pub value_offset: u32,
    pub header_bytes: u32,
    pub block_bytes: u32,
    pub total_bytes: f64,
    /// The string arena's size in bytes (0: no string area).
    pub string_bytes: f64,
    /// Entries of the string index (0 without an area).
    pub string_slots: f64,
    /// Byte offset of the string index (the blocks' end).
    pub string_index_offset: f64,
    /// Byte offset of the string arena.
    pub arena_offset: f64,
}

/// The string area's size and counters (see core::strings::StringStats).
#[napi(object)]
pub struct StringAreaStats {
    pub bytes: f64,
    pub slots: f64,
    pub used: f64,
    pub count: f64,
    pub refused: f64,
}

impl From<crate::core::StringStats> for StringAreaStats {
    fn from(s: crate::core::StringStats) -> StringAreaStats {
        StringAreaStats {
            bytes: s.bytes as f64,
            slots: s.slots as f64,
            used: s.used as f64,
            count: s.count as f64,
            refused: s.refused as f64,
        }
    }
}

/// A table mapped into this process.
#[napi]
pub struct NativeTable {
    inner: Option<Inner>,
    created: bool,
    hold: Option<Hold>,
    locator: Option<Rc<LocateState>>,
}

fn geometry(
    is_set: bool,
    capacity: i64,
    k64: u32,
    k32: u32,
    value_bits: u32,
    signed: bool,
    string_bytes: i64,
) -> Result<Geometry> {
    let capacity = u64::try_from(capacity).map_err(|_| invalid("capacity must be positive"))?;
    let string_bytes = u64::try_from(string_bytes)
        .map_err(|_| invalid("strings must be 0 or a multiple of 8 from 64 to 1073741824"))?;
    Ok(Geometry {
        kind: if is_set { Kind::Set } else { Kind::Dict },
        k64,
        k32,
        value_bits,
        signed,
        capacity,
        string_bytes,
    })
}

impl NativeTable {
    fn new(table: Table, mapping: Arc<Mapping>, created: bool) -> NativeTable {
        NativeTable {
            inner: Some(Inner { table, mapping }),
            created,
            hold: None,
            locator: None,
        }
    }
}

fn attach(mapping: Arc<Mapping>, created: bool) -> std::result::Result<NativeTable, Failure> {
    let table = Table::attach(Words::new(mapping.clone())).map_err(format_failure)?;
    Ok(NativeTable::new(table, mapping, created))
}

/// Creates a table in a new sealed memfd, with a string area of
/// `string_bytes` bytes (0: none). The JS layer checks the arguments first;
/// they are checked again here.
#[napi]
pub fn create_table(
    is_set: bool,
    capacity: i64,
    k64: u32,
    k32: u32,
    value_bits: u32,
    signed: bool,
    string_bytes: i64,
) -> Result<NativeTable> {
    let geometry = geometry(is_set, capacity, k64, k32, value_bits, signed, string_bytes)?;
    let layout = Layout::new(geometry).map_err(format_error)?;
    let mapping = Arc::new(Mapping::create_memfd(layout.total_bytes()).map_err(io_error)?);
    let table = Table::create(Words::new(mapping.clone()), geometry).map_err(format_error)?;
    Ok(NativeTable::new(table, mapping, true))
}

/// Attaches to the table behind a descriptor this process holds (which is
/// duplicated, never closed). Checks the file, its seals and its header.
#[napi]
pub fn attach_fd(fd: i32) -> Result<NativeTable> {
    if fd < 0 {
        return Err(invalid("fd must be a descriptor"));
    }
    attach(Arc::new(Mapping::from_fd(fd).map_err(io_error)?), false).map_err(Failure::into_error)
}

/// Opens the table in the file at `path`, creating it when absent and
/// `create` (then `capacity` must be non-zero). Exactly one of several
/// processes opening a new path at once creates it; the others attach to
/// the complete table it publishes (with a string area of `string_bytes`
/// bytes, 0 for none; an existing file keeps its own). Symlinks are refused.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn open_table(
    path: String,
    create: bool,
    mode: u32,
    is_set: bool,
    capacity: i64,
    k64: u32,
    k32: u32,
    value_bits: u32,
    signed: bool,
    allow_insecure: bool,
    string_bytes: i64,
) -> Result<NativeTable> {
    let path = Path::new(&path);
    let at = |f: Failure| f.at(path).into_error();
    // Two rounds: open; if absent, create and link; if another process
    // linked first, open theirs.
    for _ in 0..2 {
        match Mapping::open_file(path, allow_insecure) {
            Ok(mapping) => return attach(Arc::new(mapping), false).map_err(|f| at(f.about(path))),
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {}
            Err(e) => return Err(at(io_failure(e))),
        }
        if capacity == 0 {
            return Err(at(Failure::system(
                libc::ENOENT,
                "open",
                format!(
                    "{} does not exist, and creating it needs options.capacity",
                    path.display()
                ),
            )));
        }
        let geometry = geometry(is_set, capacity, k64, k32, value_bits, signed, string_bytes)?;
        let layout = Layout::new(geometry).map_err(format_error)?;
        let draft = Mapping::create_draft(path, layout.total_bytes(), mode)
            .map_err(|e| at(io_failure(e)))?;
        Table::create(Words::new(draft.mapping().clone()), geometry).map_err(format_error)?;
        if let Some(mapping) = draft.publish(path).map_err(|e| at(io_failure(e)))? {
            return attach(mapping, true).map_err(|f| at(f.about(path)));
        }
    }
    Err(at(Failure::new(
        "ERR_ATOMIC_DICT_IO",
        format!("{} keeps changing while it is opened", path.display()),
    )))
}

pub(super) fn key_parts(key: Vec<BigInt>) -> Result<Vec<u64>> {
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
    fn inner(&self) -> Result<&Inner> {
        self.inner
            .as_ref()
            .ok_or_else(|| fail("ERR_ATOMIC_DICT_CLOSED", "the table is closed"))
    }

    /// The ArrayBuffer over the table's memory (not a copy): the table's
    /// exact length (a file may be longer). The mapping stays alive while the
    /// buffer can reach it, whatever happens to this object. One per object,
    /// so no two buffers of an isolate ever share a data pointer.
    #[napi]
    pub fn buffer<'env>(&mut self, env: &'env Env) -> Result<ArrayBuffer<'env>> {
        if self.hold.is_some() {
            return Err(invalid("buffer() is called once per table object"));
        }
        let inner = self.inner()?;
        let owner: Arc<dyn Backing> = inner.mapping.clone();
        let (ptr, mapped) = owner.bytes();
        let len = inner.table.layout().total_bytes();
        debug_assert!(len <= mapped, "Table::attach checked the length");
        let hold: Hold = Arc::new(Mutex::new(Some(owner)));
        // SAFETY: the Backing in `hold` keeps the mapping valid for `mapped`
        // >= `len` bytes at `ptr`. The finalizer keeps `hold` until V8 frees
        // the buffer, and `detach` empties it only after the buffer is
        // detached (no view can reach the memory any more). JS reaches the
        // memory only through Atomics on typed arrays.
        let buffer = unsafe {
            ArrayBuffer::from_external(env, ptr, len, hold.clone(), |_, hold| drop(hold))
        }?;
        self.hold = Some(hold);
        Ok(buffer)
    }

    /// Detaches the buffer made by `buffer()`: views over it become empty, so
    /// any later access throws, and the buffer's hold on the mapping goes.
    #[napi]
    pub fn detach(&self, buffer: ArrayBuffer) -> Result<()> {
        let Some(hold) = &self.hold else {
            return Err(invalid("this table object made no buffer"));
        };
        let ours = hold
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|owner| owner.bytes().0 as *const u8));
        if ours != Some(buffer.as_ptr()) {
            return Err(invalid("not the buffer of this table object"));
        }
        buffer.detach()?;
        if let Ok(mut slot) = hold.lock() {
            slot.take();
        }
        Ok(())
    }

    /// Releases this object's hold on the mapping (buffers keep theirs until
    /// detached or collected). Later calls throw ERR_ATOMIC_DICT_CLOSED.
    #[napi]
    pub fn close(&mut self) {
        self.inner = None;
        if let Some(state) = self.locator.take() {
            state.close();
        }
    }

    /// The raw N-API functions `{ locate, find, insert, locateMany, keyRows,
    /// intern, decode }` and the find/insert/decode functions' `words` (an
    /// ArrayBuffer), through which JS finds, inserts and lists this table's
    /// keys and interns and decodes its strings (binding/locate.rs).
    #[napi]
    pub fn locator<'env>(&mut self, env: &'env Env) -> Result<Object<'env>> {
        let table = self.inner()?.table.clone();
        let state = match &self.locator {
            Some(state) => state.clone(),
            None => LocateState::new(table),
        };
        let functions = make_locator(env, &state)?;
        self.locator = Some(state);
        Ok(functions)
    }

    /// The layout Rust validated when it made or attached the table, which
    /// the JS view is built from (never from a second read of the header,
    /// which a peer could have rewritten since).
    #[napi]
    pub fn layout(&self) -> Result<TableLayout> {
        let layout = *self.inner()?.table.layout();
        let g = layout.geometry;
        Ok(TableLayout {
            is_set: g.kind == Kind::Set,
            signed: g.signed,
            k64: g.k64,
            k32: g.k32,
            value_bits: g.value_bits,
            capacity: g.capacity as f64,
            row_bytes: layout.row_bytes as u32,
            rows_per_block: layout.rows_per_block as u32,
            block_count: layout.block_count as f64,
            rows: layout.rows() as f64,
            value_offset: layout.value_offset as u32,
            header_bytes: HEADER_BYTES as u32,
            block_bytes: BLOCK_BYTES as u32,
            total_bytes: layout.total_bytes() as f64,
            string_bytes: g.string_bytes as f64,
            string_slots: layout.string_slots as f64,
            string_index_offset: layout.string_index_offset() as f64,
            arena_offset: layout.arena_offset() as f64,
        })
    }

    /// The string area's size and counters, or null without an area.
    #[napi]
    pub fn string_stats(&self) -> Result<Option<StringAreaStats>> {
        Ok(self
            .inner()?
            .table
            .string_stats()
            .map(StringAreaStats::from))
    }

    /// Audits every row against the table's invariants (see core::verify).
    #[napi]
    pub fn verify(&self) -> Result<VerifyReport> {
        Ok(report(self.inner()?.table.verify()))
    }

    /// Recounts the header's counters from the rows (quiescent tables only);
    /// returns the audit from before.
    #[napi]
    pub fn repair_counts(&self) -> Result<VerifyReport> {
        Ok(report(self.inner()?.table.repair_counts()))
    }

    /// Whether this object created the table (false when it attached to one).
    #[napi(getter)]
    pub fn created(&self) -> bool {
        self.created
    }

    /// The descriptor of the table's file in this process (for sharing).
    #[napi]
    pub fn fd(&self) -> Result<i32> {
        Ok(self.inner()?.mapping.fd())
    }

    /// Reads a u64 header word with Rust's atomics: lets the JS layer check
    /// that its view and the native side see the same memory.
    #[napi]
    pub fn header_word(&self, offset: u32) -> Result<BigInt> {
        let off = offset as usize;
        if !off.is_multiple_of(8) || off + 8 > HEADER_BYTES {
            return Err(invalid("offset must be a header word"));
        }
        let words = self.inner()?.table.words();
        Ok(BigInt::from(
            words.u64(off).load(std::sync::atomic::Ordering::SeqCst),
        ))
    }

    /// The 32-bit word at byte `offset` of the table (a value's word, or
    /// the low word of a 64-bit value), and what keeps its memory mapped.
    pub(super) fn word(&self, offset: f64) -> Result<(&AtomicU32, Keep)> {
        let inner = self.inner()?;
        let len = inner.table.layout().total_bytes();
        let in_table = offset >= 0.0 && offset.fract() == 0.0 && offset + 4.0 <= len as f64;
        if !(in_table && (offset as usize).is_multiple_of(4)) {
            return Err(invalid(format!(
                "offset {offset} is not a word of the table"
            )));
        }
        let keep: Keep = inner.mapping.clone();
        Ok((inner.table.words().u32(offset as usize), keep))
    }

    /// Blocks this thread while the word at byte `offset` holds `expected`
    /// and, when `high_offset` >= 0, the word there holds `high_expected`
    /// (the high half of a 64-bit value), until `notify` on the first (from
    /// any process) or `timeout_ms` (negative: none). Returns "ok" or
    /// "timed-out" (JS compared the value first: a word found changed as
    /// the wait is armed is "ok"); throws ERR_ATOMIC_DICT_INTERRUPTED when
    /// the thread is being stopped. A worker thread (`stoppable`) sleeps in
    /// slices to notice terminate(); the main thread sleeps in one piece
    /// (only the process's exit stops it). See binding/block.rs.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn wait(
        &self,
        env: Env,
        offset: f64,
        expected: u32,
        high_offset: f64,
        high_expected: u32,
        timeout_ms: f64,
        stoppable: bool,
    ) -> Result<&'static str> {
        let (word, _keep) = self.word(offset)?;
        let mut value = vec![WaitWord { word, expected }];
        if high_offset >= 0.0 {
            let (high, _) = self.word(high_offset)?;
            value.push(WaitWord {
                word: high,
                expected: high_expected,
            });
        }
        let timeout = if timeout_ms < 0.0 {
            None
        } else {
            Duration::try_from_secs_f64(timeout_ms / 1000.0).ok()
        };
        super::block::wait(&env, &value, timeout, stoppable)
    }

    /// Wakes up to `count` waiters on the word at byte `offset`, in every
    /// process; returns how many it woke.
    #[napi]
    pub fn notify(&self, offset: f64, count: u32) -> Result<u32> {
        let (word, _keep) = self.word(offset)?;
        futex::wake(word, count).map_err(|e| io_error(crate::shm::from_syscall(e, "futex", None)))
    }

    /// The row holding `key`, or -1 (never inserts). For cross-checks in tests.
    #[napi]
    pub fn find(&self, key: Vec<BigInt>) -> Result<i64> {
        let table = &self.inner()?.table;
        let key = key_parts(key)?;
        table.check_key(&key).map_err(invalid)?;
        Ok(table.find(&key).map_or(-1, |row| row as i64))
    }

    /// The row holding `key`, inserting it when absent. For cross-checks in tests.
    #[napi]
    pub fn insert(&self, key: Vec<BigInt>) -> Result<i64> {
        let table = &self.inner()?.table;
        let key = key_parts(key)?;
        table.check_key(&key).map_err(invalid)?;
        let entry = table
            .find_or_insert(&key)
            .map_err(|e| fail("ERR_ATOMIC_DICT_FULL", e))?;
        Ok(entry.row as i64)
    }

    fn row(&self, row: i64) -> Result<(&Table, u64)> {
        let table = &self.inner()?.table;
        let layout = table.layout();
        match u64::try_from(row) {
            Ok(r) if r < layout.rows() && layout.geometry.value_bits != 0 => Ok((table, r)),
            _ => Err(invalid("row out of range")),
        }
    }

    /// Applies a value operation in Rust. For cross-checks in tests.
    #[napi]
    pub fn fetch(&self, row: i64, op: String, operand: BigInt) -> Result<BigInt> {
        let (table, row) = self.row(row)?;
        let (_, v, _) = operand.get_u64();
        Ok(BigInt::from(table.fetch(row, op_from(&op)?, v)))
    }

    /// Loads a value in Rust. For cross-checks in tests.
    #[napi]
    pub fn load(&self, row: i64) -> Result<BigInt> {
        let (table, row) = self.row(row)?;
        Ok(BigInt::from(table.load(row)))
    }
}
