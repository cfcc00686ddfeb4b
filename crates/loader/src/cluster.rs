//! Numbers the customers so that similar ones are adjacent.
//!
//! A bitmap operation costs about one unit per member of an array container but only one
//! per 64 customers of a dense bitmap container, and nothing for a container the other side
//! lacks. Customers numbered in file order scatter every brand's buyers evenly over all
//! containers. Numbered by how recently they bought, then by the brand they buy most, then
//! by gender, the buyers of a brand within a window fill a few dense containers, the
//! customers who bought nothing lately sit together at the end where window conditions
//! never reach, and a segment's members lie close together in every per-customer column.
//!
//! The numbering is an internal detail: queries, profiles and exports speak of customer_ids.
//! It is deterministic (ties keep file order), so the same input gives the same index.

use rayon::prelude::*;
use tamsa_model::{Day, WINDOWS};

use crate::{Dataset, Line, LineChunks, CHUNK_BITS};

/// Recency classes: bought within each window (shortest first), bought earlier, never.
const NEVER: u64 = WINDOWS.len() as u64 + 1;
/// Bits of the sort key given to the main brand.
const BRAND_BITS: u32 = 24;
/// The main brand of a customer without purchases.
const NO_BRAND: u64 = (1 << BRAND_BITS) - 1;

impl Dataset {
    /// Renumbers the customers: by recency class, then the brand of most of their purchase
    /// lines (ties to the lower brand number), then gender, then file order. Every
    /// per-customer column, the last orders and the purchase lines follow.
    pub fn cluster(&mut self) {
        let population = self.customers.len();
        if population < 2 {
            return;
        }
        let mut sorted = self.cluster_keys();
        sorted.par_sort_unstable();
        // `order[new] = old`; `rank[old] = new`.
        let order: Vec<u32> = sorted.iter().map(|&k| k as u32).collect();
        drop(sorted);
        if order.iter().enumerate().all(|(new, &old)| new == old as usize) {
            return;
        }
        let mut rank = vec![0u32; population];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }

        let c = &mut self.customers;
        c.ids.reorder(&order, &rank);
        permute(&mut c.birth, &order);
        permute(&mut c.gender, &order);
        permute(&mut c.region, &order);
        permute(&mut c.tier, &order);
        permute(&mut c.signup, &order);
        permute(&mut c.email_opt_in, &order);
        permute(&mut c.sms_opt_in, &order);
        permute(&mut self.last_orders, &order);

        // Each block is freed as soon as its lines have moved (blocks are mapped directly, see
        // `BLOCK`), so the lines are never held twice.
        let old = std::mem::replace(&mut self.lines, LineChunks::new(population));
        for blocks in old.chunks {
            for block in blocks {
                for line in &block {
                    self.lines.push(Line { customer: rank[line.customer as usize], ..*line });
                }
            }
        }
    }

    /// Each customer's sort key: recency class, main brand and gender above, the customer's
    /// number in the low 32 bits.
    fn cluster_keys(&self) -> Vec<u64> {
        let brand_of = &self.products.brand;
        let as_of = self.as_of;
        let gender = &self.customers.gender;
        let population = self.customers.len();
        self.lines
            .chunks
            .par_iter()
            .enumerate()
            .flat_map_iter(|(chunk, blocks)| {
                let first = chunk << CHUNK_BITS;
                let len = (1usize << CHUNK_BITS).min(population - first);
                // (customer within the chunk, brand) pairs, counted as runs once sorted.
                let mut pairs: Vec<u64> = Vec::with_capacity(blocks.iter().map(Vec::len).sum());
                let mut last_day: Vec<Option<Day>> = vec![None; len];
                for line in blocks.iter().flatten() {
                    let local = line.customer as usize - first;
                    let brand = brand_of.get(line.product as usize).map_or(NO_BRAND, |&b| u64::from(b));
                    pairs.push((local as u64) << 32 | brand.min(NO_BRAND));
                    let day = &mut last_day[local];
                    *day = Some(day.map_or(line.day, |d| d.max(line.day)));
                }
                pairs.sort_unstable();
                let mut main = vec![(0usize, NO_BRAND); len];
                for run in pairs.chunk_by(|a, b| a == b) {
                    let (local, brand) = ((run[0] >> 32) as usize, run[0] & 0xffff_ffff);
                    // Runs of one customer come in brand order: a later brand wins only
                    // with strictly more lines.
                    if run.len() > main[local].0 {
                        main[local] = (run.len(), brand);
                    }
                }
                (0..len).map(move |local| {
                    let class = match last_day[local] {
                        Some(day) => recency_class(as_of - day),
                        None => NEVER,
                    };
                    let gender = u64::from(gender[first + local]);
                    let key = class << (BRAND_BITS + 2) | main[local].1 << 2 | gender.min(3);
                    key << 32 | (first + local) as u64
                })
            })
            .collect()
    }
}

/// The shortest window holding a purchase `days_ago` days before the as-of day, counted
/// from 0, or `WINDOWS.len()` when none does.
fn recency_class(days_ago: Day) -> u64 {
    WINDOWS.iter().position(|&w| days_ago < Day::from(w)).unwrap_or(WINDOWS.len()) as u64
}

/// Puts `values` in `order`: the value at `order[i]` moves to `i`.
fn permute<T: Copy + Send + Sync>(values: &mut Vec<T>, order: &[u32]) {
    *values = order.par_iter().map(|&old| values[old as usize]).collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Customers, LastOrder, LoadReport, Products};

    fn line(customer: u32, product: u32, day: Day) -> Line {
        Line {
            order: u64::from(customer) << 8 | day as u64,
            amount: 100,
            customer,
            product,
            day,
            online: true,
        }
    }

    #[test]
    fn customers_are_ordered_by_recency_then_main_brand_then_gender() {
        let mut customers = Customers::default();
        // c0: old buyer of brand 1; c1: recent buyer of brand 1 (F); c2: never bought;
        // c3: recent, mostly brand 0 (M); c4: recent, brand 1 (M).
        for (id, gender) in [("c0", 0u8), ("c1", 0), ("c2", 1), ("c3", 1), ("c4", 1)] {
            customers.ids.insert(id).unwrap();
            customers.birth.push(None);
            customers.gender.push(gender);
            customers.region.push(0);
            customers.tier.push(0);
            customers.signup.push(Some(i32::from(gender)));
            customers.email_opt_in.push(id == "c3");
            customers.sms_opt_in.push(false);
        }
        let mut products = Products::default();
        products.ids.insert("p0").unwrap();
        products.ids.insert("p1").unwrap();
        products.brand = vec![0, 1];
        let mut lines = LineChunks::new(5);
        for l in [line(0, 1, 10), line(1, 1, 995), line(3, 0, 990), line(3, 0, 991), line(3, 1, 999)] {
            lines.push(l);
        }
        lines.push(line(4, 1, 998));
        let last_orders = (0..5u64).map(|c| Some(LastOrder { micros: c as i64, order: c })).collect();
        let mut data =
            Dataset { customers, products, lines, last_orders, as_of: 1000, report: LoadReport::default() };
        data.cluster();
        let ids: Vec<&str> = data.customers.ids.iter().collect();
        assert_eq!(ids, ["c3", "c1", "c4", "c0", "c2"]);
        assert_eq!(data.customers.email_opt_in, [true, false, false, false, false]);
        assert_eq!(data.customers.signup, [Some(1), Some(0), Some(1), Some(0), Some(1)]);
        assert_eq!(data.customers.ids.find("c4"), Some(2));
        let orders: Vec<u64> = data.last_orders.iter().map(|o| o.unwrap().order).collect();
        assert_eq!(orders, [3, 1, 4, 0, 2]);
        let mut moved: Vec<(u32, Day)> =
            data.lines.chunks.iter().flatten().flatten().map(|l| (l.customer, l.day)).collect();
        moved.sort();
        assert_eq!(moved, [(0, 990), (0, 991), (0, 999), (1, 995), (2, 998), (3, 10)]);
    }
}
