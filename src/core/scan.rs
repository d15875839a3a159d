//! `Table::next_key_rows`: the rows holding complete keys, in row order, a
//! bounded number at a time (the engine of the JS iterator).

use super::format::{BLOCK_BYTES, HEADER_BYTES};
use super::table::Table;

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
    /// full.
    pub fn next_key_rows(&self, from: u64, out: &mut [u64]) -> (usize, u64) {
        let layout = *self.layout();
        let rows = layout.rows();
        if from >= rows {
            return (0, rows);
        }
        if out.is_empty() {
            return (0, from);
        }
        let rpb = layout.rows_per_block;
        let row_bytes = layout.row_bytes;
        // Part 0 is a 64-bit part unless the key has only 32-bit ones.
        let wide = layout.geometry.k64 > 0;
        let mut buf = [0u64; MAX_PARTS];
        let key = &mut buf[..layout.parts()];
        let mut written = 0;
        let mut block = from / rpb as u64;
        let mut first = (from % rpb as u64) as usize;
        while block < layout.block_count {
            // Rows by plain arithmetic: a block is BLOCK_BYTES long and
            // holds `rpb` rows from its start (format.rs).
            let base = HEADER_BYTES + block as usize * BLOCK_BYTES;
            for i in first..rpb {
                // The skip test: Relaxed (see `peek_part`). A 0 is a row the
                // scan passed before a key reached it (allowed: the scan is
                // live), never a key that was complete before the call, by
                // coherence. A non-zero part 0 gets the full check, whose
                // Acquire loads (`read_key`) see every part of a completed key.
                if self.peek_part(base + i * row_bytes, wide) == 0 {
                    continue;
                }
                let row = block * rpb as u64 + i as u64;
                if self.read_key(row, key) {
                    out[written] = row;
                    written += 1;
                    if written == out.len() {
                        return (written, row + 1);
                    }
                }
            }
            first = 0;
            block += 1;
        }
        (written, rows)
    }
}
