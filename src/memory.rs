//! How much memory a new table may take before the kernel has to kill
//! someone for it. A table in a memfd or on tmpfs (`/dev/shm`) is shared
//! memory: reserving its storage (`fallocate`) takes real pages at once, and
//! neither a memfd nor a large tmpfs stops it short of the machine's (or the
//! container's) memory, so a table too large for it does not fail, it sets
//! off the out-of-memory killer, which may pick any process. So before
//! reserving, the size is compared with what is available: the kernel's
//! `MemAvailable`, and the room left under every memory cgroup limit this
//! process is in (v2 `memory.max`, v1 `memory.limit_in_bytes`), up to the
//! root. It is a check, not a reservation: memory others take in between is
//! not seen, and where nothing can be read, nothing is refused.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Bytes that can still be taken without running out, or None when it
/// cannot be told.
pub fn available_bytes() -> Option<u64> {
    let cgroup = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let limits = cgroup_dirs(&cgroup)
        .into_iter()
        .filter_map(|d| cgroup_room(&d));
    let meminfo = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| mem_available(&m));
    meminfo.into_iter().chain(limits).min()
}

/// Refuses (ENOMEM) `len` bytes that do not fit in the memory available;
/// `what` says what they are for.
pub fn check_room(len: u64, what: &str) -> io::Result<()> {
    match available_bytes() {
        Some(room) if len > room => Err(crate::shm::with_context(
            io::Error::from_raw_os_error(libc::ENOMEM),
            format!(
                "{what} needs {len} bytes of memory and {room} are available \
                 (the machine's MemAvailable, or a memory cgroup's limit less its use)"
            ),
        )),
        _ => Ok(()),
    }
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory cgroup directories of this process and their ancestors, from
/// /proc/self/cgroup: v2 ("0::/path") under /sys/fs/cgroup, v1 (a line
/// listing the memory controller) under /sys/fs/cgroup/memory.
fn cgroup_dirs(cgroup: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for line in cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let base = if id == "0" && controllers.is_empty() {
            Path::new("/sys/fs/cgroup")
        } else if controllers.split(',').any(|c| c == "memory") {
            Path::new("/sys/fs/cgroup/memory")
        } else {
            continue;
        };
        let mut dir = base.join(path.trim_start_matches('/'));
        loop {
            dirs.push(dir.clone());
            if dir == base || !dir.pop() {
                break;
            }
        }
    }
    dirs
}

/// The room left under the limit of the cgroup in `dir`, if it has one.
fn cgroup_room(dir: &Path) -> Option<u64> {
    let read = |name: &str| fs::read_to_string(dir.join(name)).ok();
    let (limit, usage) = match read("memory.max") {
        Some(max) => (max, read("memory.current")?),
        None => (
            read("memory.limit_in_bytes")?,
            read("memory.usage_in_bytes")?,
        ),
    };
    // "max" (v2) or a page-rounded i64::MAX (v1) is no limit.
    let limit: u64 = limit.trim().parse().ok()?;
    if limit >= 1 << 62 {
        return None;
    }
    let usage: u64 = usage.trim().parse().ok()?;
    Some(limit.saturating_sub(usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_available_is_read_in_bytes() {
        let m = "MemTotal:       24684244 kB\nMemFree:        23100000 kB\nMemAvailable:   23661672 kB\n";
        assert_eq!(mem_available(m), Some(23_661_672 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn cgroup_lines_give_the_memory_directories_up_to_the_root() {
        let v1 = "9:name=systemd:/\n4:memory:/a/b\n3:cpuset:/\n0::/\n";
        assert_eq!(
            cgroup_dirs(v1),
            [
                "/sys/fs/cgroup/memory/a/b",
                "/sys/fs/cgroup/memory/a",
                "/sys/fs/cgroup/memory",
                "/sys/fs/cgroup",
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            cgroup_dirs("0::/svc\n"),
            ["/sys/fs/cgroup/svc", "/sys/fs/cgroup"].map(PathBuf::from)
        );
        assert!(cgroup_dirs("garbage\n1:cpu:/x\n").is_empty());
    }

    #[test]
    fn a_limit_leaves_its_room_and_no_limit_none() {
        let dir =
            std::env::temp_dir().join(format!("atomic-dict-memory-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("memory.max"), "1000\n").unwrap();
        fs::write(dir.join("memory.current"), "300\n").unwrap();
        assert_eq!(cgroup_room(&dir), Some(700));
        fs::write(dir.join("memory.max"), "max\n").unwrap();
        assert_eq!(cgroup_room(&dir), None);
        fs::remove_file(dir.join("memory.max")).unwrap();
        fs::write(dir.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        fs::write(dir.join("memory.usage_in_bytes"), "5\n").unwrap();
        assert_eq!(cgroup_room(&dir), None);
        fs::write(dir.join("memory.limit_in_bytes"), "100\n").unwrap();
        fs::write(dir.join("memory.usage_in_bytes"), "150\n").unwrap();
        assert_eq!(cgroup_room(&dir), Some(0));
        fs::remove_dir_all(&dir).unwrap();
    }
}
