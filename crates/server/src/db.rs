//! The service's own state in an embedded SQLite database: saved segments and their
//! versions, API tokens (hashes only), the audit log and the record of exports.
//!
//! The schema is versioned by `PRAGMA user_version`; each migration runs once, in a
//! transaction, in order.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The migrations, in order; the database's `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    // 1: segments with versions, tokens, audit log, exports.
    "CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        owner TEXT NOT NULL,
        query TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE TABLE segment_versions (
        segment_id INTEGER NOT NULL REFERENCES segments(id),
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        owner TEXT NOT NULL,
        query TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (segment_id, version)
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        hash BLOB NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        token TEXT NOT NULL,
        action TEXT NOT NULL,
        segment_id INTEGER,
        segment_version INTEGER,
        export_version INTEGER,
        format TEXT,
        rows INTEGER,
        generation INTEGER,
        outcome TEXT NOT NULL
    );
    CREATE TABLE exports (
        segment_id INTEGER NOT NULL REFERENCES segments(id),
        export_version INTEGER NOT NULL,
        segment_version INTEGER NOT NULL,
        generation INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        at TEXT NOT NULL,
        complete INTEGER NOT NULL,
        PRIMARY KEY (segment_id, export_version)
    );",
];

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "tamsa.sqlite";

/// What can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be created.
    #[error("creating the data directory {path}: {source}", path = path.display())]
    Dir {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A token name is taken.
    #[error("a token named `{0}` already exists")]
    TokenExists(String),
    /// No such token.
    #[error("no token named `{0}`")]
    NoToken(String),
}

/// The database, shared by all requests (each use is short; SQLite runs in WAL mode).
pub struct Db {
    conn: Mutex<Connection>,
}

/// A saved segment at its current version.
#[derive(Clone, Debug, Serialize)]
pub struct Segment {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Who owns it.
    pub owner: String,
    /// Its query node.
    pub query: serde_json::Value,
    /// Its current version: 1 when created, one more with each edit.
    pub version: i64,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When its current version was made.
    pub updated_at: String,
}

/// One version of a segment.
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    /// The version number.
    pub version: i64,
    /// The name at that version.
    pub name: String,
    /// The description at that version.
    pub description: String,
    /// The owner at that version.
    pub owner: String,
    /// The query at that version.
    pub query: serde_json::Value,
    /// When the version was made.
    pub created_at: String,
}

/// The editable parts of a segment.
#[derive(Clone, Debug)]
pub struct SegmentDraft {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Who owns it.
    pub owner: String,
    /// Its query node, already validated.
    pub query: serde_json::Value,
}

/// A token as listed (never its secret).
#[derive(Clone, Debug, Serialize)]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// An audit log entry.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// Its number.
    pub id: i64,
    /// When.
    pub at: String,
    /// The name of the token used.
    pub token: String,
    /// `export`, `diff` or `reindex`.
    pub action: String,
    /// The segment, for exports and diffs.
    pub segment_id: Option<i64>,
    /// The segment's version exported.
    pub segment_version: Option<i64>,
    /// The export's number among the segment's exports, which a later diff can start from.
    pub export_version: Option<i64>,
    /// The format.
    pub format: Option<String>,
    /// Rows written.
    pub rows: Option<i64>,
    /// The index generation read.
    pub generation: Option<i64>,
    /// `complete`, `aborted` (the client went away) or `failed`.
    pub outcome: String,
}

/// A new audit entry.
#[derive(Clone, Debug, Default)]
pub struct NewAudit<'a> {
    /// The name of the token used.
    pub token: &'a str,
    /// `export`, `diff` or `reindex`.
    pub action: &'a str,
    /// The segment.
    pub segment_id: Option<i64>,
    /// Its version.
    pub segment_version: Option<i64>,
    /// The export's number.
    pub export_version: Option<i64>,
    /// The format.
    pub format: Option<&'a str>,
    /// Rows written.
    pub rows: Option<u64>,
    /// The generation read.
    pub generation: Option<u64>,
    /// `complete`, `aborted` or `failed`.
    pub outcome: &'a str,
}

/// A complete export, which later diffs can start from.
#[derive(Clone, Debug, Serialize)]
pub struct ExportRecord {
    /// Its number among the segment's exports.
    pub export_version: i64,
    /// The segment's version exported.
    pub segment_version: i64,
    /// The index generation read.
    pub generation: i64,
    /// Rows written.
    pub rows: i64,
    /// When.
    pub at: String,
}

impl Db {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Db, DbError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| DbError::Dir { path: data_dir.to_owned(), source })?;
        let mut conn = Connection::open(data_dir.join(DB_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Db { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The schema version.
    pub fn schema_version(&self) -> Result<i64, DbError> {
        Ok(self.conn().query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Saves a new segment at version 1.
    pub fn create_segment(&self, draft: &SegmentDraft) -> Result<Segment, DbError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now();
        let query = draft.query.to_string();
        tx.execute(
            "INSERT INTO segments (name, description, owner, query, version, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
            params![draft.name, draft.description, draft.owner, query, now],
        )?;
        let id = tx.last_insert_rowid();
        insert_version(&tx, id, 1, draft, &now)?;
        tx.commit()?;
        drop(conn);
        Ok(self.segment(id)?.expect("just created"))
    }

    /// Every segment not deleted, newest first.
    pub fn segments(&self) -> Result<Vec<Segment>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, name, description, owner, query, version, created_at, updated_at
             FROM segments WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC",
        )?;
        let rows = stmt.query_map([], segment_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A segment, unless unknown or deleted.
    pub fn segment(&self, id: i64) -> Result<Option<Segment>, DbError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT id, name, description, owner, query, version, created_at, updated_at
                 FROM segments WHERE id = ?1 AND deleted_at IS NULL",
                [id],
                segment_row,
            )
            .optional()?)
    }

    /// Every version of a segment, oldest first.
    pub fn versions(&self, id: i64) -> Result<Vec<Version>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT version, name, description, owner, query, created_at
             FROM segment_versions WHERE segment_id = ?1 ORDER BY version",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(Version {
                version: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                owner: r.get(3)?,
                query: json_column(r, 4)?,
                created_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Saves a new version of a segment; `None` if the segment is unknown or deleted.
    pub fn update_segment(&self, id: i64, draft: &SegmentDraft) -> Result<Option<Segment>, DbError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let current: Option<i64> = tx
            .query_row("SELECT version FROM segments WHERE id = ?1 AND deleted_at IS NULL", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(current) = current else { return Ok(None) };
        let now = now();
        let version = current + 1;
        tx.execute(
            "UPDATE segments SET name = ?2, description = ?3, owner = ?4, query = ?5, version = ?6,
             updated_at = ?7 WHERE id = ?1",
            params![id, draft.name, draft.description, draft.owner, draft.query.to_string(), version, now],
        )?;
        insert_version(&tx, id, version, draft, &now)?;
        tx.commit()?;
        drop(conn);
        self.segment(id)
    }

    /// Deletes a segment (its versions, exports and audit entries stay); false if unknown.
    pub fn delete_segment(&self, id: i64) -> Result<bool, DbError> {
        let changed = self.conn().execute(
            "UPDATE segments SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, now()],
        )?;
        Ok(changed == 1)
    }

    /// Creates a token and returns its secret, which is stored only as a SHA-256 hash.
    pub fn create_token(&self, name: &str) -> Result<String, DbError> {
        let secret = new_secret();
        let conn = self.conn();
        let taken: bool =
            conn.query_row("SELECT EXISTS(SELECT 1 FROM tokens WHERE name = ?1)", [name], |r| r.get(0))?;
        if taken {
            return Err(DbError::TokenExists(name.to_owned()));
        }
        conn.execute(
            "INSERT INTO tokens (name, hash, created_at) VALUES (?1, ?2, ?3)",
            params![name, hash(&secret), now()],
        )?;
        Ok(secret)
    }

    /// Every token, without secrets.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name, created_at, revoked_at FROM tokens ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(TokenInfo { name: r.get(0)?, created_at: r.get(1)?, revoked_at: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a token: it is refused from now on.
    pub fn revoke_token(&self, name: &str) -> Result<(), DbError> {
        let changed = self.conn().execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
            params![name, now()],
        )?;
        if changed == 0 {
            return Err(DbError::NoToken(name.to_owned()));
        }
        Ok(())
    }

    /// The name of the live token whose secret is `secret`, compared in constant time
    /// against every live token's hash.
    pub fn verify_token(&self, secret: &str) -> Result<Option<String>, DbError> {
        let presented = hash(secret);
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name, hash FROM tokens WHERE revoked_at IS NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut found = None;
        for row in rows {
            let (name, stored) = row?;
            if bool::from(stored.as_slice().ct_eq(presented.as_slice())) {
                found = Some(name);
            }
        }
        Ok(found)
    }

    /// Writes an audit log entry.
    pub fn audit(&self, entry: &NewAudit<'_>) -> Result<(), DbError> {
        self.conn().execute(
            "INSERT INTO audit (at, token, action, segment_id, segment_version, export_version, format,
             rows, generation, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                now(),
                entry.token,
                entry.action,
                entry.segment_id,
                entry.segment_version,
                entry.export_version,
                entry.format,
                entry.rows.map(|r| r as i64),
                entry.generation.map(|g| g as i64),
                entry.outcome
            ],
        )?;
        Ok(())
    }

    /// The latest audit entries, newest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, at, token, action, segment_id, segment_version, export_version, format, rows,
             generation, outcome FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                token: r.get(2)?,
                action: r.get(3)?,
                segment_id: r.get(4)?,
                segment_version: r.get(5)?,
                export_version: r.get(6)?,
                format: r.get(7)?,
                rows: r.get(8)?,
                generation: r.get(9)?,
                outcome: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Reserves the next export number of a segment for an export that is starting.
    pub fn start_export(
        &self,
        segment_id: i64,
        segment_version: i64,
        generation: u64,
    ) -> Result<i64, DbError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(export_version), 0) + 1 FROM exports WHERE segment_id = ?1",
            [segment_id],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO exports (segment_id, export_version, segment_version, generation, rows, at, complete)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, 0)",
            params![segment_id, version, segment_version, generation as i64, now()],
        )?;
        tx.commit()?;
        Ok(version)
    }

    /// Marks an export complete (its member snapshot is on disk), so diffs can start from it.
    pub fn finish_export(&self, segment_id: i64, export_version: i64, rows: u64) -> Result<(), DbError> {
        self.conn().execute(
            "UPDATE exports SET rows = ?3, complete = 1 WHERE segment_id = ?1 AND export_version = ?2",
            params![segment_id, export_version, rows as i64],
        )?;
        Ok(())
    }

    /// The finished exports of a segment, oldest first.
    pub fn exports(&self, segment_id: i64) -> Result<Vec<ExportRecord>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT export_version, segment_version, generation, rows, at FROM exports
             WHERE segment_id = ?1 AND complete = 1 ORDER BY export_version",
        )?;
        let rows = stmt.query_map([segment_id], |r| {
            Ok(ExportRecord {
                export_version: r.get(0)?,
                segment_version: r.get(1)?,
                generation: r.get(2)?,
                rows: r.get(3)?,
                at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (number, sql) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", number as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn insert_version(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    version: i64,
    draft: &SegmentDraft,
    now: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO segment_versions (segment_id, version, name, description, owner, query, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, version, draft.name, draft.description, draft.owner, draft.query.to_string(), now],
    )?;
    Ok(())
}

fn segment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Segment> {
    Ok(Segment {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        owner: r.get(3)?,
        query: json_column(r, 4)?,
        version: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

fn json_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A new token secret: `tamsa_` and 32 random bytes in hex.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("tamsa_{hex}")
}

/// The current time as RFC 3339 in UTC, to the millisecond.
pub fn now() -> String {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let day = tamsa_model::format_day(i32::try_from(secs / 86_400).unwrap_or(i32::MAX));
    let of_day = secs % 86_400;
    format!(
        "{day}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(name: &str) -> SegmentDraft {
        SegmentDraft {
            name: name.into(),
            description: "d".into(),
            owner: "o".into(),
            query: serde_json::json!({"all": []}),
        }
    }

    #[test]
    fn segments_keep_every_version() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let s = db.create_segment(&draft("first")).unwrap();
        assert_eq!(s.version, 1);
        let s = db.update_segment(s.id, &draft("second")).unwrap().unwrap();
        assert_eq!(s.version, 2);
        assert_eq!(s.name, "second");
        let names: Vec<String> = db.versions(s.id).unwrap().into_iter().map(|v| v.name).collect();
        assert_eq!(names, ["first", "second"]);
        assert!(db.delete_segment(s.id).unwrap());
        assert!(db.segment(s.id).unwrap().is_none());
        assert!(!db.delete_segment(s.id).unwrap());
        assert!(db.update_segment(s.id, &draft("x")).unwrap().is_none());
    }

    #[test]
    fn migrations_run_once_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let id = Db::open(dir.path()).unwrap().create_segment(&draft("kept")).unwrap().id;
        let db = Db::open(dir.path()).unwrap();
        assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(db.segment(id).unwrap().unwrap().name, "kept");
    }

    #[test]
    fn tokens_are_stored_hashed_and_can_be_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let secret = db.create_token("crm").unwrap();
        assert!(matches!(db.create_token("crm"), Err(DbError::TokenExists(_))));
        assert_eq!(db.verify_token(&secret).unwrap().as_deref(), Some("crm"));
        assert_eq!(db.verify_token("tamsa_wrong").unwrap(), None);
        let stored: Vec<u8> = db.conn().query_row("SELECT hash FROM tokens", [], |r| r.get(0)).unwrap();
        assert_ne!(stored, secret.as_bytes(), "the secret itself is never stored");
        db.revoke_token("crm").unwrap();
        assert_eq!(db.verify_token(&secret).unwrap(), None);
        assert!(matches!(db.revoke_token("crm"), Err(DbError::NoToken(_))));
    }
}
