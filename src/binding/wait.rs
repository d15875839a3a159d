//! `waitAsync` across N-API: a [`WaitPool`](crate::wait::WaitPool)
//! per JS thread whose reports reach JS through a thread-safe function.
//!
//! `new WaitPool(callback)` makes the pool; `callback(ids, codes)` runs on
//! the JS thread with finished waits: code 0 woken, 1 timed out, -errno
//! failed. The thread-safe function is unreferenced, so pending waits do
//! not keep the event loop alive by themselves (lib/wait.js decides that),
//! and it is finalized when the JS thread ends; from then on no report is
//! sent (the `Sink` is emptied under its lock) and the pool's threads end.

use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::wait::{self, Report, WaitId, Word};

use super::table::NativeTable;

/// The thread-safe function, while it may be called.
struct Tsfn(sys::napi_threadsafe_function);

// SAFETY: N-API allows napi_call_threadsafe_function from any thread; the
// handle is only a pointer to Node's object.
unsafe impl Send for Tsfn {}

/// Where the pool's threads send reports: emptied when the function is
/// finalized, under the same lock every call takes.
#[derive(Default)]
struct Sink {
    tsfn: Mutex<Option<Tsfn>>,
    pool: Mutex<Option<Arc<wait::WaitPool>>>,
}

fn report_code(r: Report) -> f64 {
    match r {
        Report::Woken => 0.0,
        Report::TimedOut => 1.0,
        Report::Failed(errno) => -f64::from(errno),
    }
}

/// Runs on the JS thread for each batch of reports.
unsafe extern "C" fn call_js(
    env: sys::napi_env,
    callback: sys::napi_value,
    _context: *mut c_void,
    data: *mut c_void,
) {
    // SAFETY: `data` is the Box made in `send`, handed over exactly once.
    let reports = unsafe { Box::from_raw(data as *mut Vec<(WaitId, Report)>) };
    if env.is_null() || callback.is_null() {
        return; // The JS thread is ending: nothing to tell.
    }
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: env and callback are valid for this call (N-API); every
        // value made here belongs to env; statuses are checked, and on a
        // failure the reports are dropped (JS would then never settle those
        // waits, which only happens if the JS thread is failing anyway).
        unsafe {
            let mut ids = ptr::null_mut();
            let mut codes = ptr::null_mut();
            if sys::napi_create_array_with_length(env, reports.len(), &mut ids)
                != sys::Status::napi_ok
                || sys::napi_create_array_with_length(env, reports.len(), &mut codes)
                    != sys::Status::napi_ok
            {
                return;
            }
            for (i, &(id, r)) in reports.iter().enumerate() {
                let mut id_value = ptr::null_mut();
                let mut code_value = ptr::null_mut();
                if sys::napi_create_double(env, id as f64, &mut id_value) != sys::Status::napi_ok
                    || sys::napi_create_double(env, report_code(r), &mut code_value)
                        != sys::Status::napi_ok
                    || sys::napi_set_element(env, ids, i as u32, id_value) != sys::Status::napi_ok
                    || sys::napi_set_element(env, codes, i as u32, code_value)
                        != sys::Status::napi_ok
                {
                    return;
                }
            }
            let mut undefined = ptr::null_mut();
            sys::napi_get_undefined(env, &mut undefined);
            let argv = [ids, codes];
            let mut result = ptr::null_mut();
            // An exception thrown by the callback stays pending in env and
            // is reported by Node as uncaught, as for any callback.
            sys::napi_call_function(env, undefined, callback, 2, argv.as_ptr(), &mut result);
        }
    });
}

/// Runs on the JS thread when the thread-safe function is finalized.
unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Arc<Sink> leaked in `WaitPool::new`, released
    // here once.
    let sink = unsafe { Arc::from_raw(data as *const Sink) };
    sink.tsfn.lock().unwrap_or_else(|e| e.into_inner()).take();
    let pool = sink.pool.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(pool) = pool {
        pool.shutdown();
    }
}

fn send(sink: &Sink, reports: Vec<(WaitId, Report)>) {
    let guard = sink.tsfn.lock().unwrap_or_else(|e| e.into_inner());
    let Some(tsfn) = guard.as_ref() else {
        return;
    };
    let data = Box::into_raw(Box::new(reports));
    // SAFETY: the function is not finalized (finalize empties the sink under
    // this lock first); on any status but ok the data was not taken.
    let status = unsafe {
        sys::napi_call_threadsafe_function(
            tsfn.0,
            data as *mut c_void,
            sys::ThreadsafeFunctionCallMode::nonblocking,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: N-API did not take `data`.
        drop(unsafe { Box::from_raw(data) });
    }
}

fn napi_fail(what: &str) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("ERR_ATOMIC_DICT_INTERNAL|cannot make the wait pool: {what}"),
    )
}

/// Pending `waitAsync` calls of one JS thread.
#[napi]
pub struct WaitPool {
    pool: Arc<wait::WaitPool>,
}

#[napi]
impl WaitPool {
    /// `callback(ids, codes)` receives finished waits (see the module doc).
    #[napi(constructor)]
    pub fn new(env: Env, callback: Unknown) -> Result<WaitPool> {
        let raw_env = env.raw();
        let mut kind = 0;
        // SAFETY: callback is a value of this call.
        let status = unsafe { sys::napi_typeof(raw_env, callback.raw(), &mut kind) };
        if status != sys::Status::napi_ok || kind != sys::ValueType::napi_function {
            return Err(Error::new(
                Status::InvalidArg,
                "ERR_INVALID_ARG_TYPE|callback must be a function",
            ));
        }
        let sink = Arc::new(Sink::default());
        let reporter_sink = sink.clone();
        let pool = Arc::new(wait::WaitPool::new(Box::new(move |reports| {
            send(&reporter_sink, reports)
        })));
        let mut name = ptr::null_mut();
        let label = "atomic-dict waitAsync";
        // SAFETY: raw_env is the current env; label is valid UTF-8 of the
        // given length.
        if unsafe {
            sys::napi_create_string_utf8(
                raw_env,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            )
        } != sys::Status::napi_ok
        {
            return Err(napi_fail("napi_create_string_utf8"));
        }
        let data = Arc::into_raw(sink.clone()) as *mut c_void;
        let mut tsfn = ptr::null_mut();
        // SAFETY: values of this env; `data` stays valid until `finalize`
        // releases it.
        let status = unsafe {
            sys::napi_create_threadsafe_function(
                raw_env,
                callback.raw(),
                ptr::null_mut(),
                name,
                0,
                1,
                data,
                Some(finalize),
                ptr::null_mut(),
                Some(call_js),
                &mut tsfn,
            )
        };
        if status != sys::Status::napi_ok {
            // SAFETY: no function was made, so nothing else owns `data`.
            drop(unsafe { Arc::from_raw(data as *const Sink) });
            return Err(napi_fail("napi_create_threadsafe_function"));
        }
        // SAFETY: tsfn was just made on this env's thread.
        unsafe { sys::napi_unref_threadsafe_function(raw_env, tsfn) };
        *sink.tsfn.lock().unwrap_or_else(|e| e.into_inner()) = Some(Tsfn(tsfn));
        *sink.pool.lock().unwrap_or_else(|e| e.into_inner()) = Some(pool.clone());
        Ok(WaitPool { pool })
    }

    /// Waits (wait id `id`) on the word at byte `offset` of `table` while
    /// it holds `expected`, and, when `high_offset` >= 0, the word there
    /// holds `high_expected` (the high half of a 64-bit value); for
    /// `timeout_ms` (negative: no timeout).
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &self,
        table: &NativeTable,
        id: f64,
        offset: f64,
        expected: u32,
        high_offset: f64,
        high_expected: u32,
        timeout_ms: f64,
    ) -> Result<()> {
        let (word, keep) = table.word(offset)?;
        let high = if high_offset >= 0.0 {
            let (h, _) = table.word(high_offset)?;
            Some(Word {
                addr: h as *const _ as usize,
                expected: high_expected,
            })
        } else {
            None
        };
        let timeout = if timeout_ms < 0.0 {
            None
        } else {
            Duration::try_from_secs_f64(timeout_ms / 1000.0).ok()
        };
        let word = Word {
            addr: word as *const _ as usize,
            expected,
        };
        // SAFETY: both words are aligned u32s of the table's mapping, which
        // `keep` keeps mapped (NativeTable::word).
        unsafe { self.pool.add(id as WaitId, word, high, timeout, keep) }.map_err(|e| {
            Error::new(
                Status::GenericFailure,
                format!("ERR_ATOMIC_DICT_IO|cannot wait: {e}"),
            )
        })
    }

    /// Withdraws a pending wait; false if it already ended.
    #[napi]
    pub fn cancel(&self, id: f64) -> bool {
        self.pool.cancel(id as WaitId)
    }

    /// Waits pending in the pool.
    #[napi(getter)]
    pub fn pending(&self) -> u32 {
        self.pool.pending() as u32
    }

    /// Threads the pool runs (io_uring: 1; futex_waitv: one per 127
    /// distinct words waited on).
    #[napi(getter)]
    pub fn threads(&self) -> u32 {
        self.pool.threads() as u32
    }

    /// "io_uring" or "futex_waitv" (src/wait/mod.rs).
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.pool.backend().name()
    }
}
