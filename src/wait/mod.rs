//! Many pending waits on words of shared memory without a thread each, for
//! `waitAsync`. Two backends with one interface:
//! - [`ring`]: io_uring futex waits (Linux 6.7): every wait is its own
//!   kernel waiter, woken and counted exactly, reaped by one thread;
//! - [`waitv`]: `futex_waitv` (Linux 5.16), the fallback, with the limit
//!   its module describes.
//!
//! [`WaitPool::new`] takes io_uring when the kernel offers it (unless
//! `ATOMIC_DICT_WAIT_BACKEND=futex_waitv`). A wait ends in exactly one
//! report unless it is cancelled first: `Woken` (a wake reached it, or its
//! word changed before it was armed: callers re-check), `TimedOut`, or
//! `Failed(errno)`. Reports go to the `Reporter`, from the backend's thread.

use std::any::Any;
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub mod ring;
pub mod waitv;

/// A wait's identity, chosen by the caller (below 2^63).
pub type WaitId = u64;

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    Woken,
    TimedOut,
    Failed(i32),
}

/// What a pool calls with finished waits.
pub type Reporter = Box<dyn Fn(Vec<(WaitId, Report)>) + Send + Sync>;

/// Keeps the memory of a waited-on word mapped while the wait is pending.
pub type Keep = Arc<dyn Any + Send + Sync>;

/// A word to wait on, or to check: its address and expected value.
#[derive(Clone, Copy, Debug)]
pub struct Word {
    /// Address of an aligned u32.
    pub addr: usize,
    pub expected: u32,
}

/// Which backend a pool runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    IoUring,
    FutexWaitv,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::IoUring => "io_uring",
            Backend::FutexWaitv => "futex_waitv",
        }
    }
}

/// What each backend does; [`WaitPool`] hands calls to one of them.
pub trait Pool: Send + Sync {
    /// Waits on `word` while it holds its expected value (and `high`, when
    /// given, holds its own: the high half of a 64-bit value), for
    /// `timeout` (`None`: no timeout). `id` must not be pending already.
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

    /// Withdraws a pending wait (it gets no report); false if it was not
    /// pending.
    fn cancel(&self, id: WaitId) -> bool;

    /// Waits added and not yet reported or cancelled.
    fn pending(&self) -> usize;

    /// Threads the pool runs.
    fn threads(&self) -> usize;

    /// Ends the pool's threads; pending waits get no report. Idempotent.
    fn shutdown(&self);
}

/// Pending waits of one JS thread, on the backend the kernel allows; its
/// methods are [`Pool`]'s.
pub struct WaitPool {
    pool: Box<dyn Pool>,
    backend: Backend,
}

impl WaitPool {
    /// The io_uring backend when the kernel has it, else futex_waitv.
    pub fn new(report: Reporter) -> WaitPool {
        let forced = std::env::var("ATOMIC_DICT_WAIT_BACKEND").ok();
        WaitPool::with_backend(
            report,
            if forced.as_deref() == Some("futex_waitv") {
                Backend::FutexWaitv
            } else {
                Backend::IoUring
            },
        )
    }

    /// A pool of `backend`, falling back to futex_waitv when io_uring is
    /// not available.
    pub fn with_backend(report: Reporter, backend: Backend) -> WaitPool {
        let report = Arc::new(report);
        if backend == Backend::IoUring {
            let r = report.clone();
            if let Ok(pool) = ring::RingPool::new(Box::new(move |reports| r(reports))) {
                return WaitPool {
                    pool: Box::new(pool),
                    backend: Backend::IoUring,
                };
            }
        }
        let pool = waitv::WaitvPool::new(Box::new(move |reports| report(reports)));
        WaitPool {
            pool: Box::new(pool),
            backend: Backend::FutexWaitv,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl std::ops::Deref for WaitPool {
    type Target = dyn Pool;

    fn deref(&self) -> &(dyn Pool + 'static) {
        &*self.pool
    }
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
