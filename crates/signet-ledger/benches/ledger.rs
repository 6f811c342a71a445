//! Throughput of the ledger at scale: appends into a `MemoryLog` up to 10 million leaves, then
//! inclusion and consistency proofs (generation and verification) at that size.
//!
//! Run with `cargo bench -p signet-ledger`. `SIGNET_LEDGER_BENCH_LEAVES` and
//! `SIGNET_LEDGER_BENCH_PROOFS` change the tree size and the number of proofs.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use signet_ledger::{
    Hash, MemoryLog, NodeSource, consistency_proof, consistency_proof_nodes, inclusion_proof,
    inclusion_proof_nodes, leaf_hash, verify_consistency, verify_inclusion,
};

/// SplitMix64: reproducible indices without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn per_op(total: Duration, count: u64) -> String {
    format!("{:.2} µs", total.as_secs_f64() * 1e6 / count as f64)
}

fn main() {
    let leaves = env_u64("SIGNET_LEDGER_BENCH_LEAVES", 10_000_000);
    let proofs = env_u64("SIGNET_LEDGER_BENCH_PROOFS", 10_000);
    println!("signet-ledger benchmark: {leaves} leaves, {proofs} proofs of each kind");

    // Appends, one leaf at a time (leaf hashing included), reporting as the tree grows.
    let mut log = MemoryLog::new();
    let start = Instant::now();
    let mut checkpoint = 1_000_000.min(leaves);
    for i in 0..leaves {
        log.append(&i.to_le_bytes());
        if i + 1 == checkpoint {
            let elapsed = start.elapsed();
            println!(
                "append one by one: {:>9} leaves in {:>7.2} s = {:>10.0} leaves/s",
                i + 1,
                elapsed.as_secs_f64(),
                (i + 1) as f64 / elapsed.as_secs_f64()
            );
            checkpoint = (checkpoint * 2).min(leaves);
        }
    }
    let root = log.root();

    // Batched appends of pre-hashed leaves (1000 per batch), as a store would do per transaction.
    let batch_leaves = leaves.min(2_000_000);
    let hashes: Vec<Hash> = (0..batch_leaves)
        .map(|i| leaf_hash(&i.to_le_bytes()))
        .collect();
    let mut batched = MemoryLog::new();
    let start = Instant::now();
    for chunk in hashes.chunks(1000) {
        batched.append_leaf_hashes(chunk);
    }
    let elapsed = start.elapsed();
    println!(
        "append in batches of 1000 (leaf hashes given): {batch_leaves} leaves in {:.2} s = {:.0} leaves/s",
        elapsed.as_secs_f64(),
        batch_leaves as f64 / elapsed.as_secs_f64()
    );
    drop(hashes);
    drop(batched);

    // Inclusion proofs at full size: generation from the log, then verification.
    let mut rng = Rng(42);
    let (mut generate, mut verify, mut hashes_total) = (Duration::ZERO, Duration::ZERO, 0);
    for _ in 0..proofs {
        let index = rng.below(leaves);
        let t = Instant::now();
        let proof = log
            .inclusion_proof(index, leaves)
            .expect("index is in the log");
        generate += t.elapsed();
        let leaf = log
            .node(signet_ledger::NodeId::leaf(index))
            .expect("leaf is stored");
        let t = Instant::now();
        verify_inclusion(&leaf, index, leaves, &proof, &root).expect("proof verifies");
        verify += t.elapsed();
        hashes_total += proof.len();
    }
    println!(
        "inclusion proof at {leaves}: generate {}, verify {}, {:.1} hashes per proof",
        per_op(generate, proofs),
        per_op(verify, proofs),
        hashes_total as f64 / proofs as f64
    );

    // The same through the sans-IO path: plan, copy the planned nodes into a map (the "query"),
    // assemble from the map.
    let mut rng = Rng(43);
    let (mut total, mut nodes_total) = (Duration::ZERO, 0);
    for _ in 0..proofs {
        let index = rng.below(leaves);
        let t = Instant::now();
        let plan = inclusion_proof_nodes(index, leaves).expect("index is in the log");
        let fetched: HashMap<_, _> = plan
            .iter()
            .map(|&id| (id, log.node(id).expect("planned node is stored")))
            .collect();
        let proof = inclusion_proof(index, leaves, &fetched).expect("planned nodes suffice");
        total += t.elapsed();
        nodes_total += plan.len();
        black_box(proof);
    }
    println!(
        "inclusion proof via plan + fetched map: {} per proof, {:.1} stored nodes per proof",
        per_op(total, proofs),
        nodes_total as f64 / proofs as f64
    );

    // Consistency proofs from a random older size to the full size.
    let mut rng = Rng(44);
    let (mut generate, mut verify, mut roots, mut nodes_total) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0);
    for _ in 0..proofs {
        let old = 1 + rng.below(leaves - 1);
        let t = Instant::now();
        let old_root = log.root_at(old).expect("old size is in the log");
        roots += t.elapsed();
        let t = Instant::now();
        let proof = consistency_proof(old, leaves, &log).expect("sizes are in the log");
        generate += t.elapsed();
        nodes_total += consistency_proof_nodes(old, leaves)
            .expect("old <= new")
            .len();
        let t = Instant::now();
        verify_consistency(old, leaves, &old_root, &root, &proof).expect("proof verifies");
        verify += t.elapsed();
    }
    println!(
        "consistency proof to {leaves}: generate {}, verify {}, old root {}, {:.1} stored nodes per proof",
        per_op(generate, proofs),
        per_op(verify, proofs),
        per_op(roots, proofs),
        nodes_total as f64 / proofs as f64
    );
}
