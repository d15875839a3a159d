//! Linux futexes on words of a table's shared memory: block until another
//! thread or process wakes the word, or a timeout.
//!
//! The operations are the shared (not `FUTEX_PRIVATE_FLAG`) kind: the kernel
//! keys a shared futex by the file page and offset behind the address, so a
//! process that maps the same memfd or file at another address waits on the
//! same futex. Only 32-bit words can be futexes: a 64-bit value waits on
//! both its halves at once ([`wait_words`]; see lib/wait.js).
//!
//! [`wait_words`] is the one primitive for waiting on several words: with
//! futex_waitv (Linux 5.16+) exactly, else with FUTEX_WAIT on the first word
//! in short slices, re-checking the others between them (Linux 4.18+, and
//! seccomp profiles that refuse futex_waitv).

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::OnceLock;
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
        match futex_wait_once(word, expected, remaining)? {
            WordsOutcome::Woken => return Ok(Outcome::Woken),
            WordsOutcome::NotEqual => return Ok(Outcome::NotEqual),
            WordsOutcome::TimedOut => return Ok(Outcome::TimedOut),
            // A signal handler ran: wait again for what is left.
            WordsOutcome::Interrupted => continue,
        }
    }
}

/// One FUTEX_WAIT call: while `*word == expected`, for at most `timeout`.
fn futex_wait_once(
    word: &AtomicU32,
    expected: u32,
    timeout: Option<Duration>,
) -> io::Result<WordsOutcome> {
    let ts = timeout.map(|r| libc::timespec {
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
        return Ok(WordsOutcome::Woken);
    }
    match errno() {
        libc::EAGAIN => Ok(WordsOutcome::NotEqual),
        libc::ETIMEDOUT => Ok(WordsOutcome::TimedOut),
        libc::EINTR => Ok(WordsOutcome::Interrupted),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// A word every [`wait_interruptible`] also sleeps on. [`interrupt_all`]
/// sets it for good and wakes it: used when the process exits.
static INTERRUPT: AtomicU32 = AtomicU32::new(0);

/// How long a [`wait_interruptible`] with `still_wanted` sleeps before
/// asking it (see [`slice`]).
pub const SLICE: Duration = Duration::from_millis(250);

/// The slice a [`wait_interruptible`] with `still_wanted` sleeps: [`SLICE`],
/// or, for tests, `ATOMIC_DICT_TEST_SLICE_US` microseconds (read once).
pub fn slice() -> Duration {
    static SLICE_US: OnceLock<Duration> = OnceLock::new();
    *SLICE_US.get_or_init(|| {
        std::env::var("ATOMIC_DICT_TEST_SLICE_US")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(SLICE, Duration::from_micros)
    })
}

/// How an interruptible wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Woken by a wake on the value's word, or one of the value's words
    /// changed after the wait was armed (callers re-check their condition).
    Woken,
    /// A word of the value did not hold its expected value when the wait
    /// was first armed.
    NotEqual,
    /// The timeout passed first.
    TimedOut,
    /// [`interrupt_all`] ran, or `still_wanted` said no.
    Interrupted,
}

/// Ends every [`wait_interruptible`] of this process, now and later.
pub fn interrupt_all() {
    INTERRUPT.store(1, Ordering::SeqCst);
    let _ = wake(&INTERRUPT, u32::MAX);
}

/// A blocking wait for a thread that must stay stoppable: it sleeps, with
/// [`wait_words`], on every word of the value (`value`: the word notifies
/// wake first, then the high half of a 64-bit value) and on the process's
/// interrupt word at once, so a change of any of them (or a wake of the
/// first) ends it. With `still_wanted`, it sleeps in slices of [`slice`]
/// and asks it between slices (whether its thread is being terminated);
/// between slices a wake can miss it for the microseconds it is out of the
/// kernel, but a change of a word cannot: the next slice sees it. Without,
/// it sleeps in one piece (a thread only the process's exit can stop, which
/// the interrupt word covers). Without futex_waitv, [`wait_words`] sees the
/// high half and the interrupt word within its bounded delay.
pub fn wait_interruptible(
    value: &[WaitWord<'_>],
    timeout: Option<Duration>,
    mut still_wanted: Option<&mut dyn FnMut() -> bool>,
) -> io::Result<SyncOutcome> {
    if value.is_empty() || value.len() >= WAIT_ANY_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "wait_interruptible takes 1 to 127 words",
        ));
    }
    let mut words: Vec<WaitWord<'_>> = Vec::with_capacity(value.len() + 1);
    words.extend(value.iter().map(|w| WaitWord {
        word: w.word,
        expected: w.expected,
    }));
    words.push(WaitWord {
        word: &INTERRUPT,
        expected: 0,
    });
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut first = true;
    loop {
        if INTERRUPT.load(Ordering::SeqCst) != 0 {
            return Ok(SyncOutcome::Interrupted);
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) {
            return Ok(SyncOutcome::TimedOut);
        }
        let slice_end = match (deadline, still_wanted.is_some()) {
            (Some(d), true) => Some(d.min(now + slice())),
            (None, true) => Some(now + slice()),
            (d, false) => d,
        };
        let outcome = wait_words(&words, slice_end)?;
        let interrupted = INTERRUPT.load(Ordering::SeqCst) != 0;
        match outcome {
            _ if interrupted => return Ok(SyncOutcome::Interrupted),
            WordsOutcome::Woken => return Ok(SyncOutcome::Woken),
            WordsOutcome::NotEqual => {
                return Ok(if first {
                    SyncOutcome::NotEqual
                } else {
                    SyncOutcome::Woken
                });
            }
            WordsOutcome::TimedOut => {
                if still_wanted.as_mut().is_some_and(|f| !f()) {
                    return Ok(SyncOutcome::Interrupted);
                }
            }
            WordsOutcome::Interrupted => {}
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

/// Whether futex_waitv is usable: not probed yet, yes, no.
static WAITV: AtomicU8 = AtomicU8::new(WAITV_UNKNOWN);
const WAITV_UNKNOWN: u8 = 0;
const WAITV_YES: u8 = 1;
const WAITV_NO: u8 = 2;

/// Whether futex_waitv (Linux 5.16+) is usable here: probed once, cached (a
/// call with nr_futexes = 0 answers EINVAL where it exists; ENOSYS, EPERM or
/// any other errno means no). Also false when the env var
/// ATOMIC_DICT_NO_FUTEX_WAITV=1 is set (tests, and sandboxes that kill a
/// process for an unknown call: then no probe is made), and from the
/// moment a [`wait_words`] call found it refused.
pub fn has_waitv() -> bool {
    match WAITV.load(Ordering::Relaxed) {
        WAITV_YES => return true,
        WAITV_NO => return false,
        _ => {}
    }
    let usable = std::env::var_os("ATOMIC_DICT_NO_FUTEX_WAITV").is_none_or(|v| v != "1") && {
        // SAFETY: futex_waitv with no entries (a null array, count 0) reads
        // and writes no memory: the kernel checks the count first and
        // answers EINVAL.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex_waitv,
                std::ptr::null::<FutexWaitv>(),
                0 as libc::c_uint,
                0u32,
                std::ptr::null::<libc::timespec>(),
                libc::CLOCK_MONOTONIC,
            )
        };
        r < 0 && errno() == libc::EINVAL
    };
    // A racing probe finds the same; a refusal already recorded stays.
    let _ = WAITV.compare_exchange(
        WAITV_UNKNOWN,
        if usable { WAITV_YES } else { WAITV_NO },
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    WAITV.load(Ordering::Relaxed) == WAITV_YES
}

/// How a [`wait_words`] call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordsOutcome {
    /// A wake reached one of the words, or (without futex_waitv) one of them
    /// changed after the call first slept; or, rarely, spuriously. Callers
    /// re-check their condition.
    Woken,
    /// One of the words did not hold its expected value when the call began.
    NotEqual,
    /// The deadline passed.
    TimedOut,
    /// A signal interrupted the wait (EINTR): callers loop.
    Interrupted,
}

/// The first slice of [`wait_words`] without futex_waitv: it doubles up to
/// [`FALLBACK_SLICE_MAX`].
pub const FALLBACK_SLICE_MIN: Duration = Duration::from_millis(1);
/// The longest slice of [`wait_words`] without futex_waitv: a change of a
/// word other than the first is seen at most this late (plus scheduling).
pub const FALLBACK_SLICE_MAX: Duration = Duration::from_millis(50);

/// Sleeps until a wake reaches one of `words` (1..=[`WAIT_ANY_MAX`]), one
/// of them no longer holds its expected value, or `deadline` passes. With
/// futex_waitv, all words at once, exactly: the kernel compares every word
/// as it queues the waiter. Without it, FUTEX_WAIT on `words[0]` in slices
/// (from [`FALLBACK_SLICE_MIN`], doubling, capped at [`FALLBACK_SLICE_MAX`]),
/// re-checking the other words between slices, so a change of another word
/// is seen within that bound; a wake reaches the call only through
/// `words[0]` there. `Interrupted`: EINTR (callers loop). ENOSYS, EPERM or
/// EINVAL from futex_waitv switch this process to the FUTEX_WAIT path for
/// good (never an error to the caller).
pub fn wait_words(words: &[WaitWord<'_>], deadline: Option<Instant>) -> io::Result<WordsOutcome> {
    wait_words_capped(words, deadline, FALLBACK_SLICE_MAX)
}

/// [`wait_words`] whose slices without futex_waitv grow up to `cap`
/// instead of [`FALLBACK_SLICE_MAX`]: for the many sleeping threads of the
/// `waitAsync` fallback, which would otherwise wake 20 times a second each
/// (a wake of the first word still ends a slice at once; only a change of
/// another word that raced the moment of arming waits for the slice).
pub fn wait_words_capped(
    words: &[WaitWord<'_>],
    deadline: Option<Instant>,
    cap: Duration,
) -> io::Result<WordsOutcome> {
    if words.is_empty() || words.len() > WAIT_ANY_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "wait_words takes 1 to 128 words",
        ));
    }
    if has_waitv() {
        match wait_any(words, deadline) {
            Ok(AnyOutcome::Woken(_)) => return Ok(WordsOutcome::Woken),
            Ok(AnyOutcome::NotEqual) => return Ok(WordsOutcome::NotEqual),
            Ok(AnyOutcome::TimedOut) => return Ok(WordsOutcome::TimedOut),
            Ok(AnyOutcome::Interrupted) => return Ok(WordsOutcome::Interrupted),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS | libc::EPERM | libc::EINVAL)
                ) =>
            {
                WAITV.store(WAITV_NO, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
    }
    wait_words_sliced(words, deadline, cap)
}

/// [`wait_words`] with FUTEX_WAIT alone. One word needs no slices: the
/// kernel compares it as it queues the waiter.
fn wait_words_sliced(
    words: &[WaitWord<'_>],
    deadline: Option<Instant>,
    cap: Duration,
) -> io::Result<WordsOutcome> {
    let first = &words[0];
    if words.len() == 1 {
        let now = Instant::now();
        let left = match deadline {
            Some(d) if d <= now => return Ok(WordsOutcome::TimedOut),
            Some(d) => Some(d - now),
            None => None,
        };
        return futex_wait_once(first.word, first.expected, left);
    }
    let mut slice = FALLBACK_SLICE_MIN;
    let mut slept = false;
    loop {
        // Every word, the first too: a slice that ends before its
        // FUTEX_WAIT starts must not hide a change of it.
        if words
            .iter()
            .any(|w| w.word.load(Ordering::SeqCst) != w.expected)
        {
            return Ok(if slept {
                WordsOutcome::Woken
            } else {
                WordsOutcome::NotEqual
            });
        }
        let now = Instant::now();
        let end = match deadline {
            Some(d) if d <= now => return Ok(WordsOutcome::TimedOut),
            Some(d) => d.min(now + slice),
            None => now + slice,
        };
        match futex_wait_once(first.word, first.expected, Some(end - now))? {
            WordsOutcome::NotEqual if !slept => return Ok(WordsOutcome::NotEqual),
            WordsOutcome::NotEqual | WordsOutcome::Woken => return Ok(WordsOutcome::Woken),
            WordsOutcome::Interrupted => return Ok(WordsOutcome::Interrupted),
            // The slice (or the deadline) passed: look at the others again.
            WordsOutcome::TimedOut => {}
        }
        slept = true;
        slice = (slice * 2).min(cap.max(FALLBACK_SLICE_MIN));
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
        fn one(word: &AtomicU32, expected: u32) -> [WaitWord<'_>; 1] {
            [WaitWord { word, expected }]
        }
        assert_eq!(
            wait_interruptible(&one(&w, 1), None, None).unwrap(),
            SyncOutcome::NotEqual
        );
        assert_eq!(
            wait_interruptible(&one(&w, 0), Some(Duration::from_millis(20)), None).unwrap(),
            SyncOutcome::TimedOut
        );
        // Asked after the first slice: no longer wanted.
        let t = Instant::now();
        assert_eq!(
            wait_interruptible(&one(&w, 0), None, Some(&mut || false)).unwrap(),
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
        let r = wait_interruptible(&one(&w, 0), Some(Duration::from_secs(5)), Some(&mut ask));
        changer.join().unwrap();
        assert_eq!(r.unwrap(), SyncOutcome::Woken);
    }

    #[test]
    fn interruptible_waits_compare_the_high_half_as_they_arm() {
        // JS compared (low 0, high 0); then the high half changed, and its
        // notify (of the low half) went by before the wait was armed.
        let low = AtomicU32::new(0);
        let high = AtomicU32::new(1);
        let value = [
            WaitWord {
                word: &low,
                expected: 0,
            },
            WaitWord {
                word: &high,
                expected: 0,
            },
        ];
        let t = Instant::now();
        let r = wait_interruptible(&value, Some(Duration::from_secs(10)), None).unwrap();
        assert_eq!(r, SyncOutcome::NotEqual);
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }

    /// A wait on `words` (as (word, expected)) through futex_waitv when
    /// `waitv`, else through the FUTEX_WAIT slices.
    fn wait_on(
        waitv: bool,
        words: &[(&AtomicU32, u32)],
        deadline: Option<Instant>,
    ) -> WordsOutcome {
        let ws: Vec<WaitWord> = words
            .iter()
            .map(|&(word, expected)| WaitWord { word, expected })
            .collect();
        loop {
            let r = if waitv {
                wait_words(&ws, deadline).unwrap()
            } else {
                wait_words_sliced(&ws, deadline, FALLBACK_SLICE_MAX).unwrap()
            };
            if r != WordsOutcome::Interrupted {
                return r;
            }
        }
    }

    #[test]
    fn wait_words_sees_every_word_with_and_without_futex_waitv() {
        let paths: &[bool] = if has_waitv() {
            &[true, false]
        } else {
            &[false]
        };
        for &waitv in paths {
            let a = Arc::new(AtomicU32::new(0));
            let b = Arc::new(AtomicU32::new(7));
            let soon = || Some(Instant::now() + Duration::from_millis(30));
            // Any word not as expected at the start: NotEqual, at once.
            assert_eq!(
                wait_on(waitv, &[(&a, 1), (&b, 7)], None),
                WordsOutcome::NotEqual
            );
            assert_eq!(
                wait_on(waitv, &[(&a, 0), (&b, 8)], None),
                WordsOutcome::NotEqual
            );
            let t = Instant::now();
            assert_eq!(
                wait_on(waitv, &[(&a, 0), (&b, 7)], soon()),
                WordsOutcome::TimedOut
            );
            assert!(t.elapsed() >= Duration::from_millis(30));
            // A wake of the first word.
            let waiter = {
                let (a, b) = (a.clone(), b.clone());
                thread::spawn(move || wait_on(waitv, &[(&a, 0), (&b, 7)], None))
            };
            while wake(&a, 1).unwrap() == 0 {
                thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(waiter.join().unwrap(), WordsOutcome::Woken, "waitv {waitv}");
            // A wake of the second: futex_waitv sees it; the slices see the
            // change that comes with it within their bound.
            let waiter = {
                let (a, b) = (a.clone(), b.clone());
                thread::spawn(move || {
                    let r = wait_on(waitv, &[(&a, 0), (&b, 7)], None);
                    (r, Instant::now())
                })
            };
            thread::sleep(Duration::from_millis(300)); // asleep, in its longest slices
            b.store(8, Ordering::SeqCst);
            let changed = Instant::now();
            wake(&b, 1).unwrap();
            let (r, at) = waiter.join().unwrap();
            assert_eq!(r, WordsOutcome::Woken, "waitv {waitv}");
            let delay = at.saturating_duration_since(changed);
            let bound = FALLBACK_SLICE_MAX + Duration::from_millis(50);
            assert!(
                delay < bound,
                "waitv {waitv}: seen {delay:?} after the change"
            );
            b.store(7, Ordering::SeqCst);
        }
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
