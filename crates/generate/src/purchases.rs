//! Purchases: the order history of each customer, one row per order line, with refunds
//! as separate negative lines of products bought earlier.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::ArrowError;
use rand::Rng;

use crate::calendar::Calendar;
use crate::catalog::Catalog;
use crate::customers::{customer_number, format_customer_id, Profile};
use crate::rng::{PartRng, Stream};
use crate::schema;

/// Probability that a purchase line is later refunded.
const REFUND_RATE: f64 = 0.016;
/// Probability that a channel is spelled in another case ("ONLINE", "Offline").
const ODD_CASE_RATE: f64 = 0.004;
/// Order numbers within a part have this many digits.
const ORDER_DIGITS: usize = 9;

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// The purchases of one part and how many orders they make.
pub(crate) struct PartPurchases {
    /// The order lines, in customer order and by time within a customer.
    pub(crate) batch: RecordBatch,
    /// Number of distinct orders (refunds included).
    pub(crate) orders: u64,
}

/// A refund waiting for its moment, so lines stay in time order.
struct Refund {
    at: i64,
    product: u16,
    quantity: i32,
    channel: &'static str,
}

/// Builds the lines of one part while keeping the order numbering.
struct Lines {
    order_ids: StringBuilder,
    customer_ids: StringBuilder,
    at: Vec<i64>,
    product_ids: StringBuilder,
    quantity: Vec<i32>,
    amount: Vec<i64>,
    channels: StringBuilder,
    part: u64,
    orders: u64,
    order_id: String,
}

impl Lines {
    fn with_capacity(part: u64, lines: usize) -> Self {
        Self {
            order_ids: StringBuilder::with_capacity(lines, lines * 14),
            customer_ids: StringBuilder::with_capacity(lines, lines * 9),
            at: Vec::with_capacity(lines),
            product_ids: StringBuilder::with_capacity(lines, lines * 7),
            quantity: Vec::with_capacity(lines),
            amount: Vec::with_capacity(lines),
            channels: StringBuilder::with_capacity(lines, lines * 7),
            part,
            orders: 0,
            order_id: String::with_capacity(16),
        }
    }

    /// Starts a new order: the next order id of the part.
    fn next_order(&mut self) {
        self.orders += 1;
        debug_assert!(self.orders < 10u64.pow(ORDER_DIGITS as u32));
        self.order_id.clear();
        let _ = write!(self.order_id, "O{:04}{:0width$}", self.part, self.orders, width = ORDER_DIGITS);
    }

    fn push(&mut self, customer: &str, at: i64, product_id: &str, quantity: i32, amount: i64, channel: &str) {
        self.order_ids.append_value(&self.order_id);
        self.customer_ids.append_value(customer);
        self.at.push(at);
        self.product_ids.append_value(product_id);
        self.quantity.push(quantity);
        self.amount.push(amount);
        self.channels.append_value(channel);
    }

    fn finish(mut self) -> Result<PartPurchases, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.order_ids.finish()),
            Arc::new(self.customer_ids.finish()),
            Arc::new(TimestampMicrosecondArray::from(self.at).with_timezone("UTC")),
            Arc::new(self.product_ids.finish()),
            Arc::new(Int32Array::from(self.quantity)),
            Arc::new(Int64Array::from(self.amount)),
            Arc::new(self.channels.finish()),
        ];
        let batch = RecordBatch::try_new(schema::purchases(), columns)?;
        Ok(PartPurchases { batch, orders: self.orders })
    }
}

fn channel_name(rng: &mut PartRng, online: bool) -> &'static str {
    let odd = rng.random::<f64>() < ODD_CASE_RATE;
    match (online, odd) {
        (true, false) => "online",
        (true, true) => "ONLINE",
        (false, false) => "offline",
        (false, true) => "Offline",
    }
}

fn lines_in_order(rng: &mut PartRng) -> usize {
    let u = rng.random::<f64>();
    if u < 0.58 {
        1
    } else if u < 0.83 {
        2
    } else if u < 0.94 {
        3
    } else {
        4
    }
}

fn quantity(rng: &mut PartRng) -> i32 {
    let u = rng.random::<f64>();
    if u < 0.78 {
        1
    } else if u < 0.93 {
        2
    } else if u < 0.98 {
        3
    } else if u < 0.995 {
        4
    } else {
        5
    }
}

fn choose_product(rng: &mut PartRng, catalog: &Catalog, profile: &Profile) -> u16 {
    if rng.random::<f64>() < profile.loyalty {
        let favourite = match profile.brand_count {
            1 => 0,
            2 => usize::from(rng.random::<f64>() >= 0.65),
            _ => {
                let u = rng.random::<f64>();
                usize::from(u >= 0.55) + usize::from(u >= 0.85)
            }
        };
        catalog.brand_product(rng, profile.brands[favourite])
    } else {
        catalog.any_product(rng)
    }
}

/// The purchases of the customers of part `part`, drawn from their own stream.
pub(crate) fn purchases_part(
    seed: u64,
    part: u64,
    part_size: u64,
    profiles: &[Profile],
    catalog: &Catalog,
    product_ids: &[String],
    calendar: &Calendar,
) -> Result<PartPurchases, ArrowError> {
    let mut rng = PartRng::new(seed, Stream::Purchases, part);
    let expected: u64 = profiles.iter().map(|p| u64::from(p.orders)).sum();
    let mut lines = Lines::with_capacity(part, (expected as f64 * 1.72) as usize + 16);
    let mut customer = String::with_capacity(16);
    let mut orders: Vec<(i64, bool)> = Vec::new();
    let mut pending: Vec<Refund> = Vec::new();
    let mut in_order: Vec<u16> = Vec::with_capacity(4);
    let last = calendar.last();

    for (i, profile) in profiles.iter().enumerate() {
        format_customer_id(&mut customer, customer_number(part, part_size, i));
        orders.clear();
        for k in 0..profile.orders {
            let day = if k == 0 && profile.buys_at_signup {
                profile.active_from
            } else {
                calendar.day_between(&mut rng, profile.active_from, profile.active_to)
            };
            let online = rng.random::<f64>() < profile.online_share;
            orders.push((calendar.moment(&mut rng, day, online), online));
        }
        orders.sort_unstable();

        for &(at, online) in &orders {
            emit_refunds_before(&mut lines, &mut pending, &customer, product_ids, catalog, Some(at));
            let channel = channel_name(&mut rng, online);
            lines.next_order();
            in_order.clear();
            for _ in 0..lines_in_order(&mut rng) {
                let mut product = choose_product(&mut rng, catalog, profile);
                for _ in 0..3 {
                    if !in_order.contains(&product) {
                        break;
                    }
                    product = choose_product(&mut rng, catalog, profile);
                }
                if in_order.contains(&product) {
                    continue;
                }
                in_order.push(product);
                let quantity = quantity(&mut rng);
                let price = catalog.products[usize::from(product)].price;
                lines.push(
                    &customer,
                    at,
                    &product_ids[usize::from(product)],
                    quantity,
                    price * i64::from(quantity),
                    channel,
                );

                if rng.random::<f64>() < REFUND_RATE {
                    let day = at.div_euclid(MICROS_PER_DAY) as i32 + rng.random_range(1..=14);
                    if day <= last {
                        let refund_at = calendar.moment(&mut rng, day, online);
                        let slot = pending.partition_point(|r| r.at <= refund_at);
                        pending.insert(slot, Refund { at: refund_at, product, quantity, channel });
                    }
                }
            }
        }
        emit_refunds_before(&mut lines, &mut pending, &customer, product_ids, catalog, None);
    }
    lines.finish()
}

/// Writes, each as its own order, the pending refunds dated before `until` (all of them
/// when `until` is `None`).
fn emit_refunds_before(
    lines: &mut Lines,
    pending: &mut Vec<Refund>,
    customer: &str,
    product_ids: &[String],
    catalog: &Catalog,
    until: Option<i64>,
) {
    let due = match until {
        Some(at) => pending.partition_point(|r| r.at < at),
        None => pending.len(),
    };
    for refund in pending.drain(..due) {
        let price = catalog.products[usize::from(refund.product)].price;
        lines.next_order();
        lines.push(
            customer,
            refund.at,
            &product_ids[usize::from(refund.product)],
            refund.quantity,
            -price * i64::from(refund.quantity),
            refund.channel,
        );
    }
}
