//! Embeds the SQL migrations of both databases in the crate, so that the store needs neither the
//! migration files at run time nor sqlx's `migrate!` macro, whose proc-macro crate compiles a
//! second copy of sqlx, tokio and their dependencies for the host (minutes of CI time).
//!
//! Writes `$OUT_DIR/migrations.rs`: one `&[EmbeddedMigration]` per database, in version order,
//! each file named `NNNN_description.sql` as sqlx names them.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut code = String::new();
    for (constant, folder) in [("SQLITE", "sqlite"), ("POSTGRES", "postgres")] {
        let dir = Path::new(&manifest).join("migrations").join(folder);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.expect("a readable directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        writeln!(code, "/// The {folder} migrations, in version order.")
            .expect("writing to a String cannot fail");
        writeln!(
            code,
            "pub(crate) const {constant}: &[EmbeddedMigration] = &["
        )
        .expect("writing to a String cannot fail");
        for path in files {
            println!("cargo:rerun-if-changed={}", path.display());
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 file name");
            let (version, description) = name
                .strip_suffix(".sql")
                .and_then(|stem| stem.split_once('_'))
                .unwrap_or_else(|| panic!("{name}: expected NNNN_description.sql"));
            let version: i64 = version
                .parse()
                .unwrap_or_else(|_| panic!("{name}: the version is not a number"));
            writeln!(
                code,
                "    EmbeddedMigration {{ version: {version}, description: {:?}, sql: include_str!({:?}) }},",
                description.replace('_', " "),
                path.display().to_string(),
            )
            .expect("writing to a String cannot fail");
        }
        writeln!(code, "];").expect("writing to a String cannot fail");
    }
    fs::write(Path::new(&out).join("migrations.rs"), code).expect("cannot write migrations.rs");
}
