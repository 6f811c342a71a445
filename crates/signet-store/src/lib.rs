//! Signet's metadata store: the [`signet_core::store::Store`] port on SQLite (the embedded
//! default, in WAL mode) and on PostgreSQL (for several server processes sharing one database).
//!
//! Both implementations run the same SQL text, generated from one macro: the statements use only
//! what the two databases share (numbered `$n` parameters, `ON CONFLICT`, `RETURNING`), and each
//! database keeps its own migrations for its own column types. Times are stored as UTC
//! microseconds, digests as lower-case hex.

mod rows;
mod sql;

#[cfg(feature = "test-support")]
pub mod test_support;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use signet_core::clock::{Clock, SystemClock};
use signet_core::store::Store;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The store on SQLite.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
}

/// The store on PostgreSQL.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite://` URL and migrates it.
    ///
    /// One connection is used for everything: SQLite admits one writer at a time anyway, and a
    /// single connection means transactions never fail to upgrade their lock under load.
    /// `synchronous=NORMAL` in WAL mode keeps every committed transaction across a crash of the
    /// process (not across a power cut, which `FULL` would add at a cost per commit).
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid SQLite URL {url}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open SQLite database {url}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("migrating the SQLite database")?;
        Ok(Self {
            pool,
            clock: Arc::new(SystemClock),
        })
    }
}

impl PostgresStore {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .context("cannot connect to PostgreSQL")?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .context("migrating the PostgreSQL database")?;
        Ok(Self {
            pool,
            clock: Arc::new(SystemClock),
        })
    }
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
        Ok(Arc::new(SqliteStore {
            clock,
            ..SqliteStore::open(url).await?
        }))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore {
            clock,
            ..PostgresStore::open(url).await?
        }))
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite:// or postgres://): {url}")
    }
}

// SQLite has one writer at a time (and Signet uses one connection), so a claim is atomic as is;
// PostgreSQL lets concurrent workers skip each other's claimed rows.
sql::sql_store!(SqliteStore, sqlx::Sqlite, "");
sql::sql_store!(PostgresStore, sqlx::Postgres, " FOR UPDATE SKIP LOCKED");

#[async_trait::async_trait]
impl sql::IntegrityCheck for SqliteStore {
    async fn integrity_check(&self) -> Result<(), signet_core::store::StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await
            .map_err(sql::unexpected)?;
        let problems: Vec<String> = rows
            .into_iter()
            .map(|r| r.0)
            .filter(|r| r != "ok")
            .collect();
        let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
            .fetch_all(&self.pool)
            .await
            .map_err(sql::unexpected)?;
        if problems.is_empty() && fk.is_empty() {
            Ok(())
        } else {
            Err(
                anyhow::anyhow!("integrity check failed: {problems:?}, foreign keys: {fk:?}")
                    .into(),
            )
        }
    }
}

#[async_trait::async_trait]
impl sql::IntegrityCheck for PostgresStore {
    async fn integrity_check(&self) -> Result<(), signet_core::store::StoreError> {
        // PostgreSQL checks its constraints on every write and its pages with checksums; what is
        // left to check is the application's own invariant, done for both databases in `sql`.
        Ok(())
    }
}
