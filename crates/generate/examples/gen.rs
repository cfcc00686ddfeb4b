//! Generates a data set from the command line, for measuring speed and memory:
//! `cargo run --release -p tamsa-generate --example gen -- OUT_DIR [CUSTOMERS] [SEED]`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tamsa_generate::{generate, GenerateOptions, Progress};

/// Prints one line per stage with its duration.
struct StageTimer {
    started: std::sync::Mutex<Option<(String, Instant)>>,
    done: AtomicU64,
}

impl Progress for StageTimer {
    fn start(&self, stage: &str, total: u64) {
        eprintln!("{stage}: {total} customers");
        self.done.store(0, Ordering::Relaxed);
        *self.started.lock().expect("timer lock") = Some((stage.to_string(), Instant::now()));
    }

    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    fn finish(&self) {
        if let Some((stage, at)) = self.started.lock().expect("timer lock").take() {
            let done = self.done.load(Ordering::Relaxed);
            eprintln!("{stage}: {done} customers in {:.1}s", at.elapsed().as_secs_f64());
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: gen OUT_DIR [CUSTOMERS] [SEED]");
        std::process::exit(2);
    };
    let customers = args.next().map_or(100_000, |s| s.parse().expect("CUSTOMERS is a number"));
    let seed = args.next().map_or(42, |s| s.parse().expect("SEED is a number"));
    let opts = GenerateOptions { customers, seed, ..GenerateOptions::default() };
    let timer = StageTimer { started: std::sync::Mutex::new(None), done: AtomicU64::new(0) };
    let began = Instant::now();
    match generate(&out, &opts, &timer) {
        Ok(summary) => {
            let secs = began.elapsed().as_secs_f64();
            println!(
                "{} customers, {} products, {} lines in {} orders ({:.2} lines per customer), {:.1} MB in {:.1}s",
                summary.customers,
                summary.products,
                summary.purchase_lines,
                summary.orders,
                summary.purchase_lines as f64 / summary.customers.max(1) as f64,
                summary.bytes_written as f64 / 1e6,
                secs
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
