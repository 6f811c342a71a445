//! Sealing benchmark (filled in later).
fn main() {}
