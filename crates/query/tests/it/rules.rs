//! Each rule of the input contract and the field definitions, pinned on a tiny fixture.

use serde_json::json;
use tamsa_loader::{LoadError, SkipReason};
use tamsa_query::{Node, Threads};

use crate::fixture::*;

fn c(id: &str, f: impl FnOnce(&mut Customer)) -> Customer {
    let mut row = customer(id);
    f(&mut row);
    row
}

fn input() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    (dir, input)
}

fn products() -> Vec<Product> {
    vec![product("P1", "설화담", "에센스"), product("P2", "라온빛", "크림"), product("P3", "라온빛", "토너")]
}

#[test]
fn product_ids_match_purchases_exactly_spaces_included() {
    let (_dir, dir) = input();
    let products = vec![product(" P3 ", "라온빛", "토너"), product("P4", "설화담", "크림")];
    write_input(
        &dir,
        &[customer("a"), customer("b")],
        &products,
        &[
            purchase("o1", "a", "2026-03-01", " P3 ", 1, "online"),
            purchase("o2", "b", "2026-03-01", "P3", 1, "online"),
        ],
    );
    let (engine, report) = index(&dir, None).unwrap();
    // " P3 " is the product of the catalog; "P3" is another id, unknown to it.
    assert_eq!(ids(&engine, r#"{"field":"brand_30d","op":"eq","value":"라온빛"}"#), ["a"]);
    assert_eq!(ids(&engine, r#"{"field":"brand_30d","op":"eq","value":"unknown"}"#), ["b"]);
    assert_eq!(report.unknown_product_lines, 1);
}

#[test]
fn windows_include_their_last_day_and_exclude_their_first() {
    let (_dir, dir) = input();
    // As of 2026-03-31: the 30-day window is 2026-03-02 ..= 2026-03-31.
    write_input(
        &dir,
        &[customer("edge_out"), customer("edge_in"), customer("today")],
        &products(),
        &[
            purchase("o1", "edge_out", "2026-03-01T23:59:59", "P1", 100, "online"),
            purchase("o2", "edge_in", "2026-03-02T00:00:00", "P1", 100, "online"),
            purchase("o3", "today", "2026-03-31T12:00:00", "P2", 100, "offline"),
            purchase("o4", "today", "2026-04-01T00:00:00", "P3", 999, "online"),
        ],
    );
    let (engine, report) = index(&dir, Some("2026-03-31")).unwrap();
    assert_eq!(report.after_as_of, 1);
    let q = |f: &str, op: &str, v: serde_json::Value| {
        ids(&engine, &json!({"field": f, "op": op, "value": v}).to_string())
    };
    assert_eq!(q("orders_30d", "eq", json!(1)), ["edge_in", "today"]);
    assert_eq!(q("brand_30d", "in", json!(["설화담"])), ["edge_in"]);
    assert_eq!(q("orders_90d", "eq", json!(1)), ["edge_in", "edge_out", "today"]);
    // The purchase after the as-of day is left out of everything, totals included.
    assert_eq!(q("spend_total", "eq", json!(100)), ["edge_in", "edge_out", "today"]);
    assert!(q("product_365d", "in", json!(["P3"])).is_empty());
    assert_eq!(q("days_since_last_purchase", "eq", json!(0)), ["today"]);
    assert_eq!(q("days_since_last_purchase", "eq", json!(30)), ["edge_out"]);
    assert_eq!(q("channel_30d", "eq", json!("offline")), ["today"]);
    assert_eq!(q("channel_30d", "eq", json!("none")), ["edge_out"]);
}

#[test]
fn as_of_defaults_to_the_latest_purchase_day() {
    let (_dir, dir) = input();
    write_input(
        &dir,
        &[customer("a")],
        &products(),
        &[
            purchase("o1", "a", "2026-01-10T08:00:00", "P1", 100, "online"),
            purchase("o2", "a", "2026-02-20T23:00:00", "P2", 100, "online"),
        ],
    );
    let (engine, report) = index(&dir, None).unwrap();
    assert_eq!(report.after_as_of, 0);
    assert_eq!(engine.index_ref().as_of, "2026-02-20");
    assert_eq!(count(&engine, r#"{"field":"days_since_first_purchase","op":"eq","value":41}"#), 1);
}

#[test]
fn spend_orders_and_aov_count_refunds_and_multi_line_orders() {
    let (_dir, dir) = input();
    write_input(
        &dir,
        &[customer("a"), customer("b")],
        &products(),
        &[
            // One order of two lines, then a refund of one line as its own order.
            purchase("o1", "a", "2026-03-10T10:00:00", "P1", 30_000, "online"),
            purchase("o1", "a", "2026-03-10T10:00:00", "P2", 20_000, "online"),
            purchase("r1", "a", "2026-03-05T10:00:00", "P2", -20_000, "online"),
            // Only a refund: negative spend, and aov floors toward minus infinity.
            purchase("r2", "b", "2026-03-05T10:00:00", "P1", -5, "offline"),
            purchase("r3", "b", "2026-03-06T10:00:00", "P1", 0, "offline"),
        ],
    );
    let (engine, _) = index(&dir, Some("2026-03-31")).unwrap();
    let q = |f: &str, v: i64| ids(&engine, &json!({"field": f, "op": "eq", "value": v}).to_string());
    assert_eq!(q("orders_30d", 2), ["a", "b"]);
    assert_eq!(q("spend_30d", 30_000), ["a"]);
    assert_eq!(q("aov_30d", 15_000), ["a"]);
    assert_eq!(q("spend_30d", -5), ["b"]);
    assert_eq!(q("aov_30d", -3), ["b"]);
    assert_eq!(q("orders_total", 2), ["a", "b"]);
}

#[test]
fn last_order_breaks_timestamp_ties_by_order_id_and_counts_all_its_lines() {
    let (_dir, dir) = input();
    write_input(
        &dir,
        &[customer("a"), customer("b")],
        &products(),
        &[
            purchase("o-2", "a", "2026-03-01T10:00:00", "P1", 1, "online"),
            purchase("o-9", "a", "2026-03-01T10:00:00", "P2", 1, "online"),
            purchase("o-9", "a", "2026-02-01T09:00:00", "P3", 1, "online"),
            purchase("o-5", "a", "2026-02-15T10:00:00", "P1", 1, "online"),
            // b's last order has one line; an earlier order has more.
            purchase("x1", "b", "2026-01-01T10:00:00", "P2", 1, "offline"),
            purchase("x1", "b", "2026-01-01T10:00:00", "P3", 1, "offline"),
            purchase("x2", "b", "2026-01-02T10:00:00", "P1", 1, "offline"),
        ],
    );
    let (engine, _) = index(&dir, Some("2026-03-31")).unwrap();
    let q = |f: &str, v: &str| ids(&engine, &json!({"field": f, "op": "eq", "value": v}).to_string());
    // a: o-9 > o-2 at the same instant; o-9's earlier line (P3) counts too.
    assert_eq!(q("last_product", "P2"), ["a"]);
    assert_eq!(q("last_product", "P3"), ["a"]);
    assert_eq!(q("last_product", "P1"), ["b"]);
    assert_eq!(q("last_brand", "라온빛"), ["a"]);
    assert_eq!(q("last_category", "에센스"), ["b"]);
    let profile = engine.profile(&engine.parse(&json!({"all": []})).unwrap());
    let top: Vec<(&str, u64)> =
        profile.facets.last_product.iter().map(|p| (p.product_id.as_str(), p.count)).collect();
    assert_eq!(top, [("P1", 1), ("P2", 1), ("P3", 1)]);
}

#[test]
fn nulls_never_match_comparisons_but_their_complement_includes_them() {
    let (_dir, dir) = input();
    write_input(
        &dir,
        &[
            c("old", |c| c.birth = Some("1950-06-01".into())),
            c("young", |c| c.birth = Some("2000-03-31".into())),
            c("younger", |c| c.birth = Some("2000-04-01".into())),
            c("unknown", |_| {}),
            c("unborn", |c| c.birth = Some("2030-01-01".into())),
        ],
        &products(),
        &[purchase("o1", "old", "2026-03-31T10:00:00", "P1", 1, "online")],
    );
    let (engine, _) = index(&dir, Some("2026-03-31")).unwrap();
    assert_eq!(ids(&engine, r#"{"field":"age","op":"lt","value":50}"#), ["young", "younger"]);
    assert_eq!(ids(&engine, r#"{"not":{"field":"age","op":"lt","value":50}}"#), ["old", "unborn", "unknown"]);
    assert_eq!(ids(&engine, r#"{"field":"age","op":"exists","value":false}"#), ["unborn", "unknown"]);
    assert_eq!(ids(&engine, r#"{"field":"aov_365d","op":"exists","value":true}"#), ["old"]);
    // Birthday on the as-of day completes the year; the day before does not.
    assert_eq!(ids(&engine, r#"{"field":"age","op":"eq","value":25}"#), ["younger"]);
    assert_eq!(ids(&engine, r#"{"field":"age","op":"eq","value":26}"#), ["young"]);
    assert_eq!(ids(&engine, r#"{"all":[]}"#).len(), 5);
    assert!(ids(&engine, r#"{"any":[]}"#).is_empty());
}

#[test]
fn customer_values_are_normalised() {
    let (_dir, dir) = input();
    write_input(
        &dir,
        &[
            c("1", |c| {
                c.gender = Some("f".into());
                c.region = Some("서울".into());
                c.email = Some(true);
            }),
            c("2", |c| {
                c.gender = Some("X".into());
                c.region = Some("  ".into());
                c.tier = Some("VIP".into());
            }),
            c("3", |c| c.gender = Some(" M ".into())),
        ],
        &products(),
        &[],
    );
    let (engine, _) = index(&dir, Some("2026-03-31")).unwrap();
    assert_eq!(ids(&engine, r#"{"field":"gender","op":"eq","value":"F"}"#), ["1"]);
    assert_eq!(ids(&engine, r#"{"field":"gender","op":"in","value":["U"]}"#), ["2"]);
    assert_eq!(ids(&engine, r#"{"field":"gender","op":"eq","value":"m"}"#), ["3"]);
    assert_eq!(ids(&engine, r#"{"field":"region","op":"eq","value":"unknown"}"#), ["2", "3"]);
    assert_eq!(ids(&engine, r#"{"field":"tier","op":"eq","value":"unknown"}"#), ["1", "3"]);
    assert_eq!(ids(&engine, r#"{"field":"email_opt_in","op":"eq","value":false}"#), ["2", "3"]);
    assert_eq!(ids(&engine, r#"{"field":"sms_opt_in","op":"eq","value":true}"#), Vec::<String>::new());
    assert_eq!(ids(&engine, r#"{"field":"channel_365d","op":"eq","value":"none"}"#), ["1", "2", "3"]);
    assert_eq!(
        ids(&engine, r#"{"field":"days_since_last_purchase","op":"exists","value":false}"#),
        ["1", "2", "3"]
    );
}

#[test]
fn every_skip_reason_is_counted_with_examples() {
    let (_dir, dir) = input();
    let mut bad = vec![
        purchase("ok", "a", "2026-03-01", "P1", 1, "ONLINE"),
        purchase("o", "ghost", "2026-03-01", "P1", 1, "online"),
        purchase("o", "a", "2026-03-01", "P1", 1, "store"),
        purchase("unknown-product", "a", "2026-03-02", "P404", 7, "Offline"),
    ];
    let mut nulls = purchase("o", "a", "2026-03-01", "P1", 1, "online");
    nulls.customer = None;
    bad.push(nulls.clone());
    nulls = purchase("o", "a", "2026-03-01", "P1", 1, "online");
    nulls.order = None;
    bad.push(nulls.clone());
    nulls = purchase("o", "a", "2026-03-01", "P1", 1, "online");
    nulls.product = None;
    bad.push(nulls.clone());
    nulls = purchase("o", "a", "2026-03-01", "P1", 1, "online");
    nulls.at = None;
    bad.push(nulls.clone());
    nulls = purchase("o", "a", "2026-03-01", "P1", 1, "online");
    nulls.amount = None;
    bad.push(nulls.clone());
    nulls = purchase("o", "a", "2026-03-01", "P1", 1, "online");
    nulls.channel = None;
    bad.push(nulls);
    let customers = [
        c("a", |c| c.tier = Some("GOLD".into())),
        c("a", |c| c.tier = Some("VIP".into())),
        Customer::default(),
        c("", |_| {}),
    ];
    write_input(&dir, &customers, &products(), &bad);
    let (engine, report) = index(&dir, None).unwrap();
    let counts: Vec<(SkipReason, u64)> = report.skipped.iter().map(|s| (s.reason, s.count)).collect();
    assert_eq!(
        counts,
        [
            (SkipReason::CustomerEmptyId, 2),
            (SkipReason::CustomerDuplicateId, 1),
            (SkipReason::PurchaseNullCustomerId, 1),
            (SkipReason::PurchaseNullOrderId, 1),
            (SkipReason::PurchaseNullProductId, 1),
            (SkipReason::PurchaseNullPurchasedAt, 1),
            (SkipReason::PurchaseNullAmount, 1),
            (SkipReason::PurchaseUnknownCustomer, 1),
            (SkipReason::PurchaseBadChannel, 2),
        ]
    );
    let dup = report.skipped.iter().find(|s| s.reason == SkipReason::CustomerDuplicateId).unwrap();
    assert!(
        dup.examples[0].contains("customers.parquet row 1") && dup.examples[0].contains("\"a\""),
        "{dup:?}"
    );
    let ghost = report.skipped.iter().find(|s| s.reason == SkipReason::PurchaseUnknownCustomer).unwrap();
    assert!(ghost.examples[0].contains("ghost"), "{ghost:?}");
    // The first row of a duplicated customer wins; the unknown product is kept as `unknown`.
    assert_eq!(ids(&engine, r#"{"field":"tier","op":"eq","value":"GOLD"}"#), ["a"]);
    assert_eq!(report.unknown_product_lines, 1);
    assert_eq!(ids(&engine, r#"{"field":"brand_30d","op":"eq","value":"unknown"}"#), ["a"]);
    assert_eq!(ids(&engine, r#"{"field":"product_30d","op":"eq","value":"P404"}"#), ["a"]);
    assert_eq!(ids(&engine, r#"{"field":"channel_30d","op":"eq","value":"both"}"#), ["a"]);

    let strict = tamsa_loader::load(
        &dir,
        &tamsa_loader::LoadOptions { as_of: None, strict: true },
        &tamsa_model::NoProgress,
    );
    match strict {
        Err(LoadError::Strict { summary }) => {
            assert!(summary.contains("purchase with a null amount: 1"), "{summary}")
        }
        Err(other) => panic!("strict load failed otherwise: {other}"),
        Ok(_) => panic!("strict load accepted skipped rows"),
    }
}

fn load_error(dir: &std::path::Path) -> String {
    match index(dir, None) {
        Err(err) => err.to_string(),
        Ok(_) => panic!("load of {} succeeded", dir.display()),
    }
}

#[test]
fn schema_errors_name_the_file_column_and_types() {
    let (_dir, dir) = input();
    write_input(&dir, &[customer("a")], &products(), &[]);
    // amount as text.
    write_parquet(
        &dir.join("purchases.parquet"),
        vec![
            ("order_id", std::sync::Arc::new(arrow_array::StringArray::from(vec!["o"]))),
            ("customer_id", std::sync::Arc::new(arrow_array::StringArray::from(vec!["a"]))),
            ("purchased_at", std::sync::Arc::new(arrow_array::Date32Array::from(vec![20_000]))),
            ("product_id", std::sync::Arc::new(arrow_array::StringArray::from(vec!["P1"]))),
            ("amount", std::sync::Arc::new(arrow_array::StringArray::from(vec!["12"]))),
            ("channel", std::sync::Arc::new(arrow_array::StringArray::from(vec!["online"]))),
        ],
    );
    let message = load_error(&dir);
    assert!(message.contains("purchases.parquet") && message.contains("`amount`"), "{message}");
    assert!(message.contains("Utf8") && message.contains("expected an integer"), "{message}");

    // A missing column.
    write_parquet(
        &dir.join("purchases.parquet"),
        vec![("order_id", std::sync::Arc::new(arrow_array::StringArray::from(vec!["o"])))],
    );
    let message = load_error(&dir);
    assert!(message.contains("column `customer_id` is missing"), "{message}");

    // A missing table.
    std::fs::remove_file(dir.join("purchases.parquet")).unwrap();
    let message = load_error(&dir);
    assert!(message.contains("table `purchases` is missing"), "{message}");
}

#[test]
fn integer_ids_and_folders_of_parts_are_accepted() {
    let (_dir, dir) = input();
    write_input(&dir, &[], &products(), &[]);
    std::fs::remove_file(dir.join("customers.parquet")).unwrap();
    std::fs::create_dir(dir.join("customers")).unwrap();
    for (part, ids) in [("part-0.parquet", vec![10_i64, 11]), ("part-1.parquet", vec![12])] {
        write_parquet(
            &dir.join("customers").join(part),
            vec![
                ("customer_id", std::sync::Arc::new(arrow_array::Int64Array::from(ids.clone()))),
                ("birth_date", std::sync::Arc::new(arrow_array::Date32Array::from(vec![None; ids.len()]))),
                ("gender", std::sync::Arc::new(arrow_array::StringArray::from(vec![Some("F"); ids.len()]))),
                (
                    "region",
                    std::sync::Arc::new(arrow_array::StringArray::from(vec![Some("부산"); ids.len()])),
                ),
                ("tier", std::sync::Arc::new(arrow_array::StringArray::from(vec![None::<&str>; ids.len()]))),
                ("signup_date", std::sync::Arc::new(arrow_array::Date32Array::from(vec![None; ids.len()]))),
                ("email_opt_in", std::sync::Arc::new(arrow_array::BooleanArray::from(vec![None; ids.len()]))),
                (
                    "sms_opt_in",
                    std::sync::Arc::new(arrow_array::BooleanArray::from(vec![Some(true); ids.len()])),
                ),
            ],
        );
    }
    write_purchases(&dir, &[purchase("o", "12", "2026-03-01", "P1", 1, "online")]);
    let (engine, report) = index(&dir, None).unwrap();
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(ids(&engine, r#"{"field":"sms_opt_in","op":"eq","value":true}"#), ["10", "11", "12"]);
    assert_eq!(ids(&engine, r#"{"field":"orders_total","op":"gte","value":1}"#), ["12"]);
}

#[test]
fn a_truncated_file_is_an_error_naming_it() {
    let (_dir, dir) = input();
    write_input(&dir, &[customer("a")], &products(), &[purchase("o", "a", "2026-03-01", "P1", 1, "online")]);
    let path = dir.join("purchases.parquet");
    let bytes = std::fs::read(&path).unwrap();
    for keep in [bytes.len() / 2, bytes.len() - 3, 10, 0] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let message = load_error(&dir);
        assert!(
            message.contains("purchases.parquet") && message.contains("not a readable Parquet file"),
            "{message}"
        );
    }
}

#[test]
fn query_errors_name_the_path_and_suggest() {
    let (_dir, dir) = input();
    write_input(&dir, &[customer("a")], &products(), &[purchase("o", "a", "2026-03-01", "P1", 1, "online")]);
    let (engine, _) = index(&dir, None).unwrap();
    let check = |query: serde_json::Value, expect: &str| {
        let err = engine.parse(&query).expect_err(&query.to_string()).to_string();
        assert_eq!(err, expect, "{query}");
    };
    check(
        json!({"all": [{"field": "gender", "op": "eq", "value": "F"}, {"any": [{"field": "brand_90d", "op": "in", "value": ["설화"]}]}]}),
        "$.all[1].any[0].value[0]: `설화` never occurs in the data as a value of `brand_90d` (did you mean `설화담`?)",
    );
    check(
        json!({"not": {"field": "agee", "op": "gt", "value": 3}}),
        "$.not.field: unknown field `agee` (did you mean `age`?)",
    );
    check(
        json!({"field": "age", "op": "in", "value": [3]}),
        "$.op: operator `in` does not fit number field `age`; use one of eq, gt, gte, lt, lte, between, exists",
    );
    check(
        json!({"field": "region", "op": "gt", "value": "서울"}),
        "$.op: operator `gt` does not fit category field `region`; use one of in, eq",
    );
    check(
        json!({"field": "age", "op": "between", "value": [40, 30]}),
        "$.value: `between` needs lo ≤ hi, found [40, 30]",
    );
    check(
        json!({"field": "age", "op": "gte", "value": "30"}),
        "$.value: `age` is a number field: expected a number, found a string",
    );
    check(
        json!({"alll": []}),
        "$: expected one of the keys all, any, not, field; found `alll` (did you mean `all`?)",
    );
    check(json!({"all": {}}), "$.all: expected a list of nodes, found an object");
    check(json!([1]), "$: expected a node object ({\"all\"|\"any\"|\"not\"|\"field\": …}), found a list");
    check(
        json!({"field": "gender", "op": "eq", "value": "Q"}),
        "$.value: `Q` is not a value of `gender`; the values are F, M, U",
    );
}

#[test]
fn deep_and_wide_queries_are_answered() {
    let (_dir, dir) = input();
    let customers: Vec<Customer> =
        (0..50).map(|i| c(&format!("c{i}"), |c| c.birth = Some(format!("{}-01-01", 1950 + i)))).collect();
    write_input(&dir, &customers, &products(), &[]);
    let (engine, _) = index(&dir, Some("2026-03-31")).unwrap();
    // 1,200 conditions: ages 0..=1199 one by one.
    let wide = json!({"any": (0..1200).map(|a| json!({"field": "age", "op": "eq", "value": a})).collect::<Vec<_>>()});
    assert_eq!(count(&engine, &wide.to_string()), 50);
    // 12 levels of alternating all/any/not.
    let mut deep = json!({"field": "age", "op": "lt", "value": 40});
    for level in 0..12 {
        deep = match level % 3 {
            0 => json!({"all": [deep]}),
            1 => json!({"any": [deep]}),
            _ => json!({"not": {"not": deep}}),
        };
    }
    // Born 1987..=1999 are under 40 on 2026-03-31: 13 customers.
    assert_eq!(count(&engine, &deep.to_string()), 13);
}

#[test]
fn facets_are_the_same_on_one_thread_and_several() {
    let (_dir, dir) = input();
    let customers: Vec<Customer> = (0..300).map(|i| customer(&format!("c{i:03}"))).collect();
    let purchases: Vec<Purchase> = (0..600)
        .map(|i| {
            let product = ["P1", "P2", "P3"][i % 3];
            purchase(
                &format!("o{i}"),
                &format!("c{:03}", i * 7 % 300),
                "2026-03-20",
                product,
                i as i64,
                "online",
            )
        })
        .collect();
    write_input(&dir, &customers, &products(), &purchases);
    let (engine, _) = index(&dir, None).unwrap();
    let serial = index(&dir, None).unwrap().0.with_parallel_pass_from(u64::MAX);
    let parallel = engine.with_parallel_pass_from(0);
    for query in
        [json!({"all": []}), json!({"field": "spend_365d", "op": "gte", "value": 300}), json!({"any": []})]
    {
        let node = serial.parse(&query).unwrap();
        let members = serial.segment(&node);
        assert_eq!(serial.facets(&members), parallel.facets(&members), "{query}");
        assert_eq!(parallel.facets_on(&members, Threads::One), parallel.facets(&members), "{query}");
    }
    // Steps split into customer ranges, or not, and broad segments' bitmap-counted facets.
    let split = parallel.with_parallel_eval_from(0).with_slices_from(0);
    let query = json!({"all": [
        {"field": "spend_365d", "op": "gte", "value": 100},
        {"any": [{"field": "product_30d", "op": "in", "value": ["P1", "P2"]}, {"field": "age", "op": "lt", "value": 40}]},
    ]});
    let Node::All(conditions) = split.parse(&query).unwrap() else { panic!("an all") };
    let (members, counts) = split.steps(&conditions);
    assert!(members.len() > 1, "{members:?}");
    assert_eq!(split.steps_on(&conditions, Threads::One), (members.clone(), counts));
    assert_eq!(split.facets_on(&members, Threads::One), split.facets(&members));
}

#[test]
fn facets_of_dense_sparse_and_broad_segments_agree_by_every_strategy() {
    // Enough customers that a segment can fill a container densely (over 4,096 of 65,536).
    let (_dir, dir) = input();
    let n = 9_000;
    let customers: Vec<Customer> = (0..n).map(|i| customer(&format!("c{i:05}"))).collect();
    let purchases: Vec<Purchase> = (0..2 * n)
        .map(|i| {
            let product = ["P1", "P2", "P3"][i % 3];
            let channel = if i % 5 == 0 { "offline" } else { "online" };
            purchase(
                &format!("o{i}"),
                &format!("c{:05}", i * 7 % n),
                "2026-03-20",
                product,
                (i % 97) as i64 * 10,
                channel,
            )
        })
        .collect();
    write_input(&dir, &customers, &products(), &purchases);
    for slices_from in [0, u64::MAX] {
        let engine = index(&dir, None).unwrap().0.with_slices_from(slices_from);
        for query in [
            json!({"all": []}),
            json!({"field": "spend_365d", "op": "gte", "value": 300}),
            json!({"field": "spend_365d", "op": "lte", "value": 100}),
            json!({"field": "spend_365d", "op": "between", "value": [500, 520]}),
        ] {
            let node = engine.parse(&query).unwrap();
            let members = engine.segment(&node);
            let facets = engine.facets(&members);
            assert_eq!(facets, engine.facets_by_pass(&members), "{query}, slices from {slices_from}");
            assert_eq!(facets, engine.facets_from_bitmaps(&members), "{query}, slices from {slices_from}");
        }
    }
}

#[test]
fn queries_split_by_customer_range_give_the_same_members() {
    let (_dir, dir) = input();
    let customers: Vec<Customer> = (0..300)
        .map(|i| c(&format!("c{i:03}"), |c| c.birth = Some(format!("{}-05-01", 1950 + i % 60))))
        .collect();
    let purchases: Vec<Purchase> = (0..900)
        .map(|i| {
            let product = ["P1", "P2", "P3"][i % 3];
            let day = format!("2026-03-{:02}", 1 + i % 28);
            purchase(
                &format!("o{i}"),
                &format!("c{:03}", i * 7 % 300),
                &day,
                product,
                (i % 50) as i64,
                "online",
            )
        })
        .collect();
    write_input(&dir, &customers, &products(), &purchases);
    let whole = index(&dir, None).unwrap().0.with_parallel_eval_from(u64::MAX);
    let (engine, _) = index(&dir, None).unwrap();
    let split = engine.with_parallel_eval_from(0);
    let queries = [
        json!({"all": []}),
        json!({"any": []}),
        json!({"field": "age", "op": "between", "value": [30, 49]}),
        json!({"all": [{"field": "spend_30d", "op": "gte", "value": 40}, {"not": {"field": "brand_30d", "op": "eq", "value": "설화담"}}]}),
        json!({"any": [{"field": "product_30d", "op": "eq", "value": "P2"}, {"field": "age", "op": "lt", "value": 25},
                       {"all": [{"field": "orders_30d", "op": "gte", "value": 3}, {"field": "last_product", "op": "in", "value": ["P1"]}]}]}),
    ];
    for query in queries {
        let node = whole.parse(&query).unwrap();
        let expect = tamsa_query::evaluate(&node, &whole.index);
        for parts in [2, 3, 7] {
            assert_eq!(
                tamsa_query::evaluate_split(&node, &split.index, parts),
                expect,
                "{query} in {parts} parts"
            );
        }
        assert_eq!(split.segment(&node), expect, "{query}");
        assert_eq!(whole.segment(&node), expect, "{query}");
    }
}

#[test]
fn last_order_ties_across_files_are_decided_by_order_id() {
    let (_dir, dir) = input();
    write_input(&dir, &[customer("a"), customer("b"), customer("c")], &products(), &[]);
    std::fs::remove_file(dir.join("purchases.parquet")).unwrap();
    let parts = dir.join("purchases");
    std::fs::create_dir(&parts).unwrap();
    let at = "2026-03-01T10:00:00";
    let first = [
        purchase("o-9", "a", at, "P2", 1, "online"),
        purchase("x9", "b", at, "P1", 1, "online"),
        purchase("z1", "c", at, "P1", 1, "online"),
    ];
    let second = [
        purchase("o-2", "a", at, "P1", 1, "online"),
        purchase("o-10", "a", at, "P3", 1, "online"),
        purchase("x1", "b", at, "P2", 1, "online"),
        purchase("x0", "b", "2026-03-01T10:00:01", "P3", 1, "online"),
        purchase("z1", "c", at, "P2", 1, "online"),
    ];
    for (name, rows) in [("part-0", &first[..]), ("part-1", &second[..])] {
        let sub = dir.join(name);
        std::fs::create_dir(&sub).unwrap();
        write_purchases(&sub, rows);
        std::fs::rename(sub.join("purchases.parquet"), parts.join(format!("{name}.parquet"))).unwrap();
        std::fs::remove_dir(&sub).unwrap();
    }
    let (engine, _) = index(&dir, None).unwrap();
    let q = |v: &str| ids(&engine, &json!({"field": "last_product", "op": "eq", "value": v}).to_string());
    // a: o-9 > o-2 > o-10 as text, in another file than its rivals; b: a later instant wins;
    // c: one order split across files counts whole.
    assert_eq!(q("P1"), ["c"]);
    assert_eq!(q("P2"), ["a", "c"]);
    assert_eq!(q("P3"), ["b"]);
}
