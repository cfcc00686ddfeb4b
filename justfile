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

# Benchmark the engine at a data set size (generated once under data/); results in bench/results.
bench customers="1000000":
    bench/run {{customers}}
