//! `Table::find_many` and `Table::find_or_insert_many`: the single-key calls
//! over many keys, with the memory misses of many keys overlapped.
//!
//! A lookup in a table far larger than the caches costs a cache miss at its
//! key's home block (and another for each further block of its probe, for
//! the few keys that are not in their home block), and a probe cannot go on
//! before its miss is served. Keys of a batch are independent, though: so
//! each batch first computes every key's probe (hash and home block), then
//! touches every home block, so that their misses are in flight together,
//! and only then runs the ordinary probe (`Table::locate`, the one
//! implementation) for each key in order, finding most home blocks in the
//! cache by then. The order of the calls is the order of the keys, so the
//! results are those of the single-key calls made one after the other.

use super::format::{BLOCK_BYTES, HEADER_BYTES};
use super::hash::Probe;
use super::table::{Entry, Table, TableError};

/// Keys whose home blocks are touched together before any of them is
/// probed. The misses in flight are bounded by the CPU (its miss buffers
/// and reorder window) more than by this: on a 2-core Zen 4 VM, 8 was
/// slower than 16, and 32 or 64 no faster (`find_add_many_2mi_memfd`).
const BATCH: usize = 16;

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
        let mut probes = [self.no_probe(); BATCH];
        for (keys, out) in keys[..n * parts]
            .chunks(BATCH * parts)
            .zip(done.chunks_mut(BATCH))
        {
            let probes = self.touch_home_blocks(keys, parts, &mut probes);
            for ((key, &probe), slot) in keys.chunks_exact(parts).zip(probes.iter()).zip(out) {
                *slot = self.find_from(probe, key).unwrap_or(u64::MAX);
            }
        }
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
        let mut probes = [self.no_probe(); BATCH];
        for (batch, (keys, out)) in keys[..n * parts]
            .chunks(BATCH * parts)
            .zip(done.chunks_mut(BATCH))
            .enumerate()
        {
            let probes = self.touch_home_blocks(keys, parts, &mut probes);
            for (i, ((key, &probe), slot)) in keys
                .chunks_exact(parts)
                .zip(probes.iter())
                .zip(out)
                .enumerate()
            {
                match self.find_or_insert_from(probe, key) {
                    Ok(entry) => *slot = entry,
                    Err(e) => return Err((batch * BATCH + i, e)),
                }
            }
        }
        Ok(())
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

    /// Computes the probe of each key of a batch (at most `BATCH` keys of
    /// `parts` words) into `probes`, then touches each home block, and
    /// returns the probes. Two loops, so that the touches are issued back
    /// to back, with nothing between them that waits for memory.
    fn touch_home_blocks<'p>(
        &self,
        keys: &[u64],
        parts: usize,
        probes: &'p mut [Probe; BATCH],
    ) -> &'p [Probe] {
        let mut n = 0;
        for (key, probe) in keys.chunks_exact(parts).zip(probes.iter_mut()) {
            *probe = self.probe(key);
            n += 1;
        }
        let probes = &probes[..n];
        for probe in probes {
            self.touch(HEADER_BYTES + probe.block as usize * BLOCK_BYTES);
        }
        probes
    }

    /// Starts bringing the block at byte offset `off` into the cache: a
    /// Relaxed load of its first key part (with the width the layout gives
    /// it, never a mixed-size access). Relaxed is sound (see `peek_part`:
    /// the probe reads the row again with its own Acquire loads, and the
    /// value is only kept from being optimised away) and it matters: on
    /// aarch64 an Acquire load (LDAR) orders every later load after it,
    /// which can keep the batch's misses from overlapping.
    ///
    /// A load, not a prefetch instruction, because neither can be had
    /// without `unsafe`: x86-64's `_mm_prefetch` is a `#[target_feature(
    /// enable = "sse")]` function, safe to call only from functions that
    /// carry the attribute themselves (SSE being on for the whole target
    /// does not count, as of Rust 1.95), and aarch64's `_prefetch` is
    /// unstable. An out-of-order CPU overlaps the loads' misses as it does
    /// prefetches; a prefetch only retires without waiting for its data
    /// (an `unsafe` one, tried on the 2 Mi memfd benchmark, was not
    /// measurably faster there).
    #[inline]
    fn touch(&self, off: usize) {
        let wide = self.layout().geometry.k64 > 0;
        std::hint::black_box(self.peek_part(off, wide));
    }
}
