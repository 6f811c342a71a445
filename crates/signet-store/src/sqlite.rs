//! SQLite through rusqlite: the one writing connection, the statements that run on it and on
//! the read-only ones (`readers`), on the thread that holds the connection.
//!
//! Why not sqlx here: sqlx runs each SQLite connection on a thread of its own, so every
//! statement is a message to that thread and an answer back (two thread wake-ups), plus sqlx's
//! own work per statement (each parameter's name looked up, the arguments boxed, each result
//! sent back through a channel). sqlx stays for PostgreSQL, and for SQLite's migrations (its
//! migrator keeps the applied versions). The group-commit writer runs whole batches — `BEGIN`, the
//! token-id claims, every create's statements, the ledger append, `COMMIT` — so on sqlx a batch
//! of N creates cost N + 5 round trips, and the writer's serial round trips, not the CPU, were
//! what held SQLite creates near 3,300/s (BENCHMARKS.md, "the writer without sqlx"). Here a
//! batch runs from start to commit on one blocking thread with no hop at all.
//!
//! The connection sits behind an async mutex: whoever holds the guard is the one writer, which
//! keeps the rule of `SqlStore::open_sqlite` (one writing connection, so a transaction never
//! fails to upgrade its lock). Writes outside the group-commit writer take the guard from async
//! code and run their statements where they are: each is microseconds of SQLite work, cheaper
//! than the round trip to sqlx's thread it replaces. Reads run the same way on read-only
//! connections (`readers`), which WAL lets run beside the writer.
//!
//! The bundled SQLite is compiled with two of libsqlite3-sys's defaults turned off, through
//! `LIBSQLITE3_FLAGS` in `.cargo/config.toml` (checked by a test below):
//! `SQLITE_ENABLE_MEMORY_MANAGEMENT` makes every connection share one page cache behind one
//! mutex, and `SQLITE_DEFAULT_MEMSTATUS=1` takes a global mutex on every allocation to count
//! it. With the writer, the checkpointer and four readers each on a thread of its own, those
//! two locks were contended on every page fetched; without them each connection has its own
//! cache and SQLite's allocations go straight to the allocator (BENCHMARKS.md, "SQLite's shared
//! locks").

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::types::{FromSql, Value, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use signet_core::store::StoreError;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::db::{Arg, Query};

/// Prepared statements kept per connection. The write paths prepare a few dozen distinct
/// texts, and multi-row inserts one per row count used (up to the writer's batch size), so this
/// is room for all of them: a statement evicted is parsed and planned again.
const STATEMENT_CACHE: usize = 512;

/// Opens a connection to the existing database file at `path`, read-only or read-write, for
/// one thread at a time (the holder's), waiting up to 10 s for another process's lock.
fn connect(path: &Path, access: OpenFlags, purpose: &str) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_context(|| format!("opening {} for {purpose}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// Opens a read-only connection to the database file at `path` (for `readers`).
pub(crate) fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let conn = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY, "reading")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// How the write-ahead log is kept short (see [`WriteConnection::open`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WalBounds {
    /// Frames in the log beyond which the writer, on its next release, checkpoints what the
    /// checkpointer has not yet, so that the next transaction starts the log again from its
    /// beginning.
    pub(crate) restart_frames: i64,
    /// The log file's size beyond which the writer does so whatever the checkpointer reported,
    /// and the size it is cut back to when the log starts again (`journal_size_limit`).
    pub(crate) limit_bytes: u64,
    /// The checkpointer's rest between two passes while the log is below `restart_frames`:
    /// a page changed by many transactions in that time is copied to the database once.
    pub(crate) pause: Duration,
}

impl WalBounds {
    /// What the server uses: the log starts again every 256 MiB (about two seconds of creates
    /// at full speed on a 2-core machine: the restart is the one stall the writer still has,
    /// so it is made rare), and the file is never kept above 1 GiB.
    pub(crate) const SERVER: Self = Self {
        restart_frames: 65_536,
        limit_bytes: 1 << 30,
        pause: Duration::from_millis(50),
    };
}

/// The writing connection, shared by the group-commit writer and the other writes.
#[derive(Debug, Clone)]
pub(crate) struct WriteConnection {
    conn: Arc<Mutex<Connection>>,
    wal: Arc<WalKeeper>,
}

/// What the writer needs to keep the log short, beside the checkpointer thread.
#[derive(Debug)]
struct WalKeeper {
    /// The log file.
    path: PathBuf,
    limit_bytes: u64,
    /// Set by the checkpointer when the log passed `restart_frames`.
    catch_up: Arc<AtomicBool>,
    /// Tells the checkpointer there is something to copy; dropped with the last
    /// [`WriteConnection`], which ends the checkpointer.
    wake: SyncSender<()>,
}

/// The writing connection, held: nobody else writes until it is dropped.
#[derive(Debug)]
pub(crate) struct Held {
    conn: OwnedMutexGuard<Connection>,
    wal: Arc<WalKeeper>,
}

impl Deref for Held {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for Held {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Outside a transaction only (a `Transaction` rolls back before it lets go).
        if self.conn.is_autocommit() {
            let oversize =
                std::fs::metadata(&self.wal.path).is_ok_and(|wal| wal.len() > self.wal.limit_bytes);
            let asked = self.wal.catch_up.load(Ordering::Acquire);
            if asked || oversize {
                // Only what the checkpointer has not copied yet, with nobody writing: then
                // every frame is in the database, and the next transaction restarts the log.
                if let Err(error) = checkpoint(&self.conn) {
                    tracing::warn!(%error, "the writer's checkpoint failed");
                }
                // The checkpointer waits for this before its next pass, so that the two
                // checkpoints never meet (the second would give up at once).
                self.wal.catch_up.store(false, Ordering::Release);
            }
        }
        // Full means a pass is already due.
        let _ = self.wal.wake.try_send(());
    }
}

/// A passive checkpoint: copies the log's frames that no reader still needs into the database,
/// without waiting for anybody. Answers how many frames the log holds.
fn checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}

/// A pass of the checkpointer that found at most this many frames written since its previous
/// pass leaves the rest to the writer: the writer's part then costs it a few milliseconds.
const HANDOVER_FRAMES: i64 = 1024;
/// Passes, back to back, after which the checkpointer hands over however much the writer wrote
/// meanwhile (a log written faster than it can be copied).
const MAX_CHASE: u32 = 8;

/// The checkpointer: a thread with a connection of its own that copies the log into the
/// database while the writer goes on writing, a pass each time it is woken, at most one per
/// `pause`. Once the log is long, it chases the writer with passes back to back until one
/// finds little new (each pass also syncs what it copies, the costly part), then asks the writer
/// to copy the rest and waits until the writer has: with nobody writing during that last
/// checkpoint, every frame is in the database and the next transaction restarts the log.
fn keep_checkpointing(
    conn: Connection,
    wake: Receiver<()>,
    catch_up: Arc<AtomicBool>,
    bounds: WalBounds,
) {
    let mut previous = 0;
    let mut chased = 0;
    while wake.recv().is_ok() {
        let frames = match checkpoint(&conn) {
            Ok(frames) => frames,
            Err(error) => {
                tracing::warn!(%error, "a checkpoint failed");
                std::thread::sleep(bounds.pause);
                continue;
            }
        };
        let next;
        (next, chased) = after_pass(frames, previous, chased, bounds.restart_frames);
        previous = frames;
        match next {
            AfterPass::Rest => std::thread::sleep(bounds.pause),
            AfterPass::Chase => {}
            AfterPass::HandOver => {
                catch_up.store(true, Ordering::Release);
                // Until the writer has caught up (each release wakes this thread).
                while catch_up.load(Ordering::Acquire) {
                    if wake.recv().is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// What the checkpointer does after a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterPass {
    /// The log is short: rest, then copy what came meanwhile.
    Rest,
    /// The log is long and much came during the pass: another pass at once.
    Chase,
    /// The log is long and little came during the pass (or the chase went on long enough):
    /// the writer copies the rest.
    HandOver,
}

/// Decides from the log's frames after this pass and after the previous one (fewer now: the
/// log started again since) and the passes chased so far; answers the decision and the passes
/// chased from now on.
fn after_pass(frames: i64, previous: i64, chased: u32, restart_frames: i64) -> (AfterPass, u32) {
    if frames < restart_frames {
        return (AfterPass::Rest, 0);
    }
    let fresh = if frames >= previous {
        frames - previous
    } else {
        frames
    };
    if fresh > HANDOVER_FRAMES && chased + 1 < MAX_CHASE {
        (AfterPass::Chase, chased + 1)
    } else {
        (AfterPass::HandOver, 0)
    }
}

impl WriteConnection {
    /// Opens the database file (which must exist and be migrated) for writing, in WAL mode with
    /// `synchronous=NORMAL`, foreign keys checked, and statement journals in memory.
    ///
    /// Checkpoints are not the writer's: SQLite's automatic checkpoint runs inside the commit
    /// that crosses 1,000 log frames, and a batch of creates writes hundreds, so every other
    /// batch stalled the writer while it copied pages — the p99 of a create (BENCHMARKS.md,
    /// "the writer without sqlx"). Here a checkpointer thread copies the log beside the
    /// writer; the writer only finishes the job, a few pages, when the log must start again.
    ///
    /// `read_only` (the URL's `mode=ro`) opens it read-only all the same, so that every write
    /// fails as the operator asked, and starts no checkpointer.
    pub(crate) fn open(path: &Path, bounds: WalBounds, read_only: bool) -> anyhow::Result<Self> {
        let access = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let conn = connect(path, access, "writing")?;
        // `journal_mode` answers the mode it set; `pragma_update` would refuse that row.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        anyhow::ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "{} cannot use WAL mode (it stays in {mode})",
            path.display()
        );
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let limit = i64::try_from(bounds.limit_bytes).unwrap_or(i64::MAX);
        let _: i64 =
            conn.query_row(&format!("PRAGMA journal_size_limit = {limit}"), [], |row| {
                row.get(0)
            })?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);

        let catch_up = Arc::new(AtomicBool::new(false));
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        if !read_only {
            let checkpointer = connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE, "checkpoints")?;
            std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn({
                    let catch_up = Arc::clone(&catch_up);
                    move || keep_checkpointing(checkpointer, woken, catch_up, bounds)
                })
                .context("starting the checkpointer thread")?;
        }
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            wal: Arc::new(WalKeeper {
                path: wal_path.into(),
                limit_bytes: bounds.limit_bytes,
                catch_up,
                wake,
            }),
        })
    }

    /// Holds the connection, waiting while somebody else writes.
    pub(crate) async fn hold(&self) -> Held {
        Held {
            conn: Arc::clone(&self.conn).lock_owned().await,
            wal: Arc::clone(&self.wal),
        }
    }

    /// Holds the connection and starts a write transaction on it: `BEGIN IMMEDIATE`, so the
    /// write lock is taken now (waiting for another process's writer, up to the busy timeout)
    /// rather than at the first write, where it could fail.
    pub(crate) async fn begin(&self) -> Result<Transaction, StoreError> {
        let held = self.hold().await;
        run(&held, &Query::new("BEGIN IMMEDIATE"))?;
        Ok(Transaction { held: Some(held) })
    }
}

/// A write transaction; dropped without [`Transaction::commit_holding`], it rolls back.
#[derive(Debug)]
pub(crate) struct Transaction {
    /// Always there; taken out only by [`Transaction::commit_holding`], which consumes the
    /// transaction.
    held: Option<Held>,
}

impl Transaction {
    /// The connection, to run the transaction's statements on.
    pub(crate) fn conn(&mut self) -> &mut Connection {
        self.held.as_mut().map_or_else(
            || unreachable!("a transaction holds its connection until it is consumed"),
            |held| &mut **held,
        )
    }

    /// Commits, and keeps the connection held: whatever upkeep of the log the commit calls
    /// for (see [`Held`]'s `Drop`) runs when the caller drops what this answers, so that the
    /// group-commit writer answers its callers first.
    pub(crate) fn commit_holding(mut self) -> Result<Held, StoreError> {
        // On failure the transaction is still open, and `Drop` rolls it back.
        run(self.conn(), &Query::new("COMMIT"))?;
        self.held.take().ok_or_else(|| {
            StoreError::Unexpected(anyhow::anyhow!("a transaction lost its connection"))
        })
    }

    /// Rolls back.
    pub(crate) fn rollback(mut self) -> Result<(), StoreError> {
        run(self.conn(), &Query::new("ROLLBACK")).map(drop)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if let Some(held) = &self.held
            && !held.is_autocommit()
        {
            // Nothing to tell anyone if this fails: the connection is then unusable anyway,
            // and SQLite rolls an open transaction back when it closes.
            let _ = held.execute_batch("ROLLBACK");
        }
    }
}

/// A database error as a store error: a unique or primary-key violation is
/// [`StoreError::Duplicate`], as sqlx reports it on the other connections.
fn unexpected(err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::ConstraintViolation
                && matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            StoreError::Duplicate
        }
        _ => StoreError::Unexpected(anyhow::Error::new(err)),
    }
}

/// Prepares (or takes from the cache) a query's statement and binds its arguments, `$n` to
/// the n-th (see [`crate::db::sqlite_numbered`]).
fn prepare<'c>(
    conn: &'c Connection,
    query: &Query,
) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    let mut statement = conn
        .prepare_cached(&crate::db::sqlite_numbered(query.sql()))
        .map_err(unexpected)?;
    let args = query.args();
    // The highest parameter number the statement uses.
    let used = statement.parameter_count();
    if used > args.len() {
        return Err(StoreError::Unexpected(anyhow::anyhow!(
            "SQL parameter ${used} has no argument ({} given)",
            args.len()
        )));
    }
    for (index, arg) in (1..=used).zip(args) {
        match arg {
            Arg::Text(value) => statement.raw_bind_parameter(index, value.as_deref()),
            Arg::Int(value) => statement.raw_bind_parameter(index, value),
            Arg::Bool(value) => statement.raw_bind_parameter(index, value),
            Arg::Bytes(value) => statement.raw_bind_parameter(index, value.as_slice()),
            Arg::Real(value) => statement.raw_bind_parameter(index, value),
        }
        .map_err(unexpected)?;
    }
    Ok(statement)
}

/// Runs a statement to its end; answers how many rows it changed (none for a read).
pub(crate) fn run(conn: &Connection, query: &Query) -> Result<u64, StoreError> {
    let mut statement = prepare(conn, query)?;
    let writes = !statement.readonly();
    // Stepped through rather than `raw_execute`d, which refuses a statement that returns rows
    // (`RETURNING`, a pragma).
    let mut rows = statement.raw_query();
    while rows.next().map_err(unexpected)?.is_some() {}
    Ok(if writes { conn.changes() } else { 0 })
}

/// The rows a query returns, at most `limit` of them.
pub(crate) fn fetch(
    conn: &Connection,
    query: &Query,
    limit: usize,
) -> Result<Vec<OwnedRow>, StoreError> {
    let mut statement = prepare(conn, query)?;
    let count = statement.column_count();
    // Named once per query, and only when a row comes back: most reads find one row or none.
    let mut columns: Option<Arc<[String]>> = None;
    let mut rows = statement.raw_query();
    let mut fetched = Vec::new();
    while fetched.len() < limit {
        let Some(row) = rows.next().map_err(unexpected)? else {
            break;
        };
        let columns = Arc::clone(columns.get_or_insert_with(|| {
            AsRef::<rusqlite::Statement<'_>>::as_ref(row)
                .column_names()
                .into_iter()
                .map(str::to_owned)
                .collect()
        }));
        let values = (0..count)
            .map(|i| row.get_ref(i).map(Value::from))
            .collect::<Result<_, _>>()
            .map_err(unexpected)?;
        fetched.push(OwnedRow { columns, values });
    }
    Ok(fetched)
}

/// A row read on one of SQLite's connections, kept after its statement was reset.
#[derive(Debug, Clone)]
pub(crate) struct OwnedRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl OwnedRow {
    /// A column's value.
    pub(crate) fn get<T: FromSql>(&self, column: &str) -> Result<T, StoreError> {
        let index = self
            .columns
            .iter()
            .position(|name| name == column)
            .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("no column {column}")))?;
        T::column_result(ValueRef::from(&self.values[index]))
            .map_err(|error| StoreError::Unexpected(anyhow::anyhow!("column {column}: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database() -> anyhow::Result<(tempfile::TempDir, WriteConnection)> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("db.sqlite");
        Connection::open(&path)?.execute_batch(
            "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER CHECK (n >= 0), b BLOB, flag BOOLEAN, r REAL)",
        )?;
        Ok((dir, WriteConnection::open(&path, WalBounds::SERVER, false)?))
    }

    /// Writes `transactions` transactions of 64 KiB; answers the log file's size at the end.
    async fn log_after_writing(bounds: WalBounds, transactions: i64) -> anyhow::Result<u64> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("db.sqlite");
        Connection::open(&path)?.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)",
        )?;
        let writer = WriteConnection::open(&path, bounds, false)?;
        for _ in 0..transactions {
            let mut tx = writer.begin().await?;
            run(
                tx.conn(),
                &Query::new("INSERT INTO t (b) VALUES (randomblob(65536))"),
            )?;
            drop(tx.commit_holding()?);
        }
        let held = writer.hold().await;
        let rows: i64 = held.query_row("SELECT count(*) FROM t", [], |row| row.get(0))?;
        assert_eq!(rows, transactions);
        Ok(std::fs::metadata(dir.path().join("db.sqlite-wal"))?.len())
    }

    #[tokio::test]
    async fn a_commit_held_leaves_the_logs_upkeep_until_it_is_let_go() -> anyhow::Result<()> {
        let (dir, writer) = database().await?;
        // As the checkpointer does when the log is long.
        writer.wal.catch_up.store(true, Ordering::Release);
        let mut tx = writer.begin().await?;
        run(
            tx.conn(),
            &Query::new("INSERT INTO t (id, n) VALUES ('a', 1)"),
        )?;
        let held = tx.commit_holding()?;
        // Committed: a reader sees the row while the writer still holds the connection.
        let reader = open_reader(&dir.path().join("db.sqlite"))?;
        let rows: i64 = reader.query_row("SELECT count(*) FROM t", [], |row| row.get(0))?;
        assert_eq!(rows, 1);
        assert!(
            writer.wal.catch_up.load(Ordering::Acquire),
            "caught up too early"
        );
        drop(held);
        assert!(
            !writer.wal.catch_up.load(Ordering::Acquire),
            "never caught up"
        );
        Ok(())
    }

    #[test]
    fn sqlite_is_built_without_its_shared_locks_on_every_page_and_allocation() -> anyhow::Result<()>
    {
        // `.cargo/config.toml` passes these to libsqlite3-sys's build (see the module doc).
        let conn = Connection::open_in_memory()?;
        let mut statement = conn.prepare("PRAGMA compile_options")?;
        let options: Vec<String> = statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn the_writer_restarts_a_log_the_checkpointer_left_long() -> anyhow::Result<()> {
        // The checkpointer says the log is long after every pass; the writer finishes the job.
        let wal = log_after_writing(
            WalBounds {
                restart_frames: 64,
                limit_bytes: u64::MAX,
                pause: Duration::ZERO,
            },
            1024,
        )
        .await?;
        // Without restarts the log would hold all 64 MiB. With them it stays far below, by how
        // much depending on how often the checkpointer gets a core (it chases the writer for
        // up to `MAX_CHASE` passes): 9.7 MiB was seen with the whole test suite running beside.
        assert!(wal < 32 << 20, "the log grew to {wal} bytes");
        Ok(())
    }

    #[tokio::test]
    async fn a_log_over_its_size_limit_is_restarted_whatever_the_checkpointer_did()
    -> anyhow::Result<()> {
        // The checkpointer makes one pass, then rests for the rest of the test.
        let wal = log_after_writing(
            WalBounds {
                restart_frames: i64::MAX,
                limit_bytes: 1 << 20,
                pause: Duration::from_secs(3600),
            },
            1024,
        )
        .await?;
        // The limit, and at most one transaction's frames (17 pages) past it.
        assert!(
            wal <= (1 << 20) + 17 * (4096 + 24),
            "the log grew to {wal} bytes"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_log_under_its_limits_is_left_to_the_checkpointer() -> anyhow::Result<()> {
        // Ten transactions, 680 KiB of log, under both limits: the writer copies nothing, so
        // the log is not restarted under the writer after each transaction (the checkpointer
        // makes one pass, then rests).
        let wal = log_after_writing(
            WalBounds {
                restart_frames: i64::MAX,
                limit_bytes: 1 << 20,
                pause: Duration::from_secs(3600),
            },
            10,
        )
        .await?;
        assert!(wal >= 8 * 16 * 4096, "the log was restarted: {wal} bytes");
        Ok(())
    }

    #[test]
    fn the_checkpointer_chases_a_long_log_until_little_is_new_then_hands_over() {
        let restart = 10_000;
        // Short: rest, whatever came, and the chase starts afresh.
        assert_eq!(after_pass(9_999, 0, 0, restart), (AfterPass::Rest, 0));
        assert_eq!(after_pass(9_999, 9_000, 3, restart), (AfterPass::Rest, 0));
        // Long, and more than the hand-over's worth came since the last pass: chase, counted.
        assert_eq!(after_pass(10_000, 0, 0, restart), (AfterPass::Chase, 1));
        assert_eq!(
            after_pass(12_000, 12_000 - HANDOVER_FRAMES - 1, 2, restart),
            (AfterPass::Chase, 3)
        );
        // Little came: hand over, and the next chase starts afresh.
        assert_eq!(
            after_pass(12_000, 12_000 - HANDOVER_FRAMES, 2, restart),
            (AfterPass::HandOver, 0)
        );
        assert_eq!(
            after_pass(12_000, 12_000, 0, restart),
            (AfterPass::HandOver, 0)
        );
        // The log started again since the last pass: all its frames are new.
        assert_eq!(
            after_pass(10_500, 20_000, 0, restart),
            (AfterPass::Chase, 1)
        );
        // A log written faster than it is copied: hand over after MAX_CHASE passes.
        assert_eq!(
            after_pass(50_000, 10_000, MAX_CHASE - 2, restart),
            (AfterPass::Chase, MAX_CHASE - 1)
        );
        assert_eq!(
            after_pass(50_000, 10_000, MAX_CHASE - 1, restart),
            (AfterPass::HandOver, 0)
        );
    }

    #[test]
    fn the_servers_size_limit_leaves_room_for_the_restart_point() {
        // Below it, the writer's own copy (without the chase) would always come first.
        let bounds = WalBounds::SERVER;
        let restart_bytes = u64::try_from(bounds.restart_frames).unwrap_or(u64::MAX) * (4096 + 24);
        assert!(bounds.limit_bytes > 2 * restart_bytes, "{bounds:?}");
    }

    #[tokio::test]
    async fn parameters_bind_by_their_number_wherever_they_appear() -> anyhow::Result<()> {
        let (_dir, writer) = database().await?;
        let held = writer.hold().await;
        // $2 before $1, and $1 twice.
        let insert = Query::new(
            "INSERT INTO t (n, id, b, flag, r) VALUES ($2, $1, $3, $4, $5), ($2 + 1, $1 || 'x', NULL, $4, $5)",
        )
        .bind("a")
        .bind(7_i64)
        .bind(&b"\x00\x01"[..])
        .bind(true)
        .bind(0.5_f64);
        assert_eq!(run(&held, &insert)?, 2);
        let rows = fetch(
            &held,
            &Query::new("SELECT id, n, b, flag, r FROM t WHERE n >= $1 ORDER BY id").bind(7_i64),
            10,
        )?;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get::<String>("id")?, "a");
        assert_eq!(rows[0].get::<i64>("n")?, 7);
        assert_eq!(rows[0].get::<Vec<u8>>("b")?, vec![0, 1]);
        assert!(rows[0].get::<bool>("flag")?);
        assert_eq!(rows[0].get::<f64>("r")?, 0.5);
        assert_eq!(rows[1].get::<String>("id")?, "ax");
        assert_eq!(rows[1].get::<Option<Vec<u8>>>("b")?, None);
        assert_eq!(rows[1].get::<i64>("n")?, 8);
        assert!(rows[0].get::<i64>("nope").is_err());
        assert_eq!(fetch(&held, &Query::new("SELECT id FROM t"), 1)?.len(), 1);
        // A missing argument is an error, not a NULL.
        let short = Query::new("INSERT INTO t (id, n) VALUES ($1, $2)").bind("c");
        assert!(run(&held, &short).is_err());
        // A read changes nothing, whatever the statement before it changed.
        assert_eq!(run(&held, &Query::new("SELECT 1"))?, 0);
        Ok(())
    }

    #[tokio::test]
    async fn a_duplicate_key_is_a_duplicate_and_a_dropped_transaction_rolls_back()
    -> anyhow::Result<()> {
        let (_dir, writer) = database().await?;
        let insert = |id: &str| Query::new("INSERT INTO t (id) VALUES ($1)").bind(id);
        let mut tx = writer.begin().await?;
        run(tx.conn(), &insert("a"))?;
        assert!(matches!(
            run(tx.conn(), &insert("a")),
            Err(StoreError::Duplicate)
        ));
        // Another constraint, or another error, is not a duplicate.
        let negative = Query::new("INSERT INTO t (id, n) VALUES ($1, -1)").bind("n");
        assert!(matches!(
            run(tx.conn(), &negative),
            Err(StoreError::Unexpected(_))
        ));
        assert!(matches!(
            run(
                tx.conn(),
                &Query::new("INSERT INTO nowhere (id) VALUES (1)")
            ),
            Err(StoreError::Unexpected(_))
        ));
        drop(tx.commit_holding()?);
        let mut tx = writer.begin().await?;
        run(tx.conn(), &insert("b"))?;
        drop(tx);
        let mut tx = writer.begin().await?;
        run(tx.conn(), &insert("c"))?;
        tx.rollback()?;
        let held = writer.hold().await;
        assert!(held.is_autocommit(), "a transaction was left open");
        let ids: Vec<String> = fetch(&held, &Query::new("SELECT id FROM t ORDER BY id"), 10)?
            .iter()
            .map(|row| row.get("id"))
            .collect::<Result<_, _>>()?;
        assert_eq!(ids, ["a"]);
        Ok(())
    }
}
