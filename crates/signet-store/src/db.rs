//! The one module that knows there are two databases.
//!
//! Every statement of the store is written once, in the SQL both databases share (numbered `$n`
//! parameters, `ON CONFLICT`, `RETURNING`). A [`Query`] carries its text and its arguments as
//! plain values; a [`Conn`] (from a [`Pool`] or a [`Tx`]) binds them for the driver of its
//! connection (sqlx for PostgreSQL, rusqlite for SQLite's writing and read-only connections, see
//! `sqlite`) and runs the statement; a [`Row`] reads the answer of either. That
//! keeps the port code ordinary, non-generic Rust that rustfmt formats, with no macro: sqlx's
//! own generic-over-database route would put a dozen `Encode`/`Decode`/`Executor` bounds on
//! every function, and its `Any` driver rewrites neither placeholders nor types. The price is one
//! `match` per operation of [`Conn`], and arguments limited to the four kinds the schema uses
//! (text, 64-bit integers, booleans, bytes), each bound as the SQL type of its column.

use std::borrow::Cow;

use signet_core::store::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow};
use sqlx::{Decode, Postgres, Row as _, Type};

use crate::sqlite;

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

/// Statements as one PostgreSQL statement: `WITH w1 AS (first), w2 AS (second), … last`, each
/// one's parameters renumbered after the previous ones'.
fn with_clauses(statements: &[Query]) -> Query {
    let mut sql = String::new();
    let mut args = Vec::new();
    let last = statements.len().saturating_sub(1);
    for (i, statement) in statements.iter().enumerate() {
        if i < last {
            sql.push_str(if i == 0 { "WITH " } else { ", " });
            sql.push_str(&format!("w{i} AS ("));
        } else {
            sql.push(' ');
        }
        renumber_into(&statement.sql, args.len(), &mut sql);
        if i < last {
            sql.push(')');
        }
        args.extend(statement.args.iter().cloned());
    }
    Query {
        sql: sql.into(),
        args,
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

    /// One multi-row statement: `head VALUES ($1, …, $width), (…), … tail`, with `rows`' values
    /// bound in order (each row exactly `width` values). Several rows in one statement instead
    /// of one statement per row: the write path's round trips to the database are its cost.
    pub(crate) fn rows(head: &str, width: usize, rows: Vec<Vec<Arg>>, tail: &str) -> Self {
        let mut sql = String::with_capacity(head.len() + tail.len() + rows.len() * width * 5);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        let mut args = Vec::with_capacity(rows.len() * width);
        for (r, row) in rows.into_iter().enumerate() {
            debug_assert_eq!(row.len(), width, "a row of the wrong width");
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(r * width + c + 1).to_string());
            }
            sql.push(')');
            args.extend(row);
        }
        sql.push_str(tail);
        Self {
            sql: sql.into(),
            args,
        }
    }

    /// The statement's text.
    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    /// The statement's arguments, `$1` first.
    pub(crate) fn args(&self) -> &[Arg] {
        &self.args
    }

    /// Whether the statement only reads (a `SELECT`), so that a reader connection may run it.
    fn is_read(&self) -> bool {
        let head = self.sql.trim_start();
        head.len() >= 6 && head[..6].eq_ignore_ascii_case("select")
    }
}

/// Appends `sql` to `out` with every `$n` parameter renumbered `$(n + offset)`; quoted text is
/// copied as it is. This lets several statements, each numbered from `$1`, run as one
/// PostgreSQL statement whose arguments are all of theirs in order.
fn renumber_into(sql: &str, offset: usize, out: &mut String) {
    number_into(sql, offset, '$', out);
}

/// The statement with every `$n` parameter written `?n`, SQLite's numbered parameter: SQLite
/// reads `$1` as a parameter named "$1", numbered by where it first appears, so binding by
/// number would have to look each name up (a linear search per parameter, quadratic over a
/// multi-row insert); `?n` is parameter `n` wherever it appears.
pub(crate) fn sqlite_numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    number_into(sql, 0, '?', &mut out);
    out
}

/// [`renumber_into`] with the parameters' sign chosen. Copies runs of text whole and writes
/// numbers in place: this runs for every statement the writer executes.
fn number_into(sql: &str, offset: usize, sign: char, out: &mut String) {
    use std::fmt::Write as _;
    let bytes = sql.as_bytes();
    // `sql[copied..i]` is scanned and not yet copied.
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                i = bytes[i + 1..]
                    .iter()
                    .position(|&b| b == quote)
                    .map_or(bytes.len(), |at| i + 1 + at + 1);
            }
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                // Digits only, so the parse cannot fail short of an absurd length.
                let n: usize = sql[i + 1..i + 1 + digits].parse().unwrap_or(usize::MAX);
                out.push_str(&sql[copied..i]);
                out.push(sign);
                // Writing to a `String` does not fail.
                let _ = write!(out, "{}", n.saturating_add(offset));
                i += 1 + digits;
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
}

/// The query as a PostgreSQL statement of sqlx.
fn prepare(query: &Query) -> sqlx::query::Query<'_, Postgres, PgArguments> {
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
    /// One of SQLite's connections (see `sqlite`): statements run right here, on the calling
    /// thread.
    Sqlite(&'c mut rusqlite::Connection),
    /// On PostgreSQL.
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    /// Runs a statement; answers how many rows it changed.
    pub(crate) async fn execute(self, query: Query) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(conn) => sqlite::run(conn, &query),
            Self::Postgres(conn) => prepare(&query)
                .execute(conn)
                .await
                .map(|done| done.rows_affected())
                .map_err(unexpected),
        }
    }

    /// Runs statements in order, as few round trips as the database allows: on SQLite one
    /// after the other where they are (no round trip at all), on PostgreSQL one after the
    /// other too (its extended protocol takes one statement at a time).
    /// Answers how many rows they changed together; stops at the first failure.
    pub(crate) async fn execute_all(self, statements: &[Query]) -> Result<u64, StoreError> {
        let mut changed = 0;
        match self {
            Self::Sqlite(conn) => {
                for statement in statements {
                    changed += sqlite::run(conn, statement)?;
                }
            }
            Self::Postgres(conn) => {
                for statement in statements {
                    changed += prepare(statement)
                        .execute(&mut *conn)
                        .await
                        .map_err(unexpected)?
                        .rows_affected();
                }
            }
        }
        Ok(changed)
    }

    /// [`Conn::execute_all`] for statements that only insert rows none of the others reads
    /// (a new envelope's): on PostgreSQL too in one round trip, as one statement whose others
    /// run as data-modifying `WITH` clauses (foreign keys between them are checked at the end
    /// of the statement). Answers the rows the last one changed on PostgreSQL.
    pub(crate) async fn execute_together(self, statements: &[Query]) -> Result<u64, StoreError> {
        match (self, statements) {
            (Self::Postgres(conn), [_, _, ..]) => prepare(&with_clauses(statements))
                .execute(conn)
                .await
                .map(|done| done.rows_affected())
                .map_err(unexpected),
            (conn, _) => conn.execute_all(statements).await,
        }
    }

    /// Every row a query returns.
    pub(crate) async fn fetch_all(self, query: Query) -> Result<Vec<Row>, StoreError> {
        match self {
            Self::Sqlite(conn) => Ok(sqlite::fetch(conn, &query, usize::MAX)?
                .into_iter()
                .map(Row::Sqlite)
                .collect()),
            Self::Postgres(conn) => prepare(&query)
                .fetch_all(conn)
                .await
                .map(|rows| rows.into_iter().map(Row::Postgres).collect())
                .map_err(unexpected),
        }
    }

    /// The row a query returns, if any.
    pub(crate) async fn fetch_optional(self, query: Query) -> Result<Option<Row>, StoreError> {
        match self {
            Self::Sqlite(conn) => Ok(sqlite::fetch(conn, &query, 1)?.pop().map(Row::Sqlite)),
            Self::Postgres(conn) => prepare(&query)
                .fetch_optional(conn)
                .await
                .map(|row| row.map(Row::Postgres))
                .map_err(unexpected),
        }
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
    /// SQLite's writing connection, held.
    SqliteWriter(sqlite::Held),
    /// One of SQLite's read-only connections.
    SqliteReader(crate::readers::Lease),
    /// From PostgreSQL's pool.
    Postgres(PoolConnection<Postgres>),
}

impl Pooled {
    /// The connection, to run a statement on.
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::SqliteWriter(held) => Conn::Sqlite(held),
            Self::SqliteReader(lease) => Conn::Sqlite(lease.conn()),
            Self::Postgres(conn) => Conn::Postgres(conn),
        }
    }
}

/// A connection pool on one of the two databases.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    /// SQLite: one connection writes (see `SqlStore::open_sqlite`), read-only ones read.
    Sqlite {
        /// The one connection every write and every transaction goes through.
        writer: sqlite::WriteConnection,
        /// Read-only connections for plain reads: in WAL mode they read the last commit while
        /// the writer writes, instead of queueing behind it.
        readers: crate::readers::Readers,
    },
    /// PostgreSQL.
    Postgres(PgPool),
}

impl Pool {
    /// Starts a transaction.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        match self {
            Self::Sqlite { writer, .. } => writer.begin().await.map(Tx::Sqlite),
            Self::Postgres(pool) => pool.begin().await.map(Tx::Postgres).map_err(unexpected),
        }
    }

    /// Takes a connection for reads (on SQLite a read-only one). A write needs
    /// [`Pool::begin`] or [`Pool::execute`].
    pub(crate) async fn acquire(&self) -> Result<Pooled, StoreError> {
        match self {
            Self::Sqlite { readers, .. } => Ok(Pooled::SqliteReader(readers.lease().await)),
            Self::Postgres(pool) => pool
                .acquire()
                .await
                .map(Pooled::Postgres)
                .map_err(unexpected),
        }
    }

    /// Takes a connection that may write (on SQLite the one writer).
    async fn acquire_for(&self, query: &Query) -> Result<Pooled, StoreError> {
        match self {
            Self::Sqlite { writer, .. } if !query.is_read() => {
                Ok(Pooled::SqliteWriter(writer.hold().await))
            }
            _ => self.acquire().await,
        }
    }

    /// Runs a statement on its own; answers how many rows it changed.
    pub(crate) async fn execute(&self, query: Query) -> Result<u64, StoreError> {
        self.acquire_for(&query).await?.conn().execute(query).await
    }

    /// Every row a query returns.
    pub(crate) async fn fetch_all(&self, query: Query) -> Result<Vec<Row>, StoreError> {
        self.acquire_for(&query)
            .await?
            .conn()
            .fetch_all(query)
            .await
    }

    /// The row a query returns, if any.
    pub(crate) async fn fetch_optional(&self, query: Query) -> Result<Option<Row>, StoreError> {
        self.acquire_for(&query)
            .await?
            .conn()
            .fetch_optional(query)
            .await
    }

    /// The one row a query returns.
    pub(crate) async fn fetch_one(&self, query: Query) -> Result<Row, StoreError> {
        self.acquire_for(&query)
            .await?
            .conn()
            .fetch_one(query)
            .await
    }

    /// The lock a job claim takes on the rows it picks: on PostgreSQL concurrent workers skip
    /// each other's claimed rows; SQLite has one writer at a time (and Signet uses one
    /// connection), so a claim is atomic as it is.
    pub(crate) fn claim_lock(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "",
            Self::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// The database's own consistency check: SQLite's `integrity_check` and foreign-key check.
    /// PostgreSQL checks its constraints on every write and its pages with checksums, so there
    /// is nothing to ask it.
    pub(crate) async fn check_database(&self) -> Result<(), StoreError> {
        let Self::Sqlite { writer, .. } = self else {
            return Ok(());
        };
        let held = writer.hold().await;
        let mut problems = Vec::new();
        for row in sqlite::fetch(&held, &Query::new("PRAGMA integrity_check"), usize::MAX)? {
            let line: String = row.get("integrity_check")?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let fk = sqlite::fetch(
            &held,
            &Query::new("SELECT \"table\" FROM pragma_foreign_key_check"),
            usize::MAX,
        )?
        .iter()
        .map(|row| row.get::<String>("table"))
        .collect::<Result<Vec<_>, _>>()?;
        if problems.is_empty() && fk.is_empty() {
            Ok(())
        } else {
            Err(
                anyhow::anyhow!("integrity check failed: {problems:?}, foreign keys: {fk:?}")
                    .into(),
            )
        }
    }

    /// Whether this is SQLite, whose writing connection runs statements on the calling thread
    /// (so that a batch of them belongs on a blocking thread).
    pub(crate) fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub(crate) enum Tx {
    /// On SQLite's writing connection.
    Sqlite(sqlite::Transaction),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    /// The transaction's connection, to run a statement on.
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(tx) => Conn::Sqlite(tx.conn()),
            Self::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    /// Runs a statement; answers how many rows it changed.
    pub(crate) async fn execute(&mut self, query: Query) -> Result<u64, StoreError> {
        self.conn().execute(query).await
    }

    /// Runs statements in order in as few round trips as possible (see [`Conn::execute_all`]).
    pub(crate) async fn execute_all(&mut self, statements: &[Query]) -> Result<u64, StoreError> {
        self.conn().execute_all(statements).await
    }

    /// Runs inserts in one round trip on either database (see [`Conn::execute_together`]).
    pub(crate) async fn execute_together(
        &mut self,
        statements: &[Query],
    ) -> Result<u64, StoreError> {
        self.conn().execute_together(statements).await
    }

    /// Every row a query returns.
    pub(crate) async fn fetch_all(&mut self, query: Query) -> Result<Vec<Row>, StoreError> {
        self.conn().fetch_all(query).await
    }

    /// The one row a query returns.
    pub(crate) async fn fetch_one(&mut self, query: Query) -> Result<Row, StoreError> {
        self.conn().fetch_one(query).await
    }

    /// Rolls back.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.rollback(),
            Self::Postgres(tx) => tx.rollback().await.map_err(unexpected),
        }
    }

    /// Commits.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.commit_then_upkeep().await.map(drop)
    }

    /// Commits, and answers the upkeep the commit left to do: on SQLite the writing connection,
    /// still held, which restarts the log when it is dropped (see `sqlite::Held`). The
    /// group-commit writer drops it after answering its callers, whose writes are durable
    /// already, so that they do not wait for that checkpoint as well.
    pub(crate) async fn commit_then_upkeep(self) -> Result<Upkeep, StoreError> {
        match self {
            Self::Sqlite(tx) => tx.commit_holding().map(|held| Upkeep { _held: Some(held) }),
            Self::Postgres(tx) => tx
                .commit()
                .await
                .map(|()| Upkeep { _held: None })
                .map_err(unexpected),
        }
    }
}

/// What a commit left to do, done when this is dropped (see [`Tx::commit_then_upkeep`]).
#[derive(Debug)]
#[must_use = "dropping this at once does the upkeep at once"]
pub(crate) struct Upkeep {
    /// Read by nobody: its `Drop` is the point.
    _held: Option<sqlite::Held>,
}

/// A row of either database.
pub(crate) enum Row {
    /// From SQLite.
    Sqlite(sqlite::OwnedRow),
    /// From PostgreSQL.
    Postgres(PgRow),
}

impl Row {
    /// A column's value.
    pub(crate) fn get<T>(&self, column: &str) -> Result<T, StoreError>
    where
        T: for<'r> Decode<'r, Postgres> + Type<Postgres> + rusqlite::types::FromSql,
    {
        match self {
            Self::Sqlite(row) => row.get(column),
            Self::Postgres(row) => row.try_get(column).map_err(unexpected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_clauses_renumber_each_statements_parameters_after_the_previous_ones() {
        let first = Query::new("INSERT INTO a (x, y) VALUES ($1, $2)")
            .bind(1_i64)
            .bind("one");
        let second = Query::new("UPDATE b SET s = 'cost $1', t = \"$2\" WHERE id = $1 AND v = $10")
            .bind(2_i64);
        let third = Query::new("INSERT INTO c (z) VALUES ($1)").bind(3_i64);
        let one = with_clauses(&[first, second, third]);
        assert_eq!(
            one.sql,
            "WITH w0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), w1 AS (UPDATE b SET s = 'cost $1', \
             t = \"$2\" WHERE id = $3 AND v = $12) INSERT INTO c (z) VALUES ($4)"
        );
        assert_eq!(
            one.args,
            vec![
                Arg::Int(Some(1)),
                Arg::from("one"),
                Arg::Int(Some(2)),
                Arg::Int(Some(3))
            ]
        );
    }

    #[test]
    fn sqlite_numbers_parameters_with_a_question_mark_outside_quotes() {
        assert_eq!(
            sqlite_numbered("UPDATE b SET s = 'cost $1', t = \"$2\" WHERE id = $12 AND v = $1"),
            "UPDATE b SET s = 'cost $1', t = \"$2\" WHERE id = ?12 AND v = ?1"
        );
        // A `$` not followed by digits is no parameter, wherever it is; an unclosed quote runs
        // to the end.
        assert_eq!(
            sqlite_numbered("SELECT $x, $1 || $, 'it''s $2"),
            "SELECT $x, ?1 || $, 'it''s $2"
        );
    }

    #[test]
    fn multi_row_statements_number_their_values_row_by_row() {
        let rows = vec![
            vec![Arg::from(1_i64), Arg::from("a")],
            vec![Arg::from(2_i64), Arg::from("b")],
        ];
        let query = Query::rows("INSERT INTO t (n, s)", 2, rows, " ON CONFLICT DO NOTHING");
        assert_eq!(
            query.sql,
            "INSERT INTO t (n, s) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(query.args.len(), 4);
        assert!(!query.is_read());
        assert!(Query::new("  select 1").is_read());
    }
}
