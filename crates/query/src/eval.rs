//! Evaluates a condition tree over bitmaps.
//!
//! Every node is evaluated *within* a mask: the customers still in play. An `all` starts
//! from its cheapest child and hands each next child the shrinking result, so later
//! conditions touch only the candidates left (a range over a few thousand candidates
//! reads their values instead of bitmaps), and it stops once nothing is left. `not` is
//! the mask minus its child, so a customer whose value is null, which no comparison
//! matches, is in the complement.

use std::sync::Arc;

use rayon::prelude::*;
use roaring::{MultiOps, RoaringBitmap};
use tamsa_index::{FieldIndex, Index, ProductGroup};
use tamsa_model::{catalog, Dimension, FieldId, Kind, WINDOWS};

use crate::ast::{Cond, Node, Pred};
use crate::cache::GroupCache;

/// Where the evaluator gets bitmaps. An index generation is one source; a later layer of
/// events that arrived since can be another, combined behind this trait.
pub trait Source {
    /// The number of customers.
    fn population(&self) -> u64;
    /// Every customer.
    fn universe(&self) -> &RoaringBitmap;
    /// Customers holding `value` of a category, bool or set field.
    fn value_bitmap(&self, field: FieldId, value: u32) -> &RoaringBitmap;
    /// Customers whose number field is within `lo..=hi`, among `within` if given.
    fn range(&self, field: FieldId, lo: i64, hi: i64, within: Option<&RoaringBitmap>) -> RoaringBitmap;
    /// Customers whose number field is not null.
    fn exists(&self, field: FieldId) -> &RoaringBitmap;
    /// About how many customers a range matches.
    fn estimate_range(&self, field: FieldId, lo: i64, hi: i64) -> u64;
    /// Whether the values of a set field can be read from each customer's product lists
    /// (brands, categories and products, in a window or of the last order).
    fn has_product_lists(&self, field: FieldId) -> bool;
    /// The customers of `mask` holding any of `values` (each a value of a field for which
    /// [`Self::has_product_lists`] holds), read from the members' product lists.
    fn product_lists_within(&self, values: &[(FieldId, u32)], mask: &RoaringBitmap) -> RoaringBitmap;
    /// What reading one candidate's product lists costs, counted in elements of value
    /// bitmaps (an in-place difference costs about one per element): the evaluator reads
    /// lists instead of bitmaps when that costs less.
    fn product_lists_cost(&self) -> u64 {
        PRODUCT_LISTS_COST_PER_MEMBER
    }
    /// Results of groups over everyone kept between queries, if this source keeps any.
    fn group_cache(&self) -> Option<&GroupCache> {
        None
    }
}

/// A source whose groups' results over everyone are kept in a [`GroupCache`].
pub struct WithCache<'a, S> {
    /// Where the bitmaps come from.
    pub source: &'a S,
    /// Where groups' results are kept.
    pub cache: &'a GroupCache,
}

impl<S: Source> Source for WithCache<'_, S> {
    fn population(&self) -> u64 {
        self.source.population()
    }
    fn universe(&self) -> &RoaringBitmap {
        self.source.universe()
    }
    fn value_bitmap(&self, field: FieldId, value: u32) -> &RoaringBitmap {
        self.source.value_bitmap(field, value)
    }
    fn range(&self, field: FieldId, lo: i64, hi: i64, within: Option<&RoaringBitmap>) -> RoaringBitmap {
        self.source.range(field, lo, hi, within)
    }
    fn exists(&self, field: FieldId) -> &RoaringBitmap {
        self.source.exists(field)
    }
    fn estimate_range(&self, field: FieldId, lo: i64, hi: i64) -> u64 {
        self.source.estimate_range(field, lo, hi)
    }
    fn has_product_lists(&self, field: FieldId) -> bool {
        self.source.has_product_lists(field)
    }
    fn product_lists_within(&self, values: &[(FieldId, u32)], mask: &RoaringBitmap) -> RoaringBitmap {
        self.source.product_lists_within(values, mask)
    }
    fn product_lists_cost(&self) -> u64 {
        self.source.product_lists_cost()
    }
    fn group_cache(&self) -> Option<&GroupCache> {
        self.cache.enabled().then_some(self.cache)
    }
}

/// See [`Source::product_lists_cost`]. A member's list holds a few entries, each a table
/// lookup, but the members of a mask lie scattered over the lists, so each costs cache
/// misses: measured at 15 million customers, lists won for groups of hundreds of values and
/// lost for groups of tens with a cost of 32, and 96 to 192 did best on both.
pub const PRODUCT_LISTS_COST_PER_MEMBER: u64 = 128;

static EMPTY: std::sync::LazyLock<RoaringBitmap> = std::sync::LazyLock::new(RoaringBitmap::new);

impl Source for Index {
    fn population(&self) -> u64 {
        u64::from(Index::population(self))
    }

    fn universe(&self) -> &RoaringBitmap {
        &self.universe
    }

    fn value_bitmap(&self, field: FieldId, value: u32) -> &RoaringBitmap {
        match self.field(field) {
            FieldIndex::Values(v) => v.bitmaps.get(value as usize).unwrap_or(&EMPTY),
            FieldIndex::Number(_) => &EMPTY,
        }
    }

    fn range(&self, field: FieldId, lo: i64, hi: i64, within: Option<&RoaringBitmap>) -> RoaringBitmap {
        match self.field(field) {
            FieldIndex::Number(n) => n.range(lo, hi, within),
            FieldIndex::Values(_) => RoaringBitmap::new(),
        }
    }

    fn exists(&self, field: FieldId) -> &RoaringBitmap {
        match self.field(field) {
            FieldIndex::Number(n) => &n.exists,
            FieldIndex::Values(_) => &EMPTY,
        }
    }

    fn estimate_range(&self, field: FieldId, lo: i64, hi: i64) -> u64 {
        match self.field(field) {
            FieldIndex::Number(n) => {
                // Counts of the cumulative bitmaps around each end bound the match.
                let at_most = |c: i64| match n.bounds.partition_point(|&b| b <= c) {
                    i if i == n.bounds.len() => n.exists.len(),
                    i => n.cumulative[i].len(),
                };
                let below = if lo == i64::MIN { 0 } else { n.bounds.partition_point(|&b| b < lo) };
                let below = if below == 0 { 0 } else { n.cumulative[below - 1].len() };
                at_most(hi).saturating_sub(below)
            }
            FieldIndex::Values(_) => 0,
        }
    }

    fn has_product_lists(&self, field: FieldId) -> bool {
        let def = &catalog()[field];
        def.kind == Kind::Set
            && matches!(def.dimension, Some(Dimension::Brand | Dimension::Category | Dimension::Product))
    }

    fn product_lists_within(&self, values: &[(FieldId, u32)], mask: &RoaringBitmap) -> RoaringBitmap {
        let dims = &self.dims;
        // Per brand, category and product: the widest window class that matches, and
        // whether the last order matches.
        let mut reach =
            [vec![0u8; dims.brand.len()], vec![0u8; dims.category.len()], vec![0u8; dims.product.len()]];
        let mut last = [
            vec![false; dims.brand.len()],
            vec![false; dims.category.len()],
            vec![false; dims.product.len()],
        ];
        for &(field, value) in values {
            let def = &catalog()[field];
            let table = match def.dimension {
                Some(Dimension::Brand) => 0,
                Some(Dimension::Category) => 1,
                Some(Dimension::Product) => 2,
                _ => unreachable!("values on product lists are of brands, categories or products"),
            };
            let value = value as usize;
            match def.window {
                Some(w) => {
                    let class = WINDOWS.iter().position(|&x| x == w).expect("a known window") + 1;
                    if let Some(r) = reach[table].get_mut(value) {
                        *r = (*r).max(class as u8);
                    }
                }
                None => {
                    if let Some(l) = last[table].get_mut(value) {
                        *l = true;
                    }
                }
            }
        }
        let mut group = ProductGroup::new(dims.product.len());
        for product in 0..dims.product.len() {
            let brand = dims.product_brand.get(product).map(|&b| b as usize);
            let category = dims.product_category.get(product).map(|&c| c as usize);
            let of = |table: usize, key: Option<usize>| key.map(|k| (table, k));
            for (table, key) in [of(0, brand), of(1, category), Some((2, product))].into_iter().flatten() {
                group.reach(product, usize::from(reach[table].get(key).copied().unwrap_or(0)));
                if last[table].get(key).copied().unwrap_or(false) {
                    group.last(product);
                }
            }
        }
        self.product_group_members(&group, mask)
    }
}

/// About how many customers a node matches, to order the children of an `all`.
pub fn estimate(node: &Node, source: &impl Source) -> u64 {
    let population = source.population();
    match node {
        Node::All(children) => children.iter().map(|c| estimate(c, source)).min().unwrap_or(population),
        Node::Any(children) => children.iter().map(|c| estimate(c, source)).sum::<u64>().min(population),
        Node::Not(child) => population.saturating_sub(estimate(child, source)),
        Node::Cond(Cond { field, pred }) => match pred {
            Pred::Values(values) => {
                values.iter().map(|&v| source.value_bitmap(*field, v).len()).sum::<u64>().min(population)
            }
            Pred::Range { lo, hi } => source.estimate_range(*field, *lo, *hi),
            Pred::Exists(true) => source.exists(*field).len(),
            Pred::Exists(false) => population - source.exists(*field).len(),
        },
    }
}

/// The children of an `all` in the order they are best evaluated: a child costs about one
/// operation per candidate for each of its bitmaps, so the least cost per customer taken
/// away goes first, and costly children see fewer candidates.
pub fn order<'a>(children: &'a [Node], source: &impl Source) -> Vec<&'a Node> {
    let population = source.population().max(1) as f64;
    let mut ranked: Vec<(f64, &Node)> = children
        .iter()
        .map(|c| {
            let kept = estimate(c, source) as f64 / population;
            (operations(c) as f64 / (1.0 - kept).max(1e-6), c)
        })
        .collect();
    ranked.sort_by(|(a, _), (b, _)| a.total_cmp(b));
    ranked.into_iter().map(|(_, c)| c).collect()
}

/// About how many bitmap operations a node costs within a mask; each costs about one unit
/// per candidate, so this orders the children of an `all` together with [`estimate`].
fn operations(node: &Node) -> u64 {
    match node {
        Node::All(children) | Node::Any(children) => children.iter().map(operations).sum::<u64>().max(1),
        Node::Not(child) => operations(child) + 1,
        Node::Cond(Cond { pred: Pred::Values(values), .. }) => values.len().max(1) as u64,
        Node::Cond(Cond { pred: Pred::Range { .. }, .. }) => 3,
        Node::Cond(Cond { pred: Pred::Exists(_), .. }) => 1,
    }
}

/// The customers matching `node`.
pub fn evaluate(node: &Node, source: &impl Source) -> RoaringBitmap {
    within(node, source.universe(), source)
}

/// The customers matching every node of `conditions`, with the count after each successive
/// condition in the order given, evaluated in `parts` customer ranges side by side.
pub fn evaluate_steps(
    conditions: &[Node],
    source: &(impl Source + Sync),
    parts: usize,
) -> (RoaringBitmap, Vec<u64>) {
    let Some((first, rest)) = conditions.split_first() else {
        return (source.universe().clone(), Vec::new());
    };
    let rest: Vec<&Node> = rest.iter().collect();
    // On one thread, when the first condition's matches over everyone exist already (a kept
    // result or one bitmap of the index), the second condition reads them where they are:
    // no copy of a first condition that matches millions.
    if let Some((second, rest)) = rest.split_first().filter(|_| parts <= 1) {
        if let Some(held) = held_over_everyone(first, source) {
            let start = within(second, &held, source);
            let (first_count, second_count) = (held.len(), start.len());
            let (members, mut counts) = through_ranges(start, rest, source, parts);
            counts.splice(0..0, [first_count, second_count]);
            return (members, counts);
        }
    }
    // The first condition over everyone, where a group is one union (see `evaluate_split`).
    let start = within(first, source.universe(), source);
    let first_count = start.len();
    let (members, mut counts) = through_ranges(start, &rest, source, parts);
    counts.insert(0, first_count);
    (members, counts)
}

/// The matches of `node` over everyone, if they exist without computing: kept in the
/// source's cache (or computed now and kept), or a single value's bitmap.
fn held_over_everyone<'a>(node: &Node, source: &'a impl Source) -> Option<Held<'a>> {
    if let Some(kept) = from_cache(node, source.universe(), true, source) {
        return Some(Held::Kept(kept));
    }
    match node {
        Node::Cond(Cond { field, pred: Pred::Values(values) }) if values.len() == 1 => {
            Some(Held::Index(source.value_bitmap(*field, values[0])))
        }
        Node::Cond(Cond { field, pred: Pred::Exists(true) }) => Some(Held::Index(source.exists(*field))),
        _ => None,
    }
}

/// A bitmap held elsewhere: a kept result, or one of the index.
enum Held<'a> {
    Kept(Arc<RoaringBitmap>),
    Index(&'a RoaringBitmap),
}

impl std::ops::Deref for Held<'_> {
    type Target = RoaringBitmap;

    fn deref(&self) -> &RoaringBitmap {
        match self {
            Held::Kept(kept) => kept,
            Held::Index(bitmap) => bitmap,
        }
    }
}

/// The customers of `start` matching every node of `conditions` in turn, evaluated in
/// `parts` customer ranges side by side, with how many are left after each condition.
fn through_ranges(
    start: RoaringBitmap,
    conditions: &[&Node],
    source: &(impl Source + Sync),
    parts: usize,
) -> (RoaringBitmap, Vec<u64>) {
    let results: Vec<(RoaringBitmap, Vec<u64>)> = split(start, source.population(), parts)
        .into_par_iter()
        .map(|mut matching| {
            let mut counts = Vec::with_capacity(conditions.len());
            for condition in conditions {
                if !matching.is_empty() {
                    matching = narrow(condition, matching, source);
                }
                counts.push(matching.len());
            }
            (matching, counts)
        })
        .collect();
    let mut counts = vec![0; conditions.len()];
    for (_, part) in &results {
        counts.iter_mut().zip(part).for_each(|(total, n)| *total += n);
    }
    (results.into_iter().map(|(m, _)| m).union(), counts)
}

/// `members` in at most `parts` customer ranges of about equal member counts (similar
/// customers are numbered together, so members bunch up). In a large population the ranges
/// meet on container boundaries (2^16 customers), so no container is split.
fn split(members: RoaringBitmap, population: u64, parts: usize) -> Vec<RoaringBitmap> {
    let count = members.len();
    if parts <= 1 || count < 2 {
        return vec![members];
    }
    let mut cuts: Vec<u32> = (1..parts as u64)
        .map(|part| members.select((part * count / parts as u64) as u32).expect("a rank below the count"))
        .map(|cut| if population > 1 << 17 { cut >> 16 << 16 } else { cut })
        .collect();
    cuts.dedup();
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut below = members;
    for &cut in cuts.iter().rev() {
        let mut above = below.clone();
        above.remove_range(..cut);
        below.remove_range(cut..);
        ranges.push(above);
    }
    ranges.push(below);
    ranges
}

/// The customers matching `node`, evaluated in `parts` customer ranges side by side.
///
/// Every bitmap operation is local to a range of customers, so each part does its share of
/// the work on its own thread; the parts' results are disjoint and simply joined. The first
/// child of an `all` is evaluated over everyone, where a group is one cheap union rather
/// than differences over millions of candidates, and the parts go on from its result.
pub fn evaluate_split(node: &Node, source: &(impl Source + Sync), parts: usize) -> RoaringBitmap {
    if parts <= 1 || source.population() < 2 {
        return evaluate(node, source);
    }
    let (start, rest): (RoaringBitmap, Vec<&Node>) = match node {
        Node::All(children) if !children.is_empty() => {
            let ordered = order(children, source);
            (within(ordered[0], source.universe(), source), ordered[1..].to_vec())
        }
        other => (source.universe().clone(), vec![other]),
    };
    through_ranges(start, &rest, source, parts).0
}

/// The customers of `mask` matching `node`.
pub fn within(node: &Node, mask: &RoaringBitmap, source: &impl Source) -> RoaringBitmap {
    let full = mask.len() == source.population();
    match from_cache(node, mask, full, source) {
        Some(everyone) if full => RoaringBitmap::clone(&everyone),
        Some(everyone) => mask & &*everyone,
        None => compute_within(node, mask, full, source),
    }
}

/// [`within`] for a mask the caller no longer needs: a kept result, a single value's
/// bitmap, an existence check or a `not` narrows it in place, without building the
/// matches apart first (a new bitmap as large as the mask, then a second pass to combine).
fn narrow(node: &Node, mut mask: RoaringBitmap, source: &impl Source) -> RoaringBitmap {
    let full = mask.len() == source.population();
    if let Some(everyone) = from_cache(node, &mask, full, source) {
        mask &= &*everyone;
        return mask;
    }
    match node {
        Node::Cond(cond) if in_place(cond, true, &mask, full, source) => narrow_by(cond, true, mask, source),
        Node::Not(child) => {
            if let Some(everyone) = from_cache(child, &mask, full, source) {
                mask -= &*everyone;
                return mask;
            }
            match &**child {
                Node::Cond(cond) if in_place(cond, false, &mask, full, source) => {
                    narrow_by(cond, false, mask, source)
                }
                other => {
                    let hit = compute_within(other, &mask, full, source);
                    mask -= &hit;
                    mask
                }
            }
        }
        _ => compute_within(node, &mask, full, source),
    }
}

/// Whether [`narrow_by`] can keep (`matching`) or take out the customers of `mask` matching
/// `cond` with the index's bitmaps alone: an existence check, or values that product lists
/// would not answer, and only one when keeping (keeping several needs their union first).
fn in_place(cond: &Cond, matching: bool, mask: &RoaringBitmap, full: bool, source: &impl Source) -> bool {
    match &cond.pred {
        Pred::Exists(_) => true,
        Pred::Values(values) => {
            (!matching || values.len() == 1) && !lists_answer(cond.field, values, mask, full, source)
        }
        Pred::Range { .. } => false,
    }
}

/// `mask` narrowed in place to its customers matching `cond` (or, unless `matching`, those
/// not matching it); see [`in_place`].
fn narrow_by(cond: &Cond, matching: bool, mut mask: RoaringBitmap, source: &impl Source) -> RoaringBitmap {
    match &cond.pred {
        Pred::Exists(exists) if *exists == matching => mask &= source.exists(cond.field),
        Pred::Exists(_) => mask -= source.exists(cond.field),
        // Taking each value's bitmap out of the mask is taking out their union.
        Pred::Values(values) if !matching => {
            values.iter().for_each(|&value| mask -= source.value_bitmap(cond.field, value))
        }
        Pred::Values(values) => mask &= source.value_bitmap(cond.field, values[0]),
        Pred::Range { .. } => unreachable!("a range is not narrowed in place"),
    }
    mask
}

/// Whether [`compute_within`] answers a condition on `values` of `field` within `mask` from
/// the members' product lists rather than from the values' bitmaps.
fn lists_answer(
    field: FieldId,
    values: &[u32],
    mask: &RoaringBitmap,
    full: bool,
    source: &impl Source,
) -> bool {
    if full || !source.has_product_lists(field) {
        return false;
    }
    let bitmaps: Vec<&RoaringBitmap> = values.iter().map(|&v| source.value_bitmap(field, v)).collect();
    product_lists_are_cheaper(&bitmaps, mask, source)
}

/// A mask this large or larger (one customer in [`BROAD`]) has a group computed over
/// everyone when the source keeps results: the union of its bitmaps then costs about what
/// taking each out of the mask would, and the result serves later queries.
pub(crate) const BROAD: u64 = 16;

/// A group's matches over everyone from the source's cache: its kept result, or its result
/// computed now and kept, within a broad mask or when earlier queries held the group too.
fn from_cache(
    node: &Node,
    mask: &RoaringBitmap,
    full: bool,
    source: &impl Source,
) -> Option<Arc<RoaringBitmap>> {
    let cache = source.group_cache()?;
    if !worth_keeping(node) {
        return None;
    }
    let broad = full || mask.len().saturating_mul(BROAD) >= source.population();
    match cache.get(node) {
        Some(kept) => Some(kept),
        None if broad || cache.recurring(node) => {
            Some(cache.get_or_compute(node, || compute_within(node, source.universe(), true, source)))
        }
        None => None,
    }
}

/// Whether a node's result over everyone is worth keeping: it unites several bitmaps (an
/// `any`, or a condition on several values) or checks values (a number range).
pub(crate) fn worth_keeping(node: &Node) -> bool {
    match node {
        Node::Any(children) => children.len() > 1 || children.first().is_some_and(worth_keeping),
        Node::Cond(Cond { pred: Pred::Values(values), .. }) => values.len() > 1,
        Node::Cond(Cond { pred: Pred::Range { .. }, .. }) => true,
        _ => false,
    }
}

/// [`within`], without asking the cache for `node` itself.
fn compute_within(node: &Node, mask: &RoaringBitmap, full: bool, source: &impl Source) -> RoaringBitmap {
    match node {
        Node::All(children) => {
            let mut result: Option<RoaringBitmap> = None;
            for child in order(children, source) {
                let next = match result.take() {
                    Some(narrowed) => narrow(child, narrowed, source),
                    None => within(child, mask, source),
                };
                if next.is_empty() {
                    return next;
                }
                result = Some(next);
            }
            result.unwrap_or_else(|| mask.clone())
        }
        Node::Any(children) => {
            // Value bitmaps, each with its (field, value) when it can be read from product lists.
            let mut plain: Vec<(&RoaringBitmap, Option<(FieldId, u32)>)> = Vec::new();
            let mut others: Vec<&Node> = Vec::new();
            for child in children {
                match child {
                    Node::Cond(Cond { field, pred: Pred::Values(values) }) => {
                        let listed = source.has_product_lists(*field);
                        plain.extend(
                            values
                                .iter()
                                .map(|&v| (source.value_bitmap(*field, v), listed.then_some((*field, v)))),
                        )
                    }
                    other => others.push(other),
                }
            }
            if full {
                // Over everyone, a group is one union of its plain value bitmaps and the rest.
                let mut parts: Vec<RoaringBitmap> = others.iter().map(|c| within(c, mask, source)).collect();
                parts.push(plain.iter().map(|(b, _)| *b).union());
                return parts.union();
            }
            // Within a mask, each child only looks at the customers no earlier child matched,
            // so a broad group touches less and less and stops once the mask is covered.
            // Each member takes what it matches out of the customers still unmatched; what
            // the group matched is then the mask minus what is left. One in-place difference
            // per bitmap, largest first, and nothing left to do once the mask is covered.
            // Values that product lists can answer come last; once reading the lists of the
            // customers left costs less than the bitmaps still to go, lists answer the rest.
            plain.sort_by_key(|(b, listed)| (listed.is_some(), std::cmp::Reverse(b.len())));
            let listed_bitmaps: Vec<&RoaringBitmap> =
                plain.iter().filter(|(_, l)| l.is_some()).map(|(b, _)| *b).collect();
            let mut listed_done = 0;
            let mut remaining = mask.clone();
            for (i, &(bitmap, listed)) in plain.iter().enumerate() {
                if listed.is_some()
                    && product_lists_are_cheaper(&listed_bitmaps[listed_done..], &remaining, source)
                {
                    let rest: Vec<(FieldId, u32)> = plain[i..].iter().filter_map(|(_, l)| *l).collect();
                    remaining -= source.product_lists_within(&rest, &remaining);
                    break;
                }
                remaining -= bitmap;
                if remaining.is_empty() {
                    return mask.clone();
                }
                if listed.is_some() {
                    listed_done += 1;
                }
            }
            for child in others {
                let hit = within(child, &remaining, source);
                remaining -= &hit;
                if remaining.is_empty() {
                    break;
                }
            }
            mask - remaining
        }
        Node::Not(child) => mask - within(child, mask, source),
        Node::Cond(Cond { field, pred }) => match pred {
            Pred::Values(values) if lists_answer(*field, values, mask, full, source) => {
                let listed: Vec<(FieldId, u32)> = values.iter().map(|&v| (*field, v)).collect();
                source.product_lists_within(&listed, mask)
            }
            Pred::Values(values) => {
                masked_union(values.iter().map(|&v| source.value_bitmap(*field, v)).collect(), mask, full)
            }
            Pred::Range { lo, hi } => source.range(*field, *lo, *hi, (!full).then_some(mask)),
            Pred::Exists(true) => source.exists(*field) & mask,
            Pred::Exists(false) => mask - source.exists(*field),
        },
    }
}

/// Whether reading the product lists of `mask`'s members costs less than taking `bitmaps`
/// out of `mask` one by one. A difference costs about one unit per member of `mask` (a
/// lookup in a dense container) plus, for a sparse bitmap (array containers), one per
/// element of it within `mask`'s span of customer numbers (a customer-range shard reads
/// its share).
fn product_lists_are_cheaper(bitmaps: &[&RoaringBitmap], mask: &RoaringBitmap, source: &impl Source) -> bool {
    let (Some(min), Some(max)) = (mask.min(), mask.max()) else { return false };
    let population = source.population().max(1);
    let span = u64::from(max - min) + 1;
    // Below one in 16 customers, a bitmap spread over everyone keeps array containers.
    let sparse: u64 = bitmaps.iter().map(|b| b.len()).filter(|&n| n < population / 16).sum();
    let bitmaps_cost =
        (bitmaps.len() as u64).saturating_mul(mask.len()) + sparse.saturating_mul(span) / population;
    mask.len().saturating_mul(source.product_lists_cost()) < bitmaps_cost
}

/// The union of `bitmaps`, within `mask`.
fn masked_union(bitmaps: Vec<&RoaringBitmap>, mask: &RoaringBitmap, full: bool) -> RoaringBitmap {
    if full {
        return bitmaps.union();
    }
    // Intersecting each bitmap with the mask first touches only the mask's containers, so a
    // small mask or a customer-range shard costs its share of the work.
    bitmaps.into_iter().map(|b| mask & b).union()
}
