//! The count and facets of a segment in one tantivy search, as an Elasticsearch user asks
//! for them: the `Count` collector beside terms aggregations (gender, region, tier,
//! channel_365d, last_product), a range aggregation (age buckets) and a sum (spend_365d),
//! shaped into exactly Tamsa's [`Facets`].

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};
use tamsa_model::AGE_BUCKETS;
use tamsa_query::{Engine, Facets, ProductCount, TOP_PRODUCTS};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{
    AggregationResult, AggregationResults, BucketEntries, BucketResult, MetricResult,
};
use tantivy::aggregation::{AggContextParams, AggregationCollector, Key};
use tantivy::collector::Count;
use tantivy::query::Query;
use tantivy::Searcher;

/// The fields counted per value, in the order of [`Facets`].
const VALUE_FACETS: [&str; 4] = ["gender", "channel_365d", "region", "tier"];

/// Integers up to this size are exact in the f64 of tantivy's sum aggregation.
const EXACT_F64: f64 = (1u64 << 53) as f64;

/// The aggregation request of a profile and what turns its answer into [`Facets`].
pub struct Profiler {
    aggs: Aggregations,
    /// Per value facet, its values in display order (every value listed, zero or not).
    values: Vec<(&'static str, Vec<String>)>,
    /// Name and brand of each product_id.
    products: HashMap<String, (String, String)>,
}

impl Profiler {
    /// The profile request for the index `engine` answers from (value lists, products).
    pub fn new(engine: &Engine) -> Result<Self> {
        let fields = engine.fields();
        let values: Vec<(&'static str, Vec<String>)> = VALUE_FACETS
            .iter()
            .map(|&name| {
                let info = fields.iter().find(|f| f.name == name).expect("catalog field");
                let values = info.values.as_ref().expect("valued field");
                (name, values.iter().map(|v| v.value.clone()).collect())
            })
            .collect();
        let dims = &engine.index.dims;
        let products = dims
            .product
            .iter()
            .enumerate()
            .map(|(p, id)| {
                let name = dims.product_name.get(p).cloned().unwrap_or_default();
                let brand = dims
                    .product_brand
                    .get(p)
                    .and_then(|&b| dims.brand.get(b as usize))
                    .cloned()
                    .unwrap_or_default();
                (id.clone(), (name, brand))
            })
            .collect();

        let mut request = Map::new();
        for (name, names) in &values {
            let size = names.len().max(1);
            request.insert(
                (*name).to_owned(),
                json!({"terms": {"field": name, "size": size, "segment_size": size}}),
            );
        }
        // Every product's count reaches the final top list, so that it is exact and its ties
        // are ordered by product_id, as tantivy orders equal counts by key.
        let all_products = dims.product.len().max(TOP_PRODUCTS);
        request.insert(
            "last_product".to_owned(),
            json!({"terms": {"field": "last_product", "size": TOP_PRODUCTS, "segment_size": all_products}}),
        );
        let ranges: Vec<Value> = AGE_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, &(label, from))| {
                let mut range = json!({"key": label});
                if from != i64::MIN {
                    range["from"] = json!(from);
                }
                if let Some(&(_, to)) = AGE_BUCKETS.get(i + 1) {
                    range["to"] = json!(to);
                }
                range
            })
            .collect();
        request.insert("age".to_owned(), json!({"range": {"field": "age", "ranges": ranges}}));
        request.insert("spend_365d_sum".to_owned(), json!({"sum": {"field": "spend_365d"}}));
        let aggs: Aggregations =
            serde_json::from_value(Value::Object(request)).context("the profile's aggregation request")?;
        Ok(Profiler { aggs, values, products })
    }

    /// The count and facets of the documents matching `query`, in one search.
    pub fn profile(&self, searcher: &Searcher, query: &dyn Query) -> Result<(u64, Facets)> {
        let collector = AggregationCollector::from_aggs(self.aggs.clone(), AggContextParams::default());
        let (count, results) = searcher.search(query, &(Count, collector))?;
        let count = count as u64;
        Ok((count, self.facets(count, results)?))
    }

    fn facets(&self, count: u64, mut results: AggregationResults) -> Result<Facets> {
        let mut take = |name: &str| results.0.remove(name).ok_or_else(|| anyhow!("no `{name}` aggregation"));

        let mut value_maps = Vec::with_capacity(self.values.len());
        for (name, names) in &self.values {
            let counts: HashMap<String, u64> = terms(take(name)?)?.collect();
            let map: Map<String, Value> =
                names.iter().map(|v| (v.clone(), counts.get(v).copied().unwrap_or(0).into())).collect();
            value_maps.push(map);
        }
        let [gender, channel_365d, region, tier]: [Map<String, Value>; 4] =
            value_maps.try_into().map_err(|_| anyhow!("four value facets"))?;

        let AggregationResult::BucketResult(BucketResult::Range { buckets }) = take("age")? else {
            bail!("`age` is not a range aggregation");
        };
        let by_label: HashMap<String, u64> = match buckets {
            BucketEntries::Vec(v) => v.into_iter().map(|b| (key_string(b.key), b.doc_count)).collect(),
            BucketEntries::HashMap(m) => m.into_iter().map(|(k, b)| (k, b.doc_count)).collect(),
        };
        let mut age = Map::new();
        let mut known = 0;
        for (label, _) in AGE_BUCKETS {
            let n = by_label.get(label).copied().unwrap_or(0);
            known += n;
            age.insert(label.to_owned(), n.into());
        }
        // Documents without an age are in no range.
        age.insert("unknown".to_owned(), count.saturating_sub(known).into());

        let last_product = terms(take("last_product")?)?
            .map(|(id, count)| {
                let (name, brand) = self.products.get(&id).cloned().unwrap_or_default();
                ProductCount { product_id: id, name, brand, count }
            })
            .collect();

        let AggregationResult::MetricResult(MetricResult::Sum(sum)) = take("spend_365d_sum")? else {
            bail!("`spend_365d_sum` is not a sum aggregation");
        };
        let sum = sum.value.unwrap_or(0.0);
        if sum.abs() >= EXACT_F64 {
            bail!("spend_365d sum {sum} is beyond the integers f64 holds exactly");
        }
        Ok(Facets { age, gender, channel_365d, region, tier, last_product, spend_365d_sum: sum as i64 })
    }
}

/// The buckets of a terms aggregation as (key, count), in the aggregation's order.
fn terms(result: AggregationResult) -> Result<impl Iterator<Item = (String, u64)>> {
    let AggregationResult::BucketResult(BucketResult::Terms { buckets, .. }) = result else {
        bail!("not a terms aggregation");
    };
    Ok(buckets.into_iter().map(|b| (key_string(b.key), b.doc_count)))
}

fn key_string(key: Key) -> String {
    match key {
        Key::Str(s) => s,
        Key::I64(n) => n.to_string(),
        Key::U64(n) => n.to_string(),
        Key::F64(n) => n.to_string(),
    }
}
