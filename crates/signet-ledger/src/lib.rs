//! Signet's transparency log: every action is a leaf of an append-only Merkle log in the style of
//! RFC 9162 (Certificate Transparency v2), with inclusion and consistency proofs and signed tree
//! heads in the C2SP checkpoint format.
//!
//! The crate does no I/O. The log lives in SQL rows owned by the store; this crate tells the store
//! which stored nodes an operation needs ([`nodes_needed_for_append`], [`inclusion_proof_nodes`],
//! …) and turns the fetched nodes into new nodes, roots and proofs. Verification
//! ([`verify_inclusion`], [`verify_consistency`], [`NoteVerifier::open`]) is pure, for the offline
//! verifier and for anyone holding Signet's evidence. [`MemoryLog`] runs the same code over
//! in-memory nodes.
//!
//! ```
//! use signet_ledger::{Checkpoint, MemoryLog, NoteSigner, leaf_hash, verify_inclusion};
//!
//! let mut log = MemoryLog::new();
//! for action in ["created", "uploaded", "signed"] {
//!     log.append(action.as_bytes());
//! }
//! let proof = log.inclusion_proof(1, log.size())?;
//! verify_inclusion(&leaf_hash(b"uploaded"), 1, log.size(), &proof, &log.root())?;
//!
//! let signer = NoteSigner::generate("signet.example/log")?;
//! let note = signer.sign_checkpoint(&Checkpoint::new("signet.example/log", log.size(), log.root()))?;
//! let head = signer.verifier().open(&note)?;
//! assert_eq!(head.root_hash, log.root());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checkpoint;
mod memory;
mod tree;
mod verify;

pub use checkpoint::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
pub use memory::MemoryLog;
pub use tree::{
    Hash, NodeId, NodeSource, TreeError, append, append_batch, consistency_proof,
    consistency_proof_nodes, empty_root, inclusion_proof, inclusion_proof_nodes, leaf_hash,
    node_hash, nodes_needed_for_append, nodes_needed_for_append_batch, nodes_needed_for_root, root,
};
pub use verify::{ProofError, root_from_inclusion_proof, verify_consistency, verify_inclusion};
