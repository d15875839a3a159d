//! Shared memory checks that need real descriptors (std build only).
#![cfg(not(loom))]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

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

/// A new memfd of 4096 bytes made with `flags`, with `seals` added.
fn memfd(flags: libc::c_uint, seals: libc::c_int) -> OwnedFd {
    // SAFETY: a valid name and flags; the new descriptor is owned below.
    let fd = unsafe { libc::memfd_create(c"atomic-dict-test".as_ptr(), flags) };
    assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
    // SAFETY: fd is new and owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain syscalls on our descriptor.
    unsafe {
        assert_eq!(libc::ftruncate(fd.as_raw_fd(), 4096), 0);
        if seals != 0 {
            assert_eq!(libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals), 0);
        }
    }
    fd
}

#[test]
fn a_sealable_memfd_missing_any_table_seal_is_refused() {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    for seals in [
        0,
        libc::F_SEAL_SHRINK | libc::F_SEAL_GROW,
        libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL,
    ] {
        let fd = memfd(flags, seals);
        let err = Mapping::from_fd(fd.as_raw_fd()).err().expect("refused");
        assert!(
            err.to_string().contains("without atomic-dict's seals"),
            "seals {seals}: {err}"
        );
    }
    let sealed = memfd(flags, atomic_dict::shm::TABLE_SEALS);
    assert!(Mapping::from_fd(sealed.as_raw_fd()).is_ok());
}

#[test]
fn named_files_of_tmpfs_and_other_filesystems_are_not_taken_for_memfds() {
    // A tmpfs file can carry seals and starts with F_SEAL_SEAL alone, as a
    // memfd made without MFD_ALLOW_SEALING does; it must still attach.
    let shm = std::path::Path::new("/dev/shm");
    // SAFETY: statfs writes only `st`.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a statfs to write.
    assert_eq!(
        unsafe { libc::statfs(c"/dev/shm".as_ptr(), &mut st) },
        0,
        "this test needs /dev/shm"
    );
    assert_eq!(
        st.f_type,
        libc::TMPFS_MAGIC,
        "this test needs /dev/shm to be a tmpfs"
    );
    let dirs = [shm.to_path_buf(), std::env::temp_dir()];
    for dir in &dirs {
        let path = dir.join(format!("atomic-dict-seal-test-{}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        file.set_len(4096).unwrap();
        let r = Mapping::from_fd(file.as_raw_fd());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            r.expect("a named file attaches").len(),
            4096,
            "{}",
            path.display()
        );
    }
}

#[test]
fn unlinked_tmpfs_files_are_not_taken_for_memfds() {
    // shm_open then shm_unlink, or O_TMPFILE: a tmpfs file in no directory,
    // with F_SEAL_SEAL alone, like a memfd made without MFD_ALLOW_SEALING.
    // It lives on /dev/shm's mount, not the kernel's memfd mount: accepted.
    let path = std::path::Path::new("/dev/shm")
        .join(format!("atomic-dict-unlinked-test-{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("this test needs a writable /dev/shm");
    file.set_len(4096).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(file.metadata().unwrap().nlink(), 0);
    let r = Mapping::from_fd(file.as_raw_fd());
    assert_eq!(r.expect("an unlinked tmpfs file attaches").len(), 4096);
    // A memfd without the seals, in no directory either, is still refused.
    let m = memfd(libc::MFD_CLOEXEC, 0);
    assert!(Mapping::from_fd(m.as_raw_fd()).is_err());
}

/// The test that `the_seal_check_needs_no_proc` runs again with /proc hidden.
const NO_PROC_ENV: &str = "ATOMIC_DICT_TEST_NO_PROC";

#[test]
fn the_seal_check_needs_no_proc() {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    if std::env::var_os(NO_PROC_ENV).is_some() {
        // The inner run: /proc is an empty tmpfs here.
        assert!(
            !std::path::Path::new("/proc/self/fd").exists(),
            "/proc is not hidden"
        );
        let unsealed = memfd(flags, 0);
        let err = Mapping::from_fd(unsealed.as_raw_fd())
            .err()
            .expect("an unsealed memfd is refused without /proc too");
        assert!(
            err.to_string().contains("without atomic-dict's seals"),
            "{err}"
        );
        let sealed = memfd(flags, atomic_dict::shm::TABLE_SEALS);
        assert!(Mapping::from_fd(sealed.as_raw_fd()).is_ok());
        return;
    }
    // The outer run: this test again, in a mount namespace whose /proc is
    // hidden by an empty tmpfs (as root, or as root of a user namespace).
    let exe = std::env::current_exe().unwrap();
    let mut unshare = std::process::Command::new("unshare");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        unshare.arg("--map-root-user");
    }
    let out = unshare
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs none /proc && exec "$0" --exact the_seal_check_needs_no_proc --test-threads 1"#)
        .arg(&exe)
        .env(NO_PROC_ENV, "1")
        .output()
        .expect("this test needs util-linux's unshare, to hide /proc");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the run with /proc hidden (unshare --mount; needs root or user namespaces) failed:\n{stdout}{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the inner run ran no test:\n{stdout}{stderr}"
    );
}
