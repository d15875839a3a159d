//! Shared memory for tables: a sealed memfd mapped with `MAP_SHARED`.
//! No Node here; the binding turns these into JS objects.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

use memmap2::{MmapOptions, MmapRaw};

use crate::core::Backing;

/// A shared mapping and the file behind it.
pub struct Mapping {
    map: MmapRaw,
    /// Kept open so the table can be handed to other processes.
    #[allow(dead_code)]
    file: File,
}

// SAFETY: the mapping is never remapped or unmapped while this value lives,
// mmap returns page-aligned memory, a new memfd reads as zeros, and the
// region is only accessed through atomics.
unsafe impl Backing for Mapping {
    fn bytes(&self) -> (*mut u8, usize) {
        (self.map.as_mut_ptr(), self.map.len())
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl Mapping {
    /// A new zero-filled memfd of `len` bytes: close-on-exec, storage reserved
    /// up front (so a full /dev/shm or memory limit fails here, not as a
    /// SIGBUS later), sealed against shrinking and growing, then mapped.
    pub fn create_memfd(len: usize) -> io::Result<Mapping> {
        let name = c"atomic-dict";
        // SAFETY: name is a valid NUL-terminated string; flags are constants.
        let fd = check(unsafe {
            libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        })?;
        // SAFETY: fd was just returned by memfd_create and is owned by nobody else.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(len as u64)?;
        // SAFETY: plain syscall on a descriptor we own.
        let ret = unsafe { libc::fallocate(fd, 0, 0, len as libc::off_t) };
        if ret != 0 {
            let err = io::Error::last_os_error();
            return Err(io::Error::new(
                err.kind(),
                format!("cannot reserve {len} bytes of shared memory: {err}"),
            ));
        }
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: plain fcntl on a descriptor we own.
        check(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
        let map = MmapOptions::new().len(len).map_raw(&file)?;
        Ok(Mapping { map, file })
    }
}
