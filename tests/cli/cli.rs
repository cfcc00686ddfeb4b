//! The commands a newcomer and an operator run, checked against each other.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub fn tamsa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tamsa")).args(args).output().expect("tamsa runs")
}

/// Runs tamsa and returns its standard output, failing with its standard error.
pub fn ok(args: &[&str]) -> String {
    let out = tamsa(args);
    assert!(out.status.success(), "tamsa {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs tamsa expecting failure and returns its standard error.
pub fn fails(args: &[&str]) -> String {
    let out = tamsa(args);
    assert!(!out.status.success(), "tamsa {args:?} succeeded:\n{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).expect("UTF-8 output")
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A generated input of 3,000 customers, shared by the tests of this binary.
pub fn sample_input() -> &'static Path {
    static INPUT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = INPUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sample");
        ok(&["generate", "--out", s(&path), "--customers", "3000", "--seed", "7"]);
        (dir, path)
    });
    path
}

/// A temporary directory with the sample input indexed into `index` (generation 1) and a
/// query file `everyone` that matches every customer.
pub struct Indexed {
    pub dir: tempfile::TempDir,
    pub index: PathBuf,
    pub everyone: PathBuf,
}

pub fn indexed() -> Indexed {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    ok(&["reindex", "--input", s(sample_input()), "--index", s(&index)]);
    let everyone = write(dir.path(), "everyone.json", r#"{"all": []}"#);
    Indexed { dir, index, everyone }
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn generate_reindex_query_export_fields_agree() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let out = tamsa(&["reindex", "--input", s(sample_input()), "--index", s(&index)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("read         3000 rows of customers"), "{report}");
    assert!(report.contains("generation 1 is current: 3000 customers"), "{report}");
    assert!(report.contains("peak memory") && report.contains("index size"), "{report}");

    let query = write(
        dir.path(),
        "q.json",
        r#"{"all": [{"field": "gender", "op": "eq", "value": "F"},
                    {"field": "orders_365d", "op": "gte", "value": 1},
                    {"not": {"field": "channel_365d", "op": "eq", "value": "offline"}}]}"#,
    );
    let profile: Value =
        serde_json::from_str(&ok(&["query", "--index", s(&index), "--query", s(&query)])).unwrap();
    let count = profile["count"].as_u64().unwrap();
    assert!(count > 100 && count < 3000, "{profile}");
    assert_eq!(profile["population"], 3000);
    assert_eq!(profile["index"]["generation"], 1);
    assert_eq!(profile["index"]["as_of"], "2026-10-31");
    let facets = &profile["facets"];
    let sum = |v: &Value| v.as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum::<u64>();
    for facet in ["age", "gender", "channel_365d", "region", "tier"] {
        assert_eq!(sum(&facets[facet]), count, "{facet} sums to the count");
    }
    assert_eq!(facets["gender"]["F"].as_u64(), Some(count));
    assert_eq!(facets["channel_365d"]["offline"], 0);
    assert_eq!(facets["channel_365d"]["none"], 0);
    let top = facets["last_product"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert!(top.windows(2).all(|w| w[0]["count"].as_u64() >= w[1]["count"].as_u64()));
    assert!(top[0]["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(facets["spend_365d_sum"].as_i64().unwrap() > 0);

    // Exports of every format hold the same members.
    let csv = ok(&[
        "export",
        "--index",
        s(&index),
        "--query",
        s(&query),
        "--format",
        "csv",
        "--columns",
        "age,gender,spend_365d,email_opt_in",
    ]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("customer_id,age,gender,spend_365d,email_opt_in"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len() as u64, count);
    assert!(rows.iter().all(|r| r.split(',').nth(2) == Some("F")), "{rows:?}");
    let ndjson = ok(&[
        "export",
        "--index",
        s(&index),
        "--query",
        s(&query),
        "--format",
        "ndjson",
        "--columns",
        "spend_365d",
    ]);
    let objects: Vec<Value> = ndjson.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len() as u64, count);
    assert_eq!(objects[0]["customer_id"].as_str(), rows[0].split(',').next());
    let parquet = dir.path().join("segment.parquet");
    ok(&[
        "export",
        "--index",
        s(&index),
        "--query",
        s(&query),
        "--format",
        "parquet",
        "--columns",
        "age,tier",
        "--out",
        s(&parquet),
    ]);
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&parquet).unwrap()).unwrap();
    use parquet::file::reader::FileReader;
    assert_eq!(reader.metadata().file_metadata().num_rows() as u64, count);
    assert!(!dir.path().join(".segment.parquet.partial").exists());

    let fields: Value = serde_json::from_str(&ok(&["fields", "--index", s(&index)])).unwrap();
    let fields = fields.as_array().unwrap();
    let gender = fields.iter().find(|f| f["name"] == "gender").unwrap();
    assert_eq!(gender["kind"], "category");
    assert_eq!(
        gender["values"].as_array().unwrap().iter().map(|v| v["count"].as_u64().unwrap()).sum::<u64>(),
        3000
    );
    let age = fields.iter().find(|f| f["name"] == "age").unwrap();
    assert!(age["min"].as_i64().unwrap() < age["max"].as_i64().unwrap());
    assert!(fields.iter().any(|f| f["name"] == "brand_90d" && f["values"].as_array().unwrap().len() >= 30));
}

#[test]
fn bad_queries_and_columns_are_clear_errors() {
    let Indexed { dir, index, everyone } = indexed();
    let query =
        write(dir.path(), "bad.json", r#"{"all": [{"field": "brnd_90d", "op": "in", "value": ["x"]}]}"#);
    let err = fails(&["query", "--index", s(&index), "--query", s(&query)]);
    assert!(err.contains("$.all[0].field: unknown field `brnd_90d` (did you mean `brand_90d`"), "{err}");
    let query = everyone;
    let err = fails(&[
        "export",
        "--index",
        s(&index),
        "--query",
        s(&query),
        "--format",
        "csv",
        "--columns",
        "brand_90d",
    ]);
    assert!(err.contains("`brand_90d` is a set field"), "{err}");
    let err = fails(&["query", "--index", s(&dir.path().join("nowhere")), "--query", s(&query)]);
    assert!(err.contains("no index here yet"), "{err}");
}

#[test]
fn export_into_a_closed_pipe_is_not_an_error() {
    let Indexed { dir: _dir, index, everyone: query } = indexed();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tamsa"))
        .args(["export", "--index", s(&index), "--query", s(&query), "--format", "csv"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn reindex_as_of_a_past_day_reproduces_that_day() {
    let dir = tempfile::tempdir().unwrap();
    let (latest, past) = (dir.path().join("latest"), dir.path().join("past"));
    ok(&["reindex", "--input", s(sample_input()), "--index", s(&latest)]);
    let out = tamsa(&["reindex", "--input", s(sample_input()), "--index", s(&past), "--as-of", "2026-06-30"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("purchase lines dated after the as-of day"), "{report}");
    let query =
        write(dir.path(), "q.json", r#"{"field": "days_since_last_purchase", "op": "lte", "value": 0}"#);
    let profile = |index: &Path| -> Value {
        serde_json::from_str(&ok(&["query", "--index", s(index), "--query", s(&query)])).unwrap()
    };
    let (now, then) = (profile(&latest), profile(&past));
    assert_eq!(then["index"]["as_of"], "2026-06-30");
    // Someone bought on each as-of day, and the spend of the last 365 days differs.
    assert!(now["count"].as_u64() > Some(0) && then["count"].as_u64() > Some(0));
    let everyone = write(dir.path(), "all.json", r#"{"all": []}"#);
    let spend = |index: &Path| -> i64 {
        let p: Value =
            serde_json::from_str(&ok(&["query", "--index", s(index), "--query", s(&everyone)])).unwrap();
        p["facets"]["spend_365d_sum"].as_i64().unwrap()
    };
    assert_ne!(spend(&latest), spend(&past));
    let err = fails(&["reindex", "--input", s(sample_input()), "--index", s(&past), "--as-of", "30/06/2026"]);
    assert!(err.contains("`30/06/2026` is not a date of the form YYYY-MM-DD"), "{err}");
}
