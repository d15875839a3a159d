//! Liveness through OFD locks (src/contributors.rs), within one process:
//! two open file descriptions of one file conflict even in one process, so
//! several `Contributors` here behave as several processes would. Real
//! processes (SIGKILL, fork) are in __test__/contributors.test.js.
#![cfg(not(loom))]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use atomic_dict::contributors::{Contributors, MAX_SLOTS, OWNER_BASE, READY_BASE};
use atomic_dict::shm::{errno, Mapping};

/// A table-like memfd (sealed as tables are) of one page.
fn memfd() -> Mapping {
    Mapping::create_memfd(4096).expect("memfd")
}

/// A new open file description of the file behind `fd`, as a test's own
/// "other process" holding raw locks.
fn reopen(fd: RawFd) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/self/fd/{fd}"))
        .expect("reopen")
}

fn flock(kind: libc::c_int, start: i64, len: i64) -> libc::flock {
    // SAFETY: plain old data; all-zero is valid and l_pid must be 0.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = start;
    fl.l_len = len;
    fl
}

/// A raw `fcntl` lock command on `fd`; returns the struct as the kernel left it.
fn raw(fd: RawFd, cmd: libc::c_int, mut fl: libc::flock) -> io::Result<libc::flock> {
    // SAFETY: fd is open for the call; fl is a valid struct flock.
    let ret = unsafe { libc::fcntl(fd, cmd, &mut fl as *mut libc::flock) };
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(fl)
    }
}

/// Takes a write lock on `len` bytes at `start` through `fd`'s OFD.
fn lock(fd: RawFd, start: i64, len: i64) -> io::Result<()> {
    raw(fd, libc::F_OFD_SETLK, flock(libc::F_WRLCK, start, len)).map(|_| ())
}

/// Whether some other OFD than `fd`'s holds a lock on the byte at `offset`.
fn held_by_other(fd: RawFd, offset: i64) -> bool {
    let fl = raw(fd, libc::F_OFD_GETLK, flock(libc::F_WRLCK, offset, 1)).expect("getlk");
    fl.l_type != libc::F_UNLCK as libc::c_short
}

fn temp_path(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "atomic-dict-contributors-{name}-{}-{nanos:x}",
        std::process::id()
    ))
}

#[test]
fn two_contributors_get_distinct_slots_and_count_only_once_ready() {
    let table = memfd();
    let mut a = Contributors::open(table.fd()).unwrap();
    let mut b = Contributors::open(table.fd()).unwrap();
    assert_eq!(a.claim(16).unwrap(), Some(0));
    assert_eq!(b.claim(16).unwrap(), Some(1));
    assert_eq!((a.slot(), b.slot()), (Some(0), Some(1)));

    // Claimed is not live: neither has called ready().
    assert_eq!(a.live(16).unwrap(), Vec::<u32>::new());
    assert_eq!(b.live(16).unwrap(), Vec::<u32>::new());

    b.ready().unwrap();
    assert_eq!(
        a.live(16).unwrap(),
        vec![1],
        "a sees b's slot after b's ready()"
    );
    assert_eq!(b.live(16).unwrap(), vec![1], "b counts its own slot");
    b.ready().unwrap(); // again: harmless

    a.ready().unwrap();
    assert_eq!(a.live(16).unwrap(), vec![0, 1]);
    assert_eq!(b.live(16).unwrap(), vec![0, 1]);
    // A max below a slot leaves it out, ours included.
    assert_eq!(a.live(1).unwrap(), vec![0]);
    assert_eq!(b.live(1).unwrap(), vec![0]);
}

#[test]
fn a_dropped_contributor_stops_counting_and_its_slot_is_claimed_again() {
    let table = memfd();
    let mut a = Contributors::open(table.fd()).unwrap();
    let mut b = Contributors::open(table.fd()).unwrap();
    let mut c = Contributors::open(table.fd()).unwrap();
    for x in [&mut a, &mut b, &mut c] {
        x.claim(8).unwrap().expect("a free slot");
        x.ready().unwrap();
    }
    assert_eq!(a.live(8).unwrap(), vec![0, 1, 2]);
    let b_fd = b.as_raw_fd().unwrap();
    drop(b); // closes its descriptor, the kernel drops its locks
             // SAFETY: F_GETFD on any integer is safe.
    assert_eq!(unsafe { libc::fcntl(b_fd, libc::F_GETFD) }, -1, "closed");
    assert_eq!(a.live(8).unwrap(), vec![0, 2]);

    let mut d = Contributors::open(table.fd()).unwrap();
    assert_eq!(
        d.claim(8).unwrap(),
        Some(1),
        "the dead slot, the lowest free"
    );
    assert_eq!(a.live(8).unwrap(), vec![0, 2], "claimed, not ready yet");
    d.ready().unwrap();
    assert_eq!(c.live(8).unwrap(), vec![0, 1, 2]);
}

#[test]
fn release_frees_both_locks_ready_first() {
    let table = memfd();
    let probe = reopen(table.fd());
    let mut a = Contributors::open(table.fd()).unwrap();
    let mut b = Contributors::open(table.fd()).unwrap();
    assert_eq!(a.claim(4).unwrap(), Some(0));
    a.ready().unwrap();
    assert!(held_by_other(probe.as_raw_fd(), OWNER_BASE));
    assert!(held_by_other(probe.as_raw_fd(), READY_BASE));
    assert_eq!(b.live(4).unwrap(), vec![0]);

    a.release();
    assert_eq!(a.slot(), None);
    assert!(!a.is_ready());
    assert!(!held_by_other(probe.as_raw_fd(), OWNER_BASE));
    assert!(!held_by_other(probe.as_raw_fd(), READY_BASE));
    assert_eq!(b.live(4).unwrap(), Vec::<u32>::new());
    assert_eq!(b.claim(4).unwrap(), Some(0), "slot 0 is free again");
    a.release(); // without a slot: nothing

    // The released contributor can claim again (the next free slot).
    assert_eq!(a.claim(4).unwrap(), Some(1));
    a.ready().unwrap();
    assert_eq!(b.live(4).unwrap(), vec![1]);

    // Release of a claimed, never-ready slot frees OWNER.
    b.release();
    assert!(!held_by_other(probe.as_raw_fd(), OWNER_BASE));
}

#[test]
fn no_free_slot_gives_none() {
    let table = memfd();
    let mut held = Vec::new();
    for want in 0..3 {
        let mut c = Contributors::open(table.fd()).unwrap();
        assert_eq!(c.claim(3).unwrap(), Some(want));
        held.push(c);
    }
    let mut late = Contributors::open(table.fd()).unwrap();
    assert_eq!(late.claim(3).unwrap(), None);
    assert_eq!(late.slot(), None);
    assert_eq!(late.claim(4).unwrap(), Some(3), "a larger max has room");

    // Every one of MAX_SLOTS held (by one other OFD's range lock).
    let other = memfd();
    let hog = reopen(other.fd());
    lock(hog.as_raw_fd(), OWNER_BASE, i64::from(MAX_SLOTS)).unwrap();
    let mut c = Contributors::open(other.fd()).unwrap();
    assert_eq!(c.claim(MAX_SLOTS).unwrap(), None);
    drop(hog);
    assert_eq!(c.claim(MAX_SLOTS).unwrap(), Some(0));
}

#[test]
fn live_finds_exactly_the_held_slots_in_ascending_order() {
    let slots = [4095i64, 63, 0, 64, 5];
    let want = vec![0u32, 5, 63, 64, 4095];

    // Each READY held by an OFD of its own (as contributors hold them).
    let table = memfd();
    let holders: Vec<File> = slots
        .iter()
        .map(|&s| {
            let f = reopen(table.fd());
            lock(f.as_raw_fd(), READY_BASE + s, 1).unwrap();
            f
        })
        .collect();
    let reader = Contributors::open(table.fd()).unwrap();
    assert_eq!(reader.live(MAX_SLOTS).unwrap(), want);
    assert_eq!(reader.live(64).unwrap(), vec![0, 5, 63]);
    assert_eq!(reader.live(65).unwrap(), vec![0, 5, 63, 64]);
    // OWNER locks alone never count, and neither do bytes outside the range.
    let owner = reopen(table.fd());
    lock(owner.as_raw_fd(), OWNER_BASE, i64::from(MAX_SLOTS)).unwrap();
    lock(owner.as_raw_fd(), READY_BASE - 1, 1).unwrap();
    lock(owner.as_raw_fd(), READY_BASE + i64::from(MAX_SLOTS), 1).unwrap();
    assert_eq!(reader.live(MAX_SLOTS).unwrap(), want);
    drop(holders);
    assert_eq!(reader.live(MAX_SLOTS).unwrap(), Vec::<u32>::new());

    // All held by one OFD: the kernel merges 63 and 64 into one lock, which
    // it reports as one range of two bytes.
    let one = reopen(table.fd());
    for s in slots {
        lock(one.as_raw_fd(), READY_BASE + s, 1).unwrap();
    }
    let fl = raw(
        reader.as_raw_fd().unwrap(),
        libc::F_OFD_GETLK,
        flock(libc::F_WRLCK, READY_BASE + 60, 10),
    )
    .unwrap();
    assert_eq!((fl.l_start, fl.l_len), (READY_BASE + 63, 2), "merged");
    assert_eq!(fl.l_pid, -1, "an OFD lock is reported with l_pid -1");
    assert_eq!(reader.live(MAX_SLOTS).unwrap(), want);
    drop(one);
    drop(owner);

    // A lock over a whole range, and one "to the end of all files".
    let wide = reopen(table.fd());
    lock(wide.as_raw_fd(), READY_BASE + 10, 20).unwrap();
    assert_eq!(
        reader.live(MAX_SLOTS).unwrap(),
        (10..30).collect::<Vec<u32>>()
    );
    lock(wide.as_raw_fd(), READY_BASE + 4000, 0).unwrap();
    let mut tail: Vec<u32> = (10..30).collect();
    tail.extend(4000..MAX_SLOTS);
    assert_eq!(reader.live(MAX_SLOTS).unwrap(), tail);
}

#[test]
fn live_holds_every_slot() {
    let table = memfd();
    let hog = reopen(table.fd());
    for s in (0..i64::from(MAX_SLOTS)).step_by(2) {
        lock(hog.as_raw_fd(), READY_BASE + s, 1).unwrap();
    }
    let reader = Contributors::open(table.fd()).unwrap();
    let live = reader.live(MAX_SLOTS).unwrap();
    assert_eq!(live, (0..MAX_SLOTS).step_by(2).collect::<Vec<u32>>());
}

#[test]
fn named_files_linked_and_unlinked() {
    for unlinked in [false, true] {
        let path = temp_path(if unlinked { "unlinked" } else { "named" });
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        file.set_len(4096).unwrap();
        if unlinked {
            std::fs::remove_file(&path).unwrap();
        }
        let mut a = Contributors::open(file.as_raw_fd()).unwrap();
        let mut b = Contributors::open(file.as_raw_fd()).unwrap();
        assert_eq!(a.claim(8).unwrap(), Some(0));
        assert_eq!(b.claim(8).unwrap(), Some(1));
        a.ready().unwrap();
        assert_eq!(b.live(8).unwrap(), vec![0]);
        drop(a);
        assert_eq!(b.live(8).unwrap(), Vec::<u32>::new());
        // The locks add no content: the file is as long as it was.
        assert_eq!(file.metadata().unwrap().len(), 4096);
        if !unlinked {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// Why a contributor opens the file again: a dup (or a descriptor a child
/// inherits, which is a dup made by the kernel) shares the open file
/// description, and so its locks. Two "contributors" locking through the
/// table's descriptor and a dup of it both get OWNER of slot 0, and neither
/// sees the other's READY; a reopened one conflicts with both.
#[test]
fn a_dup_shares_the_open_file_description_and_its_locks() {
    let table = memfd();
    let parent = table.fd();
    // SAFETY: F_DUPFD_CLOEXEC of an open descriptor; the new one is owned below.
    let dup = unsafe { libc::fcntl(parent, libc::F_DUPFD_CLOEXEC, 3) };
    assert!(dup >= 0);
    // SAFETY: dup is new and owned by nobody else.
    let dup = unsafe { OwnedFd::from_raw_fd(dup) };

    lock(parent, OWNER_BASE, 1).unwrap();
    lock(parent, READY_BASE, 1).unwrap();
    lock(dup.as_raw_fd(), OWNER_BASE, 1).expect("the dup takes the same lock: no conflict");
    assert!(
        !held_by_other(dup.as_raw_fd(), READY_BASE),
        "invisible through the dup"
    );

    // A contributor made from the dup reopens, so it is distinct.
    let mut c = Contributors::open(dup.as_raw_fd()).unwrap();
    assert_eq!(
        c.claim(4).unwrap(),
        Some(1),
        "slot 0 is held by the table's OFD"
    );
    assert_eq!(c.live(4).unwrap(), vec![0]);

    // Closing the dup does not drop the OFD's locks (the table's descriptor
    // still refers to it): only the last close does.
    drop(dup);
    assert_eq!(c.live(4).unwrap(), vec![0]);
}

#[test]
fn the_table_descriptor_is_reopened_never_taken() {
    let table = memfd();
    let c = Contributors::open(table.fd()).unwrap();
    let own = c.as_raw_fd().unwrap();
    assert_ne!(own, table.fd());
    // SAFETY: F_GETFD on an open descriptor.
    let flags = unsafe { libc::fcntl(own, libc::F_GETFD) };
    assert!(flags & libc::FD_CLOEXEC != 0, "close-on-exec");
    // SAFETY: F_GETFL on an open descriptor.
    let access = unsafe { libc::fcntl(own, libc::F_GETFL) } & libc::O_ACCMODE;
    assert_eq!(access, libc::O_RDWR);
    drop(c);
    // SAFETY: F_GETFD on any integer is safe.
    assert!(
        unsafe { libc::fcntl(table.fd(), libc::F_GETFD) } >= 0,
        "still open"
    );
}

#[test]
fn bad_descriptors_and_arguments_are_errors() {
    for fd in [-1, 987_654] {
        let err = Contributors::open(fd).expect_err("refused");
        assert_eq!(errno(&err), Some(libc::EBADF), "{fd}: {err}");
    }
    // A pipe is not a regular file.
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors, owned below.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both are new and owned by nobody else.
    let (r, _w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let err = Contributors::open(r.as_raw_fd()).expect_err("refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    // A directory neither.
    let dir = File::open("/").unwrap();
    let err = Contributors::open(dir.as_raw_fd()).expect_err("refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");

    let table = memfd();
    let mut c = Contributors::open(table.fd()).unwrap();
    let err = c.ready().expect_err("ready() before claim()");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    for max in [0, MAX_SLOTS + 1, u32::MAX] {
        assert_eq!(
            c.claim(max).expect_err("bad max").kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            c.live(max).expect_err("bad max").kind(),
            io::ErrorKind::InvalidInput
        );
    }
    assert_eq!(c.claim(MAX_SLOTS).unwrap(), Some(0));
    let err = c.claim(MAX_SLOTS).expect_err("claim() twice");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(c.slot(), Some(0), "unchanged");
}

#[test]
fn ready_fails_if_a_stranger_holds_our_ready_byte() {
    let table = memfd();
    let stranger = reopen(table.fd());
    lock(stranger.as_raw_fd(), READY_BASE, 1).unwrap();
    let mut c = Contributors::open(table.fd()).unwrap();
    assert_eq!(c.claim(4).unwrap(), Some(0));
    let err = c.ready().expect_err("held");
    assert_eq!(errno(&err), Some(libc::EAGAIN), "{err}");
    assert!(!c.is_ready());
    drop(stranger);
    c.ready().unwrap();
    assert_eq!(c.live(4).unwrap(), vec![0]);
}

/// The kernel contract the module relies on: l_pid must be 0 for OFD
/// commands, and a conflicting F_OFD_SETLK fails with EAGAIN (or EACCES).
#[test]
fn kernel_contract_of_ofd_locks() {
    let table = memfd();
    let a = reopen(table.fd());
    let b = reopen(table.fd());
    let mut fl = flock(libc::F_WRLCK, OWNER_BASE, 1);
    fl.l_pid = 1;
    let err = raw(a.as_raw_fd(), libc::F_OFD_SETLK, fl).expect_err("l_pid 1");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    lock(a.as_raw_fd(), OWNER_BASE, 1).unwrap();
    let err = lock(b.as_raw_fd(), OWNER_BASE, 1).expect_err("conflict");
    assert!(
        matches!(err.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)),
        "{err}"
    );
    // A query for a lock no other OFD blocks leaves F_UNLCK.
    let fl = raw(
        a.as_raw_fd(),
        libc::F_OFD_GETLK,
        flock(libc::F_WRLCK, OWNER_BASE, 1),
    )
    .unwrap();
    assert_eq!(fl.l_type, libc::F_UNLCK as libc::c_short, "own lock");
}
