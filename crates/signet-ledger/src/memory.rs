//! An in-memory log built on the same plan/assemble functions the SQL store uses.
//!
//! It holds every perfect-subtree node in one vector per level (about 64 bytes per leaf), and
//! serves tests, the offline verifier and the benchmark. Because it goes through the public
//! [`NodeSource`] API, whatever works here works against stored rows too.

use crate::tree::{
    self, Hash, NodeId, NodeSource, TreeError, append_batch, consistency_proof, inclusion_proof,
    leaf_hash,
};

/// A whole transparency log in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    /// `levels[l][i]` is the node `NodeId { level: l, index: i }`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends a leaf with this data (hashed per RFC 9162); returns its index.
    pub fn append(&mut self, data: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(data))
    }

    /// Appends a leaf by its leaf hash; returns its index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        self.append_leaf_hashes(&[leaf]);
        index
    }

    /// Appends many leaves by their leaf hashes.
    pub fn append_leaf_hashes(&mut self, leaves: &[Hash]) {
        // Cannot fail: this log holds every node of its tree, so no node is missing, and a vector
        // in memory cannot hold u64::MAX leaves.
        let created = append_batch(self.size(), leaves, &*self)
            .expect("a memory log holds every node an append needs");
        for (id, hash) in created {
            self.store(id, hash);
        }
    }

    fn store(&mut self, id: NodeId, hash: Hash) {
        let level = usize::from(id.level);
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        let nodes = &mut self.levels[level];
        debug_assert_eq!(
            nodes.len() as u64,
            id.index,
            "nodes are created left to right"
        );
        nodes.push(hash);
    }

    /// The current root hash.
    pub fn root(&self) -> Hash {
        // Cannot fail: every node of the current tree is held.
        tree::root(self.size(), self).expect("a memory log holds its own root nodes")
    }

    /// The root hash of the tree of the first `size` leaves.
    ///
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        self.check_size(size)?;
        tree::root(size, self)
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(size)?;
        inclusion_proof(index, size, self)
    }

    /// The consistency proof between the trees of the first `old` and `new` leaves.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(new)?;
        consistency_proof(old, new, self)
    }

    fn check_size(&self, size: u64) -> Result<(), TreeError> {
        if size > self.size() {
            return Err(TreeError::BeyondEnd {
                size,
                log_size: self.size(),
            });
        }
        Ok(())
    }
}

impl NodeSource for MemoryLog {
    fn node(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }
}
