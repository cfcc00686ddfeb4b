//! The answer of `GET /api/fields`: the catalog of fields, grouped as the UI shows them.

use serde::Serialize;
use serde_json::{json, Value};
use tamsa_model::{Dimension, GROUPS};
use tamsa_query::{Engine, FieldInfo};

/// A field as the API describes it.
#[derive(Serialize)]
struct Field<'a> {
    #[serde(flatten)]
    info: &'a FieldInfo,
    /// The name without its window: `brand` for `brand_90d`.
    base: &'a str,
    /// The catalog group.
    group: &'static str,
}

/// Every field with its group, base name, labels, and values (products with their names
/// and brands) or number statistics; then the groups in display order.
pub fn fields(engine: &Engine) -> Value {
    let infos = engine.fields();
    let dims = &engine.index.dims;
    let product_number: std::collections::HashMap<&str, usize> =
        dims.product.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let fields: Vec<Value> = engine
        .schema
        .fields()
        .iter()
        .zip(&infos)
        .map(|(def, info)| {
            let mut field =
                serde_json::to_value(Field { info, base: def.base(), group: def.group() }).expect("json");
            if def.dimension == Some(Dimension::Product) {
                // Product values are ids: add each one's name and brand.
                if let Some(Value::Array(values)) = field.get_mut("values") {
                    for value in values {
                        let Some(&n) = value["value"].as_str().and_then(|id| product_number.get(id)) else {
                            continue;
                        };
                        value["label"] = dims.product_name[n].clone().into();
                        let brand = dims.product_brand.get(n).and_then(|&b| dims.brand.get(b as usize));
                        value["brand"] = brand.cloned().into();
                    }
                }
            }
            field
        })
        .collect();
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|&(id, en, ko)| {
            let members: Vec<&str> =
                engine.schema.fields().iter().filter(|d| d.group() == id).map(|d| d.name.as_str()).collect();
            json!({"id": id, "label_en": en, "label_ko": ko, "fields": members})
        })
        .collect();
    json!({
        "population": engine.index.population(),
        "index": engine.index_ref(),
        "groups": groups,
        "fields": fields,
    })
}
