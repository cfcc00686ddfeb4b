//! Generations: a failed, interrupted or damaged reindex never takes the current index
//! away, old generations are kept for rollback, and their number is bounded.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::cli::{fails, indexed, ok, s, sample_input, Indexed};

fn generation_served(index: &Path, query: &Path) -> u64 {
    let profile: Value =
        serde_json::from_str(&ok(&["query", "--index", s(index), "--query", s(query)])).unwrap();
    assert_eq!(profile["population"], 3000);
    profile["index"]["generation"].as_u64().unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn generations_are_kept_rolled_back_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let query = dir.path().join("q.json");
    std::fs::write(&query, r#"{"all": []}"#).unwrap();
    for _ in 0..3 {
        ok(&["reindex", "--input", s(sample_input()), "--index", s(&index), "--keep", "2"]);
    }
    assert_eq!(generation_served(&index, &query), 3);
    let gens: Vec<String> = entries(&index).into_iter().filter(|n| n.starts_with("gen-")).collect();
    assert_eq!(gens, ["gen-000002", "gen-000003"]);
    ok(&["rollback", "--index", s(&index), "--to", "2"]);
    assert_eq!(generation_served(&index, &query), 2);
    let listing = ok(&["generations", "--index", s(&index)]);
    assert!(listing.contains("*      2") && listing.contains("       3"), "{listing}");
    assert!(
        listing.contains("as of 2026-10-31, 3000 customers, built 20") && listing.contains(" UTC"),
        "{listing}"
    );
    let err = fails(&["rollback", "--index", s(&index), "--to", "1"]);
    assert!(err.contains("no generation 1"), "{err}");
}

#[test]
fn a_failed_reindex_leaves_the_previous_generation_current() {
    let Indexed { dir, index, everyone: query } = indexed();
    let before = entries(&index);

    // An input whose purchases table is not Parquet at all.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(broken.join("purchases")).unwrap();
    std::fs::copy(sample_input().join("products.parquet"), broken.join("products.parquet")).unwrap();
    copy_dir(&sample_input().join("customers"), &broken.join("customers"));
    std::fs::write(broken.join("purchases").join("part-00000.parquet"), b"PAR1 not really").unwrap();
    let err = fails(&["reindex", "--input", s(&broken), "--index", s(&index)]);
    assert!(err.contains("part-00000.parquet") && err.contains("not a readable Parquet file"), "{err}");
    assert_eq!(entries(&index), before);
    assert_eq!(generation_served(&index, &query), 1);

    // --strict fails on skipped rows the same way.
    let strict_input = dir.path().join("strict");
    std::fs::create_dir_all(&strict_input).unwrap();
    copy_dir(sample_input(), &strict_input);
    std::fs::remove_dir_all(strict_input.join("customers")).unwrap();
    let ok_customers = sample_input().join("customers");
    let first_part = std::fs::read_dir(&ok_customers).unwrap().next().unwrap().unwrap().path();
    std::fs::create_dir_all(strict_input.join("customers")).unwrap();
    std::fs::copy(&first_part, strict_input.join("customers").join("part-00000.parquet")).unwrap();
    std::fs::copy(&first_part, strict_input.join("customers").join("part-00001.parquet")).unwrap();
    let err = fails(&["reindex", "--input", s(&strict_input), "--index", s(&index), "--strict"]);
    assert!(err.contains("strict load failed") && err.contains("customer_id already seen"), "{err}");
    assert_eq!(generation_served(&index, &query), 1);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_reindex_killed_at_any_moment_leaves_a_readable_current_generation() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let query = dir.path().join("q.json");
    std::fs::write(&query, r#"{"field": "orders_total", "op": "gte", "value": 1}"#).unwrap();
    ok(&["reindex", "--input", s(sample_input()), "--index", s(&index)]);
    let mut newest = 1;
    for delay_ms in [5, 40, 120, 300, 600, 1000, 2000] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tamsa"))
            .args(["reindex", "--input", s(sample_input()), "--index", s(&index), "--keep", "10"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Whether it died before or after switching, what is current is whole and answers.
        let served = generation_served(&index, &query);
        assert!(served >= newest, "generation went back from {newest} to {served}");
        newest = served;
    }
    // The next reindex clears leftovers and becomes current.
    ok(&["reindex", "--input", s(sample_input()), "--index", s(&index), "--keep", "10"]);
    assert!(generation_served(&index, &query) > newest);
    assert!(entries(&index).iter().all(|n| !n.ends_with(".partial")), "{:?}", entries(&index));
}

#[test]
fn a_damaged_generation_is_refused_with_its_file_named() {
    let Indexed { dir: _dir, index, everyone: query } = indexed();
    let data = index.join("gen-000001").join("data.bin");
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&data, &bytes).unwrap();
    let err = fails(&["query", "--index", s(&index), "--query", s(&query)]);
    assert!(err.contains("gen-000001/data.bin: damaged index: checksum"), "{err}");
    bytes.truncate(middle);
    std::fs::write(&data, &bytes).unwrap();
    let err = fails(&["query", "--index", s(&index), "--query", s(&query)]);
    assert!(err.contains("damaged index") && err.contains("the manifest says"), "{err}");
}

#[test]
fn a_reindex_that_runs_out_of_space_fails_and_leaves_the_previous_generation_current() {
    let Indexed { dir: _dir, index, everyone: query } = indexed();
    // A file size limit of 64 KiB stands in for a full disk: writes past it fail with EFBIG
    // (the signal that would otherwise end the process is ignored, as a full disk sends none).
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec '{}' reindex --input '{}' --index '{}'",
        env!("CARGO_BIN_EXE_tamsa"),
        s(sample_input()),
        s(&index)
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert!(!out.status.success(), "a reindex past the size limit succeeded");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gen-000002.partial/data.bin") && err.contains("File too large"), "{err}");
    assert_eq!(generation_served(&index, &query), 1);
    // The next reindex with room clears the leftovers and becomes current.
    ok(&["reindex", "--input", s(sample_input()), "--index", s(&index)]);
    assert_eq!(generation_served(&index, &query), 3);
    assert!(entries(&index).iter().all(|n| !n.ends_with(".partial")), "{:?}", entries(&index));
}
