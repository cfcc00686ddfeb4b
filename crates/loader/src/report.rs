//! The load report: rows read per table and rows skipped per reason, with examples.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// How many examples of each skip reason a report keeps.
pub const EXAMPLES_PER_REASON: usize = 5;

/// Why a row was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A customer row whose customer_id is null or empty.
    CustomerEmptyId,
    /// A customer row whose customer_id an earlier row already has (the first row wins).
    CustomerDuplicateId,
    /// A product row whose product_id is null or empty.
    ProductEmptyId,
    /// A product row whose product_id an earlier row already has (the first row wins).
    ProductDuplicateId,
    /// A purchase row whose customer_id is null.
    PurchaseNullCustomerId,
    /// A purchase row whose order_id is null.
    PurchaseNullOrderId,
    /// A purchase row whose product_id is null.
    PurchaseNullProductId,
    /// A purchase row whose purchased_at is null.
    PurchaseNullPurchasedAt,
    /// A purchase row whose amount is null.
    PurchaseNullAmount,
    /// A purchase row whose customer_id is not in the customers table.
    PurchaseUnknownCustomer,
    /// A purchase row whose channel is not `online` or `offline`.
    PurchaseBadChannel,
}

impl SkipReason {
    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::CustomerEmptyId => "customer with a null or empty customer_id",
            SkipReason::CustomerDuplicateId => "customer_id already seen (first row kept)",
            SkipReason::ProductEmptyId => "product with a null or empty product_id",
            SkipReason::ProductDuplicateId => "product_id already seen (first row kept)",
            SkipReason::PurchaseNullCustomerId => "purchase with a null customer_id",
            SkipReason::PurchaseNullOrderId => "purchase with a null order_id",
            SkipReason::PurchaseNullProductId => "purchase with a null product_id",
            SkipReason::PurchaseNullPurchasedAt => "purchase with a null purchased_at",
            SkipReason::PurchaseNullAmount => "purchase with a null amount",
            SkipReason::PurchaseUnknownCustomer => "purchase of a customer_id not in customers",
            SkipReason::PurchaseBadChannel => "purchase whose channel is not online or offline",
        }
    }
}

/// The skipped rows of one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Why.
    pub reason: SkipReason,
    /// How many rows.
    pub count: u64,
    /// A few of them: file, row number within the file, and the offending value.
    pub examples: Vec<String>,
}

/// Rows read from one table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRead {
    /// `customers`, `products` or `purchases`.
    pub table: String,
    /// The Parquet files read.
    pub files: usize,
    /// Rows read, skipped ones included.
    pub rows: u64,
}

/// What a load read and what it skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Per table.
    pub tables: Vec<TableRead>,
    /// Per reason, only reasons that occurred, in reason order.
    pub skipped: Vec<Skipped>,
    /// Purchase lines dated after the as-of day, left out of every field.
    pub after_as_of: u64,
    /// Purchase lines whose product is not in products (kept, brand and category `unknown`).
    pub unknown_product_lines: u64,
}

impl LoadReport {
    /// Rows skipped for any reason.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().map(|s| s.count).sum()
    }

    /// One line per reason, such as `purchase with a null amount: 3`.
    pub fn skipped_summary(&self) -> String {
        let parts: Vec<String> =
            self.skipped.iter().map(|s| format!("{}: {}", s.reason.describe(), s.count)).collect();
        parts.join("; ")
    }
}

/// An example of a skipped row: file, row number, and the offending value, kept apart
/// so that merged examples can be sorted and the first ones kept.
type Example = (String, u64, String);

/// Skips counted by one worker, merged into the report at the end.
#[derive(Default)]
pub(crate) struct SkipTally {
    entries: Vec<(SkipReason, u64, Vec<Example>)>,
}

impl SkipTally {
    pub fn skip(&mut self, reason: SkipReason, file: &Path, row: u64, what: impl FnOnce() -> String) {
        let entry = match self.entries.iter_mut().position(|e| e.0 == reason) {
            Some(i) => &mut self.entries[i],
            None => {
                self.entries.push((reason, 0, Vec::new()));
                self.entries.last_mut().expect("just pushed")
            }
        };
        entry.1 += 1;
        if entry.2.len() < EXAMPLES_PER_REASON {
            entry.2.push((file.display().to_string(), row, what()));
        }
    }

    pub fn merge(&mut self, other: SkipTally) {
        for (reason, count, examples) in other.entries {
            match self.entries.iter_mut().find(|e| e.0 == reason) {
                Some(entry) => {
                    entry.1 += count;
                    entry.2.extend(examples);
                    entry.2.sort();
                    entry.2.truncate(EXAMPLES_PER_REASON);
                }
                None => self.entries.push((reason, count, examples)),
            }
        }
    }

    pub fn into_skipped(mut self) -> Vec<Skipped> {
        self.entries.sort_by_key(|e| e.0);
        self.entries
            .into_iter()
            .map(|(reason, count, examples)| Skipped {
                reason,
                count,
                examples: examples
                    .into_iter()
                    .map(|(file, row, what)| format!("{file} row {row}: {what}"))
                    .collect(),
            })
            .collect()
    }
}
