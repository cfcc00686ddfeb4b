//! Number fields: a packed column of values plus range-encoded bitmaps.
//!
//! Values are split into at most [`MAX_BUCKETS`] buckets by ascending upper bounds, and the
//! index keeps, for every bound, the bitmap of customers whose value is at most that bound
//! (a cumulative, or range-encoded, bitmap). A range condition then costs one or two of
//! those bitmaps plus a check of the raw values of at most one bucket per end, instead of
//! a scan of every customer.

use roaring::RoaringBitmap;

/// The most buckets a number field with many distinct values is split into.
pub const MAX_BUCKETS: usize = 32;

/// A field with at most this many distinct values (ages, small counts) gets a bucket per
/// value, so that no range over it checks values one by one.
pub const EXACT_BUCKETS: usize = 128;

/// What one operation over a whole-population bitmap costs, counted in values checked one
/// by one: a candidate set smaller than this plus the partial buckets is checked directly.
const BITMAP_OP_COST_DIVISOR: u64 = 256;

/// Integers packed in the narrowest unsigned width that holds `value - base`, the
/// width's maximum standing for null.
#[derive(Clone, Debug, PartialEq)]
pub enum Packed {
    /// Up to 254 distinct offsets.
    U8(Vec<u8>),
    /// Up to 65,534.
    U16(Vec<u16>),
    /// Up to 2^32 − 2.
    U32(Vec<u32>),
    /// Anything else.
    U64(Vec<u64>),
}

/// Stands for null in the unpacked values given to [`Column::pack`] and [`NumberIndex::build`].
pub const NULL: i64 = i64::MIN;

/// A column of nullable integers, one per customer.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Added to every stored offset.
    pub base: i64,
    /// The offsets.
    pub packed: Packed,
}

impl Column {
    /// Packs `values` ([`NULL`] for null).
    pub fn pack(values: &[i64]) -> Column {
        let present = || values.iter().copied().filter(|&v| v != NULL);
        let base = present().min().unwrap_or(0);
        let span = present().map(|v| v.abs_diff(base)).max().unwrap_or(0);
        let offset = |v: &i64| Some(*v).filter(|&v| v != NULL).map(|v| v.abs_diff(base));
        let packed = if span < u64::from(u8::MAX) {
            Packed::U8(values.iter().map(|v| offset(v).map_or(u8::MAX, |o| o as u8)).collect())
        } else if span < u64::from(u16::MAX) {
            Packed::U16(values.iter().map(|v| offset(v).map_or(u16::MAX, |o| o as u16)).collect())
        } else if span < u64::from(u32::MAX) {
            Packed::U32(values.iter().map(|v| offset(v).map_or(u32::MAX, |o| o as u32)).collect())
        } else {
            Packed::U64(values.iter().map(|v| offset(v).map_or(u64::MAX, |o| o)).collect())
        };
        Column { base, packed }
    }

    /// The members of `members` whose value is known and within `lo..=hi`.
    ///
    /// The bounds are turned into offsets once, so the loop compares packed integers of the
    /// column's own width; members are read a page at a time.
    pub fn members_within(&self, members: &RoaringBitmap, lo: i64, hi: i64) -> RoaringBitmap {
        // Offsets from `base`, clamped to the column's range (null is the width's maximum).
        let lo_off = if lo <= self.base { 0 } else { lo.abs_diff(self.base) };
        let hi_off = if hi < self.base { return RoaringBitmap::new() } else { hi.abs_diff(self.base) };
        if lo_off > hi_off {
            return RoaringBitmap::new();
        }
        fn filter<T: Copy + Into<u64>>(
            values: &[T],
            null: u64,
            members: &RoaringBitmap,
            lo: u64,
            hi: u64,
        ) -> RoaringBitmap {
            let hi = hi.min(null - 1);
            let mut out = Vec::new();
            let mut page = [0u32; 1024];
            let mut iter = members.iter();
            loop {
                let filled = iter.next_many(&mut page);
                if filled.is_empty() {
                    break;
                }
                for &i in filled.iter() {
                    let v: u64 = values[i as usize].into();
                    if lo <= v && v <= hi {
                        out.push(i);
                    }
                }
            }
            RoaringBitmap::from_sorted_iter(out).expect("bitmap members ascend")
        }
        match &self.packed {
            Packed::U8(v) => filter(v, u64::from(u8::MAX), members, lo_off, hi_off),
            Packed::U16(v) => filter(v, u64::from(u16::MAX), members, lo_off, hi_off),
            Packed::U32(v) => filter(v, u64::from(u32::MAX), members, lo_off, hi_off),
            Packed::U64(v) => filter(v, u64::MAX, members, lo_off, hi_off),
        }
    }

    /// The value of customer `i`.
    #[inline]
    pub fn get(&self, i: u32) -> Option<i64> {
        let i = i as usize;
        let offset = match &self.packed {
            Packed::U8(v) => Some(v[i]).filter(|&o| o != u8::MAX).map(u64::from),
            Packed::U16(v) => Some(v[i]).filter(|&o| o != u16::MAX).map(u64::from),
            Packed::U32(v) => Some(v[i]).filter(|&o| o != u32::MAX).map(u64::from),
            Packed::U64(v) => Some(v[i]).filter(|&o| o != u64::MAX),
        }?;
        Some(self.base.wrapping_add(offset as i64))
    }
}

/// A number field's index.
#[derive(Clone, Debug, PartialEq)]
pub struct NumberIndex {
    /// Every customer's value.
    pub column: Column,
    /// Customers whose value is not null.
    pub exists: RoaringBitmap,
    /// Ascending bucket upper bounds; the last is the greatest value.
    pub bounds: Vec<i64>,
    /// `cumulative[i]`: customers whose value is at most `bounds[i]`.
    pub cumulative: Vec<RoaringBitmap>,
}

impl NumberIndex {
    /// Indexes a column of values ([`NULL`] for null).
    pub fn build(values: &[i64]) -> NumberIndex {
        let mut sorted: Vec<i64> = values.iter().copied().filter(|&v| v != NULL).collect();
        sorted.sort_unstable();
        let mut distinct = sorted.clone();
        distinct.dedup();
        let bounds =
            if distinct.len() <= EXACT_BUCKETS { distinct } else { bucket_bounds(&sorted, MAX_BUCKETS) };
        let mut buckets = vec![RoaringBitmap::new(); bounds.len()];
        let mut exists = RoaringBitmap::new();
        for (i, &v) in values.iter().enumerate() {
            if v != NULL {
                let bucket = bounds.partition_point(|&b| b < v);
                buckets[bucket].try_push(i as u32).expect("members ascend");
                exists.try_push(i as u32).expect("members ascend");
            }
        }
        let mut cumulative = Vec::with_capacity(buckets.len());
        let mut running = RoaringBitmap::new();
        for bucket in buckets {
            running |= bucket;
            cumulative.push(running.clone());
        }
        NumberIndex { column: Column::pack(values), exists, bounds, cumulative }
    }

    /// Customers whose value is at least `lo` and at most `hi`, among `within` if given.
    pub fn range(&self, lo: i64, hi: i64, within: Option<&RoaringBitmap>) -> RoaringBitmap {
        if lo > hi || self.bounds.is_empty() {
            return RoaringBitmap::new();
        }
        if let Some(mask) = within {
            let bitmap_cost = self.partial_bucket_len(hi)
                + self.partial_bucket_len(lo.saturating_sub(1))
                + self.exists.len() / BITMAP_OP_COST_DIVISOR;
            if mask.len() <= bitmap_cost {
                return self.scan(mask, lo, hi);
            }
        }
        // Within a mask, each stored bitmap is cut to the mask before anything else, so the
        // work follows the mask (a customer-range shard costs its share, not the whole).
        let exists = || match within {
            Some(mask) => &self.exists & mask,
            None => self.exists.clone(),
        };
        match (lo == i64::MIN, hi == i64::MAX) {
            (true, true) => exists(),
            (true, false) => self.at_most(hi, within),
            (false, true) => exists() - self.at_most(lo - 1, within),
            (false, false) => self.at_most(hi, within) - self.at_most(lo - 1, within),
        }
    }

    /// How many values [`Self::at_most`] checks one by one for `c`: the size of the bucket
    /// `c` falls strictly inside, or 0 when `c` is at a bound or outside every bucket.
    fn partial_bucket_len(&self, c: i64) -> u64 {
        match self.bucket_inside(c) {
            Some(0) => self.cumulative[0].len(),
            Some(n) => self.cumulative[n].len() - self.cumulative[n - 1].len(),
            None => 0,
        }
    }

    /// The bucket `c` falls strictly inside: below its bound and not below its least value.
    /// The first bucket holds nothing below the field's least value, so a bound under it
    /// (`orders_total >= 0`) costs no check of values.
    fn bucket_inside(&self, c: i64) -> Option<usize> {
        let whole = self.bounds.partition_point(|&b| b <= c);
        let &bound = self.bounds.get(whole)?;
        let lowest = match whole {
            0 => self.column.base,
            n => self.bounds[n - 1] + 1,
        };
        (lowest <= c && c < bound).then_some(whole)
    }

    /// Customers whose value is at most `c`, among `within` if given.
    fn at_most(&self, c: i64, within: Option<&RoaringBitmap>) -> RoaringBitmap {
        let cut = |bitmap: &RoaringBitmap| match within {
            Some(mask) => bitmap & mask,
            None => bitmap.clone(),
        };
        let mut result = match self.bounds.partition_point(|&b| b <= c) {
            0 => RoaringBitmap::new(),
            n => cut(&self.cumulative[n - 1]),
        };
        if let Some(inside) = self.bucket_inside(c) {
            let bucket = match inside {
                0 => cut(&self.cumulative[0]),
                n => cut(&self.cumulative[n]) - &self.cumulative[n - 1],
            };
            result |= self.scan(&bucket, i64::MIN, c);
        }
        result
    }

    fn scan(&self, members: &RoaringBitmap, lo: i64, hi: i64) -> RoaringBitmap {
        self.column.members_within(members, lo, hi)
    }
}

/// Upper bounds splitting the ascending `sorted` values into at most `max` buckets of
/// about equal size; a value too frequent to share a bucket gets one of its own.
fn bucket_bounds(sorted: &[i64], max: usize) -> Vec<i64> {
    let mut bounds = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let left = (max - bounds.len()).max(1);
        let size = (sorted.len() - start).div_ceil(left);
        let bound = sorted[start + size - 1];
        bounds.push(bound);
        // Every copy of the bound belongs to this bucket.
        start = sorted.partition_point(|&v| v <= bound);
    }
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, f: impl Fn(usize) -> Option<i64>) -> Vec<i64> {
        (0..n).map(|i| f(i).unwrap_or(NULL)).collect()
    }

    fn naive(vals: &[i64], lo: i64, hi: i64) -> RoaringBitmap {
        vals.iter()
            .enumerate()
            .filter(|(_, &v)| v != NULL && lo <= v && v <= hi)
            .map(|(i, _)| i as u32)
            .collect()
    }

    #[test]
    fn packs_each_width_and_nulls() {
        for span in [10_i64, 1_000, 100_000, 10_000_000_000] {
            let col = Column::pack(&[-5, NULL, -5 + span, 0]);
            let got: Vec<_> = (0..4).map(|i| col.get(i)).collect();
            assert_eq!(got, [Some(-5), None, Some(-5 + span), Some(0)], "span {span}");
        }
        let col = Column::pack(&[i64::MIN + 1, i64::MAX, NULL]);
        assert_eq!(
            (0..3).map(|i| col.get(i)).collect::<Vec<_>>(),
            [Some(i64::MIN + 1), Some(i64::MAX), None]
        );
    }

    #[test]
    fn bounds_give_frequent_values_their_own_bucket() {
        let mut sorted = vec![0; 800];
        sorted.extend(1..=200);
        let bounds = bucket_bounds(&sorted, 8);
        assert_eq!(bounds[0], 0);
        assert_eq!(*bounds.last().unwrap(), 200);
        assert!(bounds.len() <= 8 && bounds.len() >= 6, "{bounds:?}");
        assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(bucket_bounds(&[3, 3, 3], 8), vec![3]);
        assert_eq!(bucket_bounds(&[], 8), Vec::<i64>::new());
    }

    #[test]
    fn few_distinct_values_get_a_bucket_each() {
        let vals = values(10_000, |i| Some((i % 90) as i64));
        let index = NumberIndex::build(&vals);
        assert_eq!(index.bounds, (0..90).collect::<Vec<i64>>());
        assert_eq!(index.partial_bucket_len(41), 0);
        assert_eq!(index.range(30, 39, None), naive(&vals, 30, 39));
    }

    #[test]
    fn a_bound_below_the_least_value_checks_no_values() {
        let vals = values(3_000, |i| if i % 5 == 1 { None } else { Some((i as i64 * 7) % 400) });
        let index = NumberIndex::build(&vals);
        // 400 distinct values: quantile buckets, the first holding 0 up to its bound.
        assert_eq!(index.column.base, 0);
        assert!(index.bounds[0] > 1, "{:?}", index.bounds);
        assert_eq!(index.partial_bucket_len(-1), 0);
        assert_eq!(index.partial_bucket_len(i64::MIN), 0);
        assert!(index.partial_bucket_len(index.bounds[0] - 1) > 0);
        let mask: RoaringBitmap = (0..3_000).step_by(2).collect();
        assert_eq!(index.range(0, i64::MAX, Some(&mask)), &index.exists & &mask);
        assert_eq!(index.range(-7, i64::MAX, None), index.exists);
        assert_eq!(index.range(i64::MIN, -1, Some(&mask)), RoaringBitmap::new());
    }

    #[test]
    fn ranges_match_a_scan() {
        let vals = values(5_000, |i| if i % 7 == 0 { None } else { Some((i as i64 * 37) % 1_000 - 100) });
        let index = NumberIndex::build(&vals);
        let mask: RoaringBitmap = (0..5_000).step_by(3).collect();
        let small_mask: RoaringBitmap = (0..5_000).step_by(97).collect();
        for (lo, hi) in [
            (i64::MIN, i64::MAX),
            (i64::MIN, -101),
            (i64::MIN, -100),
            (i64::MIN, 250),
            (251, i64::MAX),
            (-100, 899),
            (17, 17),
            (18, 17),
            (900, i64::MAX),
            (899, 899),
            (-5_000, 5_000),
        ] {
            let expect = naive(&vals, lo, hi);
            assert_eq!(index.range(lo, hi, None), expect, "{lo}..={hi}");
            assert_eq!(index.range(lo, hi, Some(&mask)), &expect & &mask, "{lo}..={hi} in mask");
            assert_eq!(
                index.range(lo, hi, Some(&small_mask)),
                &expect & &small_mask,
                "{lo}..={hi} in small mask"
            );
        }
    }
}
