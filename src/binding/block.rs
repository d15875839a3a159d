//! The blocking `wait` across N-API: how a thread blocked in
//! [`futex::wait_interruptible`] learns that it must stop, the process's
//! interrupt (`interruptWaits()`), and which futex call it sleeps with
//! (`futexBackend()`).

use std::ptr;
use std::sync::OnceLock;
use std::time::Duration;

use napi::{sys, Env, Result};
use napi_derive::napi;

use crate::futex::{self, SyncOutcome, WaitWord};

use super::table::{fail, io_error};

/// Whether this JS thread may still run JS: false once Node is stopping it
/// (`worker.terminate()`, or process.exit() stopping every worker). Asks
/// with a call that N-API refuses on a stopping thread. It runs every slice
/// of a worker's blocking wait, inside the native call: the object it makes
/// lives in a handle scope of its own, closed at once, so a long wait does
/// not pile up handles (and the objects they keep) in the call's scope.
pub(super) fn can_run_js(env: sys::napi_env) -> bool {
    let mut scope = ptr::null_mut();
    // SAFETY: env is the env of the native call on this thread, which is
    // inside a callback (so a scope may be opened); only `scope` is written.
    let opened = unsafe { sys::napi_open_handle_scope(env, &mut scope) } == sys::Status::napi_ok;
    let mut object = ptr::null_mut();
    let mut has = false;
    // SAFETY: as above; the object is made here, in `scope` when it opened
    // (else in the call's scope); both calls only write their out-parameters.
    let can = unsafe {
        sys::napi_create_object(env, &mut object) == sys::Status::napi_ok
            && sys::napi_has_element(env, object, 0, &mut has) == sys::Status::napi_ok
    };
    if opened {
        // SAFETY: `scope` was opened above on this env and is the innermost
        // scope (nothing opened since); no value made in it is used after.
        unsafe { sys::napi_close_handle_scope(env, scope) };
    }
    can
}

/// `interruptWaits()`: ends every blocking `wait` of this process, for
/// good (lib/wait.js calls it when the process exits).
#[napi(js_name = "interruptWaits")]
pub fn interrupt_waits() {
    futex::interrupt_all();
}

/// `futexBackend()`: what a blocking wait sleeps with in this process:
/// "futex_waitv" (every word at once) or "futex_wait" (the first word, in
/// slices; see futex::wait_words).
#[napi(js_name = "futexBackend")]
pub fn futex_backend() -> &'static str {
    if futex::has_waitv() {
        "futex_waitv"
    } else {
        "futex_wait"
    }
}

/// A test hook: `ATOMIC_DICT_TEST_PAUSE_BEFORE_SLEEP_MS` (read once) makes
/// every blocking wait sleep that long after JS compared the value and
/// before it is armed, so tests can change the value in that window.
fn pause_before_sleep() -> Option<Duration> {
    static PAUSE: OnceLock<Option<Duration>> = OnceLock::new();
    *PAUSE.get_or_init(|| {
        std::env::var("ATOMIC_DICT_TEST_PAUSE_BEFORE_SLEEP_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
    })
}

/// The blocking wait of `NativeTable::wait`: sleeps while every word of
/// `value` holds its expected value (JS compared them just before). A word
/// found changed when the wait is armed is a change that came after JS's
/// comparison, whose notify may have gone by: "ok", as for a wakeup.
pub(super) fn wait(
    env: &Env,
    value: &[WaitWord<'_>],
    timeout: Option<Duration>,
    stoppable: bool,
) -> Result<&'static str> {
    if let Some(pause) = pause_before_sleep() {
        std::thread::sleep(pause);
    }
    let raw = env.raw();
    let mut still_wanted = || can_run_js(raw);
    let ask: Option<&mut dyn FnMut() -> bool> = if stoppable {
        Some(&mut still_wanted)
    } else {
        None
    };
    match futex::wait_interruptible(value, timeout, ask) {
        Ok(SyncOutcome::Woken | SyncOutcome::NotEqual) => Ok("ok"),
        Ok(SyncOutcome::TimedOut) => Ok("timed-out"),
        Ok(SyncOutcome::Interrupted) => Err(fail(
            "ERR_ATOMIC_DICT_INTERRUPTED",
            "the wait was interrupted: this thread or process is exiting",
        )),
        Err(e) => Err(io_error(crate::shm::from_syscall(e, "futex", None))),
    }
}
