//! Maps keyed by id strings, looked up on the hot path by ids from frames.
//!
//! An ordered map compared the key on every level of the tree; over a few hundred calls
//! that was most of a Loop action's cost. A hash map with a small multiply-rotate hash
//! finds the key with one hash of the id and, usually, one comparison. The hash is not
//! keyed: the application chooses what goes in (ids of calls it created), and a peer's
//! ids are only looked up, so a peer cannot crowd the table. Iteration order is the
//! table's, so nothing iterates these maps for output, and a checkpoint writes them
//! sorted: the same state gives the same bytes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Serialize, Serializer};

/// A multiply-rotate hasher over 8-byte words. (The rotation comes after the multiply:
/// a product carries a word's differences only upward, and rotating them down before the
/// next word is mixed in keeps ids that differ at both ends, `call-1519` and `call-1594`,
/// apart.)
#[derive(Clone, Copy, Default)]
pub(crate) struct IdHasher(u64);

const SEED: u64 = 0x517c_c1b7_2722_0a95;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(SEED).rotate_left(26);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        // The tail, zero-padded, with the length in its top byte (so `ab` and `ab\0`
        // differ).
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        word[7] ^= bytes.len() as u8;
        self.add(u64::from_le_bytes(word));
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map by id string.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Serializes a map in key order (for `#[serde(serialize_with)]`).
pub(crate) fn sorted<K: Serialize + Ord, V: Serialize, S: Serializer>(
    map: &IdMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    Sorted(map).serialize(s)
}

/// A map that serializes in key order (for a field written by hand).
pub(crate) struct Sorted<'a, K, V>(pub &'a IdMap<K, V>);

impl<K: Serialize + Ord, V: Serialize> Serialize for Sorted<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&K, &V)> = self.0.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_map(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;
    use std::sync::Arc;

    #[test]
    fn equal_ids_hash_equal_and_neighbours_differ() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let a: Arc<str> = "call-17".into();
        assert_eq!(build.hash_one(&a), build.hash_one("call-17"));
        for shape in ["call-{}", "c{}", "{}", "{}-4a7c-9e21-0b5f3d2c1a90"] {
            let hashes: std::collections::BTreeSet<u64> = (0..50_000)
                .map(|i| build.hash_one(shape.replace("{}", &i.to_string()).as_str()))
                .collect();
            assert_eq!(hashes.len(), 50_000, "{shape}");
        }
        // Zero padding does not make a shorter id collide with a longer one.
        assert_ne!(build.hash_one("ab"), build.hash_one("ab\0"));
    }

    #[test]
    fn a_checkpoint_lists_keys_in_order() {
        let mut m: IdMap<Arc<str>, u32> = IdMap::default();
        for (i, k) in ["b", "c", "a", "d"].into_iter().enumerate() {
            m.insert(k.into(), i as u32);
        }
        let mut json = serde_json::Serializer::new(Vec::new());
        sorted(&m, &mut json).unwrap();
        assert_eq!(
            String::from_utf8(json.into_inner()).unwrap(),
            r#"{"a":2,"b":0,"c":1,"d":3}"#
        );
    }
}
