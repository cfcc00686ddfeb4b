//! Reads the customers, products and purchases Parquet tables of an input directory into
//! compact in-memory columns, applying the input contract's rules: rows that break a rule
//! are skipped and counted, files that break the contract fail the load.
//!
//! This is the only crate that knows Arrow and Parquet (the sample generator aside).

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

/// The customers table, one entry per kept row, in file order.
#[derive(Default)]
pub struct Customers {
    /// customer_id, numbered in row order: the number is the customer's id in the index.
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
    /// The kept purchase lines dated on or before `as_of`, in no particular order.
    pub lines: Vec<Line>,
    /// Per customer, the last order, if any.
    pub last_orders: Vec<Option<LastOrder>>,
    /// The day the fields are computed as of.
    pub as_of: Day,
    /// What was read and skipped.
    pub report: LoadReport,
}
