//! Seeded suites of segments shaped like a marketer's: a few profile conditions, AND-ed
//! OR-groups of brands, categories and products over various windows, number ranges on
//! spend, orders and recency, and some negated groups.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tamsa_model::{Kind, WINDOWS};
use tamsa_query::{Engine, FieldInfo};

use crate::{Group, Suite};

/// Builds `per_size` queries of each size in `sizes`.
pub fn build(engine: &Engine, sizes: &[usize], per_size: usize, seed: u64) -> Suite {
    let fields = engine.fields();
    let mut rng = StdRng::seed_from_u64(seed);
    let groups = sizes
        .iter()
        .map(|&conditions| Group {
            conditions,
            queries: (0..per_size).map(|_| query(&fields, conditions, &mut rng)).collect(),
        })
        .collect();
    Suite { seed, groups }
}

fn field<'a>(fields: &'a [FieldInfo], name: &str) -> &'a FieldInfo {
    fields.iter().find(|f| f.name == name).expect("catalog field")
}

/// A value of a valued field, drawn in proportion to its population count.
fn popular_value(info: &FieldInfo, rng: &mut StdRng) -> String {
    let values = info.values.as_ref().expect("valued field");
    let total: u64 = values.iter().map(|v| v.count.max(1)).sum();
    let mut pick = rng.random_range(0..total);
    for v in values {
        let weight = v.count.max(1);
        if pick < weight {
            return v.value.clone();
        }
        pick -= weight;
    }
    values[0].value.clone()
}

/// A purchase window, the longer ones more often, as marketers ask.
fn window(rng: &mut StdRng) -> u16 {
    WINDOWS[[0, 1, 1, 2, 2, 3, 3, 3][rng.random_range(0..8)]]
}

fn set_condition(fields: &[FieldInfo], rng: &mut StdRng) -> Value {
    let name = match rng.random_range(0..10) {
        0..=3 => format!("brand_{}d", window(rng)),
        4..=5 => format!("category_{}d", window(rng)),
        6..=7 => format!("product_{}d", window(rng)),
        8 => "last_brand".to_owned(),
        _ => "last_product".to_owned(),
    };
    let info = field(fields, &name);
    if rng.random_bool(0.5) {
        json!({"field": name, "op": "eq", "value": popular_value(info, rng)})
    } else {
        let values: Vec<String> = (0..rng.random_range(2..=3)).map(|_| popular_value(info, rng)).collect();
        json!({"field": name, "op": "in", "value": values})
    }
}

fn range_condition(fields: &[FieldInfo], rng: &mut StdRng) -> Value {
    let name = match rng.random_range(0..8) {
        0 => format!("orders_{}d", window(rng)),
        1 => format!("spend_{}d", window(rng)),
        2 => format!("aov_{}d", window(rng)),
        3 => "days_since_last_purchase".to_owned(),
        4 => "days_since_signup".to_owned(),
        5 => "orders_total".to_owned(),
        6 => "spend_total".to_owned(),
        _ => "days_since_first_purchase".to_owned(),
    };
    let info = field(fields, &name);
    assert_eq!(info.kind, Kind::Number);
    // Thresholds at the field's quantiles (10th, 25th, 50th, 75th, 90th percentile).
    let q = info.quantiles.clone().unwrap_or_else(|| vec![0; 5]);
    match rng.random_range(0..3) {
        0 => json!({"field": name, "op": "gte", "value": q[rng.random_range(0..3)]}),
        1 => json!({"field": name, "op": "lte", "value": q[rng.random_range(2..5)]}),
        _ => {
            json!({"field": name, "op": "between", "value": [q[rng.random_range(0..2)], q[rng.random_range(3..5)]]})
        }
    }
}

/// One query of `n` conditions.
fn query(fields: &[FieldInfo], n: usize, rng: &mut StdRng) -> Value {
    let mut parts = Vec::new();
    let mut left = n;
    // Profile conditions.
    let profile = [
        json!({"field": "gender", "op": "eq", "value": if rng.random_bool(0.7) { "F" } else { "M" }}),
        {
            let lo = 20 + 10 * rng.random_range(0..4);
            json!({"field": "age", "op": "between", "value": [lo, lo + 9 + 10 * rng.random_range(0..2)]})
        },
        json!({"field": "email_opt_in", "op": "eq", "value": true}),
    ];
    for condition in profile.into_iter().take(left.min(if n <= 3 { 1 } else { 3 })) {
        parts.push(condition);
        left -= 1;
    }
    // A few AND-ed OR-groups share most of the rest; broad groups keep the segment non-empty.
    let ranges = (n / 100 + 1).min(4).min(left);
    let negated = if left > ranges + 4 { (n / 50).clamp(1, 3) } else { 0 };
    let mut in_groups = left - ranges - negated;
    let groups = ((n as f64).log2() / 2.0).round().clamp(1.0, 4.0) as usize;
    for g in 0..groups {
        if in_groups == 0 {
            break;
        }
        let size = if g + 1 == groups { in_groups } else { in_groups.div_ceil(groups - g) };
        let leaves: Vec<Value> = (0..size).map(|_| set_condition(fields, rng)).collect();
        parts.push(if leaves.len() == 1 {
            leaves.into_iter().next().expect("one")
        } else {
            json!({"any": leaves})
        });
        in_groups -= size;
    }
    for _ in 0..ranges {
        parts.push(range_condition(fields, rng));
    }
    for _ in 0..negated {
        let channel = json!({"field": format!("channel_{}d", window(rng)), "op": "eq", "value": "offline"});
        parts.push(json!({"not": if rng.random_bool(0.5) { channel } else { set_condition(fields, rng) }}));
    }
    json!({"all": parts})
}
