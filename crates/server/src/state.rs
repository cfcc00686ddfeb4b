//! What every request reads: the current index generation (swapped whole when a new one
//! becomes current), the database and the configuration.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use roaring::RoaringBitmap;
use serde::Serialize;
use tamsa_query::{Engine, Facets};
use tamsa_search::Catalog;

use crate::computing::Computing;
use crate::db::Db;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The index directory whose current generation is served.
    pub index_dir: PathBuf,
    /// Where the database and export snapshots live.
    pub data_dir: PathBuf,
    /// The input directory a reindex started through the API loads, if any.
    pub input_dir: Option<PathBuf>,
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Request limits.
    pub limits: Limits,
    /// How often the index directory is checked for a new current generation.
    pub poll_interval: Duration,
    /// Generations a reindex through the API keeps.
    pub keep_generations: usize,
    /// Bytes of groups' results over everyone each generation keeps between queries.
    pub group_cache_bytes: u64,
}

/// Limits on what one request may ask.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub body_bytes: usize,
    /// Most nodes (conditions and groups) in one query.
    pub query_nodes: usize,
    /// Longest time to answer a request (exports stream and are not bounded by it).
    pub request_time: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { body_bytes: 1 << 20, query_nodes: 10_000, request_time: Duration::from_secs(30) }
    }
}

/// One index generation ready to serve, with what every answer on it shares.
pub struct Loaded {
    /// The query engine.
    pub engine: Engine,
    /// The facets of every customer, beside which segments are shown.
    pub population_facets: Facets,
    /// The condition catalog search.
    pub catalog: Catalog,
    /// The answer of `GET /api/fields`, serialized once.
    pub fields_json: bytes::Bytes,
    /// Counts of saved segments on this generation, by (segment, version).
    pub segment_counts: Mutex<HashMap<(i64, i64), u64>>,
    /// Recent answers of `POST /api/query` on this generation, by request body: a marketer's
    /// screen asks the same segment again and again (edits undone, pages reloaded, several
    /// people looking at one campaign), and a generation never changes its answers.
    pub answers: Mutex<lru::LruCache<String, Arc<serde_json::Value>>>,
}

/// How many answers each generation keeps (each a few kilobytes).
pub const CACHED_ANSWERS: usize = 1024;

impl Loaded {
    /// Opens the current generation of `index_dir` and prepares it (blocking), keeping up
    /// to `group_cache_bytes` of groups' results between queries.
    pub fn open(index_dir: &Path, group_cache_bytes: u64) -> anyhow::Result<Loaded> {
        let index = tamsa_index::open(index_dir)?;
        let engine = Engine::new(index).with_group_cache(group_cache_bytes);
        let population_facets = engine.facets(&engine.index.universe);
        let catalog = Catalog::build(&engine)?;
        let fields_json = serde_json::to_vec(&crate::fields::fields(&engine))?.into();
        Ok(Loaded {
            engine,
            population_facets,
            catalog,
            fields_json,
            segment_counts: Mutex::default(),
            answers: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(CACHED_ANSWERS).expect("a positive capacity"),
            )),
        })
    }

    /// The generation number.
    pub fn generation(&self) -> u64 {
        self.engine.index.meta.generation
    }

    /// The members of a validated query.
    pub fn members(&self, node: &tamsa_query::Node) -> RoaringBitmap {
        self.engine.segment(node)
    }
}

/// A reindex started through the API.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReindexStatus {
    /// `idle`, `running`, `succeeded` or `failed`.
    pub state: &'static str,
    /// When the latest one started.
    pub started_at: Option<String>,
    /// When it ended.
    pub finished_at: Option<String>,
    /// The generation it made, if it succeeded.
    pub generation: Option<u64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Shared state of all requests.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// The generation being served.
    pub current: ArcSwap<Loaded>,
    /// The database.
    pub db: Db,
    /// The latest reindex started through the API.
    pub reindex: Mutex<ReindexStatus>,
    /// Serializes switching generations; holds the generation that last failed to open,
    /// which is not tried again until another becomes current.
    pub switching: tokio::sync::Mutex<Option<u64>>,
    /// The threads computing answers, in order of arrival.
    pub computing: Computing,
}

/// A handle on the shared state.
pub type AppState = Arc<Shared>;

impl Shared {
    /// Opens the index and the database.
    pub fn open(config: Config) -> anyhow::Result<AppState> {
        let loaded = Loaded::open(&config.index_dir, config.group_cache_bytes)?;
        let db = Db::open(&config.data_dir)?;
        crate::metrics::index_loaded(&loaded);
        Ok(Arc::new(Shared {
            config,
            current: ArcSwap::from_pointee(loaded),
            db,
            reindex: Mutex::new(ReindexStatus { state: "idle", ..ReindexStatus::default() }),
            switching: tokio::sync::Mutex::new(None),
            computing: Computing::new()?,
        }))
    }

    /// The generation to answer a request from: held by the request to its end, so a
    /// switch never changes it midway.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Serves the index directory's current generation if it is not served yet. Requests in
    /// flight finish on the generation they started with.
    pub async fn refresh(self: &Arc<Self>) -> anyhow::Result<bool> {
        let mut failed = self.switching.lock().await;
        let dir = self.config.index_dir.clone();
        let current = tokio::task::spawn_blocking(move || current_generation(&dir)).await??;
        if current.is_none() || current == Some(self.loaded().generation()) || current == *failed {
            return Ok(false);
        }
        let dir = self.config.index_dir.clone();
        let cache = self.config.group_cache_bytes;
        let loaded = match tokio::task::spawn_blocking(move || Loaded::open(&dir, cache)).await? {
            Ok(loaded) => loaded,
            Err(err) => {
                *failed = current;
                return Err(err.context(format!(
                    "generation {} is current on disk but cannot be opened; still serving generation {}",
                    current.unwrap_or_default(),
                    self.loaded().generation()
                )));
            }
        };
        *failed = None;
        tracing::info!(generation = loaded.generation(), "serving a new index generation");
        crate::metrics::index_loaded(&loaded);
        self.current.store(Arc::new(loaded));
        Ok(true)
    }
}

/// The number of the index directory's current generation.
fn current_generation(dir: &Path) -> anyhow::Result<Option<u64>> {
    Ok(tamsa_index::generations(dir)?.into_iter().find(|g| g.current).map(|g| g.generation))
}

/// Checks the index directory for a new current generation every `poll_interval`.
pub async fn watch(state: AppState) {
    let mut tick = tokio::time::interval(state.config.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = state.refresh().await {
            tracing::warn!(error = %format!("{err:#}"), "could not switch to the current index generation");
        }
    }
}
