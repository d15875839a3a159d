//! A thin native `locate(key, insert)` for tables whose key is one 64-bit
//! part: the first use of a key in a process, and inserts, run the Rust core
//! behind a raw N-API function (~15 ns a call) instead of a napi-rs method
//! (~200 ns with arguments) or the JS twin of the probe (BigInt loads and
//! compares cost ~25 ns a row there).
//!
//! The function is made per table object and carries its table as its data:
//! `locate(key, insert) -> number` (the key a BigInt, a safe-integer
//! number, so number keys need no BigInt at all, or a string, hashed here
//! to its key part as FORMAT.md says), where a result r >= 0 is
//! `row * 2 + inserted`, -1 absent, -2 full, -3 closed, -4 a bad argument,
//! -5 an internal error. The JS layer has already checked the key.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, Error, Result, Status};

use crate::core::{Table, TableError};

use super::strings::{read_string_key, Scratch};

/// What a locate function reaches: the table until `close()` empties it.
/// Only ever used on the JS thread that made it (Rc, RefCell).
pub struct LocateState {
    table: RefCell<Option<Table>>,
    scratch: RefCell<Scratch>,
}

impl LocateState {
    pub fn new(table: Table) -> Rc<LocateState> {
        Rc::new(LocateState {
            table: RefCell::new(Some(table)),
            scratch: RefCell::new(Scratch::default()),
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

fn locate(state: &LocateState, key: u64, insert: bool) -> f64 {
    let table = state.table.borrow();
    let Some(table) = table.as_ref() else {
        return CLOSED;
    };
    if key == 0 {
        return BAD_ARGUMENT;
    }
    if insert {
        match table.find_or_insert(&[key]) {
            Ok(entry) => (entry.row * 2 + u64::from(entry.inserted)) as f64,
            Err(TableError::Full { .. }) => FULL,
        }
    } else {
        table.find(&[key]).map_or(ABSENT, |row| (row * 2) as f64)
    }
}

/// The N-API callback. Every N-API status is checked; nothing here panics
/// (and a panic could not unwind through `extern "C"`: it is caught).
unsafe extern "C" fn locate_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let result = std::panic::catch_unwind(|| {
        let mut argc = 2usize;
        let mut argv = [ptr::null_mut(); 2];
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
        if status != sys::Status::napi_ok || argc < 2 || data.is_null() {
            return BAD_ARGUMENT;
        }
        // SAFETY: `data` is the Rc<LocateState> leaked in `make_locator`,
        // freed only by the function's finalizer, which cannot run while
        // the function is being called.
        let state = unsafe { &*(data as *const LocateState) };
        let mut key = 0u64;
        let mut lossless = false;
        // SAFETY: argv[0] is a value of this call; N-API checks its type.
        let status =
            unsafe { sys::napi_get_value_bigint_uint64(env, argv[0], &mut key, &mut lossless) };
        if status == sys::Status::napi_ok {
            if !lossless {
                return BAD_ARGUMENT;
            }
        } else {
            let mut number = 0f64;
            // SAFETY: as above.
            if unsafe { sys::napi_get_value_double(env, argv[0], &mut number) }
                == sys::Status::napi_ok
            {
                // A number key: a safe integer (checked again).
                if !(1.0..=9_007_199_254_740_991.0).contains(&number) || number.fract() != 0.0 {
                    return BAD_ARGUMENT;
                }
                key = number as u64;
            } else {
                // A string key. The scratch buffers are only borrowed here,
                // and locate cannot re-enter itself.
                let Ok(mut scratch) = state.scratch.try_borrow_mut() else {
                    return INTERNAL;
                };
                // SAFETY: env and argv[0] belong to this call.
                match unsafe { read_string_key(env, argv[0], &mut scratch) } {
                    Ok(k) => key = k,
                    Err(_) => return BAD_ARGUMENT,
                }
            }
        }
        let mut insert = false;
        // SAFETY: as above.
        if unsafe { sys::napi_get_value_bool(env, argv[1], &mut insert) } != sys::Status::napi_ok {
            return BAD_ARGUMENT;
        }
        locate(state, key, insert)
    })
    .unwrap_or(INTERNAL);
    let mut out = ptr::null_mut();
    // SAFETY: env is valid for this call; on failure `out` stays null, which
    // N-API returns to JS as undefined (the JS side treats that as an error).
    unsafe { sys::napi_create_double(env, result, &mut out) };
    out
}

unsafe extern "C" fn finalize_state(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the pointer from Rc::into_raw in `make_locator`, and
    // the finalizer runs once.
    drop(unsafe { Rc::from_raw(data as *const LocateState) });
}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::GenericFailure,
            format!("cannot make the locate function: {what}"),
        ))
    }
}

/// Makes the JS function `locate(key, insert)` over `state`.
pub fn make_locator<'env>(env: &'env Env, state: &Rc<LocateState>) -> Result<Unknown<'env>> {
    let raw_env = env.raw();
    let data = Rc::into_raw(state.clone()) as *mut c_void;
    let name = c"locate";
    let mut function = ptr::null_mut();
    // SAFETY: raw_env is the current env; name is NUL-terminated; `data`
    // stays valid until the finalizer added below frees it.
    let status = unsafe {
        sys::napi_create_function(
            raw_env,
            name.as_ptr(),
            6,
            Some(locate_callback),
            data,
            &mut function,
        )
    };
    if let Err(e) = check(status, "napi_create_function") {
        // SAFETY: the function was not made, so nothing else owns `data`.
        drop(unsafe { Rc::from_raw(data as *const LocateState) });
        return Err(e);
    }
    // SAFETY: `function` is a live object of this env; the finalizer frees
    // `data` when the function is collected.
    let status = unsafe {
        sys::napi_add_finalizer(
            raw_env,
            function,
            data,
            Some(finalize_state),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if let Err(e) = check(status, "napi_add_finalizer") {
        // SAFETY: no finalizer owns `data`; the function keeps a dangling
        // data pointer but is dropped here without ever being returned.
        drop(unsafe { Rc::from_raw(data as *const LocateState) });
        return Err(e);
    }
    // SAFETY: `function` is a valid value of `raw_env`.
    Ok(unsafe { Unknown::from_raw_unchecked(raw_env, function) })
}
