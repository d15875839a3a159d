//! Process liveness for JS: a [`Contributors`] per JS object (see
//! src/contributors.rs). `lib/contributors.js` wraps it.
//!
//! Arguments are checked here before the module sees them, so that misuse
//! is `ERR_INVALID_ARG_VALUE` and never reaches the OS; OS errors keep their
//! code (`EBADF`, `ENOENT` when /proc is missing, ...), and a kernel without
//! open file description locks gives `ERR_ATOMIC_DICT_UNSUPPORTED`.

use std::io;

use napi::{Error, Result};
use napi_derive::napi;

use crate::contributors::{Contributors, MAX_SLOTS};

use super::table::{fail, invalid, io_error};

fn lock_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::Unsupported {
        return fail("ERR_ATOMIC_DICT_UNSUPPORTED", e);
    }
    io_error(e)
}

fn check_max(max: u32) -> Result<()> {
    if max == 0 || max > MAX_SLOTS {
        return Err(invalid(format!(
            "max must be an integer from 1 to {MAX_SLOTS}, got {max}"
        )));
    }
    Ok(())
}

/// One contributor: its own open file description of a table's file, and
/// the slot it holds. The descriptor closes (releasing the slot) when this
/// object is collected, or when its JS thread or process ends.
#[napi]
pub struct NativeContributors {
    inner: Contributors,
}

/// A contributor over the table file behind `fd` (the table's descriptor,
/// which is neither closed nor changed).
#[napi]
pub fn open_contributors(fd: i32) -> Result<NativeContributors> {
    if fd < 0 {
        return Err(invalid("fd must be a descriptor"));
    }
    let inner = Contributors::open(fd).map_err(lock_error)?;
    Ok(NativeContributors { inner })
}

#[napi]
impl NativeContributors {
    /// Claims the lowest free slot below `max`: the slot, or -1 if every one
    /// is held.
    #[napi]
    pub fn claim(&mut self, max: u32) -> Result<i32> {
        check_max(max)?;
        if let Some(slot) = self.inner.slot() {
            return Err(invalid(format!(
                "this contributor already holds slot {slot}; release() it first"
            )));
        }
        match self.inner.claim(max).map_err(lock_error)? {
            // A slot is below MAX_SLOTS, so it fits an i32.
            Some(slot) => Ok(slot as i32),
            None => Ok(-1),
        }
    }

    /// Marks the claimed slot live (its leftovers cleared).
    #[napi]
    pub fn ready(&mut self) -> Result<()> {
        if self.inner.slot().is_none() {
            return Err(invalid("ready() needs a slot: call claim() first"));
        }
        self.inner.ready().map_err(lock_error)
    }

    /// The live slots below `max`, ascending (ours included once ready).
    #[napi]
    pub fn live(&self, max: u32) -> Result<Vec<u32>> {
        check_max(max)?;
        self.inner.live(max).map_err(lock_error)
    }

    /// Lets go of the slot (READY, then OWNER); nothing without one.
    #[napi]
    pub fn release(&mut self) {
        self.inner.release();
    }

    /// Lets go of the slot and closes this contributor's descriptor.
    #[napi]
    pub fn close(&mut self) {
        self.inner.close();
    }

    /// The slot held, or -1.
    #[napi(getter)]
    pub fn slot(&self) -> i32 {
        self.inner.slot().map_or(-1, |s| s as i32)
    }
}
