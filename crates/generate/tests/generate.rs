//! Checks the generated tables against the input contract: schemas, determinism,
//! referential integrity and rough realism of the distributions.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tamsa_generate::{generate, schema, GenerateOptions, GenerateSummary, NoProgress, Progress};

const DAY_MICROS: i64 = 86_400_000_000;

fn read_file(path: &Path) -> (SchemaRef, Vec<RecordBatch>) {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet footer");
    let schema = builder.schema().clone();
    let batches = builder.build().expect("reader").collect::<Result<Vec<_>, _>>().expect("batches");
    (schema, batches)
}

/// Reads a table stored as one file or as a folder of parts, in part order.
fn read_table(path: &Path) -> (SchemaRef, Vec<RecordBatch>) {
    if path.is_file() {
        return read_file(path);
    }
    let mut parts: Vec<PathBuf> =
        std::fs::read_dir(path).expect("table folder").map(|e| e.expect("entry").path()).collect();
    parts.sort();
    assert!(!parts.is_empty(), "{} has no parts", path.display());
    let mut schema = None;
    let mut batches = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        assert_eq!(part.file_name().unwrap().to_str().unwrap(), format!("part-{i:05}.parquet"));
        let (s, b) = read_file(part);
        schema.get_or_insert(s);
        batches.extend(b);
    }
    (schema.expect("a schema"), batches)
}

struct Tables {
    customers: (SchemaRef, Vec<RecordBatch>),
    products: (SchemaRef, Vec<RecordBatch>),
    purchases: (SchemaRef, Vec<RecordBatch>),
}

fn read_all(out: &Path) -> Tables {
    Tables {
        customers: read_table(&out.join("customers")),
        products: read_table(&out.join("products.parquet")),
        purchases: read_table(&out.join("purchases")),
    }
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let array = b.column_by_name(column).expect(column).as_string::<i32>().clone();
            (0..array.len()).map(move |i| array.is_valid(i).then(|| array.value(i).to_string()))
        })
        .collect()
}

fn required(batches: &[RecordBatch], column: &str) -> Vec<String> {
    strings(batches, column).into_iter().map(|v| v.expect("no nulls")).collect()
}

fn ints64(batches: &[RecordBatch], column: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| b.column_by_name(column).unwrap().as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

fn run(customers: u64, seed: u64) -> (tempfile::TempDir, GenerateSummary) {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = GenerateOptions { customers, seed, ..GenerateOptions::default() };
    let summary = generate(dir.path(), &opts, &NoProgress).expect("generate");
    (dir, summary)
}

/// The 20,000-customer data set most checks look at, generated once.
fn sample() -> &'static (tempfile::TempDir, GenerateSummary, Tables) {
    static SAMPLE: OnceLock<(tempfile::TempDir, GenerateSummary, Tables)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let (dir, summary) = run(20_000, 2026);
        let tables = read_all(dir.path());
        (dir, summary, tables)
    })
}

#[test]
fn same_seed_same_rows_other_seed_other_rows() {
    let (a, sa) = run(3_000, 7);
    let (b, sb) = run(3_000, 7);
    let (c, _) = run(3_000, 8);
    assert_eq!(sa.purchase_lines, sb.purchase_lines);
    assert_eq!(sa.orders, sb.orders);
    let (ta, tb, tc) = (read_all(a.path()), read_all(b.path()), read_all(c.path()));
    assert_eq!(ta.customers.1, tb.customers.1);
    assert_eq!(ta.products.1, tb.products.1);
    assert_eq!(ta.purchases.1, tb.purchases.1);
    assert_ne!(ta.customers.1, tc.customers.1);
    assert_ne!(ta.products.1, tc.products.1);
    assert_ne!(ta.purchases.1, tc.purchases.1);
}

#[test]
fn products_do_not_depend_on_customer_count() {
    let (a, _) = run(10, 99);
    let (b, _) = run(2_000, 99);
    assert_eq!(
        read_table(&a.path().join("products.parquet")).1,
        read_table(&b.path().join("products.parquet")).1
    );
}

#[test]
fn schemas_match_the_contract() {
    let (_, _, t) = sample();
    for ((found, _), expected) in [
        (&t.customers, schema::customers()),
        (&t.products, schema::products()),
        (&t.purchases, schema::purchases()),
    ] {
        let found: Vec<_> = found
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
            .collect();
        let expected: Vec<_> = expected
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
            .collect();
        assert_eq!(found, expected);
    }
    let names: Vec<_> = schema::purchases().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        ["order_id", "customer_id", "purchased_at", "product_id", "quantity", "amount", "channel"]
    );
    let names: Vec<_> = schema::customers().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        [
            "customer_id",
            "birth_date",
            "gender",
            "region",
            "tier",
            "signup_date",
            "email_opt_in",
            "sms_opt_in"
        ]
    );
}

#[test]
fn summary_matches_the_files() {
    let (dir, summary, t) = sample();
    let rows = |b: &[RecordBatch]| b.iter().map(|b| b.num_rows() as u64).sum::<u64>();
    assert_eq!(summary.customers, 20_000);
    assert_eq!(rows(&t.customers.1), 20_000);
    assert_eq!(rows(&t.products.1), summary.products);
    assert_eq!(rows(&t.purchases.1), summary.purchase_lines);
    let orders: HashSet<_> = required(&t.purchases.1, "order_id").into_iter().collect();
    assert_eq!(orders.len() as u64, summary.orders);
    let mut size = 0;
    for entry in walk(dir.path()) {
        size += std::fs::metadata(entry).unwrap().len();
    }
    assert_eq!(size, summary.bytes_written);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    std::fs::read_dir(path).unwrap().flat_map(|e| walk(&e.unwrap().path())).collect()
}

#[test]
fn purchases_refer_to_existing_customers_and_products() {
    let (_, _, t) = sample();
    let customers = required(&t.customers.1, "customer_id");
    let customer_set: HashSet<&String> = customers.iter().collect();
    assert_eq!(customer_set.len(), customers.len(), "customer ids are unique");
    assert!(customers.iter().all(|c| c.len() == 9 && c.starts_with('C')));
    assert_eq!(customers[0], "C00000001");
    let products = required(&t.products.1, "product_id");
    let product_set: HashSet<&String> = products.iter().collect();
    assert_eq!(product_set.len(), products.len(), "product ids are unique");
    for column in ["name", "brand", "category"] {
        assert!(required(&t.products.1, column).iter().all(|v| !v.is_empty()));
    }
    for c in required(&t.purchases.1, "customer_id") {
        assert!(customer_set.contains(&c), "unknown customer {c}");
    }
    for p in required(&t.purchases.1, "product_id") {
        assert!(product_set.contains(&p), "unknown product {p}");
    }
}

#[test]
fn orders_are_consistent_and_inside_the_history() {
    let (_, _, t) = sample();
    let b = &t.purchases.1;
    let order_ids = required(b, "order_id");
    let customers = required(b, "customer_id");
    let channels = required(b, "channel");
    let products = required(b, "product_id");
    let at: Vec<i64> = b
        .iter()
        .flat_map(|b| b.column(2).as_primitive::<TimestampMicrosecondType>().values().to_vec())
        .collect();
    let quantity: Vec<i32> =
        b.iter().flat_map(|b| b.column(4).as_primitive::<Int32Type>().values().to_vec()).collect();
    let amount = ints64(b, "amount");
    let end = GenerateOptions::default().end_day;
    let start = end - 3 * 365;

    let mut orders: HashMap<&str, (&str, i64, &str, usize)> = HashMap::new();
    let mut previous: Option<&str> = None;
    for i in 0..order_ids.len() {
        let id = order_ids[i].as_str();
        let entry = orders.entry(id).or_insert((&customers[i], at[i], &channels[i], 0));
        assert_eq!(
            (entry.0, entry.1, entry.2),
            (customers[i].as_str(), at[i], channels[i].as_str()),
            "order {id}"
        );
        entry.3 += 1;
        // An order's lines are contiguous.
        if previous != Some(id) {
            assert_eq!(entry.3, 1, "order {id} is split");
        }
        previous = Some(id);
        let day = at[i].div_euclid(DAY_MICROS) as i32;
        assert!(day <= end, "purchase after the end of history");
        assert!(day >= start, "purchase before the start of history");
        assert!((1..=5).contains(&quantity[i]));
        assert_ne!(amount[i], 0);
        assert!(amount[i].unsigned_abs() >= 5_000 * quantity[i] as u64);
        assert!(amount[i].unsigned_abs() <= 300_000 * quantity[i] as u64);
        assert!(["online", "offline", "ONLINE", "Offline"].contains(&channels[i].as_str()));
    }
    assert!(orders.values().all(|o| (1..=4).contains(&o.3)), "orders have 1 to 4 lines");
    let unique_products_per_order =
        order_ids.windows(2).zip(products.windows(2)).all(|(o, p)| o[0] != o[1] || p[0] != p[1]);
    assert!(unique_products_per_order);

    // Each refund returns a product the customer bought before, at the same unit price.
    let mut bought: HashMap<(&str, &str), (i64, i64)> = HashMap::new();
    for i in 0..order_ids.len() {
        let key = (customers[i].as_str(), products[i].as_str());
        let unit = amount[i].abs() / i64::from(quantity[i]);
        if amount[i] > 0 {
            let e = bought.entry(key).or_insert((at[i], unit));
            assert_eq!(e.1, unit, "price of a product is fixed");
        } else {
            let (first, price) = bought.get(&key).copied().expect("refund of a product bought before");
            assert!(first < at[i]);
            assert_eq!(price, unit);
        }
    }
}

#[test]
fn customers_are_plausible() {
    let (_, _, t) = sample();
    let b = &t.customers.1;
    let end = GenerateOptions::default().end_day;
    let births: Vec<Option<i32>> =
        b.iter().flat_map(|b| b.column(1).as_primitive::<Date32Type>().iter().collect::<Vec<_>>()).collect();
    let signups: Vec<Option<i32>> =
        b.iter().flat_map(|b| b.column(5).as_primitive::<Date32Type>().iter().collect::<Vec<_>>()).collect();
    let ages: Vec<f64> = births.iter().flatten().map(|&d| f64::from(end - d) / 365.25).collect();
    assert!(ages.len() > 19_000);
    let adults = ages.iter().filter(|&&a| (18.0..=70.0).contains(&a)).count() as f64 / ages.len() as f64;
    assert!(adults > 0.9, "share aged 18-70: {adults}");
    let thirties = ages.iter().filter(|&&a| (30.0..40.0).contains(&a)).count() as f64 / ages.len() as f64;
    let fifties = ages.iter().filter(|&&a| (50.0..60.0).contains(&a)).count() as f64 / ages.len() as f64;
    assert!(thirties > 0.3 && thirties > 2.0 * fifties, "thirties {thirties}, fifties {fifties}");
    assert!(signups.iter().flatten().all(|&d| d <= end));

    let regions = strings(b, "region");
    let seoul_gyeonggi = regions.iter().filter(|r| matches!(r.as_deref(), Some("서울" | "경기"))).count();
    assert!(seoul_gyeonggi as f64 / regions.len() as f64 > 0.35);
    let missing = regions.iter().filter(|r| r.as_deref().is_none_or(str::is_empty)).count();
    assert!((50..800).contains(&missing), "{missing} regions missing");
    let tiers = strings(b, "tier");
    let count = |t: &str| tiers.iter().filter(|v| v.as_deref() == Some(t)).count();
    assert!(count("WELCOME") > count("VIP") && count("SILVER") > count("VVIP") && count("VVIP") > 0);

    // Signing up comes no later than the first purchase.
    let ids = required(b, "customer_id");
    let signup_of: HashMap<&str, Option<i32>> =
        ids.iter().map(String::as_str).zip(signups.iter().copied()).collect();
    let purchases = &t.purchases.1;
    let buyers = required(purchases, "customer_id");
    let at: Vec<i64> = purchases
        .iter()
        .flat_map(|b| b.column(2).as_primitive::<TimestampMicrosecondType>().values().to_vec())
        .collect();
    for (c, &at) in buyers.iter().zip(&at) {
        if let Some(signup) = signup_of[c.as_str()] {
            assert!(signup <= at.div_euclid(DAY_MICROS) as i32, "{c} bought before signing up");
        }
    }
}

#[test]
fn distributions_are_roughly_realistic() {
    let (_, summary, t) = sample();
    let genders = strings(&t.customers.1, "gender");
    let f = genders.iter().filter(|g| g.as_deref() == Some("F")).count() as f64;
    let m = genders.iter().filter(|g| g.as_deref() == Some("M")).count() as f64;
    assert!((0.6..=0.8).contains(&(f / (f + m))), "F share {}", f / (f + m));
    let nulls = genders.iter().filter(|g| g.is_none()).count();
    assert!((100..1000).contains(&nulls), "{nulls} null genders");
    assert!(genders.iter().any(|g| matches!(g.as_deref(), Some("f" | "m"))));

    let per_customer = summary.purchase_lines as f64 / summary.customers as f64;
    assert!((5.0..=20.0).contains(&per_customer), "{per_customer} lines per customer");

    let amount = ints64(&t.purchases.1, "amount");
    let refunds = amount.iter().filter(|&&a| a < 0).count() as f64 / amount.len() as f64;
    assert!((0.005..0.03).contains(&refunds), "refund share {refunds}");

    let channels = required(&t.purchases.1, "channel");
    let online = channels.iter().filter(|c| c.eq_ignore_ascii_case("online")).count() as f64;
    let share = online / channels.len() as f64;
    assert!((0.4..0.85).contains(&share), "online share {share}");

    let products = required(&t.purchases.1, "product_id");
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for p in &products {
        *counts.entry(p).or_default() += 1;
    }
    let mut sorted: Vec<usize> = counts.into_values().collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let top =
        sorted.iter().take(summary.products as usize / 100).sum::<usize>() as f64 / products.len() as f64;
    assert!(top > 0.1, "top 1% of products take {top}");

    // Most customers buy rarely, a few very often.
    let mut per: HashMap<String, usize> = HashMap::new();
    for (o, c) in
        required(&t.purchases.1, "order_id").into_iter().zip(required(&t.purchases.1, "customer_id"))
    {
        let _ = o;
        *per.entry(c).or_default() += 1;
    }
    let rare = summary.customers as usize - per.values().filter(|&&n| n > 3).count();
    assert!(rare as f64 / summary.customers as f64 > 0.3, "{rare} customers with few lines");
    assert!(per.values().any(|&n| n > 200), "no heavy buyers");
}

#[test]
fn rerun_replaces_tables_and_reports_progress() {
    struct Recorder {
        events: Mutex<Vec<(String, u64)>>,
        advanced: AtomicU64,
    }
    impl Progress for Recorder {
        fn start(&self, stage: &str, total: u64) {
            self.events.lock().unwrap().push((stage.to_string(), total));
        }
        fn advance(&self, n: u64) {
            self.advanced.fetch_add(n, Ordering::Relaxed);
        }
        fn finish(&self) {
            self.events.lock().unwrap().push(("finish".to_string(), 0));
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested").join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "kept").unwrap();
    // Tables in the other layout are replaced too, so a loader never sees two of them.
    std::fs::write(out.join("customers.parquet"), "old").unwrap();
    std::fs::create_dir(out.join("products")).unwrap();
    std::fs::write(out.join("products").join("part-00000.parquet"), "old").unwrap();
    let recorder = Recorder { events: Mutex::new(Vec::new()), advanced: AtomicU64::new(0) };
    let first = GenerateOptions { customers: 500, seed: 1, ..GenerateOptions::default() };
    generate(&out, &first, &recorder).unwrap();
    assert_eq!(
        *recorder.events.lock().unwrap(),
        [
            ("customers".to_string(), 500),
            ("finish".to_string(), 0),
            ("purchases".to_string(), 500),
            ("finish".to_string(), 0)
        ]
    );
    assert_eq!(recorder.advanced.load(Ordering::Relaxed), 1_000);

    let second = GenerateOptions { customers: 300, seed: 2, ..GenerateOptions::default() };
    let summary = generate(&out, &second, &NoProgress).unwrap();
    let t = read_all(&out);
    assert_eq!(t.customers.1.iter().map(RecordBatch::num_rows).sum::<usize>(), 300);
    assert_eq!(t.purchases.1.iter().map(RecordBatch::num_rows).sum::<usize>() as u64, summary.purchase_lines);
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "kept");
    let mut names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["customers", "notes.txt", "products.parquet", "purchases"]);
}

#[test]
fn zero_customers_gives_empty_tables() {
    let (dir, summary) = run(0, 3);
    assert_eq!((summary.customers, summary.purchase_lines, summary.orders), (0, 0, 0));
    let t = read_all(dir.path());
    assert_eq!(t.customers.1.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    assert_eq!(t.purchases.1.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    assert!(!t.products.1.is_empty());
}

#[test]
fn history_ends_on_the_requested_day() {
    let end = tamsa_model::parse_day("2024-03-15").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions { customers: 1_000, seed: 5, end_day: end };
    generate(dir.path(), &opts, &NoProgress).unwrap();
    let t = read_all(dir.path());
    let at: Vec<i64> = t
        .purchases
        .1
        .iter()
        .flat_map(|b| b.column(2).as_primitive::<TimestampMicrosecondType>().values().to_vec())
        .collect();
    let last = at.iter().map(|a| a.div_euclid(DAY_MICROS) as i32).max().unwrap();
    assert!(last <= end && last > end - 30, "last purchase {}", tamsa_model::format_day(last));
}
