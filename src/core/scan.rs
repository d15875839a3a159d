//! `Table::next_key_rows`: the rows holding complete keys, in row order, a
//! bounded number at a time (the engine of the JS iterator).

use super::format::{BLOCK_BYTES, HEADER_BYTES};
use super::sync::{AtomicU32, AtomicU64, Ordering};
use super::table::Table;

/// The first key parts of a run of blocks: words of the part's width, and
/// a row's stride in those words.
enum Part0<'a> {
    Wide(&'a [AtomicU64], usize),
    Narrow(&'a [AtomicU32], usize),
}

impl Part0<'_> {
    /// Words of part 0's width in a block.
    const fn per_block(&self) -> usize {
        match self {
            Part0::Wide(..) => BLOCK_BYTES / 8,
            Part0::Narrow(..) => BLOCK_BYTES / 4,
        }
    }

    /// Part 0 of row `i` of block `b` (Relaxed: see table.rs, "Memory orderings").
    #[inline]
    fn get(&self, b: usize, i: usize) -> u64 {
        match self {
            Part0::Wide(words, stride) => {
                words[b * self.per_block() + i * stride].load(Ordering::Relaxed)
            }
            Part0::Narrow(words, stride) => {
                u64::from(words[b * self.per_block() + i * stride].load(Ordering::Relaxed))
            }
        }
    }

    /// Whether no row of block `b` (of `rpb` rows) has its part 0 set.
    #[inline]
    fn block_empty(&self, b: usize, rpb: usize) -> bool {
        match self {
            Part0::Wide(words, stride) => {
                let block = &words[b * BLOCK_BYTES / 8..][..BLOCK_BYTES / 8];
                (0..rpb).fold(0, |any, i| any | block[i * stride].load(Ordering::Relaxed)) == 0
            }
            Part0::Narrow(words, stride) => {
                let block = &words[b * BLOCK_BYTES / 4..][..BLOCK_BYTES / 4];
                (0..rpb).fold(0, |any, i| any | block[i * stride].load(Ordering::Relaxed)) == 0
            }
        }
    }
}

/// The most parts a key can have: a row fits in a block and every part
/// takes at least 4 bytes (`Layout::new` refuses larger rows).
const MAX_PARTS: usize = BLOCK_BYTES / 4;

impl Table {
    /// Scans rows `from, from + 1, ...` and writes into `out`, in row order,
    /// the index of every row that holds a complete key (every part
    /// non-zero, as [`Table::read_key`] reads them), until `out` is full or
    /// the rows end. Returns how many rows it wrote and the row to resume
    /// from: the row after the last one written when `out` filled up, else
    /// `layout().rows()` (the scan reached the end; `from` at or past the
    /// end also gives `(0, rows())`). An empty `out` gives `(0, from)`.
    ///
    /// The scan is live, not a snapshot: a key completed before the call
    /// (or before its scan reaches the key's row) is reported; a key
    /// inserted behind the scan position while the scan runs is missed, one
    /// inserted ahead of it is seen. Rows whose key is being inserted (or
    /// whose inserter died) are skipped until their last part is written.
    /// A key is never reported twice when the resume rows are followed,
    /// since a key lives in one row for good.
    ///
    /// Costs a read of each row's first part, so it runs at memory speed
    /// over a sparse table; only rows whose first part is set are read in
    /// full. The parts of the key of `out[i]` go to `keys[i * parts..]`
    /// when `keys` has room for them (`out.len() * parts` words), so a
    /// caller that wants them reads no row twice; pass `&mut []` when not.
    pub fn next_key_rows(&self, from: u64, out: &mut [u64], keys: &mut [u64]) -> (usize, u64) {
        let layout = *self.layout();
        let rows = layout.rows();
        if from >= rows {
            return (0, rows);
        }
        if out.is_empty() {
            return (0, from);
        }
        let rpb = layout.rows_per_block;
        let parts = layout.parts();
        let keep = keys.len() >= out.len() * parts;
        let mut buf = [0u64; MAX_PARTS];
        let key = &mut buf[..parts];
        let mut written = 0;
        let first_block = from / rpb as u64;
        let mut first = (from % rpb as u64) as usize;
        // Part 0 is a 64-bit part unless the key has only 32-bit ones. The
        // blocks from `first_block` on, as one slice of words of part 0's
        // width (a block is BLOCK_BYTES long and holds `rpb` rows from its
        // start, format.rs), so the loop below does plain index arithmetic
        // and no bounds check per row.
        let base = HEADER_BYTES + first_block as usize * BLOCK_BYTES;
        let blocks = (layout.block_count - first_block) as usize;
        let part0 = if layout.geometry.k64 > 0 {
            Part0::Wide(
                self.words().u64s(base, blocks * BLOCK_BYTES / 8),
                layout.row_bytes / 8,
            )
        } else {
            Part0::Narrow(
                self.words().u32s(base, blocks * BLOCK_BYTES / 4),
                layout.row_bytes / 4,
            )
        };
        for b in 0..blocks {
            // The skip test: Relaxed (table.rs, "Memory orderings"). A 0 is a row the
            // scan passed before a key reached it (allowed: the scan is
            // live), never a key that was complete before the call, by
            // coherence. A non-zero part 0 gets the full check, whose
            // Acquire loads (`read_key`) see every part of a completed key.
            // A whole block is skipped on one test of its rows' parts 0
            // or-ed together (the usual case in a sparse table).
            if first == 0 && part0.block_empty(b, rpb) {
                continue;
            }
            for i in first..rpb {
                if part0.get(b, i) == 0 {
                    continue;
                }
                let row = (first_block + b as u64) * rpb as u64 + i as u64;
                if self.read_key(row, key) {
                    if keep {
                        keys[written * parts..][..parts].copy_from_slice(key);
                    }
                    out[written] = row;
                    written += 1;
                    if written == out.len() {
                        return (written, row + 1);
                    }
                }
            }
            first = 0;
        }
        (written, rows)
    }
}
