//! The io_uring wait backend (Linux 6.7+): every wait is its own
//! `IORING_OP_FUTEX_WAIT` request (`IORING_OP_FUTEX_WAITV` on both halves
//! of a 64-bit value), so a wake reaches exactly the waiters it counts,
//! each completion names its wait, and the kernel compares every word as it
//! arms the wait (a value that changed before that ends the wait at once).
//!
//! The ring belongs to the thread that made the pool (the JS thread): `add`
//! submits its request before it returns, so the wait is armed then, and
//! the kernel completes it as task work of that thread, into the ring. An
//! eventfd registered with the ring becomes readable on each completion;
//! the binding polls it in the thread's own event loop and calls `reap`.
//! No thread of ours stands between a wake and JS.
//!
//! Memory handed to the kernel: a request's timeout and futex_waitv array
//! are read when the kernel takes the request up, but are kept anyway in
//! the wait's entry until its completion is reaped (or the ring is
//! closed), so no buffer dies while the kernel may read it, whatever a
//! submission returned. The entry also holds the `Keep` of the mapping its
//! words live in. No request of this module reads into user memory.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::time::Duration;

use io_uring::{opcode, squeue, types, IoUring, Probe};

use super::{
    already_pending, check_id, lock, shut_down, EventFd, Keep, Pool, Report, WaitId, Word,
};

/// Tags on the user data of requests whose completions are not waits.
const TIMEOUT_TAG: u64 = 1 << 63;
const CANCEL_TAG: u64 = 1 << 62;
/// futex2 flags: a 32-bit, shared (not process-private) futex.
const FUTEX2_SIZE_U32: u32 = 0x02;
const FUTEX_BITSET_MATCH_ANY: u64 = 0xffff_ffff;
/// How many times `submit` retries a busy ring (reaping in between) before
/// it gives up with the error.
const BUSY_RETRIES: usize = 64;

struct Entry {
    /// Keeps the words mapped until the kernel is done with the request.
    _keep: Keep,
    /// The request's link timeout and futex_waitv array, if any: alive
    /// until the completion is reaped (see the module doc).
    _timeout: Option<Box<types::Timespec>>,
    _waitv: Option<Box<[types::FutexWaitV; 2]>>,
    /// Withdrawn by `cancel` (or a failed submission): not reported.
    cancelled: bool,
}

struct Inner {
    /// Declared first, so dropped first: the ring is closed before the
    /// entries' buffers are freed (the kernel withdraws the requests later,
    /// from a workqueue; it copied their timeouts and waitv arrays when it
    /// took them up, so the buffers are kept only to be safe).
    ring: IoUring,
    entries: HashMap<WaitId, Entry>,
    /// Reports reaped while the ring was busy in `submit`, for `reap`.
    ready: Vec<(WaitId, Report)>,
    shutdown: bool,
    /// Test hook: this many submissions fail with EIO before they reach
    /// the kernel (`ATOMIC_DICT_TEST_RING_FAIL_SUBMITS`, read when the
    /// pool is made; 0 when unset).
    fail_submits: u32,
}

/// Pending waits on an io_uring owned by the pool's thread.
pub struct RingPool {
    inner: Mutex<Inner>,
    ready_fd: EventFd,
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, format!("io_uring lacks {what}"))
}

impl RingPool {
    /// A pool, if the kernel (and seccomp) offer io_uring futex waits:
    /// else the error, and the caller falls back.
    pub fn new() -> io::Result<RingPool> {
        let ring: IoUring = IoUring::builder().setup_cqsize(16384).build(256)?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in [
            (opcode::FutexWait::CODE, "IORING_OP_FUTEX_WAIT"),
            (opcode::FutexWaitV::CODE, "IORING_OP_FUTEX_WAITV"),
            (opcode::LinkTimeout::CODE, "IORING_OP_LINK_TIMEOUT"),
            (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL"),
        ] {
            if !probe.is_supported(code) {
                return Err(unsupported(name));
            }
        }
        if !ring.params().is_feature_nodrop() {
            return Err(unsupported("IORING_FEAT_NODROP"));
        }
        let mut ring = ring;
        smoke_test(&mut ring)?;
        let ready_fd = EventFd::new()?;
        ring.submitter().register_eventfd(ready_fd.raw())?;
        Ok(RingPool {
            inner: Mutex::new(Inner {
                ring,
                entries: HashMap::with_capacity(1024),
                ready: Vec::new(),
                shutdown: false,
                fail_submits: std::env::var("ATOMIC_DICT_TEST_RING_FAIL_SUBMITS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            }),
            ready_fd,
        })
    }
}

/// Arms a FUTEX_WAIT and a FUTEX_WAITV whose words do not hold their
/// expected values and checks that both complete with -EAGAIN: the ring
/// accepts, submits and completes futex waits here (a kernel or sandbox
/// that offers the opcodes but refuses io_uring_enter, or answers them
/// otherwise, fails here and the caller falls back).
fn smoke_test(ring: &mut IoUring) -> io::Result<()> {
    let word = std::sync::atomic::AtomicU32::new(1);
    let addr = word.as_ptr() as u64;
    let waitv = [types::FutexWaitV::new()
        .val(0)
        .uaddr(addr)
        .flags(FUTEX2_SIZE_U32)];
    let sqes = [
        opcode::FutexWait::new(word.as_ptr(), 0, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32)
            .build()
            .user_data(1),
        opcode::FutexWaitV::new(waitv.as_ptr(), 1)
            .build()
            .user_data(2),
    ];
    // SAFETY: the kernel reads `word` and `waitv` only while it issues the
    // requests, inside the io_uring_enter below (the words do not hold
    // their expected values, so neither request sleeps). A request it did
    // not take up is never submitted: on an error the caller drops the ring.
    unsafe { ring.submission().push_multiple(&sqes) }
        .map_err(|_| unsupported("room for two requests"))?;
    loop {
        match ring.submit_and_wait(2) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) if ring.completion().len() < 2 => continue,
            Ok(_) => break,
        }
    }
    let mut seen = 0;
    for cqe in ring.completion() {
        if cqe.result() != -libc::EAGAIN {
            return Err(io::Error::other(format!(
                "io_uring futex wait answered {} where -EAGAIN was due",
                cqe.result()
            )));
        }
        seen += 1;
    }
    if seen != 2 {
        return Err(unsupported("futex completions"));
    }
    Ok(())
}

fn map_result(result: i32) -> Report {
    if result >= 0 {
        // 0 for a FUTEX_WAIT; the index of the woken word for FUTEX_WAITV.
        return Report::Woken;
    }
    match -result {
        libc::EAGAIN => Report::Woken, // a word changed before it was armed
        libc::ECANCELED => Report::TimedOut, // its linked timeout fired
        errno => Report::Failed(errno),
    }
}

impl Inner {
    /// Moves completions into `out`: waits that were not withdrawn.
    fn drain(&mut self, out: &mut Vec<(WaitId, Report)>) {
        loop {
            for cqe in self.ring.completion() {
                let data = cqe.user_data();
                if data & (TIMEOUT_TAG | CANCEL_TAG) != 0 {
                    continue;
                }
                if let Some(e) = self.entries.remove(&data) {
                    if !e.cancelled {
                        out.push((data, map_result(cqe.result())));
                    }
                }
            }
            // Completions the kernel kept aside while the queue was full
            // (IORING_FEAT_NODROP): an enter flushes them into the queue.
            if !self.ring.submission().cq_overflow() {
                return;
            }
            if self.ring.submit().is_err() {
                return;
            }
        }
    }

    /// Pushes `sqes` as one run (a linked pair is never split) and submits
    /// everything queued. Room for the run and one more request is made
    /// first, so that a wait whose submission fails after its requests
    /// were queued can be followed by its cancellation (`withdraw`): the
    /// queued requests are taken up by the next submission, cancel
    /// included, in order. An error before anything was queued leaves the
    /// ring as it was.
    fn submit(&mut self, sqes: &[squeue::Entry], withdraw: Option<WaitId>) -> io::Result<()> {
        let mut busy = 0;
        loop {
            let sq = self.ring.submission();
            if sq.capacity() - sq.len() > sqes.len() {
                break;
            }
            drop(sq);
            self.enter(&mut busy)?;
        }
        // SAFETY: every buffer the entries point at (timeouts, waitv
        // arrays) lives in `self.entries` until the completion of its
        // request is reaped, or the ring is closed (module doc).
        unsafe { self.ring.submission().push_multiple(sqes) }.expect("room was made above");
        while !self.ring.submission().is_empty() {
            if let Err(e) = self.enter(&mut busy) {
                if let Some(id) = withdraw {
                    let cancel = opcode::AsyncCancel::new(id)
                        .build()
                        .user_data(id | CANCEL_TAG);
                    // SAFETY: a cancel request points at no memory. There is
                    // room: one slot was kept free above.
                    let _ = unsafe { self.ring.submission().push(&cancel) };
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// One io_uring_enter that submits what is queued, riding out EINTR
    /// and a briefly busy ring.
    fn enter(&mut self, busy: &mut usize) -> io::Result<()> {
        if self.fail_submits > 0 {
            self.fail_submits -= 1;
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        match self.ring.submit() {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(()),
            Err(e)
                if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN))
                    && *busy < BUSY_RETRIES =>
            {
                // Completions are backed up: collect them, then retry.
                *busy += 1;
                let mut out = std::mem::take(&mut self.ready);
                self.drain(&mut out);
                self.ready = out;
                Ok(())
            }
            Err(e) => Err(e),
        }
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
        check_id(id)?;
        let mut inner = lock(&self.inner);
        if inner.shutdown {
            return Err(shut_down());
        }
        if inner.entries.contains_key(&id) {
            return Err(already_pending());
        }
        let waitv = high.map(|h| {
            Box::new([word, h].map(|w| {
                types::FutexWaitV::new()
                    .val(u64::from(w.expected))
                    .uaddr(w.addr as u64)
                    .flags(FUTEX2_SIZE_U32)
            }))
        });
        let ts = timeout.map(|t| Box::new(types::Timespec::from(t)));
        let wait = match &waitv {
            Some(v) => opcode::FutexWaitV::new(v.as_ptr(), 2).build(),
            None => opcode::FutexWait::new(
                word.addr as *const u32,
                u64::from(word.expected),
                FUTEX_BITSET_MATCH_ANY,
                FUTEX2_SIZE_U32,
            )
            .build(),
        }
        .user_data(id);
        let link;
        let sqes: &[squeue::Entry] = match &ts {
            None => std::slice::from_ref(&wait),
            Some(ts) => {
                link = [
                    wait.clone().flags(squeue::Flags::IO_LINK),
                    opcode::LinkTimeout::new(&**ts)
                        .build()
                        .user_data(id | TIMEOUT_TAG),
                ];
                &link
            }
        };
        // The entry (with the buffers the requests point at) goes in first.
        inner.entries.insert(
            id,
            Entry {
                _keep: keep,
                _timeout: ts,
                _waitv: waitv,
                cancelled: false,
            },
        );
        let submitted = inner.submit(sqes, Some(id));
        if !inner.ready.is_empty() {
            self.ready_fd.signal();
        }
        if let Err(e) = submitted {
            // The requests may still be queued (with their cancel behind
            // them): the entry stays, with its buffers, until they complete
            // or the ring is closed, and is never reported.
            if let Some(entry) = inner.entries.get_mut(&id) {
                entry.cancelled = true;
            }
            return Err(e);
        }
        Ok(())
    }

    /// See [`Pool::cancel`].
    fn cancel(&self, id: WaitId) -> bool {
        let mut inner = lock(&self.inner);
        match inner.entries.get_mut(&id) {
            Some(e) if !e.cancelled => e.cancelled = true,
            Some(_) => return false,
            None => {
                // Finished, reaped while the ring was busy, not handed out
                // yet: withdraw the report.
                let before = inner.ready.len();
                inner.ready.retain(|&(w, _)| w != id);
                return inner.ready.len() != before;
            }
        }
        let cancel = opcode::AsyncCancel::new(id)
            .build()
            .user_data(id | CANCEL_TAG);
        // If the cancel cannot be submitted, the request stays armed until
        // a wake or its timeout; its completion is not reported either way.
        let _ = inner.submit(&[cancel], None);
        if !inner.ready.is_empty() {
            self.ready_fd.signal();
        }
        true
    }

    fn reap(&self, out: &mut Vec<(WaitId, Report)>) {
        self.ready_fd.clear();
        let mut inner = lock(&self.inner);
        out.append(&mut inner.ready);
        inner.drain(out);
    }

    fn fd(&self) -> RawFd {
        self.ready_fd.raw()
    }

    fn pending(&self) -> usize {
        let inner = lock(&self.inner);
        inner.entries.values().filter(|e| !e.cancelled).count() + inner.ready.len()
    }

    fn threads(&self) -> usize {
        0
    }

    /// Withdraws every wait; dropping the pool closes the ring.
    fn shutdown(&self) {
        let mut inner = lock(&self.inner);
        inner.shutdown = true;
        inner.ready.clear();
        for e in inner.entries.values_mut() {
            e.cancelled = true;
        }
    }
}
