//! `Table::probe_stats`: how far along its probe sequence each key sits, for
//! `npx atomic-dict inspect` and for tuning. A lookup of a key visits blocks
//! in the order `core::hash::Probe` gives, starting at the key's home block;
//! a key's probe length is the number of blocks that lookup visits until it
//! reaches the block holding the key (1: the key is in its home block).

use super::hash::{hash_key, Probe};
use super::table::Table;

/// Probe lengths of the complete keys of a table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeStats {
    /// `histogram[n]`: keys whose probe length is `n` blocks. Index 0 is
    /// always 0; the vector is `max + 1` long (empty for a table with no
    /// complete key), and its sum is `count`.
    pub histogram: Vec<u64>,
    /// The longest probe length (0 for a table with no complete key).
    pub max: u64,
    /// The mean probe length (0 for a table with no complete key).
    pub mean: f64,
    /// Complete keys counted (rows whose key is complete).
    pub count: u64,
}

/// The number of blocks a lookup of `key` visits, its home block first,
/// until it reaches block `block`, in a table of `blocks` blocks (a prime:
/// the sequence visits every block, so this is at most `blocks`).
pub fn probe_length(key: &[u64], block: u64, blocks: u64) -> u64 {
    let mut probe = Probe::new(hash_key(key), blocks);
    let mut visited = 1;
    while probe.block != block && visited < blocks {
        probe.advance();
        visited += 1;
    }
    visited
}

impl Table {
    /// Walks every row and measures the probe length of each complete key
    /// (rows whose key is incomplete are skipped). Reads rows as they are:
    /// on a table others are inserting into, keys inserted during the walk
    /// may or may not be counted.
    pub fn probe_stats(&self) -> ProbeStats {
        let layout = *self.layout();
        let rows_per_block = layout.rows_per_block as u64;
        let mut key = vec![0u64; layout.parts()];
        let mut stats = ProbeStats::default();
        let mut total: u128 = 0;
        for row in 0..layout.rows() {
            if !self.read_key(row, &mut key) {
                continue;
            }
            let length = probe_length(&key, row / rows_per_block, layout.block_count);
            let index = length as usize;
            if stats.histogram.len() <= index {
                stats.histogram.resize(index + 1, 0);
            }
            stats.histogram[index] += 1;
            stats.max = stats.max.max(length);
            stats.count += 1;
            total += u128::from(length);
        }
        if stats.count > 0 {
            stats.mean = total as f64 / stats.count as f64;
        }
        stats
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::core::{Geometry, Kind, Layout, Words};

    fn geometry(k64: u32, k32: u32, capacity: u64) -> Geometry {
        Geometry {
            kind: Kind::Dict,
            k64,
            k32,
            value_bits: 64,
            signed: false,
            capacity,
            string_bytes: 0,
        }
    }

    fn table(g: Geometry) -> Table {
        Table::create(Words::heap(Layout::new(g).unwrap().total_bytes()), g).unwrap()
    }

    fn home(t: &Table, key: &[u64]) -> u64 {
        Probe::new(hash_key(key), t.layout().block_count).block
    }

    #[test]
    fn an_empty_table_has_no_probes() {
        let s = table(geometry(1, 0, 100)).probe_stats();
        assert_eq!(s, ProbeStats::default());
        assert!(s.histogram.is_empty());
    }

    #[test]
    fn keys_that_fit_their_home_block_have_length_one() {
        // 16-byte rows, 4 a block: any 4 keys fit in their home blocks.
        let t = table(geometry(1, 0, 1000));
        assert_eq!(t.layout().rows_per_block, 4);
        for k in [1u64, 2, 3, u64::MAX] {
            t.find_or_insert(&[k]).unwrap();
        }
        let s = t.probe_stats();
        assert_eq!(s.histogram, vec![0, 4]);
        assert_eq!((s.max, s.count, s.mean), (1, 4, 1.0));
    }

    #[test]
    fn colliding_keys_probe_further() {
        // Capacity 12: 16 rows needed, 5 blocks of 4 rows. Nine keys with the
        // same home block: the first four fill it, the other five go on.
        let t = table(geometry(1, 0, 12));
        assert_eq!((t.layout().block_count, t.layout().rows_per_block), (5, 4));
        let target = home(&t, &[1]);
        let keys: Vec<u64> = (1..10_000u64)
            .filter(|&k| home(&t, &[k]) == target)
            .take(9)
            .collect();
        assert_eq!(keys.len(), 9);
        for &k in &keys {
            t.find_or_insert(&[k]).unwrap();
        }
        let s = t.probe_stats();
        assert_eq!(s.count, 9);
        assert_eq!(s.histogram.iter().sum::<u64>(), 9);
        assert_eq!(s.histogram[1], 4, "{s:?}");
        assert!(s.max >= 2, "{s:?}");
        assert!(s.mean > 1.0, "{s:?}");
        // Each key's own length: its home block, then along its step.
        for &k in &keys {
            let row = t.find(&[k]).unwrap();
            let n = probe_length(&[k], row / 4, 5);
            let mut p = Probe::new(hash_key(&[k]), 5);
            for _ in 1..n {
                p.advance();
            }
            assert_eq!(p.block, row / 4);
        }
    }

    #[test]
    fn a_full_table_counts_every_complete_key_once() {
        let g = geometry(2, 1, 300);
        let t = table(g);
        for i in 1..=300u64 {
            t.find_or_insert(&[1 + i % 5, i, 9]).unwrap();
        }
        // A partial row (an inserter that died after its first part) is not
        // a key: write part 0 of a row no key holds.
        let layout = *t.layout();
        let empty = (0..layout.rows())
            .find(|&r| {
                let mut k = [0u64; 3];
                !t.read_key(r, &mut k) && k[0] == 0
            })
            .unwrap();
        t.words()
            .u64(layout.row_offset(empty))
            .store(77, std::sync::atomic::Ordering::SeqCst);
        let s = t.probe_stats();
        assert_eq!(s.count, 300);
        assert_eq!(s.histogram.iter().sum::<u64>(), t.len());
        assert_eq!(s.histogram.len() as u64, s.max + 1);
        assert_eq!(s.histogram[0], 0);
        assert!(*s.histogram.last().unwrap() > 0);
        let weighted: u64 = s
            .histogram
            .iter()
            .enumerate()
            .map(|(n, &c)| n as u64 * c)
            .sum();
        assert!((s.mean - weighted as f64 / 300.0).abs() < 1e-12);
    }
}
