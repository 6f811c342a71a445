//! Fresh, empty databases for tests: one per test, so tests never share state and run in
//! parallel. PostgreSQL comes from `SIGNET_TEST_DATABASE_URL` (a server the test command
//! started); without it a PostgreSQL test is skipped — except when `CI=true`, where a missing
//! database is a failure, not a skip.

use std::sync::Arc;

use anyhow::Context as _;
use signet_core::store::Store;
use sqlx::Connection as _;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A new SQLite file in a temporary directory.
    Sqlite,
    /// A new database on the test PostgreSQL server.
    Postgres,
}

/// A database made for one test. Keep it alive as long as the store is used.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL the store was opened with.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL server URL for tests, or `None` to skip (never `None` in CI).
pub fn postgres_server_url() -> Option<String> {
    match std::env::var("SIGNET_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("SIGNET_TEST_DATABASE_URL is not set; in CI the PostgreSQL tests must run")
        }
        _ => {
            eprintln!("SIGNET_TEST_DATABASE_URL not set: skipping a PostgreSQL test");
            None
        }
    }
}

/// Creates an empty database on `backend`; `None` when PostgreSQL is not available outside CI.
pub async fn create(backend: Backend) -> anyhow::Result<Option<TestDatabase>> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("signet.db").display());
            Ok(Some(TestDatabase {
                url,
                _dir: Some(dir),
            }))
        }
        Backend::Postgres => {
            let Some(server) = postgres_server_url() else {
                return Ok(None);
            };
            let name = format!("signet_test_{}", hex::encode(rand::random::<[u8; 8]>()));
            let mut admin = sqlx::PgConnection::connect(&server)
                .await
                .context("connecting to the test PostgreSQL server")?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await?;
            let url = match server.rsplit_once('/') {
                Some((base, _)) if base.contains("://") && base.len() > "postgres://".len() => {
                    format!("{base}/{name}")
                }
                _ => format!("{}/{name}", server.trim_end_matches('/')),
            };
            Ok(Some(TestDatabase { url, _dir: None }))
        }
    }
}

/// Creates an empty database and opens the store on it.
pub async fn store(backend: Backend) -> anyhow::Result<Option<(Arc<dyn Store>, TestDatabase)>> {
    let Some(db) = create(backend).await? else {
        return Ok(None);
    };
    let store = crate::open(&db.url).await?;
    Ok(Some((store, db)))
}

/// Runs raw SQL against a test database: for tests that tamper with stored data on purpose.
pub async fn execute(url: &str, sql: &str) -> anyhow::Result<u64> {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
    }
}
