//! RFC 9162 Merkle tree math over *stored perfect-subtree nodes*, without I/O.
//!
//! The log lives in an SQL table owned by another crate. This module never reads or writes it: each
//! operation comes as a pair of functions, a *plan* that names the [`NodeId`]s it needs (so the
//! caller can fetch them in one query) and an *assemble* step that takes anything implementing
//! [`NodeSource`] and returns the result (new nodes to insert, a root, a proof).
//!
//! Only perfect subtrees are ever stored: the node `NodeId { level, index }` is the Merkle tree hash
//! of the `2^level` leaves `[index·2^level, (index+1)·2^level)`; level 0 holds the leaf hashes.
//! Such a node never changes once its last leaf is appended, so rows are insert-only. Every subtree
//! hash `MTH(D[a:b])` that RFC 9162 proofs use has `a` aligned to a power of two at least `b − a`,
//! so it is the right fold of at most 64 perfect subtrees (the binary digits of `b − a`), and every
//! proof needs `O(log² n)` stored nodes at worst and usually `O(log n)`.
//!
//! For the store: a table keyed by `(level, index)` holding 32-byte hashes is enough (indices stay
//! below 2^63, so a signed BIGINT holds them). Appends must be serialised, e.g. in a transaction
//! that reads the current size, inserts what [`append_batch`] returns and bumps the size; with the
//! primary key, two racing writers collide on the new leaf's row instead of forking the tree.
//!
//! Why not `ct-merkle` or `tlog_tiles`: both match the RFC 6962 vectors, but `ct-merkle` keeps the
//! whole tree in memory (its index helpers assume its own array layout) and `tlog_tiles` is built
//! around the tiled HTTP layout with its own storage conventions. Signet needs proofs served from
//! rows in SQLite or PostgreSQL, by several processes sharing one database, with neither a full
//! tree in memory nor tiles; the math here is small enough to own. `ct-merkle` is still used in the
//! tests as an independent cross-check.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node or a tree root.
pub type Hash = [u8; 32];

/// The leaf hash of RFC 9162 §2.1.1: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// The interior node hash of RFC 9162 §2.1.1: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The root of the empty tree, `SHA-256("")` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// The address of a stored perfect subtree: the hash of leaves
/// `[index·2^level, (index+1)·2^level)`. Level 0 holds leaf hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf hash).
    pub level: u8,
    /// Position among the nodes of this level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level`, `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf hash of leaf `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// One past the last leaf this node covers (u128: an arbitrary id may end past u64::MAX).
    pub(crate) const fn end_leaf(self) -> u128 {
        (self.index as u128 + 1) << self.level
    }
}

/// Where assemble functions find stored nodes: typically the rows the caller just fetched for the
/// ids a plan function returned.
pub trait NodeSource {
    /// The stored hash of `id`, if the source has it.
    fn node(&self, id: NodeId) -> Option<Hash>;
}

impl<S: std::hash::BuildHasher> NodeSource for HashMap<NodeId, Hash, S> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

impl NodeSource for BTreeMap<NodeId, Hash> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

impl<T: NodeSource + ?Sized> NodeSource for &T {
    fn node(&self, id: NodeId) -> Option<Hash> {
        (**self).node(id)
    }
}

/// Why a plan could not be made or assembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// A leaf index at or past the end of the tree.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("cannot prove consistency from size {old} to the smaller size {new}")]
    SizesOutOfOrder {
        /// The older (first) tree size.
        old: u64,
        /// The newer (second) tree size.
        new: u64,
    },
    /// The node source lacked a node the plan asked for.
    #[error("node (level {}, index {}) is missing from the node source", .0.level, .0.index)]
    MissingNode(NodeId),
    /// A tree size larger than the log holds.
    #[error("tree size {size} is past the end of a log of {log_size} leaves")]
    BeyondEnd {
        /// The size asked for.
        size: u64,
        /// The number of leaves in the log.
        log_size: u64,
    },
    /// The tree would grow past `u64::MAX` leaves.
    #[error("the tree cannot grow past u64::MAX leaves")]
    TooLarge,
}

/// The largest power of two strictly smaller than `n` (`n ≥ 2`): the split point `k` of RFC 9162.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Appends to `out` the perfect subtrees whose right fold is `MTH(D[start:end])`.
///
/// `start` must be a multiple of the smallest power of two ≥ `end − start`, as it is for every
/// subtree RFC 9162 proofs refer to; then the greedy split below is exactly the MTH split.
fn push_range_nodes(start: u64, end: u64, out: &mut Vec<NodeId>) {
    let mut pos = start;
    while pos < end {
        let level = 63 - (end - pos).leading_zeros();
        debug_assert!(pos.trailing_zeros() >= level, "unaligned range");
        // `level` is at most 63, so it fits in a u8.
        out.push(NodeId::new(level as u8, pos >> level));
        pos += 1 << level;
    }
}

fn fetch(source: &impl NodeSource, id: NodeId) -> Result<Hash, TreeError> {
    source.node(id).ok_or(TreeError::MissingNode(id))
}

/// `MTH(D[start:end])` folded from stored nodes (`start < end`, aligned as in [`push_range_nodes`]).
fn range_hash(
    start: u64,
    end: u64,
    source: &impl NodeSource,
    scratch: &mut Vec<NodeId>,
) -> Result<Hash, TreeError> {
    scratch.clear();
    push_range_nodes(start, end, scratch);
    let mut ids = scratch.iter().rev();
    let Some(&last) = ids.next() else {
        // Callers never ask for an empty range; the empty tree is handled by `root`.
        return Ok(empty_root());
    };
    let mut acc = fetch(source, last)?;
    for &id in ids {
        acc = node_hash(&fetch(source, id)?, &acc);
    }
    Ok(acc)
}

/// The subtree ranges of `PATH(index, D[0:size])` (RFC 9162 §2.1.3.1), leaf side first.
fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The subtree ranges of `PROOF(old, D[0:new])` (RFC 9162 §2.1.4.1), deepest first.
fn consistency_ranges(old: u64, new: u64) -> Result<Vec<(u64, u64)>, TreeError> {
    if old > new {
        return Err(TreeError::SizesOutOfOrder { old, new });
    }
    let mut out = Vec::with_capacity(64);
    if old == 0 || old == new {
        return Ok(out);
    }
    // SUBPROOF(m, D[lo:hi], b) with invariant lo < old <= hi.
    let (mut lo, mut hi, mut whole_old_tree) = (0, new, true);
    loop {
        if old == hi {
            if !whole_old_tree {
                out.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if old <= lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            whole_old_tree = false;
        }
    }
    out.reverse();
    Ok(out)
}

fn ranges_nodes(ranges: &[(u64, u64)]) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(ranges.len() * 2);
    for &(a, b) in ranges {
        push_range_nodes(a, b, &mut out);
    }
    out
}

fn assemble_ranges(
    ranges: &[(u64, u64)],
    source: &impl NodeSource,
) -> Result<Vec<Hash>, TreeError> {
    let mut scratch = Vec::with_capacity(64);
    ranges
        .iter()
        .map(|&(a, b)| range_hash(a, b, source, &mut scratch))
        .collect()
}

/// The nodes [`root`] needs for a tree of `size` leaves: its perfect subtrees, largest first.
pub fn nodes_needed_for_root(size: u64) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(size.count_ones() as usize);
    push_range_nodes(0, size, &mut out);
    out
}

/// The root hash `MTH(D[0:size])` of the tree of the first `size` leaves.
pub fn root(size: u64, source: &impl NodeSource) -> Result<Hash, TreeError> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(0, size, source, &mut Vec::with_capacity(64))
}

/// The nodes [`inclusion_proof`] needs for leaf `index` in the tree of size `size`.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<NodeId>, TreeError> {
    Ok(ranges_nodes(&inclusion_ranges(index, size)?))
}

/// The inclusion proof (RFC 9162 §2.1.3.1) of leaf `index` in the tree of size `size`.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    source: &impl NodeSource,
) -> Result<Vec<Hash>, TreeError> {
    assemble_ranges(&inclusion_ranges(index, size)?, source)
}

/// The nodes [`consistency_proof`] needs between tree sizes `old` and `new`.
pub fn consistency_proof_nodes(old: u64, new: u64) -> Result<Vec<NodeId>, TreeError> {
    Ok(ranges_nodes(&consistency_ranges(old, new)?))
}

/// The consistency proof (RFC 9162 §2.1.4.1) between tree sizes `old` and `new`.
///
/// It is empty when `old` is 0 or equal to `new`, where nothing needs proving.
pub fn consistency_proof(
    old: u64,
    new: u64,
    source: &impl NodeSource,
) -> Result<Vec<Hash>, TreeError> {
    assemble_ranges(&consistency_ranges(old, new)?, source)
}

/// The existing nodes that appending `count` leaves to a tree of `size` leaves combines with.
///
/// These are the perfect subtrees of the current tree that gain a completed parent; a single
/// append needs at most 64 of them.
pub fn nodes_needed_for_append_batch(size: u64, count: u64) -> Vec<NodeId> {
    let new_size = u128::from(size) + u128::from(count);
    nodes_needed_for_root(size)
        .into_iter()
        // A perfect subtree of the current tree is always a left child; its parent is complete
        // once its right sibling is.
        .filter(|id| id.end_leaf() + (1u128 << id.level) <= new_size)
        .collect()
}

/// The existing nodes that [`append`] needs for appending to a tree of `size` leaves.
pub fn nodes_needed_for_append(size: u64) -> Vec<NodeId> {
    nodes_needed_for_append_batch(size, 1)
}

/// Appends one leaf to a tree of `size` leaves: returns every perfect node created (the leaf
/// itself, then each completed ancestor), to be stored by the caller.
pub fn append(
    size: u64,
    leaf_hash: Hash,
    source: &impl NodeSource,
) -> Result<Vec<(NodeId, Hash)>, TreeError> {
    append_batch(size, &[leaf_hash], source)
}

/// Appends `leaf_hashes` to a tree of `size` leaves: returns every perfect node created (about two
/// per leaf), in creation order. Fetch [`nodes_needed_for_append_batch`] first.
pub fn append_batch(
    size: u64,
    leaf_hashes: &[Hash],
    source: &impl NodeSource,
) -> Result<Vec<(NodeId, Hash)>, TreeError> {
    let count = u64::try_from(leaf_hashes.len()).map_err(|_| TreeError::TooLarge)?;
    size.checked_add(count).ok_or(TreeError::TooLarge)?;
    let needed = nodes_needed_for_append_batch(size, count);

    // The frontier: the current perfect subtrees, left to right with decreasing levels. Those that
    // this batch never merges are not fetched.
    let mut stack: Vec<(NodeId, Option<Hash>)> = Vec::with_capacity(65);
    for id in nodes_needed_for_root(size) {
        let hash = if needed.contains(&id) {
            Some(fetch(source, id)?)
        } else {
            None
        };
        stack.push((id, hash));
    }

    let mut created = Vec::with_capacity(leaf_hashes.len() * 2 + 64);
    for (offset, leaf) in (0..).zip(leaf_hashes) {
        let id = NodeId::leaf(size + offset);
        created.push((id, *leaf));
        stack.push((id, Some(*leaf)));
        loop {
            let n = stack.len();
            if n < 2 || stack[n - 1].0.level != stack[n - 2].0.level {
                break;
            }
            let (right_id, right) = stack[n - 1];
            let (left_id, left) = stack[n - 2];
            stack.truncate(n - 2);
            let left = left.ok_or(TreeError::MissingNode(left_id))?;
            let right = right.ok_or(TreeError::MissingNode(right_id))?;
            let parent = NodeId::new(left_id.level + 1, left_id.index >> 1);
            let hash = node_hash(&left, &right);
            created.push((parent, hash));
            stack.push((parent, Some(hash)));
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn root_plan_is_the_binary_digits_of_the_size() {
        assert_eq!(nodes_needed_for_root(0), vec![]);
        assert_eq!(
            nodes_needed_for_root(13),
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
    }

    #[test]
    fn append_plan_names_the_left_siblings_completed() {
        assert_eq!(nodes_needed_for_append(0), vec![]);
        assert_eq!(nodes_needed_for_append(6), vec![]);
        assert_eq!(
            nodes_needed_for_append(7),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(
            nodes_needed_for_append_batch(6, 2),
            vec![NodeId::new(2, 0), NodeId::new(1, 2)]
        );
        // Sizes near the top of the range must not overflow.
        assert_eq!(nodes_needed_for_append(u64::MAX).len(), 64);
    }

    #[test]
    fn append_past_u64_max_is_refused() {
        let source = HashMap::new();
        assert_eq!(append(u64::MAX, [0; 32], &source), Err(TreeError::TooLarge));
    }

    #[test]
    fn missing_nodes_are_reported() {
        let source = HashMap::new();
        assert_eq!(
            root(2, &source),
            Err(TreeError::MissingNode(NodeId::new(1, 0)))
        );
        assert_eq!(
            append(1, [0; 32], &source),
            Err(TreeError::MissingNode(NodeId::leaf(0)))
        );
    }

    #[test]
    fn proof_plans_reject_bad_arguments() {
        assert_eq!(
            inclusion_proof_nodes(5, 5),
            Err(TreeError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            consistency_proof_nodes(6, 5),
            Err(TreeError::SizesOutOfOrder { old: 6, new: 5 })
        );
        assert_eq!(consistency_proof_nodes(0, 5), Ok(vec![]));
        assert_eq!(consistency_proof_nodes(5, 5), Ok(vec![]));
    }
}
