//! Results of groups over everyone, kept between the queries of one generation.
//!
//! A large OR-group of brands, categories or products is the costly part of a segment, and
//! marketers reuse them: a segment is edited condition by condition (every answer shows the
//! count after each condition, so every edit evaluates the unchanged groups again), and
//! saved segments share their groups. Once a group is wanted within a broad mask, computing
//! it over everyone (one union) costs about as much as computing it within the mask, and the
//! result answers the group within any later mask with one intersection. A generation never
//! changes, so a result stays true for as long as its generation serves.
//!
//! Within a narrow mask a group costs much less than over everyone, so there it is computed
//! over everyone and kept only once it has come up in an earlier query too (the cache
//! remembers which groups recent queries held): a segment asked once pays nothing extra.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use roaring::RoaringBitmap;

use crate::ast::Node;

/// Groups' results over everyone, least recently used first out once they exceed a budget
/// of bytes. Shared by the threads of one generation.
pub struct GroupCache {
    budget: u64,
    hasher: RandomState,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A result being computed, or computed: everyone who wants it while it is being computed
/// waits for that one computation.
type Slot = Arc<OnceLock<Arc<RoaringBitmap>>>;

struct Inner {
    /// Each group's slot and the bytes of its result (0 until computed).
    entries: lru::LruCache<Node, (Slot, u64)>,
    bytes: u64,
    /// The groups of recent queries, by hash, with how many queries held each.
    seen: lru::LruCache<u64, u32>,
}

/// How many groups of recent queries the cache remembers (a hash and a count each).
const REMEMBERED: usize = 1 << 14;

/// What a [`GroupCache`] holds and how often it answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Results held.
    pub entries: u64,
    /// Their size in bytes (serialized, about their size in memory).
    pub bytes: u64,
    /// The budget; 0 when the cache is off.
    pub budget: u64,
    /// Groups answered from a kept result.
    pub hits: u64,
    /// Groups computed over everyone and kept.
    pub misses: u64,
}

impl GroupCache {
    /// A cache keeping results up to `budget` bytes; 0 keeps nothing.
    pub fn new(budget: u64) -> GroupCache {
        GroupCache {
            budget,
            hasher: RandomState::new(),
            inner: Mutex::new(Inner {
                entries: lru::LruCache::unbounded(),
                bytes: 0,
                seen: lru::LruCache::new(std::num::NonZeroUsize::new(REMEMBERED).expect("positive")),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Whether results are kept at all.
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// Notes the groups of a query about to be evaluated, given as the nodes it requires
    /// (each group once, however often it comes up within the query).
    pub fn note_query(&self, query: &[Node]) {
        if !self.enabled() {
            return;
        }
        let mut groups = Vec::new();
        query.iter().for_each(|node| collect_groups(node, &mut groups));
        let mut hashes: Vec<u64> = groups.into_iter().map(|g| self.hasher.hash_one(g)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let mut inner = self.lock();
        for hash in hashes {
            match inner.seen.get_mut(&hash) {
                Some(count) => *count = count.saturating_add(1),
                None => {
                    inner.seen.put(hash, 1);
                }
            }
        }
    }

    /// Whether `group` came up in more than one recent query, so that computing it over
    /// everyone once is likely to pay off even within a narrow mask.
    pub fn recurring(&self, group: &Node) -> bool {
        let hash = self.hasher.hash_one(group);
        self.lock().seen.peek(&hash).is_some_and(|&count| count > 1)
    }

    /// The kept result of `group`, if it has been computed.
    pub fn get(&self, group: &Node) -> Option<Arc<RoaringBitmap>> {
        if !self.enabled() {
            return None;
        }
        let slot = self.lock().entries.get(group).map(|(slot, _)| Arc::clone(slot))?;
        let result = slot.get().cloned();
        if result.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// The result of `group` over everyone: kept, being computed by another thread (then
    /// waits for it), or computed now by `compute` and kept.
    ///
    /// `compute` must not wait for work of other threads that may themselves wait here
    /// (no rayon inside): the evaluator's unions are sequential.
    pub fn get_or_compute(
        &self,
        group: &Node,
        compute: impl FnOnce() -> RoaringBitmap,
    ) -> Arc<RoaringBitmap> {
        if !self.enabled() {
            return Arc::new(compute());
        }
        let slot = {
            let mut inner = self.lock();
            match inner.entries.get(group) {
                Some((slot, _)) => Arc::clone(slot),
                None => {
                    let slot = Slot::default();
                    inner.entries.put(group.clone(), (Arc::clone(&slot), 0));
                    slot
                }
            }
        };
        let mut computed = false;
        // Kept without run compression: a kept result is mostly intersected with running
        // results, and a sparse container against runs costs a binary search per member where
        // against a bitmap it costs one bit test.
        let result = Arc::clone(slot.get_or_init(|| {
            computed = true;
            let mut result = compute();
            result.remove_run_compression();
            Arc::new(result)
        }));
        if computed {
            self.misses.fetch_add(1, Ordering::Relaxed);
            self.settle(group, &slot, result.serialized_size() as u64);
        } else {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Counts a computed result's bytes and drops the least recently used results until the
    /// cache fits its budget again. A result larger than the whole budget is not kept.
    fn settle(&self, group: &Node, slot: &Slot, bytes: u64) {
        let mut inner = self.lock();
        // The entry may have been dropped meanwhile; count it only if it is still this slot.
        match inner.entries.peek_mut(group) {
            Some((held, size)) if Arc::ptr_eq(held, slot) => *size = bytes,
            _ => return,
        }
        if bytes > self.budget {
            inner.entries.pop(group);
            return;
        }
        inner.bytes += bytes;
        while inner.bytes > self.budget {
            let Some((_, (_, size))) = inner.entries.pop_lru() else { break };
            inner.bytes -= size;
        }
    }

    /// What the cache holds and how often it answered.
    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            entries: inner.entries.len() as u64,
            bytes: inner.bytes,
            budget: self.budget,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the map consistent (no step spans two
        // calls), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Every group within `node` (itself included), outermost first.
fn collect_groups<'a>(node: &'a Node, groups: &mut Vec<&'a Node>) {
    if crate::eval::worth_keeping(node) {
        groups.push(node);
    }
    match node {
        Node::All(children) | Node::Any(children) => children.iter().for_each(|c| collect_groups(c, groups)),
        Node::Not(child) => collect_groups(child, groups),
        Node::Cond(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Cond, Pred};

    fn group(values: &[u32]) -> Node {
        Node::Cond(Cond { field: 0, pred: Pred::Values(values.to_vec()) })
    }

    /// Every other number of `range`: no runs, so keeping it does not shrink it.
    fn bitmap(range: std::ops::Range<u32>) -> RoaringBitmap {
        range.step_by(2).collect()
    }

    #[test]
    fn a_kept_result_answers_without_computing_again() {
        let cache = GroupCache::new(1 << 20);
        let g = group(&[1, 2]);
        assert!(cache.get(&g).is_none());
        let first = cache.get_or_compute(&g, || bitmap(0..1000));
        let again = cache.get_or_compute(&g, || panic!("computed twice"));
        assert_eq!(first, again);
        assert_eq!(cache.get(&g).as_deref(), Some(&bitmap(0..1000)));
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.misses, stats.hits), (1, 1, 2));
        assert_eq!(stats.bytes, bitmap(0..1000).serialized_size() as u64);
    }

    #[test]
    fn the_least_recently_used_results_leave_once_over_budget() {
        let one = bitmap(0..1000).serialized_size() as u64;
        let cache = GroupCache::new(2 * one);
        let (a, b, c) = (group(&[1]), group(&[2]), group(&[3]));
        cache.get_or_compute(&a, || bitmap(0..1000));
        cache.get_or_compute(&b, || bitmap(0..1000));
        assert!(cache.get(&a).is_some(), "a is now the most recently used");
        cache.get_or_compute(&c, || bitmap(0..1000));
        assert!(cache.get(&b).is_none(), "b was the least recently used");
        assert!(cache.get(&a).is_some() && cache.get(&c).is_some());
        assert_eq!(cache.stats().bytes, 2 * one);
    }

    #[test]
    fn a_kept_result_holds_no_runs() {
        let cache = GroupCache::new(1 << 20);
        let mut run: RoaringBitmap = (0..100_000).chain(200_000..200_010).collect();
        run.optimize();
        assert!(run.statistics().n_run_containers > 0);
        let kept = cache.get_or_compute(&group(&[1]), || run.clone());
        assert_eq!(*kept, run);
        assert_eq!(kept.statistics().n_run_containers, 0);
        assert_eq!(cache.stats().bytes, kept.serialized_size() as u64);
    }

    #[test]
    fn a_result_larger_than_the_budget_is_answered_but_not_kept() {
        let cache = GroupCache::new(8);
        let g = group(&[1]);
        assert_eq!(*cache.get_or_compute(&g, || bitmap(0..1000)), bitmap(0..1000));
        assert!(cache.get(&g).is_none());
        assert_eq!(cache.stats().bytes, 0);
    }

    #[test]
    fn a_group_recurs_once_a_second_query_holds_it() {
        let cache = GroupCache::new(1 << 20);
        let g = Node::Any(vec![group(&[1, 2]), group(&[3])]);
        let other = group(&[4, 5]);
        // Twice within one query counts once.
        cache.note_query(&[g.clone(), Node::Not(Box::new(g.clone()))]);
        assert!(!cache.recurring(&g));
        cache.note_query(&[Node::All(vec![other.clone(), g.clone()])]);
        assert!(cache.recurring(&g));
        assert!(cache.recurring(&group(&[1, 2])), "a group within a group counts too");
        assert!(!cache.recurring(&other));
        assert!(!cache.recurring(&group(&[3])), "one value is not a group");
    }

    #[test]
    fn a_cache_of_no_bytes_keeps_nothing() {
        let cache = GroupCache::new(0);
        let g = group(&[1]);
        cache.get_or_compute(&g, || bitmap(0..10));
        assert!(cache.get(&g).is_none());
        assert_eq!(cache.stats(), CacheStats::default());
    }

    #[test]
    fn threads_wanting_one_group_compute_it_once() {
        let cache = GroupCache::new(1 << 20);
        let g = group(&[7]);
        let computed = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let result = cache.get_or_compute(&g, || {
                        computed.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        bitmap(0..100)
                    });
                    assert_eq!(*result, bitmap(0..100));
                });
            }
        });
        assert_eq!(computed.load(Ordering::Relaxed), 1);
    }
}
