//! A compact table of distinct strings with dense ids, for millions of customer ids.
//!
//! Holding 15 million ids as separate `String`s costs about 40 bytes each before the text;
//! here they share one byte buffer and the hash table holds only 4-byte ids.

use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64;

/// Distinct strings numbered 0, 1, 2, … in the order they were first added.
#[derive(Default)]
pub struct StringTable {
    bytes: Vec<u8>,
    ends: Vec<u64>,
    lookup: HashTable<u32>,
}

impl StringTable {
    /// The number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string numbered `id`.
    pub fn get(&self, id: u32) -> &str {
        get(&self.bytes, &self.ends, id)
    }

    /// The id of `text`, if it was added.
    pub fn find(&self, text: &str) -> Option<u32> {
        let hash = xxh3_64(text.as_bytes());
        self.lookup.find(hash, |&id| self.get(id) == text).copied()
    }

    /// Adds `text` and returns its new id, or `Err` with the id it already has.
    pub fn insert(&mut self, text: &str) -> Result<u32, u32> {
        let hash = xxh3_64(text.as_bytes());
        if let Some(&id) = self.lookup.find(hash, |&id| get(&self.bytes, &self.ends, id) == text) {
            return Err(id);
        }
        let id = u32::try_from(self.ends.len()).expect("fewer than 2^32 strings");
        self.bytes.extend_from_slice(text.as_bytes());
        self.ends.push(self.bytes.len() as u64);
        let (bytes, ends) = (&self.bytes, &self.ends);
        self.lookup.insert_unique(hash, id, |&id| xxh3_64(get(bytes, ends, id).as_bytes()));
        Ok(id)
    }

    /// The strings in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len() as u32).map(|id| self.get(id))
    }

    /// Renumbers the strings: string `order[i]` becomes string `i`, where `rank` is the
    /// inverse of `order`. The hash table keeps its layout (a string's hash does not
    /// change), only the numbers in it change.
    pub(crate) fn reorder(&mut self, order: &[u32], rank: &[u32]) {
        let mut bytes = Vec::with_capacity(self.bytes.len());
        let mut ends = Vec::with_capacity(self.ends.len());
        for &old in order {
            bytes.extend_from_slice(self.get(old).as_bytes());
            ends.push(bytes.len() as u64);
        }
        (self.bytes, self.ends) = (bytes, ends);
        for id in self.lookup.iter_mut() {
            *id = rank[*id as usize];
        }
    }

    /// The concatenated bytes and the end offset of each string, for storing.
    pub fn into_parts(self) -> (Vec<u8>, Vec<u64>) {
        (self.bytes, self.ends)
    }
}

fn get<'a>(bytes: &'a [u8], ends: &[u64], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] as usize };
    std::str::from_utf8(&bytes[start..ends[id] as usize]).expect("only whole strings are stored")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reordering_renumbers_strings_and_lookups() {
        let mut table = StringTable::default();
        for text in ["a", "bb", "ccc"] {
            table.insert(text).unwrap();
        }
        // order[new] = old; rank[old] = new.
        table.reorder(&[2, 0, 1], &[1, 2, 0]);
        assert_eq!(table.iter().collect::<Vec<_>>(), ["ccc", "a", "bb"]);
        assert_eq!((table.find("ccc"), table.find("a"), table.find("bb")), (Some(0), Some(1), Some(2)));
        assert_eq!(table.insert("dd"), Ok(3));
        assert_eq!(table.insert("a"), Err(1));
    }

    #[test]
    fn ids_are_dense_and_stable() {
        let mut table = StringTable::default();
        assert_eq!(table.insert("C1"), Ok(0));
        assert_eq!(table.insert("고객2"), Ok(1));
        assert_eq!(table.insert("C1"), Err(0));
        assert_eq!(table.insert(""), Ok(2));
        assert_eq!(table.find("고객2"), Some(1));
        assert_eq!(table.find("C3"), None);
        assert_eq!(table.get(1), "고객2");
        assert_eq!(table.iter().collect::<Vec<_>>(), ["C1", "고객2", ""]);
        for i in 0..10_000 {
            table.insert(&format!("id{i}")).unwrap();
        }
        assert_eq!(table.find("id9999"), Some(10_002));
    }
}
