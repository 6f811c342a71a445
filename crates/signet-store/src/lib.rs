//! Signet's metadata store: the [`signet_core::store`] ports on SQLite (the embedded default, in
//! WAL mode) and on PostgreSQL (for several server processes sharing one database).
//!
//! One [`SqlStore`] serves both databases, one file per port (`tenants`, `delivery`, `access`,
//! `evidence`, `jobs`, `secrets`, `maintenance`), with the envelope aggregate's rows in
//! `aggregate`. Each statement is written once, in the SQL the two databases share; `db` is the
//! only module that tells them apart. Each database keeps its own migrations for its own column
//! types (a test keeps the two schemas equal). Times are stored as UTC microseconds, digests as
//! lower-case hex.

mod access;
mod aggregate;
mod db;
mod delivery;
mod evidence;
mod folders;
mod jobs;
mod library;
mod maintenance;
mod migrations;
mod readers;
mod rows;
mod secrets;
mod signer_access;
mod signing;
mod sqlite;
mod tenants;
mod writer;

#[cfg(feature = "test-support")]
pub mod test_support;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use signet_core::clock::{Clock, SystemClock};
use signet_core::store::Store;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The store on SQLite or PostgreSQL.
#[derive(Clone)]
pub struct SqlStore {
    pool: db::Pool,
    /// Where the times the store records itself (when a job was enqueued) come from.
    clock: Arc<dyn Clock>,
    /// The group-commit writer of the hot write paths (token ids, new envelopes, events).
    writer: writer::Writer,
}

/// How many read-only SQLite connections serve plain reads beside the one writer.
const SQLITE_READERS: usize = 4;

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.pool {
            db::Pool::Sqlite { .. } => "sqlite",
            db::Pool::Postgres(_) => "postgres",
        };
        f.debug_struct("SqlStore")
            .field("backend", &backend)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Opens (creating if missing) the SQLite database at a `sqlite://` URL and migrates it.
    ///
    /// One connection writes: SQLite admits one writer at a time anyway, and a single writing
    /// connection means transactions never fail to upgrade their lock under load. Concurrent
    /// requests' writes are committed together through it (see `writer`). Plain reads go to
    /// read-only connections, which in WAL mode read the last commit without waiting for it.
    /// `synchronous=NORMAL` in WAL mode keeps every committed transaction across a crash of the
    /// process (not across a power cut, which `FULL` would add at a cost per commit).
    pub async fn open_sqlite(url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid SQLite URL {url}"))?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Migrated through sqlx (whose migrator keeps the applied versions), on a connection
        // closed before the writing connection opens.
        let migrating = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal),
            )
            .await
            .with_context(|| format!("cannot open SQLite database {url}"))?;
        migrations::sqlite()
            .await
            .context("reading the SQLite migrations")?
            .run(&migrating)
            .await
            .context("migrating the SQLite database")?;
        migrating.close().await;
        let writer = sqlite::WriteConnection::open(
            options.get_filename(),
            sqlite::WalBounds::SERVER,
            asks_read_only(url),
        )
        .with_context(|| format!("cannot open SQLite database {url} for writing"))?;
        let readers = readers::Readers::open(options.get_filename(), SQLITE_READERS)
            .with_context(|| format!("cannot open SQLite database {url} for reading"))?;
        let pool = db::Pool::Sqlite { writer, readers };
        Ok(Self {
            writer: writer::Writer::spawn(pool.clone()),
            pool,
            clock,
        })
    }

    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open_postgres(url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .context("cannot connect to PostgreSQL")?;
        migrations::postgres()
            .await
            .context("reading the PostgreSQL migrations")?
            .run(&pool)
            .await
            .context("migrating the PostgreSQL database")?;
        let pool = db::Pool::Postgres(pool);
        Ok(Self {
            writer: writer::Writer::spawn(pool.clone()),
            pool,
            clock,
        })
    }
}

/// Whether an SQLite URL asks for the database read-only (`?mode=ro`).
fn asks_read_only(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.eq_ignore_ascii_case("mode=ro"))
    })
}

/// Opens the store a URL names: `sqlite://…` or `postgres://…` / `postgresql://…`. Times the
/// store records itself (when a job was enqueued) come from the system clock.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    open_with_clock(url, Arc::new(SystemClock)).await
}

/// [`open`] with the clock the core uses, so that the times the store records itself follow
/// it (a test's manual clock).
pub async fn open_with_clock(url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqlStore::open_sqlite(url, clock).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(SqlStore::open_postgres(url, clock).await?))
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite:// or postgres://): {url}")
    }
}
