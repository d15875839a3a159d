//! The few libuv calls the binding makes, resolved against the libuv that
//! Node exports to addons (as N-API's own symbols are): watching an fd
//! for readability in a JS thread's own event loop.
//!
//! A `uv_poll_t` is opaque here: its memory is allocated with
//! `uv_handle_size(UV_POLL)` and only its first field, the public
//! `void* data` of every `uv_handle_t`, is touched.

use std::ffi::{c_int, c_void};

use napi::sys;

/// An opaque `uv_poll_t` (also passed as a `uv_handle_t`).
#[repr(C)]
pub struct UvPoll {
    _opaque: [u8; 0],
}

pub type PollCb = unsafe extern "C" fn(handle: *mut UvPoll, status: c_int, events: c_int);
pub type CloseCb = unsafe extern "C" fn(handle: *mut UvPoll);

/// `UV_POLL` of `uv_handle_type` (uv.h).
const UV_POLL: c_int = 8;
/// `UV_READABLE` of `uv_poll_event`.
pub const UV_READABLE: c_int = 1;

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    pub fn uv_poll_init(lp: *mut sys::uv_loop_s, handle: *mut UvPoll, fd: c_int) -> c_int;
    pub fn uv_poll_start(handle: *mut UvPoll, events: c_int, cb: PollCb) -> c_int;
    pub fn uv_poll_stop(handle: *mut UvPoll) -> c_int;
    pub fn uv_close(handle: *mut UvPoll, cb: Option<CloseCb>);
    pub fn uv_unref(handle: *mut UvPoll);
}

/// Zeroed memory for one `uv_poll_t`, 8-byte aligned (libuv's handles hold
/// pointers and ints). Free it with [`free_poll`] once closed.
pub fn alloc_poll() -> *mut UvPoll {
    // SAFETY: a pure query of libuv's handle sizes.
    let size = unsafe { uv_handle_size(UV_POLL) };
    let words = size.div_ceil(8).max(1);
    let memory: Box<[u64]> = vec![0u64; words].into_boxed_slice();
    Box::into_raw(memory) as *mut u64 as *mut UvPoll
}

/// Frees what [`alloc_poll`] gave.
///
/// # Safety
/// `handle` came from [`alloc_poll`], is closed (its close callback ran,
/// or it was never initialised), and is not used again.
pub unsafe fn free_poll(handle: *mut UvPoll) {
    // SAFETY: a pure query of libuv's handle sizes.
    let size = unsafe { uv_handle_size(UV_POLL) };
    let words = size.div_ceil(8).max(1);
    let slice = std::ptr::slice_from_raw_parts_mut(handle as *mut u64, words);
    // SAFETY: the caller's contract: this is the Box made in alloc_poll,
    // with the same length.
    drop(unsafe { Box::from_raw(slice) });
}

/// Sets a handle's `data` field.
///
/// # Safety
/// `handle` points at live memory from [`alloc_poll`].
pub unsafe fn set_data(handle: *mut UvPoll, data: *mut c_void) {
    // SAFETY: `data` is the first field of every uv handle (uv.h
    // UV_HANDLE_FIELDS), and the memory is 8-byte aligned.
    unsafe { *(handle as *mut *mut c_void) = data };
}

/// A handle's `data` field.
///
/// # Safety
/// As [`set_data`].
pub unsafe fn data(handle: *mut UvPoll) -> *mut c_void {
    // SAFETY: as in set_data.
    unsafe { *(handle as *mut *mut c_void) }
}
