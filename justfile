# Tasks for developers. The README's two commands need nothing but cargo.

# Run the product on a generated sample data set.
demo:
    cargo run --release -- demo

# Run every test.
test:
    cargo test --workspace

# Format and lint as CI does.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# The full benchmark (1M, 4M, 15M customers; DuckDB, chdb, tantivy; HTTP load; export);
# `just bench query`-style stage names run stages alone (see bench/bench.py --help).
bench *stages:
    python3 bench/bench.py {{stages}}

# The engine alone at one data set size (generated once under data/); results in bench/results.
bench-engine customers="1000000":
    bench/run {{customers}}
