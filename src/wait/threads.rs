//! The fallback wait backend, for kernels or sandboxes without io_uring
//! futex waits (before Linux 6.7, io_uring refused by seccomp, or disabled):
//! a thread per distinct word waited on, sleeping in
//! [`futex::wait_words`] (futex_waitv on both halves of a 64-bit value
//! where the kernel allows it, else plain `FUTEX_WAIT`, see there).
//!
//! Waits on the same words with the same expected values form a group and
//! share the group's thread: one kernel waiter stands for all of them, and
//! a wake that reaches it ends every wait of the group (a notify counts it
//! as one waiter; the extra wakeups are spurious wakeups, which callers
//! re-check). Waits on distinct words never share a kernel waiter.
//!
//! Timeouts are kept by one timer thread (started with the first wait that
//! has one). A group that ends without a wake (its waits cancelled or timed
//! out) is only taken out of the map: its thread sleeps on, on the value's
//! words alone, and leaves at its next wake-up. That is a wake (which the
//! kernel counted as reaching a waiter: the thread passes it on to the
//! word's next waiter, so no `notify(key, 1)` is swallowed) or the end of
//! its sleep, which lasts at most [`LINGER`]. Nothing but a notify or a
//! change of the value ever wakes a group's thread early, so a wake it
//! gets is always a notify's (or the kernel's spurious one). Until it
//! leaves, a new wait on the same words and values takes it up again as
//! its group, so waits that keep timing out or being aborted on one key
//! cost one thread, not one each.
//!
//! A thread whose group ended waits up to [`LINGER`] for a new group before
//! it exits. A wait is armed when its thread has gone to sleep, a few
//! microseconds after `add` returns (at once when its group's thread
//! already sleeps): a notify that comes with no change of the value in
//! between is not seen; a change is (the thread compares as it arms).
//!
//! Reports go into the pool's inbox and make its eventfd readable.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{
    already_pending, changed, check_id, lock, shut_down, EventFd, Keep, Pool, Report, WaitId, Word,
};
use crate::futex::{self, WaitWord, WordsOutcome};

/// How long a thread whose group ended waits for another one.
pub const LINGER: Duration = Duration::from_secs(2);
/// Without futex_waitv, how late a group's thread may see a change of a
/// 64-bit value's high half that raced its arming (its slices grow to
/// this; see [`futex::wait_words_capped`]).
pub const SLICE_CAP: Duration = Duration::from_secs(1);
/// Stack of a group's thread: it only sleeps in a system call.
const STACK: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    word: Word,
    high: Option<Word>,
}

struct Group {
    /// Tells the group's thread that the group in the map is still its
    /// own (a later group for the same words has another token).
    token: Arc<()>,
    waits: Vec<WaitId>,
}

struct Job {
    key: Key,
    token: Arc<()>,
    keep: Keep,
}

#[derive(Default)]
struct State {
    groups: HashMap<Key, Group>,
    /// Threads whose group ended without a wake and that still sleep on its
    /// words (their group's token): a new wait on the same words and
    /// values becomes their group again instead of taking a new thread.
    ghosts: HashMap<Key, Arc<()>>,
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

/// Removes `id` from its group, and the group from the map once empty (its
/// thread leaves at its next wake-up).
fn withdraw(st: &mut State, id: WaitId) {
    let Some((key, _)) = st.of.remove(&id) else {
        return;
    };
    if let Some(group) = st.groups.get_mut(&key) {
        group.waits.retain(|&w| w != id);
        if group.waits.is_empty() {
            if let Some(g) = st.groups.remove(&key) {
                st.ghosts.insert(key, g.token);
            }
        }
    }
}

/// A group's thread leaves: it is no longer a ghost that a new wait could
/// take up.
fn leave(st: &mut State, key: &Key, token: &Arc<()>) {
    if st.ghosts.get(key).is_some_and(|t| Arc::ptr_eq(t, token)) {
        st.ghosts.remove(key);
    }
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
        check_id(id)?;
        let key = Key { word, high };
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = lock(&self.shared.state);
        if st.shutdown {
            return Err(shut_down());
        }
        if st.of.contains_key(&id) {
            return Err(already_pending());
        }
        // A word that no longer holds its value: woken now (as the kernel
        // would answer when the thread arms the wait).
        // SAFETY: the caller's contract: the words are mapped while `keep`
        // lives, and it lives for this call.
        if unsafe { changed(word) || high.is_some_and(|h| changed(h)) } {
            // Under the state lock, as every delivery (see `serve_group`).
            self.shared.deliver(vec![(id, Report::Woken)]);
            return Ok(());
        }
        if let Some(group) = st.groups.get_mut(&key) {
            // Its thread already sleeps on exactly these words and values.
            group.waits.push(id);
        } else if let Some(token) = st.ghosts.remove(&key) {
            // So does a ghost (their values were checked just above): the
            // group is its own again.
            st.groups.insert(
                key,
                Group {
                    token,
                    waits: vec![id],
                },
            );
        } else {
            let token = Arc::new(());
            st.groups.insert(
                key,
                Group {
                    token: token.clone(),
                    waits: vec![id],
                },
            );
            st.jobs.push_back(Job { key, token, keep });
            // Every queued job needs a thread of its own: an idle thread
            // that was signalled counts as idle until it takes its job, so
            // compare counts rather than asking whether one is idle.
            if st.jobs.len() <= st.idle {
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
                        withdraw(&mut st, id);
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
        withdraw(&mut st, id);
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
        // Group threads leave at their next wake-up (within LINGER).
        st.groups.clear();
        st.ghosts.clear();
        drop(st);
        lock(&self.shared.inbox).clear();
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
/// the group, or, once the group is gone, until its next wake-up.
fn serve_group(shared: &Shared, job: Job) {
    let Job { key, token, keep } = job;
    // `keep` (held to the end of this function) keeps the words mapped
    // while this thread may sleep on them, even after the group is gone.
    let _keep = keep;
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
    let ours = |st: &State| {
        st.groups
            .get(&key)
            .is_some_and(|g| Arc::ptr_eq(&g.token, &token))
    };
    loop {
        let deadline = Instant::now() + LINGER;
        let outcome = futex::wait_words_capped(&words, Some(deadline), SLICE_CAP);
        let report = match outcome {
            Ok(WordsOutcome::Interrupted) => continue,
            Ok(WordsOutcome::TimedOut) => {
                // No wake: go on while the group lasts.
                let mut st = lock(&shared.state);
                if ours(&st) {
                    continue;
                }
                leave(&mut st, &key, &token);
                return;
            }
            Ok(WordsOutcome::Woken | WordsOutcome::NotEqual) => Report::Woken,
            Err(ref e) => Report::Failed(e.raw_os_error().unwrap_or(libc::EIO)),
        };
        let mut st = lock(&shared.state);
        if !ours(&st) {
            leave(&mut st, &key, &token);
            // The group ended (cancelled, timed out) while this thread
            // still slept on its words, and a notify reached it: the kernel
            // counted it as a waiter. Pass the wake on to the word's next
            // waiter, or a `notify(key, 1)` would be swallowed.
            if matches!(outcome, Ok(WordsOutcome::Woken)) {
                let _ = futex::wake(low, 1);
            }
            return;
        }
        let group = st.groups.remove(&key).expect("checked above");
        for id in &group.waits {
            st.of.remove(id);
        }
        // Delivered under the state lock: `cancel` sees the wait either
        // pending or in the inbox.
        shared.deliver(group.waits.into_iter().map(|id| (id, report)).collect());
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
        while let Some(&Reverse((d, id))) = st.timers.peek() {
            if d > now {
                break;
            }
            st.timers.pop();
            // Still pending with this deadline (not reported or cancelled).
            if st.of.get(&id).is_some_and(|(_, dl)| *dl == Some(d)) {
                withdraw(&mut st, id);
                expired.push((id, Report::TimedOut));
            }
        }
        let next = st.timers.peek().map(|Reverse((d, _))| *d);
        if !expired.is_empty() {
            // Delivered under the state lock (see `serve_group`).
            shared.deliver(expired);
            drop(st);
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
