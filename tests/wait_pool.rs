//! The wait pools (src/wait/): many waits, each reported once, woken by
//! futex wakes from this or other threads, reaped by the owning thread when
//! the pool's eventfd is readable (as the binding does from the event
//! loop). Every test runs against both backends (io_uring, and the threads
//! fallback), except where they differ on purpose.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use atomic_dict::futex;
use atomic_dict::wait::{threads::LINGER, Backend, Keep, Report, WaitId, WaitPool, Word};

const BACKENDS: [Backend; 2] = [Backend::IoUring, Backend::Threads];

/// A pool and the reports reaped from it but not looked at yet.
struct Reaped {
    pool: WaitPool,
    got: VecDeque<(WaitId, Report)>,
}

impl Reaped {
    fn of(backend: Backend) -> Reaped {
        let pool = WaitPool::with_backend(backend).unwrap();
        assert_eq!(
            pool.backend(),
            backend,
            "this kernel lacks the {} backend: {:?}",
            backend.name(),
            pool.why_not_ring()
        );
        Reaped {
            pool,
            got: VecDeque::new(),
        }
    }

    /// Waits up to `limit` for the eventfd, then reaps.
    fn poll(&mut self, limit: Duration) {
        let mut fds = libc::pollfd {
            fd: self.pool.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the call.
        unsafe { libc::poll(&mut fds, 1, limit.as_millis() as i32) };
        let mut out = Vec::new();
        self.pool.reap(&mut out);
        self.got.extend(out);
    }

    fn recv(&mut self) -> (WaitId, Report) {
        let end = Instant::now() + Duration::from_secs(20);
        while self.got.is_empty() {
            assert!(Instant::now() < end, "no report within 20 s");
            self.poll(Duration::from_millis(100));
        }
        self.got.pop_front().unwrap()
    }

    /// Nothing more is reported within 100 ms.
    fn quiet(&mut self) -> bool {
        self.poll(Duration::from_millis(100));
        self.got.is_empty()
    }
}

fn words(n: usize) -> Arc<Vec<AtomicU32>> {
    Arc::new((0..n).map(|_| AtomicU32::new(0)).collect())
}

fn word_of(w: &Arc<Vec<AtomicU32>>, i: usize, expected: u32) -> Word {
    Word {
        addr: &w[i] as *const AtomicU32 as usize,
        expected,
    }
}

fn add(
    pool: &WaitPool,
    id: WaitId,
    w: &Arc<Vec<AtomicU32>>,
    i: usize,
    expected: u32,
    timeout: Option<Duration>,
) {
    let keep: Keep = w.clone();
    // SAFETY: the word is an aligned u32 of the Vec that `keep` keeps alive.
    unsafe { pool.add(id, word_of(w, i, expected), None, timeout, keep) }.unwrap();
}

/// Wakes `word` from another thread until `n` waiters in all have been
/// woken (a thread-backend waiter may not be asleep yet).
fn wake_until(word: &Arc<Vec<AtomicU32>>, i: usize, n: u32, per_call: u32) {
    let w = word.clone();
    thread::spawn(move || {
        let mut woken = 0;
        let end = Instant::now() + Duration::from_secs(20);
        while woken < n {
            assert!(Instant::now() < end, "only {woken} of {n} waiters woken");
            woken += futex::wake(&w[i], per_call.min(n - woken)).unwrap();
            if woken < n {
                thread::sleep(Duration::from_millis(2));
            }
        }
    })
    .join()
    .unwrap();
}

/// A wake that only counts: the word keeps its value.
fn wake(word: &AtomicU32, n: u32) -> u32 {
    futex::wake(word, n).unwrap()
}

#[test]
fn a_thousand_waits_on_distinct_words_are_all_woken_once() {
    for backend in BACKENDS {
        let mut r = Reaped::of(backend);
        let w = words(1000);
        for id in 0..1000u64 {
            add(&r.pool, id, &w, id as usize, 0, None);
        }
        assert_eq!(r.pool.pending(), 1000);
        if backend == Backend::IoUring {
            assert_eq!(r.pool.threads(), 0, "the ring needs no thread");
        } else {
            assert_eq!(r.pool.threads(), 1000, "a thread per distinct word");
        }
        // As a notifier does, from another thread: change, then wake.
        let notifier = {
            let w = w.clone();
            thread::spawn(move || {
                for word in w.iter() {
                    word.store(1, Ordering::SeqCst);
                    futex::wake(word, u32::MAX).unwrap();
                }
            })
        };
        let mut seen = vec![false; 1000];
        for _ in 0..1000 {
            let (id, rep) = r.recv();
            assert_eq!(rep, Report::Woken);
            assert!(!seen[id as usize], "wait {id} reported twice");
            seen[id as usize] = true;
        }
        notifier.join().unwrap();
        assert_eq!(r.pool.pending(), 0);
        assert!(r.quiet());
    }
}

#[test]
fn io_uring_wakes_exactly_as_many_waits_as_it_counts_even_without_a_change() {
    let mut r = Reaped::of(Backend::IoUring);
    let w = words(300);
    for id in 0..300u64 {
        add(&r.pool, id, &w, id as usize, 0, None);
    }
    // Wakes from another thread, back to back; the values never change.
    for i in 0..300 {
        wake_until(&w, i, 1, 1);
    }
    let mut got: Vec<u64> = (0..300).map(|_| r.recv().0).collect();
    got.sort_unstable();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    // 50 waits on one word: a wake of 20 ends exactly 20.
    let one = words(1);
    for id in 1000..1050 {
        add(&r.pool, id, &one, 0, 0, None);
    }
    wake_until(&one, 0, 20, 20);
    for _ in 0..20 {
        assert_eq!(r.recv().1, Report::Woken);
    }
    assert!(r.quiet());
    assert_eq!(r.pool.pending(), 30);
    wake_until(&one, 0, 30, u32::MAX);
    for _ in 0..30 {
        assert_eq!(r.recv().1, Report::Woken);
    }
    assert!(r.quiet());
}

#[test]
fn threads_waits_on_one_word_share_one_kernel_waiter_and_end_together() {
    let mut r = Reaped::of(Backend::Threads);
    let w = words(2);
    for id in 0..500 {
        add(&r.pool, id, &w, 0, 0, None);
    }
    add(&r.pool, 500, &w, 1, 0, None);
    assert_eq!(r.pool.threads(), 2);
    // One wake of one waiter reaches the shared thread: it counts 1 and
    // ends every wait on the word, and none on the other word.
    wake_until(&w, 0, 1, 1);
    let mut ended: Vec<WaitId> = (0..500)
        .map(|_| {
            let (id, rep) = r.recv();
            assert_eq!(rep, Report::Woken);
            id
        })
        .collect();
    ended.sort_unstable();
    assert_eq!(ended, (0..500).collect::<Vec<_>>());
    assert!(r.quiet());
    assert_eq!(r.pool.pending(), 1);
    assert_eq!(wake(&w[0], u32::MAX), 0);
    wake_until(&w, 1, 1, 1);
    assert_eq!(r.recv(), (500, Report::Woken));
}

#[test]
fn wakes_one_at_a_time_end_waits_one_by_one_without_a_change() {
    for backend in BACKENDS {
        let mut r = Reaped::of(backend);
        let w = words(200);
        for id in 0..200u64 {
            add(&r.pool, id, &w, id as usize, 0, None);
        }
        for i in 0..200 {
            wake_until(&w, i, 1, 1);
            assert_eq!(r.recv(), (i as u64, Report::Woken), "{backend:?}");
        }
        assert!(r.quiet());
    }
}

#[test]
fn timeouts_end_waits_no_sooner_than_asked() {
    for backend in BACKENDS {
        let mut r = Reaped::of(backend);
        let w = words(1);
        let start = Instant::now();
        add(&r.pool, 1, &w, 0, 0, Some(Duration::from_millis(40)));
        add(&r.pool, 2, &w, 0, 0, Some(Duration::from_millis(10)));
        add(&r.pool, 3, &w, 0, 0, None);
        assert_eq!(r.recv(), (2, Report::TimedOut), "{backend:?}");
        assert!(start.elapsed() >= Duration::from_millis(10));
        assert_eq!(r.recv(), (1, Report::TimedOut));
        assert!(start.elapsed() >= Duration::from_millis(40));
        assert_eq!(r.pool.pending(), 1);
        assert!(r.pool.cancel(3));
        assert!(r.quiet());
        assert_eq!(r.pool.pending(), 0);
    }
}

#[test]
fn a_cancelled_wait_is_never_reported_even_when_it_had_finished() {
    for backend in BACKENDS {
        let mut r = Reaped::of(backend);
        let w = words(3);
        add(&r.pool, 1, &w, 0, 0, None);
        add(&r.pool, 2, &w, 1, 0, None);
        thread::sleep(Duration::from_millis(20));
        assert!(r.pool.cancel(1));
        assert!(!r.pool.cancel(1));
        thread::sleep(Duration::from_millis(20));
        // io_uring withdrew the kernel waiter; the threads backend's thread
        // stays until its next wake-up (this one), which it passes on.
        let ghost = u32::from(backend == Backend::Threads);
        assert_eq!(wake(&w[0], u32::MAX), ghost, "{backend:?}");
        wake_until(&w, 1, 1, 1);
        assert_eq!(r.recv(), (2, Report::Woken));
        assert!(r.quiet());
        // Woken, not reaped yet, then cancelled: never reported.
        add(&r.pool, 3, &w, 2, 0, None);
        wake_until(&w, 2, 1, 1);
        thread::sleep(Duration::from_millis(50));
        assert!(r.pool.cancel(3), "{backend:?}");
        assert!(r.quiet(), "{backend:?}");
        assert_eq!(r.pool.pending(), 0);
    }
}

#[test]
fn a_wait_whose_words_already_changed_ends_as_woken() {
    for backend in BACKENDS {
        let mut r = Reaped::of(backend);
        let w = words(3);
        w[0].store(7, Ordering::SeqCst);
        add(&r.pool, 1, &w, 0, 6, None);
        assert_eq!(r.recv(), (1, Report::Woken), "{backend:?}");
        // The low word holds its value, the high word does not.
        let keep: Keep = w.clone();
        // SAFETY: aligned u32s of the Vec that `keep` keeps alive.
        unsafe {
            r.pool
                .add(2, word_of(&w, 1, 0), Some(word_of(&w, 2, 5)), None, keep)
        }
        .unwrap();
        assert_eq!(r.recv(), (2, Report::Woken), "{backend:?}");
        assert!(r.quiet());
    }
}

#[test]
fn a_64_bit_wait_sleeps_on_both_halves() {
    for backend in BACKENDS {
        let mut r = Reaped::of(backend);
        let w = words(2);
        let keep: Keep = w.clone();
        // SAFETY: as in `add`.
        unsafe {
            r.pool
                .add(1, word_of(&w, 0, 0), Some(word_of(&w, 1, 0)), None, keep)
        }
        .unwrap();
        thread::sleep(Duration::from_millis(20));
        assert!(r.quiet());
        // The high half changes and its notify wakes the low word: the
        // kernel sees the wait on either word.
        w[1].store(1, Ordering::SeqCst);
        wake_until(&w, 0, 1, 1);
        assert_eq!(r.recv(), (1, Report::Woken), "{backend:?}");
        // A wake of the high word reaches it too.
        let keep: Keep = w.clone();
        // SAFETY: as in `add`.
        unsafe {
            r.pool
                .add(2, word_of(&w, 0, 0), Some(word_of(&w, 1, 1)), None, keep)
        }
        .unwrap();
        wake_until(&w, 1, 1, 1);
        assert_eq!(r.recv(), (2, Report::Woken), "{backend:?}");
        assert!(r.quiet());
    }
}

#[test]
fn shutdown_drops_pending_waits_and_refuses_new_ones() {
    for backend in BACKENDS {
        let mut r = Reaped::of(backend);
        let w = words(1);
        add(&r.pool, 1, &w, 0, 0, Some(Duration::from_millis(30)));
        add(&r.pool, 2, &w, 0, 0, None);
        r.pool.shutdown();
        assert_eq!(r.pool.pending(), 0, "{backend:?}");
        let keep: Keep = w.clone();
        // SAFETY: as in `add`.
        assert!(unsafe { r.pool.add(3, word_of(&w, 0, 0), None, None, keep) }.is_err());
        thread::sleep(Duration::from_millis(50));
        assert!(r.quiet());
    }
}

#[test]
fn wait_ids_are_checked() {
    for backend in BACKENDS {
        let r = Reaped::of(backend);
        let w = words(1);
        let keep: Keep = w.clone();
        // SAFETY: as in `add`.
        let e = unsafe { r.pool.add(1 << 62, word_of(&w, 0, 0), None, None, keep) };
        assert!(e.is_err(), "{backend:?}");
        add(&r.pool, 7, &w, 0, 0, None);
        let keep: Keep = w.clone();
        // SAFETY: as in `add`.
        let e = unsafe { r.pool.add(7, word_of(&w, 0, 0), None, None, keep) };
        assert_eq!(e.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
        assert!(r.pool.cancel(7));
    }
}

#[test]
fn threads_of_ended_groups_are_reused_then_leave() {
    let mut r = Reaped::of(Backend::Threads);
    let w = words(4);
    for round in 0..4u64 {
        add(&r.pool, round, &w, round as usize, 0, None);
        wake_until(&w, round as usize, 1, 1);
        assert_eq!(r.recv(), (round, Report::Woken));
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        r.pool.threads(),
        1,
        "one lingering thread served every round"
    );
    thread::sleep(LINGER + Duration::from_millis(500));
    assert_eq!(r.pool.threads(), 0);
    // A new wait after that gets a new thread.
    add(&r.pool, 9, &w, 0, 0, None);
    wake_until(&w, 0, 1, 1);
    assert_eq!(r.recv(), (9, Report::Woken));
}

/// Waits (up to 10 s) until thread `tid` of this process is blocked in a
/// futex system call, as /proc/self/task/TID/syscall shows (its first field
/// is the number of the system call the thread is blocked in).
fn until_asleep_in_futex(tid: libc::pid_t) {
    #[cfg(target_arch = "x86_64")]
    const FUTEX: [&str; 2] = ["202", "449"];
    #[cfg(target_arch = "aarch64")]
    const FUTEX: [&str; 2] = ["98", "449"];
    let path = format!("/proc/self/task/{tid}/syscall");
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let Ok(line) = std::fs::read_to_string(&path) else {
            // No such file (a kernel without it, gVisor): a generous sleep
            // instead, as before.
            thread::sleep(Duration::from_millis(50));
            return;
        };
        if FUTEX.contains(&line.split_whitespace().next().unwrap_or("")) {
            // In the call; a moment more to be queued (the number shows
            // from the call's entry on).
            thread::sleep(Duration::from_millis(1));
            return;
        }
        assert!(
            Instant::now() < give_up,
            "thread {tid} never slept in a futex: {line}"
        );
        thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn threads_a_wake_that_reaches_a_cancelled_waits_thread_is_passed_on() {
    // A waiter of the threads backend is cancelled just as a notify(1)
    // arrives: the kernel may hand that wake to the group's thread, which
    // must pass it on to the word's other waiter (here a blocking wait).
    let r = Reaped::of(Backend::Threads);
    let w = words(1);
    let mut lost = 0;
    for id in 0..100u64 {
        add(&r.pool, id, &w, 0, 0, None);
        thread::sleep(Duration::from_millis(5)); // the pool's thread sleeps
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let blocker = {
            let w = w.clone();
            thread::spawn(move || {
                // SAFETY: the gettid system call has no preconditions (the
                // syscall, not glibc's wrapper, which needs glibc 2.30).
                let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t;
                tid_tx.send(tid).unwrap();
                futex::wait(&w[0], 0, Some(Duration::from_secs(2))).unwrap()
            })
        };
        // Queued behind it: the blocker is asleep in the kernel before the
        // wake is sent (a wake sent earlier legitimately finds nobody to
        // hand on to, and a loaded machine can delay the blocker by more
        // than any fixed sleep).
        until_asleep_in_futex(tid_rx.recv().unwrap());
        assert!(r.pool.cancel(id));
        let woken = wake(&w[0], 1);
        assert_eq!(woken, 1, "the cancelled wait's thread or the blocker");
        if blocker.join().unwrap() != futex::Outcome::Woken {
            lost += 1;
        }
    }
    assert_eq!(lost, 0, "notifies swallowed by cancelled waits' threads");
    // A cancel alone wakes nobody (no spurious wakeup of other waiters).
    add(&r.pool, 500, &w, 0, 0, None);
    thread::sleep(Duration::from_millis(5));
    let blocker = {
        let w = w.clone();
        thread::spawn(move || futex::wait(&w[0], 0, Some(Duration::from_millis(300))).unwrap())
    };
    thread::sleep(Duration::from_millis(5));
    assert!(r.pool.cancel(500));
    assert_eq!(blocker.join().unwrap(), futex::Outcome::TimedOut);
}

#[test]
fn threads_every_wait_gets_a_thread_when_idle_threads_are_slow_to_wake() {
    // All of the pool's threads on one CPU (they inherit this thread's
    // affinity), so that idle threads signalled for new groups run late.
    // SAFETY: a cpu_set_t filled by the libc macros, for this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    let w = words(64);
    for round in 0..4u64 {
        let mut r = Reaped::of(Backend::Threads);
        // Warm up: 4 threads serve 4 groups, then go idle.
        for i in 0..4u64 {
            add(&r.pool, 1000 * round + i, &w, i as usize, 0, None);
        }
        for i in 0..4 {
            wake_until(&w, i, 1, 1);
        }
        for _ in 0..4 {
            assert_eq!(r.recv().1, Report::Woken);
        }
        thread::sleep(Duration::from_millis(20));
        // 16 groups back to back: each must get a thread of its own (the 4
        // idle ones and 12 more), whether or not the idle ones have woken.
        assert_eq!(r.pool.threads(), 4);
        for i in 16..32u64 {
            add(&r.pool, 1000 * round + i, &w, i as usize, 0, None);
        }
        assert_eq!(
            r.pool.threads(),
            16,
            "round {round}: a group was left without a thread"
        );
        for i in 16..32 {
            wake_until(&w, i, 1, 1); // fails after 20 s for a stranded wait
        }
        for _ in 16..32 {
            assert_eq!(r.recv().1, Report::Woken);
        }
    }
}

#[test]
fn threads_waits_that_keep_ending_without_a_wake_reuse_one_thread() {
    // Abort-and-retry, and short timeouts, on one key: each new wait takes
    // up the thread still sleeping for the one before.
    let mut r = Reaped::of(Backend::Threads);
    let w = words(1);
    for id in 0..1000u64 {
        add(&r.pool, id, &w, 0, 0, None);
        assert!(r.pool.cancel(id));
    }
    assert!(r.pool.threads() <= 1, "{} threads", r.pool.threads());
    for id in 1000..1100u64 {
        add(&r.pool, id, &w, 0, 0, Some(Duration::from_millis(1)));
        assert_eq!(r.recv(), (id, Report::TimedOut));
    }
    // One group thread and the timer.
    assert!(r.pool.threads() <= 2, "{} threads", r.pool.threads());
    // The thread still serves: a wake reaches the next wait.
    add(&r.pool, 5000, &w, 0, 0, None);
    wake_until(&w, 0, 1, 1);
    assert_eq!(r.recv(), (5000, Report::Woken));
    assert!(r.quiet());
}
