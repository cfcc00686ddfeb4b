//! Reads the customers, products and purchases Parquet tables of an input directory into
//! compact in-memory columns, applying the input contract's rules: rows that break a rule
//! are skipped and counted, files that break the contract fail the load.
//!
//! This is the only crate that knows Arrow and Parquet (the sample generator aside).

mod cluster;
mod dict;
mod error;
mod export;
mod load;
mod report;
mod strings;
mod table;

pub use dict::Dict;
pub use error::{LoadError, Result};
pub use export::{ExportColumn, ExportType, ExportValue, ParquetExport};
pub use load::{load, LoadOptions};
pub use report::{LoadReport, SkipReason, Skipped, TableRead, EXAMPLES_PER_REASON};
pub use strings::StringTable;

use tamsa_model::Day;

/// The value given to a missing region, tier, brand or category.
pub const UNKNOWN: &str = "unknown";

/// The customers table, one entry per kept row, in file order until [`Dataset::cluster`]
/// renumbers them.
#[derive(Default)]
pub struct Customers {
    /// customer_id, numbered in row order as loaded, then as [`Dataset::cluster`] orders
    /// them: the number is the customer's number in the index.
    pub ids: StringTable,
    /// birth_date.
    pub birth: Vec<Option<Day>>,
    /// Index into [`tamsa_model::GENDERS`].
    pub gender: Vec<u8>,
    /// Index into `regions`.
    pub region: Vec<u32>,
    /// The region names.
    pub regions: Dict,
    /// Index into `tiers`.
    pub tier: Vec<u32>,
    /// The tier names.
    pub tiers: Dict,
    /// signup_date.
    pub signup: Vec<Option<Day>>,
    /// email_opt_in (null is false).
    pub email_opt_in: Vec<bool>,
    /// sms_opt_in (null is false).
    pub sms_opt_in: Vec<bool>,
}

impl Customers {
    /// The number of customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The products table, plus products that purchases name but the table does not have.
#[derive(Default)]
pub struct Products {
    /// product_id.
    pub ids: StringTable,
    /// name.
    pub names: Vec<String>,
    /// Index into `brands`.
    pub brand: Vec<u32>,
    /// The brand names.
    pub brands: Dict,
    /// Index into `categories`.
    pub category: Vec<u32>,
    /// The category names.
    pub categories: Dict,
}

/// One purchase line, reduced to what the fields need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    /// A 64-bit hash of the order_id: lines of one customer with the same hash are one order.
    pub order: u64,
    /// amount, in minor units (negative for refunds).
    pub amount: i64,
    /// The customer's number in [`Customers::ids`].
    pub customer: u32,
    /// The product's number in [`Products::ids`].
    pub product: u32,
    /// The UTC day of purchased_at.
    pub day: Day,
    /// Whether the channel is `online` (else `offline`).
    pub online: bool,
}

/// Customers per chunk, as a power of two: 2^16, the span of one roaring container, so
/// that chunks can be indexed in parallel and their bitmaps merged cheaply.
pub const CHUNK_BITS: u32 = 16;

/// Lines per block of a chunk: blocks grow a chunk without copying or doubling it.
///
/// A block takes 32 MiB, the most glibc's allocator ever serves from its heaps (its mmap
/// threshold tops out there): it is mapped directly, so a freed block goes back to the
/// system at once rather than staying resident in a heap (about 2 GB at the peak of a
/// 15M-customer reindex with 512 KiB blocks), and the part of a chunk's last block that is
/// never written never becomes resident.
const BLOCK: usize = 1 << 20;

/// Purchase lines grouped by customer chunk (`customer >> CHUNK_BITS`), each chunk a list
/// of fixed-size blocks, so that the lines of 150 million purchases take little more memory
/// than their size and can be freed chunk by chunk as they are indexed.
#[derive(Default)]
pub struct LineChunks {
    chunks: Vec<Vec<Vec<Line>>>,
    len: u64,
}

impl LineChunks {
    /// Room for the lines of `customers` customers.
    pub fn new(customers: usize) -> LineChunks {
        LineChunks { chunks: vec![Vec::new(); customers.div_ceil(1 << CHUNK_BITS)], len: 0 }
    }

    /// Adds a line.
    pub fn push(&mut self, line: Line) {
        let blocks = &mut self.chunks[(line.customer >> CHUNK_BITS) as usize];
        match blocks.last_mut() {
            Some(block) if block.len() < BLOCK => block.push(line),
            _ => {
                let mut block = Vec::with_capacity(BLOCK);
                block.push(line);
                blocks.push(block);
            }
        }
        self.len += 1;
    }

    /// The number of lines.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every line, for in-place changes.
    pub fn for_each_mut(&mut self, f: impl Fn(&mut Line) + Sync + Send) {
        use rayon::prelude::*;
        self.chunks.par_iter_mut().flatten().flatten().for_each(f);
    }

    /// The chunks, in customer order: chunk `c` holds the lines of customers
    /// `c << CHUNK_BITS ..` and the next `1 << CHUNK_BITS`, in no particular order.
    pub fn into_chunks(self) -> impl Iterator<Item = Vec<Vec<Line>>> {
        self.chunks.into_iter()
    }
}

/// Each customer's last order: the order_id of the line with the greatest
/// (purchased_at, order_id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastOrder {
    /// purchased_at of that line, in microseconds.
    pub micros: i64,
    /// The order's hash, as in [`Line::order`].
    pub order: u64,
}

/// Everything loaded from an input directory.
pub struct Dataset {
    /// The customers.
    pub customers: Customers,
    /// The products.
    pub products: Products,
    /// The kept purchase lines dated on or before `as_of`, by customer chunk.
    pub lines: LineChunks,
    /// Per customer, the last order, if any.
    pub last_orders: Vec<Option<LastOrder>>,
    /// The day the fields are computed as of.
    pub as_of: Day,
    /// What was read and skipped.
    pub report: LoadReport,
}
