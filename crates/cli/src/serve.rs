//! `tamsa serve` and `tamsa token`: the HTTP service and its API tokens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use tamsa_server::{Config, Db, Limits};

#[derive(clap::Args)]
pub struct Args {
    /// The index directory whose current generation is served.
    #[arg(long, env = "TAMSA_INDEX")]
    pub index: PathBuf,
    /// Where saved segments, tokens, the audit log and export snapshots live (tamsa.sqlite).
    /// Default: the index directory.
    #[arg(long, env = "TAMSA_SERVICE_DATA")]
    pub data: Option<PathBuf>,
    /// The input directory that `POST /api/admin/reindex` loads.
    #[arg(long, env = "TAMSA_INPUT")]
    pub input: Option<PathBuf>,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "TAMSA_ADDR")]
    pub addr: SocketAddr,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = Limits::default().body_bytes, env = "TAMSA_MAX_BODY_BYTES")]
    pub max_body_bytes: usize,
    /// Most nodes in one query.
    #[arg(long, default_value_t = Limits::default().query_nodes, env = "TAMSA_MAX_QUERY_NODES")]
    pub max_query_nodes: usize,
    /// Longest time to answer a request, in seconds (exports are not bounded by it).
    #[arg(long, default_value_t = Limits::default().request_time.as_secs_f64(), env = "TAMSA_REQUEST_TIMEOUT")]
    pub request_timeout: f64,
    /// How often to check the index directory for a new current generation, in seconds.
    #[arg(long, default_value_t = tamsa_server::DEFAULT_POLL_INTERVAL.as_secs_f64(), env = "TAMSA_POLL_INTERVAL")]
    pub poll_interval: f64,
    /// Generations a reindex through the API keeps.
    #[arg(long, default_value_t = 3, env = "TAMSA_KEEP_GENERATIONS")]
    pub keep: usize,
    /// Memory for results of OR-groups, conditions on several values and number ranges
    /// computed over everyone, kept between queries of one generation so that an edited
    /// segment does not compute its unchanged groups again, in MiB; 0 keeps none.
    #[arg(long, default_value_t = tamsa_query::DEFAULT_GROUP_CACHE_BYTES >> 20, env = "TAMSA_GROUP_CACHE_MIB")]
    pub group_cache_mib: u64,
}

impl Args {
    /// The service's settings for an index directory, all else default.
    pub fn for_index(index: PathBuf, addr: SocketAddr) -> Args {
        Args {
            index,
            data: None,
            input: None,
            addr,
            max_body_bytes: Limits::default().body_bytes,
            max_query_nodes: Limits::default().query_nodes,
            request_timeout: Limits::default().request_time.as_secs_f64(),
            poll_interval: tamsa_server::DEFAULT_POLL_INTERVAL.as_secs_f64(),
            keep: 3,
            group_cache_mib: tamsa_query::DEFAULT_GROUP_CACHE_BYTES >> 20,
        }
    }
}

fn seconds(value: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{flag}: `{value}` is not a positive number of seconds"))
}

/// Runs the service until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> Result<()> {
    init_logs();
    let config = Config {
        data_dir: args.data.clone().unwrap_or_else(|| args.index.clone()),
        index_dir: args.index,
        input_dir: args.input,
        addr: args.addr,
        limits: Limits {
            body_bytes: args.max_body_bytes,
            query_nodes: args.max_query_nodes,
            request_time: seconds(args.request_timeout, "--request-timeout")?,
        },
        poll_interval: seconds(args.poll_interval, "--poll-interval")?,
        keep_generations: args.keep,
        group_cache_bytes: args
            .group_cache_mib
            .checked_mul(1 << 20)
            .context("--group-cache-mib is too large")?,
    };
    let index_dir = config.index_dir.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime
        .block_on(tamsa_server::serve(config, |addr| {
            // Scripts and tests read this line to find the port.
            println!("listening on http://{addr}");
            eprintln!("serving {}; open http://{addr}/ in a browser (Ctrl-C stops)", index_dir.display());
        }))
        .with_context(|| format!("serving {}", index_dir.display()))
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAMSA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    /// The service's data directory (as given to `tamsa serve --data`).
    #[arg(long, env = "TAMSA_SERVICE_DATA", global = true)]
    data: Option<PathBuf>,
    /// The index directory, whose folder is the data directory when --data is not given.
    #[arg(long, env = "TAMSA_INDEX", global = true)]
    index: Option<PathBuf>,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; it is printed once, and only its hash is kept.
    Create {
        /// A name for who uses it, such as the campaign tool.
        name: String,
    },
    /// List tokens (names and dates, never secrets).
    List,
    /// Revoke a token: it is refused from now on.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// Runs `tamsa token …`.
pub fn token(args: TokenArgs) -> Result<()> {
    let dir: &Path = match (&args.data, &args.index) {
        (Some(data), _) => data,
        (None, Some(index)) => index,
        (None, None) => anyhow::bail!("give --data DIR (or --index DIR) to say which service's tokens"),
    };
    let db = Db::open(dir).with_context(|| format!("opening the service database in {}", dir.display()))?;
    match args.command {
        TokenCommand::Create { name } => {
            let name = name.trim();
            anyhow::ensure!(!name.is_empty(), "a token needs a name");
            let secret = db.create_token(name)?;
            println!("{secret}");
            eprintln!("token `{name}` created; it is shown only this once. Send it as `Authorization: Bearer <token>`.");
        }
        TokenCommand::List => {
            for t in db.tokens()? {
                let state = t.revoked_at.map_or("live".to_owned(), |at| format!("revoked {at}"));
                println!("{}\tcreated {}\t{state}", t.name, t.created_at);
            }
        }
        TokenCommand::Revoke { name } => {
            db.revoke_token(&name)?;
            eprintln!("token `{name}` revoked");
        }
    }
    Ok(())
}
