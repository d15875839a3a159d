//! The format's fixed test vectors (__test__/vectors/format.json), which the
//! JS implementation checks too (__test__/format.test.js): both must agree on
//! hashing, probing and layout, or processes would not find each other's keys.

use atomic_dict::core::hash::{hash_key, Probe};
use atomic_dict::core::{string_key, Geometry, Kind, Layout};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("../__test__/vectors/format.json");
    serde_json::from_str(text).expect("vectors parse")
}

#[test]
fn hashes_and_probes_match_the_vectors() {
    let v = vectors();
    let cases = v["hash"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let parts: Vec<u64> = case["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().parse().unwrap())
            .collect();
        let h = hash_key(&parts);
        assert_eq!(
            format!("{h:016x}"),
            case["hash"].as_str().unwrap(),
            "{parts:?}"
        );
        for p in case["probes"].as_array().unwrap() {
            let probe = Probe::new(h, p["blocks"].as_u64().unwrap());
            assert_eq!(probe.block, p["block"].as_u64().unwrap(), "{parts:?} {p}");
            assert_eq!(probe.step, p["step"].as_u64().unwrap(), "{parts:?} {p}");
        }
    }
}

#[test]
fn layouts_match_the_vectors() {
    let v = vectors();
    for case in v["layouts"].as_array().unwrap() {
        let n = |k: &str| case[k].as_u64().unwrap();
        let bits = n("valueBits") as u32;
        let layout = Layout::new(Geometry {
            kind: if bits == 0 { Kind::Set } else { Kind::Dict },
            k64: n("k64") as u32,
            k32: n("k32") as u32,
            value_bits: bits,
            signed: false,
            capacity: n("capacity"),
            string_bytes: 0,
        })
        .unwrap();
        assert_eq!(layout.row_bytes as u64, n("rowBytes"), "{case}");
        assert_eq!(layout.rows_per_block as u64, n("rowsPerBlock"), "{case}");
        assert_eq!(layout.value_offset as u64, n("valueOffset"), "{case}");
        assert_eq!(layout.block_count, n("blockCount"), "{case}");
    }
}

/// String keys (__test__/vectors/strings.json; __test__/strings.test.js
/// checks the same file through the addon).
#[test]
fn string_keys_match_the_vectors() {
    let text = include_str!("../__test__/vectors/strings.json");
    let v: Value = serde_json::from_str(text).expect("vectors parse");
    let cases = v["strings"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let s = case["string"].as_str().unwrap();
        let utf8: String = s.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(utf8, case["utf8"].as_str().unwrap(), "{s:?}");
        assert_eq!(
            format!("{:016x}", string_key(s)),
            case["key"].as_str().unwrap(),
            "{s:?}"
        );
    }
}
