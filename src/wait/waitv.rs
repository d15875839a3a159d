//! The fallback wait backend, for kernels without io_uring futex waits
//! (before 6.7, or io_uring disabled): waits are spread over groups,
//! and one thread per group blocks in `futex_waitv` on all of its group's
//! words at once (up to 127 distinct words), plus the group's control word,
//! which `add` and `cancel` bump to make the thread take up the new list.
//! 1000 pending waits on distinct words take 8 threads, on one word 1;
//! none is taken from libuv's pool.
//!
//! A kernel waiter stands for every wait of the pool on its word: one
//! `futex_waitv` call can be woken only once, so waits on the same word
//! share one entry, and a wake that reaches it ends all of them (a wake
//! counts it as one waiter).
//!
//! Its limit: `futex_waitv` reports one woken word per call, so when wakes
//! reach two words of one group before its thread runs, only one is
//! reported; the others end only when the thread re-arms and finds their
//! words changed. A wake without a change of the value can thus be lost
//! (the README says: pair every notify with a change).
//!
//! A wait ends in exactly one report, unless it is cancelled first:
//! - `Woken`: a wake reached its word, or the word no longer held the
//!   expected value when the thread (re)armed the wait (a change the wait
//!   could otherwise miss; callers treat it as a wakeup and re-check);
//! - `TimedOut`: its deadline passed;
//! - `Failed(errno)`: the system call failed.
//!
//! Reports are delivered by the `report` callback, from the group's
//! thread, outside the pool's lock.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::{changed, Keep, Pool, Report, Reporter, WaitId, Word};
use crate::futex::{self, AnyOutcome, WaitWord, WAIT_ANY_MAX};

/// Waits per group: the rest of a `futex_waitv` call after the control word.
const PER_GROUP: usize = WAIT_ANY_MAX - 1;

struct Wait {
    id: WaitId,
    /// Address of an aligned u32 inside the memory `keep` keeps mapped.
    addr: usize,
    expected: u32,
    /// A second word that must also hold its value (the high half of a
    /// 64-bit value), checked whenever the wait is (re)armed.
    high: Option<Word>,
    deadline: Option<Instant>,
    keep: Keep,
}

struct Group {
    /// Bumped (and woken) whenever `waits` changes.
    control: Arc<AtomicU32>,
    waits: Vec<Wait>,
}

#[derive(Default)]
struct State {
    groups: Vec<Group>,
    /// Which group holds each pending wait.
    group_of: HashMap<WaitId, usize>,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    report: Reporter,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent state behind
        // (every change is a single push or remove): keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Waits on words of shared memory, reporting each one's end.
pub struct WaitvPool {
    shared: Arc<Shared>,
}

fn poke(control: &AtomicU32) {
    control.fetch_add(1, Ordering::SeqCst);
    // Cannot fail for a live, aligned word; a failure would only delay
    // the thread until its next wakeup.
    let _ = futex::wake(control, u32::MAX);
}

impl WaitvPool {
    pub fn new(report: Reporter) -> WaitvPool {
        WaitvPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                report,
            }),
        }
    }
}

impl Pool for WaitvPool {
    /// Waits on `word` while it holds its expected value (and `high`, when
    /// given, holds its own), for `timeout` (`None`: no timeout). `id` must
    /// not be pending already.
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
    ) -> io::Result<()> {
        let Word { addr, expected } = word;
        let mut st = self.shared.lock();
        if st.shutdown {
            return Err(io::Error::other("the wait pool is shut down"));
        }
        if st.group_of.contains_key(&id) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "wait id is pending",
            ));
        }
        // The group already waiting on this word, else one with room for
        // another word.
        let index = match st
            .groups
            .iter()
            .position(|g| g.waits.iter().any(|w| w.addr == addr))
            .or_else(|| st.groups.iter().position(|g| distinct_words(g) < PER_GROUP))
        {
            Some(i) => i,
            None => {
                let i = st.groups.len();
                let control = Arc::new(AtomicU32::new(0));
                let shared = self.shared.clone();
                thread::Builder::new()
                    .name(format!("atomic-dict-wait-{i}"))
                    .stack_size(64 * 1024)
                    .spawn(move || serve(shared, i))?;
                st.groups.push(Group {
                    control,
                    waits: Vec::new(),
                });
                i
            }
        };
        let group = &mut st.groups[index];
        group.waits.push(Wait {
            id,
            addr,
            expected,
            high,
            deadline: timeout.and_then(|t| Instant::now().checked_add(t)),
            keep,
        });
        let control = group.control.clone();
        st.group_of.insert(id, index);
        drop(st);
        poke(&control);
        Ok(())
    }

    /// Withdraws a pending wait (it gets no report); false if it was not
    /// pending (already reported, or never added).
    fn cancel(&self, id: WaitId) -> bool {
        let mut st = self.shared.lock();
        let Some(index) = st.group_of.remove(&id) else {
            return false;
        };
        let group = &mut st.groups[index];
        group.waits.retain(|w| w.id != id);
        let control = group.control.clone();
        drop(st);
        poke(&control);
        true
    }

    /// Waits added and not yet reported or cancelled.
    fn pending(&self) -> usize {
        self.shared.lock().group_of.len()
    }

    /// Threads serving groups.
    fn threads(&self) -> usize {
        self.shared.lock().groups.len()
    }

    /// Ends every thread; pending waits get no report. Idempotent.
    fn shutdown(&self) {
        let mut st = self.shared.lock();
        st.shutdown = true;
        st.group_of.clear();
        let controls: Vec<_> = st
            .groups
            .iter_mut()
            .map(|g| {
                g.waits.clear();
                g.control.clone()
            })
            .collect();
        drop(st);
        for c in &controls {
            poke(c);
        }
    }
}

impl Drop for WaitvPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn distinct_words(g: &Group) -> usize {
    let mut addrs: Vec<usize> = g.waits.iter().map(|w| w.addr).collect();
    addrs.sort_unstable();
    addrs.dedup();
    addrs.len()
}

/// Removes the wait `id` from group `index` if it is still pending there.
fn take(st: &mut State, index: usize, id: WaitId) -> bool {
    if st.group_of.get(&id) != Some(&index) {
        return false;
    }
    st.group_of.remove(&id);
    st.groups[index].waits.retain(|w| w.id != id);
    true
}

/// A group's thread.
fn serve(shared: Arc<Shared>, index: usize) {
    loop {
        // Under the lock: end waits that expired or whose word changed;
        // collect the words the others wait on, one entry per word.
        let mut reports = Vec::new();
        let (control, seen, armed, deadline) = {
            let mut st = shared.lock();
            if st.shutdown {
                return;
            }
            let now = Instant::now();
            let State {
                groups, group_of, ..
            } = &mut *st;
            let group = &mut groups[index];
            group.waits.retain(|w| {
                let end = if w.deadline.is_some_and(|d| d <= now) {
                    Some(Report::TimedOut)
                // SAFETY: `add`'s contract: the words are aligned u32s in
                // memory kept mapped by the wait's `keep`, alive here.
                } else if unsafe {
                    let low = Word {
                        addr: w.addr,
                        expected: w.expected,
                    };
                    changed(low) || w.high.is_some_and(|h| changed(h))
                } {
                    Some(Report::Woken)
                } else {
                    None
                };
                if let Some(r) = end {
                    group_of.remove(&w.id);
                    reports.push((w.id, r));
                }
                end.is_none()
            });
            // Every remaining wait on a word expects the value it holds, so
            // waits on one word agree on `expected`.
            let mut armed: Vec<(usize, u32, Keep)> = Vec::new();
            for w in &group.waits {
                if !armed.iter().any(|a| a.0 == w.addr) {
                    armed.push((w.addr, w.expected, w.keep.clone()));
                }
            }
            let deadline = group.waits.iter().filter_map(|w| w.deadline).min();
            let control = group.control.clone();
            let seen = control.load(Ordering::SeqCst);
            (control, seen, armed, deadline)
        };
        if !reports.is_empty() {
            (shared.report)(reports);
            continue;
        }
        let words: Vec<WaitWord> = std::iter::once(WaitWord {
            word: &control,
            expected: seen,
        })
        .chain(armed.iter().map(|&(addr, expected, _)| WaitWord {
            // SAFETY: as above; `armed` holds a clone of each word's `keep`
            // until this call returns.
            word: unsafe { &*(addr as *const AtomicU32) },
            expected,
        }))
        .collect();
        let outcome = futex::wait_any(&words, deadline);
        drop(words);
        match outcome {
            // The control word (the list changed), a deadline, a signal, or
            // a word that changed: the next round sorts it out.
            Ok(AnyOutcome::Woken(0))
            | Ok(AnyOutcome::TimedOut)
            | Ok(AnyOutcome::Interrupted)
            | Ok(AnyOutcome::NotEqual) => {}
            Ok(AnyOutcome::Woken(i)) => {
                let addr = armed[i - 1].0;
                let mut st = shared.lock();
                let ids: Vec<WaitId> = st.groups[index]
                    .waits
                    .iter()
                    .filter(|w| w.addr == addr)
                    .map(|w| w.id)
                    .collect();
                for id in ids {
                    if take(&mut st, index, id) {
                        reports.push((id, Report::Woken));
                    }
                }
            }
            Err(e) => {
                let errno = e.raw_os_error().unwrap_or(libc::EIO);
                let mut st = shared.lock();
                let ids: Vec<WaitId> = st.groups[index].waits.iter().map(|w| w.id).collect();
                for id in ids {
                    if take(&mut st, index, id) {
                        reports.push((id, Report::Failed(errno)));
                    }
                }
            }
        }
        drop(armed);
        if !reports.is_empty() {
            (shared.report)(reports);
        }
    }
}
