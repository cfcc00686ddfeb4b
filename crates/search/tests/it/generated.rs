//! Searches the catalog of a real engine over 2,000 generated customers.

use std::sync::OnceLock;

use serde_json::json;
use tamsa_generate::{generate, GenerateOptions, NoProgress};
use tamsa_loader::LoadOptions;
use tamsa_query::Engine;
use tamsa_search::{Catalog, Hit};
use unicode_normalization::UnicodeNormalization;

struct Fixture {
    engine: Engine,
    catalog: Catalog,
}

/// The engine and catalog, built once for all tests of this module.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let opts = GenerateOptions { customers: 2_000, seed: 7, ..GenerateOptions::default() };
        generate(dir.path(), &opts, &NoProgress).unwrap();
        let data = tamsa_loader::load(dir.path(), &LoadOptions::default(), &NoProgress).unwrap();
        let engine = Engine::new(tamsa_index::build(data, 1, &NoProgress));
        let catalog = Catalog::build(&engine).unwrap();
        Fixture { engine, catalog }
    })
}

fn search(q: &str, limit: usize) -> Vec<Hit> {
    let hits = fixture().catalog.search(q, limit);
    for hit in &hits {
        fixture().engine.parse(&hit.node).unwrap_or_else(|e| panic!("{q:?} gave {}: {e}", hit.node));
    }
    hits
}

fn field(hit: &Hit) -> &str {
    hit.node["field"].as_str().unwrap()
}

#[test]
fn the_catalog_holds_every_field_and_the_chosen_values() {
    let f = fixture();
    let fields = f.engine.fields();
    let dims = &f.engine.index.dims;
    let gender_and_channel = 3 + 4;
    let expect = fields.len()
        + gender_and_channel
        + dims.region.len()
        + dims.tier.len()
        + dims.brand.len()
        + dims.category.len()
        + dims.product.len();
    assert_eq!(f.catalog.len(), expect);
    assert!((3_000..3_500).contains(&f.catalog.len()), "{}", f.catalog.len());
    for entry in f.catalog.entries() {
        f.engine.parse(&entry.node).unwrap_or_else(|e| panic!("{}: {e}", entry.node));
    }
}

#[test]
fn part_of_a_brand_name_finds_the_brand_first() {
    let hits = search("설화", 10);
    assert_eq!(hits[0].node, json!({"field": "brand_90d", "op": "in", "value": ["설화담"]}));
    assert_eq!(hits[0].group, "brand");
    assert_eq!(hits[0].label_ko, "최근 90일 설화담 브랜드 구매");
    assert_eq!(hits[0].label_en, "Bought brand 설화담 (last 90 days)");
    assert!(hits[0].count.unwrap() > 0);
    // Then its products, most bought first.
    assert!(hits[1..].iter().all(|h| h.group == "product" && h.label_ko.contains("설화담")));
    assert!(hits[1..].windows(2).all(|w| w[0].count >= w[1].count));
}

#[test]
fn a_category_name_finds_the_category_then_products_containing_it() {
    let hits = search("에센스", 50);
    assert_eq!(hits[0].node, json!({"field": "category_90d", "op": "in", "value": ["에센스"]}));
    assert!(hits.len() == 50);
    assert!(hits[1..].iter().all(|h| h.group == "product" && h.label_ko.contains("에센스")), "{hits:#?}");
    let product = &hits[1];
    let id = product.node["value"][0].as_str().unwrap();
    assert!(id.starts_with('P'), "{id}");
}

#[test]
fn a_decomposed_query_is_composed_first() {
    let nfd: String = "설화".nfd().collect();
    assert_ne!(nfd, "설화");
    assert_eq!(search(&nfd, 5), search("설화", 5));
}

#[test]
fn english_words_find_fields() {
    let hits = search("age", 5);
    assert_eq!(field(&hits[0]), "age");
    assert_eq!(hits[0].group, "profile");
    assert_eq!(hits[0].node["op"], "between");
    let [lo, hi] = [&hits[0].node["value"][0], &hits[0].node["value"][1]].map(|v| v.as_i64().unwrap());
    assert!(15 <= lo && lo <= hi && hi <= 90, "{lo}..{hi}");

    let hits = search("Spend", 10);
    // The middle half of spend over 30 days is often just 0: the default is then above it.
    let spend_30d = hits.iter().find(|h| field(h) == "spend_30d").unwrap();
    assert!(
        spend_30d.node["op"] == "between"
            || spend_30d.node == json!({"field": "spend_30d", "op": "gt", "value": 0}),
        "{}",
        spend_30d.node
    );
    let mut fields: Vec<&str> = hits.iter().take(5).map(field).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["spend_180d", "spend_30d", "spend_365d", "spend_90d", "spend_total"], "{hits:#?}");
    assert!(hits.iter().take(5).all(|h| h.group == "spend_orders" && h.count.is_none()));

    assert_eq!(field(&search("sms", 1)[0]), "sms_opt_in");
    assert_eq!(search("sms", 1)[0].node["value"], true);
    assert_eq!(field(&search("last brand", 1)[0]), "last_brand");
    assert_eq!(search("last brand", 1)[0].group, "last_purchase");

    // Korean values have English names too: regions and cosmetics categories.
    let seoul = search("Seoul", 3);
    assert_eq!((field(&seoul[0]), &seoul[0].node["value"][0]), ("region", &json!("서울")), "{seoul:#?}");
    let serum = search("serum", 3);
    assert_eq!(
        (field(&serum[0]), &serum[0].node["value"][0]),
        ("category_90d", &json!("세럼")),
        "{serum:#?}"
    );
}

#[test]
fn korean_labels_find_fields_and_values() {
    let hits = search("성별", 10);
    assert_eq!(field(&hits[0]), "gender");
    assert_eq!(hits.len(), 4, "the field and its three values: {hits:#?}");
    assert_eq!(search("여성", 1)[0].node, json!({"field": "gender", "op": "in", "value": ["F"]}));
    let hits = search("온라인", 3);
    assert_eq!(hits[0].node, json!({"field": "channel_365d", "op": "in", "value": ["online"]}));
    assert_eq!(hits[0].group, "channel");
    let channel = search("channel", 10).into_iter().find(|h| field(h) == "channel_90d" && h.count.is_none());
    assert_ne!(channel.unwrap().node["value"][0], "none");
    assert_eq!(field(&search("마지막 구매", 1)[0]), "days_since_last_purchase");
}

#[test]
fn a_product_is_found_by_id_and_brand() {
    let dims = &fixture().engine.index.dims;
    let id = &dims.product[0];
    let hits = search(&id.to_lowercase(), 3);
    assert_eq!(hits[0].node["value"][0], id.as_str());
    assert!(hits[0].label_en.contains(&dims.product_name[0]), "{hits:#?}");
    let brand = &dims.brand[dims.product_brand[0] as usize];
    assert!(search(brand, 100).iter().any(|h| h.node["value"][0] == id.as_str()));
}

#[test]
fn one_character_finds_words_holding_it() {
    let hits = search("향", 200);
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h.label_ko.contains('향')), "{hits:#?}");
    assert!(hits.iter().any(|h| h.node["value"][0] == "향수"));
}

#[test]
fn limits_and_empty_queries() {
    assert_eq!(search("에센스", 7).len(), 7);
    assert!(search("에센스", 0).is_empty());
    assert!(search("", 10).is_empty());
    assert!(search("  , ", 10).is_empty());
    assert!(search("없는말zzz", 10).is_empty());
}

#[test]
fn hits_serialize_for_the_server() {
    let hit = &search("설화", 1)[0];
    let json = serde_json::to_value(hit).unwrap();
    for key in ["group", "label_en", "label_ko", "node", "count", "score"] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
}
