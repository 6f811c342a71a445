//! Signet's transparency log: every action is a leaf of an append-only Merkle log in the style of
//! RFC 9162 (Certificate Transparency v2), with inclusion and consistency proofs and signed tree
//! heads in the C2SP checkpoint format.
//!
//! # Why sans-IO, and why not an existing crate
//!
//! The log lives in SQL rows (SQLite or PostgreSQL) owned by the store, shared by several server
//! processes. Proofs must come from those stored rows, never from rehashing the log, and no process
//! may rely on a tree held in its own memory. `ct-merkle` and `tlog_tiles` both compute RFC 6962
//! trees correctly, but `ct-merkle` keeps the whole tree in memory and `tlog_tiles` is organised
//! around the tiled HTTP layout; neither lets a caller ask "which stored nodes do you need?". So
//! this crate does no I/O at all ([`tree`]): it stores only perfect subtrees, addressed by
//! [`NodeId`], and offers each operation as a *plan* (the node ids to fetch in one query) and an
//! *assemble* step over a [`NodeSource`] (the fetched rows). `ct-merkle` still serves as an
//! independent cross-check in the tests.
//!
//! Verification ([`verify_inclusion`], [`verify_consistency`], [`NoteVerifier::open`]) is pure,
//! for the offline verifier and anyone holding Signet's evidence. [`MemoryLog`] runs the same code
//! over in-memory nodes.
//!
//! ```
//! use std::collections::HashMap;
//! use signet_ledger::{Checkpoint, MemoryLog, NoteSigner, leaf_hash, verify_inclusion};
//!
//! // A store keeps rows (level, index, hash); a HashMap stands in for the table here.
//! let mut table = HashMap::new();
//! for (size, action) in (0u64..).zip(["created", "uploaded", "signed"]) {
//!     let fetched: HashMap<_, _> = signet_ledger::nodes_needed_for_append(size)
//!         .into_iter()
//!         .map(|id| (id, table[&id]))
//!         .collect();
//!     for (id, hash) in signet_ledger::append(size, leaf_hash(action.as_bytes()), &fetched)? {
//!         table.insert(id, hash); // INSERT, never UPDATE
//!     }
//! }
//! let plan = signet_ledger::inclusion_proof_nodes(1, 3)?; // SELECT … WHERE (level, index) IN plan
//! let fetched: HashMap<_, _> = plan.iter().map(|&id| (id, table[&id])).collect();
//! let proof = signet_ledger::inclusion_proof(1, 3, &fetched)?;
//! let root = signet_ledger::root(3, &table)?;
//! verify_inclusion(&leaf_hash(b"uploaded"), 1, 3, &proof, &root)?;
//!
//! // The same log in memory, and a signed tree head.
//! let mut log = MemoryLog::new();
//! for action in ["created", "uploaded", "signed"] {
//!     log.append(action.as_bytes());
//! }
//! assert_eq!(log.root(), root);
//! let signer = NoteSigner::generate("signet.example/log")?;
//! let note = signer.sign_checkpoint(&Checkpoint::new("signet.example/log", 3, root))?;
//! let head = signer.verifier().open(&note)?;
//! assert_eq!((head.size, head.root_hash), (3, root));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checkpoint;
pub mod memory;
pub mod tree;
pub mod verify;

pub use checkpoint::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
pub use memory::MemoryLog;
pub use tree::{
    Hash, NodeId, NodeSource, TreeError, append, append_batch, consistency_proof,
    consistency_proof_nodes, empty_root, inclusion_proof, inclusion_proof_nodes, leaf_hash,
    node_hash, nodes_needed_for_append, nodes_needed_for_append_batch, nodes_needed_for_root, root,
};
pub use verify::{ProofError, root_from_inclusion_proof, verify_consistency, verify_inclusion};
