//! `Table::find_many` and `Table::find_or_insert_many`: the single-key calls
//! over many keys, with the memory misses of many keys overlapped.
//!
//! A lookup in a table far larger than the caches costs a cache miss at its
//! key's home block (and another for each further block of its probe, for
//! the few keys that are not in their home block), and a probe cannot go on
//! before its miss is served. Keys are independent, though: so the probe of
//! each key (hash and home block) is computed `AHEAD` keys before its turn,
//! and its home block prefetched then, so that many misses are in flight
//! while earlier keys are probed; at its turn, the ordinary probe
//! (`Table::locate`, the one implementation) finds the block in the cache.
//! The order of the calls is the order of the keys, so the results are
//! those of the single-key calls made one after the other.
//!
//! A prefetch instruction rather than a load: a load's miss holds the
//! reorder window until it is served, so only the few keys the window
//! covers overlap (measured on the 2 Mi memfd benchmark: batches touched by
//! loads gave 2.2x the single calls' speed); a prefetch retires at once.

use super::format::{BLOCK_BYTES, HEADER_BYTES};
use super::hash::Probe;
use super::table::{Entry, Table, TableError};

/// How many keys ahead of the probing a key's home block is prefetched: a
/// few more misses than a core can keep in flight (10-20 line fill
/// buffers), far fewer than would evict each other from L1.
const AHEAD: usize = 32;

impl Table {
    /// For each of the `out.len()` keys in `keys` (each `parts` words long,
    /// in order, each one that has passed [`Table::check_key`]), sets
    /// `out[i]` to the row holding key `i`, as [`Table::find`] would, or to
    /// `u64::MAX` when the key is absent. Never inserts.
    ///
    /// Each key is looked up at its turn, as by a call of `find` (a key
    /// inserted meanwhile by another caller may or may not be found).
    ///
    /// `keys` should be exactly `out.len() * parts` words and `parts` the
    /// table's `layout().parts()`; when not, only the keys given in full
    /// with the right width are looked up, and every other `out[i]` is
    /// `u64::MAX` (with the wrong width, all of them).
    pub fn find_many(&self, keys: &[u64], parts: usize, out: &mut [u64]) {
        let n = self.whole_keys(keys, parts, out.len());
        let (done, rest) = out.split_at_mut(n);
        rest.fill(u64::MAX);
        if n == 0 {
            return;
        }
        let _ = self.probed(&keys[..n * parts], parts, |i, probe, key| {
            done[i] = self.find_from(probe, key).unwrap_or(u64::MAX);
            Ok::<(), ()>(())
        });
    }

    /// For each of the `out.len()` keys in `keys` (each `parts` words long,
    /// in order, each one that has passed [`Table::check_key`]), in order,
    /// does what [`Table::find_or_insert`] does and puts its entry in
    /// `out[i]`. A key repeated in `keys` gets the same row each time, and
    /// only its first occurrence can have `inserted` true.
    ///
    /// On the first key refused with `Full` it stops and returns that key's
    /// index and the error: `out[..index]` holds the entries of the keys
    /// before it (inserted or found; they stay in the table), and the keys
    /// from `index` on are neither looked up nor inserted, their entries
    /// not written.
    ///
    /// `keys` should be exactly `out.len() * parts` words and `parts` the
    /// table's `layout().parts()`; when not, only the keys given in full
    /// with the right width are processed (with the wrong width, none), and
    /// every other `out[i]` is set to `Entry { row: u64::MAX, inserted:
    /// false }`, a row no table has.
    pub fn find_or_insert_many(
        &self,
        keys: &[u64],
        parts: usize,
        out: &mut [Entry],
    ) -> Result<(), (usize, TableError)> {
        let n = self.whole_keys(keys, parts, out.len());
        let (done, rest) = out.split_at_mut(n);
        rest.fill(Entry {
            row: u64::MAX,
            inserted: false,
        });
        if n == 0 {
            return Ok(());
        }
        self.probed(&keys[..n * parts], parts, |i, probe, key| {
            done[i] = self.find_or_insert_from(probe, key).map_err(|e| (i, e))?;
            Ok(())
        })
    }

    /// How many keys of `parts` words a bulk call handles: all `out_len` of
    /// them when `keys` holds them in full and `parts` is the table's, else
    /// those given in full (none when `parts` is wrong).
    fn whole_keys(&self, keys: &[u64], parts: usize, out_len: usize) -> usize {
        if parts != self.layout().parts() {
            return 0;
        }
        out_len.min(keys.len() / parts)
    }

    /// A placeholder to fill the probe array with (never probed).
    fn no_probe(&self) -> Probe {
        Probe::new(0, self.layout().block_count)
    }

    /// Calls `visit(i, probe, key)` for each key of `keys` (of `parts`
    /// words each) in order, with the key's probe, which was computed and
    /// its home block prefetched `AHEAD` keys earlier; stops at the first
    /// error.
    fn probed<E>(
        &self,
        keys: &[u64],
        parts: usize,
        mut visit: impl FnMut(usize, Probe, &[u64]) -> Result<(), E>,
    ) -> Result<(), E> {
        let n = keys.len() / parts;
        let key = |i: usize| &keys[i * parts..(i + 1) * parts];
        let mut ring = [self.no_probe(); AHEAD];
        for (i, slot) in ring.iter_mut().enumerate().take(n) {
            *slot = self.probe(key(i));
            self.prefetch(slot);
        }
        for i in 0..n {
            let slot = &mut ring[i % AHEAD];
            let probe = *slot;
            if i + AHEAD < n {
                *slot = self.probe(key(i + AHEAD));
                self.prefetch(slot);
            }
            visit(i, probe, key(i))?;
        }
        Ok(())
    }

    /// Starts bringing the home block of `probe` into the cache, without
    /// waiting for it.
    #[inline]
    fn prefetch(&self, probe: &Probe) {
        let off = HEADER_BYTES + probe.block as usize * BLOCK_BYTES;
        #[cfg(all(not(loom), target_arch = "x86_64"))]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let at = self.words().base().wrapping_add(off) as *const i8;
            // SAFETY: a prefetch is a hint: it reads nothing architecturally,
            // cannot fault, and has no effect on memory (any address is
            // allowed; this one is a block of the table, inside the
            // mapping). SSE is part of the x86-64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(at) };
        }
        #[cfg(all(not(loom), target_arch = "aarch64"))]
        {
            let at = self.words().base().wrapping_add(off);
            // SAFETY: PRFM is a hint: it does not fault, reads nothing
            // architecturally and writes nothing (as above); it touches no
            // register but its address operand, nor the stack or flags.
            unsafe {
                std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) at, options(nostack, preserves_flags, readonly))
            };
        }
        #[cfg(loom)]
        {
            // Loom's atomics are not memory: nothing to prefetch.
            let _ = off;
        }
    }
}
