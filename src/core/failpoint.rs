//! Test hooks inside the insert path, for the reliability tests
//! (`__test__/admission.test.js`, `__test__/reliability.test.js`,
//! docs/RELIABILITY.md "The failpoints"). `ATOMIC_DICT_FAILPOINT` is read
//! once (lib/failpoint.js reads the same variable for the one point the JS
//! layer has, `after-claim`); when it names none of the points below, each
//! hook costs one load of a `OnceLock` on the paths that admit, refuse or
//! claim an insert or allocate a string's record (never on lookups or value
//! operations).
//!
//! - `after-part`: the process SIGKILLs itself right after claiming a key
//!   part that is not the key's last, before claiming the next: the row
//!   stays partial (anyone inserting the same key completes it).
//! - `before-count`: it SIGKILLs itself right after claiming a key's last
//!   part, before counting the key: `size` stays one short (until
//!   `repair_counts()`).
//! - `after-admit`: the process SIGKILLs itself right after an insert was
//!   admitted, before it claims a row: the admission leaks (`verify()`
//!   reports it, `repair_counts()` gives it back).
//! - `pause-after-admit[:N]`: the first admitted insert of the process (once
//!   per process) stores 1 in the header's scratch word and waits, before it
//!   claims its row, until N (default 1) refused inserts have each added 1 to
//!   that word (or 10 s have passed), then puts 0 back and goes on. An insert
//!   refused in a process with this failpoint set adds its 1 once per call,
//!   when it starts to wait and an admitter is paused, and its wait has no
//!   bound while the word is non-zero. So a test can hold an admitted
//!   inserter exactly in the window between admission and claim until the
//!   callers it races are all waiting, however slowly they start.
//! - `intern-after-alloc`: the process SIGKILLs itself right after an intern
//!   took its record's bytes of the string arena, before writing the record:
//!   the bytes are lost (`strings_used` counts them), nothing is published.
//! - `intern-before-publish`: it SIGKILLs itself after writing the record,
//!   before the index entry's compare-and-swap that would publish it: the
//!   same, with a complete record nobody can reach.

use super::memory::Words;

#[cfg(not(loom))]
mod imp {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use crate::core::format::OFF_SCRATCH;
    use crate::core::memory::Words;

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Point {
        None,
        KillAfterAdmit,
        KillAfterPart,
        KillBeforeCount,
        KillInternAfterAlloc,
        KillInternBeforePublish,
        PauseAfterAdmit { waiters: u64 },
    }

    fn point() -> Point {
        static POINT: OnceLock<Point> = OnceLock::new();
        *POINT.get_or_init(|| {
            let name = std::env::var("ATOMIC_DICT_FAILPOINT").unwrap_or_default();
            match name.split_once(':') {
                _ if name == "after-admit" => Point::KillAfterAdmit,
                _ if name == "after-part" => Point::KillAfterPart,
                _ if name == "before-count" => Point::KillBeforeCount,
                _ if name == "intern-after-alloc" => Point::KillInternAfterAlloc,
                _ if name == "intern-before-publish" => Point::KillInternBeforePublish,
                _ if name == "pause-after-admit" => Point::PauseAfterAdmit { waiters: 1 },
                Some(("pause-after-admit", n)) => match n.parse() {
                    Ok(waiters) => Point::PauseAfterAdmit { waiters },
                    Err(_) => Point::None,
                },
                _ => Point::None,
            }
        })
    }

    fn die() {
        // SAFETY: kill(2) on our own pid has no memory-safety
        // preconditions; SIGKILL does not return.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }

    pub fn after_part() {
        if point() == Point::KillAfterPart {
            die();
        }
    }

    pub fn before_count() {
        if point() == Point::KillBeforeCount {
            die();
        }
    }

    pub fn intern_after_alloc() {
        if point() == Point::KillInternAfterAlloc {
            die();
        }
    }

    pub fn intern_before_publish() {
        if point() == Point::KillInternBeforePublish {
            die();
        }
    }

    pub fn after_admit(words: &Words) {
        match point() {
            Point::None
            | Point::KillAfterPart
            | Point::KillBeforeCount
            | Point::KillInternAfterAlloc
            | Point::KillInternBeforePublish => {}
            Point::KillAfterAdmit => die(),
            Point::PauseAfterAdmit { waiters } => {
                static PAUSED: AtomicBool = AtomicBool::new(false);
                if PAUSED.swap(true, Ordering::Relaxed) {
                    return;
                }
                let word = words.u64(OFF_SCRATCH);
                if word
                    .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    return;
                }
                let give_up = Instant::now() + Duration::from_secs(10);
                while word.load(Ordering::SeqCst) < 1 + waiters && Instant::now() < give_up {
                    std::thread::sleep(Duration::from_micros(100));
                }
                word.store(0, Ordering::SeqCst);
            }
        }
    }

    pub fn admitter_paused(words: &Words) -> bool {
        matches!(point(), Point::PauseAfterAdmit { .. })
            && words.u64(OFF_SCRATCH).load(Ordering::SeqCst) >= 1
    }

    pub fn refused(words: &Words) {
        if let Point::PauseAfterAdmit { .. } = point() {
            let word = words.u64(OFF_SCRATCH);
            let mut seen = word.load(Ordering::SeqCst);
            // Only while an admitter is paused (the word is at least 1).
            while seen >= 1 {
                match word.compare_exchange(seen, seen + 1, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(_) => break,
                    Err(now) => seen = now,
                }
            }
        }
    }
}

/// Whether a `pause-after-admit` failpoint (of this process's setting)
/// holds an admitter: a refused insert then waits without a bound (only
/// outside loom, whose models bound the wait by a count of yields).
#[cfg(not(loom))]
#[inline]
pub(crate) fn admitter_paused(words: &Words) -> bool {
    imp::admitter_paused(words)
}

/// Right after an insert was admitted, before it claims its row.
#[inline]
pub(crate) fn after_admit(words: &Words) {
    #[cfg(not(loom))]
    imp::after_admit(words);
    #[cfg(loom)]
    let _ = words;
}

/// Once per call, when a refused insert starts to wait.
#[inline]
pub(crate) fn refused(words: &Words) {
    #[cfg(not(loom))]
    imp::refused(words);
    #[cfg(loom)]
    let _ = words;
}

/// Right after a key part that is not the last was claimed.
#[inline]
pub(crate) fn after_part() {
    #[cfg(not(loom))]
    imp::after_part();
}

/// Right after a key's last part was claimed, before the key is counted.
#[inline]
pub(crate) fn before_count() {
    #[cfg(not(loom))]
    imp::before_count();
}

/// Right after an intern allocated its record, before writing it.
#[inline]
pub(crate) fn intern_after_alloc() {
    #[cfg(not(loom))]
    imp::intern_after_alloc();
}

/// Right after an intern wrote its record, before publishing it.
#[inline]
pub(crate) fn intern_before_publish() {
    #[cfg(not(loom))]
    imp::intern_before_publish();
}
