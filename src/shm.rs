//! Shared memory for tables: sealed memfds and named files, mapped with
//! `MAP_SHARED`. No Node here; the binding turns these into JS objects.
//!
//! Nothing here trusts the contents of a file: it checks what the kernel
//! says (file type, size, seals) and maps the whole file; the header is then
//! validated by `core::Table::attach` against the mapped length.
//! [`read_snapshot`] reads a private copy of a table file instead (read-only,
//! for `npx atomic-dict inspect`), validated by the same code.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::{MmapOptions, MmapRaw};

use crate::core::format::HEADER_BYTES;
use crate::core::{Backing, FormatError, HeapBacking, Layout, Table, Words};

/// The seals every memfd table carries; attaching to a memfd without them is
/// refused, since a peer could shrink it under the mapping (SIGBUS).
pub const TABLE_SEALS: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

/// A shared mapping and the file behind it.
pub struct Mapping {
    map: MmapRaw,
    file: File,
}

// SAFETY: the mapping is never remapped or unmapped while this value lives,
// mmap returns page-aligned memory, new files read as zeros, and the region
// is only accessed through atomics.
unsafe impl Backing for Mapping {
    fn bytes(&self) -> (*mut u8, usize) {
        (self.map.as_mut_ptr(), self.map.len())
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// An I/O error with what was being done, keeping the OS error number
/// (`io::Error::new` alone would drop it), the system call that failed and
/// the path it was given: see [`context`].
#[derive(Debug)]
pub struct Context {
    pub errno: Option<i32>,
    pub syscall: Option<&'static str>,
    pub path: Option<PathBuf>,
    /// What was being done, outermost first; empty when only the call is known.
    pub what: String,
    /// The inner error's text when it has no OS error number.
    detail: Option<String>,
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cause = match (&self.detail, self.errno) {
            (Some(detail), _) => detail.clone(),
            (None, Some(errno)) => describe_errno(errno),
            (None, None) => String::new(),
        };
        match (self.what.is_empty(), cause.is_empty()) {
            (false, false) => write!(f, "{}: {cause}", self.what),
            (false, true) => f.write_str(&self.what),
            (true, _) => f.write_str(&cause),
        }
    }
}

impl std::error::Error for Context {}

/// The system's text for an error number as Node words it (libuv's
/// strerror: "no such file or directory"), without std's " (os error N)".
pub fn describe_errno(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: buf is writable for its whole length; the XSI strerror_r
    // (which the libc crate links on glibc) NUL-terminates on success.
    let ret = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if ret != 0 {
        return format!("system error {errno}");
    }
    // SAFETY: strerror_r succeeded, so buf holds a NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
    lower_initial(&text)
}

/// "No such file" as "no such file"; an initialism ("RPC struct is bad")
/// stays as it is.
fn lower_initial(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second))
            if first.is_ascii_uppercase() && second.is_ascii_lowercase() =>
        {
            let mut out = String::with_capacity(text.len());
            out.push(first.to_ascii_lowercase());
            out.push_str(&text[1..]);
            out
        }
        _ => text.to_owned(),
    }
}

fn wrap(
    err: io::Error,
    what: String,
    syscall: Option<&'static str>,
    path: Option<&Path>,
) -> io::Error {
    let kind = err.kind();
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<Context>());
    let context = match inner {
        Some(c) => Context {
            errno: c.errno,
            syscall: c.syscall.or(syscall),
            path: c.path.clone().or_else(|| path.map(Path::to_path_buf)),
            what: match (what.is_empty(), c.what.is_empty()) {
                (true, _) => c.what.clone(),
                (false, true) => what,
                (false, false) => format!("{what}: {}", c.what),
            },
            detail: c.detail.clone(),
        },
        None => Context {
            errno: err.raw_os_error(),
            syscall,
            path: path.map(Path::to_path_buf),
            what,
            detail: err.raw_os_error().is_none().then(|| err.to_string()),
        },
    };
    io::Error::new(kind, context)
}

/// Adds what was being done to an error (outermost first), keeping its
/// errno, system call and path.
pub(crate) fn with_context(err: io::Error, what: impl std::fmt::Display) -> io::Error {
    wrap(err, what.to_string(), None, None)
}

/// Records the system call that failed (and the path it was given) on an
/// error, unless an inner context already names them.
pub(crate) fn from_syscall(
    err: io::Error,
    syscall: &'static str,
    path: Option<&Path>,
) -> io::Error {
    wrap(err, String::new(), Some(syscall), path)
}

/// The context added here, if any.
pub fn context(err: &io::Error) -> Option<&Context> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<Context>())
}

/// The OS error number behind an error, through any context added here.
pub fn errno(err: &io::Error) -> Option<i32> {
    err.raw_os_error()
        .or_else(|| context(err).and_then(|c| c.errno))
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Sizes a new file and reserves its storage, so that running out of memory
/// or disk fails here rather than as a SIGBUS on first touch.
fn size_and_reserve(file: &File, len: usize) -> io::Result<()> {
    if in_memory(file)? {
        crate::memory::check_room(len as u64, "a table in shared memory")?;
    }
    file.set_len(len as u64)
        .map_err(|e| from_syscall(e, "ftruncate", None))?;
    // SAFETY: plain syscall on a descriptor we own.
    let ret = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) };
    if ret != 0 {
        let err = io::Error::last_os_error();
        // A filesystem without fallocate still works, with sparse storage.
        if err.raw_os_error() != Some(libc::EOPNOTSUPP) {
            return Err(with_context(
                from_syscall(err, "fallocate", None),
                format!("cannot reserve {len} bytes"),
            ));
        }
    }
    Ok(())
}

/// Whether the file's storage is memory (a memfd, tmpfs such as /dev/shm),
/// so that reserving it takes pages the out-of-memory killer answers for.
fn in_memory(file: &File) -> io::Result<bool> {
    const TMPFS_MAGIC: libc::c_long = 0x0102_1994;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: st is writable for a whole statfs, which fstatfs fills on success.
    check(unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) })
        .map_err(|e| from_syscall(e, "fstatfs", None))?;
    // SAFETY: fstatfs succeeded, so st is initialised.
    let st = unsafe { st.assume_init() };
    Ok(st.f_type as libc::c_long == TMPFS_MAGIC)
}

/// A file refused as a table because of who may write it.
#[derive(Debug)]
pub struct Untrusted(pub String);

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Untrusted {}

fn check_trusted(file: &File, path: &Path) -> io::Result<()> {
    let meta = file
        .metadata()
        .map_err(|e| from_syscall(e, "fstat", Some(path)))?;
    if !meta.file_type().is_file() {
        // Not a table at all: map_existing says so.
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let refuse = |why: String| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            Untrusted(format!(
                "{} {why}; pass allowInsecure: true to open it anyway",
                path.display()
            )),
        ))
    };
    if meta.uid() != me {
        return refuse(format!(
            "is owned by uid {}, not by this process's uid {me}",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return refuse(format!(
            "is writable by group or others (mode {:#o})",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Whether `fd` is a memfd that lacks atomic-dict's seals (so it could
/// shrink under the mapping), asked of the file itself with F_GET_SEALS,
/// which needs no /proc:
/// - it fails with EINVAL on files that cannot carry seals (not shmem);
/// - a file with all of [`TABLE_SEALS`] is sealed as a table is;
/// - without F_SEAL_SEAL, it is a memfd made with MFD_ALLOW_SEALING (only
///   that clears F_SEAL_SEAL), sealed incompletely;
/// - with F_SEAL_SEAL but not the others, it is a memfd made without
///   MFD_ALLOW_SEALING, or a file of a tmpfs (such as /dev/shm), whose seals
///   start so. Every memfd lives on the kernel's internal shm mount, which
///   no tmpfs a user mounts shares: same device as a memfd made here, a
///   memfd; another, a tmpfs file, named or unlinked (accepted, as named
///   files are). If no memfd can be made here to compare with, a file in
///   no directory (st_nlink 0) counts as a memfd.
fn memfd_without_table_seals(file: &File) -> io::Result<bool> {
    // SAFETY: plain fcntl on a descriptor `file` owns.
    let seals = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) };
    if seals < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EINVAL) => Ok(false),
            _ => Err(from_syscall(e, "fcntl", None)),
        };
    }
    if seals & TABLE_SEALS == TABLE_SEALS {
        return Ok(false);
    }
    if seals & libc::F_SEAL_SEAL == 0 {
        return Ok(true);
    }
    let meta = file
        .metadata()
        .map_err(|e| from_syscall(e, "fstat", None))?;
    Ok(match memfd_device() {
        Some(dev) => meta.dev() == dev,
        None => meta.nlink() == 0,
    })
}

/// The device number of memfds (the kernel's internal shm mount), from a
/// memfd made once and closed; None if none can be made.
fn memfd_device() -> Option<u64> {
    static DEVICE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *DEVICE.get_or_init(|| {
        // SAFETY: a NUL-terminated name and constant flags.
        let fd = unsafe { libc::memfd_create(c"atomic-dict-probe".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd was just returned by memfd_create and is owned by nobody else.
        let probe = unsafe { File::from_raw_fd(fd) };
        probe.metadata().ok().map(|m| m.dev())
    })
}

impl Mapping {
    /// A new zero-filled memfd of `len` bytes: close-on-exec, storage
    /// reserved, sealed against shrinking and growing, then mapped.
    pub fn create_memfd(len: usize) -> io::Result<Mapping> {
        let name = c"atomic-dict";
        // SAFETY: name is a valid NUL-terminated string; flags are constants.
        let fd = check(unsafe {
            libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        })
        .map_err(|e| {
            with_context(
                from_syscall(e, "memfd_create", None),
                "cannot create shared memory",
            )
        })?;
        // SAFETY: fd was just returned by memfd_create and is owned by nobody else.
        let file = unsafe { File::from_raw_fd(fd) };
        size_and_reserve(&file, len).map_err(|e| with_context(e, "cannot create shared memory"))?;
        // SAFETY: plain fcntl on a descriptor we own.
        check(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, TABLE_SEALS) })
            .map_err(|e| from_syscall(e, "fcntl", None))?;
        Mapping::map(file, len)
    }

    /// Maps a table from a descriptor this process holds (inherited from a
    /// parent, or another table's). The descriptor is duplicated
    /// (close-on-exec), so the caller's stays open and untouched.
    pub fn from_fd(fd: RawFd) -> io::Result<Mapping> {
        // SAFETY: F_DUPFD_CLOEXEC on any integer is safe; it fails with EBADF
        // when `fd` is not open.
        let dup = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) }).map_err(|e| {
            with_context(from_syscall(e, "fcntl", None), format!("descriptor {fd}"))
        })?;
        // SAFETY: `dup` is a new descriptor that only this File owns.
        let file = unsafe { File::from_raw_fd(dup) };
        // SAFETY: plain fcntl on a descriptor we own.
        let access = check(unsafe { libc::fcntl(dup, libc::F_GETFL) })
            .map_err(|e| from_syscall(e, "fcntl", None))?
            & libc::O_ACCMODE;
        if access != libc::O_RDWR {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "not an atomic-dict table: descriptor {fd} is not open for reading and writing"
                ),
            ));
        }
        if memfd_without_table_seals(&file)? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("descriptor {fd} is a memfd without atomic-dict's seals (it could shrink under the mapping)"),
            ));
        }
        Mapping::map_existing(file, &format!("descriptor {fd}"))
    }

    /// Opens an existing named table file read-write, refusing symlinks.
    /// Unless `allow_insecure`, the file must be owned by this process's
    /// effective user and not writable by group or others: anyone who can
    /// write the file can change every count in it, or truncate it under
    /// every process that maps it (SIGBUS).
    pub fn open_file(path: &Path, allow_insecure: bool) -> io::Result<Mapping> {
        let file = open_no_follow(path, libc::O_RDWR)?;
        if !allow_insecure {
            check_trusted(&file, path)?;
        }
        Mapping::map_existing(file, &path.display().to_string())
    }

    /// Creates a new file of `len` bytes and mode `mode` under a hidden
    /// temporary name next to `path`, storage reserved, and maps it. The
    /// caller initialises the table in it, then [`Draft::publish`]es it.
    pub fn create_draft(path: &Path, len: usize, mode: u32) -> io::Result<Draft> {
        let (tmp, file) =
            create_temp_beside(path).map_err(|e| wrap(e, String::new(), None, Some(path)))?;
        let made = (|| {
            // SAFETY: plain syscall on a descriptor we own.
            check(unsafe { libc::fchmod(file.as_raw_fd(), mode as libc::mode_t) })
                .map_err(|e| from_syscall(e, "fchmod", None))?;
            size_and_reserve(&file, len)?;
            Mapping::map(file, len)
        })();
        match made {
            Ok(mapping) => Ok(Draft {
                tmp,
                mapping: Arc::new(mapping),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(wrap(
                    e,
                    format!("cannot create {}", path.display()),
                    None,
                    Some(path),
                ))
            }
        }
    }

    fn map_existing(file: File, what: &str) -> io::Result<Mapping> {
        let len = table_file_len(&file, what)?;
        Mapping::map(file, len)
    }

    fn map(file: File, len: usize) -> io::Result<Mapping> {
        let map = MmapOptions::new().len(len).map_raw(&file).map_err(|e| {
            with_context(
                from_syscall(e, "mmap", None),
                format!("cannot map {len} bytes"),
            )
        })?;
        Ok(Mapping { map, file })
    }

    /// The descriptor this mapping keeps open (to hand to other processes).
    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }
}

/// Opens `path` with `access` (`O_RDONLY` or `O_RDWR`), close-on-exec,
/// refusing a symbolic link in its last component. Never blocks on a FIFO:
/// callers then refuse it as not a regular file.
fn open_no_follow(path: &Path, access: libc::c_int) -> io::Result<File> {
    let c = cstring(path)?;
    let flags = access | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
    // SAFETY: c is a valid NUL-terminated path.
    let fd = match check(unsafe { libc::open(c.as_ptr(), flags) }) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link; tables are not opened through links",
                    path.display()
                ),
            ))
        }
        Err(e) => {
            return Err(with_context(
                from_syscall(e, "open", Some(path)),
                path.display(),
            ))
        }
    };
    // SAFETY: fd was just opened and is owned by nobody else.
    let file = unsafe { File::from_raw_fd(fd) };
    // O_NONBLOCK was only for the open itself (a FIFO would wait for a
    // writer); a regular file ignores it, so clear it for good measure.
    // SAFETY: plain fcntl on a descriptor we own.
    let status = check(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) })
        .map_err(|e| from_syscall(e, "fcntl", None))?;
    // SAFETY: plain fcntl on a descriptor we own.
    check(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, status & !libc::O_NONBLOCK) })
        .map_err(|e| from_syscall(e, "fcntl", None))?;
    Ok(file)
}

/// What a non-regular file is, for messages.
fn file_type_name(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Refuses anything but a regular file (a directory, device, FIFO, socket),
/// naming it `what` and saying what it is.
fn require_regular(meta: &std::fs::Metadata, what: &dyn std::fmt::Display) -> io::Result<()> {
    if meta.file_type().is_file() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{what} is not a regular file ({})",
            file_type_name(meta.file_type())
        ),
    ))
}

/// The length of a file that may hold a table: a non-empty regular file.
/// `what` names it in errors.
fn table_file_len(file: &File, what: &str) -> io::Result<usize> {
    let meta = file
        .metadata()
        .map_err(|e| from_syscall(e, "fstat", None))?;
    require_regular(&meta, &what)?;
    let len = usize::try_from(meta.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{what} is too large")))?;
    if len == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an atomic-dict table: {what} is empty"),
        ));
    }
    Ok(len)
}

/// A private, point-in-time copy of a named table file (see [`read_snapshot`]).
pub struct Snapshot {
    /// The table in the copy, its header validated as attaching validates it.
    pub table: Table,
    /// The file's length when it was opened (a file may be longer than its
    /// table; only the table's bytes are copied).
    pub file_bytes: u64,
}

/// Bytes read from a file per `pread` while copying it.
const READ_CHUNK: usize = 1 << 20;

/// Reads a copy of the table in the file at `path` into heap memory, for
/// inspection. The file is opened read-only (`O_RDONLY | O_NOFOLLOW |
/// O_CLOEXEC`), so this needs only read permission and never changes it;
/// symbolic links and files other than regular files are refused, except a
/// process's descriptor as /proc shows it ([`proc_fd_path`]), which is
/// opened read-only through its link ([`open_proc_fd`]). Its header
/// is checked first (only 128 bytes are read from a file that is not a
/// table), then the table's bytes are copied and the copy is checked again
/// by [`Table::attach`], the code that attaching to a shared table runs.
///
/// The copy is not atomic: if other processes are changing the table while
/// it is read, each 8-byte word is as it was at some moment during the read
/// (keys complete in the copy are real keys; counters and values may be from
/// slightly different moments). Errors name the path; a file that is not a
/// table gives an `InvalidData` or `InvalidInput` error saying so.
pub fn read_snapshot(path: &Path) -> io::Result<Snapshot> {
    let what = path.display().to_string();
    let file = if proc_fd_path(path) {
        open_proc_fd(path)?
    } else {
        open_no_follow(path, libc::O_RDONLY)?
    };
    snapshot_of(&file, &what)
}

/// Whether `path` is a descriptor of a process as /proc shows it
/// (`/proc/<pid>/fd/<n>`, `/proc/self/fd/<n>`, `/proc/thread-self/fd/<n>`,
/// `/dev/fd/<n>`): a link the kernel resolves to the open file itself, which
/// [`read_snapshot`] follows (it refuses every other symbolic link).
pub fn proc_fd_path(path: &Path) -> bool {
    let Some(text) = path.to_str() else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(n) = text.strip_prefix("/dev/fd/") {
        return digits(n);
    }
    let Some(rest) = text.strip_prefix("/proc/") else {
        return false;
    };
    match rest.split_once("/fd/") {
        Some((pid, n)) => (digits(pid) || pid == "self" || pid == "thread-self") && digits(n),
        None => false,
    }
}

/// Opens a process's descriptor through /proc read-only (a new open file
/// description of the same file: nothing about the process's own descriptor
/// changes), only if it is a regular file, so that no device, FIFO or socket
/// is ever opened: the link is first opened with `O_PATH` (which opens
/// nothing), checked with `fstat`, and that very file then reopened for
/// reading through this process's own /proc entry for it (so a descriptor
/// closed and reused in between cannot slip another file in).
pub fn open_proc_fd(path: &Path) -> io::Result<File> {
    let what = path.display();
    let c = cstring(path)?;
    // SAFETY: c is a valid NUL-terminated path.
    let fd = check(unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) })
        .map_err(|e| with_context(e, &what))?;
    // SAFETY: fd was just opened and is owned by nobody else.
    let handle = unsafe { File::from_raw_fd(fd) };
    let meta = handle.metadata().map_err(|e| with_context(e, &what))?;
    require_regular(&meta, &what)?;
    let again = cstring(Path::new(&format!("/proc/self/fd/{fd}")))?;
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: again is a valid NUL-terminated path.
    let file =
        check(unsafe { libc::open(again.as_ptr(), flags) }).map_err(|e| with_context(e, &what))?;
    // SAFETY: file was just opened and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(file) })
}

/// Whether the file starts with atomic-dict's magic number (a table, or
/// something posing as one); false for a shorter file.
pub fn has_table_magic(file: &File) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut magic = [0u8; 8];
    let mut got = 0;
    while got < magic.len() {
        match file.read_at(&mut magic[got..], got as u64) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(u64::from_le_bytes(magic) == crate::core::format::MAGIC)
}

/// [`read_snapshot`] of a file already open for reading; `what` names it
/// in errors.
pub fn snapshot_of(file: &File, what: &str) -> io::Result<Snapshot> {
    use std::os::unix::fs::FileExt;
    let file_len = table_file_len(file, what)?;
    let not_a_table = |e: FormatError| {
        let why = match e {
            FormatError::NotATable(msg) => msg,
            FormatError::Invalid(..) => e.to_string(),
        };
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} is not an atomic-dict table: {why}"),
        )
    };
    let read_err = |e: io::Error| with_context(e, format!("cannot read {what}"));

    // Reads `len` bytes from offset 0 (fewer if the file is shorter now)
    // as 8-byte words, the last one zero-padded.
    let read_words = |len: usize| -> io::Result<(Vec<AtomicU64>, usize)> {
        // The copy is heap memory: with overcommit, try_reserve alone would
        // let a huge (or hostile) file bring in the out-of-memory killer.
        crate::memory::check_room(len as u64, &format!("a copy of {what}"))?;
        let mut words = Vec::new();
        words
            .try_reserve_exact(len.div_ceil(8))
            .map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))
            .map_err(|e| with_context(e, format!("cannot copy {len} bytes of {what}")))?;
        let mut buf = vec![0u8; READ_CHUNK.min(len.next_multiple_of(8))];
        let mut done = 0;
        while done < len {
            // Fill the buffer (or reach the end of the file).
            let want = (len - done).min(buf.len());
            let mut got = 0;
            while got < want {
                match file.read_at(&mut buf[got..want], (done + got) as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(read_err(e)),
                }
            }
            buf[got..got.next_multiple_of(8)].fill(0);
            for chunk in buf[..got.next_multiple_of(8)].chunks_exact(8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                words.push(AtomicU64::new(u64::from_ne_bytes(word)));
            }
            done += got;
            if got < want {
                break; // the file is shorter than it was
            }
        }
        Ok((words, done))
    };

    // The header alone first, checked against the file's length by the
    // code `Table::attach` runs.
    let (header, header_len) = read_words(file_len.min(HEADER_BYTES))?;
    let header = Words::new(Arc::new(
        HeapBacking::from_words(header, header_len)
            .ok_or_else(|| io::Error::other(format!("cannot copy {what}")))?,
    ));
    // A file that shrank under the read is judged by what was read.
    let region_len = if header_len < HEADER_BYTES {
        header_len
    } else {
        file_len
    };
    let layout = Layout::from_header(
        region_len,
        |off| header.u32(off).load(Ordering::Relaxed),
        |off| header.u64(off).load(Ordering::Relaxed),
    )
    .map_err(not_a_table)?;

    // Then the table's bytes, checked again as a table.
    let (words, len) = read_words(layout.total_bytes())?;
    let backing = HeapBacking::from_words(words, len)
        .ok_or_else(|| io::Error::other(format!("cannot copy {what}")))?;
    let table = Table::attach(Words::new(Arc::new(backing))).map_err(not_a_table)?;
    Ok(Snapshot {
        table,
        file_bytes: file_len as u64,
    })
}

/// An error message as a person reads it: Rust's " (os error N)" suffixes
/// removed, and the system's text that preceded each lower-cased ("/x: No
/// such file or directory (os error 2)" becomes "/x: no such file or
/// directory").
pub fn plain_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" (os error ") {
        let after = &rest[at + " (os error ".len()..];
        let digits = after
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'-')
            .count();
        if digits == 0 || !after[digits..].starts_with(')') {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
            continue;
        }
        let text = &rest[..at];
        // The system's text starts after the last ": " (or at the start).
        let start = text.rfind(": ").map_or(0, |i| i + 2);
        out.push_str(&text[..start]);
        out.push_str(&lower_initial(&text[start..]));
        rest = &after[digits + 1..];
    }
    out.push_str(rest);
    out
}

/// A table file being made under a temporary name; removed if dropped
/// unpublished.
pub struct Draft {
    tmp: PathBuf,
    mapping: Arc<Mapping>,
}

impl Draft {
    pub fn mapping(&self) -> &Arc<Mapping> {
        &self.mapping
    }

    /// Links the finished file to `path` only if nothing is there yet, so
    /// every process that opens `path` sees a complete table. `Ok(None)` when
    /// another process published its table there first.
    pub fn publish(self, path: &Path) -> io::Result<Option<Arc<Mapping>>> {
        match std::fs::hard_link(&self.tmp, path) {
            Ok(()) => Ok(Some(self.mapping.clone())),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(with_context(
                from_syscall(e, "link", Some(path)),
                format!("cannot create {}", path.display()),
            )),
        }
    }
}

impl Drop for Draft {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// A new empty file (O_EXCL, mode 0600 until the caller sets its own) with a
/// unique hidden name in `path`'s directory.
fn create_temp_beside(path: &Path) -> io::Result<(PathBuf, File)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // At most 64 bytes of the name, so the temporary name stays within the
    // 255-byte limit however long the table's name is.
    let bytes = base.as_bytes();
    let short = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]);
    for attempt in 0..100u32 {
        let name = format!(".{short}.{}-{nanos:x}-{attempt}.tmp", std::process::id());
        let tmp = dir.join(name);
        let c = cstring(&tmp)?;
        let flags =
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: c is a valid NUL-terminated path.
        match check(unsafe { libc::open(c.as_ptr(), flags, 0o600 as libc::c_uint) }) {
            // SAFETY: fd was just opened and is owned by nobody else.
            Ok(fd) => return Ok((tmp, unsafe { File::from_raw_fd(fd) })),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(with_context(
                    from_syscall(e, "open", None),
                    format!("cannot create a file in {}", dir.display()),
                ))
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "cannot find a free temporary name",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message_drops_os_error_suffixes() {
        assert_eq!(
            plain_message("/x: No such file or directory (os error 2)"),
            "/x: no such file or directory"
        );
        assert_eq!(
            plain_message("Permission denied (os error 13)"),
            "permission denied"
        );
        assert_eq!(
            plain_message(
                "cannot read /a: Input/output error (os error 5); and b: EOF (os error 7)"
            ),
            "cannot read /a: input/output error; and b: EOF"
        );
        // Not a suffix Rust writes: left alone.
        assert_eq!(plain_message("a (os error x)"), "a (os error x)");
        assert_eq!(plain_message("a (os error 3"), "a (os error 3");
        assert_eq!(plain_message("no error here"), "no error here");
    }

    #[test]
    fn proc_fd_paths() {
        for p in [
            "/proc/1/fd/0",
            "/proc/self/fd/12",
            "/proc/thread-self/fd/3",
            "/dev/fd/4",
        ] {
            assert!(proc_fd_path(Path::new(p)), "{p}");
        }
        for p in [
            "/proc/1/fd/",
            "/proc/1/fd/x",
            "/proc/a/fd/1",
            "/proc/1/fdinfo/1",
            "/proc/1/fd/1/x",
            "/tmp/proc/1/fd/1",
            "/dev/fd/",
            "proc/1/fd/1",
        ] {
            assert!(!proc_fd_path(Path::new(p)), "{p}");
        }
    }
}
