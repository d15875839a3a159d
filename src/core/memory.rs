//! The region as atomic words. All address arithmetic of the crate lives here:
//! the algorithm asks for "the `u64` at byte offset `off`" and gets an atomic.
//!
//! In production a region is a raw byte range (a shared mapping, or heap memory
//! in tests) that a [`Backing`] keeps alive. Under `--cfg loom` it is a pair of
//! vectors of loom atomics, so loom can track every access.

use std::sync::Arc;

use super::sync::{AtomicU32, AtomicU64};

/// Memory that holds a region.
///
/// # Safety
/// `bytes()` must return the same pointer and length for the whole life of the
/// value; the pointer must be 8-byte aligned and valid for reads and writes of
/// that many bytes, zero-initialised when new, and only ever accessed through
/// atomics (by this or other processes).
pub unsafe trait Backing: Send + Sync + 'static {
    fn bytes(&self) -> (*mut u8, usize);
}

/// Heap memory: zeroed, for tests and benchmarks, or a private copy of a
/// region's bytes (a snapshot of a table file read for inspection, see
/// `shm::read_snapshot`).
pub struct HeapBacking {
    storage: Storage,
    /// The region's length in bytes: at most the storage's.
    len: usize,
}

/// 64 bytes aligned to 64, so a zeroed region's blocks start on cache
/// lines as a mapping's do (a plain slice of u64s would start at 16 mod 64
/// and make every block span two lines).
#[repr(C, align(64))]
struct Line([std::sync::atomic::AtomicU64; 8]);

enum Storage {
    Lines(Box<[Line]>),
    Words(Box<[std::sync::atomic::AtomicU64]>),
}

impl HeapBacking {
    /// `len` zero bytes, rounded up to whole 8-byte words, 64-byte aligned
    /// (held in whole lines; the bytes past `len` are never handed out).
    pub fn new(len: usize) -> HeapBacking {
        let lines: Box<[Line]> = (0..len.div_ceil(64))
            .map(|_| {
                Line(std::array::from_fn(|_| {
                    std::sync::atomic::AtomicU64::new(0)
                }))
            })
            .collect();
        let len = len.div_ceil(8) * 8;
        HeapBacking {
            storage: Storage::Lines(lines),
            len,
        }
    }

    /// A region of exactly `len` bytes held in `words` (native byte order;
    /// bytes past `len` in the last word are ignored, and should be zero).
    /// Returns `None` when `words` holds fewer than `len` bytes.
    pub fn from_words(words: Vec<std::sync::atomic::AtomicU64>, len: usize) -> Option<HeapBacking> {
        if len.div_ceil(8) > words.len() {
            return None;
        }
        Some(HeapBacking {
            storage: Storage::Words(words.into_boxed_slice()),
            len,
        })
    }
}

// SAFETY: the boxed slice never moves or changes length, is 8-aligned (a
// slice of AtomicU64, or of 64-aligned lines of them), holds at least `len`
// bytes (both constructors check it), is zeroed at creation or filled
// before it is shared, and is only used through atomics.
unsafe impl Backing for HeapBacking {
    fn bytes(&self) -> (*mut u8, usize) {
        let base = match &self.storage {
            Storage::Lines(lines) => lines.as_ptr() as *mut u8,
            Storage::Words(words) => words.as_ptr() as *mut u8,
        };
        (base, self.len)
    }
}

#[cfg(not(loom))]
#[derive(Clone)]
pub struct Words {
    base: *mut u8,
    len: usize,
    owner: Arc<dyn Backing>,
}

// SAFETY: Words only hands out shared references to atomics, which are Sync;
// the backing is Send + Sync and kept alive by the Arc.
#[cfg(not(loom))]
unsafe impl Send for Words {}
#[cfg(not(loom))]
unsafe impl Sync for Words {}

#[cfg(not(loom))]
impl Words {
    pub fn new(owner: Arc<dyn Backing>) -> Words {
        let (base, len) = owner.bytes();
        assert_eq!(base as usize % 8, 0, "region must be 8-byte aligned");
        Words { base, len, owner }
    }

    /// A zeroed heap region of `len` bytes.
    pub fn heap(len: usize) -> Words {
        Words::new(Arc::new(HeapBacking::new(len)))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The backing, for callers that hand the memory out further (JS views).
    pub fn owner(&self) -> &Arc<dyn Backing> {
        &self.owner
    }

    pub fn base(&self) -> *mut u8 {
        self.base
    }

    #[inline]
    pub fn u64(&self, off: usize) -> &AtomicU64 {
        assert!(
            off.is_multiple_of(8) && off + 8 <= self.len,
            "u64 at {off} outside region"
        );
        // SAFETY: in bounds and aligned (checked above; base is 8-aligned),
        // valid for the life of `self` (Backing contract), and AtomicU64 has
        // the size and alignment of u64. All accesses are atomic.
        unsafe { &*(self.base.add(off) as *const AtomicU64) }
    }

    /// `n` consecutive u64 words from byte `off`: one bounds check for a
    /// run of loads (the scan of a table's rows).
    #[inline]
    pub fn u64s(&self, off: usize, n: usize) -> &[AtomicU64] {
        let end = n.checked_mul(8).and_then(|bytes| bytes.checked_add(off));
        assert!(
            off.is_multiple_of(8) && end.is_some_and(|end| end <= self.len),
            "{n} u64s at {off} outside region"
        );
        // SAFETY: as for `u64`, for each of the n words (all in bounds and
        // aligned, checked above).
        unsafe { std::slice::from_raw_parts(self.base.add(off) as *const AtomicU64, n) }
    }

    /// `n` consecutive u32 words from byte `off` (as `u64s`).
    #[inline]
    pub fn u32s(&self, off: usize, n: usize) -> &[AtomicU32] {
        let end = n.checked_mul(4).and_then(|bytes| bytes.checked_add(off));
        assert!(
            off.is_multiple_of(4) && end.is_some_and(|end| end <= self.len),
            "{n} u32s at {off} outside region"
        );
        // SAFETY: as for `u32`, for each of the n words.
        unsafe { std::slice::from_raw_parts(self.base.add(off) as *const AtomicU32, n) }
    }

    #[inline]
    pub fn u32(&self, off: usize) -> &AtomicU32 {
        assert!(
            off.is_multiple_of(4) && off + 4 <= self.len,
            "u32 at {off} outside region"
        );
        // SAFETY: as for `u64`, with 4-byte alignment. Fields are read and
        // written with the width the layout gives them, with one exception:
        // waiting on a 64-bit value treats its two halves as u32 futex words
        // (src/futex.rs, lib/wait.js; the kernel reads them as u32 too),
        // while other threads and processes change the value with 64-bit
        // atomics. Rust's memory model does not define such mixed-size
        // atomic accesses; the code relies on the hardware instead. On
        // x86-64 and aarch64, the only targets this crate builds for
        // (lib.rs refuses others), aligned loads and stores of 4 and 8 bytes
        // are single-copy atomic and coherent with each other on the same
        // bytes, so a u32 read of a half sees that half of some 64-bit
        // write, never a torn one. Those u32 reads are only compared with
        // an expected value: a stale one only ends a wait early or leaves
        // the decision to the kernel's own comparison.
        unsafe { &*(self.base.add(off) as *const AtomicU32) }
    }
}

#[cfg(loom)]
#[derive(Clone)]
pub struct Words {
    inner: Arc<(Vec<AtomicU64>, Vec<AtomicU32>)>,
    len: usize,
}

#[cfg(loom)]
impl Words {
    /// A zeroed region of `len` bytes: one loom atomic per possible field.
    pub fn heap(len: usize) -> Words {
        let u64s = (0..len / 8).map(|_| AtomicU64::new(0)).collect();
        let u32s = (0..len / 4).map(|_| AtomicU32::new(0)).collect();
        Words {
            inner: Arc::new((u64s, u32s)),
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn u64(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8));
        &self.inner.0[off / 8]
    }

    pub fn u32(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4));
        &self.inner.1[off / 4]
    }

    pub fn u64s(&self, off: usize, n: usize) -> &[AtomicU64] {
        assert!(off.is_multiple_of(8));
        &self.inner.0[off / 8..off / 8 + n]
    }

    pub fn u32s(&self, off: usize, n: usize) -> &[AtomicU32] {
        assert!(off.is_multiple_of(4));
        &self.inner.1[off / 4..off / 4 + n]
    }
}
