//! The SQLite and PostgreSQL migrations describe one schema: after both have run, the tables,
//! their columns (with a type family and nullability) and their indexes (with uniqueness, columns
//! and partial conditions present or not) are the same. The two migration folders are written by
//! hand, side by side; this test is what keeps them from drifting.

use std::collections::BTreeMap;

use signet_store::test_support::{Backend, store};
use sqlx::{Connection as _, Row as _};

/// One table as both databases can describe it.
#[derive(Debug, PartialEq, Eq, Default)]
struct Table {
    /// Column name → (type family, nullable).
    columns: BTreeMap<String, (&'static str, bool)>,
    /// Index name → (unique, columns in order, partial).
    indexes: BTreeMap<String, (bool, Vec<String>, bool)>,
}

type Schema = BTreeMap<String, Table>;

/// Both databases' names for the same kind of value.
fn family(declared: &str) -> &'static str {
    let declared = declared.to_ascii_lowercase();
    // SQLite has no boolean type: its migrations declare booleans INTEGER.
    if declared.contains("int") || declared.contains("bool") {
        "integer"
    } else if declared.contains("char") || declared.contains("text") {
        "text"
    } else if declared.contains("blob") || declared.contains("bytea") {
        "bytes"
    } else if declared.contains("real") || declared.contains("double") || declared.contains("float")
    {
        "float"
    } else {
        "other"
    }
}

async fn sqlite_schema(url: &str) -> anyhow::Result<Schema> {
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    let names: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%'",
    )
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|r| r.get("name"))
    .collect();
    let mut schema = Schema::new();
    for name in names {
        let mut table = Table::default();
        for column in sqlx::query(&format!("PRAGMA table_info('{name}')"))
            .fetch_all(&mut conn)
            .await?
        {
            let declared: String = column.get("type");
            let not_null: i64 = column.get("notnull");
            let primary_key: i64 = column.get("pk");
            table.columns.insert(
                column.get("name"),
                (family(&declared), not_null == 0 && primary_key == 0),
            );
        }
        for index in sqlx::query(&format!("PRAGMA index_list('{name}')"))
            .fetch_all(&mut conn)
            .await?
        {
            let index_name: String = index.get("name");
            let origin: String = index.get("origin");
            // Indexes SQLite makes for PRIMARY KEY and UNIQUE constraints have generated names;
            // they are compared through the constraints' own columns below.
            if origin != "c" {
                continue;
            }
            let unique: i64 = index.get("unique");
            let partial: i64 = index.get("partial");
            let columns: Vec<String> = sqlx::query(&format!("PRAGMA index_info('{index_name}')"))
                .fetch_all(&mut conn)
                .await?
                .iter()
                .map(|c| c.get::<Option<String>, _>("name").unwrap_or_default())
                .collect();
            table
                .indexes
                .insert(index_name, (unique != 0, columns, partial != 0));
        }
        schema.insert(name, table);
    }
    Ok(schema)
}

async fn postgres_schema(url: &str) -> anyhow::Result<Schema> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let mut schema = Schema::new();
    for column in sqlx::query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
         c.data_type::text AS data_type, c.is_nullable::text AS is_nullable \
         FROM information_schema.columns c JOIN information_schema.tables t \
         ON t.table_name = c.table_name AND t.table_schema = c.table_schema \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
         AND c.table_name NOT LIKE '_sqlx_%'",
    )
    .fetch_all(&mut conn)
    .await?
    {
        let table: String = column.get("table_name");
        let declared: String = column.get("data_type");
        let nullable: String = column.get("is_nullable");
        schema.entry(table).or_default().columns.insert(
            column.get("column_name"),
            (family(&declared), nullable == "YES"),
        );
    }
    for index in sqlx::query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
         ix.indisunique AS is_unique, ix.indpred IS NOT NULL AS is_partial, \
         array_to_string(array(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(n, o) \
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), ',') AS columns, \
         EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) AS from_constraint \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname NOT LIKE '_sqlx_%'",
    )
    .fetch_all(&mut conn)
    .await?
    {
        // As on SQLite: constraint-made indexes are compared through their columns.
        if index.get::<bool, _>("from_constraint") {
            continue;
        }
        let table: String = index.get("table_name");
        let columns: String = index.get("columns");
        schema.entry(table).or_default().indexes.insert(
            index.get("index_name"),
            (
                index.get("is_unique"),
                columns.split(',').map(str::to_owned).collect(),
                index.get("is_partial"),
            ),
        );
    }
    Ok(schema)
}

#[tokio::test]
async fn both_databases_have_the_same_schema() -> anyhow::Result<()> {
    let Some((_sqlite_store, sqlite)) = store(Backend::Sqlite).await? else {
        return Ok(());
    };
    let Some((_postgres_store, postgres)) = store(Backend::Postgres).await? else {
        return Ok(());
    };
    let lite = sqlite_schema(&sqlite.url).await?;
    let pg = postgres_schema(&postgres.url).await?;
    assert!(lite.len() >= 5, "the migrations ran: {:?}", lite.keys());
    let indexes: usize = lite.values().map(|t| t.indexes.len()).sum();
    assert!(indexes >= 3, "the indexes are compared too");
    let names = |s: &Schema| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&lite), names(&pg), "the same tables");
    for (name, table) in &lite {
        let other = &pg[name];
        assert_eq!(table.columns, other.columns, "columns of {name}");
        assert_eq!(table.indexes, other.indexes, "indexes of {name}");
    }
    Ok(())
}
