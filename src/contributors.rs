//! Process liveness for shared tables: which *contributors* (processes,
//! or objects within them) using a table are alive, asked of the kernel
//! through open file description (OFD) locks on the table's file. No Node
//! here; `binding::contributors` wraps it for JS.
//!
//! # The mechanism
//!
//! A contributor holds slot `s` (0 ≤ s < max ≤ [`MAX_SLOTS`]) through two
//! 1-byte write locks (`F_WRLCK`) on the table's file, far beyond any
//! table's end (a table is at most a few hundred GiB; locks need no file
//! content):
//!
//! - **OWNER** at [`OWNER_BASE`]` + s`: taken by [`Contributors::claim`]
//!   with a non-blocking `F_OFD_SETLK`. Whoever holds it is the slot's only
//!   owner.
//! - **READY** at [`READY_BASE`]` + s`: taken by [`Contributors::ready`]
//!   once the owner has cleared what a dead former owner of the slot left
//!   behind. Readers count a slot only while its READY lock is held
//!   ([`Contributors::live`]).
//!
//! # Invariants
//!
//! - **Why two locks.** With one lock, the moment a new owner took a dead
//!   owner's slot the slot would count again, dead owner's leftovers
//!   included, until the new owner had zeroed them. With two, OWNER
//!   excludes other owners while READY stays free until the leftovers are
//!   gone: a slot counts only while an owner is alive *and* has finished
//!   clearing. READY is taken only by the holder of OWNER and let go before
//!   it ([`Contributors::release`]); at death both go at once, when the
//!   kernel closes the contributor's file.
//! - **Why a new open file description.** OFD locks belong to the open file
//!   description (the kernel's `struct file`), not to a process or a
//!   descriptor: locks taken through one OFD never conflict with each other,
//!   and they go only when the *last* descriptor of that OFD closes. The
//!   table's own descriptor is the wrong one to lock through: a `dup`, or a
//!   descriptor a child inherited (spawn/fork `share`, cluster workers)
//!   shares the parent's OFD, so parent and children would look like one
//!   contributor, and the parent's locks would outlive it in its children.
//!   [`Contributors::open`] therefore opens `/proc/self/fd/<fd>` again, which
//!   makes a new OFD of the same file (a memfd or a named file, unlinked or
//!   not), close-on-exec so that no child ever holds a reference to it after
//!   exec. Each `Contributors` is its own contributor, so a worker thread
//!   with its own object is one too, distinct from its process's others.
//! - **Why OFD and not classic POSIX locks.** Classic (`F_SETLK`) locks
//!   belong to the process: threads of one process never conflict, and
//!   closing *any* descriptor of the file in the process drops all of them
//!   (such as the table's own descriptor, closed by some unrelated close()).
//! - **Death.** When a process dies (SIGKILL included), the kernel closes
//!   its descriptors before its parent is told (`exit_files` comes before
//!   `exit_notify` in `do_exit`), so the locks are gone by the time anyone
//!   can see the exit. No PID is stored or compared, so PID reuse and PID
//!   namespaces do not matter. A `fork` without `exec` shares the OFD, so a
//!   forked child would keep the locks alive; close-on-exec limits that to
//!   the moment between fork and exec.
//!
//! # Kernel contract
//!
//! `fcntl(2)`: OFD locks need Linux 3.15 (an older kernel answers EINVAL to
//! the unknown command, reported here as [`io::ErrorKind::Unsupported`]);
//! `l_pid` must be 0 on input (else EINVAL); `l_whence = SEEK_SET`; a
//! conflicting `F_OFD_SETLK` fails with EAGAIN or EACCES; `F_OFD_GETLK`
//! leaves `l_type = F_UNLCK` when the lock could be placed, or describes one
//! conflicting lock (`l_len = 0` meaning "to the end of all files"), with
//! `l_pid = -1` if that lock is an OFD lock. Locks of the calling OFD never
//! conflict with its own requests. The kernel merges adjacent locks of one
//! owner, so a reported lock may cover several slots.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::shm::{errno, from_syscall, with_context};

/// The most slots a table's contributors may use.
pub const MAX_SLOTS: u32 = 4096;

/// Byte offset of slot 0's OWNER lock (2^40).
pub const OWNER_BASE: i64 = 1 << 40;

/// Byte offset of slot 0's READY lock (2^41).
pub const READY_BASE: i64 = 1 << 41;

/// One contributor of a table: its own open file description of the table's
/// file, and the slot it holds through it (see the module's documentation).
///
/// Dropping it closes that descriptor, which releases its locks.
#[derive(Debug)]
pub struct Contributors {
    /// Our own open file description; `None` only after an unlock failed
    /// and [`Contributors::release`] closed it to let go of the locks.
    file: Option<File>,
    slot: Option<u32>,
    ready: bool,
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn check_max(max: u32) -> io::Result<()> {
    if max == 0 || max > MAX_SLOTS {
        return Err(invalid_input(format!(
            "max must be from 1 to {MAX_SLOTS}, got {max}"
        )));
    }
    Ok(())
}

/// A `struct flock` for `F_OFD_*` commands: `l_pid` 0 as the kernel
/// requires, offsets from the start of the file.
fn flock(kind: libc::c_int, start: i64, len: i64) -> libc::flock {
    // SAFETY: `flock` is plain old data, for which all-zero bytes are a
    // valid value (and zero is what `l_pid` and any padding must be).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = start;
    fl.l_len = len;
    fl
}

/// `fcntl(fd, cmd, fl)` for the lock commands, retried on EINTR (which the
/// non-blocking commands can return too, see fcntl(2)).
fn fcntl_lock(file: &File, cmd: libc::c_int, fl: &mut libc::flock) -> io::Result<()> {
    loop {
        // SAFETY: `file` owns an open descriptor for the duration of the
        // call, and `fl` points to a valid, writable `struct flock`, which
        // is what the F_OFD_* commands read (and F_OFD_GETLK writes).
        let ret = unsafe { libc::fcntl(file.as_raw_fd(), cmd, fl as *mut libc::flock) };
        if ret != -1 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EINVAL) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "this kernel refuses open file description locks ({err}); \
                         they need Linux 3.15 or later"
                    ),
                ))
            }
            _ => return Err(err),
        }
    }
}

/// Says which bytes of the table's file were being locked (keeping the OS
/// error number; an `Unsupported` error already says all).
fn lock_context(err: io::Error, what: &str, start: i64, len: i64) -> io::Error {
    if err.kind() == io::ErrorKind::Unsupported {
        return err;
    }
    with_context(
        from_syscall(err, "fcntl", None),
        format!(
            "cannot {what} bytes [{start}, {}) of the table's file",
            start + len
        ),
    )
}

/// Takes the 1-byte write lock at `offset` without waiting: `Ok(false)` if
/// another open file description holds a lock there.
fn try_lock(file: &File, offset: i64) -> io::Result<bool> {
    let mut fl = flock(libc::F_WRLCK, offset, 1);
    match fcntl_lock(file, libc::F_OFD_SETLK, &mut fl) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => Ok(false),
        Err(e) => Err(lock_context(e, "lock", offset, 1)),
    }
}

fn unlock(file: &File, offset: i64) -> io::Result<()> {
    let mut fl = flock(libc::F_UNLCK, offset, 1);
    fcntl_lock(file, libc::F_OFD_SETLK, &mut fl).map_err(|e| lock_context(e, "unlock", offset, 1))
}

/// One lock of another open file description overlapping the `len` bytes at
/// `start`, as the byte range `[from, to)` (any one, if several do), or
/// `None` if no other holds a lock there.
fn conflict(file: &File, start: i64, len: i64) -> io::Result<Option<(i64, i64)>> {
    let mut fl = flock(libc::F_WRLCK, start, len);
    fcntl_lock(file, libc::F_OFD_GETLK, &mut fl)
        .map_err(|e| lock_context(e, "query the locks of", start, len))?;
    if fl.l_type == libc::F_UNLCK as libc::c_short {
        return Ok(None);
    }
    // The kernel reports l_len 0 for a lock to the end of all files, and
    // (since it normalises ranges) never a negative one; be safe anyway.
    let (from, to) = match fl.l_len {
        0 => (fl.l_start, i64::MAX),
        n if n > 0 => (fl.l_start, fl.l_start.saturating_add(n)),
        n => (fl.l_start.saturating_add(n), fl.l_start),
    };
    Ok(Some((from, to)))
}

/// `st_dev` and `st_ino` of a descriptor this process may or may not hold,
/// and whether it is a regular file.
fn identity(fd: RawFd) -> io::Result<(u64, u64, bool)> {
    // SAFETY: `stat` is plain old data; all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on any integer is safe (EBADF when it is not open), and
    // `st` is a valid, writable `struct stat`.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(with_context(
            from_syscall(io::Error::last_os_error(), "fstat", None),
            format!("descriptor {fd}"),
        ));
    }
    let regular = st.st_mode & libc::S_IFMT == libc::S_IFREG;
    Ok((st.st_dev as u64, st.st_ino, regular))
}

impl Contributors {
    /// A new contributor over the table file behind `fd` (a descriptor this
    /// process holds; it is neither closed nor changed): opens
    /// `/proc/self/fd/<fd>` again, read-write and close-on-exec, for an open
    /// file description of its own, and checks that it is the same file.
    ///
    /// Errors: EBADF if `fd` is not open, `InvalidInput` if it is not a
    /// regular file, the OS error of the reopen otherwise (ENOENT when
    /// `/proc` is not mounted, or is not this process's).
    pub fn open(fd: RawFd) -> io::Result<Contributors> {
        if fd < 0 {
            return Err(with_context(
                io::Error::from_raw_os_error(libc::EBADF),
                format!("descriptor {fd}"),
            ));
        }
        let (dev, ino, regular) = identity(fd)?;
        if !regular {
            return Err(invalid_input(format!(
                "descriptor {fd} is not a regular file, so not a table"
            )));
        }
        let path = format!("/proc/self/fd/{fd}");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY)
            .open(&path)
            .map_err(|e| from_syscall(e, "open", Some(Path::new(&path))))
            .map_err(|e| {
                let proc_missing =
                    errno(&e) == Some(libc::ENOENT) && std::fs::metadata("/proc/self/fd").is_err();
                if proc_missing {
                    with_context(
                        e,
                        format!(
                            "cannot open {path}: /proc/self/fd is missing (/proc is not \
                             mounted, or is another PID namespace's), and a contributor needs \
                             it to open the table's file again"
                        ),
                    )
                } else {
                    with_context(e, format!("cannot open {path} again"))
                }
            })?;
        let meta = file.metadata()?;
        if (meta.dev(), meta.ino()) != (dev, ino) {
            // The descriptor was closed and reused between the two looks.
            return Err(with_context(
                io::Error::from_raw_os_error(libc::EBADF),
                format!("descriptor {fd} changed while it was opened again"),
            ));
        }
        Ok(Contributors {
            file: Some(file),
            slot: None,
            ready: false,
        })
    }

    fn file(&self) -> io::Result<&File> {
        self.file.as_ref().ok_or_else(|| {
            io::Error::other("this contributor's file is closed (close(), or a failed unlock)")
        })
    }

    /// The slot this contributor holds, if any.
    pub fn slot(&self) -> Option<u32> {
        self.slot
    }

    /// Whether [`Contributors::ready`] was called since the slot was claimed.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// This contributor's own descriptor (for tests), `None` once closed.
    pub fn as_raw_fd(&self) -> Option<RawFd> {
        self.file.as_ref().map(|f| f.as_raw_fd())
    }

    /// Claims the lowest slot below `max` whose OWNER lock nobody holds, or
    /// `None` if all are held. The caller clears the slot's leftovers, then
    /// calls [`Contributors::ready`]. `InvalidInput` if `max` is 0 or above
    /// [`MAX_SLOTS`], or if this contributor already holds a slot.
    pub fn claim(&mut self, max: u32) -> io::Result<Option<u32>> {
        check_max(max)?;
        if let Some(slot) = self.slot {
            return Err(invalid_input(format!(
                "this contributor already holds slot {slot}; release() it first"
            )));
        }
        let file = self.file()?;
        for slot in 0..max {
            if try_lock(file, OWNER_BASE + i64::from(slot))? {
                self.slot = Some(slot);
                self.ready = false;
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }

    /// Takes the READY lock of the claimed slot: from now on the slot counts
    /// as live for every reader. Calling it again is harmless.
    /// `InvalidInput` without a claimed slot; `WouldBlock` (EAGAIN) if some
    /// other open file description holds READY of our slot, which no
    /// contributor does (READY is only taken under OWNER).
    pub fn ready(&mut self) -> io::Result<()> {
        let Some(slot) = self.slot else {
            return Err(invalid_input("ready() needs a claimed slot".into()));
        };
        if self.ready {
            return Ok(());
        }
        if !try_lock(self.file()?, READY_BASE + i64::from(slot))? {
            return Err(with_context(
                io::Error::from_raw_os_error(libc::EAGAIN),
                format!(
                    "the READY lock of slot {slot} is held by another open file description, \
                     not a contributor"
                ),
            ));
        }
        self.ready = true;
        Ok(())
    }

    /// The slots below `max` that are live — their READY lock held, by
    /// another open file description or by this contributor — in ascending
    /// order. Each slot is as it was at some moment during the call.
    ///
    /// One `F_OFD_GETLK` over the whole READY range reports one lock held in
    /// it; the slots it covers are live, and the ranges on either side are
    /// asked the same way: 2 × (locks found) + 1 calls.
    pub fn live(&self, max: u32) -> io::Result<Vec<u32>> {
        check_max(max)?;
        let file = self.file()?;
        let mut found = Vec::new();
        let mut todo = vec![(0u32, max)];
        while let Some((lo, hi)) = todo.pop() {
            if lo >= hi {
                continue;
            }
            let start = READY_BASE + i64::from(lo);
            let Some((from, to)) = conflict(file, start, i64::from(hi - lo))? else {
                continue;
            };
            // The slots [s, e) the lock covers within [lo, hi).
            let s = from
                .saturating_sub(READY_BASE)
                .clamp(i64::from(lo), i64::from(hi));
            let e = to
                .saturating_sub(READY_BASE)
                .clamp(i64::from(lo), i64::from(hi));
            if s >= e {
                return Err(io::Error::other(format!(
                    "the kernel reported a lock at [{from}, {to}) for the range of slots \
                     [{lo}, {hi})"
                )));
            }
            // Both are within [lo, hi] ⊆ [0, MAX_SLOTS], so they fit a u32.
            let (s, e) = (s as u32, e as u32);
            found.extend(s..e);
            todo.push((e, hi));
            todo.push((lo, s));
        }
        if let (true, Some(slot)) = (self.ready, self.slot) {
            if slot < max {
                found.push(slot);
            }
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    /// Lets go of the slot: READY first (the slot stops counting), then
    /// OWNER (another contributor may claim it). Without a slot, nothing.
    /// Should an unlock fail (the kernel can only fail an unlock that splits
    /// a lock, which these 1-byte locks never need), the descriptor is
    /// closed instead, which drops both at once; later calls then fail.
    pub fn release(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let ready = std::mem::replace(&mut self.ready, false);
        let Some(file) = &self.file else {
            return;
        };
        let unlocked = (!ready || unlock(file, READY_BASE + i64::from(slot)).is_ok())
            && unlock(file, OWNER_BASE + i64::from(slot)).is_ok();
        if !unlocked {
            self.file = None;
        }
    }

    /// Lets go of the slot and closes our descriptor now, rather than when
    /// this is dropped (a JS owner is dropped only when it is collected).
    /// Later calls fail as after a failed unlock.
    pub fn close(&mut self) {
        self.release();
        self.file = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel before 3.15 answers the unknown F_OFD_* commands with EINVAL,
    /// as this one answers a command number no kernel has: `Unsupported`.
    #[test]
    fn an_unknown_lock_command_is_reported_as_unsupported() {
        let file = File::open("/proc/self/exe").unwrap();
        let mut fl = flock(libc::F_RDLCK, 0, 1);
        let err = fcntl_lock(&file, 0x7ff0, &mut fl).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().contains("Linux 3.15"), "{err}");
    }
}
