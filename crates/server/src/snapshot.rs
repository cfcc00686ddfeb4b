//! Member snapshots of exports, from which a later diff finds who entered and who left.
//!
//! A snapshot is the exported customer_ids, sorted, length-prefixed and zstd-compressed,
//! written beside its final name and renamed into place once complete and synced, so a
//! crash never leaves a partial snapshot under the final name.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"tamsa-snapshot1\n";

/// Where the snapshot of export `version` of segment `segment` lives.
pub fn path(data_dir: &Path, segment: i64, version: i64) -> PathBuf {
    data_dir.join("snapshots").join(format!("segment-{segment}")).join(format!("export-{version}.ids.zst"))
}

/// A snapshot being written, an id at a time, in any order.
pub struct SnapshotWriter {
    out: zstd::Encoder<'static, BufWriter<File>>,
    path: PathBuf,
    partial: PathBuf,
    expected: u64,
    written: u64,
}

impl SnapshotWriter {
    /// Starts the snapshot of `count` ids at `path`.
    pub fn create(path: &Path, count: u64) -> std::io::Result<SnapshotWriter> {
        let dir = path.parent().expect("snapshot paths have a folder");
        std::fs::create_dir_all(dir)?;
        let partial = path.with_extension("partial");
        let mut out = zstd::Encoder::new(BufWriter::new(File::create(&partial)?), 3)?;
        out.write_all(MAGIC)?;
        out.write_all(&count.to_le_bytes())?;
        Ok(SnapshotWriter { out, path: path.to_owned(), partial, expected: count, written: 0 })
    }

    /// Adds an id.
    pub fn push(&mut self, id: &str) -> std::io::Result<()> {
        self.out.write_all(&(id.len() as u32).to_le_bytes())?;
        self.out.write_all(id.as_bytes())?;
        self.written += 1;
        Ok(())
    }

    /// Completes the snapshot: synced, then renamed into place.
    pub fn finish(self) -> std::io::Result<()> {
        if self.written != self.expected {
            let _ = std::fs::remove_file(&self.partial);
            return Err(std::io::Error::other(format!(
                "snapshot of {} ids got {}",
                self.expected, self.written
            )));
        }
        let file = self.out.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.partial, &self.path)?;
        File::open(self.path.parent().expect("has a folder"))?.sync_all()
    }

    /// Gives up on the snapshot, removing what was written.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// Writes a snapshot of `ids` to `path`.
pub fn write(path: &Path, ids: &[&str]) -> std::io::Result<()> {
    let mut writer = SnapshotWriter::create(path, ids.len() as u64)?;
    for id in ids {
        if let Err(err) = writer.push(id) {
            writer.abandon();
            return Err(err);
        }
    }
    writer.finish()
}

/// Reads a snapshot's customer_ids, sorted.
pub fn read(path: &Path) -> std::io::Result<Vec<String>> {
    let damaged = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: damaged snapshot: {why}", path.display()),
        )
    };
    let mut input = zstd::Decoder::new(BufReader::new(File::open(path)?))?;
    let mut magic = [0u8; 16];
    input.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(damaged("not a snapshot"));
    }
    let mut word = [0u8; 8];
    input.read_exact(&mut word)?;
    let count = u64::from_le_bytes(word);
    let mut ids = Vec::with_capacity(count.min(1 << 24) as usize);
    let mut len = [0u8; 4];
    for _ in 0..count {
        input.read_exact(&mut len)?;
        let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
        input.read_exact(&mut bytes)?;
        ids.push(String::from_utf8(bytes).map_err(|_| damaged("an id is not UTF-8"))?);
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Who is in `now` and not in `before` (entered), and who is in `before` and not in `now`
/// (left); both inputs sorted.
pub fn diff<'a>(before: &'a [String], now: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    let (mut entered, mut left) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < before.len() || j < now.len() {
        match (before.get(i), now.get(j)) {
            (Some(b), Some(&n)) if b.as_str() == n => {
                i += 1;
                j += 1;
            }
            (Some(b), Some(&n)) if b.as_str() < n => {
                left.push(b.as_str());
                i += 1;
            }
            (_, Some(&n)) => {
                entered.push(n);
                j += 1;
            }
            (Some(b), None) => {
                left.push(b.as_str());
                i += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    (entered, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_diff() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), 1, 1);
        write(&p, &["c3", "c1", "고객2"]).unwrap();
        let before = read(&p).unwrap();
        assert_eq!(before, ["c1", "c3", "고객2"]);
        let mut now = vec!["c1", "c4", "고객2"];
        now.sort_unstable();
        let (entered, left) = diff(&before, &now);
        assert_eq!(entered, ["c4"]);
        assert_eq!(left, ["c3"]);
        assert!(!p.with_extension("partial").exists());
    }

    #[test]
    fn a_truncated_snapshot_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), 1, 1);
        let ids: Vec<String> = (0..10_000).map(|i| format!("customer-{i}")).collect();
        write(&p, &ids.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read(&p).is_err());
    }
}
