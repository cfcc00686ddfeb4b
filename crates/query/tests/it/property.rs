//! The bitmap engine against a row-by-row evaluation of the input contract, on small
//! random data sets and random query trees.
//!
//! The oracle here reads the generated rows themselves (not the loaded columns), computes
//! every field of every customer the slow way, evaluates the JSON query by walking it, and
//! builds the expected facets. The generator leans on colliding values so that window
//! edges, equal timestamps, refunds, nulls and skipped rows come up often.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeDelta};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use roaring::RoaringBitmap;
use serde_json::{json, Map, Value};
use tamsa_model::{catalog, format_day, Dimension, FieldDef, Kind};
use tamsa_query::{Engine, Facets, FieldValue, GroupCache, ProductCount, Source, WithCache};

use crate::fixture::{self, customer, product, purchase, Customer, Product, Purchase};

// ---------------------------------------------------------------------------------------
// Dates.

/// Parses a `YYYY-MM-DD` test date.
fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

/// Formats a day as `YYYY-MM-DD`.
fn text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// `day` moved by `days` days (earlier when negative).
fn shift(day: NaiveDate, days: i64) -> NaiveDate {
    day + TimeDelta::days(days)
}

/// The same month and day `years` years before `day` (29 February becomes 28 February).
fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_sub_months(Months::new(12 * years)).expect("date in range")
}

/// Whole days from `from` to `to`.
fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}

/// Completed years from `birth` to `on`: anniversaries passed, where the anniversary of
/// 29 February falls on 1 March in years without one. `None` when born after `on`.
fn completed_years(birth: NaiveDate, on: NaiveDate) -> Option<i64> {
    if birth > on {
        return None;
    }
    let anniversary = |year: i32| {
        NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(year, 3, 1).expect("1 March"))
    };
    let mut years = on.year() - birth.year();
    if anniversary(on.year()) > on {
        years -= 1;
    }
    Some(i64::from(years))
}

/// `a / b` rounded toward negative infinity.
fn floor_div(a: i64, b: i64) -> i64 {
    let quotient = a / b;
    if a % b != 0 && (a < 0) != (b < 0) {
        quotient - 1
    } else {
        quotient
    }
}

// ---------------------------------------------------------------------------------------
// The oracle.

/// The windows of the windowed fields, in days.
const WINDOW_DAYS: [i64; 4] = [30, 90, 180, 365];

/// One customer's value of one field.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    /// A number field; `None` is null.
    Num(Option<i64>),
    /// A category or bool field (bools as `true` / `false`).
    Cat(String),
    /// A set field.
    Set(BTreeSet<String>),
}

/// A purchase line the contract keeps, dated on or before the as-of day.
#[derive(Clone, Debug)]
struct Line {
    /// Position of the customer in the customers table.
    customer: usize,
    order: String,
    at: NaiveDateTime,
    product: String,
    amount: i64,
    online: bool,
}

/// A product as queries and facets see it.
#[derive(Clone, Debug)]
struct ProductInfo {
    name: String,
    brand: String,
    category: String,
}

/// What the index should hold, computed row by row from the generated tables.
struct Oracle {
    /// The as-of day.
    as_of: NaiveDate,
    /// customer_id, in table order.
    ids: Vec<String>,
    /// Per customer, field name → value.
    fields: Vec<HashMap<String, Val>>,
    /// The products table plus products only purchases name, by product_id.
    products: BTreeMap<String, ProductInfo>,
    /// The values of each data-derived dimension (in no particular order).
    values: HashMap<Dimension, Vec<String>>,
}

/// A region, tier, brand or category value: null or blank reads as `unknown`.
fn or_unknown(value: &Option<String>) -> String {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// The gender value of a customers row: F or M in any case, anything else U.
fn gender_of(value: &Option<String>) -> &'static str {
    match value.as_deref() {
        Some(g) if g.eq_ignore_ascii_case("f") => "F",
        Some(g) if g.eq_ignore_ascii_case("m") => "M",
        _ => "U",
    }
}

/// Parses a fixture timestamp (`YYYY-MM-DDTHH:MM:SS`, UTC).
fn timestamp(at: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S").expect("test timestamp")
}

/// The purchase rows the contract keeps (any date), with customers resolved by position.
fn valid_lines(customers: &[Customer], purchases: &[Purchase]) -> Vec<Line> {
    let by_id: HashMap<&str, usize> =
        customers.iter().enumerate().map(|(i, c)| (c.id.as_deref().expect("generated id"), i)).collect();
    purchases
        .iter()
        .filter_map(|p| {
            let online = match p.channel.as_deref()? {
                c if c.eq_ignore_ascii_case("online") => true,
                c if c.eq_ignore_ascii_case("offline") => false,
                _ => return None,
            };
            Some(Line {
                customer: *by_id.get(p.customer.as_deref()?)?,
                order: p.order.clone()?,
                at: timestamp(p.at.as_deref()?),
                product: p.product.clone()?,
                amount: p.amount?,
                online,
            })
        })
        .collect()
}

/// Sets of brands, categories and product ids of some lines.
fn line_sets<'a>(
    lines: impl Iterator<Item = &'a Line>,
    products: &BTreeMap<String, ProductInfo>,
) -> [BTreeSet<String>; 3] {
    let mut sets: [BTreeSet<String>; 3] = Default::default();
    for line in lines {
        let info = &products[&line.product];
        sets[0].insert(info.brand.clone());
        sets[1].insert(info.category.clone());
        sets[2].insert(line.product.clone());
    }
    sets
}

impl Oracle {
    /// Computes every field of every customer as of `as_of`, or as of the latest valid
    /// purchase day when `None`.
    fn new(
        customers: &[Customer],
        table: &[Product],
        purchases: &[Purchase],
        as_of: Option<NaiveDate>,
    ) -> Self {
        let valid = valid_lines(customers, purchases);
        let as_of = as_of
            .or_else(|| valid.iter().map(|l| l.at.date()).max())
            .expect("an as-of day or a valid purchase");
        let lines: Vec<Line> = valid.into_iter().filter(|l| l.at.date() <= as_of).collect();

        let mut products: BTreeMap<String, ProductInfo> = table
            .iter()
            .map(|p| {
                let info = ProductInfo {
                    name: p.name.clone(),
                    brand: or_unknown(&p.brand),
                    category: or_unknown(&p.category),
                };
                (p.id.clone(), info)
            })
            .collect();
        for line in &lines {
            products.entry(line.product.clone()).or_insert_with(|| ProductInfo {
                name: String::new(),
                brand: "unknown".into(),
                category: "unknown".into(),
            });
        }

        let distinct = |values: Vec<String>| -> Vec<String> {
            values.into_iter().collect::<BTreeSet<_>>().into_iter().collect()
        };
        let mut values = HashMap::new();
        values.insert(Dimension::Region, distinct(customers.iter().map(|c| or_unknown(&c.region)).collect()));
        values.insert(Dimension::Tier, distinct(customers.iter().map(|c| or_unknown(&c.tier)).collect()));
        values.insert(Dimension::Brand, distinct(products.values().map(|p| p.brand.clone()).collect()));
        values.insert(Dimension::Category, distinct(products.values().map(|p| p.category.clone()).collect()));
        values.insert(Dimension::Product, products.keys().cloned().collect());

        let fields = customers
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let mine: Vec<&Line> = lines.iter().filter(|l| l.customer == i).collect();
                Self::customer_fields(row, &mine, as_of, &products)
            })
            .collect();
        let ids = customers.iter().map(|c| c.id.clone().expect("generated id")).collect();
        Oracle { as_of, ids, fields, products, values }
    }

    /// The fields of one customer from its row and its kept lines.
    fn customer_fields(
        row: &Customer,
        mine: &[&Line],
        as_of: NaiveDate,
        products: &BTreeMap<String, ProductInfo>,
    ) -> HashMap<String, Val> {
        let mut f = HashMap::new();
        let mut put = |name: String, value: Val| {
            f.insert(name, value);
        };
        let flag = |v: Option<bool>| Val::Cat(v.unwrap_or(false).to_string());
        let birth = row.birth.as_deref().map(date);
        put("age".into(), Val::Num(birth.and_then(|b| completed_years(b, as_of))));
        put("gender".into(), Val::Cat(gender_of(&row.gender).into()));
        put("region".into(), Val::Cat(or_unknown(&row.region)));
        put("tier".into(), Val::Cat(or_unknown(&row.tier)));
        put("email_opt_in".into(), flag(row.email));
        put("sms_opt_in".into(), flag(row.sms));
        let signup = row.signup.as_deref().map(date).filter(|s| *s <= as_of);
        put("days_since_signup".into(), Val::Num(signup.map(|s| days_between(s, as_of))));

        for w in WINDOW_DAYS {
            let inside: Vec<&Line> =
                mine.iter().copied().filter(|l| days_between(l.at.date(), as_of) < w).collect();
            let orders = inside.iter().map(|l| l.order.as_str()).collect::<BTreeSet<_>>().len() as i64;
            let spend: i64 = inside.iter().map(|l| l.amount).sum();
            put(format!("orders_{w}d"), Val::Num(Some(orders)));
            put(format!("spend_{w}d"), Val::Num(Some(spend)));
            put(format!("aov_{w}d"), Val::Num((orders > 0).then(|| floor_div(spend, orders))));
            let [brands, categories, ids] = line_sets(inside.iter().copied(), products);
            put(format!("brand_{w}d"), Val::Set(brands));
            put(format!("category_{w}d"), Val::Set(categories));
            put(format!("product_{w}d"), Val::Set(ids));
            let online = inside.iter().any(|l| l.online);
            let offline = inside.iter().any(|l| !l.online);
            let channel = match (online, offline) {
                (true, true) => "both",
                (true, false) => "online",
                (false, true) => "offline",
                (false, false) => "none",
            };
            put(format!("channel_{w}d"), Val::Cat(channel.into()));
        }

        let orders = mine.iter().map(|l| l.order.as_str()).collect::<BTreeSet<_>>().len() as i64;
        put("orders_total".into(), Val::Num(Some(orders)));
        put("spend_total".into(), Val::Num(Some(mine.iter().map(|l| l.amount).sum())));
        let first = mine.iter().map(|l| l.at.date()).min();
        let last = mine.iter().map(|l| l.at.date()).max();
        put("days_since_first_purchase".into(), Val::Num(first.map(|d| days_between(d, as_of))));
        put("days_since_last_purchase".into(), Val::Num(last.map(|d| days_between(d, as_of))));
        let last_order = mine.iter().max_by(|a, b| (a.at, &a.order).cmp(&(b.at, &b.order))).map(|l| &l.order);
        let in_last = mine.iter().copied().filter(|l| Some(&l.order) == last_order);
        let [brands, categories, ids] = line_sets(in_last, products);
        put("last_brand".into(), Val::Set(brands));
        put("last_category".into(), Val::Set(categories));
        put("last_product".into(), Val::Set(ids));
        f
    }

    /// Whether customer `c` matches the JSON query `query`, walking the query as written.
    fn matches(&self, query: &Value, c: usize) -> bool {
        let node = query.as_object().expect("query node");
        if let Some(children) = node.get("all") {
            return children.as_array().expect("list").iter().all(|n| self.matches(n, c));
        }
        if let Some(children) = node.get("any") {
            return children.as_array().expect("list").iter().any(|n| self.matches(n, c));
        }
        if let Some(child) = node.get("not") {
            return !self.matches(child, c);
        }
        let field = node["field"].as_str().expect("field name");
        let op = node["op"].as_str().expect("operator");
        let value = &node["value"];
        match &self.fields[c][field] {
            Val::Num(x) => {
                if op == "exists" {
                    return x.is_some() == value.as_bool().expect("exists flag");
                }
                let Some(x) = *x else { return false };
                let x = x as f64;
                let v = |v: &Value| v.as_f64().expect("number");
                match op {
                    "eq" => x == v(value),
                    "gt" => x > v(value),
                    "gte" => x >= v(value),
                    "lt" => x < v(value),
                    "lte" => x <= v(value),
                    "between" => v(&value[0]) <= x && x <= v(&value[1]),
                    other => panic!("operator {other}"),
                }
            }
            Val::Cat(v) => named_values(op, value).contains(v),
            Val::Set(set) => named_values(op, value).iter().any(|v| set.contains(v)),
        }
    }

    /// The customers matching `query`, by position.
    fn members(&self, query: &Value) -> Vec<usize> {
        (0..self.ids.len()).filter(|&c| self.matches(query, c)).collect()
    }

    /// The value of a field for a customer.
    fn value(&self, c: usize, field: &str) -> &Val {
        &self.fields[c][field]
    }

    /// The category value of a field for a customer.
    fn category(&self, c: usize, field: &str) -> &str {
        match self.value(c, field) {
            Val::Cat(v) => v,
            other => panic!("{field} is not a category: {other:?}"),
        }
    }

    /// Counts of `members` per value of a category field, keyed in `order`.
    fn counts(&self, members: &[usize], field: &str, order: &[String]) -> Map<String, Value> {
        order
            .iter()
            .map(|v| {
                let n = members.iter().filter(|&&c| self.category(c, field) == v).count() as u64;
                (v.clone(), Value::from(n))
            })
            .collect()
    }

    /// Values of a data-derived category field, most common in the population first, ties
    /// by value.
    fn population_order(&self, dim: Dimension, field: &str) -> Vec<String> {
        let everyone: Vec<usize> = (0..self.ids.len()).collect();
        let mut values = self.values[&dim].clone();
        let count = |v: &String| everyone.iter().filter(|&&c| self.category(c, field) == v).count();
        values.sort_by(|a, b| count(b).cmp(&count(a)).then_with(|| a.cmp(b)));
        values
    }

    /// The facets the profile of `members` should show.
    fn facets(&self, members: &[usize]) -> Facets {
        let labels = ["<20", "20-29", "30-39", "40-49", "50-59", "60+", "unknown"];
        let mut ages = [0u64; 7];
        for &c in members {
            let bucket = match self.value(c, "age") {
                Val::Num(None) => 6,
                Val::Num(Some(a)) if *a < 20 => 0,
                Val::Num(Some(a)) if *a >= 60 => 5,
                Val::Num(Some(a)) => (*a / 10 - 1) as usize,
                other => panic!("age {other:?}"),
            };
            ages[bucket] += 1;
        }
        let age = labels.iter().zip(ages).map(|(l, n)| ((*l).to_owned(), Value::from(n))).collect();
        let fixed = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();

        let mut last: Vec<ProductCount> = self
            .products
            .iter()
            .map(|(id, info)| ProductCount {
                product_id: id.clone(),
                name: info.name.clone(),
                brand: info.brand.clone(),
                count: members
                    .iter()
                    .filter(|&&c| matches!(self.value(c, "last_product"), Val::Set(s) if s.contains(id)))
                    .count() as u64,
            })
            .filter(|p| p.count > 0)
            .collect();
        // Products are in id order already; a stable sort keeps it among equal counts.
        last.sort_by_key(|p| std::cmp::Reverse(p.count));
        last.truncate(10);

        let spend = members
            .iter()
            .map(|&c| match self.value(c, "spend_365d") {
                Val::Num(v) => v.unwrap_or(0),
                other => panic!("spend {other:?}"),
            })
            .sum();
        Facets {
            age,
            gender: self.counts(members, "gender", &fixed(&["F", "M", "U"])),
            channel_365d: self.counts(
                members,
                "channel_365d",
                &fixed(&["online", "offline", "both", "none"]),
            ),
            region: self.counts(members, "region", &self.population_order(Dimension::Region, "region")),
            tier: self.counts(members, "tier", &self.population_order(Dimension::Tier, "tier")),
            last_product: last,
            spend_365d_sum: spend,
        }
    }

    /// The values a condition on a field of dimension `dim` may name, as JSON.
    fn pool(&self, dim: Dimension) -> Vec<Value> {
        let strings = |v: &[&str]| v.iter().map(|s| Value::from(*s)).collect();
        match dim {
            Dimension::Gender => strings(&["F", "M", "U"]),
            Dimension::Channel => strings(&["online", "offline", "both", "none"]),
            Dimension::Bool => vec![Value::Bool(true), Value::Bool(false)],
            data => self.values[&data].iter().map(|v| Value::from(v.as_str())).collect(),
        }
    }

    /// The known values of a number field across customers, ascending (or just 0).
    fn numbers(&self, field: &str) -> Vec<i64> {
        let known: BTreeSet<i64> = self
            .fields
            .iter()
            .filter_map(|f| match &f[field] {
                Val::Num(v) => *v,
                other => panic!("{field} is not a number: {other:?}"),
            })
            .collect();
        if known.is_empty() {
            vec![0]
        } else {
            known.into_iter().collect()
        }
    }

    /// Resolves a query shape against this data set: fields from the catalog, values and
    /// thresholds from what occurs.
    fn query(&self, spec: &QuerySpec, fields: &[FieldDef]) -> Value {
        match spec {
            QuerySpec::All(children) => {
                json!({"all": children.iter().map(|c| self.query(c, fields)).collect::<Vec<_>>()})
            }
            QuerySpec::Any(children) => {
                json!({"any": children.iter().map(|c| self.query(c, fields)).collect::<Vec<_>>()})
            }
            QuerySpec::Not(child) => json!({"not": self.query(child, fields)}),
            QuerySpec::Cond(c) => {
                let def = &fields[c.field.index(fields.len())];
                let (op, value) = match def.kind {
                    Kind::Number => self.number_condition(c, &def.name),
                    _ => {
                        let pool = self.pool(def.dimension.expect("valued field"));
                        let pick = |i: &Index| pool[i.index(pool.len())].clone();
                        match c.op % 3 {
                            0 => ("eq", pick(&c.value)),
                            1 => (
                                "in",
                                Value::from(
                                    std::iter::once(&c.value).chain(&c.more).map(pick).collect::<Vec<_>>(),
                                ),
                            ),
                            _ => ("in", Value::from(c.more.iter().map(pick).collect::<Vec<_>>())),
                        }
                    }
                };
                json!({"field": def.name, "op": op, "value": value})
            }
        }
    }

    /// An operator and value for a number field, thresholds next to values that occur.
    fn number_condition(&self, c: &CondSpec, field: &str) -> (&'static str, Value) {
        let pool = self.numbers(field);
        let near = pool[c.value.index(pool.len())] + c.delta;
        let threshold = if c.half { Value::from(near as f64 + 0.5) } else { Value::from(near) };
        match c.op % 7 {
            0 => ("eq", threshold),
            1 => ("gt", threshold),
            2 => ("gte", threshold),
            3 => ("lt", threshold),
            4 => ("lte", threshold),
            5 => {
                let other = c.more.first().map_or(near, |i| pool[i.index(pool.len())]);
                ("between", json!([near.min(other), near.max(other)]))
            }
            _ => ("exists", Value::Bool(c.flag)),
        }
    }
}

/// The values an `in` or `eq` condition names, bools as `true` / `false`.
fn named_values(op: &str, value: &Value) -> Vec<String> {
    let items = if op == "in" { value.as_array().expect("list").clone() } else { vec![value.clone()] };
    items
        .iter()
        .map(|v| match v {
            Value::Bool(b) => b.to_string(),
            Value::String(s) => s.clone(),
            other => panic!("value {other}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Generators.

/// The days the generated dates centre on (leap days and year ends among them).
const BASES: [&str; 4] = ["2024-03-01", "2023-03-01", "2024-02-29", "2024-12-31"];

/// Purchase days relative to the base day: window edges on both sides, the base day and
/// the day after it.
const OFFSETS: [i64; 18] =
    [1, 0, 0, -1, -2, -29, -30, -31, -89, -90, -91, -179, -180, -181, -364, -365, -366, -700];

/// Purchase times of day, few so that timestamps collide.
const TIMES: [&str; 3] = ["00:00:00", "12:00:00", "23:59:59"];

/// Brand and category names of the generated products tables.
const BRANDS: [&str; 3] = ["Alpha", "Beta", "Gamma"];
const CATEGORIES: [&str; 3] = ["skin", "hair", "body"];

/// Product ids purchases name that the products table lacks.
const UNKNOWN_PRODUCTS: [&str; 2] = ["px1", "px2"];

/// One generated data set, the as-of day it is indexed at and the queries asked of it.
#[derive(Clone, Debug)]
struct Scenario {
    /// The as-of day given to the loader; `None` leaves it to the latest kept purchase.
    as_of: Option<NaiveDate>,
    customers: Vec<Customer>,
    products: Vec<Product>,
    purchases: Vec<Purchase>,
    queries: Vec<QuerySpec>,
}

/// The shape of a query, its fields and values chosen once the data set is known.
#[derive(Clone, Debug)]
enum QuerySpec {
    All(Vec<QuerySpec>),
    Any(Vec<QuerySpec>),
    Not(Box<QuerySpec>),
    Cond(CondSpec),
}

/// The choices of one condition: field, operator and values, by position.
#[derive(Clone, Debug)]
struct CondSpec {
    field: Index,
    op: u8,
    value: Index,
    more: Vec<Index>,
    /// Added to a number threshold: -1, 0 or 1.
    delta: i64,
    /// Whether a number threshold gets a half added.
    half: bool,
    /// The value of `exists`.
    flag: bool,
}

/// A purchase order before it is tied to the generated customers and products.
#[derive(Clone, Debug)]
struct OrderSpec {
    /// order_id is `o{order}`: few, so that ids repeat and compare as text (`o10` < `o2`).
    order: u8,
    customer: Index,
    /// 0: null customer_id, 1: unknown customer, else a generated customer.
    who: u8,
    /// Day relative to the base day.
    offset: i64,
    time: &'static str,
    channel: Option<&'static str>,
    /// Product (by position among table and unknown products) and amount of each line.
    lines: Vec<(Index, Option<i64>)>,
    /// 0: null order_id, 1: null purchased_at, 2: null product_id on the first line.
    broken: u8,
    /// Another order of the same customer at the same instant, by order number.
    twin: Option<u8>,
}

/// A customers row without its id; dates around `base`.
fn customer_row(base: NaiveDate) -> impl Strategy<Value = Customer> {
    let birth = prop_oneof![
        2 => Just(None),
        1 => Just(Some("2000-02-29".to_owned())),
        1 => Just(Some(text(shift(base, 1)))),
        8 => (select(vec![0u32, 1, 19, 20, 29, 30, 39, 40, 49, 50, 59, 60, 61, 85]), -1i64..=1)
            .prop_map(move |(years, s)| Some(text(shift(years_before(base, years), s)))),
    ];
    let owned = |v: Option<&str>| v.map(str::to_owned);
    let gender =
        select(vec![None, Some("F"), Some("f"), Some("M"), Some("m"), Some("U"), Some(""), Some("x")])
            .prop_map(owned);
    let region =
        select(vec![None, Some(""), Some("  "), Some("Seoul"), Some("Busan"), Some("Jeju")]).prop_map(owned);
    let tier = select(vec![None, Some(""), Some("gold"), Some("silver"), Some("vip")]).prop_map(owned);
    let signup = prop_oneof![
        1 => Just(None),
        4 => select(vec![0i64, 1, 29, 30, 400, -1, -5]).prop_map(move |d| Some(text(shift(base, -d)))),
    ];
    let flag = || select(vec![None, Some(true), Some(false)]);
    (birth, gender, region, tier, signup, flag(), flag()).prop_map(
        |(birth, gender, region, tier, signup, email, sms)| Customer {
            id: None,
            birth,
            gender,
            region,
            tier,
            signup,
            email,
            sms,
        },
    )
}

/// A brand or category that is sometimes null or blank.
fn blankable(roll: u8, value: &str) -> Option<String> {
    match roll {
        0 => None,
        1 => Some(" ".into()),
        _ => Some(value.into()),
    }
}

/// A products table of 1–6 products (sometimes up to 12, so that the last-product facet
/// has more than ten to cut) over 1–3 brands and 1–3 categories.
fn products_table() -> impl Strategy<Value = Vec<Product>> {
    (
        1usize..=3,
        1usize..=3,
        prop_oneof![3 => 1usize..=6, 1 => 7usize..=12]
            .prop_flat_map(|n| vec((any::<Index>(), any::<Index>(), 0u8..10, 0u8..10), n)),
    )
        .prop_map(|(brands, categories, rows)| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (b, c, b_roll, c_roll))| Product {
                    id: format!("p{i}"),
                    name: format!("Product {i}"),
                    brand: blankable(b_roll, BRANDS[b.index(brands)]),
                    category: blankable(c_roll, CATEGORIES[c.index(categories)]),
                })
                .collect()
        })
}

/// One order of 1–6 lines (a record holds up to four products of a last order; more are
/// listed apart), sometimes broken or with a twin at the same instant.
fn order_spec() -> impl Strategy<Value = OrderSpec> {
    let channel = prop_oneof![
        8 => select(vec![Some("online"), Some("Online"), Some("ONLINE"), Some("offline"), Some("OffLine")]),
        1 => select(vec![Some("store"), Some(""), None]),
    ];
    let amount = select(vec![Some(-500i64), Some(-5), Some(0), Some(1), Some(3), Some(100), Some(999), None]);
    let twin = prop_oneof![4 => Just(None), 1 => (0u8..25).prop_map(Some)];
    (
        (0u8..25, any::<Index>(), 0u8..20),
        (select(OFFSETS.to_vec()), select(TIMES.to_vec()), channel),
        vec((any::<Index>(), amount), 1..=6),
        0u8..20,
        twin,
    )
        .prop_map(|((order, customer, who), (offset, time, channel), lines, broken, twin)| OrderSpec {
            order,
            customer,
            who,
            offset,
            time,
            channel,
            lines,
            broken,
            twin,
        })
}

/// A condition with random choices.
fn cond_spec() -> impl Strategy<Value = CondSpec> {
    (
        any::<Index>(),
        any::<u8>(),
        any::<Index>(),
        vec(any::<Index>(), 0..3),
        -1i64..=1,
        prop::bool::weighted(0.1),
        any::<bool>(),
    )
        .prop_map(|(field, op, value, more, delta, half, flag)| CondSpec {
            field,
            op,
            value,
            more,
            delta,
            half,
            flag,
        })
}

/// A query tree up to four levels deep.
fn query_spec() -> impl Strategy<Value = QuerySpec> {
    cond_spec().prop_map(QuerySpec::Cond).prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(QuerySpec::All),
            vec(inner.clone(), 0..4).prop_map(QuerySpec::Any),
            inner.prop_map(|q| QuerySpec::Not(Box::new(q))),
        ]
    })
}

/// Turns order specs into purchases rows over the generated customers and products.
fn purchases_of(
    base: NaiveDate,
    customers: usize,
    products: &[Product],
    orders: &[OrderSpec],
) -> Vec<Purchase> {
    let product_ids: Vec<String> = products
        .iter()
        .map(|p| p.id.clone())
        .chain(UNKNOWN_PRODUCTS.iter().map(|p| (*p).to_owned()))
        .collect();
    let mut rows = Vec::new();
    for o in orders {
        let customer = match o.who {
            0 => None,
            1 => Some("zz".to_owned()),
            _ => Some(format!("c{}", o.customer.index(customers))),
        };
        let at = format!("{}T{}", text(shift(base, o.offset)), o.time);
        for (k, (product, amount)) in o.lines.iter().enumerate() {
            rows.push(Purchase {
                order: (o.broken != 0).then(|| format!("o{}", o.order)),
                customer: customer.clone(),
                at: (o.broken != 1).then(|| at.clone()),
                product: (o.broken != 2 || k > 0)
                    .then(|| product_ids[product.index(product_ids.len())].clone()),
                amount: *amount,
                channel: o.channel.map(str::to_owned),
            });
        }
        if let Some(twin) = o.twin {
            rows.push(Purchase {
                order: Some(format!("o{twin}")),
                customer: customer.clone(),
                at: Some(at),
                product: Some(product_ids[o.lines[0].0.index(product_ids.len())].clone()),
                amount: Some(7),
                channel: Some("offline".into()),
            });
        }
    }
    rows
}

/// A whole scenario: base day, tables, as-of day and 6–10 queries.
fn scenario() -> impl Strategy<Value = Scenario> {
    (0..BASES.len()).prop_flat_map(|b| {
        let base = date(BASES[b]);
        (
            vec(customer_row(base), 1..=40),
            products_table(),
            vec(order_spec(), 0..=45),
            select(vec![None, Some(0i64), Some(0), Some(-1)]),
            vec(query_spec(), 6..=10),
        )
            .prop_map(move |(mut customers, products, orders, as_of, queries)| {
                for (i, c) in customers.iter_mut().enumerate() {
                    c.id = Some(format!("c{i}"));
                }
                let purchases = purchases_of(base, customers.len(), &products, &orders);
                // Without valid purchases the as-of day must be given.
                let as_of = match as_of {
                    None if valid_lines(&customers, &purchases).is_empty() => Some(base),
                    None => None,
                    Some(d) => Some(shift(base, d)),
                };
                Scenario { as_of, customers, products, purchases, queries }
            })
    })
}

// ---------------------------------------------------------------------------------------
// The comparison.

/// Writes and indexes a data set as of `as_of` (`None`: the latest kept purchase day).
fn index(
    customers: &[Customer],
    products: &[Product],
    purchases: &[Purchase],
    as_of: Option<&str>,
) -> Engine {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture::write_input(dir.path(), customers, products, purchases);
    fixture::index(dir.path(), as_of).expect("index").0
}

/// The engine's value of a number, category or bool field, in the oracle's terms.
fn engine_value(engine: &Engine, field: usize, customer: u32) -> Option<Val> {
    Some(match engine.value(field, customer)? {
        FieldValue::Number(n) => Val::Num(n),
        FieldValue::Text(t) => Val::Cat(t.to_owned()),
        FieldValue::Bool(b) => Val::Cat(b.to_string()),
    })
}

/// The index as a source whose product lists cost what the test says, to force reading
/// set conditions from lists (0) or from bitmaps (`u64::MAX`).
struct Costed<'a> {
    index: &'a tamsa_index::Index,
    product_lists_cost: u64,
}

impl Source for Costed<'_> {
    fn population(&self) -> u64 {
        Source::population(self.index)
    }
    fn universe(&self) -> &RoaringBitmap {
        self.index.universe()
    }
    fn value_bitmap(&self, field: usize, value: u32) -> &RoaringBitmap {
        self.index.value_bitmap(field, value)
    }
    fn range(&self, field: usize, lo: i64, hi: i64, within: Option<&RoaringBitmap>) -> RoaringBitmap {
        self.index.range(field, lo, hi, within)
    }
    fn exists(&self, field: usize) -> &RoaringBitmap {
        self.index.exists(field)
    }
    fn estimate_range(&self, field: usize, lo: i64, hi: i64) -> u64 {
        self.index.estimate_range(field, lo, hi)
    }
    fn has_product_lists(&self, field: usize) -> bool {
        self.index.has_product_lists(field)
    }
    fn product_lists_within(&self, values: &[(usize, u32)], mask: &RoaringBitmap) -> RoaringBitmap {
        self.index.product_lists_within(values, mask)
    }
    fn product_lists_cost(&self) -> u64 {
        self.product_lists_cost
    }
}

/// Indexes a scenario and compares the as-of day, every customer's number, category and
/// bool values, and every query's members, count and facets with the oracle.
fn check(s: &Scenario) -> Result<(), TestCaseError> {
    let as_of = s.as_of.map(text);
    let engine = index(&s.customers, &s.products, &s.purchases, as_of.as_deref());
    let oracle = Oracle::new(&s.customers, &s.products, &s.purchases, s.as_of);
    prop_assert_eq!(format_day(engine.index.meta.as_of), text(oracle.as_of));

    let fields = catalog();
    let position: HashMap<&str, usize> =
        oracle.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    prop_assert_eq!(engine.index.population() as usize, oracle.ids.len());
    for customer in 0..engine.index.population() {
        let c = position[engine.customer_id(customer)];
        for (field, def) in fields.iter().enumerate() {
            if let Some(got) = engine_value(&engine, field, customer) {
                prop_assert_eq!(&got, oracle.value(c, &def.name), "{} of {}", def.name, oracle.ids[c]);
            }
        }
    }

    let mut queries: Vec<Value> = s.queries.iter().map(|q| oracle.query(q, fields)).collect();
    queries.push(json!({"all": []}));
    for query in &queries {
        let node = engine.parse(query).map_err(|e| TestCaseError::fail(format!("{query}: {e}")))?;
        let mut got: Vec<&str> = engine.segment(&node).iter().map(|c| engine.customer_id(c)).collect();
        got.sort_unstable();
        let members = oracle.members(query);
        let mut want: Vec<&str> = members.iter().map(|&c| oracle.ids[c].as_str()).collect();
        want.sort_unstable();
        prop_assert_eq!(&got, &want, "members of {}", query);
        // Evaluated in customer ranges side by side, the members are the same.
        let split = tamsa_query::evaluate_split(&node, &engine.index, 3);
        prop_assert_eq!(&split, &engine.segment(&node), "members of {} in 3 ranges", query);
        // Brand, category and product conditions read from product lists or from bitmaps,
        // whichever the cost model picks, give the same members.
        for cost in [0, u64::MAX] {
            let costed = Costed { index: &engine.index, product_lists_cost: cost };
            let got = tamsa_query::evaluate_split(&node, &costed, 3);
            prop_assert_eq!(&got, &split, "members of {} with product lists costing {}", query, cost);
        }
        // Step by step over a top-level `all`: each step counts the prefix's members.
        if let Some(Value::Array(children)) = query.get("all") {
            let nodes: Vec<_> = children.iter().map(|c| engine.parse(c).expect("valid child")).collect();
            let (members, counts) = tamsa_query::evaluate_steps(&nodes, &engine.index, 3);
            prop_assert_eq!(&members, &engine.segment(&node), "members of {} step by step", query);
            prop_assert_eq!(
                tamsa_query::evaluate_steps(&nodes, &engine.index, 1),
                (members.clone(), counts.clone()),
                "steps of {} on one thread",
                query
            );
            for (i, &count) in counts.iter().enumerate() {
                let prefix = json!({"all": children[..=i].to_vec()});
                let want = oracle.members(&prefix).len() as u64;
                prop_assert_eq!(count, want, "step {} of {}", i, query);
            }
            // With groups' results kept between queries (in a cache that keeps them all, in one
            // too small to keep any, and in the engine's own, shared by every query of this
            // scenario), asked twice, the steps and members are the same.
            for budget in [1 << 30, 64] {
                let cache = GroupCache::new(budget);
                let cached = WithCache { source: &engine.index, cache: &cache };
                for round in 0..2 {
                    // On one thread the first condition's kept result is read in place.
                    for parts in [1, 3] {
                        let got = tamsa_query::evaluate_steps(&nodes, &cached, parts);
                        prop_assert_eq!(
                            &got,
                            &(members.clone(), counts.clone()),
                            "steps of {} in {} parts kept in {} bytes, round {}",
                            query,
                            parts,
                            budget,
                            round
                        );
                    }
                    let got = tamsa_query::evaluate_split(&node, &cached, 3);
                    prop_assert_eq!(
                        &got,
                        &members,
                        "members of {} kept in {} bytes, round {}",
                        query,
                        budget,
                        round
                    );
                }
            }
            prop_assert_eq!(
                engine.steps(&nodes),
                (members.clone(), counts.clone()),
                "steps of {} by the engine",
                query
            );
        }

        let profile = engine.profile(&node);
        prop_assert_eq!(profile.count, want.len() as u64, "count of {}", query);
        prop_assert_eq!(profile.population, oracle.ids.len() as u64);
        // Serialized, so that key order counts too.
        let got = serde_json::to_string_pretty(&profile.facets).expect("json");
        let want = serde_json::to_string_pretty(&oracle.facets(&members)).expect("json");
        prop_assert_eq!(got, want, "facets of {}", query);
        // Counted in one pass over the members, with spend and top products from bitmaps,
        // or with per-value bitmaps, the facets agree.
        let segment = engine.segment(&node);
        prop_assert_eq!(
            engine.facets(&segment),
            engine.facets_by_pass(&segment),
            "facets of {} by pass",
            query
        );
        prop_assert_eq!(
            engine.facets(&segment),
            engine.facets_from_bitmaps(&segment),
            "facets of {} by bitmaps",
            query
        );
        // Records of two 32-bit product slots (a large catalog) count the same as four
        // 16-bit ones.
        prop_assert_eq!(
            engine.facets_by_pass(&segment),
            engine.facets_by_pass_wide(&segment),
            "facets of {} by pass with wide records",
            query
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        max_shrink_time: 120_000,
        ..ProptestConfig::default()
    })]

    /// Random data, random queries: the engine and the oracle agree on everything.
    #[test]
    fn engine_agrees_with_row_by_row_evaluation(s in scenario()) {
        check(&s)?;
    }
}

// ---------------------------------------------------------------------------------------
// Fixed edges.

/// The sorted ids matching a JSON query.
fn ids(engine: &Engine, query: Value) -> Vec<String> {
    fixture::ids(engine, &query.to_string())
}

/// A condition as JSON.
fn cond(field: &str, op: &str, value: Value) -> Value {
    json!({"field": field, "op": op, "value": value})
}

/// D−30 is outside the 30-day window and D−29 inside (D−365 / D−364 likewise for 365
/// days); purchases after the as-of day count nowhere.
#[test]
fn window_edges_and_days_after_as_of() {
    let d = date("2024-03-01");
    let at = |days: i64, time: &str| format!("{}T{time}", text(shift(d, days)));
    let customers: Vec<Customer> = ["a", "b", "c", "d", "e"].into_iter().map(customer).collect();
    let products = [product("p1", "Alpha", "skin")];
    let purchases = [
        purchase("o1", "a", &at(-30, "23:59:59"), "p1", 10, "online"),
        purchase("o2", "b", &at(-29, "00:00:00"), "p1", 20, "online"),
        purchase("o3", "c", &at(-365, "12:00:00"), "p1", 30, "offline"),
        purchase("o4", "d", &at(-364, "00:00:00"), "p1", 40, "offline"),
        purchase("o5", "e", &at(1, "00:00:00"), "p1", 50, "online"),
        purchase("o6", "e", &at(0, "23:59:59"), "p1", 60, "online"),
    ];
    let engine = index(&customers, &products, &purchases, Some("2024-03-01"));
    assert_eq!(ids(&engine, cond("orders_30d", "gte", json!(1))), ["b", "e"]);
    assert_eq!(ids(&engine, cond("orders_365d", "gte", json!(1))), ["a", "b", "d", "e"]);
    assert_eq!(ids(&engine, cond("orders_total", "eq", json!(1))), ["a", "b", "c", "d", "e"]);
    assert_eq!(ids(&engine, cond("spend_total", "eq", json!(60))), ["e"]);
    assert_eq!(ids(&engine, cond("days_since_last_purchase", "eq", json!(0))), ["e"]);
    assert_eq!(ids(&engine, cond("days_since_first_purchase", "between", json!([365, 365]))), ["c"]);
    assert_eq!(ids(&engine, cond("channel_365d", "eq", json!("offline"))), ["d"]);
    assert_eq!(ids(&engine, cond("channel_365d", "eq", json!("none"))), ["c"]);
    assert_eq!(ids(&engine, cond("channel_30d", "eq", json!("none"))), ["a", "c", "d"]);
}

/// The last order is the line with the greatest (purchased_at, order_id), order ids
/// compared as text, and it counts all of its lines.
#[test]
fn last_order_ties_break_by_order_id_as_text() {
    let customers: Vec<Customer> = ["a", "b"].into_iter().map(customer).collect();
    let products =
        [product("p1", "Alpha", "skin"), product("p2", "Beta", "hair"), product("p3", "Gamma", "body")];
    let noon = "2024-02-10T12:00:00";
    let purchases = [
        // Equal timestamps: "o-9" sorts after "o-10" as text, so it is a's last order.
        purchase("o-10", "a", noon, "p1", 5, "online"),
        purchase("o-9", "a", noon, "p2", 5, "online"),
        purchase("o-9", "a", noon, "p3", 5, "online"),
        // A later timestamp wins over a greater order_id.
        purchase("o1", "b", noon, "p1", 5, "offline"),
        purchase("o2", "b", "2024-02-10T11:59:59", "p2", 5, "offline"),
    ];
    let engine = index(&customers, &products, &purchases, Some("2024-03-01"));
    assert_eq!(ids(&engine, cond("last_product", "eq", json!("p1"))), ["b"]);
    assert_eq!(ids(&engine, cond("last_product", "in", json!(["p2", "p3"]))), ["a"]);
    assert_eq!(ids(&engine, cond("last_brand", "eq", json!("Gamma"))), ["a"]);
    assert_eq!(ids(&engine, cond("last_category", "eq", json!("skin"))), ["b"]);
    let profile = engine.profile(&engine.parse(&json!({"all": []})).expect("query"));
    let top: Vec<(&str, u64)> =
        profile.facets.last_product.iter().map(|p| (p.product_id.as_str(), p.count)).collect();
    assert_eq!(top, [("p1", 1), ("p2", 1), ("p3", 1)]);
}

/// A comparison never matches a null, so its negation includes the nulls.
#[test]
fn not_of_a_comparison_includes_nulls() {
    let customers = [
        Customer { birth: Some("1990-03-01".into()), ..customer("a") },
        customer("b"),
        Customer { birth: Some("2024-03-02".into()), ..customer("c") },
    ];
    let products = [product("p1", "Alpha", "skin")];
    let purchases = [purchase("o1", "a", "2024-02-01T00:00:00", "p1", 10, "online")];
    let engine = index(&customers, &products, &purchases, Some("2024-03-01"));
    // Born on the as-of day's month and day: the year is completed.
    assert_eq!(ids(&engine, cond("age", "eq", json!(34))), ["a"]);
    assert_eq!(ids(&engine, cond("age", "gte", json!(0))), ["a"]);
    assert_eq!(ids(&engine, json!({"not": cond("age", "gte", json!(0))})), ["b", "c"]);
    assert_eq!(ids(&engine, cond("age", "exists", json!(false))), ["b", "c"]);
    assert_eq!(ids(&engine, json!({"not": cond("aov_30d", "gt", json!(0))})), ["b", "c"]);
    assert_eq!(ids(&engine, json!({"not": {"any": []}})), ["a", "b", "c"]);
    assert_eq!(ids(&engine, json!({"all": []})), ["a", "b", "c"]);
    assert!(ids(&engine, json!({"any": []})).is_empty());
}

/// Negative amounts floor the average order value; lines of products missing from the
/// table count with brand and category `unknown`; bad channels and unknown customers skip.
#[test]
fn refunds_floor_the_average_and_unknown_products_are_kept() {
    let customers = [customer("a"), customer("b")];
    let products = [product("p1", "Alpha", "skin")];
    let purchases = [
        purchase("o1", "a", "2024-02-20T00:00:00", "p1", -5, "online"),
        purchase("o2", "a", "2024-02-21T00:00:00", "px", 0, "OFFLINE"),
        // Skipped: a channel that is neither online nor offline, and an unknown customer.
        purchase("o3", "b", "2024-02-21T00:00:00", "p1", 100, "store"),
        purchase("o4", "zz", "2024-02-21T00:00:00", "p1", 100, "online"),
    ];
    let engine = index(&customers, &products, &purchases, Some("2024-03-01"));
    assert_eq!(ids(&engine, cond("aov_30d", "eq", json!(-3))), ["a"]);
    assert_eq!(ids(&engine, cond("spend_30d", "eq", json!(-5))), ["a"]);
    assert_eq!(ids(&engine, cond("channel_30d", "eq", json!("both"))), ["a"]);
    assert_eq!(ids(&engine, cond("product_30d", "eq", json!("px"))), ["a"]);
    assert_eq!(ids(&engine, cond("brand_30d", "eq", json!("unknown"))), ["a"]);
    assert_eq!(ids(&engine, cond("last_category", "in", json!(["unknown"]))), ["a"]);
    assert_eq!(ids(&engine, cond("orders_total", "eq", json!(0))), ["b"]);
    let profile = engine.profile(&engine.parse(&json!({"all": []})).expect("query"));
    let top: Vec<(&str, &str)> =
        profile.facets.last_product.iter().map(|p| (p.product_id.as_str(), p.brand.as_str())).collect();
    assert_eq!(top, [("px", "unknown")]);
    assert_eq!(profile.facets.spend_365d_sum, -5);
}
