//! Customers: the hidden profile of each customer (when they joined, how often they buy,
//! which brands and channel they favour) and the customers table published from it.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, BooleanArray, Date32Array, RecordBatch};
use arrow_schema::ArrowError;
use rand::Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use tamsa_model::Day;

use crate::calendar::{Calendar, HISTORY_DAYS};
use crate::catalog::Catalog;
use crate::rng::{PartRng, Stream};
use crate::schema;

/// Customers are numbered from 1; part `p` holds a fixed range of them.
pub(crate) fn customer_number(part: u64, part_size: u64, index: usize) -> u64 {
    part * part_size + index as u64 + 1
}

/// Writes the id of customer `number` ("C00000001") into `buf`.
pub(crate) fn format_customer_id(buf: &mut String, number: u64) {
    buf.clear();
    let _ = write!(buf, "C{number:08}");
}

/// Regions with weights roughly following population.
const REGIONS: [(&str, f64); 17] = [
    ("서울", 19.5),
    ("경기", 26.0),
    ("인천", 5.8),
    ("부산", 6.3),
    ("대구", 4.5),
    ("광주", 2.7),
    ("대전", 2.8),
    ("울산", 2.1),
    ("세종", 0.8),
    ("강원", 2.8),
    ("충북", 3.0),
    ("충남", 4.0),
    ("전북", 3.3),
    ("전남", 3.3),
    ("경북", 4.8),
    ("경남", 6.2),
    ("제주", 1.4),
];

/// Membership tiers, lowest first.
const TIERS: [&str; 5] = ["WELCOME", "SILVER", "GOLD", "VIP", "VVIP"];

/// Location of the log-normal purchase rate, in orders over the whole history. Tuned so
/// that customers average about ten purchase lines.
const RATE_MU: f64 = 1.46;
/// Spread of the log-normal purchase rate; large, so a few customers buy very often.
const RATE_SIGMA: f64 = 1.3;
/// Customers signed up over this many years up to the last day.
const SIGNUP_YEARS: i32 = 10;
/// Growth rate of signups: the last year sees e^(growth / years) times more signups per
/// year than the one before, about 13% more.
const SIGNUP_GROWTH: f64 = 1.2;
/// Most orders one customer places in the whole history.
pub(crate) const MAX_ORDERS: u32 = 1_500;

/// What is known about one customer, published or not.
pub(crate) struct Profile {
    /// First day the customer may buy (not before signing up, not before the history).
    pub(crate) active_from: Day,
    /// Last day the customer buys (earlier than the end of history for lapsed customers).
    pub(crate) active_to: Day,
    /// Number of orders (refunds aside) the customer places.
    pub(crate) orders: u32,
    /// Whether the first order is placed on `active_from`, the day of signing up.
    pub(crate) buys_at_signup: bool,
    /// Probability that an order is placed online.
    pub(crate) online_share: f64,
    /// Favourite brands, most favoured first; only `brand_count` are used.
    pub(crate) brands: [u16; 3],
    /// Number of favourite brands (1 to 3).
    pub(crate) brand_count: u8,
    /// Probability that a purchase line is from a favourite brand.
    pub(crate) loyalty: f64,
    birth_date: Option<Day>,
    gender: Option<&'static str>,
    region: Option<&'static str>,
    tier: Option<&'static str>,
    signup_date: Option<Day>,
    email_opt_in: Option<bool>,
    sms_opt_in: Option<bool>,
}

fn pick_weighted<T: Copy>(rng: &mut PartRng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|&(_, w)| w).sum();
    let mut u = rng.random::<f64>() * total;
    for &(item, w) in items {
        if u < w {
            return item;
        }
        u -= w;
    }
    items[items.len() - 1].0
}

fn maybe_bool(rng: &mut PartRng, p_true: f64) -> Option<bool> {
    if rng.random::<f64>() < 0.05 {
        None
    } else {
        Some(rng.random::<f64>() < p_true)
    }
}

/// The profiles of the `count` customers of part `part`, drawn from their own stream.
pub(crate) fn profiles(
    seed: u64,
    part: u64,
    count: usize,
    calendar: &Calendar,
    catalog: &Catalog,
) -> Vec<Profile> {
    let mut rng = PartRng::new(seed, Stream::Profiles, part);
    let (first, last) = (calendar.first(), calendar.last());
    (0..count)
        .map(|_| {
            // Gender: mostly women; a few values are missing, lower case or junk.
            let u = rng.random::<f64>();
            let female = rng.random::<f64>() < 0.7;
            let gender = if u < 0.02 {
                None
            } else if u < 0.024 {
                Some(if female { "f" } else { "m" })
            } else if u < 0.027 {
                Some(["X", "U", "N/A"][rng.random_range(0..3)])
            } else {
                Some(if female { "F" } else { "M" })
            };

            // Age on the last day: mostly 18 to 70, peaking in the thirties.
            let age = if rng.random::<f64>() < 0.8 {
                let z: f64 = StandardNormal.sample(&mut rng);
                36.0 + 9.0 * z
            } else {
                rng.random_range(18.0..70.0)
            }
            .clamp(15.0, 88.0);
            let birth = last - (age * 365.25) as Day - rng.random_range(0..365);
            let birth_date = (rng.random::<f64>() >= 0.03).then_some(birth);

            let u = rng.random::<f64>();
            let region = if u < 0.01 {
                None
            } else if u < 0.015 {
                Some("")
            } else {
                Some(pick_weighted(&mut rng, &REGIONS))
            };

            // Signup: over the last ten years, more each year as the membership grows.
            let x = (1.0 + rng.random::<f64>() * SIGNUP_GROWTH.exp_m1()).ln() / SIGNUP_GROWTH;
            let signup = last - ((1.0 - x) * f64::from(SIGNUP_YEARS * 365)) as Day;
            let signup_date = (rng.random::<f64>() >= 0.005).then_some(signup);

            // Activity: a log-normal rate over the window the customer is active in.
            let never_buys = rng.random::<f64>() < 0.08;
            let z: f64 = StandardNormal.sample(&mut rng);
            let rate = (RATE_MU + RATE_SIGMA * z).exp();
            let active_from = signup.max(first);
            let buys_at_signup = signup >= first && rng.random::<f64>() < 0.5;
            let active_to =
                if rng.random::<f64>() < 0.35 { rng.random_range(active_from..=last) } else { last };
            let share = f64::from(active_to - active_from + 1) / f64::from(HISTORY_DAYS);
            let mean = (rate * share).clamp(1e-6, f64::from(MAX_ORDERS) * 4.0);
            let drawn = Poisson::new(mean).map(|p| p.sample(&mut rng)).unwrap_or(0.0);
            let orders = if never_buys { 0 } else { (drawn as u32).min(MAX_ORDERS) };

            // Tier follows the number of orders, loosely.
            let noise: f64 = StandardNormal.sample(&mut rng);
            let score = f64::from(orders).ln_1p() + 0.35 * noise;
            let level = [2.5f64, 8.0, 25.0, 80.0].iter().filter(|t| score >= t.ln()).count();
            let tier = (rng.random::<f64>() >= 0.01).then_some(TIERS[level]);

            let email_opt_in = maybe_bool(&mut rng, 0.6);
            let sms_opt_in = maybe_bool(&mut rng, if email_opt_in == Some(true) { 0.7 } else { 0.2 });

            // Channel lean: mostly online, mostly in stores, or both.
            let u = rng.random::<f64>();
            let r = rng.random::<f64>();
            let online_share = if u < 0.6 {
                0.8 + 0.18 * r
            } else if u < 0.85 {
                0.03 + 0.17 * r
            } else {
                0.35 + 0.3 * r
            };

            let u = rng.random::<f64>();
            let brand_count: u8 = if u < 0.4 {
                1
            } else if u < 0.8 {
                2
            } else {
                3
            };
            let mut brands = [0u16; 3];
            for i in 0..usize::from(brand_count) {
                let mut brand = catalog.popular_brand(&mut rng);
                for _ in 0..4 {
                    if !brands[..i].contains(&brand) {
                        break;
                    }
                    brand = catalog.popular_brand(&mut rng);
                }
                brands[i] = brand;
            }
            let loyalty = 0.65 + 0.3 * rng.random::<f64>();

            Profile {
                active_from,
                active_to,
                orders,
                buys_at_signup,
                online_share,
                brands,
                brand_count,
                loyalty,
                birth_date,
                gender,
                region,
                tier,
                signup_date,
                email_opt_in,
                sms_opt_in,
            }
        })
        .collect()
}

/// The customers table rows of part `part`.
pub(crate) fn customers_batch(
    part: u64,
    part_size: u64,
    profiles: &[Profile],
) -> Result<RecordBatch, ArrowError> {
    let n = profiles.len();
    let mut ids = StringBuilder::with_capacity(n, n * 10);
    let mut genders = StringBuilder::with_capacity(n, n);
    let mut regions = StringBuilder::with_capacity(n, n * 6);
    let mut tiers = StringBuilder::with_capacity(n, n * 6);
    let mut buf = String::with_capacity(16);
    for (i, p) in profiles.iter().enumerate() {
        format_customer_id(&mut buf, customer_number(part, part_size, i));
        ids.append_value(&buf);
        genders.append_option(p.gender);
        regions.append_option(p.region);
        tiers.append_option(p.tier);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(ids.finish()),
        Arc::new(profiles.iter().map(|p| p.birth_date).collect::<Date32Array>()),
        Arc::new(genders.finish()),
        Arc::new(regions.finish()),
        Arc::new(tiers.finish()),
        Arc::new(profiles.iter().map(|p| p.signup_date).collect::<Date32Array>()),
        Arc::new(profiles.iter().map(|p| p.email_opt_in).collect::<BooleanArray>()),
        Arc::new(profiles.iter().map(|p| p.sms_opt_in).collect::<BooleanArray>()),
    ];
    RecordBatch::try_new(schema::customers(), columns)
}
