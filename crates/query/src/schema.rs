//! What a query may name: the field catalog and the values of each dimension in one index.

use std::collections::HashMap;

use tamsa_index::Dimensions;
use tamsa_model::{catalog, Dimension, FieldDef, FieldId};

/// The fields and, per dimension, the value names and numbers of one index.
pub struct Schema {
    fields: &'static [FieldDef],
    by_name: HashMap<String, FieldId>,
    values: HashMap<Dimension, (Vec<String>, HashMap<String, u32>)>,
}

const DIMENSIONS: [Dimension; 8] = [
    Dimension::Gender,
    Dimension::Channel,
    Dimension::Bool,
    Dimension::Region,
    Dimension::Tier,
    Dimension::Brand,
    Dimension::Category,
    Dimension::Product,
];

impl Schema {
    /// The schema of an index with these dimension values.
    pub fn new(dims: &Dimensions) -> Schema {
        let fields = catalog();
        let by_name = fields.iter().enumerate().map(|(id, f)| (f.name.clone(), id)).collect();
        let values = DIMENSIONS
            .iter()
            .map(|&dim| {
                let names: Vec<String> = dims.values(dim).into_iter().map(str::to_owned).collect();
                let lookup = names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
                (dim, (names, lookup))
            })
            .collect();
        Schema { fields, by_name, values }
    }

    /// Every field, by [`FieldId`].
    pub fn fields(&self) -> &[FieldDef] {
        self.fields
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<FieldId> {
        self.by_name.get(name).copied()
    }

    /// The value names of a dimension, by value number.
    pub fn values(&self, dim: Dimension) -> &[String] {
        &self.values[&dim].0
    }

    /// The number of a dimension's value.
    pub fn value(&self, dim: Dimension, name: &str) -> Option<u32> {
        self.values[&dim].1.get(name).copied()
    }
}

/// Up to three `candidates` closest to `wrong`, best first, for "did you mean" hints.
pub fn closest<'a>(wrong: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let wrong_lower = wrong.to_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .map(|c| {
            let lower = c.to_lowercase();
            let mut score = strsim::jaro_winkler(&wrong_lower, &lower);
            if !wrong_lower.is_empty() && (lower.contains(&wrong_lower) || wrong_lower.contains(&lower)) {
                score = score.max(0.9);
            }
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    // Only names about as close as the best one: a clear winner is suggested alone.
    let best = scored.first().map_or(0.0, |s| s.0);
    scored.into_iter().take_while(|s| s.0 >= best - 0.08).take(3).map(|(_, c)| c.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggestions_rank_close_names_first() {
        let names = ["brand_30d", "brand_90d", "category_30d", "age", "region"];
        assert_eq!(closest("brnd_30d", names.iter().copied())[0], "brand_30d");
        assert_eq!(closest("Region", names.iter().copied()), ["region"]);
        assert!(closest("zzzz", names.iter().copied()).is_empty());
        let brands = ["설화담", "라온빛", "윤슬"];
        assert_eq!(closest("설화", brands.iter().copied())[0], "설화담");
    }
}
