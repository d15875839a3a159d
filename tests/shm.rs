//! Shared memory checks that need real descriptors (std build only).
#![cfg(not(loom))]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use atomic_dict::shm::Mapping;

#[test]
fn a_memfd_without_the_table_seals_is_refused() {
    // SAFETY: a valid name and flags; the new descriptor is owned below.
    let fd = unsafe { libc::memfd_create(c"not-sealed".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: fd is new and owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain syscall on our descriptor.
    assert_eq!(unsafe { libc::ftruncate(fd.as_raw_fd(), 4096) }, 0);
    let err = Mapping::from_fd(fd.as_raw_fd()).err().expect("refused");
    assert!(
        err.to_string().contains("without atomic-dict's seals"),
        "{err}"
    );
}

#[test]
fn a_sealed_table_memfd_is_accepted() {
    let made = Mapping::create_memfd(4096).unwrap();
    let again = Mapping::from_fd(made.fd()).unwrap();
    assert_eq!(again.len(), 4096);
    assert_ne!(
        again.fd(),
        made.fd(),
        "the descriptor is duplicated, never taken"
    );
}
