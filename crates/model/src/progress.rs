//! How long-running work (generating, loading, indexing) tells a caller how far it got.

/// Receives progress from long-running work. Implementations must be cheap: `advance`
/// is called from worker threads, many times per second.
pub trait Progress: Sync {
    /// A new stage begins, with `total` units of work (0 when unknown).
    fn start(&self, stage: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The current stage is over.
    fn finish(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
