//! `waitAsync` across N-API: a [`WaitPool`](crate::wait::WaitPool) per JS
//! thread whose finished waits reach JS through the thread's own event
//! loop: the pool's eventfd is watched with a `uv_poll_t` on that loop, and
//! when it is readable the poll callback reaps the pool and calls JS with
//! `napi_make_callback` (which runs the microtasks the callback queued, as
//! any callback from the event loop does). No other thread and no
//! thread-safe function stands between a completion and JS.
//!
//! `new WaitPool(callback)` makes the pool; `callback(ids, codes)` runs on
//! the JS thread with finished waits: code 0 woken, 1 timed out, -errno
//! failed. The poll handle is unreferenced, so pending waits do not keep
//! the event loop alive by themselves (lib/wait.js decides that). When the
//! JS thread ends, an async cleanup hook withdraws every wait, stops and
//! closes the handle, and frees what the pool held once libuv is done.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::wait::{self, Report, WaitId, Word};

use super::table::{fail, NativeTable};
use super::uv;

fn report_code(r: Report) -> f64 {
    match r {
        Report::Woken => 0.0,
        Report::TimedOut => 1.0,
        Report::Failed(errno) => -f64::from(errno),
    }
}

/// What the poll handle's callbacks need: owned by the handle (its `data`),
/// made in `WaitPool::new` and freed in `on_closed`, all on the JS thread.
struct Watch {
    env: sys::napi_env,
    callback: sys::napi_ref,
    async_context: sys::napi_async_context,
    pool: Arc<wait::WaitPool>,
    handle: *mut uv::UvPoll,
    /// Set by the cleanup hook: the handle is closing.
    cleanup: sys::napi_async_cleanup_hook_handle,
    closing: bool,
}

/// Calls `callback(ids, codes)` with `reports`, in a handle scope and a
/// callback scope.
///
/// # Safety
/// On the JS thread of `w.env`, from the event loop (no JS on the stack).
unsafe fn deliver(w: &Watch, reports: &[(WaitId, Report)]) {
    // SAFETY (whole block): env is this thread's; every value made here
    // belongs to the handle scope opened first and closed last; statuses are
    // checked, and on a failure the reports are dropped (JS would then
    // never settle those waits, which only happens if the thread is
    // failing anyway).
    unsafe {
        let env = w.env;
        let mut scope = ptr::null_mut();
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            return;
        }
        let call = || -> Option<()> {
            let ok = |s| (s == sys::Status::napi_ok).then_some(());
            let mut ids = ptr::null_mut();
            let mut codes = ptr::null_mut();
            ok(sys::napi_create_array_with_length(
                env,
                reports.len(),
                &mut ids,
            ))?;
            ok(sys::napi_create_array_with_length(
                env,
                reports.len(),
                &mut codes,
            ))?;
            for (i, &(id, r)) in reports.iter().enumerate() {
                let mut id_value = ptr::null_mut();
                let mut code_value = ptr::null_mut();
                ok(sys::napi_create_double(env, id as f64, &mut id_value))?;
                ok(sys::napi_create_double(
                    env,
                    report_code(r),
                    &mut code_value,
                ))?;
                ok(sys::napi_set_element(env, ids, i as u32, id_value))?;
                ok(sys::napi_set_element(env, codes, i as u32, code_value))?;
            }
            let mut callback = ptr::null_mut();
            ok(sys::napi_get_reference_value(
                env,
                w.callback,
                &mut callback,
            ))?;
            if callback.is_null() {
                return None;
            }
            let mut global = ptr::null_mut();
            ok(sys::napi_get_global(env, &mut global))?;
            let argv = [ids, codes];
            let mut result = ptr::null_mut();
            let status = sys::napi_make_callback(
                env,
                w.async_context,
                global,
                callback,
                2,
                argv.as_ptr(),
                &mut result,
            );
            if status == sys::Status::napi_pending_exception {
                // As for any callback from the event loop: 'uncaughtException'.
                let mut exception = ptr::null_mut();
                if sys::napi_get_and_clear_last_exception(env, &mut exception)
                    == sys::Status::napi_ok
                {
                    sys::napi_fatal_exception(env, exception);
                }
            }
            Some(())
        };
        let _ = call();
        sys::napi_close_handle_scope(env, scope);
    }
}

/// The pool's eventfd is readable: reap it and tell JS.
unsafe extern "C" fn on_readable(handle: *mut uv::UvPoll, _status: c_int, _events: c_int) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `data` is the Watch this handle owns until on_closed.
        let w = unsafe { &*(uv::data(handle) as *const Watch) };
        if w.closing {
            return;
        }
        let mut reports = Vec::new();
        w.pool.reap(&mut reports);
        if !reports.is_empty() {
            // SAFETY: a libuv callback of this JS thread's loop.
            unsafe { deliver(w, &reports) };
        }
    });
}

/// The JS thread is ending (its environment is being torn down).
unsafe extern "C" fn on_cleanup(remove: sys::napi_async_cleanup_hook_handle, data: *mut c_void) {
    // SAFETY: `data` is the Watch registered with this hook, alive until
    // on_closed, which only runs after uv_close below.
    let w = unsafe { &mut *(data as *mut Watch) };
    w.closing = true;
    w.cleanup = remove;
    w.pool.shutdown();
    // SAFETY: the handle was initialised and started in WaitPool::new and
    // is closed only here.
    unsafe {
        uv::uv_poll_stop(w.handle);
        uv::uv_close(w.handle, Some(on_closed));
    }
}

/// Deletes what a Watch holds of JS (the callback's reference and the
/// async context), in a handle scope of its own.
///
/// # Safety
/// On the JS thread of `w.env`, while the env is alive; once per Watch.
unsafe fn release_js(w: &Watch) {
    // SAFETY: the caller's contract; the reference and the async context
    // were made on this env.
    unsafe {
        let mut scope = ptr::null_mut();
        let opened = sys::napi_open_handle_scope(w.env, &mut scope) == sys::Status::napi_ok;
        sys::napi_delete_reference(w.env, w.callback);
        sys::napi_async_destroy(w.env, w.async_context);
        if opened {
            sys::napi_close_handle_scope(w.env, scope);
        }
    }
}

/// libuv is done with the handle: free it and the Watch, and let Node go on
/// (remove the cleanup hook, when one was added).
unsafe extern "C" fn on_closed(handle: *mut uv::UvPoll) {
    // SAFETY: `data` is the Box<Watch> leaked in WaitPool::new; the handle
    // is closed, so nothing else refers to it any more.
    let w = unsafe { Box::from_raw(uv::data(handle) as *mut Watch) };
    // SAFETY: env is alive until the cleanup hook is removed (last here).
    unsafe {
        release_js(&w);
        uv::free_poll(handle);
        if !w.cleanup.is_null() {
            sys::napi_remove_async_cleanup_hook(w.cleanup);
        }
    }
}

fn napi_fail(what: &str) -> Error {
    fail(
        "ERR_ATOMIC_DICT_INTERNAL",
        format!("cannot make the wait pool: {what}"),
    )
}

fn ok(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi_fail(what))
    }
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
            return Err(fail("ERR_INVALID_ARG_TYPE", "callback must be a function"));
        }
        let pool = Arc::new(wait::WaitPool::new().map_err(|e| {
            fail(
                "ERR_ATOMIC_DICT_IO",
                format!("cannot make the wait pool: {e}"),
            )
        })?);
        let mut event_loop = ptr::null_mut();
        // SAFETY: raw_env is this call's env; the call writes the pointer.
        ok(
            unsafe { sys::napi_get_uv_event_loop(raw_env, &mut event_loop) },
            "napi_get_uv_event_loop",
        )?;
        let mut resource = ptr::null_mut();
        let mut name = ptr::null_mut();
        let label = "atomic-dict waitAsync";
        let mut callback_ref = ptr::null_mut();
        let mut async_context = ptr::null_mut();
        // SAFETY: values of this env, made on its thread; `label` is valid
        // UTF-8 of the given length.
        unsafe {
            ok(
                sys::napi_create_object(raw_env, &mut resource),
                "napi_create_object",
            )?;
            ok(
                sys::napi_create_string_utf8(
                    raw_env,
                    label.as_ptr().cast(),
                    label.len() as isize,
                    &mut name,
                ),
                "napi_create_string_utf8",
            )?;
            ok(
                sys::napi_create_reference(raw_env, callback.raw(), 1, &mut callback_ref),
                "napi_create_reference",
            )?;
            if sys::napi_async_init(raw_env, resource, name, &mut async_context)
                != sys::Status::napi_ok
            {
                sys::napi_delete_reference(raw_env, callback_ref);
                return Err(napi_fail("napi_async_init"));
            }
        }
        let handle = uv::alloc_poll();
        let watch = Box::into_raw(Box::new(Watch {
            env: raw_env,
            callback: callback_ref,
            async_context,
            pool: pool.clone(),
            handle,
            cleanup: ptr::null_mut(),
            closing: false,
        }));
        // SAFETY: `handle` is fresh memory for a uv_poll_t on this thread's
        // loop; `watch` is owned by the handle from here on (on_closed
        // frees it). If the handle cannot be set up, nothing refers to
        // either yet and both are freed here.
        unsafe {
            let fd = pool.fd();
            let started = uv::uv_poll_init(event_loop, handle, fd) == 0;
            if !started {
                let w = Box::from_raw(watch);
                release_js(&w);
                uv::free_poll(handle);
                return Err(napi_fail("uv_poll_init"));
            }
            uv::set_data(handle, watch.cast());
            uv::uv_unref(handle);
            let mut remove = ptr::null_mut();
            if uv::uv_poll_start(handle, uv::UV_READABLE, on_readable) != 0
                || sys::napi_add_async_cleanup_hook(
                    raw_env,
                    Some(on_cleanup),
                    watch.cast(),
                    &mut remove,
                ) != sys::Status::napi_ok
            {
                // Close it now; on_closed frees everything (`cleanup` is
                // still null: no hook to remove).
                (*watch).closing = true;
                pool.shutdown();
                uv::uv_poll_stop(handle);
                uv::uv_close(handle, Some(on_closed));
                return Err(napi_fail("uv_poll_start"));
            }
            (*watch).cleanup = remove;
        }
        Ok(WaitPool { pool })
    }

    /// Waits (wait id `id`) on the word at byte `offset` of `table` while
    /// it holds `expected`, and, when `high_offset` >= 0, the word there
    /// holds `high_expected` (the high half of a 64-bit value); for
    /// `timeout_ms` (negative: no timeout). Armed when it returns.
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
        if !(id >= 1.0 && id <= wait::MAX_WAIT_ID as f64 && id.fract() == 0.0) {
            return Err(Error::new(
                Status::InvalidArg,
                "ERR_OUT_OF_RANGE|wait ids are integers from 1 to 2^62 - 1",
            ));
        }
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
        unsafe { self.pool.add(id as WaitId, word, high, timeout, keep) }
            .map_err(|e| fail("ERR_ATOMIC_DICT_IO", format!("cannot wait: {e}")))
    }

    /// Withdraws a pending wait; false if it already ended.
    #[napi]
    pub fn cancel(&self, id: f64) -> bool {
        id >= 0.0 && self.pool.cancel(id as WaitId)
    }

    /// Waits pending in the pool.
    #[napi(getter)]
    pub fn pending(&self) -> u32 {
        self.pool.pending() as u32
    }

    /// Threads the pool runs (io_uring: none; threads: one per distinct
    /// word waited on, plus a timer thread).
    #[napi(getter)]
    pub fn threads(&self) -> u32 {
        self.pool.threads() as u32
    }

    /// "io_uring" or "threads" (src/wait/mod.rs).
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.pool.backend().name()
    }

    /// Why io_uring is not in use, or null.
    #[napi(getter)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.pool.why_not_ring().map(str::to_string)
    }
}
