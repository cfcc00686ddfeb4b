//! The clickable conditions of an engine: one per field with a default condition, and one per
//! value of the few valued fields a marketer picks values of by name.

use serde_json::{json, Value};
use tamsa_model::{Dimension, Kind};
use tamsa_query::{Engine, FieldInfo, ValueCount};

/// The valued fields whose every value gets an entry: the profile categories, the channel
/// over a year, and brands, categories and products over 90 days (the other windows and the
/// last order are one click away in the query builder, and would triple the catalog).
const VALUED_FIELDS: [&str; 7] =
    ["gender", "region", "tier", "channel_365d", "brand_90d", "category_90d", "product_90d"];

/// One clickable condition and the words it is found by.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// One of `profile`, `brand`, `category`, `product`, `spend_orders`, `channel`,
    /// `recency`, `last_purchase`.
    pub group: &'static str,
    /// What the condition means, in English.
    pub label_en: String,
    /// What the condition means, in Korean.
    pub label_ko: String,
    /// The condition, a node of the query language.
    pub node: Value,
    /// Customers holding the value, for a value entry.
    pub count: Option<u64>,
    /// What the entry is called: a field's name, a value, a product's name and id. A query
    /// equal to one of these or to a label, or starting one, ranks first.
    pub names: Vec<String>,
    /// Further words it is found by, such as the brand of a product.
    pub keywords: Vec<String>,
}

/// The catalog entries of an engine: every field first, in catalog order, then the values of
/// [`VALUED_FIELDS`], most common first.
pub fn entries(engine: &Engine) -> Vec<Entry> {
    let fields = engine.fields();
    let mut entries: Vec<Entry> = fields.iter().map(field_entry).collect();
    for field in fields.iter().filter(|f| VALUED_FIELDS.contains(&f.name.as_str())) {
        for value in field.values.iter().flatten() {
            entries.push(value_entry(engine, field, value));
        }
    }
    entries
}

/// The group a field belongs to, by its name.
fn group(name: &str) -> &'static str {
    match name.split('_').next().unwrap_or(name) {
        "brand" => "brand",
        "category" => "category",
        "product" => "product",
        "channel" => "channel",
        "orders" | "spend" | "aov" => "spend_orders",
        "last" => "last_purchase",
        _ if name.starts_with("days_since_") && name.ends_with("_purchase") => "recency",
        _ => "profile",
    }
}

/// A field with a condition a marketer would start from: the middle half of a number
/// field's known values (or the values above it when that half is a single value), `true`
/// for a bool, the most common value of a category or set (of a channel, other than `none`).
fn field_entry(field: &FieldInfo) -> Entry {
    let name = &field.name;
    let node = match field.kind {
        Kind::Number => match field.quantiles.as_deref() {
            Some([_, q25, _, q75, ..]) if q25 < q75 => {
                json!({"field": name, "op": "between", "value": [q25, q75]})
            }
            // Most customers share one value (0 orders in 30 days): those above it stand out.
            Some([_, _, _, q75, ..]) => json!({"field": name, "op": "gt", "value": q75}),
            _ => json!({"field": name, "op": "exists", "value": true}),
        },
        Kind::Bool => json!({"field": name, "op": "eq", "value": true}),
        Kind::Category | Kind::Set => {
            // The first of the most common values (fixed dimensions are not listed by count),
            // leaving out the channel `none`: buying nowhere is seldom the point.
            let values = field.values.as_deref().unwrap_or_default();
            let candidates =
                values.iter().rev().filter(|v| !(name.starts_with("channel_") && v.value == "none"));
            let top = candidates.max_by_key(|v| v.count).map(|v| &v.value);
            json!({"field": name, "op": "in", "value": top.into_iter().collect::<Vec<_>>()})
        }
    };
    Entry {
        group: group(name),
        label_en: field.label_en.clone(),
        label_ko: field.label_ko.clone(),
        node,
        count: None,
        names: vec![name.clone(), field.label_en.clone(), field.label_ko.clone()],
        keywords: Vec::new(),
    }
}

/// English and Korean names of the values of fixed dimensions.
fn fixed_value_names(dim: Dimension, value: &str) -> Option<(&'static str, &'static str)> {
    Some(match (dim, value) {
        (Dimension::Gender, "F") => ("female", "여성"),
        (Dimension::Gender, "M") => ("male", "남성"),
        (Dimension::Gender, "U") => ("unknown", "알 수 없음"),
        (Dimension::Channel, "online") => ("online", "온라인"),
        (Dimension::Channel, "offline") => ("offline", "오프라인"),
        (Dimension::Channel, "both") => ("online and offline", "온·오프라인 모두"),
        (Dimension::Channel, "none") => ("no purchase", "구매 없음"),
        _ => return None,
    })
}

/// The entry of one value of a valued field.
fn value_entry(engine: &Engine, field: &FieldInfo, value: &ValueCount) -> Entry {
    let v = value.value.as_str();
    let days = field.window.unwrap_or(0);
    let dim = engine.schema.field(&field.name).and_then(|id| engine.schema.fields()[id].dimension);
    let mut names = vec![v.to_owned()];
    let mut keywords = Vec::new();
    let (label_en, label_ko) = match dim {
        Some(Dimension::Brand) => {
            (format!("Bought brand {v} (last {days} days)"), format!("최근 {days}일 {v} 브랜드 구매"))
        }
        Some(Dimension::Category) => {
            keywords.extend(crate::glossary::category(v).iter().map(|w| (*w).to_owned()));
            (format!("Bought category {v} (last {days} days)"), format!("최근 {days}일 {v} 카테고리 구매"))
        }
        Some(Dimension::Product) => {
            let dims = &engine.index.dims;
            let number = engine.schema.value(Dimension::Product, v).map(|n| n as usize);
            let name = number.and_then(|n| dims.product_name.get(n)).filter(|n| !n.is_empty());
            let brand =
                number.and_then(|n| dims.product_brand.get(n)).and_then(|&b| dims.brand.get(b as usize));
            let shown = name.map_or(v, String::as_str);
            if let Some(name) = name {
                names.insert(0, name.clone());
            }
            keywords.extend(brand.cloned());
            keywords.extend(["product".to_owned(), "상품".to_owned()]);
            (format!("Bought {shown} (last {days} days)"), format!("최근 {days}일 {shown} 구매"))
        }
        Some(dim @ (Dimension::Gender | Dimension::Channel)) => {
            let (en, ko) = fixed_value_names(dim, v).unwrap_or((v, v));
            names.extend([en.to_owned(), ko.to_owned()]);
            (format!("{}: {en}", field.label_en), format!("{}: {ko}", field.label_ko))
        }
        Some(Dimension::Region) => {
            keywords.extend(crate::glossary::region(v).iter().map(|w| (*w).to_owned()));
            (format!("{}: {v}", field.label_en), format!("{}: {v}", field.label_ko))
        }
        _ => (format!("{}: {v}", field.label_en), format!("{}: {v}", field.label_ko)),
    };
    Entry {
        group: group(&field.name),
        label_en,
        label_ko,
        node: json!({"field": field.name, "op": "in", "value": [v]}),
        count: Some(value.count),
        names,
        keywords,
    }
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn fields_fall_into_groups() {
        let check = |name: &str, expect: &str| assert_eq!(group(name), expect, "{name}");
        check("age", "profile");
        check("sms_opt_in", "profile");
        check("days_since_signup", "profile");
        check("brand_30d", "brand");
        check("category_365d", "category");
        check("product_90d", "product");
        check("channel_180d", "channel");
        check("aov_90d", "spend_orders");
        check("spend_total", "spend_orders");
        check("orders_30d", "spend_orders");
        check("days_since_first_purchase", "recency");
        check("days_since_last_purchase", "recency");
        check("last_brand", "last_purchase");
        check("last_product", "last_purchase");
    }
}
