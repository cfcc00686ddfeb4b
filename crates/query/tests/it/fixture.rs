//! Writes tiny input tables as real Parquet files and indexes them.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use tamsa_loader::{LoadOptions, LoadReport};
use tamsa_model::{parse_day, NoProgress};
use tamsa_query::Engine;

/// A customers row; `None` is a null.
#[derive(Clone, Debug, Default)]
pub struct Customer {
    pub id: Option<String>,
    pub birth: Option<String>,
    pub gender: Option<String>,
    pub region: Option<String>,
    pub tier: Option<String>,
    pub signup: Option<String>,
    pub email: Option<bool>,
    pub sms: Option<bool>,
}

/// A customer with an id and nothing else known.
pub fn customer(id: &str) -> Customer {
    Customer { id: Some(id.to_owned()), ..Customer::default() }
}

/// A products row.
#[derive(Clone, Debug)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub brand: Option<String>,
    pub category: Option<String>,
}

pub fn product(id: &str, brand: &str, category: &str) -> Product {
    Product {
        id: id.into(),
        name: format!("name of {id}"),
        brand: Some(brand.into()),
        category: Some(category.into()),
    }
}

/// A purchases row. `at` is `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`, in UTC.
#[derive(Clone, Debug, Default)]
pub struct Purchase {
    pub order: Option<String>,
    pub customer: Option<String>,
    pub at: Option<String>,
    pub product: Option<String>,
    pub amount: Option<i64>,
    pub channel: Option<String>,
}

pub fn purchase(
    order: &str,
    customer: &str,
    at: &str,
    product: &str,
    amount: i64,
    channel: &str,
) -> Purchase {
    Purchase {
        order: Some(order.into()),
        customer: Some(customer.into()),
        at: Some(at.into()),
        product: Some(product.into()),
        amount: Some(amount),
        channel: Some(channel.into()),
    }
}

fn day(text: &Option<String>) -> Option<i32> {
    text.as_deref().map(|t| parse_day(t).unwrap_or_else(|| panic!("bad fixture date {t}")))
}

/// Microseconds since the epoch of `YYYY-MM-DD[THH:MM:SS]`.
pub fn micros(text: &str) -> i64 {
    let (date, time) = text.split_once('T').unwrap_or((text, "00:00:00"));
    let day = i64::from(parse_day(date).expect("fixture date"));
    let secs: Vec<i64> = time.split(':').map(|p| p.parse().expect("fixture time")).collect();
    (day * 86_400 + secs[0] * 3600 + secs[1] * 60 + secs[2]) * 1_000_000
}

fn strings(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

pub fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let fields: Vec<Field> =
        columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    let batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a)| a).collect())
            .expect("fixture batch");
    let file = std::fs::File::create(path).expect("fixture file");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

pub fn write_customers(dir: &Path, rows: &[Customer]) {
    write_parquet(
        &dir.join("customers.parquet"),
        vec![
            ("customer_id", strings(rows.iter().map(|r| r.id.clone()))),
            ("birth_date", Arc::new(rows.iter().map(|r| day(&r.birth)).collect::<Date32Array>())),
            ("gender", strings(rows.iter().map(|r| r.gender.clone()))),
            ("region", strings(rows.iter().map(|r| r.region.clone()))),
            ("tier", strings(rows.iter().map(|r| r.tier.clone()))),
            ("signup_date", Arc::new(rows.iter().map(|r| day(&r.signup)).collect::<Date32Array>())),
            ("email_opt_in", Arc::new(rows.iter().map(|r| r.email).collect::<BooleanArray>())),
            ("sms_opt_in", Arc::new(rows.iter().map(|r| r.sms).collect::<BooleanArray>())),
        ],
    );
}

pub fn write_products(dir: &Path, rows: &[Product]) {
    write_parquet(
        &dir.join("products.parquet"),
        vec![
            ("product_id", strings(rows.iter().map(|r| Some(r.id.clone())))),
            ("name", strings(rows.iter().map(|r| Some(r.name.clone())))),
            ("brand", strings(rows.iter().map(|r| r.brand.clone()))),
            ("category", strings(rows.iter().map(|r| r.category.clone()))),
        ],
    );
}

pub fn write_purchases(dir: &Path, rows: &[Purchase]) {
    let at: TimestampMicrosecondArray = rows.iter().map(|r| r.at.as_deref().map(micros)).collect();
    write_parquet(
        &dir.join("purchases.parquet"),
        vec![
            ("order_id", strings(rows.iter().map(|r| r.order.clone()))),
            ("customer_id", strings(rows.iter().map(|r| r.customer.clone()))),
            ("purchased_at", Arc::new(at.with_timezone("UTC"))),
            ("product_id", strings(rows.iter().map(|r| r.product.clone()))),
            ("quantity", Arc::new(rows.iter().map(|_| Some(1i64)).collect::<Int64Array>())),
            ("amount", Arc::new(rows.iter().map(|r| r.amount).collect::<Int64Array>())),
            ("channel", strings(rows.iter().map(|r| r.channel.clone()))),
        ],
    );
}

/// Writes the three tables into `dir`.
pub fn write_input(dir: &Path, customers: &[Customer], products: &[Product], purchases: &[Purchase]) {
    std::fs::create_dir_all(dir).expect("fixture dir");
    write_customers(dir, customers);
    write_products(dir, products);
    write_purchases(dir, purchases);
}

/// Loads and indexes `input` (in memory, no generation written) as of `as_of` if given.
pub fn index(input: &Path, as_of: Option<&str>) -> Result<(Engine, LoadReport), tamsa_loader::LoadError> {
    let options = LoadOptions { as_of: as_of.map(|d| parse_day(d).expect("as-of")), strict: false };
    let data = tamsa_loader::load(input, &options, &NoProgress)?;
    let report = data.report.clone();
    let index = tamsa_index::build(data, 1, &NoProgress);
    Ok((Engine::new(index), report))
}

/// The count of a query given as JSON text.
pub fn count(engine: &Engine, query: &str) -> u64 {
    let node = tamsa_query::parse_str(query, &engine.schema).unwrap_or_else(|e| panic!("{query}: {e}"));
    engine.segment(&node).len()
}

/// The customer ids matching a query, sorted.
pub fn ids(engine: &Engine, query: &str) -> Vec<String> {
    let node = tamsa_query::parse_str(query, &engine.schema).unwrap_or_else(|e| panic!("{query}: {e}"));
    let mut ids: Vec<String> =
        engine.segment(&node).iter().map(|c| engine.customer_id(c).to_owned()).collect();
    ids.sort();
    ids
}
