//! Evidence: the events every act records, how each becomes a leaf of the transparency log, and
//! the log's use-cases (checkpoints, proofs, a document's evidence).

mod leaf;
pub mod ledger;
pub mod model;

pub use leaf::{leaf_hash, leaf_hash_of_record, record_digest};
