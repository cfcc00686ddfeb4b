//! Per-customer fields as roaring bitmaps and packed columns, built from a loaded
//! [`tamsa_loader::Dataset`] and stored in immutable, versioned generations on disk.
//!
//! An [`Index`] is read-only once built: a new load makes a new generation, and the
//! generation a reader opened never changes under it.

mod build;
mod error;
mod number;
mod products;
mod reindex;
mod store;

pub use build::build;
pub use error::{IndexError, Result};
pub use number::{Column, NumberIndex, Packed, MAX_BUCKETS, NULL};
pub use products::{for_each_page, ProductGroup, ProductLists, PAGE};
pub use reindex::{reindex, ReindexError, ReindexOptions};
pub use store::{generations, open, open_generation, read_meta, Generation, Writer, FORMAT_VERSION};

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use tamsa_loader::LoadReport;
use tamsa_model::{Day, Dimension, FieldId};

/// What a generation records about itself.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    /// The generation number: 1, 2, 3, … in the order they were built.
    pub generation: u64,
    /// The day the fields are computed as of.
    pub as_of: Day,
    /// When it was built, in seconds since the Unix epoch.
    pub built_at_unix: u64,
    /// The number of customers.
    pub population: u32,
    /// What the build read, skipped and cost.
    pub report: BuildReport,
}

/// What a build read, skipped and cost.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct BuildReport {
    /// Rows read and skipped.
    pub load: LoadReport,
    /// Purchase lines kept.
    pub purchase_lines: u64,
    /// Wall time of the whole reindex, in seconds.
    pub seconds: f64,
    /// Peak resident memory of the reindexing process, in bytes, where the OS tells.
    pub peak_memory_bytes: Option<u64>,
    /// Size of the generation's data on disk, in bytes.
    pub index_bytes: u64,
}

/// The names of each data-derived dimension's values, numbered as the bitmaps are.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Dimensions {
    /// Region names.
    pub region: Vec<String>,
    /// Tier names.
    pub tier: Vec<String>,
    /// Brand names.
    pub brand: Vec<String>,
    /// Category names.
    pub category: Vec<String>,
    /// Product ids.
    pub product: Vec<String>,
    /// Product names, by product number.
    pub product_name: Vec<String>,
    /// Brand number of each product.
    pub product_brand: Vec<u32>,
    /// Category number of each product.
    pub product_category: Vec<u32>,
}

impl Dimensions {
    /// The value names of a dimension.
    pub fn values(&self, dim: Dimension) -> Vec<&str> {
        let names = |v: &'static [&'static str]| v.to_vec();
        match dim {
            Dimension::Region => self.region.iter().map(String::as_str).collect(),
            Dimension::Tier => self.tier.iter().map(String::as_str).collect(),
            Dimension::Brand => self.brand.iter().map(String::as_str).collect(),
            Dimension::Category => self.category.iter().map(String::as_str).collect(),
            Dimension::Product => self.product.iter().map(String::as_str).collect(),
            fixed => names(fixed.fixed_values().expect("fixed dimension")),
        }
    }
}

/// The index of a category, bool or set field: a bitmap per value.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueIndex {
    /// Customers holding each value, by value number.
    pub bitmaps: Vec<RoaringBitmap>,
    /// For category and bool fields, each customer's value number.
    pub codes: Option<Column>,
}

/// The index of one field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldIndex {
    /// A category, bool or set field.
    Values(ValueIndex),
    /// A number field.
    Number(NumberIndex),
}

/// Strings stored back to back, as the customer ids are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Strings {
    /// The concatenated UTF-8 bytes.
    pub bytes: Vec<u8>,
    /// The end offset of each string.
    pub ends: Vec<u64>,
}

impl Strings {
    /// String `i`.
    #[inline]
    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        std::str::from_utf8(&self.bytes[start..self.ends[i] as usize]).unwrap_or("")
    }
}

/// Lists of numbers per customer (compressed sparse rows).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lists {
    /// `values[ends[i-1]..ends[i]]` is customer i's list.
    pub ends: Vec<u64>,
    /// The lists back to back.
    pub values: Vec<u32>,
}

impl Lists {
    /// Customer `i`'s list.
    #[inline]
    pub fn get(&self, i: u32) -> &[u32] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.values[start..self.ends[i] as usize]
    }

    /// Appends the lists of `other`, as those of the customers after these.
    pub fn append(&mut self, other: &Lists) {
        let base = self.values.len() as u64;
        self.values.extend_from_slice(&other.values);
        self.ends.extend(other.ends.iter().map(|end| base + end));
    }
}

/// One generation's fields, ready to query.
#[derive(Clone, Debug, PartialEq)]
pub struct Index {
    /// What the generation records about itself.
    pub meta: Meta,
    /// Value names of the data-derived dimensions.
    pub dims: Dimensions,
    /// Per field, in [`tamsa_model::catalog`] order.
    pub fields: Vec<FieldIndex>,
    /// customer_id of each customer number.
    pub customer_ids: Strings,
    /// The distinct product numbers of each customer's last order.
    pub last_products: Lists,
    /// Each customer's products bought within the longest window or in the last order,
    /// to answer large groups of brand, category and product conditions member by member.
    pub product_lists: ProductLists,
    /// Customers in each age facet bucket ([`tamsa_model::AGE_BUCKETS`], then unknown).
    pub age_buckets: Vec<RoaringBitmap>,
    /// Every customer.
    pub universe: RoaringBitmap,
}

impl Index {
    /// The number of customers.
    pub fn population(&self) -> u32 {
        self.meta.population
    }

    /// The index of a field.
    pub fn field(&self, id: FieldId) -> &FieldIndex {
        &self.fields[id]
    }
}
