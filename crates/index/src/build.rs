//! Computes every customer's fields from the loaded purchase lines and turns them into
//! bitmaps and columns.
//!
//! Lines are sorted by customer and customers are processed in parallel chunks of 2^16,
//! the size of a roaring container, so each chunk's bitmaps cover their own containers
//! and merging them is cheap.

use std::ops::Range;
use std::sync::Mutex;

use rayon::prelude::*;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;
use tamsa_loader::{Dataset, Line};
use tamsa_model::{age_in_years, catalog, Day, Dimension, Kind, Progress, AGE_BUCKETS, WINDOWS};

use crate::number::{Column, NumberIndex, NULL};
use crate::{BuildReport, Dimensions, FieldIndex, Index, Lists, Meta, ProductLists, Strings, ValueIndex};

const CHUNK: usize = 1 << tamsa_loader::CHUNK_BITS;

/// The number fields computed from purchases, per customer, in this order.
#[derive(Clone, Copy)]
enum Num {
    Orders(usize),
    Spend(usize),
    Aov(usize),
    OrdersTotal,
    SpendTotal,
    DaysFirst,
    DaysLast,
}

/// The set fields computed from purchases.
#[derive(Clone, Copy)]
enum SetField {
    Window(Dimension, usize),
    Last(Dimension),
}

fn purchase_field(name: &str) -> Option<Result<Num, SetField>> {
    let window = |prefix: &str| {
        let rest = name.strip_prefix(prefix)?.strip_suffix('d')?;
        WINDOWS.iter().position(|w| w.to_string() == rest)
    };
    let dims =
        [("brand_", Dimension::Brand), ("category_", Dimension::Category), ("product_", Dimension::Product)];
    Some(match name {
        "orders_total" => Ok(Num::OrdersTotal),
        "spend_total" => Ok(Num::SpendTotal),
        "days_since_first_purchase" => Ok(Num::DaysFirst),
        "days_since_last_purchase" => Ok(Num::DaysLast),
        "last_brand" => Err(SetField::Last(Dimension::Brand)),
        "last_category" => Err(SetField::Last(Dimension::Category)),
        "last_product" => Err(SetField::Last(Dimension::Product)),
        _ => {
            if let Some(w) = window("orders_") {
                Ok(Num::Orders(w))
            } else if let Some(w) = window("spend_") {
                Ok(Num::Spend(w))
            } else if let Some(w) = window("aov_") {
                Ok(Num::Aov(w))
            } else {
                let (dim, w) = dims.iter().find_map(|(p, d)| window(p).map(|w| (*d, w)))?;
                Err(SetField::Window(dim, w))
            }
        }
    })
}

/// Per-customer purchase aggregates of one chunk.
struct ChunkOut {
    /// Per number slot (see [`NUM_SLOTS`]), the chunk's values.
    numbers: Vec<Vec<i64>>,
    /// Per window, each customer's channel code (index into `CHANNELS`).
    channels: Vec<Vec<u8>>,
    /// Per set slot, value number → customers.
    sets: Vec<FxHashMap<u32, RoaringBitmap>>,
    /// Distinct products of each customer's last order.
    last_products: Lists,
    /// Each customer's products within the longest window or in the last order.
    product_lists: ProductLists,
}

const W: usize = WINDOWS.len();
/// orders, spend, aov per window; then orders_total, spend_total, days_first, days_last.
const NUM_SLOTS: usize = 3 * W + 4;
/// brand, category, product per window; then last brand, category, product.
const SET_SLOTS: usize = 3 * W + 3;

fn num_slot(num: Num) -> usize {
    match num {
        Num::Orders(w) => w,
        Num::Spend(w) => W + w,
        Num::Aov(w) => 2 * W + w,
        Num::OrdersTotal => 3 * W,
        Num::SpendTotal => 3 * W + 1,
        Num::DaysFirst => 3 * W + 2,
        Num::DaysLast => 3 * W + 3,
    }
}

fn dim_slot(dim: Dimension) -> usize {
    match dim {
        Dimension::Brand => 0,
        Dimension::Category => 1,
        Dimension::Product => 2,
        _ => unreachable!("purchase sets are of brands, categories or products"),
    }
}

fn set_slot(set: SetField) -> usize {
    match set {
        SetField::Window(dim, w) => dim_slot(dim) * W + w,
        SetField::Last(dim) => 3 * W + dim_slot(dim),
    }
}

/// Computes every field of the dataset's customers.
pub fn build(mut data: Dataset, generation: u64, progress: &dyn Progress) -> Index {
    progress.start("ordering customers", 0);
    data.cluster();
    progress.finish();
    let Dataset { customers, products, lines, last_orders, as_of, report } = data;
    let population = customers.len();
    let purchase_lines = lines.len();

    let product_brand = &products.brand;
    let product_category = &products.category;
    progress.start("computing fields", population as u64);
    // Each chunk's blocks are joined (most chunks have one), sorted by customer, aggregated
    // and freed in turn.
    let chunks: Vec<(usize, Vec<Vec<Line>>)> = lines.into_chunks().enumerate().collect();
    let outs: Vec<ChunkOut> = chunks
        .into_par_iter()
        .map(|(chunk, mut blocks)| {
            let range = chunk * CHUNK..((chunk + 1) * CHUNK).min(population);
            let mut lines = if blocks.len() == 1 {
                blocks.pop().expect("one block")
            } else {
                let mut lines = Vec::with_capacity(blocks.iter().map(Vec::len).sum());
                for block in blocks {
                    lines.extend_from_slice(&block);
                }
                lines
            };
            lines.sort_unstable_by_key(|l| l.customer);
            let out = aggregate_chunk(
                range.clone(),
                &lines,
                &last_orders[range.clone()],
                as_of,
                product_brand,
                product_category,
            );
            progress.advance(range.len() as u64);
            out
        })
        .collect();
    progress.finish();
    drop(last_orders);

    progress.start("building bitmaps", 0);
    let dim_len = |dim| match dim {
        Dimension::Brand => products.brands.names().len(),
        Dimension::Category => products.categories.names().len(),
        _ => products.ids.len(),
    };
    let age_values: Vec<i64> =
        customers.birth.iter().map(|b| b.and_then(|b| age_in_years(b, as_of)).unwrap_or(NULL)).collect();
    // Each field gets its own share of the chunks' aggregates, moved, not copied, and freed
    // as soon as that field is built, so aggregates and finished fields do not pile up.
    let (mut numbers, mut sets, mut channels) = (shares(NUM_SLOTS), shares(SET_SLOTS), shares(W));
    let (mut last_products, mut product_lists) = (Lists::default(), ProductLists::default());
    for out in outs {
        last_products.append(&out.last_products);
        product_lists.append(&out.product_lists);
        for (slot, values) in out.numbers.into_iter().enumerate() {
            numbers[slot].get_mut().expect("no builder panicked").push(values);
        }
        for (slot, map) in out.sets.into_iter().enumerate() {
            sets[slot].get_mut().expect("no builder panicked").push(map);
        }
        for (w, codes) in out.channels.into_iter().enumerate() {
            channels[w].get_mut().expect("no builder panicked").push(codes);
        }
    }
    // Fields are independent: build them in parallel.
    let fields: Vec<FieldIndex> = catalog()
        .par_iter()
        .map(|def| match (def.name.as_str(), purchase_field(&def.name)) {
            ("age", _) => FieldIndex::Number(NumberIndex::build(&age_values)),
            ("days_since_signup", _) => {
                let values: Vec<i64> = customers
                    .signup
                    .iter()
                    .map(|s| s.filter(|&s| s <= as_of).map_or(NULL, |s| i64::from(as_of - s)))
                    .collect();
                FieldIndex::Number(NumberIndex::build(&values))
            }
            ("gender", _) => values_from_codes(customers.gender.iter().map(|&g| u32::from(g)), 3),
            ("region", _) => {
                values_from_codes(customers.region.iter().copied(), customers.regions.names().len())
            }
            ("tier", _) => values_from_codes(customers.tier.iter().copied(), customers.tiers.names().len()),
            ("email_opt_in", _) => {
                values_from_codes(customers.email_opt_in.iter().map(|&b| u32::from(!b)), 2)
            }
            ("sms_opt_in", _) => values_from_codes(customers.sms_opt_in.iter().map(|&b| u32::from(!b)), 2),
            (_, Some(Ok(num))) => {
                let values: Vec<i64> = take(&numbers, num_slot(num)).concat();
                FieldIndex::Number(NumberIndex::build(&values))
            }
            (_, Some(Err(set))) => {
                let dim = def.dimension.expect("set fields have a dimension");
                let mut bitmaps = vec![RoaringBitmap::new(); dim_len(dim)];
                for map in take(&sets, set_slot(set)) {
                    for (value, bitmap) in map {
                        bitmaps[value as usize] |= bitmap;
                    }
                }
                FieldIndex::Values(ValueIndex { bitmaps, codes: None })
            }
            (name, None) if def.kind == Kind::Category && name.starts_with("channel_") => {
                let w = def.window.and_then(|w| WINDOWS.iter().position(|&x| x == w)).expect("windowed");
                let codes: Vec<u8> = take(&channels, w).concat();
                values_from_codes(codes.into_iter().map(u32::from), 4)
            }
            (name, None) => unreachable!("field {name} has no builder"),
        })
        .collect();

    let mut age_buckets = vec![RoaringBitmap::new(); AGE_BUCKETS.len() + 1];
    for (i, &age) in age_values.iter().enumerate() {
        let bucket =
            if age == NULL { AGE_BUCKETS.len() } else { AGE_BUCKETS.partition_point(|b| b.1 <= age) - 1 };
        age_buckets[bucket].try_push(i as u32).expect("members ascend");
    }

    let (bytes, ends) = customers.ids.into_parts();
    let customer_ids = Strings { bytes, ends };
    let dims = Dimensions {
        region: customers.regions.names().to_vec(),
        tier: customers.tiers.names().to_vec(),
        brand: products.brands.names().to_vec(),
        category: products.categories.names().to_vec(),
        product: products.ids.iter().map(str::to_owned).collect(),
        product_name: products.names.clone(),
        product_brand: products.brand.clone(),
        product_category: products.category.clone(),
    };
    progress.finish();
    let built_at_unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Index {
        meta: Meta {
            generation,
            as_of,
            built_at_unix,
            population: population as u32,
            report: BuildReport { load: report, purchase_lines, ..BuildReport::default() },
        },
        dims,
        fields,
        customer_ids,
        last_products,
        product_lists,
        age_buckets,
        universe: RoaringBitmap::from_sorted_iter(0..population as u32).expect("ascending"),
    }
}

/// One share per field slot of the chunks' aggregates, each taken by exactly one field.
type Shares<T> = Vec<Mutex<Vec<T>>>;

fn shares<T>(slots: usize) -> Shares<T> {
    (0..slots).map(|_| Mutex::new(Vec::new())).collect()
}

fn take<T>(shares: &Shares<T>, slot: usize) -> Vec<T> {
    std::mem::take(&mut *shares[slot].lock().expect("no builder panicked"))
}

fn values_from_codes(codes: impl Iterator<Item = u32>, values: usize) -> FieldIndex {
    let mut bitmaps = vec![RoaringBitmap::new(); values];
    let mut all = Vec::new();
    for (i, code) in codes.enumerate() {
        bitmaps[code as usize].try_push(i as u32).expect("members ascend");
        all.push(i64::from(code));
    }
    FieldIndex::Values(ValueIndex { bitmaps, codes: Some(Column::pack(&all)) })
}

/// Scratch space reused from customer to customer.
#[derive(Default)]
struct Scratch {
    orders: Vec<(u64, Day)>,
    products: Vec<(u32, Day)>,
    keyed: Vec<(u32, Day)>,
}

fn aggregate_chunk(
    range: Range<usize>,
    lines: &[Line],
    last_orders: &[Option<tamsa_loader::LastOrder>],
    as_of: Day,
    product_brand: &[u32],
    product_category: &[u32],
) -> ChunkOut {
    let n = range.len();
    let mut out = ChunkOut {
        numbers: (0..NUM_SLOTS).map(|_| Vec::with_capacity(n)).collect(),
        channels: (0..W).map(|_| Vec::with_capacity(n)).collect(),
        sets: (0..SET_SLOTS).map(|_| FxHashMap::default()).collect(),
        last_products: Lists { ends: Vec::with_capacity(n), values: Vec::new() },
        product_lists: ProductLists::default(),
    };
    let mut scratch = Scratch::default();
    let mut rest = lines;
    for (offset, customer) in range.enumerate() {
        let count = rest.partition_point(|l| l.customer as usize == customer);
        let (mine, tail) = rest.split_at(count);
        rest = tail;
        aggregate_customer(
            customer as u32,
            mine,
            last_orders[offset],
            as_of,
            product_brand,
            product_category,
            &mut scratch,
            &mut out,
        );
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn aggregate_customer(
    customer: u32,
    lines: &[Line],
    last_order: Option<tamsa_loader::LastOrder>,
    as_of: Day,
    product_brand: &[u32],
    product_category: &[u32],
    scratch: &mut Scratch,
    out: &mut ChunkOut,
) {
    let since = |w: usize| as_of - i32::from(WINDOWS[w]);
    // Orders: the latest day of each distinct order, so an order counts in a window when
    // any of its lines falls in it.
    scratch.orders.clear();
    scratch.orders.extend(lines.iter().map(|l| (l.order, l.day)));
    latest_per_key(&mut scratch.orders);
    for w in 0..W {
        let orders = scratch.orders.iter().filter(|o| o.1 > since(w)).count() as i64;
        let spend: i64 = lines.iter().filter(|l| l.day > since(w)).map(|l| l.amount).sum();
        out.numbers[num_slot(Num::Orders(w))].push(orders);
        out.numbers[num_slot(Num::Spend(w))].push(spend);
        out.numbers[num_slot(Num::Aov(w))].push(if orders == 0 { NULL } else { spend.div_euclid(orders) });
        let online = lines.iter().any(|l| l.online && l.day > since(w));
        let offline = lines.iter().any(|l| !l.online && l.day > since(w));
        out.channels[w].push(match (online, offline) {
            (true, false) => 0,
            (false, true) => 1,
            (true, true) => 2,
            (false, false) => 3,
        });
    }
    out.numbers[num_slot(Num::OrdersTotal)].push(scratch.orders.len() as i64);
    out.numbers[num_slot(Num::SpendTotal)].push(lines.iter().map(|l| l.amount).sum());
    let first = lines.iter().map(|l| l.day).min();
    let last = lines.iter().map(|l| l.day).max();
    out.numbers[num_slot(Num::DaysFirst)].push(first.map_or(NULL, |d| i64::from(as_of - d)));
    out.numbers[num_slot(Num::DaysLast)].push(last.map_or(NULL, |d| i64::from(as_of - d)));

    // Sets: the latest day each product, brand and category was bought.
    scratch.products.clear();
    scratch.products.extend(lines.iter().map(|l| (l.product, l.day)));
    let dims: [(Dimension, &dyn Fn(u32) -> u32); 3] = [
        (Dimension::Brand, &|p| product_brand[p as usize]),
        (Dimension::Category, &|p| product_category[p as usize]),
        (Dimension::Product, &|p| p),
    ];
    for (dim, key) in dims {
        scratch.keyed.clear();
        scratch.keyed.extend(scratch.products.iter().map(|&(p, d)| (key(p), d)));
        latest_per_key(&mut scratch.keyed);
        for w in 0..W {
            let sets = &mut out.sets[set_slot(SetField::Window(dim, w))];
            for &(value, day) in &scratch.keyed {
                if day > since(w) {
                    sets.entry(value).or_default().try_push(customer).expect("members ascend");
                }
            }
        }
    }

    // The last order: every line of it counts.
    let mut last_products: Vec<u32> = match last_order {
        Some(last) => lines.iter().filter(|l| l.order == last.order).map(|l| l.product).collect(),
        None => Vec::new(),
    };
    last_products.sort_unstable();
    last_products.dedup();
    // `scratch.keyed` still holds each product with its latest day (products came last).
    for &(product, day) in &scratch.keyed {
        let class = (0..W).find(|&w| day > since(w));
        let last = last_products.binary_search(&product).is_ok();
        if class.is_some() || last {
            out.product_lists.entries.push(ProductLists::entry(product, class, last));
        }
    }
    out.product_lists.end_customer();
    for (dim, key) in dims {
        let mut values: Vec<u32> = last_products.iter().map(|&p| key(p)).collect();
        values.sort_unstable();
        values.dedup();
        let sets = &mut out.sets[set_slot(SetField::Last(dim))];
        for value in values {
            sets.entry(value).or_default().try_push(customer).expect("members ascend");
        }
    }
    out.last_products.values.extend_from_slice(&last_products);
    out.last_products.ends.push(out.last_products.values.len() as u64);
}

/// Sorts `(key, day)` pairs and keeps one per key, with its latest day.
fn latest_per_key<K: Ord + Copy>(pairs: &mut Vec<(K, Day)>) {
    pairs.sort_unstable();
    pairs.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            earlier.1 = earlier.1.max(later.1);
            true
        } else {
            false
        }
    });
}
