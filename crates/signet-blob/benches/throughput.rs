//! Put and get throughput of the blob store on a local directory.
//!
//! ```text
//! cargo bench -p signet-blob --bench throughput
//! SIGNET_BENCH_MIB=1024 SIGNET_BENCH_DIR=$PWD/target cargo bench -p signet-blob --bench throughput
//! ```
//!
//! `SIGNET_BENCH_MIB` sets the body size (default 256 MiB), `SIGNET_BENCH_RUNS` the number of
//! put/get rounds (default 3), `SIGNET_BENCH_DIR` the directory the blob is written under
//! (default: a temporary directory; give an absolute path, as benches run in the crate
//! directory). The body arrives in 64 KiB pieces, as from an HTTP server. Peak resident memory is
//! printed too, since `put` must not grow with size; so are CPU time and time spent waiting for a
//! CPU, since other work on a small machine changes the figures a lot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use rand::RngCore;
use signet_blob::ObjectBlobStore;
use signet_core::blob::{BlobKey, BlobStore};
use signet_core::crypto::MasterKey;

const PIECE: usize = 64 * 1024;

fn main() {
    let mib: usize = std::env::var("SIGNET_BENCH_MIB")
        .ok()
        .map(|v| {
            v.parse()
                .expect("SIGNET_BENCH_MIB must be a whole number of MiB")
        })
        .unwrap_or(256);
    let base = std::env::var_os("SIGNET_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = match &base {
        Some(base) => tempfile::tempdir_in(base),
        None => tempfile::tempdir(),
    }
    .expect("creating the benchmark directory");
    let runs: usize = std::env::var("SIGNET_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Runtime::new().expect("starting tokio");
    println!("signet-blob throughput, local directory, {mib} MiB body, {runs} runs");
    let store = ObjectBlobStore::local(dir.path(), MasterKey::generate()).unwrap();
    for _ in 0..runs {
        runtime.block_on(run(mib, &store));
    }
    components();
}

/// A body of `mib` MiB: one random megabyte repeated, in 64 KiB pieces.
fn body_of(
    mib: usize,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut block = vec![0u8; 1024 * 1024];
    rand::rng().fill_bytes(&mut block);
    let block = Bytes::from(block);
    let pieces = mib * 1024 * 1024 / PIECE;
    futures::stream::iter((0..pieces).map(move |i| {
        let offset = (i * PIECE) % block.len();
        Ok(block.slice(offset..offset + PIECE))
    }))
}

async fn run(mib: usize, store: &ObjectBlobStore) {
    let size = mib * 1024 * 1024;
    // One random megabyte repeated: producing the body costs nothing, and chunks still differ
    // after encryption. Only pieces of it are ever alive at once.
    let mut block = vec![0u8; 1024 * 1024];
    rand::rng().fill_bytes(&mut block);
    let block = Bytes::from(block);
    let pieces = size / PIECE;
    let body = futures::stream::iter((0..pieces).map(move |i| {
        let offset = (i * PIECE) % block.len();
        Ok(block.slice(offset..offset + PIECE))
    }));

    let rss_before = peak_rss_kib();
    let key = BlobKey::random();
    let (cpu, waited) = (cpu_secs(), runqueue_wait_secs());
    let start = Instant::now();
    let stored = store.put(&key, Box::pin(body), None).await.unwrap();
    let put_secs = start.elapsed().as_secs_f64();
    let put_cpu = cpu_secs() - cpu;
    let put_waited = runqueue_wait_secs() - waited;
    assert_eq!(stored.size, size as u64);
    let rss_after_put = peak_rss_kib();
    println!(
        "put: {:>8.1} MB/s ({:.2} s, {:.2} s of CPU, {:.2} s runnable but waiting for a CPU)",
        size as f64 / put_secs / 1e6,
        put_secs,
        put_cpu,
        put_waited,
    );

    let (cpu, waited) = (cpu_secs(), runqueue_wait_secs());
    let start = Instant::now();
    let mut stream = store.get(&key).await.unwrap();
    let mut read = 0usize;
    while let Some(chunk) = stream.next().await {
        read += chunk.unwrap().len();
    }
    let get_secs = start.elapsed().as_secs_f64();
    let get_cpu = cpu_secs() - cpu;
    let get_waited = runqueue_wait_secs() - waited;
    assert_eq!(read, size);
    println!(
        "get: {:>8.1} MB/s ({:.2} s, {:.2} s of CPU, {:.2} s runnable but waiting for a CPU)",
        size as f64 / get_secs / 1e6,
        get_secs,
        get_cpu,
        get_waited,
    );
    store.delete(&key).await.unwrap();

    // The same body stored without SHA3-256 on the way, then its SHA3-256 computed by reading
    // the blob back (what a job would do later).
    let (cpu, waited) = (cpu_secs(), runqueue_wait_secs());
    let start = Instant::now();
    let stored = store
        .put_deferring_sha3(&key, Box::pin(body_of(mib)), None)
        .await
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(stored.size, size as u64);
    println!(
        "put without sha3: {:>8.1} MB/s ({:.2} s, {:.2} s of CPU, {:.2} s waiting for a CPU)",
        size as f64 / secs / 1e6,
        secs,
        cpu_secs() - cpu,
        runqueue_wait_secs() - waited,
    );
    let (cpu, waited) = (cpu_secs(), runqueue_wait_secs());
    let start = Instant::now();
    let (read, _) = signet_blob::sha3_256_of(store, &key).await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(read, size as u64);
    println!(
        "sha3 later:       {:>8.1} MB/s ({:.2} s, {:.2} s of CPU, {:.2} s waiting for a CPU)",
        size as f64 / secs / 1e6,
        secs,
        cpu_secs() - cpu,
        runqueue_wait_secs() - waited,
    );
    store.delete(&key).await.unwrap();
    if let (Some(before), Some(after)) = (rss_before, rss_after_put) {
        println!(
            "peak RSS: {:.1} MiB before, {:.1} MiB after put, {:.1} MiB after get",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            peak_rss_kib().unwrap_or(0) as f64 / 1024.0
        );
    }
}

/// Time this process's threads spent runnable but waiting for a CPU, summed over threads (Linux
/// schedstat; 0 elsewhere). High values mean other work on the machine slowed the benchmark.
fn runqueue_wait_secs() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .sum::<f64>()
        / 1e9
}

/// CPU time (user + system) this process has used so far (Linux only; 0 elsewhere).
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // The kernel reports in clock ticks, 100 per second on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Single-thread speed of each step over 64 MiB, so that the pipeline's figures can be judged
/// against what this machine (and whatever else runs on it) allows.
fn components() {
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    use sha2::Digest;
    const LEN: usize = 64 * 1024 * 1024;
    let data = vec![0x5au8; LEN];
    let rate = |start: Instant| LEN as f64 / start.elapsed().as_secs_f64() / 1e6;

    let start = Instant::now();
    let mut h = sha3::Sha3_256::new();
    h.update(&data);
    std::hint::black_box(h.finalize());
    let sha3 = rate(start);

    let start = Instant::now();
    let mut h = sha2::Sha256::new();
    h.update(&data);
    std::hint::black_box(h.finalize());
    let sha256 = rate(start);

    let cipher = chacha20poly1305::XChaCha20Poly1305::new(&[7u8; 32].into());
    let nonce = [1u8; 24].into();
    let mut chunk = Vec::with_capacity(PIECE + 16);
    let start = Instant::now();
    for piece in data.chunks(PIECE) {
        chunk.clear();
        chunk.extend_from_slice(piece);
        cipher.encrypt_in_place(&nonce, b"aad", &mut chunk).unwrap();
    }
    std::hint::black_box(&chunk);
    let aead = rate(start);

    let ring_rate = |algorithm: &'static ring::aead::Algorithm| {
        let key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(algorithm, &[7u8; 32]).unwrap(),
        );
        let mut chunk = vec![0u8; PIECE];
        let start = Instant::now();
        for (i, piece) in data.chunks(PIECE).enumerate() {
            chunk.copy_from_slice(piece);
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let tag = key
                .seal_in_place_separate_tag(
                    ring::aead::Nonce::assume_unique_for_key(nonce),
                    ring::aead::Aad::from(b"aad"),
                    &mut chunk,
                )
                .unwrap();
            let _ = std::hint::black_box(tag);
        }
        std::hint::black_box(&chunk);
        rate(start)
    };
    let ring_aes = ring_rate(&ring::aead::AES_256_GCM);
    let ring_chacha = ring_rate(&ring::aead::CHACHA20_POLY1305);
    println!(
        "one core: sha3-256 {sha3:.0} MB/s, sha-256 {sha256:.0} MB/s, xchacha20-poly1305 \
         {aead:.0} MB/s, ring aes-256-gcm {ring_aes:.0} MB/s, ring chacha20-poly1305 \
         {ring_chacha:.0} MB/s"
    );
}

/// Peak resident set size of this process (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
