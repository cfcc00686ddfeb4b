//! Segment queries over one index generation: parsing and validating the JSON query
//! language, evaluating condition trees over bitmaps, and profiling the result.
//!
//! This crate does no IO and no async: it answers from an [`Index`] already in memory.

mod ast;
mod cache;
mod eval;
pub mod export;
mod parse;
mod profile;
mod schema;
mod slices;

use std::collections::HashMap;
use std::time::Instant;

pub use ast::{Cond, Node, Pred};
pub use cache::{CacheStats, GroupCache};
pub use eval::{estimate, evaluate, evaluate_split, evaluate_steps, order, within, Source, WithCache};
pub use parse::{parse, parse_str, QueryError};
pub use profile::{Facets, ProductCount, TOP_PRODUCTS};
pub use schema::{closest, Schema};

use roaring::RoaringBitmap;
use serde::Serialize;
use tamsa_index::{FieldIndex, Index};
use tamsa_model::{format_day, Dimension, FieldId, Kind};

/// From this many customers on, a query is evaluated in customer ranges on all threads.
const PARALLEL_EVAL_FROM: u64 = 1 << 20;

/// How many bytes of groups' results over everyone an engine keeps by default: a group over
/// 15 million customers takes up to about 2 MB, so a few hundred groups.
pub const DEFAULT_GROUP_CACHE_BYTES: u64 = 512 << 20;

/// An index ready to answer queries, with what every query needs computed once.
pub struct Engine {
    /// The index.
    pub index: Index,
    /// Its fields and values.
    pub schema: Schema,
    totals: profile::Totals,
    display_order: HashMap<Dimension, Vec<u32>>,
    gender: FieldId,
    channel_365d: FieldId,
    region: FieldId,
    tier: FieldId,
    spend_365d: FieldId,
    parallel_pass_from: u64,
    slices_from: u64,
    parallel_eval_from: u64,
    groups: GroupCache,
}

/// How many threads one answer may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// The pool's, for large work: the fastest single answer.
    All,
    /// The caller's alone: while other answers keep every core busy, splitting one only
    /// adds work (joining parts, a histogram per part).
    One,
}

impl Threads {
    /// `a` and `b`, side by side on the pool with [`Threads::All`].
    fn join<A: Send, B: Send>(self, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
        match self {
            Threads::All => rayon::join(a, b),
            Threads::One => (a(), b()),
        }
    }
}

/// The generation a profile was computed on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IndexRef {
    /// The generation number.
    pub generation: u64,
    /// Its as-of day, `YYYY-MM-DD`.
    pub as_of: String,
}

/// The answer to a query: how many customers match and who they are.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// Customers matching.
    pub count: u64,
    /// All customers.
    pub population: u64,
    /// How the matching customers are made up.
    pub facets: Facets,
    /// Time to evaluate and profile, in milliseconds.
    pub took_ms: f64,
    /// The generation answered from.
    pub index: IndexRef,
}

/// A field of `tamsa fields`: its kind and, for valued fields, values with population counts.
#[derive(Clone, Debug, Serialize)]
pub struct FieldInfo {
    /// The name queries use.
    pub name: String,
    /// number, category, bool or set.
    pub kind: Kind,
    /// The purchase window in days, if windowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<u16>,
    /// For number fields: years, days, orders or money.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'static str>,
    /// English label.
    pub label_en: String,
    /// Korean label.
    pub label_ko: String,
    /// For number fields: the smallest and greatest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// See `min`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// For number fields: about the 10th, 25th, 50th, 75th and 90th percentile of known
    /// values (bucket bounds of the index, so the nearest bound at or above each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<Vec<i64>>,
    /// For number fields: customers whose value is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<u64>,
    /// For valued fields: each value and how many customers have it, most common first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<ValueCount>>,
}

/// A value and its population count.
#[derive(Clone, Debug, Serialize)]
pub struct ValueCount {
    /// The value.
    pub value: String,
    /// Customers holding it.
    pub count: u64,
}

/// One customer's value of a number, category or bool field, for exports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// A number, or null.
    Number(Option<i64>),
    /// A category value.
    Text(&'a str),
    /// A bool value.
    Bool(bool),
}

impl Engine {
    /// Prepares an index for queries.
    pub fn new(index: Index) -> Engine {
        let schema = Schema::new(&index.dims);
        let id = |name: &str| schema.field(name).expect("catalog field");
        let (gender, channel_365d, region, tier, spend_365d) =
            (id("gender"), id("channel_365d"), id("region"), id("tier"), id("spend_365d"));
        let mut display_order = HashMap::new();
        for (dim, field) in [
            (Dimension::Gender, "gender"),
            (Dimension::Channel, "channel_365d"),
            (Dimension::Bool, "email_opt_in"),
            (Dimension::Region, "region"),
            (Dimension::Tier, "tier"),
            (Dimension::Brand, "brand_365d"),
            (Dimension::Category, "category_365d"),
            (Dimension::Product, "product_365d"),
        ] {
            let values = schema.values(dim);
            let mut order: Vec<u32> = (0..values.len() as u32).collect();
            if dim.is_data_derived() {
                if let FieldIndex::Values(v) = index.field(id(field)) {
                    let count = |i: u32| v.bitmaps.get(i as usize).map_or(0, |b| b.len());
                    order.sort_by(|&a, &b| {
                        count(b).cmp(&count(a)).then_with(|| values[a as usize].cmp(&values[b as usize]))
                    });
                }
            }
            display_order.insert(dim, order);
        }
        let totals = profile::totals(&index, spend_365d, [gender, channel_365d, region, tier]);
        let slices_from = u64::from(index.population()) / profile::SLICES_SHARE;
        Engine {
            index,
            schema,
            totals,
            display_order,
            gender,
            channel_365d,
            region,
            tier,
            spend_365d,
            parallel_pass_from: profile::PARALLEL_PASS_FROM,
            slices_from,
            parallel_eval_from: PARALLEL_EVAL_FROM,
            groups: GroupCache::new(DEFAULT_GROUP_CACHE_BYTES),
        }
    }

    /// Sets how many bytes of groups' results over everyone this engine keeps between
    /// queries (0: none; every group is computed within its mask each time).
    pub fn with_group_cache(mut self, bytes: u64) -> Engine {
        self.groups = GroupCache::new(bytes);
        self
    }

    /// What the engine's group cache holds and how often it answered.
    pub fn group_cache_stats(&self) -> CacheStats {
        self.groups.stats()
    }

    /// The index as the evaluator reads it: with this engine's group cache.
    pub fn source(&self) -> WithCache<'_, Index> {
        WithCache { source: &self.index, cache: &self.groups }
    }

    /// Sets from how many members on a pass over a segment's members (for the product top
    /// list and spend) is split across threads.
    pub fn with_parallel_pass_from(mut self, members: u64) -> Engine {
        self.parallel_pass_from = members;
        self
    }

    /// Sets from how many members on a segment's spend sum and top products come from
    /// bitmaps rather than a pass over its members.
    pub fn with_slices_from(mut self, members: u64) -> Engine {
        self.slices_from = members;
        self
    }

    /// Sets from how many customers on a query is evaluated in customer ranges on all threads.
    pub fn with_parallel_eval_from(mut self, customers: u64) -> Engine {
        self.parallel_eval_from = customers;
        self
    }

    /// Validates a JSON query against this index.
    pub fn parse(&self, query: &serde_json::Value) -> Result<Node, QueryError> {
        parse(query, &self.schema)
    }

    /// The customers matching a query.
    pub fn segment(&self, node: &Node) -> RoaringBitmap {
        self.segment_on(node, Threads::All)
    }

    /// [`Self::segment`] on `threads`.
    pub fn segment_on(&self, node: &Node, threads: Threads) -> RoaringBitmap {
        self.groups.note_query(std::slice::from_ref(node));
        evaluate_split(node, &self.source(), self.parts(threads))
    }

    /// How many customer ranges a query is evaluated in side by side on `threads`.
    fn parts(&self, threads: Threads) -> usize {
        if threads == Threads::All && u64::from(self.index.population()) >= self.parallel_eval_from {
            rayon::current_num_threads()
        } else {
            1
        }
    }

    /// The customers matching every one of `conditions`, and how many match after each
    /// successive condition in the order given (the top-level `all` of a query, step by step).
    pub fn steps(&self, conditions: &[Node]) -> (RoaringBitmap, Vec<u64>) {
        self.steps_on(conditions, Threads::All)
    }

    /// [`Self::steps`] on `threads`.
    pub fn steps_on(&self, conditions: &[Node], threads: Threads) -> (RoaringBitmap, Vec<u64>) {
        self.groups.note_query(conditions);
        evaluate_steps(conditions, &self.source(), self.parts(threads))
    }

    /// The generation this engine answers from.
    pub fn index_ref(&self) -> IndexRef {
        IndexRef { generation: self.index.meta.generation, as_of: format_day(self.index.meta.as_of) }
    }

    /// The count and facets of the customers matching a query.
    pub fn profile(&self, node: &Node) -> Profile {
        let start = Instant::now();
        let members = self.segment(node);
        let facets = self.facets(&members);
        Profile {
            count: members.len(),
            population: u64::from(self.index.population()),
            facets,
            took_ms: start.elapsed().as_secs_f64() * 1e3,
            index: self.index_ref(),
        }
    }

    /// Every field with its kind and, for valued fields, values with population counts.
    pub fn fields(&self) -> Vec<FieldInfo> {
        self.schema
            .fields()
            .iter()
            .enumerate()
            .map(|(id, def)| {
                let mut info = FieldInfo {
                    name: def.name.clone(),
                    kind: def.kind,
                    window: def.window,
                    unit: def.unit,
                    label_en: def.label_en.clone(),
                    label_ko: def.label_ko.clone(),
                    min: None,
                    max: None,
                    quantiles: None,
                    known: None,
                    values: None,
                };
                match self.index.field(id) {
                    FieldIndex::Number(n) => {
                        // The column's base is its smallest value.
                        info.min = (!n.exists.is_empty()).then_some(n.column.base);
                        info.max = n.bounds.last().copied();
                        let known = n.exists.len();
                        let quantile = |q: f64| {
                            let rank = (q * known as f64).ceil() as u64;
                            let bucket = n.cumulative.partition_point(|c| c.len() < rank.max(1));
                            n.bounds.get(bucket).or(n.bounds.last()).copied().unwrap_or(0)
                        };
                        info.quantiles =
                            (known > 0).then(|| [0.1, 0.25, 0.5, 0.75, 0.9].map(quantile).to_vec());
                        info.known = Some(n.exists.len());
                    }
                    FieldIndex::Values(v) => {
                        let dim = def.dimension.expect("valued");
                        let names = self.schema.values(dim);
                        let values = self
                            .display_order(dim)
                            .iter()
                            .map(|&i| ValueCount {
                                value: names[i as usize].clone(),
                                count: v.bitmaps.get(i as usize).map_or(0, |b| b.len()),
                            })
                            .collect();
                        info.values = Some(values);
                    }
                }
                info
            })
            .collect()
    }

    /// Customer `customer`'s value of a number, category or bool field.
    pub fn value(&self, field: FieldId, customer: u32) -> Option<FieldValue<'_>> {
        let def = &self.schema.fields()[field];
        match (self.index.field(field), def.kind) {
            (FieldIndex::Number(n), _) => Some(FieldValue::Number(n.column.get(customer))),
            (FieldIndex::Values(v), Kind::Bool) => {
                Some(FieldValue::Bool(v.codes.as_ref()?.get(customer)? == 0))
            }
            (FieldIndex::Values(v), Kind::Category) => {
                let code = v.codes.as_ref()?.get(customer)?;
                let dim = def.dimension.expect("valued");
                Some(FieldValue::Text(&self.schema.values(dim)[code as usize]))
            }
            _ => None,
        }
    }

    /// The customer_id of customer `customer`.
    pub fn customer_id(&self, customer: u32) -> &str {
        self.index.customer_ids.get(customer)
    }
}
