//! The load itself: products, then customers, then purchases in parallel row groups.

use std::path::Path;
use std::sync::Mutex;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use tamsa_model::{Day, Progress};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{LoadError, Result};
use crate::report::{LoadReport, SkipReason, SkipTally, TableRead};
use crate::table::{
    col, day_of_micros, optional, plan, read_part, table_files, Batch, ColType, ColumnSpec, Part,
};
use crate::{Customers, Dataset, LastOrder, Line, LineChunks, Products, UNKNOWN};

/// How to load.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Compute fields as of this day; purchases after it are left out. Default: the day of
    /// the latest kept purchase.
    pub as_of: Option<Day>,
    /// Fail instead of skipping any row.
    pub strict: bool,
}

const PRODUCT_COLUMNS: [ColumnSpec; 4] = [
    col("product_id", ColType::IdText),
    col("name", ColType::Text),
    col("brand", ColType::Text),
    col("category", ColType::Text),
];

const CUSTOMER_COLUMNS: [ColumnSpec; 8] = [
    col("customer_id", ColType::IdText),
    col("birth_date", ColType::Date),
    col("gender", ColType::Text),
    col("region", ColType::Text),
    col("tier", ColType::Text),
    col("signup_date", ColType::Date),
    col("email_opt_in", ColType::Bool),
    col("sms_opt_in", ColType::Bool),
];

const PURCHASE_COLUMNS: [ColumnSpec; 7] = [
    col("order_id", ColType::IdText),
    col("customer_id", ColType::IdText),
    col("purchased_at", ColType::Timestamp),
    col("product_id", ColType::IdText),
    optional("quantity", ColType::Integer),
    col("amount", ColType::Integer),
    col("channel", ColType::Text),
];

/// Loads the three tables of `dir`.
pub fn load(dir: &Path, options: &LoadOptions, progress: &dyn Progress) -> Result<Dataset> {
    // Plan every table first, so that a schema error anywhere fails before the long work.
    let product_files = table_files(dir, "products")?;
    let customer_files = table_files(dir, "customers")?;
    let purchase_files = table_files(dir, "purchases")?;
    let product_parts = plan(&product_files, &PRODUCT_COLUMNS)?;
    let customer_parts = plan(&customer_files, &CUSTOMER_COLUMNS)?;
    let purchase_parts = plan(&purchase_files, &PURCHASE_COLUMNS)?;

    let mut skips = SkipTally::default();
    let mut report = LoadReport::default();
    let table_read = |table: &str, files: usize, parts: &[Part]| TableRead {
        table: table.to_owned(),
        files,
        rows: parts.iter().map(|p| p.rows).sum(),
    };
    report.tables.push(table_read("customers", customer_files.len(), &customer_parts));
    report.tables.push(table_read("products", product_files.len(), &product_parts));
    report.tables.push(table_read("purchases", purchase_files.len(), &purchase_parts));

    let mut products = load_products(&product_parts, &mut skips)?;
    let customers = load_customers(&customer_parts, &mut skips, progress)?;
    let purchases = load_purchases(&purchase_parts, &customers, &products, options.as_of, progress)?;
    skips.merge(purchases.skips);

    // Products that only purchases name join the table, numbered in id order so that the
    // numbering does not depend on which thread saw them first.
    let mut unknown: Vec<&String> = purchases.unknown_products.keys().collect();
    unknown.sort();
    let mut renumber = FxHashMap::default();
    for id in unknown {
        let number = products.ids.insert(id).map_err(|_| LoadError::TooMany { what: "products" })?;
        products.names.push(String::new());
        let brand = products.brands.id(UNKNOWN);
        products.brand.push(brand);
        let category = products.categories.id(UNKNOWN);
        products.category.push(category);
        renumber.insert(purchases.unknown_products[id], number);
    }
    let mut lines = purchases.lines;
    if !renumber.is_empty() {
        lines.for_each_mut(|l| {
            if l.product >= UNKNOWN_BASE {
                l.product = renumber[&l.product];
            }
        });
    }

    report.skipped = skips.into_skipped();
    report.after_as_of = purchases.after_as_of;
    report.unknown_product_lines = purchases.unknown_product_lines;
    if options.strict && report.skipped_total() > 0 {
        return Err(LoadError::Strict { summary: report.skipped_summary() });
    }
    let as_of = options
        .as_of
        .or(purchases.max_day)
        .or_else(|| customers.signup.iter().flatten().max().copied())
        .unwrap_or(0);
    Ok(Dataset { customers, products, lines, last_orders: purchases.last, as_of, report })
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

fn load_products(parts: &[Part], skips: &mut SkipTally) -> Result<Products> {
    let mut products = Products::default();
    for part in parts {
        read_part(part, &PRODUCT_COLUMNS, |Batch { cols, first_row, rows }| {
            for row in 0..rows {
                let file_row = first_row + row as u64;
                // Ids are matched exactly, as purchases name them: only an id of nothing but
                // spaces is empty.
                let Some(id) = cols[0].text(row).filter(|t| !t.trim().is_empty()) else {
                    skips.skip(SkipReason::ProductEmptyId, &part.file, file_row, || {
                        "product_id is empty".into()
                    });
                    continue;
                };
                if products.ids.insert(id).is_err() {
                    skips.skip(SkipReason::ProductDuplicateId, &part.file, file_row, || {
                        format!("product_id={id:?}")
                    });
                    continue;
                }
                products.names.push(cols[1].text(row).unwrap_or("").to_owned());
                let brand = products.brands.id(non_empty(cols[2].text(row)).unwrap_or(UNKNOWN));
                products.brand.push(brand);
                let category = products.categories.id(non_empty(cols[3].text(row)).unwrap_or(UNKNOWN));
                products.category.push(category);
            }
        })?;
    }
    Ok(products)
}

fn gender_of(text: Option<&str>) -> u8 {
    match text.map(str::trim) {
        Some(g) if g.eq_ignore_ascii_case("F") => 0,
        Some(g) if g.eq_ignore_ascii_case("M") => 1,
        _ => 2,
    }
}

fn load_customers(parts: &[Part], skips: &mut SkipTally, progress: &dyn Progress) -> Result<Customers> {
    let total: u64 = parts.iter().map(|p| p.rows).sum();
    progress.start("customers", total);
    let mut c = Customers::default();
    for part in parts {
        let mut too_many = false;
        read_part(part, &CUSTOMER_COLUMNS, |Batch { cols, first_row, rows }| {
            for row in 0..rows {
                let file_row = first_row + row as u64;
                let Some(id) = cols[0].text(row).filter(|t| !t.trim().is_empty()) else {
                    skips.skip(SkipReason::CustomerEmptyId, &part.file, file_row, || {
                        "customer_id is empty".into()
                    });
                    continue;
                };
                if c.ids.len() == u32::MAX as usize {
                    too_many = true;
                    return;
                }
                if c.ids.insert(id).is_err() {
                    skips.skip(SkipReason::CustomerDuplicateId, &part.file, file_row, || {
                        format!("customer_id={id:?}")
                    });
                    continue;
                }
                c.birth.push(cols[1].day(row));
                c.gender.push(gender_of(cols[2].text(row)));
                let region = c.regions.id(non_empty(cols[3].text(row)).unwrap_or(UNKNOWN));
                c.region.push(region);
                let tier = c.tiers.id(non_empty(cols[4].text(row)).unwrap_or(UNKNOWN));
                c.tier.push(tier);
                c.signup.push(cols[5].day(row));
                c.email_opt_in.push(cols[6].bool(row).unwrap_or(false));
                c.sms_opt_in.push(cols[7].bool(row).unwrap_or(false));
            }
            progress.advance(rows as u64);
        })?;
        if too_many {
            return Err(LoadError::TooMany { what: "customers" });
        }
    }
    progress.finish();
    Ok(c)
}

/// Product numbers from here up stand for products the products table does not have,
/// numbered within one worker until the merge renumbers them.
const UNKNOWN_BASE: u32 = 1 << 31;

/// The best last-order candidate seen so far for a customer.
struct Best {
    micros: i64,
    order_id: Box<str>,
    hash: u64,
}

impl Best {
    fn beats(&self, micros: i64, order_id: &str) -> bool {
        (self.micros, &*self.order_id) >= (micros, order_id)
    }
}

struct Purchases {
    lines: LineChunks,
    last: Vec<Option<LastOrder>>,
    /// Customers whose last order is undecided: candidates from different row groups share
    /// the latest purchased_at, and only their order_id strings, not kept, can decide.
    tied: FxHashSet<u32>,
    unknown_products: FxHashMap<String, u32>,
    unknown_product_lines: u64,
    skips: SkipTally,
    after_as_of: u64,
    max_day: Option<Day>,
}

/// What one worker made of one row group.
#[derive(Default)]
struct PartOut {
    lines: Vec<Line>,
    best: FxHashMap<u32, Best>,
    /// Unknown product ids, by their number above [`UNKNOWN_BASE`].
    unknown_products: Vec<String>,
    unknown_product_lines: u64,
    skips: SkipTally,
    after_as_of: u64,
    max_day: Option<Day>,
}

/// Reads one row group of purchases. With `only`, it just finds the last order of those
/// customers (the rules for skipping rows still apply) and keeps no lines.
impl PartOut {
    /// Keeps the line if it is the customer's latest (purchased_at, order_id) so far.
    fn consider(&mut self, customer: u32, micros: i64, order_id: &str, hash: u64) {
        match self.best.get_mut(&customer) {
            Some(best) if best.beats(micros, order_id) => {}
            Some(best) => *best = Best { micros, order_id: order_id.into(), hash },
            None => {
                self.best.insert(customer, Best { micros, order_id: order_id.into(), hash });
            }
        }
    }
}

/// Decides the last order of tied customers with a second read of the purchases, comparing
/// their order_id strings. Rare: it takes different orders at the same instant.
fn resolve_ties(
    parts: &[Part],
    customers: &Customers,
    products: &Products,
    as_of: Option<Day>,
    purchases: &mut Purchases,
    progress: &dyn Progress,
) -> Result<()> {
    progress.start("purchases with tied last orders", parts.iter().map(|p| p.rows).sum());
    let tied = &purchases.tied;
    let bests: Vec<FxHashMap<u32, Best>> = parts
        .par_iter()
        .map(|part| {
            let out = read_purchase_part(part, customers, products, as_of, Some(tied))?;
            progress.advance(part.rows);
            Ok(out.best)
        })
        .collect::<Result<_>>()?;
    let mut decided: FxHashMap<u32, Best> = FxHashMap::default();
    for (customer, best) in bests.into_iter().flatten() {
        match decided.get(&customer) {
            Some(held) if held.beats(best.micros, &best.order_id) => {}
            _ => {
                decided.insert(customer, best);
            }
        }
    }
    for (customer, best) in decided {
        purchases.last[customer as usize] = Some(LastOrder { micros: best.micros, order: best.hash });
    }
    progress.finish();
    Ok(())
}

fn read_purchase_part(
    part: &Part,
    customers: &Customers,
    products: &Products,
    as_of: Option<Day>,
    only: Option<&FxHashSet<u32>>,
) -> Result<PartOut> {
    let capacity = if only.is_some() { 0 } else { part.rows as usize };
    let mut out = PartOut { lines: Vec::with_capacity(capacity), ..PartOut::default() };
    let mut unknown: FxHashMap<String, u32> = FxHashMap::default();
    read_part(part, &PURCHASE_COLUMNS, |Batch { cols, first_row, rows }| {
        for row in 0..rows {
            let file_row = first_row + row as u64;
            let mut skip =
                |reason, what: &dyn Fn() -> String| out.skips.skip(reason, &part.file, file_row, what);
            let Some(customer_id) = cols[1].text(row) else {
                skip(SkipReason::PurchaseNullCustomerId, &|| "customer_id is null".into());
                continue;
            };
            let Some(order_id) = cols[0].text(row) else {
                skip(SkipReason::PurchaseNullOrderId, &|| "order_id is null".into());
                continue;
            };
            let Some(product_id) = cols[3].text(row) else {
                skip(SkipReason::PurchaseNullProductId, &|| "product_id is null".into());
                continue;
            };
            let Some(micros) = cols[2].micros(row) else {
                skip(SkipReason::PurchaseNullPurchasedAt, &|| "purchased_at is null".into());
                continue;
            };
            let Some(amount) = cols[5].int(row) else {
                skip(SkipReason::PurchaseNullAmount, &|| "amount is null".into());
                continue;
            };
            let online = match cols[6].text(row).map(str::trim) {
                Some(c) if c.eq_ignore_ascii_case("online") => true,
                Some(c) if c.eq_ignore_ascii_case("offline") => false,
                other => {
                    skip(SkipReason::PurchaseBadChannel, &|| format!("channel={other:?}"));
                    continue;
                }
            };
            let Some(customer) = customers.ids.find(customer_id) else {
                skip(SkipReason::PurchaseUnknownCustomer, &|| format!("customer_id={customer_id:?}"));
                continue;
            };
            let day = day_of_micros(micros);
            if as_of.is_some_and(|as_of| day > as_of) {
                out.after_as_of += 1;
                continue;
            }
            if let Some(only) = only {
                if only.contains(&customer) {
                    let hash = xxh3_64(order_id.as_bytes());
                    out.consider(customer, micros, order_id, hash);
                }
                continue;
            }
            let product = match products.ids.find(product_id) {
                Some(p) => p,
                None => {
                    out.unknown_product_lines += 1;
                    let next = UNKNOWN_BASE + out.unknown_products.len() as u32;
                    *unknown.entry(product_id.to_owned()).or_insert_with(|| {
                        out.unknown_products.push(product_id.to_owned());
                        next
                    })
                }
            };
            let hash = xxh3_64(order_id.as_bytes());
            out.lines.push(Line { order: hash, amount, customer, product, day, online });
            out.max_day = out.max_day.max(Some(day));
            out.consider(customer, micros, order_id, hash);
        }
    })?;
    Ok(out)
}

fn load_purchases(
    parts: &[Part],
    customers: &Customers,
    products: &Products,
    as_of: Option<Day>,
    progress: &dyn Progress,
) -> Result<Purchases> {
    let total: u64 = parts.iter().map(|p| p.rows).sum();
    progress.start("purchases", total);
    let merged = Mutex::new(Purchases {
        lines: LineChunks::new(customers.len()),
        last: vec![None; customers.len()],
        tied: FxHashSet::default(),
        unknown_products: FxHashMap::default(),
        unknown_product_lines: 0,
        skips: SkipTally::default(),
        after_as_of: 0,
        max_day: None,
    });
    parts.par_iter().try_for_each(|part| {
        let mut out = read_purchase_part(part, customers, products, as_of, None)?;
        let mut all = merged.lock().expect("no worker panics while holding the lock");
        if !out.unknown_products.is_empty() {
            let mut numbers = Vec::with_capacity(out.unknown_products.len());
            for id in out.unknown_products.drain(..) {
                let next = UNKNOWN_BASE + all.unknown_products.len() as u32;
                numbers.push(*all.unknown_products.entry(id).or_insert(next));
            }
            for line in out.lines.iter_mut().filter(|l| l.product >= UNKNOWN_BASE) {
                line.product = numbers[(line.product - UNKNOWN_BASE) as usize];
            }
        }
        for &line in &out.lines {
            all.lines.push(line);
        }
        for (customer, best) in out.best {
            let candidate = LastOrder { micros: best.micros, order: best.hash };
            match all.last[customer as usize] {
                Some(held) if held.micros > candidate.micros || held == candidate => {}
                Some(held) if held.micros == candidate.micros => {
                    all.tied.insert(customer);
                }
                _ => {
                    all.last[customer as usize] = Some(candidate);
                    all.tied.remove(&customer);
                }
            }
        }
        all.unknown_product_lines += out.unknown_product_lines;
        all.skips.merge(out.skips);
        all.after_as_of += out.after_as_of;
        all.max_day = all.max_day.max(out.max_day);
        progress.advance(part.rows);
        Ok::<_, LoadError>(())
    })?;
    progress.finish();
    let mut purchases = merged.into_inner().expect("no worker panicked");
    if !purchases.tied.is_empty() {
        resolve_ties(parts, customers, products, as_of, &mut purchases, progress)?;
    }
    // Keys above UNKNOWN_BASE were handed out in merge order; the caller renumbers them.
    purchases.unknown_products.shrink_to_fit();
    Ok(purchases)
}
