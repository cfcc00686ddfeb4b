//! `tamsa demo`: the first thing a newcomer runs. Generates a sample data set if none is
//! there, indexes it if needed, answers an example segment and says what to do next.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;
use tamsa_index::FieldIndex;
use tamsa_query::Engine;

#[derive(clap::Args)]
pub struct Args {
    /// Where the sample data (DIR/sample) and its index (DIR/index) live.
    #[arg(long, default_value = "data", env = "TAMSA_DATA")]
    data: PathBuf,
    /// Customers in the sample, when it has to be generated.
    #[arg(long, default_value_t = 100_000)]
    customers: u64,
    /// Seed of the sample, when it has to be generated.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where the web UI and API listen at the end.
    #[arg(long, default_value = "127.0.0.1:8080", env = "TAMSA_ADDR")]
    addr: std::net::SocketAddr,
    /// Stop after the example instead of serving the web UI.
    #[arg(long)]
    no_serve: bool,
}

pub fn run(args: Args) -> Result<()> {
    let input = args.data.join("sample");
    let index_dir = args.data.join("index");
    if !input.join("purchases").is_dir() {
        eprintln!("generating a sample of {} customers into {}", args.customers, input.display());
        let options = tamsa_generate::GenerateOptions {
            customers: args.customers,
            seed: args.seed,
            end_day: tamsa_generate::default_end_day(),
        };
        tamsa_generate::generate(&input, &options, &crate::progress::CliProgress::new())?;
    }
    if !index_dir.join("CURRENT").is_file() {
        crate::reindex::run(crate::reindex::Args {
            input: input.clone(),
            index: index_dir.clone(),
            as_of: None,
            strict: false,
            keep: 3,
        })?;
    }
    let engine = crate::open_engine(&index_dir)?;
    let query = example_query(&engine);
    let node = engine.parse(&query)?;
    let profile = engine.profile(&node);
    let query_path = args.data.join("example-query.json");
    std::fs::write(&query_path, serde_json::to_string_pretty(&query)? + "\n")?;

    let share = 100.0 * profile.count as f64 / profile.population.max(1) as f64;
    println!("Example segment ({}):", query_path.display());
    println!("  women aged 30-39 who bought the most popular brand in the last 90 days,");
    println!("  with an average order of at least 50,000 KRW, and who are not offline-only");
    println!();
    println!(
        "  {} of {} customers ({share:.2}%), answered in {:.2} ms",
        profile.count, profile.population, profile.took_ms
    );
    println!("  age:     {}", compact(&profile.facets.age));
    println!("  channel: {}", compact(&profile.facets.channel_365d));
    println!("  region:  {}", compact(&profile.facets.region));
    if let Some(top) = profile.facets.last_product.first() {
        println!("  most common last purchase: {} ({}, {} customers)", top.name, top.brand, top.count);
    }
    println!();
    println!("Next:");
    println!(
        "  cargo run --release -- query --index {} --query {}",
        index_dir.display(),
        query_path.display()
    );
    println!(
        "  cargo run --release -- export --index {} --query {} --format csv --columns age,gender,spend_365d",
        index_dir.display(),
        query_path.display()
    );
    println!(
        "  cargo run --release -- token create crm --index {}   (for the export API)",
        index_dir.display()
    );
    println!("  cargo run --release -- reindex --input YOUR_PARQUET_DIR --index {}", index_dir.display());
    if args.no_serve {
        return Ok(());
    }
    println!();
    println!("Starting the web UI and API (Ctrl-C stops):");
    let mut serve = crate::serve::Args::for_index(index_dir, args.addr);
    serve.input = Some(input);
    crate::serve::run(serve)
}

fn compact(map: &serde_json::Map<String, serde_json::Value>) -> String {
    map.iter().take(6).map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

/// The demo's segment, naming the brand most bought in the last 90 days of this index.
fn example_query(engine: &Engine) -> serde_json::Value {
    let brand_field = engine.schema.field("brand_90d").expect("catalog field");
    let brand = match engine.index.field(brand_field) {
        FieldIndex::Values(v) => v
            .bitmaps
            .iter()
            .enumerate()
            .max_by_key(|(_, b)| b.len())
            .map(|(i, _)| engine.index.dims.brand[i].clone())
            .unwrap_or_default(),
        FieldIndex::Number(_) => String::new(),
    };
    json!({"all": [
        {"field": "gender", "op": "eq", "value": "F"},
        {"field": "age", "op": "between", "value": [30, 39]},
        {"field": "brand_90d", "op": "in", "value": [brand]},
        {"field": "aov_90d", "op": "gte", "value": 50000},
        {"not": {"field": "channel_365d", "op": "eq", "value": "offline"}}
    ]})
}
