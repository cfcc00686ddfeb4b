//! Evaluates a condition tree over bitmaps.
//!
//! Every node is evaluated *within* a mask: the customers still in play. An `all` starts
//! from its cheapest child and hands each next child the shrinking result, so later
//! conditions touch only the candidates left (a range over a few thousand candidates
//! reads their values instead of bitmaps), and it stops once nothing is left. `not` is
//! the mask minus its child, so a customer whose value is null, which no comparison
//! matches, is in the complement.

use rayon::prelude::*;
use roaring::{MultiOps, RoaringBitmap};
use tamsa_index::{FieldIndex, Index};
use tamsa_model::FieldId;

use crate::ast::{Cond, Node, Pred};

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
}

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
    let results: Vec<(RoaringBitmap, Vec<u64>)> = customer_ranges(source, parts)
        .into_par_iter()
        .map(|mask| {
            let mut counts = Vec::with_capacity(conditions.len());
            let mut matching = mask;
            for condition in conditions {
                if !matching.is_empty() {
                    matching = within(condition, &matching, source);
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

/// Every customer, in at most `parts` disjoint ranges; large ranges start on a container
/// boundary (2^16 customers) so no container is split.
fn customer_ranges(source: &impl Source, parts: usize) -> Vec<RoaringBitmap> {
    let population = u32::try_from(source.population()).expect("customer numbers are u32");
    if parts <= 1 || population < 2 {
        return vec![source.universe().clone()];
    }
    let mut step = population.div_ceil(parts as u32);
    if step > 1 << 16 {
        step = step.div_ceil(1 << 16) << 16;
    }
    (0..population)
        .step_by(step as usize)
        .map(|start| {
            let mut mask = RoaringBitmap::new();
            mask.insert_range(start..start.saturating_add(step).min(population));
            mask & source.universe()
        })
        .collect()
}

/// The customers matching `node`, evaluated in `parts` customer ranges side by side.
///
/// Every bitmap operation is local to a range of customers, so each part does its share of
/// the work on its own thread; the parts' results are disjoint and simply joined.
pub fn evaluate_split(node: &Node, source: &(impl Source + Sync), parts: usize) -> RoaringBitmap {
    if parts <= 1 || source.population() < 2 {
        return evaluate(node, source);
    }
    let results: Vec<RoaringBitmap> =
        customer_ranges(source, parts).into_par_iter().map(|mask| within(node, &mask, source)).collect();
    results.union()
}

/// The customers of `mask` matching `node`.
pub fn within(node: &Node, mask: &RoaringBitmap, source: &impl Source) -> RoaringBitmap {
    let full = mask.len() == source.population();
    match node {
        Node::All(children) => {
            let mut order: Vec<(u64, &Node)> = children.iter().map(|c| (estimate(c, source), c)).collect();
            order.sort_by_key(|(cost, _)| *cost);
            let mut result: Option<RoaringBitmap> = None;
            for (_, child) in order {
                let next = within(child, result.as_ref().unwrap_or(mask), source);
                if next.is_empty() {
                    return next;
                }
                result = Some(next);
            }
            result.unwrap_or_else(|| mask.clone())
        }
        Node::Any(children) => {
            let mut plain: Vec<&RoaringBitmap> = Vec::new();
            let mut others: Vec<&Node> = Vec::new();
            for child in children {
                match child {
                    Node::Cond(Cond { field, pred: Pred::Values(values) }) => {
                        plain.extend(values.iter().map(|&v| source.value_bitmap(*field, v)))
                    }
                    other => others.push(other),
                }
            }
            if full {
                // Over everyone, a group is one union of its plain value bitmaps and the rest.
                let mut parts: Vec<RoaringBitmap> = others.iter().map(|c| within(c, mask, source)).collect();
                parts.push(plain.union());
                return parts.union();
            }
            // Within a mask, each child only looks at the customers no earlier child matched,
            // so a broad group touches less and less and stops once the mask is covered.
            // Each member takes what it matches out of the customers still unmatched; what
            // the group matched is then the mask minus what is left. One in-place difference
            // per bitmap, and nothing left to do once the mask is covered.
            plain.sort_by_key(|b| std::cmp::Reverse(b.len()));
            let mut remaining = mask.clone();
            for bitmap in plain {
                remaining -= bitmap;
                if remaining.is_empty() {
                    return mask.clone();
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
            Pred::Values(values) => {
                masked_union(values.iter().map(|&v| source.value_bitmap(*field, v)).collect(), mask, full)
            }
            Pred::Range { lo, hi } => source.range(*field, *lo, *hi, (!full).then_some(mask)),
            Pred::Exists(true) => source.exists(*field) & mask,
            Pred::Exists(false) => mask - source.exists(*field),
        },
    }
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
