//! `shm::read_snapshot`: a read-only, private copy of a named table file,
//! its header validated as attaching validates it (std build only).
#![cfg(not(loom))]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use atomic_dict::core::{Geometry, Kind, Layout, Table, Words};
use atomic_dict::shm::{errno, read_snapshot, Mapping};

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "atomic-dict-snapshot-{name}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn geometry(k64: u32, k32: u32, value_bits: u32, capacity: u64) -> Geometry {
    Geometry {
        kind: if value_bits == 0 {
            Kind::Set
        } else {
            Kind::Dict
        },
        k64,
        k32,
        value_bits,
        signed: false,
        capacity,
        string_bytes: 0,
    }
}

/// Makes a table file at `path` as `open` does, and returns the live table.
fn make_table(path: &Path, g: Geometry) -> Table {
    let layout = Layout::new(g).unwrap();
    let draft = Mapping::create_draft(path, layout.total_bytes(), 0o600).unwrap();
    Table::create(Words::new(draft.mapping().clone()), g).unwrap();
    let mapping = draft.publish(path).unwrap().expect("a new path");
    Table::attach(Words::new(mapping)).unwrap()
}

fn message(path: &Path) -> String {
    match read_snapshot(path) {
        Ok(_) => panic!("{} was accepted", path.display()),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()),
                "the message names the path: {msg}"
            );
            msg
        }
    }
}

#[test]
fn a_snapshot_holds_the_tables_keys_and_values() {
    let dir = TempDir::new("copy");
    let path = dir.path("t");
    let live = make_table(&path, geometry(2, 1, 32, 200));
    for i in 1..=150u64 {
        let row = live.find_or_insert(&[i, i << 33, 7]).unwrap().row;
        live.store(row, i * 3);
    }
    let before = fs::read(&path).unwrap();
    let snap = read_snapshot(&path).unwrap();
    assert_eq!(fs::read(&path).unwrap(), before, "the file is unchanged");
    let t = &snap.table;
    assert_eq!(t.layout(), live.layout());
    assert_eq!(snap.file_bytes, before.len() as u64);
    assert_eq!(t.len(), 150);
    for i in 1..=150u64 {
        let row = t.find(&[i, i << 33, 7]).expect("key in the copy");
        assert_eq!(Some(row), live.find(&[i, i << 33, 7]));
        assert_eq!(t.load(row), i * 3);
    }
    assert!(t.verify().ok());
    let stats = t.probe_stats();
    assert_eq!(stats.count, 150);
    assert_eq!(stats.histogram.iter().sum::<u64>(), 150);

    // The copy is private: changing the live table changes it not.
    let row = live.find(&[1, 1 << 33, 7]).unwrap();
    live.store(row, 999);
    assert_eq!(t.load(row), 3);
}

#[test]
fn a_read_only_file_and_a_file_longer_than_its_table() {
    let dir = TempDir::new("modes");
    let path = dir.path("t");
    let live = make_table(&path, geometry(1, 0, 0, 10));
    live.find_or_insert(&[5]).unwrap();
    let table_bytes = live.layout().total_bytes();
    drop(live);
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0xAB; 13]);
    fs::write(&path, &bytes).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let snap = read_snapshot(&path).unwrap();
    assert_eq!(snap.file_bytes, table_bytes as u64 + 13);
    assert_eq!(snap.table.find(&[5]).map(|_| ()), Some(()));
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn files_that_are_not_tables_are_refused_naming_the_path() {
    let dir = TempDir::new("bad");
    let good = dir.path("good");
    make_table(&good, geometry(1, 0, 64, 100));
    let bytes = fs::read(&good).unwrap();

    let cut = dir.path("cut");
    // Not a multiple of 8: the copy must not be rounded up to a whole table.
    fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    let m = message(&cut);
    assert!(
        m.contains("is not an atomic-dict table") && m.contains("the memory has"),
        "{m}"
    );

    let short = dir.path("short");
    fs::write(&short, &bytes[..127]).unwrap();
    assert!(message(&short).contains("127 bytes is shorter than a header"));

    let junk = dir.path("junk");
    fs::write(&junk, vec![0x5Au8; 1 << 16]).unwrap();
    assert!(message(&junk).contains("wrong magic number"));

    let mut forged = bytes.clone();
    forged[28] = 32; // row_bytes
    let forged_path = dir.path("forged");
    fs::write(&forged_path, &forged).unwrap();
    assert!(message(&forged_path).contains("geometry fields"));

    let empty = dir.path("empty");
    fs::write(&empty, b"").unwrap();
    assert!(message(&empty).contains("is empty"));

    assert!(message(&dir.0).contains("is not a regular file (a directory)"));

    // A FIFO is refused without waiting for a writer.
    let fifo = dir.path("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    assert!(message(&fifo).contains("is not a regular file (a FIFO)"));

    let missing = dir.path("missing");
    let err = read_snapshot(&missing).err().unwrap();
    assert_eq!(errno(&err), Some(libc::ENOENT));
    assert!(err.to_string().contains("missing"));

    let link = dir.path("link");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    assert!(message(&link).contains("is a symbolic link"));
}
