//! The schema migrations, embedded at build time (see `build.rs`) and handed to sqlx's migrator
//! through its [`MigrationSource`] trait.
//!
//! Each migration is built exactly as sqlx's own file source builds it (version and description
//! from the file name, underscores read as spaces, the SHA-384 checksum of the SQL, `-- no-transaction`
//! honoured), so databases migrated by earlier builds, which used `sqlx::migrate!`, see the same
//! checksums and stay valid.

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// One migration file, as the build script embeds it.
pub(crate) struct EmbeddedMigration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The migrations of one database, as a source sqlx can resolve.
#[derive(Debug, Clone, Copy)]
struct Embedded(&'static [EmbeddedMigration]);

impl std::fmt::Debug for EmbeddedMigration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}_{}", self.version, self.description)
    }
}

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move { Ok(self.0.iter().map(to_migration).collect()) })
    }
}

fn to_migration(file: &EmbeddedMigration) -> Migration {
    Migration::new(
        file.version,
        Cow::Borrowed(file.description),
        MigrationType::Simple,
        Cow::Borrowed(file.sql),
        file.sql.starts_with("-- no-transaction"),
    )
}

/// The migrator for SQLite databases.
pub(crate) async fn sqlite() -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(SQLITE)).await
}

/// The migrator for PostgreSQL databases.
pub(crate) async fn postgres() -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(POSTGRES)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_databases_have_the_same_versions_in_order() {
        let versions =
            |list: &[EmbeddedMigration]| list.iter().map(|m| m.version).collect::<Vec<_>>();
        let sqlite = versions(SQLITE);
        assert_eq!(sqlite, versions(POSTGRES));
        assert!(
            sqlite.windows(2).all(|pair| pair[0] < pair[1]),
            "{sqlite:?}"
        );
        assert_eq!(sqlite.first(), Some(&1));
    }

    #[test]
    fn descriptions_read_as_sqlx_reads_them() {
        assert_eq!(SQLITE[0].description, "init");
        let ordering = SQLITE
            .iter()
            .find(|m| m.version == 13)
            .expect("migration 13");
        assert_eq!(ordering.description, "job ordering");
        assert!(ordering.sql.contains("ordering_key"));
    }
}
