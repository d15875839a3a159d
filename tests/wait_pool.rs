//! The wait pools (src/wait/): many waits on few threads, each wait
//! reported once, woken by futex wakes from other threads. Every test runs
//! against both backends (io_uring, and the futex_waitv fallback), except
//! where the fallback's documented limit makes it differ.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use atomic_dict::futex;
use atomic_dict::wait::{Backend, Keep, Report, WaitId, WaitPool, Word};

const BACKENDS: [Backend; 2] = [Backend::IoUring, Backend::FutexWaitv];

fn pool_of(backend: Backend) -> (WaitPool, Receiver<(WaitId, Report)>) {
    let (tx, rx) = channel();
    let tx = std::sync::Mutex::new(tx);
    let pool = WaitPool::with_backend(
        Box::new(move |reports| {
            let tx = tx.lock().unwrap();
            for r in reports {
                let _ = tx.send(r);
            }
        }),
        backend,
    );
    assert_eq!(
        pool.backend(),
        backend,
        "this kernel lacks the {} backend",
        backend.name()
    );
    (pool, rx)
}

fn words(n: usize) -> Arc<Vec<AtomicU32>> {
    Arc::new((0..n).map(|_| AtomicU32::new(0)).collect())
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
    let word = Word {
        addr: &w[i] as *const AtomicU32 as usize,
        expected,
    };
    unsafe { pool.add(id, word, None, timeout, keep) }.unwrap();
}

/// Wakes `word` until `n` waiters in all have been woken.
fn wake_until(word: &AtomicU32, n: u32, per_call: u32) {
    let mut woken = 0;
    let end = Instant::now() + Duration::from_secs(20);
    while woken < n {
        assert!(
            Instant::now() < end,
            "only {woken} of {n} waiters were woken"
        );
        woken += futex::wake(word, per_call.min(n - woken)).unwrap();
        if woken < n {
            thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A wake that only counts: the word keeps its value.
fn wake(word: &AtomicU32, n: u32) -> u32 {
    futex::wake(word, n).unwrap()
}

fn recv(rx: &Receiver<(WaitId, Report)>) -> (WaitId, Report) {
    rx.recv_timeout(Duration::from_secs(20)).expect("a report")
}

fn quiet(rx: &Receiver<(WaitId, Report)>) -> bool {
    rx.recv_timeout(Duration::from_millis(100)).is_err()
}

#[test]
fn a_thousand_waits_on_distinct_words_are_all_woken_by_few_threads() {
    for backend in BACKENDS {
        let (pool, rx) = pool_of(backend);
        let w = words(1000);
        for id in 0..1000u64 {
            add(&pool, id, &w, id as usize, 0, None);
        }
        // One reaping thread for io_uring; one per 127 words for futex_waitv.
        let threads = if backend == Backend::IoUring { 1 } else { 8 };
        assert_eq!(pool.threads(), threads, "{backend:?}");
        assert_eq!(pool.pending(), 1000);
        // As a notifier does: change the word, then wake it.
        for word in w.iter() {
            word.store(1, Ordering::SeqCst);
            wake(word, u32::MAX);
        }
        let mut seen = vec![false; 1000];
        for _ in 0..1000 {
            let (id, r) = recv(&rx);
            assert_eq!(r, Report::Woken);
            assert!(!seen[id as usize], "wait {id} reported twice");
            seen[id as usize] = true;
        }
        assert_eq!(pool.pending(), 0);
        assert!(quiet(&rx));
    }
}

#[test]
fn io_uring_wakes_exactly_as_many_waits_as_it_counts_even_without_a_change() {
    let (pool, rx) = pool_of(Backend::IoUring);
    let w = words(300);
    for id in 0..300u64 {
        add(&pool, id, &w, id as usize, 0, None);
    }
    // Wakes in a row, faster than the reaper runs; the values never change.
    for word in w.iter() {
        wake_until(word, 1, 1);
    }
    let mut got: Vec<u64> = (0..300).map(|_| recv(&rx).0).collect();
    got.sort_unstable();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    // 50 waits on one word: a wake of 20 ends exactly 20.
    let one = words(1);
    for id in 1000..1050 {
        add(&pool, id, &one, 0, 0, None);
    }
    wake_until(&one[0], 20, 20);
    for _ in 0..20 {
        assert_eq!(recv(&rx).1, Report::Woken);
    }
    assert!(quiet(&rx));
    assert_eq!(pool.pending(), 30);
    wake_until(&one[0], 30, u32::MAX);
    for _ in 0..30 {
        assert_eq!(recv(&rx).1, Report::Woken);
    }
}

#[test]
fn futex_waitv_waits_on_one_word_share_one_kernel_waiter_and_end_together() {
    let (pool, rx) = pool_of(Backend::FutexWaitv);
    let w = words(2);
    for id in 0..500 {
        add(&pool, id, &w, 0, 0, None);
    }
    add(&pool, 500, &w, 1, 0, None);
    assert_eq!(pool.threads(), 1);
    // One wake of one waiter reaches the shared entry: it counts 1 and ends
    // every wait on the word, and none on the other word.
    wake_until(&w[0], 1, 1);
    let mut ended: Vec<WaitId> = (0..500)
        .map(|_| {
            let (id, r) = recv(&rx);
            assert_eq!(r, Report::Woken);
            id
        })
        .collect();
    ended.sort_unstable();
    assert_eq!(ended, (0..500).collect::<Vec<_>>());
    assert!(quiet(&rx));
    assert_eq!(pool.pending(), 1);
    assert_eq!(wake(&w[0], u32::MAX), 0);
    wake_until(&w[1], 1, 1);
    assert_eq!(recv(&rx), (500, Report::Woken));
}

#[test]
fn wakes_one_at_a_time_end_waits_one_by_one() {
    for backend in BACKENDS {
        let (pool, rx) = pool_of(backend);
        let w = words(200);
        for id in 0..200u64 {
            add(&pool, id, &w, id as usize, 0, None);
        }
        for (i, word) in w.iter().enumerate() {
            wake_until(word, 1, 1);
            assert_eq!(recv(&rx), (i as u64, Report::Woken), "{backend:?}");
        }
    }
}

#[test]
fn timeouts_end_waits_no_sooner_than_asked() {
    for backend in BACKENDS {
        let (pool, rx) = pool_of(backend);
        let w = words(1);
        let start = Instant::now();
        add(&pool, 1, &w, 0, 0, Some(Duration::from_millis(40)));
        add(&pool, 2, &w, 0, 0, Some(Duration::from_millis(10)));
        add(&pool, 3, &w, 0, 0, None);
        assert_eq!(recv(&rx), (2, Report::TimedOut), "{backend:?}");
        assert!(start.elapsed() >= Duration::from_millis(10));
        assert_eq!(recv(&rx), (1, Report::TimedOut));
        assert!(start.elapsed() >= Duration::from_millis(40));
        assert_eq!(pool.pending(), 1);
        assert!(pool.cancel(3));
        assert!(quiet(&rx));
    }
}

#[test]
fn a_cancelled_wait_is_never_reported_and_others_go_on() {
    for backend in BACKENDS {
        let (pool, rx) = pool_of(backend);
        let w = words(2);
        add(&pool, 1, &w, 0, 0, None);
        add(&pool, 2, &w, 1, 0, None);
        thread::sleep(Duration::from_millis(20));
        assert!(pool.cancel(1));
        assert!(!pool.cancel(1));
        thread::sleep(Duration::from_millis(20));
        assert_eq!(wake(&w[0], u32::MAX), 0, "{backend:?}");
        wake_until(&w[1], 1, 1);
        assert_eq!(recv(&rx), (2, Report::Woken));
        assert!(quiet(&rx));
        assert_eq!(pool.pending(), 0);
    }
}

#[test]
fn a_wait_whose_words_already_changed_ends_as_woken() {
    for backend in BACKENDS {
        let (pool, rx) = pool_of(backend);
        let w = words(3);
        w[0].store(7, Ordering::SeqCst);
        add(&pool, 1, &w, 0, 6, None);
        assert_eq!(recv(&rx), (1, Report::Woken), "{backend:?}");
        // The low word holds its value, the high word does not.
        let keep: Keep = w.clone();
        let low = Word {
            addr: &w[1] as *const AtomicU32 as usize,
            expected: 0,
        };
        let high = Word {
            addr: &w[2] as *const AtomicU32 as usize,
            expected: 5,
        };
        // SAFETY: aligned u32s of the Vec that `keep` keeps alive.
        unsafe { pool.add(2, low, Some(high), None, keep) }.unwrap();
        assert_eq!(recv(&rx), (2, Report::Woken), "{backend:?}");
        assert!(quiet(&rx));
    }
}

#[test]
fn futex_waitv_sees_a_change_of_the_high_word_alone_when_it_rearms() {
    let (pool, rx) = pool_of(Backend::FutexWaitv);
    let w = words(3);
    let keep: Keep = w.clone();
    let low = Word {
        addr: &w[0] as *const AtomicU32 as usize,
        expected: 0,
    };
    let high = Word {
        addr: &w[1] as *const AtomicU32 as usize,
        expected: 0,
    };
    // SAFETY: as in `add`.
    unsafe { pool.add(1, low, Some(high), None, keep) }.unwrap();
    thread::sleep(Duration::from_millis(20));
    w[1].store(1, Ordering::SeqCst);
    // Another wait in the group makes its thread re-arm, and see it.
    add(&pool, 2, &w, 2, 0, None);
    assert_eq!(recv(&rx), (1, Report::Woken));
    assert_eq!(pool.pending(), 1);
}

#[test]
fn shutdown_drops_pending_waits_and_refuses_new_ones() {
    for backend in BACKENDS {
        let (pool, rx) = pool_of(backend);
        let w = words(1);
        add(&pool, 1, &w, 0, 0, None);
        pool.shutdown();
        assert_eq!(pool.pending(), 0, "{backend:?}");
        let keep: Keep = w.clone();
        let word = Word {
            addr: &w[0] as *const AtomicU32 as usize,
            expected: 0,
        };
        // SAFETY: as in `add`.
        assert!(unsafe { pool.add(2, word, None, None, keep) }.is_err());
        assert!(quiet(&rx));
    }
}
