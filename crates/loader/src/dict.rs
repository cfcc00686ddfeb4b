//! Small dictionaries of names (regions, tiers, brands, categories) numbered in first-seen order.

use rustc_hash::FxHashMap;

/// Names numbered 0, 1, 2, … in the order they were first seen.
#[derive(Default, Clone, Debug)]
pub struct Dict {
    names: Vec<String>,
    ids: FxHashMap<String, u32>,
}

impl Dict {
    /// The number of a name, adding it if new.
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// The names in number order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}
