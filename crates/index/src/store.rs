//! Generations on disk: writing one safely, switching to it atomically, reading it back.
//!
//! ```text
//! INDEX_DIR/
//!   CURRENT              the name of the current generation, replaced atomically
//!   .lock                held by the one reindex that may write here
//!   gen-000007/
//!     manifest.json      format version, meta, dimensions, and where each part lies in data.bin
//!     data.bin           bitmaps (portable roaring format) and little-endian columns
//! ```
//!
//! A generation is written under `gen-NNNNNN.partial/`, every file is synced, the folder
//! is renamed, and only then is `CURRENT` replaced (write, sync, rename, sync the folder).
//! A crash at any point leaves `CURRENT` naming a complete generation; leftovers of an
//! interrupted write are removed by the next one. `data.bin` carries a checksum in the
//! manifest, checked on every open.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use tamsa_model::{catalog, Kind};
use xxhash_rust::xxh3::Xxh3;

use crate::error::{IndexError, Result};
use crate::number::{Column, NumberIndex, Packed};
use crate::{Dimensions, FieldIndex, Index, Lists, Meta, ProductLists, Strings, ValueIndex};

/// The version of the on-disk format this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

const CURRENT: &str = "CURRENT";
const MANIFEST: &str = "manifest.json";
const DATA: &str = "data.bin";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io { path: path.to_owned(), source }
}

/// Where a part lies in `data.bin`: offset and length in bytes.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Blob(u64, u64);

#[derive(Serialize, Deserialize)]
struct StoredColumn {
    base: i64,
    width: u8,
    data: Blob,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredField {
    Values { name: String, bitmaps: Vec<Blob>, codes: Option<StoredColumn> },
    Number { name: String, column: StoredColumn, exists: Blob, bounds: Vec<i64>, cumulative: Vec<Blob> },
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format_version: u32,
    meta: Meta,
    dims: Dimensions,
    fields: Vec<StoredField>,
    customer_ids: (Blob, Blob),
    last_products: (Blob, Blob),
    product_lists: (Blob, Blob),
    age_buckets: Vec<Blob>,
    data_bytes: u64,
    data_xxh3: String,
}

/// Appends parts to `data.bin`, hashing as it goes.
struct DataWriter {
    out: BufWriter<File>,
    offset: u64,
    hasher: Xxh3,
    path: PathBuf,
}

impl DataWriter {
    fn bytes(&mut self, bytes: &[u8]) -> Result<Blob> {
        self.out.write_all(bytes).map_err(io(&self.path))?;
        self.hasher.update(bytes);
        let blob = Blob(self.offset, bytes.len() as u64);
        self.offset += bytes.len() as u64;
        Ok(blob)
    }

    fn bitmap(&mut self, bitmap: &RoaringBitmap) -> Result<Blob> {
        if bitmap.is_empty() {
            return Ok(Blob(self.offset, 0));
        }
        let mut buf = Vec::with_capacity(bitmap.serialized_size());
        bitmap.serialize_into(&mut buf).expect("writing to memory");
        self.bytes(&buf)
    }

    fn column(&mut self, column: &Column) -> Result<StoredColumn> {
        let (width, bytes): (u8, Vec<u8>) = match &column.packed {
            Packed::U8(v) => (1, v.clone()),
            Packed::U16(v) => (2, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Packed::U32(v) => (4, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Packed::U64(v) => (8, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        };
        Ok(StoredColumn { base: column.base, width, data: self.bytes(&bytes)? })
    }

    fn u64s(&mut self, values: &[u64]) -> Result<Blob> {
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.bytes(&bytes)
    }

    fn u32s(&mut self, values: &[u32]) -> Result<Blob> {
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.bytes(&bytes)
    }
}

fn generation_name(generation: u64) -> String {
    format!("gen-{generation:06}")
}

fn parse_generation(name: &str) -> Option<u64> {
    name.strip_prefix("gen-")?.parse().ok()
}

/// A generation present in an index directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generation {
    /// Its number.
    pub generation: u64,
    /// Its folder.
    pub path: PathBuf,
    /// Whether `CURRENT` names it.
    pub current: bool,
}

fn current_name(dir: &Path) -> Result<Option<String>> {
    match fs::read_to_string(dir.join(CURRENT)) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(IndexError::Io { path: dir.join(CURRENT), source }),
    }
}

/// The complete generations in `dir`, oldest first.
pub fn generations(dir: &Path) -> Result<Vec<Generation>> {
    let current = current_name(dir)?;
    let mut found = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(source) => return Err(IndexError::Io { path: dir.to_owned(), source }),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(generation) = parse_generation(&name) {
            let current = current.as_deref() == Some(name.as_str());
            found.push(Generation { generation, path: entry.path(), current });
        }
    }
    found.sort_by_key(|g| g.generation);
    Ok(found)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// The one writer of an index directory: holds its lock from the start of a reindex to
/// the end, so two reindexes never interleave.
pub struct Writer {
    dir: PathBuf,
    _lock: File,
}

impl Writer {
    /// Takes the lock of `dir` (creating it if needed), or fails if another writer has it.
    pub fn lock(dir: &Path) -> Result<Writer> {
        let file = lock_file(dir)?;
        Ok(Writer { dir: dir.to_owned(), _lock: file })
    }

    /// The number the next generation gets.
    pub fn next_generation(&self) -> Result<u64> {
        next_generation(&self.dir)
    }

    /// Writes `index` as a new generation, makes it current once it is complete and
    /// verified, and removes all but the newest `keep` generations (never the current
    /// one). Returns the size of the generation on disk.
    pub fn write(&self, index: &mut Index, keep: usize) -> Result<u64> {
        write_generation(&self.dir, index, keep)
    }

    /// Makes generation `generation` current again (a rollback), after checking it.
    pub fn set_current(&self, generation: u64) -> Result<()> {
        set_current(&self.dir, generation)
    }
}

fn lock_file(dir: &Path) -> Result<File> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(".lock");
    let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(IndexError::Locked { dir: dir.to_owned() }),
        Err(fs::TryLockError::Error(source)) => Err(IndexError::Io { path, source }),
    }
}

fn next_generation(dir: &Path) -> Result<u64> {
    let mut highest = 0;
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries {
            let entry = entry.map_err(io(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let number = name.strip_suffix(".partial").unwrap_or(&name);
            if let Some(n) = parse_generation(number) {
                highest = highest.max(n);
            }
        }
    }
    Ok(highest + 1)
}

fn write_generation(dir: &Path, index: &mut Index, keep: usize) -> Result<u64> {
    // Leftovers of interrupted writes.
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "partial") {
            fs::remove_dir_all(&path).map_err(io(&path))?;
        }
    }
    let name = generation_name(index.meta.generation);
    let partial = dir.join(format!("{name}.partial"));
    fs::create_dir(&partial).map_err(io(&partial))?;

    let data_path = partial.join(DATA);
    let file = File::create(&data_path).map_err(io(&data_path))?;
    let mut data = DataWriter {
        out: BufWriter::with_capacity(1 << 20, file),
        offset: 0,
        hasher: Xxh3::new(),
        path: data_path.clone(),
    };
    let mut fields = Vec::new();
    for (def, field) in catalog().iter().zip(&index.fields) {
        let name = def.name.clone();
        fields.push(match field {
            FieldIndex::Values(v) => StoredField::Values {
                name,
                bitmaps: v.bitmaps.iter().map(|b| data.bitmap(b)).collect::<Result<_>>()?,
                codes: v.codes.as_ref().map(|c| data.column(c)).transpose()?,
            },
            FieldIndex::Number(n) => StoredField::Number {
                name,
                column: data.column(&n.column)?,
                exists: data.bitmap(&n.exists)?,
                bounds: n.bounds.clone(),
                cumulative: n.cumulative.iter().map(|b| data.bitmap(b)).collect::<Result<_>>()?,
            },
        });
    }
    let customer_ids = (data.bytes(&index.customer_ids.bytes)?, data.u64s(&index.customer_ids.ends)?);
    let last_products = (data.u64s(&index.last_products.ends)?, data.u32s(&index.last_products.values)?);
    let product_lists = (data.u32s(&index.product_lists.offsets)?, data.u32s(&index.product_lists.entries)?);
    let age_buckets = index.age_buckets.iter().map(|b| data.bitmap(b)).collect::<Result<_>>()?;
    let data_bytes = data.offset;
    let data_xxh3 = format!("{:016x}", data.hasher.digest());
    let file = data
        .out
        .into_inner()
        .map_err(|e| IndexError::Io { path: data_path.clone(), source: e.into_error() })?;
    file.sync_all().map_err(io(&data_path))?;
    drop(file);

    index.meta.report.index_bytes = data_bytes;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        meta: index.meta.clone(),
        dims: index.dims.clone(),
        fields,
        customer_ids,
        last_products,
        product_lists,
        age_buckets,
        data_bytes,
        data_xxh3,
    };
    let manifest_path = partial.join(MANIFEST);
    let json = serde_json::to_vec(&manifest).expect("manifest serializes");
    write_synced(&manifest_path, &json)?;
    sync_dir(&partial)?;

    // Verified: what is on disk reads back with the right checksum.
    check_data(&partial, &manifest)?;
    let complete = dir.join(&name);
    fs::rename(&partial, &complete).map_err(io(&complete))?;
    sync_dir(dir)?;
    make_current(dir, &name)?;
    prune(dir, keep)?;
    Ok(data_bytes + json.len() as u64)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

fn make_current(dir: &Path, name: &str) -> Result<()> {
    let temp = dir.join(format!("{CURRENT}.tmp"));
    write_synced(&temp, format!("{name}\n").as_bytes())?;
    let current = dir.join(CURRENT);
    fs::rename(&temp, &current).map_err(io(&current))?;
    sync_dir(dir)
}

fn prune(dir: &Path, keep: usize) -> Result<()> {
    let all = generations(dir)?;
    let excess = all.len().saturating_sub(keep.max(1));
    for old in all.iter().take(excess).filter(|g| !g.current) {
        fs::remove_dir_all(&old.path).map_err(io(&old.path))?;
    }
    Ok(())
}

fn set_current(dir: &Path, generation: u64) -> Result<()> {
    let name = generation_name(generation);
    let path = dir.join(&name);
    if !path.is_dir() {
        return Err(IndexError::NoGeneration { dir: dir.to_owned(), generation });
    }
    let manifest = read_manifest(&path)?;
    check_data(&path, &manifest)?;
    make_current(dir, &name)
}

fn read_manifest(gen_dir: &Path) -> Result<Manifest> {
    let path = gen_dir.join(MANIFEST);
    let bytes = fs::read(&path).map_err(io(&path))?;
    #[derive(Deserialize)]
    struct Version {
        format_version: u32,
    }
    let version: Version = serde_json::from_slice(&bytes)
        .map_err(|err| IndexError::Corrupt { path: path.clone(), why: err.to_string() })?;
    if version.format_version != FORMAT_VERSION {
        return Err(IndexError::Version { path, found: version.format_version, expected: FORMAT_VERSION });
    }
    serde_json::from_slice(&bytes).map_err(|err| IndexError::Corrupt { path, why: err.to_string() })
}

fn check_data(gen_dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = gen_dir.join(DATA);
    let mut file = File::open(&path).map_err(io(&path))?;
    let len = file.metadata().map_err(io(&path))?.len();
    if len != manifest.data_bytes {
        let why = format!("{len} bytes, the manifest says {}", manifest.data_bytes);
        return Err(IndexError::Corrupt { path, why });
    }
    let mut hasher = Xxh3::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io(&path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let sum = format!("{:016x}", hasher.digest());
    if sum != manifest.data_xxh3 {
        return Err(IndexError::Corrupt {
            path,
            why: format!("checksum {sum}, the manifest says {}", manifest.data_xxh3),
        });
    }
    Ok(())
}

/// Opens the current generation of `dir`.
pub fn open(dir: &Path) -> Result<Index> {
    let name = current_name(dir)?.ok_or_else(|| IndexError::NoIndex { dir: dir.to_owned() })?;
    open_generation(&dir.join(name))
}

struct DataReader {
    file: File,
    path: PathBuf,
}

impl DataReader {
    fn bytes(&self, blob: Blob) -> Result<Vec<u8>> {
        let mut buf = vec![0; blob.1 as usize];
        self.file.read_exact_at(&mut buf, blob.0).map_err(io(&self.path))?;
        Ok(buf)
    }

    fn corrupt(&self, why: impl Into<String>) -> IndexError {
        IndexError::Corrupt { path: self.path.clone(), why: why.into() }
    }

    fn bitmap(&self, blob: Blob) -> Result<RoaringBitmap> {
        if blob.1 == 0 {
            return Ok(RoaringBitmap::new());
        }
        RoaringBitmap::deserialize_from(&self.bytes(blob)?[..])
            .map_err(|e| self.corrupt(format!("bitmap: {e}")))
    }

    fn column(&self, stored: &StoredColumn) -> Result<Column> {
        let bytes = self.bytes(stored.data)?;
        let packed = match stored.width {
            1 => Packed::U8(bytes),
            2 => Packed::U16(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()),
            4 => Packed::U32(
                bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4"))).collect(),
            ),
            8 => Packed::U64(
                bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8"))).collect(),
            ),
            w => return Err(self.corrupt(format!("column width {w}"))),
        };
        Ok(Column { base: stored.base, packed })
    }

    fn u64s(&self, blob: Blob) -> Result<Vec<u64>> {
        let bytes = self.bytes(blob)?;
        Ok(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8"))).collect())
    }

    fn u32s(&self, blob: Blob) -> Result<Vec<u32>> {
        let bytes = self.bytes(blob)?;
        Ok(bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4"))).collect())
    }
}

/// Opens one generation folder, checking its format version and checksum.
pub fn open_generation(gen_dir: &Path) -> Result<Index> {
    let manifest = read_manifest(gen_dir)?;
    check_data(gen_dir, &manifest)?;
    let path = gen_dir.join(DATA);
    let data = DataReader { file: File::open(&path).map_err(io(&path))?, path };
    let defs = catalog();
    if manifest.fields.len() != defs.len() {
        return Err(data.corrupt(format!("{} fields, expected {}", manifest.fields.len(), defs.len())));
    }
    // Fields are read and decoded in parallel: opening is mostly decoding bitmaps.
    let fields: Vec<FieldIndex> = defs
        .par_iter()
        .zip(&manifest.fields)
        .map(|(def, stored)| match stored {
            StoredField::Values { name, bitmaps, codes } if *name == def.name && def.kind != Kind::Number => {
                Ok(FieldIndex::Values(ValueIndex {
                    bitmaps: bitmaps.iter().map(|&b| data.bitmap(b)).collect::<Result<_>>()?,
                    codes: codes.as_ref().map(|c| data.column(c)).transpose()?,
                }))
            }
            StoredField::Number { name, column, exists, bounds, cumulative } if *name == def.name => {
                Ok(FieldIndex::Number(NumberIndex {
                    column: data.column(column)?,
                    exists: data.bitmap(*exists)?,
                    bounds: bounds.clone(),
                    cumulative: cumulative.iter().map(|&b| data.bitmap(b)).collect::<Result<_>>()?,
                }))
            }
            _ => Err(data.corrupt(format!("field `{}` is not stored as expected", def.name))),
        })
        .collect::<Result<_>>()?;
    let population = manifest.meta.population;
    Ok(Index {
        customer_ids: Strings {
            bytes: data.bytes(manifest.customer_ids.0)?,
            ends: data.u64s(manifest.customer_ids.1)?,
        },
        last_products: Lists {
            ends: data.u64s(manifest.last_products.0)?,
            values: data.u32s(manifest.last_products.1)?,
        },
        product_lists: ProductLists {
            offsets: data.u32s(manifest.product_lists.0)?,
            entries: data.u32s(manifest.product_lists.1)?,
        },
        age_buckets: manifest.age_buckets.iter().map(|&b| data.bitmap(b)).collect::<Result<_>>()?,
        universe: RoaringBitmap::from_sorted_iter(0..population).expect("ascending"),
        meta: manifest.meta,
        dims: manifest.dims,
        fields,
    })
}

/// What a generation folder records about itself, without loading it.
pub fn read_meta(gen_dir: &Path) -> Result<Meta> {
    Ok(read_manifest(gen_dir)?.meta)
}
