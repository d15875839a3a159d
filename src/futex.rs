//! Linux futexes on words of a table's shared memory: block until another
//! thread or process wakes the word, or a timeout.
//!
//! The operations are the shared (not `FUTEX_PRIVATE_FLAG`) kind: the kernel
//! keys a shared futex by the file page and offset behind the address, so a
//! process that maps the same memfd or file at another address waits on the
//! same futex. Only 32-bit words can be futexes (64-bit values wait on their
//! low half; see lib/wait.js).

use std::io;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Woken by a wake on the word (or, rarely, spuriously: callers re-check).
    Woken,
    /// The word did not hold the expected value when the wait began.
    NotEqual,
    /// The timeout passed first.
    TimedOut,
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Blocks while `*word == expected`, until a [`wake`] on the word (from any
/// process that maps the same memory) or `timeout`. `None` waits for ever.
pub fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<Outcome> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let remaining = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(r) if !r.is_zero() => Some(r),
                _ => return Ok(Outcome::TimedOut),
            },
            // A timeout too large for an Instant is no timeout.
            None => None,
        };
        let ts = remaining.map(|r| libc::timespec {
            tv_sec: r.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: r.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `word` is a live, aligned u32 for the whole call; FUTEX_WAIT
        // only reads it. `ts_ptr` is null or points at `ts`, alive here.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                expected,
                ts_ptr,
                std::ptr::null::<u32>(),
                0u32,
            )
        };
        if r == 0 {
            return Ok(Outcome::Woken);
        }
        match errno() {
            libc::EAGAIN => return Ok(Outcome::NotEqual),
            libc::ETIMEDOUT => return Ok(Outcome::TimedOut),
            // A signal handler ran: wait again for what is left.
            libc::EINTR => continue,
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// A word every [`wait_interruptible`] also sleeps on. [`interrupt_all`]
/// sets it for good and wakes it: used when the process exits.
static INTERRUPT: AtomicU32 = AtomicU32::new(0);

/// How long a [`wait_interruptible`] sleeps before asking `still_wanted`.
pub const SLICE: Duration = Duration::from_millis(250);

/// How an interruptible wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Woken by a wake on the word, or the word changed while the wait
    /// re-armed between slices (callers re-check their condition).
    Woken,
    /// The word did not hold the expected value when the wait began.
    NotEqual,
    /// The timeout passed first.
    TimedOut,
    /// [`interrupt_all`] ran, or `still_wanted` said no.
    Interrupted,
}

/// Ends every [`wait_interruptible`] of this process, now and later.
pub fn interrupt_all() {
    INTERRUPT.store(1, std::sync::atomic::Ordering::SeqCst);
    let _ = wake(&INTERRUPT, u32::MAX);
}

/// [`wait`], for a thread that must stay stoppable: it sleeps on `word` and
/// on the process's interrupt word at once. With `still_wanted`, it sleeps
/// in slices of [`SLICE`] and asks it between slices (whether its thread is
/// being terminated); between slices a wake can miss it for the
/// microseconds it is out of the kernel, but a change of the word cannot:
/// the next slice sees it. Without, it sleeps in one piece (a thread only
/// the process's exit can stop, which the interrupt word covers).
pub fn wait_interruptible(
    word: &AtomicU32,
    expected: u32,
    timeout: Option<Duration>,
    mut still_wanted: Option<&mut dyn FnMut() -> bool>,
) -> io::Result<SyncOutcome> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut first = true;
    loop {
        if INTERRUPT.load(std::sync::atomic::Ordering::SeqCst) != 0 {
            return Ok(SyncOutcome::Interrupted);
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) {
            return Ok(SyncOutcome::TimedOut);
        }
        let slice_end = match (deadline, still_wanted.is_some()) {
            (Some(d), true) => Some(d.min(now + SLICE)),
            (None, true) => Some(now + SLICE),
            (d, false) => d,
        };
        let words = [
            WaitWord { word, expected },
            WaitWord {
                word: &INTERRUPT,
                expected: 0,
            },
        ];
        let outcome = match wait_any(&words, slice_end) {
            Ok(o) => o,
            // Before Linux 5.16: the value word alone, in slices so that the
            // interrupt word is looked at.
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                let end = slice_end.map_or(now + SLICE, |e| e.min(now + SLICE));
                match wait(word, expected, Some(end.saturating_duration_since(now)))? {
                    Outcome::Woken => AnyOutcome::Woken(0),
                    Outcome::NotEqual => AnyOutcome::NotEqual,
                    Outcome::TimedOut => AnyOutcome::TimedOut,
                }
            }
            Err(e) => return Err(e),
        };
        match outcome {
            AnyOutcome::Woken(0) => return Ok(SyncOutcome::Woken),
            AnyOutcome::Woken(_) => return Ok(SyncOutcome::Interrupted),
            AnyOutcome::NotEqual => {
                if INTERRUPT.load(std::sync::atomic::Ordering::SeqCst) != 0 {
                    return Ok(SyncOutcome::Interrupted);
                }
                return Ok(if first {
                    SyncOutcome::NotEqual
                } else {
                    SyncOutcome::Woken
                });
            }
            AnyOutcome::TimedOut => {
                if still_wanted.as_mut().is_some_and(|f| !f()) {
                    return Ok(SyncOutcome::Interrupted);
                }
            }
            AnyOutcome::Interrupted => {}
        }
        first = false;
    }
}

/// Wakes up to `count` waiters on `word`, in every process; returns how many
/// it woke.
pub fn wake(word: &AtomicU32, count: u32) -> io::Result<u32> {
    let count = count.min(i32::MAX as u32);
    // SAFETY: `word` is a live, aligned u32; FUTEX_WAKE does not access it
    // beyond resolving its address to a futex key.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            count,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as u32)
    }
}

/// `struct futex_waitv` of linux/futex.h.
#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

const FUTEX2_SIZE_U32: u32 = 0x02;

/// The most words one [`wait_any`] call can wait on (FUTEX_WAITV_MAX).
pub const WAIT_ANY_MAX: usize = 128;

/// One word of a [`wait_any`] call (a shared futex, as [`wake`] wakes).
pub struct WaitWord<'a> {
    pub word: &'a AtomicU32,
    pub expected: u32,
}

/// How a [`wait_any`] call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyOutcome {
    /// The word at this index was woken.
    Woken(usize),
    /// Some word did not hold its expected value when the call began.
    NotEqual,
    /// The deadline passed.
    TimedOut,
    /// A signal interrupted the wait.
    Interrupted,
}

/// Blocks until one of `words` is woken, one of them does not hold its
/// expected value, or `deadline` (CLOCK_MONOTONIC, as `Instant`) passes:
/// the `futex_waitv` system call (Linux 5.16).
pub fn wait_any(words: &[WaitWord<'_>], deadline: Option<Instant>) -> io::Result<AnyOutcome> {
    if words.is_empty() || words.len() > WAIT_ANY_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "wait_any takes 1 to 128 words",
        ));
    }
    let entries: Vec<FutexWaitv> = words
        .iter()
        .map(|w| FutexWaitv {
            val: u64::from(w.expected),
            uaddr: w.word.as_ptr() as u64,
            flags: FUTEX2_SIZE_U32,
            reserved: 0,
        })
        .collect();
    let ts = deadline.map(monotonic_timespec);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `entries` holds `entries.len()` valid futex_waitv structs whose
    // addresses are live, aligned u32s (borrowed by `words` for the call);
    // `ts_ptr` is null or points at `ts`. The kernel only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            entries.as_ptr(),
            entries.len() as libc::c_uint,
            0u32,
            ts_ptr,
            libc::CLOCK_MONOTONIC,
        )
    };
    if r >= 0 {
        return Ok(AnyOutcome::Woken(r as usize));
    }
    match errno() {
        libc::EAGAIN => Ok(AnyOutcome::NotEqual),
        libc::ETIMEDOUT => Ok(AnyOutcome::TimedOut),
        libc::EINTR => Ok(AnyOutcome::Interrupted),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// `deadline` as an absolute CLOCK_MONOTONIC time (what `Instant` measures
/// on Linux), for futex_waitv.
fn monotonic_timespec(deadline: Instant) -> libc::timespec {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let left = deadline.saturating_duration_since(Instant::now());
    let mut sec = now
        .tv_sec
        .saturating_add(left.as_secs().min(i64::MAX as u64 / 2) as libc::time_t);
    let mut nsec = now.tv_nsec + left.subsec_nanos() as libc::c_long;
    if nsec >= 1_000_000_000 {
        nsec -= 1_000_000_000;
        sec = sec.saturating_add(1);
    }
    libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn not_equal_and_timed_out() {
        let w = AtomicU32::new(5);
        assert_eq!(wait(&w, 4, None).unwrap(), Outcome::NotEqual);
        let t = Instant::now();
        assert_eq!(
            wait(&w, 5, Some(Duration::from_millis(30))).unwrap(),
            Outcome::TimedOut
        );
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert_eq!(
            wait(&w, 5, Some(Duration::ZERO)).unwrap(),
            Outcome::TimedOut
        );
    }

    #[test]
    fn wake_wakes_a_waiting_thread() {
        let w = Arc::new(AtomicU32::new(0));
        let waiter = {
            let w = w.clone();
            thread::spawn(move || wait(&w, 0, Some(Duration::from_secs(20))).unwrap())
        };
        // Wake until the waiter has been woken (it may not be asleep yet).
        let mut woken = 0;
        while woken == 0 {
            thread::sleep(Duration::from_millis(5));
            woken = wake(&w, u32::MAX).unwrap();
        }
        assert_eq!(woken, 1);
        assert_eq!(waiter.join().unwrap(), Outcome::Woken);
        assert_eq!(wake(&w, 1).unwrap(), 0);
    }

    #[test]
    fn interruptible_waits_time_out_get_woken_and_ask_between_slices() {
        let w = Arc::new(AtomicU32::new(0));
        assert_eq!(
            wait_interruptible(&w, 1, None, None).unwrap(),
            SyncOutcome::NotEqual
        );
        assert_eq!(
            wait_interruptible(&w, 0, Some(Duration::from_millis(20)), None).unwrap(),
            SyncOutcome::TimedOut
        );
        // Asked after the first slice: no longer wanted.
        let t = Instant::now();
        assert_eq!(
            wait_interruptible(&w, 0, None, Some(&mut || false)).unwrap(),
            SyncOutcome::Interrupted
        );
        assert!(t.elapsed() >= SLICE);
        // A change made between slices is seen as a wakeup, not 'not-equal'.
        let changer = {
            let w = w.clone();
            thread::spawn(move || {
                thread::sleep(SLICE + Duration::from_millis(50));
                w.store(1, Ordering::SeqCst);
            })
        };
        let mut asked = 0;
        let mut ask = || {
            asked += 1;
            if asked == 1 {
                thread::sleep(Duration::from_millis(100)); // the change lands here
            }
            true
        };
        let r = wait_interruptible(&w, 0, Some(Duration::from_secs(5)), Some(&mut ask));
        changer.join().unwrap();
        assert_eq!(r.unwrap(), SyncOutcome::Woken);
    }

    #[test]
    fn wait_any_reports_the_woken_word() {
        let words: Arc<Vec<AtomicU32>> = Arc::new((0..3).map(AtomicU32::new).collect());
        let waiter = {
            let words = words.clone();
            thread::spawn(move || {
                let ws: Vec<WaitWord> = words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| WaitWord {
                        word: w,
                        expected: i as u32,
                    })
                    .collect();
                loop {
                    let deadline = Instant::now() + Duration::from_secs(20);
                    match wait_any(&ws, Some(deadline)).unwrap() {
                        AnyOutcome::Interrupted => continue,
                        other => return other,
                    }
                }
            })
        };
        let mut woken = 0;
        while woken == 0 {
            thread::sleep(Duration::from_millis(5));
            woken = wake(&words[2], 1).unwrap();
        }
        assert_eq!(waiter.join().unwrap(), AnyOutcome::Woken(2));
        words[1].store(9, Ordering::SeqCst);
        let ws = [WaitWord {
            word: &words[1],
            expected: 1,
        }];
        assert_eq!(wait_any(&ws, None).unwrap(), AnyOutcome::NotEqual);
        let ws = [WaitWord {
            word: &words[0],
            expected: 0,
        }];
        let soon = Instant::now() + Duration::from_millis(20);
        assert_eq!(wait_any(&ws, Some(soon)).unwrap(), AnyOutcome::TimedOut);
        assert!(Instant::now() >= soon);
    }
}

// PROVISIONAL (replaced by the sync-wait branch's implementation at merge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordsOutcome {
    Woken,
    NotEqual,
    TimedOut,
    Interrupted,
}

pub fn has_waitv() -> bool {
    std::env::var("ATOMIC_DICT_NO_FUTEX_WAITV").as_deref() != Ok("1")
}

pub fn wait_words(words: &[WaitWord<'_>], deadline: Option<Instant>) -> io::Result<WordsOutcome> {
    if has_waitv() {
        match wait_any(words, deadline) {
            Ok(AnyOutcome::Woken(_)) => return Ok(WordsOutcome::Woken),
            Ok(AnyOutcome::NotEqual) => return Ok(WordsOutcome::NotEqual),
            Ok(AnyOutcome::TimedOut) => return Ok(WordsOutcome::TimedOut),
            Ok(AnyOutcome::Interrupted) => return Ok(WordsOutcome::Interrupted),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {}
            Err(e) => return Err(e),
        }
    }
    let now = Instant::now();
    let mut end = now + Duration::from_millis(50);
    if let Some(d) = deadline {
        end = end.min(d);
    }
    for w in &words[1..] {
        if w.word.load(std::sync::atomic::Ordering::SeqCst) != w.expected {
            return Ok(WordsOutcome::NotEqual);
        }
    }
    match wait(
        words[0].word,
        words[0].expected,
        Some(end.saturating_duration_since(now)),
    )? {
        Outcome::Woken => Ok(WordsOutcome::Woken),
        Outcome::NotEqual => Ok(WordsOutcome::NotEqual),
        Outcome::TimedOut => {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                Ok(WordsOutcome::TimedOut)
            } else {
                Ok(WordsOutcome::Interrupted)
            }
        }
    }
}
