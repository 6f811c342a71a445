//! Published RFC 6962 / RFC 9162 Merkle test vectors.
//!
//! Source: transparency-dev/merkle, `testonly/constants.go` (leaf inputs, every perfect-subtree
//! node hash of the 8-leaf tree, the roots of sizes 0 to 8) and `proof/verify_test.go` (inclusion
//! and consistency paths; that file numbers leaves from 1, they are 0-based here). These are the
//! same vectors as certificate-transparency-go's `merkle` tests.

use std::collections::HashMap;

use signet_ledger::{
    Hash, MemoryLog, NodeId, NodeSource, ProofError, TreeError, consistency_proof,
    consistency_proof_nodes, empty_root, inclusion_proof, inclusion_proof_nodes, leaf_hash, root,
    verify_consistency, verify_inclusion,
};

const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// `NODE_HASHES[level][index]`: every perfect subtree of the 8-leaf tree.
const NODE_HASHES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// `ROOTS[n]`: the root of the tree of the first `n` leaves.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, path).
const INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, path).
const CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(text: &str) -> Hash {
    let bytes = hex::decode(text).expect("test vectors are hex");
    Hash::try_from(bytes).expect("test vectors are 32 bytes")
}

fn hashes(texts: &[&str]) -> Vec<Hash> {
    texts.iter().map(|t| h(t)).collect()
}

fn log() -> MemoryLog {
    let mut log = MemoryLog::new();
    for input in LEAF_INPUTS {
        log.append(&hex::decode(input).expect("test vectors are hex"));
    }
    log
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(empty_root(), h(ROOTS[0]));
    assert_eq!(MemoryLog::new().root(), h(ROOTS[0]));
}

#[test]
fn stored_nodes_match_every_published_perfect_subtree() {
    let log = log();
    for (level, row) in (0u8..).zip(NODE_HASHES) {
        for (index, expected) in (0u64..).zip(row.iter()) {
            assert_eq!(
                log.node(NodeId::new(level, index)),
                Some(h(expected)),
                "node ({level}, {index})"
            );
        }
    }
    // And no node exists beyond the complete ones.
    assert_eq!(log.node(NodeId::new(4, 0)), None);
    assert_eq!(log.node(NodeId::leaf(8)), None);
}

#[test]
fn roots_of_every_prefix_match() {
    let log = log();
    for (size, expected) in (0u64..).zip(ROOTS) {
        assert_eq!(log.root_at(size), Ok(h(expected)), "size {size}");
    }
    // Growing leaf by leaf gives the same roots as reading old prefixes.
    let mut growing = MemoryLog::new();
    for (i, input) in LEAF_INPUTS.iter().enumerate() {
        growing.append(&hex::decode(input).expect("test vectors are hex"));
        assert_eq!(growing.root(), h(ROOTS[i + 1]));
    }
}

#[test]
fn leaf_hashes_match() {
    for (input, expected) in LEAF_INPUTS.iter().zip(NODE_HASHES[0]) {
        assert_eq!(leaf_hash(&hex::decode(input).expect("hex")), h(expected));
    }
}

#[test]
fn inclusion_proofs_match_and_verify() {
    let log = log();
    for &(index, size, path) in INCLUSION {
        let expected = hashes(path);
        assert_eq!(
            log.inclusion_proof(index, size),
            Ok(expected.clone()),
            "inclusion {index} in {size}"
        );
        let leaf = h(NODE_HASHES[0][index as usize]);
        let root = h(ROOTS[size as usize]);
        assert_eq!(
            verify_inclusion(&leaf, index, size, &expected, &root),
            Ok(())
        );
    }
}

#[test]
fn consistency_proofs_match_and_verify() {
    let log = log();
    for &(old, new, path) in CONSISTENCY {
        let expected = hashes(path);
        assert_eq!(
            log.consistency_proof(old, new),
            Ok(expected.clone()),
            "consistency {old} to {new}"
        );
        let (old_root, new_root) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
        assert_eq!(
            verify_consistency(old, new, &old_root, &new_root, &expected),
            Ok(())
        );
    }
}

/// The plan/assemble split: the plan names exactly the nodes the assembly reads.
#[test]
fn proofs_assemble_from_exactly_the_planned_nodes() {
    let log = log();
    let fetch = |ids: Vec<NodeId>| -> HashMap<NodeId, Hash> {
        ids.into_iter()
            .map(|id| (id, log.node(id).expect("planned node exists")))
            .collect()
    };
    for &(index, size, path) in INCLUSION {
        let fetched = fetch(inclusion_proof_nodes(index, size).expect("valid"));
        assert_eq!(inclusion_proof(index, size, &fetched), Ok(hashes(path)));
    }
    for &(old, new, path) in CONSISTENCY {
        let fetched = fetch(consistency_proof_nodes(old, new).expect("valid"));
        assert_eq!(consistency_proof(old, new, &fetched), Ok(hashes(path)));
    }
    let fetched = fetch(signet_ledger::nodes_needed_for_root(7));
    assert_eq!(fetched.len(), 3);
    assert_eq!(root(7, &fetched), Ok(h(ROOTS[7])));
    // One node short and the assembly says which one.
    let mut short = fetched.clone();
    short.remove(&NodeId::leaf(6));
    assert_eq!(
        root(7, &short),
        Err(TreeError::MissingNode(NodeId::leaf(6)))
    );
}

/// The corruptions transparency-dev/merkle's `verify_test.go` applies to each good proof.
#[test]
fn corrupted_inclusion_proofs_fail() {
    let some_hash = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    for &(index, size, path) in INCLUSION {
        let proof = hashes(path);
        let leaf = h(NODE_HASHES[0][index as usize]);
        let root = h(ROOTS[size as usize]);
        let bad = |i: u64, n: u64, leaf: &Hash, proof: &[Hash], root: &Hash| {
            verify_inclusion(leaf, i, n, proof, root).is_err()
        };
        assert!(bad(index.wrapping_sub(1), size, &leaf, &proof, &root));
        assert!(bad(index + 1, size, &leaf, &proof, &root));
        assert!(bad(index ^ 2, size, &leaf, &proof, &root));
        assert!(bad(index, size * 2, &leaf, &proof, &root));
        assert!(bad(index, size / 2, &leaf, &proof, &root));
        assert!(bad(index, size, &some_hash, &proof, &root));
        assert!(bad(index, size, &leaf, &proof, &empty_root()));
        assert!(bad(index, size, &leaf, &proof, &some_hash));
        let mut longer = proof.clone();
        longer.push(root);
        assert!(bad(index, size, &leaf, &longer, &root));
        let mut longer = vec![root];
        longer.extend_from_slice(&proof);
        assert!(bad(index, size, &leaf, &longer, &root));
        for i in 0..proof.len() {
            let mut flipped = proof.clone();
            flipped[i][0] ^= 8;
            assert!(bad(index, size, &leaf, &flipped, &root));
        }
        if !proof.is_empty() {
            assert!(bad(index, size, &leaf, &proof[..proof.len() - 1], &root));
        }
        if proof.len() > 1 {
            let mut inserted = vec![proof[0], some_hash];
            inserted.extend_from_slice(&proof[1..]);
            assert!(bad(index, size, &leaf, &inserted, &root));
        }
    }
}

#[test]
fn corrupted_consistency_proofs_fail() {
    for &(old, new, path) in CONSISTENCY {
        let proof = hashes(path);
        if proof.is_empty() {
            continue;
        }
        let (r1, r2) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
        let bad = |m: u64, n: u64, r1: &Hash, r2: &Hash, p: &[Hash]| {
            verify_consistency(m, n, r1, r2, p).is_err()
        };
        assert!(bad(old - 1, new, &r1, &r2, &proof));
        assert!(bad(old + 1, new, &r1, &r2, &proof));
        assert!(bad(old ^ 2, new, &r1, &r2, &proof));
        assert!(bad(old, new * 2, &r1, &r2, &proof));
        assert!(bad(old, new / 2, &r1, &r2, &proof));
        assert!(bad(old, new, &empty_root(), &r2, &proof));
        assert!(bad(old, new, &r1, &empty_root(), &proof));
        assert!(bad(old, new, &r2, &r1, &proof));
        assert!(bad(old, new, &r1, &r2, &[]));
        for extra in [r1, r2] {
            let mut longer = proof.clone();
            longer.push(extra);
            assert!(bad(old, new, &r1, &r2, &longer));
        }
        for extra in [r1, r2, proof[0]] {
            let mut longer = vec![extra];
            longer.extend_from_slice(&proof);
            assert!(bad(old, new, &r1, &r2, &longer));
        }
        assert!(bad(old, new, &r1, &r2, &proof[..proof.len() - 1]));
        for i in 0..proof.len() {
            let mut flipped = proof.clone();
            flipped[i][0] ^= 16;
            assert!(bad(old, new, &r1, &r2, &flipped));
        }
    }
}

/// The edge cases of `verify_test.go`'s `TestVerifyConsistency` and `TestVerifyInclusion`.
#[test]
fn consistency_and_inclusion_edge_cases() {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert_eq!(verify_consistency(1, 1, &a, &a, &[]), Ok(()));
    assert_eq!(
        verify_consistency(1, 1, &a, &b, &[]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(verify_consistency(0, 1, &empty_root(), &b, &[]), Ok(()));
    assert_eq!(
        verify_consistency(0, 0, &empty_root(), &empty_root(), &[]),
        Ok(())
    );
    assert!(verify_consistency(1, 0, &a, &b, &[]).is_err());
    assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
    assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
    assert!(verify_consistency(1, 1, &a, &a, &[empty_root()]).is_err());
    assert!(verify_consistency(0, 1, &empty_root(), &a, &[empty_root()]).is_err());
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert!(verify_inclusion(&a, index, size, &[], &a).is_err());
    }
    // A one-leaf tree's root is its leaf hash and its proofs are empty.
    let leaf = leaf_hash(b"data");
    assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
    assert!(verify_inclusion(&leaf, 0, 1, &[], &a).is_err());
}
