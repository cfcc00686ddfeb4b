//! The profile of a segment: its count and how it is made up (age, gender, channel,
//! region, tier, top last-purchased products, spend), beside the population's.
//!
//! Few-valued facets are counted from bitmap cardinalities. The product top list and the
//! spend sum need a pass over members; when the segment is more than half the population
//! the pass runs over the complement and subtracts from the population's totals.

use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::Serialize;
use tamsa_index::{FieldIndex, Index};
use tamsa_model::{Dimension, FieldId, AGE_BUCKETS};

use crate::Engine;

/// How many products the last-product facet lists.
pub const TOP_PRODUCTS: usize = 10;

/// One entry of the last-product facet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductCount {
    /// product_id.
    pub product_id: String,
    /// The product's name.
    pub name: String,
    /// The product's brand.
    pub brand: String,
    /// Customers whose last order holds it.
    pub count: u64,
}

/// The facets of a set of customers. Maps keep their value order when serialized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// Age buckets, then `unknown`.
    pub age: serde_json::Map<String, serde_json::Value>,
    /// F, M, U.
    pub gender: serde_json::Map<String, serde_json::Value>,
    /// online, offline, both, none over the last 365 days.
    pub channel_365d: serde_json::Map<String, serde_json::Value>,
    /// Per region, most common in the population first.
    pub region: serde_json::Map<String, serde_json::Value>,
    /// Per tier, most common in the population first.
    pub tier: serde_json::Map<String, serde_json::Value>,
    /// The most common products of last orders.
    pub last_product: Vec<ProductCount>,
    /// The sum of spend over the last 365 days.
    pub spend_365d_sum: i64,
}

/// What the population-wide totals of the pass-based facets are, computed once per index.
pub(crate) struct Totals {
    pub last_product: Vec<u64>,
    pub spend_365d: i128,
}

/// Per-member sums the facets need.
struct Pass {
    last_product: Vec<u64>,
    spend_365d: i128,
}

/// Below this many members a pass runs on one thread.
pub(crate) const PARALLEL_PASS_FROM: u64 = 16_384;

fn pass(index: &Index, members: &RoaringBitmap, spend: FieldId, parallel_from: u64) -> Pass {
    let FieldIndex::Number(spend) = index.field(spend) else { unreachable!("spend_365d is a number") };
    // Members in customer ranges, one per thread, each read a page at a time.
    let threads = if members.len() < parallel_from { 1 } else { rayon::current_num_threads().max(1) };
    let step = index.population().div_ceil(threads as u32).max(1);
    let parts: Vec<Pass> = (0..threads as u32)
        .into_par_iter()
        .map(|t| {
            let (start, end) = (t * step, (t * step).saturating_add(step));
            let mut counts = vec![0u64; index.dims.product.len()];
            let mut sum = 0i128;
            let mut page = [0u32; 1024];
            let mut iter = members.range(start..end);
            loop {
                let filled = iter.next_many(&mut page);
                if filled.is_empty() {
                    break;
                }
                for &member in filled.iter() {
                    for &product in index.last_products.get(member) {
                        counts[product as usize] += 1;
                    }
                    sum += i128::from(spend.column.get(member).unwrap_or(0));
                }
            }
            Pass { last_product: counts, spend_365d: sum }
        })
        .collect();
    parts
        .into_iter()
        .reduce(|mut a, b| {
            a.last_product.iter_mut().zip(&b.last_product).for_each(|(x, y)| *x += y);
            a.spend_365d += b.spend_365d;
            a
        })
        .unwrap_or(Pass { last_product: vec![0; index.dims.product.len()], spend_365d: 0 })
}

pub(crate) fn totals(index: &Index, spend: FieldId) -> Totals {
    let all = pass(index, &index.universe, spend, PARALLEL_PASS_FROM);
    Totals { last_product: all.last_product, spend_365d: all.spend_365d }
}

impl Engine {
    fn value_counts(
        &self,
        field: FieldId,
        members: &RoaringBitmap,
    ) -> serde_json::Map<String, serde_json::Value> {
        let FieldIndex::Values(values) = self.index.field(field) else {
            unreachable!("facet of a valued field")
        };
        let dim = self.schema.fields()[field].dimension.expect("valued");
        let full = members.len() == u64::from(self.index.population());
        let names = self.schema.values(dim);
        let order = self.display_order(dim);
        order
            .iter()
            .map(|&v| {
                let bitmap = &values.bitmaps[v as usize];
                let count = if full { bitmap.len() } else { bitmap.intersection_len(members) };
                (names[v as usize].clone(), count.into())
            })
            .collect()
    }

    /// The facets of `members`.
    pub fn facets(&self, members: &RoaringBitmap) -> Facets {
        // The bitmap counts and the pass over members are independent: run them side by side.
        let (counted, (counts, spend)) =
            rayon::join(|| self.bitmap_facets(members), || self.pass_facets(members));
        let index = &self.index;
        let mut top: Vec<(u64, &str, usize)> = counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(p, &c)| (c, index.dims.product[p].as_str(), p))
            .collect();
        top.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let last_product = top
            .into_iter()
            .take(TOP_PRODUCTS)
            .map(|(count, id, p)| ProductCount {
                product_id: id.to_owned(),
                name: index.dims.product_name.get(p).cloned().unwrap_or_default(),
                brand: index
                    .dims
                    .product_brand
                    .get(p)
                    .and_then(|&b| index.dims.brand.get(b as usize))
                    .cloned()
                    .unwrap_or_default(),
                count,
            })
            .collect();
        let [age, gender, channel_365d, region, tier] = counted;
        Facets {
            age,
            gender,
            channel_365d,
            region,
            tier,
            last_product,
            spend_365d_sum: i64::try_from(spend).unwrap_or(if spend < 0 { i64::MIN } else { i64::MAX }),
        }
    }

    /// Age, gender, channel_365d, region and tier counts of `members`, from bitmap
    /// cardinalities, the facets counted on separate threads.
    fn bitmap_facets(&self, members: &RoaringBitmap) -> [serde_json::Map<String, serde_json::Value>; 5] {
        let age = || {
            let labels = AGE_BUCKETS.iter().map(|b| b.0).chain(["unknown"]);
            labels
                .zip(&self.index.age_buckets)
                .map(|(label, bucket)| (label.to_owned(), bucket.intersection_len(members).into()))
                .collect()
        };
        let fields = [self.gender, self.channel_365d, self.region, self.tier];
        let (age, mut rest) = rayon::join(age, || {
            fields.par_iter().map(|&field| self.value_counts(field, members)).collect::<Vec<_>>()
        });
        let mut next = || rest.remove(0);
        [age, next(), next(), next(), next()]
    }

    /// Per-product counts of last orders, and the spend sum, of `members`: one pass over the
    /// members, or over the rest of the population when that is smaller.
    fn pass_facets(&self, members: &RoaringBitmap) -> (Vec<u64>, i128) {
        let index = &self.index;
        if members.len() * 2 <= u64::from(index.population()) {
            let p = pass(index, members, self.spend_365d, self.parallel_pass_from);
            (p.last_product, p.spend_365d)
        } else {
            let rest = &index.universe - members;
            let p = pass(index, &rest, self.spend_365d, self.parallel_pass_from);
            let counts = self.totals.last_product.iter().zip(&p.last_product).map(|(t, r)| t - r).collect();
            (counts, self.totals.spend_365d - p.spend_365d)
        }
    }

    /// Value numbers of a dimension in display order: data-derived values by population
    /// count, most common first; fixed values in their own order.
    pub(crate) fn display_order(&self, dim: Dimension) -> &[u32] {
        &self.display_order[&dim]
    }
}
