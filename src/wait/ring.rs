//! The io_uring wait backend (Linux 6.7+): every wait is its own
//! `IORING_OP_FUTEX_WAIT` request, so a wake reaches exactly the waiters it
//! counts, and each completion names its wait. One thread per pool submits
//! the requests and reaps their completions; `add` and `cancel` queue work
//! for it and kick it through an eventfd, which it keeps a read posted on.
//!
//! Only that thread submits: io_uring completes a futex wait through task
//! work of the submitting thread, so the JS thread is never interrupted.
//! A wait is armed a few microseconds after `add`; right after arming, the
//! thread checks its words again and ends the wait as woken if they changed
//! since the caller compared them (a notify that came with that change may
//! have gone by before the wait was armed).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use io_uring::{opcode, squeue, types, IoUring, Probe};

use super::{changed, Keep, Pool, Report, Reporter, WaitId, Word};

/// User data of the eventfd read.
const KICK: u64 = u64::MAX;
/// Tags on the user data of requests whose completions are not waits.
const TIMEOUT_TAG: u64 = 1 << 63;
const CANCEL_TAG: u64 = 1 << 62;
/// futex2 flags: a 32-bit, shared (not process-private) futex.
const FUTEX2_SIZE_U32: u32 = 0x02;
const FUTEX_BITSET_MATCH_ANY: u64 = 0xffff_ffff;

struct Request {
    id: WaitId,
    word: Word,
    high: Option<Word>,
    timeout: Option<Duration>,
}

enum Work {
    Add(Request),
    Cancel(WaitId),
}

struct Entry {
    /// Keeps the words mapped until the kernel is done with the request.
    _keep: Keep,
    /// Withdrawn by `cancel`: its completion is not reported.
    cancelled: bool,
    /// Its words changed before it was armed: it ends as woken.
    changed: bool,
}

struct Shared {
    work: Mutex<Vec<Work>>,
    pending: Mutex<HashMap<WaitId, Entry>>,
    kick: OwnedFd,
    shutdown: AtomicBool,
    report: Reporter,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change under these locks is a single insert, remove or push:
    // the state stays consistent if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn kick(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our eventfd. It can
        // only fail if the counter would overflow, and then a kick is
        // pending anyway.
        unsafe { libc::write(self.kick.as_raw_fd(), one.as_ptr().cast(), 8) };
    }
}

/// Pending waits on io_uring.
pub struct RingPool {
    shared: Arc<Shared>,
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, what.to_string())
}

impl RingPool {
    /// A pool, if the kernel offers io_uring futex waits (else an error,
    /// and the caller falls back to futex_waitv).
    pub fn new(report: Reporter) -> io::Result<RingPool> {
        let ring: IoUring = IoUring::builder().setup_cqsize(16384).build(256)?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in [
            (opcode::FutexWait::CODE, "IORING_OP_FUTEX_WAIT"),
            (opcode::LinkTimeout::CODE, "IORING_OP_LINK_TIMEOUT"),
            (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL"),
            (opcode::Read::CODE, "IORING_OP_READ"),
        ] {
            if !probe.is_supported(code) {
                return Err(unsupported(name));
            }
        }
        if !ring.params().is_feature_nodrop() {
            return Err(unsupported("IORING_FEAT_NODROP"));
        }
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let kick = unsafe { OwnedFd::from_raw_fd(fd) };
        let shared = Arc::new(Shared {
            work: Mutex::new(Vec::new()),
            pending: Mutex::new(HashMap::new()),
            kick,
            shutdown: AtomicBool::new(false),
            report,
        });
        let serving = shared.clone();
        thread::Builder::new()
            .name("atomic-dict-wait".into())
            .stack_size(256 * 1024)
            .spawn(move || serve(ring, serving))?;
        Ok(RingPool { shared })
    }
}

impl Pool for RingPool {
    /// See [`Pool::add`].
    ///
    /// # Safety
    /// As [`Pool::add`].
    unsafe fn add(
        &self,
        id: WaitId,
        word: Word,
        high: Option<Word>,
        timeout: Option<Duration>,
        keep: Keep,
    ) -> io::Result<()> {
        if id >= CANCEL_TAG {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "wait ids are below 2^62",
            ));
        }
        if self.shared.shutdown.load(Ordering::SeqCst) {
            return Err(io::Error::other("the wait pool is shut down"));
        }
        {
            let mut pending = lock(&self.shared.pending);
            if pending.contains_key(&id) {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "wait id is pending",
                ));
            }
            pending.insert(
                id,
                Entry {
                    _keep: keep,
                    cancelled: false,
                    changed: false,
                },
            );
        }
        lock(&self.shared.work).push(Work::Add(Request {
            id,
            word,
            high,
            timeout,
        }));
        self.shared.kick();
        Ok(())
    }

    /// See [`Pool::cancel`].
    fn cancel(&self, id: WaitId) -> bool {
        {
            let mut pending = lock(&self.shared.pending);
            match pending.get_mut(&id) {
                Some(e) if !e.cancelled => e.cancelled = true,
                _ => return false,
            }
        }
        lock(&self.shared.work).push(Work::Cancel(id));
        self.shared.kick();
        true
    }

    fn pending(&self) -> usize {
        lock(&self.shared.pending)
            .values()
            .filter(|e| !e.cancelled)
            .count()
    }

    fn threads(&self) -> usize {
        usize::from(!self.shared.shutdown.load(Ordering::SeqCst))
    }

    /// Ends the thread; closing the ring withdraws every request.
    fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for e in lock(&self.shared.pending).values_mut() {
            e.cancelled = true;
        }
        self.shared.kick();
    }
}

impl Drop for RingPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Pushes `entries` as one contiguous run (a linked pair must not be split
/// between submissions), submitting first when the queue lacks room.
fn push(ring: &mut IoUring, entries: &[squeue::Entry]) -> io::Result<()> {
    loop {
        // SAFETY: every entry's buffers (the eventfd buffer, timeouts) stay
        // valid until the kernel has consumed them (see `serve`).
        if unsafe { ring.submission().push_multiple(entries) }.is_ok() {
            return Ok(());
        }
        ring.submit()?;
    }
}

fn map_result(entry: &Entry, result: i32) -> Report {
    match -result {
        0 | libc::EAGAIN => Report::Woken, // woken, or changed before it slept
        libc::ECANCELED if entry.changed => Report::Woken,
        libc::ECANCELED => Report::TimedOut, // its linked timeout fired
        errno => Report::Failed(errno),
    }
}

/// The pool's thread: submits queued work, reaps completions.
fn serve(mut ring: IoUring, shared: Arc<Shared>) {
    let mut kick_buf = Box::new([0u8; 8]);
    let read_kick = |buf: &mut [u8; 8]| {
        opcode::Read::new(types::Fd(shared.kick.as_raw_fd()), buf.as_mut_ptr(), 8)
            .build()
            .user_data(KICK)
    };
    if push(&mut ring, &[read_kick(&mut kick_buf)]).is_err() {
        return;
    }
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            return; // dropping the ring withdraws every request
        }
        // Submit what `add` and `cancel` queued.
        let work = std::mem::take(&mut *lock(&shared.work));
        let mut added = Vec::new();
        // Link timeouts must stay valid until submitted: kept here.
        let mut timeouts: Vec<Box<types::Timespec>> = Vec::new();
        let mut failed = false;
        for w in work {
            let r = match w {
                Work::Add(req) => {
                    let wait = opcode::FutexWait::new(
                        req.word.addr as *const u32,
                        u64::from(req.word.expected),
                        FUTEX_BITSET_MATCH_ANY,
                        FUTEX2_SIZE_U32,
                    )
                    .build()
                    .user_data(req.id);
                    let r = match req.timeout {
                        None => push(&mut ring, &[wait]),
                        Some(t) => {
                            let ts = Box::new(types::Timespec::from(t));
                            let link = opcode::LinkTimeout::new(&*ts)
                                .build()
                                .user_data(req.id | TIMEOUT_TAG);
                            timeouts.push(ts);
                            push(&mut ring, &[wait.flags(squeue::Flags::IO_LINK), link])
                        }
                    };
                    added.push(req);
                    r
                }
                Work::Cancel(id) => push(
                    &mut ring,
                    &[opcode::AsyncCancel::new(id)
                        .build()
                        .user_data(id | CANCEL_TAG)],
                ),
            };
            failed |= r.is_err();
        }
        if !added.is_empty() || failed {
            // Arm them now, then look at their words again.
            let _ = ring.submit();
            drop(timeouts);
            let mut pending = lock(&shared.pending);
            for req in &added {
                // SAFETY: the entry (and its `keep`) is in `pending` until
                // its completion is reaped below, so the words are mapped.
                let moved = unsafe { changed(req.word) || req.high.is_some_and(|h| changed(h)) };
                if let Some(e) = pending.get_mut(&req.id).filter(|_| moved) {
                    e.changed = true;
                    let cancel = opcode::AsyncCancel::new(req.id)
                        .build()
                        .user_data(req.id | CANCEL_TAG);
                    let _ = push(&mut ring, &[cancel]);
                }
            }
        }
        // Wait for a completion (a kick, a wake, a timeout, a cancel).
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) => {
                // The ring is unusable: fail every pending wait and stop.
                let errno = e.raw_os_error().unwrap_or(libc::EIO);
                let reports: Vec<_> = lock(&shared.pending)
                    .drain()
                    .filter(|(_, e)| !e.cancelled)
                    .map(|(id, _)| (id, Report::Failed(errno)))
                    .collect();
                (shared.report)(reports);
                return;
            }
        }
        let mut reports = Vec::new();
        let mut rearm_kick = false;
        {
            let mut pending = lock(&shared.pending);
            for cqe in ring.completion() {
                let data = cqe.user_data();
                if data == KICK {
                    rearm_kick = true;
                } else if data & (TIMEOUT_TAG | CANCEL_TAG) == 0 {
                    if let Some(e) = pending.remove(&data) {
                        if !e.cancelled {
                            reports.push((data, map_result(&e, cqe.result())));
                        }
                    }
                }
            }
        }
        if rearm_kick && push(&mut ring, &[read_kick(&mut kick_buf)]).is_err() {
            return;
        }
        if !reports.is_empty() {
            (shared.report)(reports);
        }
    }
}
