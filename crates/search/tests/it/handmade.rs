//! Searches catalogs of hand-made entries, for names the generator does not make.

use serde_json::json;
use tamsa_search::{Catalog, Entry};

fn value(field: &str, group: &'static str, name: &str, count: u64, keywords: &[&str]) -> Entry {
    Entry {
        group,
        label_en: format!("Bought {name} (last 90 days)"),
        label_ko: format!("최근 90일 {name} 구매"),
        node: json!({"field": field, "op": "in", "value": [name]}),
        count: Some(count),
        names: vec![name.to_owned()],
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
    }
}

fn catalog() -> Catalog {
    Catalog::from_entries(vec![
        value("brand_90d", "brand", "설화수", 900, &[]),
        value("brand_90d", "brand", "설화담", 50, &[]),
        value("product_90d", "product", "윤조에센스", 300, &["설화수"]),
        value("product_90d", "product", "자음생 에센스", 100, &["설화수"]),
        value("category_90d", "category", "에센스", 2_000, &[]),
        value("category_90d", "category", "크림", 2_500, &[]),
    ])
    .unwrap()
}

fn found(q: &str) -> Vec<String> {
    catalog().search(q, 10).into_iter().map(|h| h.node["value"][0].as_str().unwrap().to_owned()).collect()
}

#[test]
fn korean_partial_words_match() {
    assert_eq!(found("에센스"), ["에센스", "자음생 에센스", "윤조에센스"]);
    // The brands start with the query; the products only hold the brand as a keyword.
    assert_eq!(found("설화"), ["설화수", "설화담", "윤조에센스", "자음생 에센스"]);
    assert_eq!(found("설화수"), ["설화수", "윤조에센스", "자음생 에센스"]);
    assert_eq!(found("윤조"), ["윤조에센스"]);
    assert_eq!(found("조에"), ["윤조에센스"]);
    assert_eq!(found("설화수 에센스"), ["자음생 에센스", "윤조에센스"]);
}

#[test]
fn decomposed_hangul_is_normalized() {
    // 설화 as conjoining jamo, as macOS file names and some IMEs send it.
    let nfd = "\u{1109}\u{1165}\u{11AF}\u{1112}\u{116A}";
    assert_eq!(found(nfd), found("설화"));
    let decomposed = "\u{1109}\u{1165}\u{11AF}\u{1112}\u{116A}\u{1109}\u{116E}";
    let catalog = Catalog::from_entries(vec![value("brand_90d", "brand", decomposed, 1, &[])]).unwrap();
    assert_eq!(catalog.search("설화", 1).len(), 1);
}

#[test]
fn bigrams_are_all_required() {
    // 에센 and 크림 both occur in the catalog, but not in one entry.
    assert!(found("에센크림").is_empty());
    assert!(found("수설").is_empty());
}

#[test]
fn one_character_finds_words_holding_it_even_at_the_end() {
    assert_eq!(found("윤"), ["윤조에센스"]);
    assert_eq!(found("수"), ["설화수", "윤조에센스", "자음생 에센스"]);
    assert_eq!(found("림"), ["크림"]);
}

#[test]
fn long_queries_are_cut() {
    let long = "설화수 ".repeat(1_000);
    assert_eq!(catalog().search(&long, 10).len(), 3);
}

#[test]
fn an_empty_catalog_finds_nothing() {
    let empty = Catalog::from_entries(Vec::new()).unwrap();
    assert!(empty.is_empty());
    assert!(empty.search("설화", 10).is_empty());
}

#[test]
fn the_catalog_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Catalog>();
}
