//! The raw N-API functions through which JS finds and inserts keys: every
//! key shape, every table, one call into the Rust core (the one
//! implementation of probing). Raw functions (~15 ns a call) rather than
//! napi-rs methods (~200-600 ns with arguments, ../shared/FINDINGS.md).
//!
//! `locator()` makes them per table object, each carrying the table as its
//! data (an `Rc<LocateState>`, freed by the function's finalizer):
//!
//! - `locate(string, insert) -> number`, for tables whose key is one 64-bit
//!   part: a string key, hashed here to its key part (docs/FORMAT.md). When
//!   `insert` and the table has a string area, the string is interned first
//!   (core::strings; a refusal is counted there, and the key is still found
//!   or inserted by its hash). The result r >= 0 is `slot * 2 + inserted`:
//!   a key's slot is the index of its value in the JS view of the values (a
//!   dict: the value's byte offset over its width) or its row (a set), so
//!   JS computes no offsets; -1 absent, -2 full, -3 closed, -4 a bad
//!   argument, -5 an internal error.
//! - `locateMany(words, n, insert) -> number`, for every shape: `words` is a
//!   BigUint64Array holding `n` keys of `parts` words each (JS writes them,
//!   as bigints or as pairs of 32-bit halves); the results replace the first
//!   `n` words, each an f64 (read through a Float64Array over the same
//!   memory) with `locate`'s meaning. Returns `n`, or the codes above. All
//!   keys are checked before any is inserted; on -2 (full), the keys before
//!   the one that did not fit were found or inserted and their results are
//!   written, the others' read -1; -6: too many keys for memory (nothing
//!   changed). The memory misses of many keys overlap (core::bulk).
//! - `find()` / `insert()`: `locate` of the one-part key in `words[0]` of
//!   the functions' own words (`words`, an ArrayBuffer of 4 u64s that Rust
//!   owns), the result (as above) written into `words[1]` as an f64. No
//!   arguments and no return value: one N-API call (`napi_get_cb_info`)
//!   instead of five, for the first use of a bigint or number key.
//! - `keyRows(from, words) -> number`: scans rows from `from` for complete
//!   keys, writing into `words` (a BigUint64Array) `[count, next]` as f64s,
//!   then for each key found its slot (an f64) and its parts (u64s), as many
//!   as fit; `next` is where to resume (the row count at the end). Returns
//!   0, or -3 / -4 / -5. The engine of live iteration.
//! - `intern(string) -> number`: interns a string in the table's string
//!   area. r >= 0 is the index of the string's user word in a u64 view of
//!   the table's buffer (its byte offset / 8); -3 closed, -4 not a string,
//!   a string with a lone surrogate, or one longer than 2^20 UTF-8 bytes,
//!   -5 an internal error, -7 refused (no room: counted in
//!   `strings_refused`), -8 the table has no string area.
//! - `decode() -> string | undefined`: the string whose key part is the u64
//!   in `words[0]`, if the table's string area holds it; `words[1]` gets,
//!   as an f64, the index of its user word (as `intern` answers), or -1
//!   when it does not, -3 closed, -8 no area. Every record read is
//!   validated (core::strings): the area is untrusted shared memory.
//!
//! JS has checked every argument before the call; they are checked again
//! here, and a bad one changes nothing.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{sys, Env, Error, Result, Status};

use crate::core::{string_key, Entry, StringError, Table, TableError};

use super::strings::{read_string, Scratch};

/// What the functions reach: the table until `close()` empties it, and
/// reusable buffers. Only ever used on the JS thread that made it (Rc,
/// RefCell); a function cannot re-enter itself (it calls no JS).
pub struct LocateState {
    table: RefCell<Option<Table>>,
    scratch: RefCell<Scratch>,
    keys: RefCell<Vec<u64>>,
    rows: RefCell<Vec<u64>>,
    entries: RefCell<Vec<Entry>>,
}

impl LocateState {
    pub fn new(table: Table) -> Rc<LocateState> {
        Rc::new(LocateState {
            table: RefCell::new(Some(table)),
            scratch: RefCell::new(Scratch::default()),
            keys: RefCell::new(Vec::new()),
            rows: RefCell::new(Vec::new()),
            entries: RefCell::new(Vec::new()),
        })
    }

    pub fn close(&self) {
        self.table.borrow_mut().take();
    }
}

const ABSENT: f64 = -1.0;
const FULL: f64 = -2.0;
const CLOSED: f64 = -3.0;
const BAD_ARGUMENT: f64 = -4.0;
const INTERNAL: f64 = -5.0;
/// A bulk call whose buffers could not be allocated.
const NO_MEMORY: f64 = -6.0;
/// An intern that found no room in the string area.
const REFUSED: f64 = -7.0;
/// The table has no string area.
const NO_STRINGS: f64 = -8.0;

/// The most words a bulk call's buffers keep for the next call.
const KEEP_WORDS: usize = 1 << 16;

/// The largest safe integer: number keys above it are refused.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// The slot JS uses for `row`: the index of its value in the values view
/// (a dict), or the row itself (a set).
fn slot(table: &Table, row: u64) -> u64 {
    let layout = table.layout();
    match layout.geometry.value_bits {
        0 => row,
        bits => ((layout.row_offset(row) + layout.value_offset) / (bits as usize / 8)) as u64,
    }
}

fn found(table: &Table, entry: Entry) -> f64 {
    (slot(table, entry.row) * 2 + u64::from(entry.inserted)) as f64
}

fn locate_one(table: &Table, key: u64, insert: bool) -> f64 {
    if table.check_key(&[key]).is_err() {
        return BAD_ARGUMENT;
    }
    if insert {
        match table.find_or_insert(&[key]) {
            Ok(entry) => found(table, entry),
            Err(TableError::Full { .. }) => FULL,
        }
    } else {
        table
            .find(&[key])
            .map_or(ABSENT, |row| (slot(table, row) * 2) as f64)
    }
}

/// What each function carries: the table's state, and words of its own
/// that JS sees through an external ArrayBuffer (a key in, a result out).
pub struct Bound {
    state: Rc<LocateState>,
    words: Box<[AtomicU64; WORDS]>,
}

/// Words of a `Bound`: the key, the result, two spare.
const WORDS: usize = 4;

/// The arguments of a raw call and the state it carries.
struct Call<'a> {
    env: sys::napi_env,
    argv: [sys::napi_value; 3],
    argc: usize,
    state: &'a LocateState,
    words: &'a [AtomicU64; WORDS],
}

/// # Safety
/// `env` and `info` must be those N-API passed to the running callback, whose
/// data is a `Bound` made by `make_locator` (alive while the function can be
/// called: the function's finalizer holds a reference).
unsafe fn call_info<'a>(env: sys::napi_env, info: sys::napi_callback_info) -> Option<Call<'a>> {
    let mut argc = 3usize;
    let mut argv = [ptr::null_mut(); 3];
    let mut data = ptr::null_mut();
    // SAFETY: env and info come from N-API for this call; argv has room
    // for argc values.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        )
    };
    if status != sys::Status::napi_ok || data.is_null() {
        return None;
    }
    // SAFETY: see the function's contract: `data` is a leaked Rc<Bound>,
    // freed only by the finalizer, which cannot run while the function is
    // being called.
    let bound = unsafe { &*(data as *const Bound) };
    Some(Call {
        env,
        argv,
        argc,
        state: &bound.state,
        words: &bound.words,
    })
}

impl Call<'_> {
    fn bool_arg(&self, i: usize) -> Option<bool> {
        let mut out = false;
        // SAFETY: argv[i] is a value of this call (or null past argc, which
        // N-API rejects with a status).
        let ok = unsafe { sys::napi_get_value_bool(self.env, self.argv[i], &mut out) };
        (i < self.argc && ok == sys::Status::napi_ok).then_some(out)
    }

    fn number_arg(&self, i: usize) -> Option<f64> {
        let mut out = 0f64;
        // SAFETY: as in bool_arg.
        let ok = unsafe { sys::napi_get_value_double(self.env, self.argv[i], &mut out) };
        (i < self.argc && ok == sys::Status::napi_ok).then_some(out)
    }

    /// A count or index argument: an integer in [0, 2^53).
    fn index_arg(&self, i: usize) -> Option<u64> {
        let n = self.number_arg(i)?;
        ((0.0..=MAX_SAFE).contains(&n) && n.fract() == 0.0).then_some(n as u64)
    }

    /// The words of a BigUint64Array argument over an ordinary ArrayBuffer.
    fn words_arg(&self, i: usize) -> Option<&[AtomicU64]> {
        if i >= self.argc {
            return None;
        }
        let mut kind = sys::TypedarrayType::int8_array;
        let mut len = 0usize;
        let mut data = ptr::null_mut();
        let mut buffer = ptr::null_mut();
        let mut offset = 0usize;
        // SAFETY: argv[i] is a value of this call; N-API checks that it is
        // a typed array.
        let status = unsafe {
            sys::napi_get_typedarray_info(
                self.env,
                self.argv[i],
                &mut kind,
                &mut len,
                &mut data,
                &mut buffer,
                &mut offset,
            )
        };
        let mut plain = false;
        // SAFETY: `buffer` is the typed array's buffer, a value of this call.
        // A SharedArrayBuffer is not an ArrayBuffer here, and is refused:
        // only this thread may touch the words while we hold them.
        let is_buffer = status == sys::Status::napi_ok
            && unsafe { sys::napi_is_arraybuffer(self.env, buffer, &mut plain) }
                == sys::Status::napi_ok
            && plain;
        if !is_buffer
            || kind != sys::TypedarrayType::biguint64_array
            || len == 0
            || data.is_null()
            || !(data as usize).is_multiple_of(std::mem::align_of::<AtomicU64>())
        {
            return None;
        }
        // SAFETY: N-API gives the address of the array's first element and
        // its length: `len` u64s, valid until the array is detached or
        // collected, neither of which can happen during this call (no JS
        // runs); the address is aligned (checked), and AtomicU64 has u64's
        // layout. Atomic accesses make the slice sound to share with the JS
        // views of the same memory, which do not run meanwhile.
        Some(unsafe { std::slice::from_raw_parts(data as *const AtomicU64, len) })
    }
}

/// `locate(string, insert)`.
fn locate(call: &Call) -> f64 {
    let state = call.state;
    let table = state.table.borrow();
    let Some(table) = table.as_ref() else {
        return CLOSED;
    };
    let Some(insert) = call.bool_arg(1) else {
        return BAD_ARGUMENT;
    };
    // A string key, which only a 64-bit part can be (a string's part may
    // happen to fit in 32 bits: check the table, not the part). Bigint and
    // number keys go through `find` / `insert`.
    let g = table.layout().geometry;
    if call.argc < 1 || g.k64 != 1 || g.k32 != 0 {
        return BAD_ARGUMENT;
    }
    let Ok(mut scratch) = state.scratch.try_borrow_mut() else {
        return INTERNAL;
    };
    // SAFETY: env and argv[0] belong to this call; N-API checks the type.
    let key = match unsafe { read_string(call.env, call.argv[0], &mut scratch) } {
        // Interned before the key is inserted, so whoever sees the key can
        // decode it (core::strings, "Memory orderings"); a refusal (counted)
        // or a string too long to intern leaves the key to its hash.
        Ok(s) if insert && table.has_strings() => match table.intern(s) {
            Ok(interned) => Some(interned.part),
            Err(_) => Some(string_key(s)),
        },
        Ok(s) => Some(string_key(s)),
        Err(_) => None,
    };
    // A huge string's buffers are not kept for good.
    scratch.trim();
    match key {
        Some(key) => locate_one(table, key, insert),
        None => BAD_ARGUMENT,
    }
}

/// `intern(string)`.
fn intern(call: &Call) -> f64 {
    let state = call.state;
    let table = state.table.borrow();
    let Some(table) = table.as_ref() else {
        return CLOSED;
    };
    if call.argc < 1 {
        return BAD_ARGUMENT;
    }
    let Ok(mut scratch) = state.scratch.try_borrow_mut() else {
        return INTERNAL;
    };
    // SAFETY: env and argv[0] belong to this call; N-API checks the type.
    let r = match unsafe { read_string(call.env, call.argv[0], &mut scratch) } {
        Ok(s) => match table.intern(s) {
            Ok(interned) => (interned.user_word_offset() / 8) as f64,
            Err(StringError::NoArea) => NO_STRINGS,
            Err(StringError::TooLong) => BAD_ARGUMENT,
            Err(StringError::Refused) => REFUSED,
        },
        Err(_) => BAD_ARGUMENT,
    };
    scratch.trim();
    r
}

/// `decode()`: the part in words[0]; the user word's index (or a code) into
/// words[1].
fn decode(call: &Call) -> Option<String> {
    let table = call.state.table.borrow();
    let (answer, code) = match table.as_ref() {
        None => (None, CLOSED),
        Some(table) if !table.has_strings() => (None, NO_STRINGS),
        Some(table) => match table.decode(call.words[0].load(Ordering::Relaxed)) {
            Some((string, word)) => (Some(string), (word / 8) as f64),
            None => (None, ABSENT),
        },
    };
    call.words[1].store(code.to_bits(), Ordering::Relaxed);
    answer
}

/// `find()` and `insert()`: the key in words[0], the result into words[1].
fn locate_word(call: &Call, insert: bool) -> f64 {
    let table = call.state.table.borrow();
    let r = match table.as_ref() {
        Some(table) => locate_one(table, call.words[0].load(Ordering::Relaxed), insert),
        None => CLOSED,
    };
    call.words[1].store(r.to_bits(), Ordering::Relaxed);
    r
}

fn find_word(call: &Call) -> f64 {
    locate_word(call, false)
}

fn insert_word(call: &Call) -> f64 {
    locate_word(call, true)
}

/// `locateMany(words, n, insert)`.
fn locate_many(call: &Call) -> f64 {
    let state = call.state;
    let table = state.table.borrow();
    let Some(table) = table.as_ref() else {
        return CLOSED;
    };
    let (Some(words), Some(n), Some(insert)) =
        (call.words_arg(0), call.index_arg(1), call.bool_arg(2))
    else {
        return BAD_ARGUMENT;
    };
    let parts = table.layout().parts();
    let n = n as usize;
    if n == 0 || n.checked_mul(parts).is_none_or(|w| w > words.len()) {
        return BAD_ARGUMENT;
    }
    let (Ok(mut keys), Ok(mut rows), Ok(mut entries)) = (
        state.keys.try_borrow_mut(),
        state.rows.try_borrow_mut(),
        state.entries.try_borrow_mut(),
    ) else {
        return INTERNAL;
    };
    keys.clear();
    rows.clear();
    entries.clear();
    // Room for every buffer first: a call too big for memory is refused
    // (an error in JS), never an abort of the process.
    let room = if insert {
        entries.try_reserve(n).is_ok()
    } else {
        rows.try_reserve(n).is_ok()
    };
    if !room || keys.try_reserve(n * parts).is_err() {
        trim(&mut keys, &mut rows, &mut entries);
        return NO_MEMORY;
    }
    keys.extend(words[..n * parts].iter().map(|w| w.load(Ordering::Relaxed)));
    // Every key is checked before any is inserted.
    if keys
        .chunks_exact(parts)
        .any(|key| table.check_key(key).is_err())
    {
        trim(&mut keys, &mut rows, &mut entries);
        return BAD_ARGUMENT;
    }
    if insert {
        entries.resize(
            n,
            Entry {
                row: 0,
                inserted: false,
            },
        );
        // On a full table, the keys before the one that did not fit were
        // found or inserted: their results are written (JS reports which
        // this call inserted), the others read as absent.
        let (done, result) = match table.find_or_insert_many(&keys, parts, &mut entries) {
            Ok(()) => (n, n as f64),
            Err((index, _)) => (index, FULL),
        };
        for (i, (word, &entry)) in words.iter().zip(entries.iter()).enumerate() {
            let r = if i < done {
                found(table, entry)
            } else {
                ABSENT
            };
            word.store(r.to_bits(), Ordering::Relaxed);
        }
        trim(&mut keys, &mut rows, &mut entries);
        return result;
    } else {
        rows.resize(n, 0);
        table.find_many(&keys, parts, &mut rows);
        for (word, &row) in words.iter().zip(rows.iter()) {
            let r = if row == u64::MAX {
                ABSENT
            } else {
                (slot(table, row) * 2) as f64
            };
            word.store(r.to_bits(), Ordering::Relaxed);
        }
    }
    trim(&mut keys, &mut rows, &mut entries);
    n as f64
}

/// Buffers sized for a huge call are not kept for good.
fn trim(keys: &mut Vec<u64>, rows: &mut Vec<u64>, entries: &mut Vec<Entry>) {
    for buffer in [keys, rows] {
        buffer.clear();
        buffer.shrink_to(KEEP_WORDS);
    }
    entries.clear();
    entries.shrink_to(KEEP_WORDS);
}

/// `keyRows(from, words)`.
fn key_rows(call: &Call) -> f64 {
    let state = call.state;
    let table = state.table.borrow();
    let Some(table) = table.as_ref() else {
        return CLOSED;
    };
    let (Some(from), Some(words)) = (call.index_arg(0), call.words_arg(1)) else {
        return BAD_ARGUMENT;
    };
    let parts = table.layout().parts();
    let room = words.len().saturating_sub(2) / (1 + parts);
    let (Ok(mut rows), Ok(mut key)) = (state.rows.try_borrow_mut(), state.keys.try_borrow_mut())
    else {
        return INTERNAL;
    };
    if room == 0 {
        return BAD_ARGUMENT;
    }
    let end = table.layout().rows();
    let from = from.min(end);
    rows.clear();
    rows.resize(room, 0);
    key.clear();
    key.resize(room * parts, 0);
    // The scan hands out the parts it validated: no row is read twice.
    let (written, next) = table.next_key_rows(from, &mut rows, &mut key);
    for (i, (&row, parts_of)) in rows[..written]
        .iter()
        .zip(key.chunks_exact(parts))
        .enumerate()
    {
        let at = 2 + i * (1 + parts);
        words[at].store((slot(table, row) as f64).to_bits(), Ordering::Relaxed);
        for (word, &part) in words[at + 1..at + 1 + parts].iter().zip(parts_of) {
            word.store(part, Ordering::Relaxed);
        }
    }
    words[0].store((written as f64).to_bits(), Ordering::Relaxed);
    words[1].store((next as f64).to_bits(), Ordering::Relaxed);
    for buffer in [&mut *rows, &mut *key] {
        buffer.clear();
        buffer.shrink_to(KEEP_WORDS);
    }
    0.0
}

/// One raw callback per function: runs `body` with the call's arguments,
/// catching panics (which cannot unwind through `extern "C"`), and returns
/// its number to JS.
///
/// # Safety
/// As `call_info`.
unsafe fn respond(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: fn(&Call) -> f64,
) -> sys::napi_value {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: this function's contract.
        match unsafe { call_info(env, info) } {
            Some(call) => body(&call),
            None => BAD_ARGUMENT,
        }
    })
    .unwrap_or(INTERNAL);
    if result.is_nan() {
        // The functions that answer in their words return undefined.
        return ptr::null_mut();
    }
    let mut out = ptr::null_mut();
    // SAFETY: env is valid for this call; on failure `out` stays null, which
    // N-API returns to JS as undefined (the JS side treats that as an error).
    unsafe { sys::napi_create_double(env, result, &mut out) };
    out
}

unsafe extern "C" fn locate_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: N-API calls this with its own env and info, for a function
    // made by make_function.
    unsafe { respond(env, info, locate) }
}

unsafe extern "C" fn locate_many_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as locate_callback.
    unsafe { respond(env, info, locate_many) }
}

/// The result of a function that answers in its words: `respond` returns
/// undefined for it (an internal error before the words were written shows
/// as whatever words[1] held, which JS resets to NaN before each call).
fn quiet(r: f64) -> f64 {
    let _ = r;
    f64::NAN
}

unsafe extern "C" fn find_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as locate_callback.
    unsafe { respond(env, info, |call| quiet(find_word(call))) }
}

unsafe extern "C" fn insert_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as locate_callback.
    unsafe { respond(env, info, |call| quiet(insert_word(call))) }
}

unsafe extern "C" fn intern_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as locate_callback.
    unsafe { respond(env, info, intern) }
}

unsafe extern "C" fn decode_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // Panics cannot unwind through `extern "C"`: one becomes undefined, with
    // words[1] as JS left it (it resets it to an internal error first).
    let string = std::panic::catch_unwind(|| {
        // SAFETY: N-API calls this with its own env and info, for a function
        // made by make_function.
        unsafe { call_info(env, info) }.and_then(|call| decode(&call))
    })
    .ok()
    .flatten();
    let Some(string) = string else {
        return ptr::null_mut();
    };
    let mut out = ptr::null_mut();
    // SAFETY: env is valid for this call; the pointer and length are the
    // string's UTF-8 bytes (N-API copies them). On failure `out` stays null,
    // which N-API returns to JS as undefined.
    unsafe {
        sys::napi_create_string_utf8(env, string.as_ptr().cast(), string.len() as isize, &mut out)
    };
    out
}

unsafe extern "C" fn key_rows_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as locate_callback.
    unsafe { respond(env, info, key_rows) }
}

/// A function's finalizer: its data is its reference to the `Bound`.
unsafe extern "C" fn finalize_function(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the pointer from Rc::into_raw in `make_function`,
    // and N-API runs a finalizer once.
    drop(unsafe { Rc::from_raw(data as *const Bound) });
}

/// The words' ArrayBuffer's finalizer: its data is the words themselves, its
/// hint the buffer's reference to the `Bound` that owns them.
unsafe extern "C" fn finalize_words(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the pointer from Rc::into_raw in `make_words`, and
    // N-API runs a finalizer once.
    drop(unsafe { Rc::from_raw(hint as *const Bound) });
}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::GenericFailure,
            format!("cannot make the locate functions: {what}"),
        ))
    }
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// A JS function named `name` running `callback` with `bound` as its data.
fn make_function(
    env: sys::napi_env,
    name: &std::ffi::CStr,
    callback: Callback,
    bound: &Rc<Bound>,
) -> Result<sys::napi_value> {
    let data = Rc::into_raw(bound.clone()) as *mut c_void;
    let mut function = ptr::null_mut();
    // SAFETY: env is the current env; name is NUL-terminated and its
    // length is given; `data` stays valid until the finalizer added below
    // frees it.
    let status = unsafe {
        sys::napi_create_function(
            env,
            name.as_ptr(),
            name.count_bytes() as isize,
            Some(callback),
            data,
            &mut function,
        )
    };
    if let Err(e) = check(status, "napi_create_function") {
        // SAFETY: the function was not made, so nothing else owns `data`.
        drop(unsafe { Rc::from_raw(data as *const Bound) });
        return Err(e);
    }
    // SAFETY: `function` is a live object of this env; the finalizer frees
    // `data` when the function is collected.
    let status = unsafe {
        sys::napi_add_finalizer(
            env,
            function,
            data,
            Some(finalize_function),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if let Err(e) = check(status, "napi_add_finalizer") {
        // SAFETY: no finalizer owns `data`; the function keeps a dangling
        // data pointer but is dropped here without ever being returned.
        drop(unsafe { Rc::from_raw(data as *const Bound) });
        return Err(e);
    }
    Ok(function)
}

/// The ArrayBuffer over `bound`'s words (Rust's memory, not a copy), which
/// keeps `bound` alive until V8 collects it.
fn make_words(env: sys::napi_env, bound: &Rc<Bound>) -> Result<sys::napi_value> {
    let hint = Rc::into_raw(bound.clone()) as *mut c_void;
    let data = bound.words.as_ptr() as *mut c_void;
    let mut buffer = ptr::null_mut();
    // SAFETY: `data` points at WORDS u64s owned by `bound`, which the
    // finalizer's hint keeps alive for as long as V8 holds the buffer; the
    // words are allocated per `Bound`, so no other ArrayBuffer of the
    // isolate has this data pointer. JS and Rust only touch the words on
    // this thread, one at a time (Rust during a call, JS between calls);
    // Rust's accesses are atomic.
    let status = unsafe {
        sys::napi_create_external_arraybuffer(
            env,
            data,
            WORDS * 8,
            Some(finalize_words),
            hint,
            &mut buffer,
        )
    };
    if status == sys::Status::napi_no_external_buffers_allowed {
        // SAFETY: the buffer was not made, so nothing else owns `hint`.
        drop(unsafe { Rc::from_raw(hint as *const Bound) });
        return Err(Error::new(
            Status::GenericFailure,
            "this runtime refuses external ArrayBuffers (a V8 sandbox, as in Electron): \
             shared tables cannot work here",
        ));
    }
    if let Err(e) = check(status, "napi_create_external_arraybuffer") {
        // SAFETY: the buffer was not made, so nothing else owns `hint`.
        drop(unsafe { Rc::from_raw(hint as *const Bound) });
        return Err(e);
    }
    Ok(buffer)
}

/// `{ locate, find, insert, locateMany, keyRows, intern, decode, words }`
/// over `state`.
pub fn make_locator<'env>(env: &'env Env, state: &Rc<LocateState>) -> Result<Object<'env>> {
    let raw = env.raw();
    let bound = Rc::new(Bound {
        state: state.clone(),
        words: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
    });
    let mut object = Object::new(env)?;
    for (name, key, callback) in [
        (c"locate", "locate", locate_callback as Callback),
        (c"find", "find", find_callback),
        (c"insert", "insert", insert_callback),
        (c"locateMany", "locateMany", locate_many_callback),
        (c"keyRows", "keyRows", key_rows_callback),
        (c"intern", "intern", intern_callback),
        (c"decode", "decode", decode_callback),
    ] {
        let function = make_function(raw, name, callback, &bound)?;
        // SAFETY: `function` is a valid value of `raw`.
        object.set_named_property(key, unsafe { Unknown::from_raw_unchecked(raw, function) })?;
    }
    let words = make_words(raw, &bound)?;
    // SAFETY: `words` is a valid value of `raw`.
    object.set_named_property("words", unsafe { Unknown::from_raw_unchecked(raw, words) })?;
    Ok(object)
}
