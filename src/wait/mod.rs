//! Many pending waits on words of shared memory, for `waitAsync`, on every
//! Linux from 4.18 on. Two backends with one interface ([`Pool`]):
//! - [`ring`]: io_uring futex waits (Linux 6.7+), submitted by the thread
//!   that owns the pool (the JS thread) and completed into its ring: each
//!   wait is its own kernel waiter, woken and counted exactly, and no thread
//!   of ours stands between a wake and the JS thread;
//! - [`threads`]: a thread per distinct word waited on, sleeping in
//!   [`crate::futex::wait_words`] (futex_waitv where the kernel and seccomp
//!   allow it, else plain `FUTEX_WAIT`), for kernels or sandboxes without
//!   io_uring futex ops.
//!
//! Either way finished waits are collected by [`Pool::reap`], called by the
//! owning thread when [`Pool::fd`] (an eventfd) is readable: the binding
//! polls it in the JS thread's own event loop, so a completion costs one
//! wake-up of the JS thread and no hop through another thread.
//!
//! [`WaitPool::new`] probes the backends at run time: io_uring is used when
//! `io_uring_setup` works and the ring offers every operation it needs;
//! any error (ENOSYS on old kernels, EPERM from a seccomp profile or
//! `kernel.io_uring_disabled`, EINVAL, ENOMEM) moves to the threads backend,
//! never to the user. `ATOMIC_DICT_WAIT_BACKEND=threads` forces the fallback.
//!
//! A wait ends in exactly one report unless it is cancelled first: `Woken`
//! (a wake reached it, or its words no longer held the expected values when
//! it was armed: callers re-check), `TimedOut`, or `Failed(errno)`.

use std::any::Any;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub mod ring;
pub mod threads;

/// A wait's identity, chosen by the caller (below 2^62).
pub type WaitId = u64;

/// The largest [`WaitId`] a pool takes.
pub const MAX_WAIT_ID: WaitId = (1 << 62) - 1;

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    Woken,
    TimedOut,
    Failed(i32),
}

/// Keeps the memory of a waited-on word mapped while the wait is pending.
pub type Keep = Arc<dyn Any + Send + Sync>;

/// A word to wait on, or to check: its address and expected value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Word {
    /// Address of an aligned u32.
    pub addr: usize,
    pub expected: u32,
}

/// Which backend a pool runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    IoUring,
    Threads,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::IoUring => "io_uring",
            Backend::Threads => "threads",
        }
    }
}

/// What each backend does; [`WaitPool`] hands calls to one of them.
///
/// `add`, `cancel` and `reap` are called by the thread that made the pool
/// (the ring backend submits from it, so the kernel completes its waits as
/// that thread's task work); the other methods from any thread.
pub trait Pool: Send + Sync {
    /// Waits on `word` while it holds its expected value (and `high`, when
    /// given, holds its own: the high half of a 64-bit value), for
    /// `timeout` (`None`: no timeout). The wait is armed when `add`
    /// returns: a wake after that reaches it. `id` must be at most
    /// [`MAX_WAIT_ID`] and not pending already.
    ///
    /// # Safety
    /// `word.addr` and `high.addr` must be addresses of aligned u32s inside
    /// memory that stays mapped while `keep` is alive.
    unsafe fn add(
        &self,
        id: WaitId,
        word: Word,
        high: Option<Word>,
        timeout: Option<Duration>,
        keep: Keep,
    ) -> io::Result<()>;

    /// Withdraws a pending wait: it gets no report, even if it had
    /// finished and was not reaped yet. False if it was not pending.
    fn cancel(&self, id: WaitId) -> bool;

    /// Moves finished waits into `out` and clears [`Pool::fd`]'s readiness.
    fn reap(&self, out: &mut Vec<(WaitId, Report)>);

    /// An eventfd that is readable while [`Pool::reap`] has something to
    /// collect (it may also be readable with nothing to collect).
    fn fd(&self) -> RawFd;

    /// Waits added and not yet reaped or cancelled.
    fn pending(&self) -> usize;

    /// Threads the pool runs.
    fn threads(&self) -> usize;

    /// Withdraws every pending wait (none is reported) and ends the pool's
    /// threads; later `add`s fail. Idempotent.
    fn shutdown(&self);
}

/// Pending waits of one JS thread, on the backend the kernel allows; its
/// methods are [`Pool`]'s.
pub struct WaitPool {
    pool: Box<dyn Pool>,
    backend: Backend,
    /// Why io_uring was not used, when it was not.
    why_not_ring: Option<String>,
}

impl WaitPool {
    /// The io_uring backend when the kernel (and seccomp) offer it, else
    /// the threads backend; `ATOMIC_DICT_WAIT_BACKEND=threads` forces the
    /// latter.
    pub fn new() -> io::Result<WaitPool> {
        let forced = std::env::var("ATOMIC_DICT_WAIT_BACKEND").ok();
        WaitPool::with_backend(if forced.as_deref() == Some("threads") {
            Backend::Threads
        } else {
            Backend::IoUring
        })
    }

    /// A pool of `backend`, falling back to threads when io_uring is not
    /// available. Fails only if no eventfd can be made.
    pub fn with_backend(backend: Backend) -> io::Result<WaitPool> {
        let why_not_ring = if backend == Backend::IoUring {
            match ring::RingPool::new() {
                Ok(pool) => {
                    return Ok(WaitPool {
                        pool: Box::new(pool),
                        backend: Backend::IoUring,
                        why_not_ring: None,
                    })
                }
                Err(e) => e.to_string(),
            }
        } else {
            "not asked for".to_string()
        };
        Ok(WaitPool {
            pool: Box::new(threads::ThreadPool::new()?),
            backend: Backend::Threads,
            why_not_ring: Some(why_not_ring),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Why the io_uring backend is not in use (None when it is).
    pub fn why_not_ring(&self) -> Option<&str> {
        self.why_not_ring.as_deref()
    }
}

impl std::ops::Deref for WaitPool {
    type Target = dyn Pool;

    fn deref(&self) -> &(dyn Pool + 'static) {
        &*self.pool
    }
}

/// Checks a wait id against [`MAX_WAIT_ID`] (both backends' `add`).
fn check_id(id: WaitId) -> io::Result<()> {
    if id > MAX_WAIT_ID {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "wait ids are below 2^62",
        ));
    }
    Ok(())
}

/// The error of an `add` after `shutdown`.
fn shut_down() -> io::Error {
    io::Error::other("the wait pool is shut down")
}

/// The error of an `add` whose id is pending already.
fn already_pending() -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, "wait id is pending")
}

/// Whether the word at `addr` no longer holds `expected`.
///
/// # Safety
/// `addr` must be an aligned u32 in memory mapped for the call.
unsafe fn changed(word: Word) -> bool {
    // SAFETY: the caller's contract.
    unsafe { &*(word.addr as *const std::sync::atomic::AtomicU32) }
        .load(std::sync::atomic::Ordering::SeqCst)
        != word.expected
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change made under the pools' locks leaves their state
    // consistent at each step: keep going if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A non-blocking eventfd: the readiness a pool hands its owner.
struct EventFd(OwnedFd);

impl EventFd {
    fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Makes the fd readable.
    fn signal(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: a synchronous write of 8 bytes from a live stack buffer.
        // It fails only if the counter would overflow (then the fd is
        // readable anyway).
        unsafe { libc::write(self.0.as_raw_fd(), one.as_ptr().cast(), 8) };
    }

    /// Clears the readiness (EAGAIN when it was not set: fine).
    fn clear(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: a synchronous, non-blocking read into a live stack buffer.
        unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
    }

    fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
