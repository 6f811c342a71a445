//! Property tests over random trees, cross-checked against a naive recursive MTH and against
//! `ct-merkle`, an independent RFC 6962 implementation.
//!
//! Trees are grown through the sans-IO API into a `HashMap` standing in for the SQL table, and
//! every proof is assembled from exactly the nodes its plan names.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use proptest::prelude::*;
use sha2_011::Sha256 as CtSha256;
use signet_ledger::{
    Hash, MemoryLog, NodeId, NodeSource, append, append_batch, consistency_proof,
    consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes, leaf_hash, node_hash,
    nodes_needed_for_append, nodes_needed_for_append_batch, nodes_needed_for_root, root,
    verify_consistency, verify_inclusion,
};

type Store = HashMap<NodeId, Hash>;

fn leaf_data(seed: u64, i: u64) -> Vec<u8> {
    let mut data = seed.to_be_bytes().to_vec();
    data.extend_from_slice(&i.to_be_bytes());
    data.truncate(((seed ^ i) % 17) as usize);
    data
}

/// RFC 9162 §2.1.1, literally.
fn naive_mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => signet_ledger::empty_root(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&naive_mth(&leaves[..k]), &naive_mth(&leaves[k..]))
        }
    }
}

/// A node source that records what was read, to check plans against assembly.
struct Recording<'a> {
    store: &'a Store,
    read: RefCell<BTreeSet<NodeId>>,
}

impl NodeSource for Recording<'_> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.read.borrow_mut().insert(id);
        self.store.node(id)
    }
}

/// Only the planned nodes, as one SQL query would return them.
fn fetch(store: &Store, plan: &[NodeId]) -> Store {
    plan.iter()
        .map(|&id| (id, store.node(id).expect("planned node is stored")))
        .collect()
}

/// Grows a store one leaf at a time through `nodes_needed_for_append` + `append`.
fn grow(seed: u64, n: u64) -> (Store, Vec<Hash>) {
    let mut store = Store::new();
    let mut leaves = Vec::new();
    for i in 0..n {
        let leaf = leaf_hash(&leaf_data(seed, i));
        let fetched = fetch(&store, &nodes_needed_for_append(i));
        for (id, hash) in append(i, leaf, &fetched).expect("planned nodes suffice") {
            assert!(
                store.insert(id, hash).is_none(),
                "node {id:?} created twice"
            );
        }
        leaves.push(leaf);
    }
    (store, leaves)
}

fn ct_tree(seed: u64, n: u64) -> MemoryBackedTree<CtSha256, Vec<u8>> {
    let mut tree = MemoryBackedTree::new();
    for i in 0..n {
        tree.push(leaf_data(seed, i));
    }
    tree
}

fn flip_each_byte(hash: &Hash) -> impl Iterator<Item = Hash> + '_ {
    (0..32).map(move |i| {
        let mut h = *hash;
        h[i] ^= 0x01;
        h
    })
}

#[test]
fn naive_mth_matches_the_split_rule() {
    // Sizes where the split k is the largest power of two strictly below n.
    let leaves: Vec<Hash> = (0..5u8).map(|i| leaf_hash(&[i])).collect();
    let expected = node_hash(
        &node_hash(
            &node_hash(&leaves[0], &leaves[1]),
            &node_hash(&leaves[2], &leaves[3]),
        ),
        &leaves[4],
    );
    assert_eq!(naive_mth(&leaves), expected);
    assert_eq!(
        naive_mth(&leaves[..4]),
        node_hash(
            &node_hash(&leaves[0], &leaves[1]),
            &node_hash(&leaves[2], &leaves[3])
        )
    );
}

/// Every proof of every small tree, exhaustively.
#[test]
fn every_proof_of_small_trees_verifies() {
    let (store, leaves) = grow(1, 70);
    for n in 0..=70u64 {
        let root_n = root(n, &store).expect("stored");
        assert_eq!(root_n, naive_mth(&leaves[..n as usize]), "root {n}");
        for i in 0..n {
            let proof = inclusion_proof(i, n, &store).expect("stored");
            assert_eq!(
                verify_inclusion(&leaves[i as usize], i, n, &proof, &root_n),
                Ok(())
            );
        }
        for m in 0..=n {
            let root_m = root(m, &store).expect("stored");
            let proof = consistency_proof(m, n, &store).expect("stored");
            assert_eq!(
                verify_consistency(m, n, &root_m, &root_n, &proof),
                Ok(()),
                "{m}->{n}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn roots_match_naive_mth_and_ct_merkle(seed: u64, n in 0u64..3000, m_frac in 0.0f64..=1.0) {
        let (store, leaves) = grow(seed, n);
        let m = (n as f64 * m_frac) as u64;
        for size in [m, n] {
            let plan = nodes_needed_for_root(size);
            let got = root(size, &fetch(&store, &plan)).expect("planned nodes suffice");
            prop_assert_eq!(got, naive_mth(&leaves[..size as usize]));
            let ct_root = ct_tree(seed, size).root();
            prop_assert_eq!(&got[..], ct_root.as_bytes().as_slice());
        }
        // MemoryLog agrees with the store.
        let mut log = MemoryLog::new();
        for i in 0..n {
            log.append(&leaf_data(seed, i));
        }
        prop_assert_eq!(log.root(), naive_mth(&leaves));
    }

    #[test]
    fn inclusion_proofs_verify_and_resist_tampering(
        seed: u64, n in 1u64..3000, i_frac in 0.0f64..1.0,
    ) {
        let (store, leaves) = grow(seed, n);
        let i = ((n as f64 * i_frac) as u64).min(n - 1);
        let root_n = naive_mth(&leaves);
        let plan = inclusion_proof_nodes(i, n).expect("i < n");
        let recording = Recording { store: &fetch(&store, &plan), read: RefCell::default() };
        let proof = inclusion_proof(i, n, &recording).expect("planned nodes suffice");
        prop_assert_eq!(recording.read.into_inner(), plan.iter().copied().collect::<BTreeSet<_>>());

        let ct_proof = ct_tree(seed, n).prove_inclusion(i as usize);
        prop_assert_eq!(proof.concat(), ct_proof.as_bytes().to_vec());

        let leaf = leaves[i as usize];
        prop_assert_eq!(verify_inclusion(&leaf, i, n, &proof, &root_n), Ok(()));
        for bad_leaf in flip_each_byte(&leaf) {
            prop_assert!(verify_inclusion(&bad_leaf, i, n, &proof, &root_n).is_err());
        }
        for bad_root in flip_each_byte(&root_n) {
            prop_assert!(verify_inclusion(&leaf, i, n, &proof, &bad_root).is_err());
        }
        for k in 0..proof.len() {
            for bad in flip_each_byte(&proof[k]) {
                let mut tampered = proof.clone();
                tampered[k] = bad;
                prop_assert!(verify_inclusion(&leaf, i, n, &tampered, &root_n).is_err());
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_and_resist_tampering(
        seed: u64, n in 1u64..3000, m_frac in 0.0f64..=1.0,
    ) {
        let (store, leaves) = grow(seed, n);
        let m = (n as f64 * m_frac) as u64;
        let (root_m, root_n) = (naive_mth(&leaves[..m as usize]), naive_mth(&leaves));
        let plan = consistency_proof_nodes(m, n).expect("m <= n");
        let recording = Recording { store: &fetch(&store, &plan), read: RefCell::default() };
        let proof = consistency_proof(m, n, &recording).expect("planned nodes suffice");
        prop_assert_eq!(recording.read.into_inner(), plan.iter().copied().collect::<BTreeSet<_>>());

        if m > 0 {
            let ct_proof = ct_tree(seed, n).prove_consistency((n - m) as usize);
            prop_assert_eq!(proof.concat(), ct_proof.as_bytes().to_vec());
        }

        prop_assert_eq!(verify_consistency(m, n, &root_m, &root_n, &proof), Ok(()));
        for bad_root in flip_each_byte(&root_m) {
            prop_assert!(verify_consistency(m, n, &bad_root, &root_n, &proof).is_err());
        }
        // With m = 0 there is nothing to prove about the new root.
        if m > 0 {
            for bad_root in flip_each_byte(&root_n) {
                prop_assert!(verify_consistency(m, n, &root_m, &bad_root, &proof).is_err());
            }
        }
        for k in 0..proof.len() {
            for bad in flip_each_byte(&proof[k]) {
                let mut tampered = proof.clone();
                tampered[k] = bad;
                prop_assert!(verify_consistency(m, n, &root_m, &root_n, &tampered).is_err());
            }
        }
        // (Other claimed sizes are not asserted to fail: as RFC 9162 allows, one proof can fit
        // several size pairs: the 1→3 proof and root also pass as a 1→4 claim.)
    }

    #[test]
    fn batch_appends_create_the_same_nodes_as_single_appends(
        seed: u64, batches in proptest::collection::vec(0u64..300, 1..12),
    ) {
        let total: u64 = batches.iter().sum();
        let (single, leaves) = grow(seed, total);
        let mut batched = Store::new();
        let mut size = 0u64;
        for count in batches {
            let plan = nodes_needed_for_append_batch(size, count);
            let recording = Recording { store: &fetch(&batched, &plan), read: RefCell::default() };
            let created = append_batch(size, &leaves[size as usize..(size + count) as usize], &recording)
                .expect("planned nodes suffice");
            prop_assert_eq!(recording.read.into_inner(), plan.iter().copied().collect::<BTreeSet<_>>());
            for (id, hash) in created {
                prop_assert!(batched.insert(id, hash).is_none());
            }
            size += count;
        }
        prop_assert_eq!(batched, single);
    }
}
