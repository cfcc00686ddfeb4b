//! Rebuilds the embedded web UI when any of its files changes.

fn main() {
    println!("cargo:rerun-if-changed=../../web");
}
