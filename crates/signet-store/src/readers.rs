//! SQLite's read-only connections, lent without sqlx's pool.
//!
//! Why not a `SqlitePool`: sqlx's pool pings every connection handed back to it (and, by
//! default, every connection it hands out), and an SQLite connection lives on a thread of its
//! own, so each ping is a round trip to that thread: two thread wake-ups per read that check
//! nothing a local file could lose. A create reads twice before its write, so on a 2-core
//! machine those wake-ups were a tenth of a create's CPU (BENCHMARKS.md, "the create's reads").
//! Here a read takes an idle connection, runs its statements and puts the connection back,
//! with nothing in between.
//!
//! A read abandoned half way (its request dropped) puts its connection back too: sqlx's
//! connection thread runs commands one after the other, so the next read on it waits for the
//! abandoned statement to stop (it stops at the first row nobody receives), and reads run no
//! transaction that could be left open.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A fixed set of read-only connections.
#[derive(Debug, Clone)]
pub(crate) struct Readers {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    idle: Mutex<Vec<SqliteConnection>>,
    /// One permit per idle connection: taking a permit guarantees one is there.
    permits: Arc<Semaphore>,
}

impl Readers {
    /// Opens `count` read-only connections with `options`.
    pub(crate) async fn open(options: &SqliteConnectOptions, count: usize) -> anyhow::Result<Self> {
        let mut idle = Vec::with_capacity(count);
        for _ in 0..count {
            idle.push(
                options
                    .clone()
                    .read_only(true)
                    .connect()
                    .await
                    .context("opening a read-only SQLite connection")?,
            );
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
    conn: Option<SqliteConnection>,
    shared: Arc<Shared>,
    // Released after the connection is back (fields drop after `Drop::drop` ran).
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// The connection.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
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
    use sqlx::Connection as _;

    use super::*;

    #[tokio::test]
    async fn every_lease_holds_its_own_connection_and_gives_it_back() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("db.sqlite"))
            .create_if_missing(true);
        // Create the file: read-only connections do not.
        options.connect().await?.close().await?;
        let readers = Readers::open(&options, 2).await?;
        let mut first = readers.lease().await;
        let mut second = readers.lease().await;
        let one: (i64,) = sqlx::query_as("SELECT 1").fetch_one(first.conn()).await?;
        let two: (i64,) = sqlx::query_as("SELECT 2").fetch_one(second.conn()).await?;
        assert_eq!((one.0, two.0), (1, 2));
        // Both are lent: a third waits until one comes back.
        assert!(
            readers.lease().now_or_never().is_none(),
            "a third lease was handed out"
        );
        drop(first);
        let mut third = readers.lease().await;
        let three: (i64,) = sqlx::query_as("SELECT 3").fetch_one(third.conn()).await?;
        assert_eq!(three.0, 3);
        // Read-only: a write is refused.
        let refused = sqlx::query("CREATE TABLE t (x)")
            .execute(third.conn())
            .await;
        assert!(refused.is_err(), "a reader wrote");
        Ok(())
    }
}
