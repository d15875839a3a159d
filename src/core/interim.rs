//! Interim versions of the bulk operations (replaced by core::bulk).

use super::table::{Entry, Table, TableError};

impl Table {
    pub fn find_many(&self, keys: &[u64], parts: usize, out: &mut [u64]) {
        for (key, slot) in keys.chunks_exact(parts).zip(out.iter_mut()) {
            *slot = self.find(key).unwrap_or(u64::MAX);
        }
    }

    pub fn find_or_insert_many(
        &self,
        keys: &[u64],
        parts: usize,
        out: &mut [Entry],
    ) -> Result<(), (usize, TableError)> {
        for (i, (key, slot)) in keys.chunks_exact(parts).zip(out.iter_mut()).enumerate() {
            *slot = self.find_or_insert(key).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    pub fn next_key_rows(&self, from: u64, out: &mut [u64]) -> (usize, u64) {
        let mut key = vec![0u64; self.layout().parts()];
        let mut n = 0;
        let rows = self.layout().rows();
        let mut row = from;
        while row < rows && n < out.len() {
            if self.read_key(row, &mut key) {
                out[n] = row;
                n += 1;
            }
            row += 1;
        }
        (n, row)
    }
}
