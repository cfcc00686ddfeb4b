//! Synthetic data for Tamsa: customers, products and purchases of an invented Korean
//! cosmetics retailer, written as the Parquet tables Tamsa loads.
//!
//! [`generate`] writes three tables into a folder:
//!
//! - `customers/part-NNNNN.parquet`: one row per customer ([`schema::customers`]);
//! - `products.parquet`: the product catalog ([`schema::products`]);
//! - `purchases/part-NNNNN.parquet`: one row per order line ([`schema::purchases`]).
//!
//! Customers are split into parts of a fixed size; part `p` of the purchases holds the
//! purchases of the customers in part `p` of the customers. Each part draws from its own
//! random stream derived from the seed, so the same seed and customer count give the same
//! rows in the same order however many threads write the parts.

mod calendar;
mod catalog;
mod customers;
mod products;
mod purchases;
mod rng;
pub mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use tamsa_model::Day;

use crate::calendar::Calendar;
use crate::catalog::Catalog;

/// Last day of history used by [`GenerateOptions::default`].
pub const DEFAULT_END_DATE: &str = "2026-10-31";

/// Number of customers in each part of the customers and purchases tables.
pub const CUSTOMERS_PER_PART: u64 = 100_000;

/// Folder of the customers table inside the output folder.
pub const CUSTOMERS_DIR: &str = "customers";
/// File of the products table inside the output folder.
pub const PRODUCTS_FILE: &str = "products.parquet";
/// Folder of the purchases table inside the output folder.
pub const PURCHASES_DIR: &str = "purchases";

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of customers.
    pub customers: u64,
    /// Seed of every random choice; the same seed and customer count give the same data.
    pub seed: u64,
    /// Last day of the purchase history, which covers the three years up to it.
    pub end_day: Day,
}

impl Default for GenerateOptions {
    /// 100,000 customers, seed 42, history ending on [`DEFAULT_END_DATE`].
    fn default() -> Self {
        Self { customers: 100_000, seed: 42, end_day: default_end_day() }
    }
}

/// The day [`DEFAULT_END_DATE`] names.
pub fn default_end_day() -> Day {
    tamsa_model::parse_day(DEFAULT_END_DATE).expect("the default end date is a valid date")
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerateSummary {
    /// Rows of the customers table.
    pub customers: u64,
    /// Rows of the products table.
    pub products: u64,
    /// Rows of the purchases table (order lines, refunds included).
    pub purchase_lines: u64,
    /// Distinct orders in the purchases table (a refund is an order of its own).
    pub orders: u64,
    /// Total size of the Parquet files written.
    pub bytes_written: u64,
}

/// Progress reports while [`generate`] runs: stages `"customers"`, then `"purchases"`,
/// each counted in customers.
pub use tamsa_model::{NoProgress, Progress};

/// Why [`generate`] failed.
#[derive(thiserror::Error, Debug)]
pub enum GenerateError {
    /// A file or folder could not be created, written, renamed or removed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("create", "rename", ...).
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A Parquet file could not be written.
    #[error("cannot write Parquet file {}: {source}", path.display())]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// The rows of a table could not be assembled.
    #[error("cannot build the rows of {}: {source}", path.display())]
    Arrow {
        /// The file the rows were meant for.
        path: PathBuf,
        /// The underlying error.
        source: arrow_schema::ArrowError,
    },
}

impl GenerateError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io { action, path: path.to_path_buf(), source }
    }

    fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        Self::Parquet { path: path.to_path_buf(), source }
    }

    fn arrow(path: &Path, source: arrow_schema::ArrowError) -> Self {
        Self::Arrow { path: path.to_path_buf(), source }
    }
}

/// Writes the customers, products and purchases tables into `out`, creating it if needed.
///
/// The tables are first written into a hidden folder `out/.tmp-generate-*` and then moved
/// into place, replacing the tables already there (including a table stored in the other
/// layout, such as `customers.parquet` for `customers/`). An interrupted run never leaves a
/// partly written table under a final name, only the hidden folder. Other files in `out`
/// are left alone.
/// Parts are written in parallel on the current rayon thread pool.
pub fn generate(
    out: &Path,
    opts: &GenerateOptions,
    progress: &dyn Progress,
) -> Result<GenerateSummary, GenerateError> {
    generate_in_parts(out, opts, progress, CUSTOMERS_PER_PART)
}

/// The staging folder of one run, removed with whatever it still holds when the run ends,
/// whether it completed (only replaced tables remain) or failed (partial tables remain).
struct Staging {
    path: PathBuf,
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn part_file(dir: &Path, part: u64) -> PathBuf {
    dir.join(format!("part-{part:05}.parquet"))
}

fn create_dir(path: &Path) -> Result<(), GenerateError> {
    std::fs::create_dir_all(path).map_err(|source| GenerateError::io("create folder", path, source))
}

/// Runs one stage over all parts in parallel, reporting each finished part.
fn run_stage<T: Send>(
    stage: &str,
    opts: &GenerateOptions,
    part_size: u64,
    progress: &dyn Progress,
    work: impl Fn(u64, usize) -> Result<T, GenerateError> + Sync,
) -> Result<Vec<T>, GenerateError> {
    let parts = opts.customers.div_ceil(part_size).max(1);
    progress.start(stage, opts.customers);
    let result = (0..parts)
        .into_par_iter()
        .map(|part| {
            let count = opts.customers.saturating_sub(part * part_size).min(part_size);
            let value = work(part, count as usize)?;
            progress.advance(count);
            Ok(value)
        })
        .collect();
    progress.finish();
    result
}

fn generate_in_parts(
    out: &Path,
    opts: &GenerateOptions,
    progress: &dyn Progress,
    part_size: u64,
) -> Result<GenerateSummary, GenerateError> {
    create_dir(out)?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let staging = Staging { path: out.join(format!(".tmp-generate-{}-{stamp}", std::process::id())) };
    let customers_dir = staging.path.join(CUSTOMERS_DIR);
    let purchases_dir = staging.path.join(PURCHASES_DIR);
    create_dir(&customers_dir)?;
    create_dir(&purchases_dir)?;

    let calendar = Calendar::new(opts.end_day);
    let catalog = Catalog::new(opts.seed);
    let product_ids = products::product_ids(&catalog);
    let bytes = AtomicU64::new(0);

    let products_path = staging.path.join(PRODUCTS_FILE);
    let batch = products::products_batch(&catalog).map_err(|e| GenerateError::arrow(&products_path, e))?;
    bytes.fetch_add(write::write_parquet(&products_path, &batch)?, Ordering::Relaxed);

    run_stage("customers", opts, part_size, progress, |part, count| {
        let path = part_file(&customers_dir, part);
        let profiles = customers::profiles(opts.seed, part, count, &calendar, &catalog);
        let batch = customers::customers_batch(part, part_size, &profiles)
            .map_err(|e| GenerateError::arrow(&path, e))?;
        drop(profiles);
        bytes.fetch_add(write::write_parquet(&path, &batch)?, Ordering::Relaxed);
        Ok(())
    })?;

    let counts = run_stage("purchases", opts, part_size, progress, |part, count| {
        let path = part_file(&purchases_dir, part);
        let profiles = customers::profiles(opts.seed, part, count, &calendar, &catalog);
        let lines = purchases::purchases_part(
            opts.seed,
            part,
            part_size,
            &profiles,
            &catalog,
            &product_ids,
            &calendar,
        )
        .map_err(|e| GenerateError::arrow(&path, e))?;
        drop(profiles);
        bytes.fetch_add(write::write_parquet(&path, &lines.batch)?, Ordering::Relaxed);
        Ok((lines.batch.num_rows() as u64, lines.orders))
    })?;

    // Move each finished table into place. The tables it replaces, in either layout (one
    // file or a folder of parts), go to the staging folder, which is removed last.
    for (name, other_layout) in [
        (CUSTOMERS_DIR, "customers.parquet"),
        (PRODUCTS_FILE, "products"),
        (PURCHASES_DIR, "purchases.parquet"),
    ] {
        for old in [other_layout, name] {
            let target = out.join(old);
            if std::fs::symlink_metadata(&target).is_ok() {
                let aside = staging.path.join(format!("old-{old}"));
                std::fs::rename(&target, &aside)
                    .map_err(|source| GenerateError::io("move aside", &target, source))?;
            }
        }
        let target = out.join(name);
        let fresh = staging.path.join(name);
        std::fs::rename(&fresh, &target)
            .map_err(|source| GenerateError::io("move into place", &fresh, source))?;
    }
    drop(staging);

    Ok(GenerateSummary {
        customers: opts.customers,
        products: catalog.products.len() as u64,
        purchase_lines: counts.iter().map(|c| c.0).sum(),
        orders: counts.iter().map(|c| c.1).sum(),
        bytes_written: bytes.into_inner(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::RecordBatch;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::collections::HashSet;

    fn read_parts(dir: &Path) -> (Vec<String>, Vec<RecordBatch>) {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let batches = names
            .iter()
            .flat_map(|name| {
                let file = std::fs::File::open(dir.join(name)).unwrap();
                ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().map(Result::unwrap)
            })
            .collect();
        (names, batches)
    }

    fn column(batches: &[RecordBatch], index: usize) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(index).as_string::<i32>().iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>()
            })
            .collect()
    }

    fn run_on(threads: usize, out: &Path, customers: u64) -> GenerateSummary {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let opts = GenerateOptions { customers, seed: 9, ..GenerateOptions::default() };
        pool.install(|| generate_in_parts(out, &opts, &NoProgress, 1_000)).unwrap()
    }

    #[test]
    fn parts_are_independent_of_thread_count() {
        let dir = tempfile::tempdir().unwrap();
        let (one, three) = (dir.path().join("one"), dir.path().join("three"));
        let a = run_on(1, &one, 4_500);
        let b = run_on(3, &three, 4_500);
        assert_eq!(a, GenerateSummary { bytes_written: a.bytes_written, ..b.clone() });

        let (names, customers_a) = read_parts(&one.join(CUSTOMERS_DIR));
        assert_eq!(names, (0..5).map(|i| format!("part-{i:05}.parquet")).collect::<Vec<_>>());
        assert_eq!(
            customers_a.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
            [1_000, 1_000, 1_000, 1_000, 500]
        );
        let (_, customers_b) = read_parts(&three.join(CUSTOMERS_DIR));
        assert_eq!(customers_a, customers_b);
        let (names, purchases_a) = read_parts(&one.join(PURCHASES_DIR));
        assert_eq!(names.len(), 5);
        let (_, purchases_b) = read_parts(&three.join(PURCHASES_DIR));
        assert_eq!(purchases_a, purchases_b);

        // Ids stay unique across parts, and each part holds its own customers' purchases.
        let ids = column(&customers_a, 0);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 4_500);
        assert_eq!(ids.last().map(String::as_str), Some("C00004500"));
        let orders = column(&purchases_a, 0);
        let distinct: HashSet<_> = orders.iter().collect();
        assert_eq!(distinct.len() as u64, a.orders);
        for part in 0..5 {
            let file = std::fs::File::open(part_file(&one.join(PURCHASES_DIR), part)).unwrap();
            let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let low = format!("C{:08}", part * 1_000 + 1);
            let high = format!("C{:08}", (part + 1) * 1_000);
            assert!(column(&batches, 1).iter().all(|c| *c >= low && *c <= high));
        }

        // A smaller rerun replaces the tables whole: no part of the first run remains.
        run_on(2, &one, 1_500);
        assert_eq!(read_parts(&one.join(CUSTOMERS_DIR)).0.len(), 2);
        assert_eq!(read_parts(&one.join(PURCHASES_DIR)).0.len(), 2);
        let leftovers = std::fs::read_dir(&one)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".tmp-generate"))
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "not a folder").unwrap();
        let err = generate(
            &blocker.join("out"),
            &GenerateOptions { customers: 10, ..Default::default() },
            &NoProgress,
        )
        .unwrap_err();
        assert!(matches!(err, GenerateError::Io { .. }));
        assert!(err.to_string().contains("file"), "{err}");
    }
}
