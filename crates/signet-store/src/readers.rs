//! SQLite's read-only connections, lent without a pool library.
//!
//! Why not sqlx's `SqlitePool`: it pings every connection handed back to it (and, by default,
//! every connection it hands out), and sqlx runs an SQLite connection on a thread of its own, so
//! each ping and each statement is a round trip to that thread: thread wake-ups that were a
//! tenth of a create's CPU on a 2-core machine (BENCHMARKS.md, "the create's reads"). Here a
//! read takes an idle rusqlite connection, runs its statements where it is (the store's reads
//! are indexed lookups and bounded pages, microseconds each; see `sqlite`) and puts the
//! connection back, with nothing in between.
//!
//! A read abandoned half way (its request dropped) puts its connection back too: its
//! statements ran to their end or were reset before the lease could be dropped, and reads run
//! no transaction that could be left open.

use std::sync::{Arc, Mutex, PoisonError};

use std::path::Path;

use rusqlite::Connection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A fixed set of read-only connections.
#[derive(Debug, Clone)]
pub(crate) struct Readers {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    idle: Mutex<Vec<Connection>>,
    /// One permit per idle connection: taking a permit guarantees one is there.
    permits: Arc<Semaphore>,
}

impl Readers {
    /// Opens `count` read-only connections to the database file at `path`.
    pub(crate) fn open(path: &Path, count: usize) -> anyhow::Result<Self> {
        let mut idle = Vec::with_capacity(count);
        for _ in 0..count {
            idle.push(crate::sqlite::open_reader(path)?);
        }
        Ok(Self {
            shared: Arc::new(Shared {
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(count)),
            }),
        })
    }

    /// Lends an idle connection, waiting for one when all are lent.
    pub(crate) async fn lease(&self) -> Lease {
        let permit = match Arc::clone(&self.shared.permits).acquire_owned().await {
            Ok(permit) => permit,
            // The semaphore is never closed.
            Err(_) => unreachable!("the readers' semaphore is never closed"),
        };
        let conn = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Lease {
            conn,
            shared: Arc::clone(&self.shared),
            _permit: permit,
        }
    }
}

/// A connection lent by [`Readers`]; it goes back when dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    conn: Option<Connection>,
    shared: Arc<Shared>,
    // Released after the connection is back (fields drop after `Drop::drop` ran).
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// The connection.
    pub(crate) fn conn(&mut self) -> &mut Connection {
        match self.conn.as_mut() {
            Some(conn) => conn,
            // A permit is only taken with a connection idle, and each permit pops one.
            None => unreachable!("a lease always holds a connection"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.shared
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt as _;

    use super::*;

    #[tokio::test]
    async fn every_lease_holds_its_own_connection_and_gives_it_back() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("db.sqlite");
        // Create the file: read-only connections do not.
        Connection::open(&path)?.execute_batch("PRAGMA journal_mode = WAL")?;
        let readers = Readers::open(&path, 2)?;
        let mut first = readers.lease().await;
        let mut second = readers.lease().await;
        let one: i64 = first.conn().query_row("SELECT 1", [], |row| row.get(0))?;
        let two: i64 = second.conn().query_row("SELECT 2", [], |row| row.get(0))?;
        assert_eq!((one, two), (1, 2));
        // Both are lent: a third waits until one comes back.
        assert!(
            readers.lease().now_or_never().is_none(),
            "a third lease was handed out"
        );
        drop(first);
        let mut third = readers.lease().await;
        let three: i64 = third.conn().query_row("SELECT 3", [], |row| row.get(0))?;
        assert_eq!(three, 3);
        // Read-only: a write is refused.
        let refused = third.conn().execute_batch("CREATE TABLE t (x)");
        assert!(refused.is_err(), "a reader wrote");
        Ok(())
    }
}
