//! Each customer's purchased products as one short list, to answer a large OR-group of
//! brand, category and product conditions member by member.
//!
//! An `any` of hundreds of set conditions touches hundreds of value bitmaps, and its cost
//! grows with their sizes however few candidates are left. Every one of those conditions
//! is about a product bought within a window (a brand or category condition is one about
//! each of its products) or about the products of the last order. So a group compiles to
//! one small table over products ([`ProductGroup`]), and a candidate matches when an entry
//! of its list ([`ProductLists`]) hits the table: the cost follows the candidates, not the
//! bitmaps.

use roaring::RoaringBitmap;
use tamsa_model::WINDOWS;

use crate::Index;

/// The low bits of an entry: its window class (`0..=WINDOWS.len()`, the last meaning
/// "in no window").
const CLASS_MASK: u32 = 0b0111;
/// The bit of an entry set when the product is in the customer's last order.
const LAST_BIT: u32 = 0b1000;
/// Bits below the product number in an entry.
const ENTRY_BITS: u32 = 4;

const _: () = assert!(WINDOWS.len() < CLASS_MASK as usize, "window classes fit their bits");

/// Per customer, the distinct products bought within the longest window or in the last
/// order. Each entry ([`ProductLists::entry`]) holds the product number, the shortest
/// window holding its latest purchase, and whether the last order holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductLists {
    /// `entries[offsets[i]..offsets[i + 1]]` is customer i's list.
    pub offsets: Vec<u32>,
    /// The lists back to back.
    pub entries: Vec<u32>,
}

impl Default for ProductLists {
    fn default() -> ProductLists {
        ProductLists { offsets: vec![0], entries: Vec::new() }
    }
}

impl ProductLists {
    /// An entry for `product`, whose latest purchase lies within window `class` (in
    /// [`WINDOWS`] order) and no shorter one, or in none; `last` when the last order holds it.
    pub fn entry(product: u32, class: Option<usize>, last: bool) -> u32 {
        assert!(product < 1 << (32 - ENTRY_BITS), "product numbers fit an entry");
        let class = class.unwrap_or(WINDOWS.len()) as u32;
        (product << ENTRY_BITS) | if last { LAST_BIT } else { 0 } | class
    }

    /// Ends the list of the next customer, holding the entries pushed since the last call.
    pub fn end_customer(&mut self) {
        self.offsets.push(u32::try_from(self.entries.len()).expect("fewer than 2^32 entries"));
    }

    /// Appends the lists of `other`, as those of the customers after these.
    pub fn append(&mut self, other: &ProductLists) {
        let base = *self.offsets.last().expect("offsets start with 0");
        self.entries.extend_from_slice(&other.entries);
        self.offsets.extend(other.offsets[1..].iter().map(|end| base + end));
    }

    /// Customer `i`'s entries.
    #[inline]
    pub fn get(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.entries[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// An OR-group of set conditions over brands, categories and products, as a table per
/// product number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductGroup {
    /// Per product: the number of window classes (shortest first) in which a purchase of
    /// it matches, plus `LAST_BIT` when a last order holding it matches.
    table: Vec<u8>,
}

impl ProductGroup {
    /// A group that matches nobody, over `products` products.
    pub fn new(products: usize) -> ProductGroup {
        ProductGroup { table: vec![0; products] }
    }

    /// Makes a purchase of `product` within the first `classes` windows (in [`WINDOWS`]
    /// order) match.
    pub fn reach(&mut self, product: usize, classes: usize) {
        let entry = &mut self.table[product];
        let reach = (u32::from(*entry) & CLASS_MASK).max(classes as u32);
        *entry = (u32::from(*entry) & LAST_BIT | reach) as u8;
    }

    /// Makes a last order holding `product` match.
    pub fn last(&mut self, product: usize) {
        self.table[product] |= LAST_BIT as u8;
    }

    #[inline]
    fn matches(&self, entry: u32) -> bool {
        let rule = u32::from(self.table[(entry >> ENTRY_BITS) as usize]);
        ((entry & CLASS_MASK) < (rule & CLASS_MASK)) | (entry & rule & LAST_BIT != 0)
    }
}

/// Members handed out at once by [`for_each_page`].
pub const PAGE: usize = 512;

/// Calls `f` with the members of `iter`, up to [`PAGE`] at a time, in ascending order.
///
/// A page lets a caller issue the loads of all its members before it uses any of them, so
/// the cache misses of members scattered over a column overlap instead of queueing.
pub fn for_each_page(mut iter: roaring::bitmap::Iter<'_>, mut f: impl FnMut(&[u32])) {
    let mut page = [0u32; PAGE];
    loop {
        let filled = iter.next_many(&mut page);
        if filled.is_empty() {
            return;
        }
        f(filled);
    }
}

impl Index {
    /// The customers of `mask` matching `group`: reads each member's list, so the cost is
    /// a few table lookups per member of `mask`.
    pub fn product_group_members(&self, group: &ProductGroup, mask: &RoaringBitmap) -> RoaringBitmap {
        let lists = &self.product_lists;
        let mut out = Vec::new();
        let mut spans = [(0u32, 0u32); PAGE];
        for_each_page(mask.iter(), |page| {
            // First every member's bounds, then their entries: the loads of one stage do not
            // wait on each other, so many cache misses are in flight at once.
            for (span, &member) in spans.iter_mut().zip(page) {
                let i = member as usize;
                *span = (lists.offsets[i], lists.offsets[i + 1]);
            }
            for (&(start, end), &member) in spans.iter().zip(page) {
                if lists.entries[start as usize..end as usize].iter().any(|&e| group.matches(e)) {
                    out.push(member);
                }
            }
        });
        RoaringBitmap::from_sorted_iter(out).expect("bitmap members ascend")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_their_windows_and_the_last_order() {
        let mut group = ProductGroup::new(3);
        group.reach(1, 2);
        group.reach(1, 1);
        group.last(2);
        let hits = |group: &ProductGroup, product, class, last| {
            group.matches(ProductLists::entry(product, class, last))
        };
        assert!(hits(&group, 1, Some(0), false) && hits(&group, 1, Some(1), false));
        assert!(!hits(&group, 1, Some(2), false) && !hits(&group, 1, None, true));
        assert!(!hits(&group, 0, Some(0), true));
        assert!(hits(&group, 2, None, true) && !hits(&group, 2, Some(0), false));
        group.reach(2, WINDOWS.len());
        assert!(hits(&group, 2, Some(WINDOWS.len() - 1), false) && !hits(&group, 2, None, false));
    }
}
