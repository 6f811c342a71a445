//! The one module that knows there are two databases.
//!
//! Every statement of the store is written once, in the SQL both databases share (numbered `$n`
//! parameters, `ON CONFLICT`, `RETURNING`). A [`Query`] carries its text and its arguments as
//! plain values; a [`Conn`] (from a [`Pool`] or a [`Tx`]) binds them for the SQLite or the
//! PostgreSQL driver of sqlx and runs the statement; a [`Row`] reads the answer of either. That
//! keeps the port code ordinary, non-generic Rust that rustfmt formats, with no macro: sqlx's
//! own generic-over-database route would put a dozen `Encode`/`Decode`/`Executor` bounds on
//! every function, and its `Any` driver rewrites neither placeholders nor types. The price is one
//! `match` per operation of [`Conn`], and arguments limited to the four kinds the schema uses
//! (text, 64-bit integers, booleans, bytes), each bound as the SQL type of its column.

use std::borrow::Cow;

use signet_core::store::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Database, Decode, Encode, Postgres, Row as _, Sqlite, Type};

/// A database error as a store error: a unique-key violation is [`StoreError::Duplicate`].
pub(crate) fn unexpected(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
        _ => StoreError::Unexpected(anyhow::Error::new(err)),
    }
}

/// One argument of a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// `TEXT`, or a NULL of that type.
    Text(Option<String>),
    /// `BIGINT` (`INTEGER` on SQLite), or a NULL of that type.
    Int(Option<i64>),
    /// `BOOLEAN` (an integer on SQLite).
    Bool(bool),
    /// `BYTEA` (`BLOB` on SQLite).
    Bytes(Vec<u8>),
    /// `DOUBLE PRECISION` (`REAL` on SQLite).
    Real(f64),
}

impl From<f64> for Arg {
    fn from(value: f64) -> Self {
        Arg::Real(value)
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(Some(value))
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(Some(value.to_owned()))
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Arg::Text(Some(value.clone()))
    }
}

impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Self {
        Arg::Text(value)
    }
}

impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Self {
        Arg::Text(value.map(str::to_owned))
    }
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Int(Some(value))
    }
}

impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Self {
        Arg::Int(value)
    }
}

impl From<bool> for Arg {
    fn from(value: bool) -> Self {
        Arg::Bool(value)
    }
}

impl From<&[u8]> for Arg {
    fn from(value: &[u8]) -> Self {
        Arg::Bytes(value.to_vec())
    }
}

impl From<&Vec<u8>> for Arg {
    fn from(value: &Vec<u8>) -> Self {
        Arg::Bytes(value.clone())
    }
}

/// A statement and its arguments, `$1` first.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
}

impl Query {
    /// A statement without arguments yet.
    pub(crate) fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Binds the next `$n`.
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }
}

/// The query as one driver's statement.
fn prepare<'q, DB: Database>(
    query: &'q Query,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
    f64: Encode<'q, DB> + Type<DB>,
{
    let mut prepared = sqlx::query(&query.sql);
    for arg in &query.args {
        prepared = match arg {
            Arg::Text(value) => prepared.bind(value.as_deref()),
            Arg::Int(value) => prepared.bind(*value),
            Arg::Bool(value) => prepared.bind(*value),
            Arg::Bytes(value) => prepared.bind(value.as_slice()),
            Arg::Real(value) => prepared.bind(*value),
        };
    }
    prepared
}

/// A connection of either database, borrowed from a pool or from a transaction: the one place
/// that runs statements.
#[derive(Debug)]
pub(crate) enum Conn<'c> {
    /// On SQLite.
    Sqlite(&'c mut SqliteConnection),
    /// On PostgreSQL.
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    /// Runs a statement; answers how many rows it changed.
    pub(crate) async fn execute(self, query: Query) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(conn) => prepare(&query)
                .execute(conn)
                .await
                .map(|done| done.rows_affected()),
            Self::Postgres(conn) => prepare(&query)
                .execute(conn)
                .await
                .map(|done| done.rows_affected()),
        }
        .map_err(unexpected)
    }

    /// Every row a query returns.
    pub(crate) async fn fetch_all(self, query: Query) -> Result<Vec<Row>, StoreError> {
        match self {
            Self::Sqlite(conn) => prepare(&query)
                .fetch_all(conn)
                .await
                .map(|rows| rows.into_iter().map(Row::Sqlite).collect()),
            Self::Postgres(conn) => prepare(&query)
                .fetch_all(conn)
                .await
                .map(|rows| rows.into_iter().map(Row::Postgres).collect()),
        }
        .map_err(unexpected)
    }

    /// The row a query returns, if any.
    pub(crate) async fn fetch_optional(self, query: Query) -> Result<Option<Row>, StoreError> {
        match self {
            Self::Sqlite(conn) => prepare(&query)
                .fetch_optional(conn)
                .await
                .map(|row| row.map(Row::Sqlite)),
            Self::Postgres(conn) => prepare(&query)
                .fetch_optional(conn)
                .await
                .map(|row| row.map(Row::Postgres)),
        }
        .map_err(unexpected)
    }

    /// The one row a query returns.
    pub(crate) async fn fetch_one(self, query: Query) -> Result<Row, StoreError> {
        self.fetch_optional(query)
            .await?
            .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("the query returned no row")))
    }
}

/// A connection taken from a pool for the statements of one read.
#[derive(Debug)]
pub(crate) enum Pooled {
    /// From SQLite's pool.
    Sqlite(PoolConnection<Sqlite>),
    /// From PostgreSQL's pool.
    Postgres(PoolConnection<Postgres>),
}

impl Pooled {
    /// The connection, to run a statement on.
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(conn) => Conn::Sqlite(conn),
            Self::Postgres(conn) => Conn::Postgres(conn),
        }
    }
}

/// A connection pool on one of the two databases.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    /// SQLite, one connection (see `SqlStore::open_sqlite`).
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

impl Pool {
    /// Starts a transaction.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        match self {
            Self::Sqlite(pool) => pool.begin().await.map(Tx::Sqlite),
            Self::Postgres(pool) => pool.begin().await.map(Tx::Postgres),
        }
        .map_err(unexpected)
    }

    /// Takes a connection, for a read or a statement that needs no transaction. Never while the
    /// same task holds a transaction: SQLite's pool has one connection.
    pub(crate) async fn acquire(&self) -> Result<Pooled, StoreError> {
        match self {
            Self::Sqlite(pool) => pool.acquire().await.map(Pooled::Sqlite),
            Self::Postgres(pool) => pool.acquire().await.map(Pooled::Postgres),
        }
        .map_err(unexpected)
    }

    /// Runs a statement on its own; answers how many rows it changed.
    pub(crate) async fn execute(&self, query: Query) -> Result<u64, StoreError> {
        self.acquire().await?.conn().execute(query).await
    }

    /// Every row a query returns.
    pub(crate) async fn fetch_all(&self, query: Query) -> Result<Vec<Row>, StoreError> {
        self.acquire().await?.conn().fetch_all(query).await
    }

    /// The row a query returns, if any.
    pub(crate) async fn fetch_optional(&self, query: Query) -> Result<Option<Row>, StoreError> {
        self.acquire().await?.conn().fetch_optional(query).await
    }

    /// The one row a query returns.
    pub(crate) async fn fetch_one(&self, query: Query) -> Result<Row, StoreError> {
        self.acquire().await?.conn().fetch_one(query).await
    }

    /// The lock a job claim takes on the rows it picks: on PostgreSQL concurrent workers skip
    /// each other's claimed rows; SQLite has one writer at a time (and Signet uses one
    /// connection), so a claim is atomic as it is.
    pub(crate) fn claim_lock(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "",
            Self::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// The database's own consistency check: SQLite's `integrity_check` and foreign-key check.
    /// PostgreSQL checks its constraints on every write and its pages with checksums, so there
    /// is nothing to ask it.
    pub(crate) async fn check_database(&self) -> Result<(), StoreError> {
        let Self::Sqlite(pool) = self else {
            return Ok(());
        };
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(pool)
            .await
            .map_err(unexpected)?;
        let problems: Vec<String> = rows
            .into_iter()
            .map(|r| r.0)
            .filter(|r| r != "ok")
            .collect();
        let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
            .fetch_all(pool)
            .await
            .map_err(unexpected)?;
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

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub(crate) enum Tx {
    /// On SQLite.
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    /// The transaction's connection, to run a statement on.
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(tx) => Conn::Sqlite(tx),
            Self::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    /// Runs a statement; answers how many rows it changed.
    pub(crate) async fn execute(&mut self, query: Query) -> Result<u64, StoreError> {
        self.conn().execute(query).await
    }

    /// Every row a query returns.
    pub(crate) async fn fetch_all(&mut self, query: Query) -> Result<Vec<Row>, StoreError> {
        self.conn().fetch_all(query).await
    }

    /// The one row a query returns.
    pub(crate) async fn fetch_one(&mut self, query: Query) -> Result<Row, StoreError> {
        self.conn().fetch_one(query).await
    }

    /// Commits.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
        .map_err(unexpected)
    }
}

/// A row of either database.
pub(crate) enum Row {
    /// From SQLite.
    Sqlite(SqliteRow),
    /// From PostgreSQL.
    Postgres(PgRow),
}

impl Row {
    /// A column's value.
    pub(crate) fn get<T>(&self, column: &str) -> Result<T, StoreError>
    where
        T: for<'r> Decode<'r, Sqlite>
            + Type<Sqlite>
            + for<'r> Decode<'r, Postgres>
            + Type<Postgres>,
    {
        match self {
            Self::Sqlite(row) => row.try_get(column),
            Self::Postgres(row) => row.try_get(column),
        }
        .map_err(unexpected)
    }
}
