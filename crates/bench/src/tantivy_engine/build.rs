//! Writes the tantivy index: one document per customer, read back from a Tamsa index, in
//! an mmap directory, merged at the end into a fixed number of segments (one by default,
//! as a force-merge of a read-only Elasticsearch index would leave it).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tamsa_index::{FieldIndex, ValueIndex};
use tamsa_model::Kind;
use tamsa_query::{Engine, FieldValue};
use tantivy::indexer::NoMergePolicy;
use tantivy::schema::Field;
use tantivy::store::Compressor;
use tantivy::{Index, IndexSettings, IndexWriter, TantivyDocument};

use super::{field_handles, schema, CUSTOMER_ID};

/// How the tantivy index is written.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Indexing threads of the writer.
    pub threads: usize,
    /// Memory budget of the writer, all threads together, in bytes.
    pub memory_bytes: usize,
    /// Segments the index is merged into at the end.
    pub segments: usize,
}

/// What a build cost.
#[derive(Clone, Debug, Serialize)]
pub struct BuildReport {
    /// Documents written, one per customer.
    pub customers: u32,
    /// Wall time of the whole build (documents, commit and merge), in seconds.
    pub seconds: f64,
    /// Of which the final merge, in seconds.
    pub merge_seconds: f64,
    /// Resident memory when the build started (the open Tamsa index it reads from).
    pub rss_before_bytes: Option<u64>,
    /// Peak resident memory of the process during the build, the Tamsa index included.
    pub peak_memory_bytes: Option<u64>,
    /// Size of the tantivy index on disk.
    pub bytes: u64,
    /// Segments of the final index.
    pub segments: usize,
}

/// Customers read from the Tamsa index at a time (one roaring container).
const CHUNK: u32 = 1 << 16;

/// A set field: its tantivy field, value bitmaps and value names.
struct SetField<'a> {
    field: Field,
    values: &'a ValueIndex,
    names: &'a [String],
}

/// Writes a tantivy index of `engine`'s customers into `out` (which must not exist, be
/// empty, or hold an earlier tantivy index, which is replaced).
pub fn build(engine: &Engine, out: &Path, options: &BuildOptions) -> Result<BuildReport> {
    prepare_dir(out)?;
    reset_peak_memory();
    let rss_before_bytes = memory_status("VmRSS:");
    let started = Instant::now();
    let defs = engine.schema.fields();
    let schema = schema(defs);
    let settings = IndexSettings { docstore_compression: Compressor::None, ..IndexSettings::default() };
    let index = Index::builder()
        .schema(schema.clone())
        .settings(settings)
        .create_in_dir(out)
        .with_context(|| format!("creating a tantivy index in {}", out.display()))?;
    let handles = field_handles(&schema, defs)?;
    let customer_id = schema.get_field(CUSTOMER_ID)?;

    let mut writer: IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(options.threads.max(1), options.memory_bytes)?;
    // Segments are merged once, at the end, into the number asked for.
    writer.set_merge_policy(Box::new(NoMergePolicy));

    let mut singles = Vec::new();
    let mut sets = Vec::new();
    for (id, def) in defs.iter().enumerate() {
        match (def.kind, engine.index.field(id)) {
            (Kind::Set, FieldIndex::Values(values)) => {
                let names = engine.schema.values(def.dimension.expect("set fields have values"));
                sets.push(SetField { field: handles[id], values, names });
            }
            (Kind::Set, FieldIndex::Number(_)) => bail!("set field `{}` has no value bitmaps", def.name),
            _ => singles.push((id, handles[id])),
        }
    }

    let population = engine.index.population();
    let wanted = options.segments.max(1);
    // A commit at each `wanted`th of the customers leaves at least `wanted` segments to merge.
    let part = |customer: u32| u64::from(customer) * wanted as u64 / u64::from(population.max(1));
    // Per set field, per customer of the chunk, the value numbers it holds.
    let mut lists: Vec<Vec<Vec<u32>>> = sets.iter().map(|_| vec![Vec::new(); CHUNK as usize]).collect();
    for start in (0..population).step_by(CHUNK as usize) {
        let end = start.saturating_add(CHUNK).min(population);
        for (set, lists) in sets.iter().zip(&mut lists) {
            lists.iter_mut().for_each(Vec::clear);
            for (value, bitmap) in set.values.bitmaps.iter().enumerate() {
                for customer in bitmap.range(start..end) {
                    lists[(customer - start) as usize].push(value as u32);
                }
            }
        }
        for customer in start..end {
            let mut doc = TantivyDocument::new();
            doc.add_text(customer_id, engine.customer_id(customer));
            for &(id, field) in &singles {
                match engine.value(id, customer) {
                    Some(FieldValue::Number(Some(n))) => doc.add_i64(field, n),
                    Some(FieldValue::Text(text)) => doc.add_text(field, text),
                    Some(FieldValue::Bool(b)) => doc.add_bool(field, b),
                    Some(FieldValue::Number(None)) | None => {}
                }
            }
            for (set, lists) in sets.iter().zip(&lists) {
                for &value in &lists[(customer - start) as usize] {
                    doc.add_text(set.field, &set.names[value as usize]);
                }
            }
            writer.add_document(doc)?;
            if part(customer + 1) > part(customer) && customer + 1 < population {
                writer.commit()?;
            }
        }
    }
    writer.commit()?;

    let merge_started = Instant::now();
    let mut metas = index.searchable_segment_metas()?;
    // Groups of about equal document counts, one per final segment: the largest segment
    // left goes to the smallest group.
    metas.sort_by_key(|m| std::cmp::Reverse(m.num_docs()));
    let mut groups: Vec<(u64, Vec<_>)> = vec![(0, Vec::new()); wanted];
    for meta in &metas {
        let smallest = groups.iter_mut().min_by_key(|g| g.0).expect("at least one group");
        smallest.0 += u64::from(meta.num_docs());
        smallest.1.push(meta.id());
    }
    for (_, group) in groups.iter().filter(|g| g.1.len() > 1) {
        writer.merge(group).wait()?;
    }
    // The merged segments' files are unused from now on (tantivy keeps the files of any
    // segment meta still alive, so the list goes first).
    drop(metas);
    writer.garbage_collect_files().wait()?;
    writer.wait_merging_threads()?;
    let merge_seconds = merge_started.elapsed().as_secs_f64();
    let segments = index.searchable_segment_metas()?.len();

    Ok(BuildReport {
        customers: population,
        seconds: started.elapsed().as_secs_f64(),
        merge_seconds,
        rss_before_bytes,
        peak_memory_bytes: memory_status("VmHWM:"),
        bytes: dir_bytes(out)?,
        segments,
    })
}

/// Makes `out` an empty directory, removing an earlier tantivy index there, but nothing else.
fn prepare_dir(out: &Path) -> Result<()> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))?;
        if out.join("meta.json").exists() {
            std::fs::remove_dir_all(out).with_context(|| format!("removing {}", out.display()))?;
        } else if entries.next().is_some() {
            bail!("{} is neither empty nor a tantivy index: not overwriting it", out.display());
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))
}

/// The total size of the files of a directory (not recursive: a tantivy index is flat).
fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

/// A memory line of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in bytes, where Linux tells.
fn memory_status(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak resident memory (`VmHWM`) to the current one, where Linux allows, so the
/// peak reported is the build's and not the opening of the Tamsa index's.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
