//! Where answers are computed: a few threads of their own, taking queries in order of
//! arrival.
//!
//! Under load a query waits its turn and then runs at nearly full speed, instead of every
//! query in flight sharing the cores and the slowest taking many times their own time. A
//! thread that finishes an answer takes the next query waiting at once: no turn passes back
//! through the async threads (which, with every core busy, could wait for a time slice while
//! a core stood idle).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tamsa_query::Threads;

use crate::error::{ApiError, ApiResult};

/// Threads computing answers, per core. On 2 cores under 64 clients sending the 15M mixed
/// suite (every answer computed), one per core answered 383–407 queries/s with a p99 of
/// 223–246 ms, two per core 384–389/s and 241–246 ms: as many answers, and one at a time
/// per core finishes each sooner. (Turns handed back through the async threads, as before
/// these threads, left the cores idle 15% of the time at one per core.)
pub const COMPUTING_PER_CORE: usize = 1;

/// The computing threads and how many queries are waiting for them or being answered.
pub struct Computing {
    pool: rayon::ThreadPool,
    in_flight: Arc<AtomicUsize>,
}

impl Computing {
    /// [`COMPUTING_PER_CORE`] threads per core.
    pub fn new() -> anyhow::Result<Computing> {
        Computing::with_threads(
            COMPUTING_PER_CORE * std::thread::available_parallelism().map_or(1, |n| n.get()),
        )
    }

    fn with_threads(threads: usize) -> anyhow::Result<Computing> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("answer-{i}"))
            .build()?;
        Ok(Computing { pool, in_flight: Arc::new(AtomicUsize::new(0)) })
    }

    /// `work`'s result, computed after every query that arrived (called `run`) before it.
    /// `work` may take every core ([`Threads::All`]) when no other query is waiting or being
    /// answered, else its thread alone: while other answers keep every core busy, splitting
    /// one only adds work. A request given up while it waited is not computed.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Threads) -> ApiResult<T> + Send + 'static,
    ) -> impl std::future::Future<Output = ApiResult<T>> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let in_flight = Arc::clone(&self.in_flight);
        in_flight.fetch_add(1, Ordering::SeqCst);
        self.pool.spawn_fifo(move || {
            if !sender.is_closed() {
                let threads = if in_flight.load(Ordering::SeqCst) > 1 { Threads::One } else { Threads::All };
                let result = catch_unwind(AssertUnwindSafe(|| work(threads)))
                    .unwrap_or_else(|panic| Err(ApiError::internal(panic_message(&*panic))));
                // The receiver is gone only if the request was given up meanwhile.
                let _ = sender.send(result);
            }
            in_flight.fetch_sub(1, Ordering::SeqCst);
        });
        async { receiver.await.map_err(ApiError::internal)? }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    format!("computing an answer panicked: {text}")
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Mutex};

    use axum::response::IntoResponse;

    use super::*;

    #[tokio::test]
    async fn answers_in_order_of_arrival_and_splits_only_when_alone() {
        let computing = Computing::with_threads(1).unwrap();
        assert_eq!(computing.run(Ok).await.unwrap(), Threads::All);

        // The one thread is held until every later query has arrived.
        let (release, held) = mpsc::channel::<()>();
        let first = computing.run(move |threads| {
            held.recv().unwrap();
            Ok(threads)
        });
        let order = Arc::new(Mutex::new(Vec::new()));
        let later: Vec<_> = (0..5)
            .map(|i| {
                let order = Arc::clone(&order);
                computing.run(move |threads| {
                    order.lock().unwrap().push(i);
                    Ok(threads)
                })
            })
            .collect();
        release.send(()).unwrap();
        first.await.unwrap();
        let mut answers = Vec::new();
        for answer in later {
            answers.push(answer.await.unwrap());
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(answers[0], Threads::One, "others were waiting");
        assert_eq!(answers[4], Threads::All, "the last one was alone");
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error_and_the_thread_goes_on() {
        let computing = Computing::with_threads(1).unwrap();
        let err = computing.run(|_| -> ApiResult<()> { panic!("a bug") }).await.unwrap_err();
        assert_eq!(err.into_response().status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(computing.run(|_| Ok(7)).await.unwrap(), 7);
    }
}
