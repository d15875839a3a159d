//! The fallback wait backend, for kernels or sandboxes without io_uring
//! futex waits (before Linux 6.7, io_uring refused by seccomp, or disabled):
//! a thread per distinct word waited on, sleeping in
//! [`futex::wait_words`] (futex_waitv on both halves of a 64-bit value and
//! the group's control word where the kernel allows it, else plain
//! `FUTEX_WAIT`, see there).
//!
//! Waits on the same words with the same expected values form a group and
//! share the group's thread: one kernel waiter stands for all of them, and
//! a wake that reaches it ends every wait of the group (a notify counts it
//! as one waiter; the extra wakeups are spurious wakeups, which callers
//! re-check). Waits on distinct words never share a kernel waiter, so no
//! wake is lost or given to the wrong wait.
//!
//! Timeouts are kept by one timer thread (started with the first wait that
//! has one). A group's control word is bumped and woken only when the group
//! is gone (emptied by cancels and timeouts, or the pool shut down), so a
//! wake of the control word never hides a wake of the value. A thread whose
//! group ended waits up to [`LINGER`] for a new group before it exits.
//!
//! Reports go into the pool's inbox and make its eventfd readable.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{changed, lock, EventFd, Keep, Pool, Report, WaitId, Word, MAX_WAIT_ID};
use crate::futex::{self, WaitWord, WordsOutcome};

/// How long a thread whose group ended waits for another one.
pub const LINGER: Duration = Duration::from_secs(2);
/// Stack of a group's thread: it only sleeps in a system call.
const STACK: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    word: Word,
    high: Option<Word>,
}

struct Group {
    /// Bumped and woken when the group is gone: its thread then leaves.
    control: Arc<AtomicU32>,
    waits: Vec<WaitId>,
}

struct Job {
    key: Key,
    control: Arc<AtomicU32>,
    keep: Keep,
}

#[derive(Default)]
struct State {
    groups: HashMap<Key, Group>,
    /// Each pending wait's group and deadline.
    of: HashMap<WaitId, (Key, Option<Instant>)>,
    timers: BinaryHeap<Reverse<(Instant, WaitId)>>,
    /// Groups no thread serves yet.
    jobs: VecDeque<Job>,
    idle: usize,
    threads: usize,
    timer_running: bool,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a job is queued or the pool shuts down.
    work: Condvar,
    /// Signalled when an earlier deadline is set or the pool shuts down.
    timer: Condvar,
    inbox: Mutex<Vec<(WaitId, Report)>>,
    ready: EventFd,
}

impl Shared {
    /// Puts reports in the inbox; callers hold the state lock (the lock
    /// order is state, then inbox).
    fn deliver(&self, reports: Vec<(WaitId, Report)>) {
        if reports.is_empty() {
            return;
        }
        lock(&self.inbox).extend(reports);
        self.ready.signal();
    }
}

fn poke(control: &AtomicU32) {
    control.fetch_add(1, Ordering::SeqCst);
    // Cannot fail for a live, aligned word; a failure would only delay
    // the thread until its word is woken or its next slice.
    let _ = futex::wake(control, u32::MAX);
}

/// Removes `id` from its group; returns the group's control word when the
/// group is now empty and gone.
fn withdraw(st: &mut State, id: WaitId) -> Option<Arc<AtomicU32>> {
    let (key, _) = st.of.remove(&id)?;
    let group = st.groups.get_mut(&key)?;
    group.waits.retain(|&w| w != id);
    if group.waits.is_empty() {
        return st.groups.remove(&key).map(|g| g.control);
    }
    None
}

/// Waits on words of shared memory, a thread per distinct word.
pub struct ThreadPool {
    shared: Arc<Shared>,
}

impl ThreadPool {
    pub fn new() -> io::Result<ThreadPool> {
        Ok(ThreadPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                timer: Condvar::new(),
                inbox: Mutex::new(Vec::new()),
                ready: EventFd::new()?,
            }),
        })
    }
}

impl Pool for ThreadPool {
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
        if id > MAX_WAIT_ID {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "wait ids are below 2^62",
            ));
        }
        let key = Key { word, high };
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = lock(&self.shared.state);
        if st.shutdown {
            return Err(io::Error::other("the wait pool is shut down"));
        }
        if st.of.contains_key(&id) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "wait id is pending",
            ));
        }
        // A word that no longer holds its value: woken now (as the kernel
        // would answer when the thread arms the wait).
        // SAFETY: the caller's contract: the words are mapped while `keep`
        // lives, and it lives for this call.
        if unsafe { changed(word) || high.is_some_and(|h| changed(h)) } {
            drop(st);
            self.shared.deliver(vec![(id, Report::Woken)]);
            return Ok(());
        }
        if let Some(group) = st.groups.get_mut(&key) {
            // Its thread already sleeps on exactly these words and values.
            group.waits.push(id);
        } else {
            let control = Arc::new(AtomicU32::new(0));
            st.groups.insert(
                key,
                Group {
                    control: control.clone(),
                    waits: vec![id],
                },
            );
            st.jobs.push_back(Job { key, control, keep });
            if st.idle > 0 {
                self.shared.work.notify_one();
            } else {
                let shared = self.shared.clone();
                let spawned = thread::Builder::new()
                    .name("atomic-dict-wait".into())
                    .stack_size(STACK)
                    .spawn(move || serve(shared));
                if let Err(e) = spawned {
                    st.jobs.pop_back();
                    st.groups.remove(&key);
                    return Err(e);
                }
                st.threads += 1;
            }
        }
        st.of.insert(id, (key, deadline));
        if let Some(d) = deadline {
            let earliest = st.timers.peek().is_none_or(|Reverse((e, _))| d < *e);
            st.timers.push(Reverse((d, id)));
            if !st.timer_running {
                let shared = self.shared.clone();
                match thread::Builder::new()
                    .name("atomic-dict-wait-timer".into())
                    .stack_size(STACK)
                    .spawn(move || keep_time(shared))
                {
                    Ok(_) => {
                        st.timer_running = true;
                        st.threads += 1;
                    }
                    Err(e) => {
                        if let Some(control) = withdraw(&mut st, id) {
                            poke(&control);
                        }
                        return Err(e);
                    }
                }
            } else if earliest {
                self.shared.timer.notify_one();
            }
        }
        Ok(())
    }

    fn cancel(&self, id: WaitId) -> bool {
        let mut st = lock(&self.shared.state);
        if !st.of.contains_key(&id) {
            // Reported already, maybe not reaped yet: withdraw the report
            // (reports are delivered under the state lock, held here).
            let mut inbox = lock(&self.shared.inbox);
            let before = inbox.len();
            inbox.retain(|&(w, _)| w != id);
            return inbox.len() != before;
        }
        if let Some(control) = withdraw(&mut st, id) {
            drop(st);
            poke(&control);
        }
        true
    }

    fn reap(&self, out: &mut Vec<(WaitId, Report)>) {
        self.shared.ready.clear();
        out.append(&mut lock(&self.shared.inbox));
    }

    fn fd(&self) -> RawFd {
        self.shared.ready.raw()
    }

    fn pending(&self) -> usize {
        lock(&self.shared.state).of.len() + lock(&self.shared.inbox).len()
    }

    fn threads(&self) -> usize {
        lock(&self.shared.state).threads
    }

    fn shutdown(&self) {
        let mut st = lock(&self.shared.state);
        st.shutdown = true;
        st.of.clear();
        st.timers.clear();
        st.jobs.clear();
        let controls: Vec<_> = st.groups.drain().map(|(_, g)| g.control).collect();
        drop(st);
        lock(&self.shared.inbox).clear();
        for c in controls {
            poke(&c);
        }
        self.shared.work.notify_all();
        self.shared.timer.notify_all();
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A group thread: serves groups until none comes for [`LINGER`].
fn serve(shared: Arc<Shared>) {
    loop {
        let job = {
            let mut st = lock(&shared.state);
            let until = Instant::now() + LINGER;
            loop {
                if st.shutdown {
                    st.threads -= 1;
                    return;
                }
                if let Some(job) = st.jobs.pop_front() {
                    break job;
                }
                let now = Instant::now();
                if now >= until {
                    st.threads -= 1;
                    return;
                }
                st.idle += 1;
                st = shared
                    .work
                    .wait_timeout(st, until - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                st.idle -= 1;
            }
        };
        serve_group(&shared, job);
    }
}

/// Sleeps on a group's words until a wake or a change ends every wait of
/// the group, or the group is gone.
fn serve_group(shared: &Shared, job: Job) {
    let Job { key, control, keep } = job;
    // `keep` (held to the end of this function) keeps the words mapped
    // while this thread may sleep on them, even after the group is gone.
    let _keep = keep;
    loop {
        let seen = control.load(Ordering::SeqCst);
        {
            let st = lock(&shared.state);
            let ours = st
                .groups
                .get(&key)
                .is_some_and(|g| Arc::ptr_eq(&g.control, &control));
            if st.shutdown || !ours {
                return;
            }
        }
        // SAFETY: the words are aligned u32s of the memory `_keep` keeps
        // mapped for the whole function.
        let (low, high) = unsafe {
            (
                &*(key.word.addr as *const AtomicU32),
                key.high.map(|h| &*(h.addr as *const AtomicU32)),
            )
        };
        let mut words = vec![WaitWord {
            word: low,
            expected: key.word.expected,
        }];
        if let (Some(h), Some(w)) = (high, key.high) {
            words.push(WaitWord {
                word: h,
                expected: w.expected,
            });
        }
        words.push(WaitWord {
            word: &control,
            expected: seen,
        });
        let outcome = futex::wait_words(&words, None);
        let report = match outcome {
            Ok(WordsOutcome::Interrupted | WordsOutcome::TimedOut) => continue,
            Ok(WordsOutcome::Woken | WordsOutcome::NotEqual) => Report::Woken,
            Err(e) => Report::Failed(e.raw_os_error().unwrap_or(libc::EIO)),
        };
        // The control word changes only once the group is gone: whatever
        // woke the thread, a group still in the map was woken (or its
        // words changed) and all its waits end.
        let mut st = lock(&shared.state);
        let ours = st
            .groups
            .get(&key)
            .is_some_and(|g| Arc::ptr_eq(&g.control, &control));
        if !ours {
            return;
        }
        let group = st.groups.remove(&key).expect("checked above");
        for id in &group.waits {
            st.of.remove(id);
        }
        // Delivered under the state lock: `cancel` sees the wait either
        // pending or in the inbox.
        shared.deliver(group.waits.into_iter().map(|id| (id, report)).collect());
        drop(st);
        return;
    }
}

/// The timer thread: ends waits whose deadline passed.
fn keep_time(shared: Arc<Shared>) {
    let mut st = lock(&shared.state);
    loop {
        if st.shutdown {
            st.threads -= 1;
            st.timer_running = false;
            return;
        }
        let now = Instant::now();
        let mut expired = Vec::new();
        let mut gone = Vec::new();
        while let Some(&Reverse((d, id))) = st.timers.peek() {
            if d > now {
                break;
            }
            st.timers.pop();
            // Still pending with this deadline (not reported or cancelled).
            if st.of.get(&id).is_some_and(|(_, dl)| *dl == Some(d)) {
                if let Some(control) = withdraw(&mut st, id) {
                    gone.push(control);
                }
                expired.push((id, Report::TimedOut));
            }
        }
        let next = st.timers.peek().map(|Reverse((d, _))| *d);
        if !expired.is_empty() || !gone.is_empty() {
            // Delivered under the state lock (see `serve_group`).
            shared.deliver(expired);
            drop(st);
            for c in &gone {
                poke(c);
            }
            st = lock(&shared.state);
            continue;
        }
        st = match next {
            Some(d) => {
                shared
                    .timer
                    .wait_timeout(st, d.saturating_duration_since(now))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => shared.timer.wait(st).unwrap_or_else(|e| e.into_inner()),
        };
    }
}
