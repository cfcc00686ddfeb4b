//! Bitmaps that answer a large segment's spend sum and top last-purchased products with
//! bitmap cardinalities instead of a pass over its members.
//!
//! A pass reads each member's spend and last-order list: millions of scattered reads for a
//! broad segment (about 7 ns a member on one core, most of them cache misses). Counting the
//! members within a few bitmaps streams through memory instead:
//! - the spend column as bit slices (`bits[k]`: customers whose spend, less the least spend,
//!   has bit k set), so the sum is Σ 2^k × |members ∩ bits[k]| plus the least spend times the
//!   members with any spend: a few dozen intersections whatever the segment's size;
//! - each product's customers whose last order holds it, counted most common product first,
//!   stopping once no product left can enter the top list (a product's count within any
//!   segment is at most its count in the population).

use rayon::prelude::*;
use roaring::{MultiOps, RoaringBitmap};
use tamsa_index::{Column, Lists};

/// Customers per chunk when building: one container's worth, so chunks join without
/// splitting a container.
const CHUNK: u32 = 1 << 16;

/// A number column as bit slices, to sum it over any set of customers.
pub(crate) struct BitSlices {
    /// The least value; every other is stored as its distance from it.
    base: i64,
    /// Customers with a value.
    present: RoaringBitmap,
    /// `bits[k]`: customers whose value less `base` has bit k set.
    bits: Vec<RoaringBitmap>,
}

impl BitSlices {
    pub(crate) fn new(column: &Column, population: u32) -> BitSlices {
        let (base, top) = (0..population)
            .into_par_iter()
            .filter_map(|i| column.get(i))
            .fold(|| (i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
            .reduce(|| (i64::MAX, i64::MIN), |(a, b), (c, d)| (a.min(c), b.max(d)));
        if base > top {
            return BitSlices { base: 0, present: RoaringBitmap::new(), bits: Vec::new() };
        }
        let width = (64 - distance(top, base).leading_zeros()) as usize;
        let chunks: Vec<(RoaringBitmap, Vec<RoaringBitmap>)> = (0..population.div_ceil(CHUNK))
            .into_par_iter()
            .map(|chunk| {
                // One bit per customer of the chunk, for presence and for each slice.
                let mut present = vec![0u8; CHUNK as usize / 8];
                let mut bits = vec![vec![0u8; CHUNK as usize / 8]; width];
                let start = chunk * CHUNK;
                for customer in start..start.saturating_add(CHUNK).min(population) {
                    let Some(value) = column.get(customer) else { continue };
                    let (byte, bit) = (((customer - start) / 8) as usize, 1u8 << (customer % 8));
                    present[byte] |= bit;
                    let mut offset = distance(value, base);
                    while offset != 0 {
                        bits[offset.trailing_zeros() as usize][byte] |= bit;
                        offset &= offset - 1;
                    }
                }
                let bitmap = |bytes: &[u8]| RoaringBitmap::from_lsb0_bytes(start, bytes);
                (bitmap(&present), bits.iter().map(|b| bitmap(b)).collect())
            })
            .collect();
        let present = chunks.iter().map(|(present, _)| present).union();
        let bits = (0..width).map(|k| chunks.iter().map(|(_, bits)| &bits[k]).union()).collect();
        BitSlices { base, present, bits }
    }

    /// The sum of the values of `members` (a customer without a value adds nothing).
    pub(crate) fn sum(&self, members: &RoaringBitmap) -> i128 {
        let offsets: i128 = self
            .bits
            .par_iter()
            .enumerate()
            .map(|(k, bits)| i128::from(bits.intersection_len(members)) << k)
            .sum();
        i128::from(self.base) * i128::from(self.present.intersection_len(members)) + offsets
    }
}

/// `value - base` for `value >= base`, exact over the whole i64 range.
fn distance(value: i64, base: i64) -> u64 {
    value.wrapping_sub(base) as u64
}

/// Per product, the customers whose last order holds it.
pub(crate) struct LastProducts {
    members: Vec<RoaringBitmap>,
    /// Products bought last by anyone, most customers first.
    by_count: Vec<u32>,
}

impl LastProducts {
    pub(crate) fn new(lists: &Lists, products: usize, population: u32) -> LastProducts {
        let chunks: Vec<Vec<(u32, RoaringBitmap)>> = (0..population.div_ceil(CHUNK))
            .into_par_iter()
            .map(|chunk| {
                let mut members: std::collections::BTreeMap<u32, RoaringBitmap> = Default::default();
                let start = chunk * CHUNK;
                for customer in start..start.saturating_add(CHUNK).min(population) {
                    for &product in lists.get(customer) {
                        members.entry(product).or_default().insert(customer);
                    }
                }
                members.into_iter().collect()
            })
            .collect();
        let mut parts: Vec<Vec<&RoaringBitmap>> = vec![Vec::new(); products];
        for (product, part) in chunks.iter().flatten() {
            parts[*product as usize].push(part);
        }
        let members: Vec<RoaringBitmap> =
            parts.into_par_iter().map(|parts| parts.into_iter().union()).collect();
        let mut by_count: Vec<u32> =
            (0..products as u32).filter(|&p| !members[p as usize].is_empty()).collect();
        by_count.sort_by_key(|&p| std::cmp::Reverse(members[p as usize].len()));
        LastProducts { members, by_count }
    }

    /// The `k` products most often in the last orders of `members`, with their counts,
    /// most first and equal counts in the order of `before` (a total order of products).
    pub(crate) fn top(
        &self,
        members: &RoaringBitmap,
        k: usize,
        before: impl Fn(u32, u32) -> std::cmp::Ordering,
    ) -> Vec<(u64, u32)> {
        let order = |a: &(u64, u32), b: &(u64, u32)| b.0.cmp(&a.0).then_with(|| before(a.1, b.1));
        let mut top: Vec<(u64, u32)> = Vec::with_capacity(k + 1);
        for &product in &self.by_count {
            let bitmap = &self.members[product as usize];
            // Within `members` a product counts at most its population count: once that is
            // below the k-th count so far, no product left can enter.
            if top.len() == k && bitmap.len() < top[k - 1].0 {
                break;
            }
            let count = bitmap.intersection_len(members);
            if count == 0 {
                continue;
            }
            let entry = (count, product);
            let at = top.partition_point(|held| order(held, &entry).is_lt());
            if at < k {
                top.insert(at, entry);
                top.truncate(k);
            }
        }
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[Option<i64>]) -> Column {
        Column::pack(&values.iter().map(|v| v.unwrap_or(tamsa_index::NULL)).collect::<Vec<_>>())
    }

    #[test]
    fn bit_slices_sum_any_members_exactly() {
        let values: Vec<Option<i64>> = (0..200_000u32)
            .map(|i| match i % 7 {
                0 => None,
                1 => Some(-(i as i64) * 1_000),
                _ => Some(i64::from(i).pow(2) % 9_999_991),
            })
            .collect();
        let slices = BitSlices::new(&column(&values), values.len() as u32);
        for members in [
            RoaringBitmap::new(),
            (0..200_000).collect(),
            (0..200_000).step_by(3).collect(),
            (70_000..140_000).collect::<RoaringBitmap>(),
            [1u32, 7, 8, 199_999].into_iter().collect(),
        ] {
            let want: i128 = members.iter().map(|i| i128::from(values[i as usize].unwrap_or(0))).sum();
            assert_eq!(slices.sum(&members), want);
        }
    }

    #[test]
    fn bit_slices_of_extreme_and_missing_values() {
        let values = [Some(i64::MIN + 1), Some(i64::MAX), None, Some(0)];
        let slices = BitSlices::new(&column(&values), 4);
        assert_eq!(slices.sum(&(0..4).collect()), i128::from(i64::MIN + 1) + i128::from(i64::MAX));
        let nothing = BitSlices::new(&column(&[None, None]), 2);
        assert_eq!(nothing.sum(&(0..2).collect()), 0);
    }

    #[test]
    fn the_top_products_are_those_a_count_of_every_list_finds() {
        // Customer i's last order holds products i % 5 and, for every third, 5 + i % 11.
        let population = 150_000u32;
        let mut lists = Lists::default();
        for i in 0..population {
            lists.values.push(i % 5);
            if i % 3 == 0 {
                lists.values.push(5 + i % 11);
            }
            lists.ends.push(lists.values.len() as u64);
        }
        let products = LastProducts::new(&lists, 20, population);
        for members in [
            (0..population).collect::<RoaringBitmap>(),
            (0..population).filter(|i| i % 3 == 0 && i % 5 != 2).collect(),
            (1_000..1_003).collect(),
            RoaringBitmap::new(),
        ] {
            for k in [1, 3, 10] {
                let mut counts = [0u64; 20];
                members.iter().for_each(|i| lists.get(i).iter().for_each(|&p| counts[p as usize] += 1));
                let mut want: Vec<(u64, u32)> =
                    (0..20).map(|p| (counts[p as usize], p)).filter(|&(c, _)| c > 0).collect();
                want.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
                want.truncate(k);
                // Ties in descending product order, to show `before` decides them.
                assert_eq!(
                    products.top(&members, k, |a, b| b.cmp(&a)),
                    want,
                    "k {k}, {} members",
                    members.len()
                );
            }
        }
    }
}
