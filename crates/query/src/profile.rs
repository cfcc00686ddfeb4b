//! The profile of a segment: its count and how it is made up (age, gender, channel,
//! region, tier, top last-purchased products, spend), beside the population's.
//!
//! A small segment is counted in one pass over its members: each customer's few-valued
//! facets (age bucket, gender, channel_365d, region, tier) are packed into one facet code, so
//! a member costs one histogram increment for them all, beside its last-order products and
//! its spend, all three read from one record per member ([`Records`]). From one customer in
//! [`SLICES_SHARE`] on, the pass counts facet codes alone (from the narrower code column) and
//! the spend sum and top products come from bitmap cardinalities ([`crate::slices`]), which
//! cost about the same whatever the segment's size. When the segment is more than half the
//! population the pass runs over the complement and subtracts from the population's totals.
//! Per-value bitmap cardinalities (one `intersection_len` per value) remain for indexes whose
//! facet values are too many to pack into 16 bits.

use prefetch_index::prefetch_index;
use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::Serialize;
use tamsa_index::{for_each_page, Column, FieldIndex, Index, Packed};
use tamsa_model::{Dimension, FieldId, AGE_BUCKETS};

use crate::slices::{BitSlices, LastProducts};
use crate::{Engine, Threads};

/// How many products the last-product facet lists.
pub const TOP_PRODUCTS: usize = 10;

/// One entry of the last-product facet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductCount {
    /// product_id.
    pub product_id: String,
    /// The product's name.
    pub name: String,
    /// The product's brand.
    pub brand: String,
    /// Customers whose last order holds it.
    pub count: u64,
}

/// The facets of a set of customers. Maps keep their value order when serialized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// Age buckets, then `unknown`.
    pub age: serde_json::Map<String, serde_json::Value>,
    /// F, M, U.
    pub gender: serde_json::Map<String, serde_json::Value>,
    /// online, offline, both, none over the last 365 days.
    pub channel_365d: serde_json::Map<String, serde_json::Value>,
    /// Per region, most common in the population first.
    pub region: serde_json::Map<String, serde_json::Value>,
    /// Per tier, most common in the population first.
    pub tier: serde_json::Map<String, serde_json::Value>,
    /// The most common products of last orders.
    pub last_product: Vec<ProductCount>,
    /// The sum of spend over the last 365 days.
    pub spend_365d_sum: i64,
}

/// The few-valued facets, in the order of [`FacetCodes::radices`].
const FEW_VALUED: usize = 5;

/// Each customer's age bucket, gender, channel_365d, region and tier packed into one
/// number (mixed radix), so that one histogram of codes counts all five facets.
pub(crate) struct FacetCodes {
    /// The code of each customer.
    codes: Vec<u16>,
    /// How many values each facet has: age buckets (unknown last), then the value numbers
    /// of gender, channel_365d, region and tier.
    radices: [usize; FEW_VALUED],
}

impl FacetCodes {
    /// Packs the facets of every customer, or `None` when their combinations do not fit
    /// in 16 bits (then the facets are counted from bitmaps).
    fn new(index: &Index, fields: [FieldId; FEW_VALUED - 1]) -> Option<FacetCodes> {
        let columns: Vec<(&Column, usize)> = fields
            .iter()
            .map(|&field| match index.field(field) {
                FieldIndex::Values(v) => Some((v.codes.as_ref()?, v.bitmaps.len())),
                FieldIndex::Number(_) => None,
            })
            .collect::<Option<_>>()?;
        let mut radices = [index.age_buckets.len(); FEW_VALUED];
        for (radix, (_, values)) in radices[1..].iter_mut().zip(&columns) {
            *radix = (*values).max(1);
        }
        if radices.iter().product::<usize>() > usize::from(u16::MAX) + 1 {
            return None;
        }
        let population = index.population() as usize;
        let mut codes = vec![0u16; population];
        // Age buckets first (bitmaps), then each coded field's value, most significant first.
        for (bucket, members) in index.age_buckets.iter().enumerate() {
            for member in members {
                codes[member as usize] = bucket as u16;
            }
        }
        codes.par_chunks_mut(1 << 16).enumerate().for_each(|(chunk, codes)| {
            let first = (chunk << 16) as u32;
            for (offset, code) in codes.iter_mut().enumerate() {
                let customer = first + offset as u32;
                for ((column, _), &radix) in columns.iter().zip(&radices[1..]) {
                    let value = column.get(customer).unwrap_or(0) as u16;
                    *code = *code * radix as u16 + value;
                }
            }
        });
        Some(FacetCodes { codes, radices })
    }

    /// The number of distinct codes.
    fn combinations(&self) -> usize {
        self.radices.iter().product()
    }

    /// Per facet, the count of each value, from a histogram of codes.
    fn split(&self, histogram: &[u64]) -> [Vec<u64>; FEW_VALUED] {
        let mut counts = self.radices.map(|radix| vec![0u64; radix]);
        for (mut code, &n) in histogram.iter().enumerate() {
            if n == 0 {
                continue;
            }
            for (facet, &radix) in self.radices.iter().enumerate().rev() {
                counts[facet][code % radix] += n;
                code /= radix;
            }
        }
        counts
    }
}

/// Each customer's facet code, spend and last-order products side by side, built when the
/// engine opens: a pass reads one 16-byte record per member instead of four scattered
/// columns, and counts a last order of up to four products (two with a catalog of
/// [`NARROW_PRODUCTS`] or more) without a branch (an empty slot counts toward a spare
/// counter), where a list of any length costs mispredicted branches and a second read.
pub(crate) struct Records {
    /// Per customer: its head, its spend offset from `spend_base` (`u32::MAX` when unknown
    /// or when offsets do not fit 32 bits), then its last order's products in the record's
    /// slots (each `products` when absent: with `narrow`, four 16-bit slots, two to a word;
    /// else two 32-bit ones) or, when the order lists more, where its list starts in
    /// `long_lists` (the low 32 bits) and its length. The head holds the facet code (0
    /// without codes) in bits 0..16, [`LONG`], and the high bits of a long list's start.
    records: Vec<[u32; 4]>,
    /// Last orders of more products than a record holds, back to back.
    long_lists: Vec<u32>,
    /// What spend offsets add to; `None` when they do not fit 32 bits (a pass then reads
    /// the spend column itself).
    spend_base: Option<i64>,
    /// Whether products fit 16 bits, so that a record holds four.
    narrow: bool,
}

/// Catalogs of fewer products than this (with one number to spare for an empty slot) have
/// records of four 16-bit product slots: in the 15M sample, where a last order has up to
/// four products, this took long lists (one member in six) out of the profile pass, its
/// largest wait.
pub(crate) const NARROW_PRODUCTS: usize = 0xffff;

/// Set in a record's head when the customer's last order lists more products than the
/// record's slots hold.
const LONG: u32 = 1 << 16;

/// How many members ahead a pass asks the processor to fetch a record. A segment's members are
/// scattered over the customer range, so nearly every record load misses the cache; asking for
/// the record a few dozen members ahead keeps that many misses in flight instead of one. On the
/// 15M benchmark suite 32 halved the profile pass (12 gained less, 64 no more).
const PREFETCH_AHEAD: usize = 32;

/// How many members ahead a pass reads a record (asked for [`PREFETCH_AHEAD`] members ahead,
/// so by then mostly arrived) to ask for its long list of last-order products. Measured with
/// records of two products, where one customer in six of the 15M sample had a long list and
/// it was the pass's largest wait: 8 cut the pass by about 11% (16 gained nothing, the record
/// had not arrived; 4 and 12 less or the same).
const LONG_AHEAD: usize = 8;

/// The members of `page`, asking for each one's entry of `column` [`PREFETCH_AHEAD`]
/// members before it is reached.
fn prefetching<'a, T>(page: &'a [u32], column: &'a [T]) -> impl Iterator<Item = u32> + 'a {
    page.iter().enumerate().map(move |(i, &member)| {
        if let Some(&ahead) = page.get(i + PREFETCH_AHEAD) {
            prefetch_index(column, ahead as usize);
        }
        member
    })
}

impl Records {
    /// The records of `index`, with four 16-bit product slots if `narrow` (products must
    /// then number fewer than [`NARROW_PRODUCTS`]) or two 32-bit ones.
    fn new(index: &Index, spend: &Column, codes: Option<&FacetCodes>, narrow: bool) -> Records {
        assert!(!narrow || index.dims.product.len() < NARROW_PRODUCTS, "products fit 16 bits");
        let lists = &index.last_products;
        let none = index.dims.product.len() as u32;
        let spend_base = match spend.packed {
            Packed::U64(_) => None,
            _ => Some(spend.base),
        };
        let mut long_lists = Vec::new();
        let records = (0..index.population())
            .map(|customer| {
                let code = codes.map_or(0, |codes| u32::from(codes.codes[customer as usize]));
                let spend = match spend_base {
                    Some(base) => spend.get(customer).map_or(u32::MAX, |v| v.abs_diff(base) as u32),
                    None => u32::MAX,
                };
                let pair = |a: u32, b: u32| a | b << 16;
                match *lists.get(customer) {
                    [] if narrow => [code, spend, pair(none, none), pair(none, none)],
                    [a] if narrow => [code, spend, pair(a, none), pair(none, none)],
                    [a, b] if narrow => [code, spend, pair(a, b), pair(none, none)],
                    [a, b, c] if narrow => [code, spend, pair(a, b), pair(c, none)],
                    [a, b, c, d] if narrow => [code, spend, pair(a, b), pair(c, d)],
                    [] => [code, spend, none, none],
                    [only] => [code, spend, only, none],
                    [first, second] => [code, spend, first, second],
                    ref long => {
                        // Bits 17..32 of the head take the start's bits from 32 on: lists of
                        // up to 2^47 entries, more than memory holds.
                        let start = long_lists.len() as u64;
                        long_lists.extend_from_slice(long);
                        let head = code | LONG | ((start >> 32) as u32) << 17;
                        [head, spend, start as u32, long.len() as u32]
                    }
                }
            })
            .collect();
        Records { records, long_lists, spend_base, narrow }
    }

    /// Where the products of a record whose head has [`LONG`] start in `long_lists`.
    fn long_start(&self, [head, _, start, _]: [u32; 4]) -> usize {
        (u64::from(head >> 17) << 32 | u64::from(start)) as usize
    }

    /// The products of a record whose head has [`LONG`].
    fn long_list(&self, record: [u32; 4]) -> &[u32] {
        let start = self.long_start(record);
        &self.long_lists[start..start + record[3] as usize]
    }
}

/// What the population-wide totals of the pass-based facets are, and the bitmaps that
/// answer large segments, computed once per index.
pub(crate) struct Totals {
    pass: Pass,
    codes: Option<FacetCodes>,
    records: Records,
    spend: BitSlices,
    last_products: LastProducts,
}

/// From this share of the population on (one customer in `SLICES_SHARE`), a segment's
/// spend sum and top products come from bitmaps rather than a pass over its members.
pub(crate) const SLICES_SHARE: u64 = 16;

/// Per-member sums the facets need.
#[derive(Clone)]
struct Pass {
    last_product: Vec<u64>,
    spend_365d: i128,
    /// How many members have each facet code (empty without facet codes).
    codes: Vec<u64>,
}

impl Pass {
    fn empty(products: usize, codes: usize) -> Pass {
        Pass { last_product: vec![0; products], spend_365d: 0, codes: vec![0; codes] }
    }

    fn add(mut self, other: &Pass) -> Pass {
        self.last_product.iter_mut().zip(&other.last_product).for_each(|(x, y)| *x += y);
        self.codes.iter_mut().zip(&other.codes).for_each(|(x, y)| *x += y);
        self.spend_365d += other.spend_365d;
        self
    }

    /// `self` minus `part` (the sums of a subset of `self`'s members).
    fn minus(mut self, part: &Pass) -> Pass {
        self.last_product.iter_mut().zip(&part.last_product).for_each(|(x, y)| *x -= y);
        self.codes.iter_mut().zip(&part.codes).for_each(|(x, y)| *x -= y);
        self.spend_365d -= part.spend_365d;
        self
    }
}

/// Below this many members a pass runs on one thread. Members scattered over a large index
/// cost tens of nanoseconds each (cache misses), so a few thousand already outweigh handing
/// half of them to another thread.
pub(crate) const PARALLEL_PASS_FROM: u64 = 4_096;

/// The sums of `members`: facet codes (with `codes`) and, with `records`, their spend and
/// last-order products.
fn pass(
    index: &Index,
    members: &RoaringBitmap,
    spend: &Column,
    codes: Option<&FacetCodes>,
    records: Option<&Records>,
    parallel_from: u64,
) -> Pass {
    let products = if records.is_some() { index.dims.product.len() } else { 0 };
    let combinations = codes.map_or(0, FacetCodes::combinations);
    // Members in customer ranges of about equal counts, one per thread, each read a page at
    // a time. (Similar customers are numbered together, so a segment's members bunch up.)
    let threads = if members.len() < parallel_from { 1 } else { rayon::current_num_threads().max(1) };
    let bounds: Vec<u32> = (0..=threads as u64)
        .map(|t| match t * members.len() / threads as u64 {
            0 => 0,
            rank if rank >= members.len() => u32::MAX,
            rank => members.select(rank as u32).expect("a rank below the count"),
        })
        .collect();
    let parts: Vec<Pass> = bounds
        .par_windows(2)
        .map(|ends| {
            let members = members.range(ends[0]..ends[1]);
            let mut part = Pass::empty(products, combinations);
            match records {
                Some(records) => part.add_records(members, spend, codes.is_some(), records),
                None => {
                    let codes = codes.expect("a pass counts facet codes, records or both");
                    for_each_page(members, |page| {
                        for member in prefetching(page, &codes.codes) {
                            part.codes[usize::from(codes.codes[member as usize])] += 1;
                        }
                    });
                }
            }
            part
        })
        .collect();
    parts.iter().fold(Pass::empty(products, combinations), Pass::add)
}

impl Pass {
    /// Adds the facet codes (if `codes`), spend and last-order products of `members`.
    fn add_records(
        &mut self,
        members: roaring::bitmap::Iter<'_>,
        spend: &Column,
        codes: bool,
        records: &Records,
    ) {
        // A counter per product and slot of a record, so that the increments of a popular
        // product do not all wait on each other; the last of each is for empty slots.
        let counters = self.last_product.len() + 1;
        let ways = if records.narrow { 4 } else { 2 };
        let mut slots: Vec<Vec<u32>> = vec![vec![0; counters]; ways];
        let (mut offsets, mut known) = (0u64, 0u64);
        for_each_page(members, |page| {
            for (i, member) in prefetching(page, &records.records).enumerate() {
                if let Some(&near) = page.get(i + LONG_AHEAD) {
                    let record = records.records[near as usize];
                    if record[0] & LONG != 0 {
                        prefetch_index(&records.long_lists, records.long_start(record));
                    }
                }
                let [head, offset, one, two] = records.records[member as usize];
                if codes {
                    self.codes[(head & 0xffff) as usize] += 1;
                }
                let is_known = u64::from(offset != u32::MAX);
                offsets += u64::from(offset) * is_known;
                known += is_known;
                if head & LONG != 0 {
                    for &product in records.long_list([head, offset, one, two]) {
                        slots[0][product as usize] += 1;
                    }
                } else if records.narrow {
                    slots[0][(one & 0xffff) as usize] += 1;
                    slots[1][(one >> 16) as usize] += 1;
                    slots[2][(two & 0xffff) as usize] += 1;
                    slots[3][(two >> 16) as usize] += 1;
                } else {
                    slots[0][one as usize] += 1;
                    slots[1][two as usize] += 1;
                }
            }
            if records.spend_base.is_none() {
                self.spend_365d += page.iter().map(|&m| i128::from(spend.get(m).unwrap_or(0))).sum::<i128>();
            }
        });
        if let Some(base) = records.spend_base {
            self.spend_365d += i128::from(offsets) + i128::from(base) * i128::from(known);
        }
        for slot in &slots {
            for (total, &n) in self.last_product.iter_mut().zip(slot) {
                *total += u64::from(n);
            }
        }
    }
}

pub(crate) fn totals(index: &Index, spend: FieldId, facet_fields: [FieldId; FEW_VALUED - 1]) -> Totals {
    let FieldIndex::Number(spend) = index.field(spend) else { unreachable!("spend_365d is a number") };
    let spend = &spend.column;
    let codes = FacetCodes::new(index, facet_fields);
    let narrow = index.dims.product.len() < NARROW_PRODUCTS;
    let records = Records::new(index, spend, codes.as_ref(), narrow);
    let pass = pass(index, &index.universe, spend, codes.as_ref(), Some(&records), PARALLEL_PASS_FROM);
    let population = index.population();
    let (slices, last_products) = rayon::join(
        || BitSlices::new(spend, population),
        || LastProducts::new(&index.last_products, index.dims.product.len(), population),
    );
    Totals { pass, codes, records, spend: slices, last_products }
}

impl Engine {
    /// The facets of `members`.
    pub fn facets(&self, members: &RoaringBitmap) -> Facets {
        self.facets_on(members, Threads::All)
    }

    /// [`Self::facets`] on `threads`.
    pub fn facets_on(&self, members: &RoaringBitmap, threads: Threads) -> Facets {
        if members.len() < self.slices_from {
            return self.by_pass(members, threads);
        }
        let few_valued = || match &self.totals.codes {
            Some(codes) => {
                self.coded_facets(codes, &self.pass_facets(members, Some(codes), None, threads).codes)
            }
            None => self.bitmap_facets(members),
        };
        let (counted, (top, spend)) = threads.join(few_valued, || {
            threads.join(
                || self.totals.last_products.top(members, TOP_PRODUCTS, |a, b| self.product_order(a, b)),
                || self.totals.spend.sum(members),
            )
        });
        self.assemble(counted, top, spend)
    }

    /// The facets of `members`, all counted in a pass over the members (or the rest of the
    /// population): the strategy for small segments, kept public to check one way against
    /// the other.
    #[doc(hidden)]
    pub fn facets_by_pass(&self, members: &RoaringBitmap) -> Facets {
        self.by_pass(members, Threads::All)
    }

    /// [`Self::facets_by_pass`] with records holding two products each, as for a catalog of
    /// [`NARROW_PRODUCTS`] products or more: kept public to check one layout against the
    /// other. Builds the records first: for small indexes only.
    #[doc(hidden)]
    pub fn facets_by_pass_wide(&self, members: &RoaringBitmap) -> Facets {
        let records = Records::new(&self.index, self.spend_column(), self.totals.codes.as_ref(), false);
        self.by_pass_with(members, &records, Threads::All)
    }

    /// The column of spend_365d.
    fn spend_column(&self) -> &Column {
        let FieldIndex::Number(spend) = self.index.field(self.spend_365d) else {
            unreachable!("spend_365d is a number")
        };
        &spend.column
    }

    fn by_pass(&self, members: &RoaringBitmap, threads: Threads) -> Facets {
        self.by_pass_with(members, &self.totals.records, threads)
    }

    fn by_pass_with(&self, members: &RoaringBitmap, records: &Records, threads: Threads) -> Facets {
        let (counted, pass) = match &self.totals.codes {
            Some(codes) => {
                let pass = self.pass_facets(members, Some(codes), Some(records), threads);
                (self.coded_facets(codes, &pass.codes), pass)
            }
            None => {
                // The bitmap counts and the pass over members are independent: side by side.
                threads.join(
                    || self.bitmap_facets(members),
                    || self.pass_facets(members, None, Some(records), threads),
                )
            }
        };
        self.assemble(counted, self.top_of(&pass.last_product), pass.spend_365d)
    }

    /// The facets of `members`, the few-valued ones counted from bitmap cardinalities
    /// (one `intersection_len` per value) rather than in the pass over members: the
    /// strategy for indexes whose facet codes do not fit, kept public to check one way
    /// against the other.
    #[doc(hidden)]
    pub fn facets_from_bitmaps(&self, members: &RoaringBitmap) -> Facets {
        let (counted, pass) = rayon::join(
            || self.bitmap_facets(members),
            || self.pass_facets(members, None, Some(&self.totals.records), Threads::All),
        );
        self.assemble(counted, self.top_of(&pass.last_product), pass.spend_365d)
    }

    /// The products of the top list in order: most customers first, then by product_id.
    fn product_order(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let ids = &self.index.dims.product;
        ids[a as usize].cmp(&ids[b as usize])
    }

    /// The top products of per-product counts, with their counts.
    fn top_of(&self, counts: &[u64]) -> Vec<(u64, u32)> {
        let mut top: Vec<(u64, u32)> =
            counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(p, &c)| (c, p as u32)).collect();
        let order = |a: &(u64, u32), b: &(u64, u32)| b.0.cmp(&a.0).then_with(|| self.product_order(a.1, b.1));
        // Thousands of products have a count; only the first few need to be in order.
        if top.len() > TOP_PRODUCTS {
            top.select_nth_unstable_by(TOP_PRODUCTS - 1, order);
            top.truncate(TOP_PRODUCTS);
        }
        top.sort_unstable_by(order);
        top
    }

    fn assemble(
        &self,
        counted: [serde_json::Map<String, serde_json::Value>; FEW_VALUED],
        top: Vec<(u64, u32)>,
        spend: i128,
    ) -> Facets {
        let index = &self.index;
        let last_product = top
            .into_iter()
            .map(|(count, p)| (count, p as usize))
            .map(|(count, p)| ProductCount {
                product_id: index.dims.product[p].clone(),
                name: index.dims.product_name.get(p).cloned().unwrap_or_default(),
                brand: index
                    .dims
                    .product_brand
                    .get(p)
                    .and_then(|&b| index.dims.brand.get(b as usize))
                    .cloned()
                    .unwrap_or_default(),
                count,
            })
            .collect();
        let [age, gender, channel_365d, region, tier] = counted;
        Facets {
            age,
            gender,
            channel_365d,
            region,
            tier,
            last_product,
            spend_365d_sum: i64::try_from(spend).unwrap_or(if spend < 0 { i64::MIN } else { i64::MAX }),
        }
    }

    /// The five few-valued facets as labelled maps, from a histogram of facet codes.
    fn coded_facets(
        &self,
        codes: &FacetCodes,
        histogram: &[u64],
    ) -> [serde_json::Map<String, serde_json::Value>; FEW_VALUED] {
        let [age, gender, channel, region, tier] = codes.split(histogram);
        let labels = AGE_BUCKETS.iter().map(|b| b.0).chain(["unknown"]);
        let age = labels.zip(age).map(|(label, n)| (label.to_owned(), n.into())).collect();
        let labelled = |field: FieldId, counts: Vec<u64>| {
            self.labelled(field, |v| counts.get(v as usize).copied().unwrap_or(0))
        };
        [
            age,
            labelled(self.gender, gender),
            labelled(self.channel_365d, channel),
            labelled(self.region, region),
            labelled(self.tier, tier),
        ]
    }

    fn value_counts(
        &self,
        field: FieldId,
        members: &RoaringBitmap,
    ) -> serde_json::Map<String, serde_json::Value> {
        let FieldIndex::Values(values) = self.index.field(field) else {
            unreachable!("facet of a valued field")
        };
        let full = members.len() == u64::from(self.index.population());
        self.labelled(field, |v| {
            let bitmap = &values.bitmaps[v as usize];
            if full {
                bitmap.len()
            } else {
                bitmap.intersection_len(members)
            }
        })
    }

    /// A valued field's counts by value name, in display order.
    fn labelled(
        &self,
        field: FieldId,
        count: impl Fn(u32) -> u64,
    ) -> serde_json::Map<String, serde_json::Value> {
        let dim = self.schema.fields()[field].dimension.expect("valued");
        let names = self.schema.values(dim);
        self.display_order(dim).iter().map(|&v| (names[v as usize].clone(), count(v).into())).collect()
    }

    /// Age, gender, channel_365d, region and tier counts of `members`, from bitmap
    /// cardinalities, the facets counted on separate threads.
    fn bitmap_facets(&self, members: &RoaringBitmap) -> [serde_json::Map<String, serde_json::Value>; 5] {
        let age = || {
            let labels = AGE_BUCKETS.iter().map(|b| b.0).chain(["unknown"]);
            labels
                .zip(&self.index.age_buckets)
                .map(|(label, bucket)| (label.to_owned(), bucket.intersection_len(members).into()))
                .collect()
        };
        let fields = [self.gender, self.channel_365d, self.region, self.tier];
        let (age, mut rest) = rayon::join(age, || {
            fields.par_iter().map(|&field| self.value_counts(field, members)).collect::<Vec<_>>()
        });
        let mut next = || rest.remove(0);
        [age, next(), next(), next(), next()]
    }

    /// The histogram of facet codes of `members` (with `codes`) and with `records` their
    /// per-product counts of last orders and spend sum: one pass over the members, or over
    /// the rest of the population when that is smaller; split across the pool from
    /// `parallel_pass_from` members on with [`Threads::All`].
    fn pass_facets(
        &self,
        members: &RoaringBitmap,
        codes: Option<&FacetCodes>,
        records: Option<&Records>,
        threads: Threads,
    ) -> Pass {
        let index = &self.index;
        let spend = self.spend_column();
        let sums = records.is_some();
        let parallel_from = match threads {
            Threads::All => self.parallel_pass_from,
            Threads::One => u64::MAX,
        };
        let pass = |members: &RoaringBitmap| pass(index, members, spend, codes, records, parallel_from);
        if members.len() * 2 <= u64::from(index.population()) {
            pass(members)
        } else {
            let part = pass(&(&index.universe - members));
            let totals = &self.totals.pass;
            let whole = Pass {
                last_product: if sums { totals.last_product.clone() } else { Vec::new() },
                spend_365d: if sums { totals.spend_365d } else { 0 },
                codes: if codes.is_some() { totals.codes.clone() } else { Vec::new() },
            };
            whole.minus(&part)
        }
    }

    /// Value numbers of a dimension in display order: data-derived values by population
    /// count, most common first; fixed values in their own order.
    pub(crate) fn display_order(&self, dim: Dimension) -> &[u32] {
        &self.display_order[&dim]
    }
}
