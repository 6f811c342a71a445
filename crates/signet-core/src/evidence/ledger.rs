//! The transparency log as a service: signed tree heads (C2SP checkpoints), proofs from stored
//! nodes, the public leaf list, the full offline recomputation behind `signet ledger verify`, and
//! the lookup of a document's evidence by its hash.
//!
//! The log's Ed25519 note key is made once per instance, sealed under the master key and kept in
//! the store, so that every server process sharing the database signs with the same key. Its
//! name is the log's origin, fixed at creation.

use std::collections::HashMap;

use signet_ledger::{Checkpoint, Hash, NoteSigner, NoteVerifier};

use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, EnvelopeId};
use crate::model::{DocumentContent, Event};
use crate::service::{Caller, Core};
use crate::store::StoredTreeHead;
use crate::values::{Sha3Digest, Sha256Digest};

const LEDGER_KEY: &str = "ledger-note-key";
/// The most leaves one `leaves` call returns.
pub const MAX_LEAVES_PER_CALL: u64 = 1000;

/// Proof that a leaf is in the tree of a given size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InclusionProof {
    /// The leaf's index.
    pub leaf_index: u64,
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// Sibling hashes, leaf to root.
    pub proof: Vec<Hash>,
}

/// One event of a document's history, with its proof.
#[derive(Debug, Clone)]
pub struct ProvenEvent {
    /// The event record.
    pub event: Event,
    /// Its leaf hash (the public `transaction_hash`).
    pub leaf_hash: Hash,
    /// Its inclusion proof in the checkpoint's tree.
    pub proof: InclusionProof,
}

/// What Signet knows about a document found by its hash.
#[derive(Debug, Clone)]
pub struct DocumentEvidence {
    /// The envelope.
    pub envelope_id: EnvelopeId,
    /// The document.
    pub document_id: DocumentId,
    /// Its name.
    pub name: String,
    /// SHA-256 of its content.
    pub sha256: Option<Sha256Digest>,
    /// SHA3-256 of its content.
    pub sha3_256: Option<Sha3Digest>,
    /// Its hash chain: this document's SHA-256, then its predecessors' back to the original.
    pub hash_chain: Vec<Sha256Digest>,
    /// The envelope's events touching this document or the envelope as a whole.
    pub events: Vec<ProvenEvent>,
}

/// The result of recomputing the whole log.
#[derive(Debug, Clone)]
pub struct LedgerVerification {
    /// Leaves checked.
    pub leaves: u64,
    /// The head checked against.
    pub head: Option<StoredTreeHead>,
    /// The recomputed root at the head's size.
    pub recomputed_root: Option<Hash>,
}

/// Parses the key name out of a signer key string (`PRIVATE+KEY+<name>+<id>+<key>`).
fn key_origin(signer_key: &str) -> Option<String> {
    signer_key
        .strip_prefix("PRIVATE+KEY+")?
        .split('+')
        .next()
        .map(str::to_owned)
}

impl Core {
    /// A plaintext instance secret, sealed under the master key in the store; `make` creates it
    /// when it does not exist yet. When several processes race, all get the one stored first.
    pub async fn instance_secret_or_create<F>(&self, name: &str, make: F) -> CoreResult<Vec<u8>>
    where
        F: FnOnce() -> anyhow::Result<Vec<u8>> + Send,
    {
        let sealed = match self.store().instance_secret(name).await? {
            Some(sealed) => sealed,
            None => {
                let fresh = self.master().seal(name, &make()?);
                self.store()
                    .insert_instance_secret(name, &fresh, self.now())
                    .await?
            }
        };
        Ok(self.master().open(name, &sealed).map_err(|_| {
            anyhow::anyhow!("instance secret {name} does not open with this master key")
        })?)
    }

    /// A plaintext instance secret, if one is stored under `name`.
    pub async fn instance_secret(&self, name: &str) -> CoreResult<Option<Vec<u8>>> {
        let Some(sealed) = self.store().instance_secret(name).await? else {
            return Ok(None);
        };
        let plain = self.master().open(name, &sealed).map_err(|_| {
            anyhow::anyhow!("instance secret {name} does not open with this master key")
        })?;
        Ok(Some(plain))
    }

    /// Stores (or replaces) a plaintext instance secret, sealed under the master key.
    pub async fn set_instance_secret(&self, name: &str, plain: &[u8]) -> CoreResult<()> {
        let sealed = self.master().seal(name, plain);
        Ok(self
            .store()
            .replace_instance_secret(name, &sealed, self.now())
            .await?)
    }

    /// The log's note signer, created on first use.
    pub async fn ledger_signer(&self) -> CoreResult<NoteSignerHandle> {
        let host = self
            .settings()
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split('/')
            .next()
            .unwrap_or("localhost")
            .to_owned();
        let text = self
            .instance_secret_or_create(LEDGER_KEY, || {
                let origin = format!("{host}/signet-ledger");
                let signer = NoteSigner::generate(&origin)
                    .map_err(|e| anyhow::anyhow!("ledger key: {e}"))?;
                Ok(signer.signer_key_string().into_bytes())
            })
            .await?;
        self.open_signer(text)
    }

    fn open_signer(&self, text: Vec<u8>) -> CoreResult<NoteSignerHandle> {
        let text =
            String::from_utf8(text).map_err(|_| anyhow::anyhow!("ledger key is not UTF-8"))?;
        let origin = key_origin(&text).ok_or_else(|| anyhow::anyhow!("malformed ledger key"))?;
        let signer = NoteSigner::from_signer_key_string(&text)
            .map_err(|e| anyhow::anyhow!("ledger key: {e}"))?;
        Ok(NoteSignerHandle { signer, origin })
    }

    /// The root of the tree of `size` leaves, from stored nodes.
    pub async fn ledger_root(&self, size: u64) -> CoreResult<Hash> {
        let needed = signet_ledger::nodes_needed_for_root(size);
        let nodes = self.store().ledger_nodes(&needed).await?;
        signet_ledger::root(size, &nodes)
            .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("ledger root: {e}")))
    }

    /// The latest signed tree head, signing a new one if the log grew since the last.
    pub async fn checkpoint(&self) -> CoreResult<StoredTreeHead> {
        let size = self.store().ledger_size().await?;
        if let Some(head) = self.store().latest_tree_head().await?
            && head.tree_size >= size
        {
            return Ok(head);
        }
        let root = self.ledger_root(size).await?;
        let handle = self.ledger_signer().await?;
        let checkpoint = Checkpoint::new(handle.origin.clone(), size, root);
        let note = handle
            .signer
            .sign_checkpoint(&checkpoint)
            .map_err(|e| anyhow::anyhow!("signing the checkpoint: {e}"))?;
        let head = StoredTreeHead {
            tree_size: size,
            root_hash: root,
            checkpoint: note,
            created_at: self.now(),
        };
        self.store().insert_tree_head(&head).await?;
        Ok(self.store().latest_tree_head().await?.unwrap_or(head))
    }

    /// The note verifier key (`<name>+<id>+<key>`), for witnesses and offline verifiers.
    pub async fn ledger_verifier_key(&self) -> CoreResult<String> {
        Ok(self.ledger_signer().await?.signer.verifier_key_string())
    }

    /// Leaf hashes `[start, end)`, at most [`MAX_LEAVES_PER_CALL`].
    pub async fn ledger_leaves(&self, start: u64, end: u64) -> CoreResult<Vec<Hash>> {
        let size = self.store().ledger_size().await?;
        if start > end || end > size || end - start > MAX_LEAVES_PER_CALL {
            return Err(CoreError::Invalid(format!(
                "need start <= end <= {size} and at most {MAX_LEAVES_PER_CALL} leaves"
            )));
        }
        Ok(self
            .store()
            .ledger_leaves(start, end)
            .await?
            .into_iter()
            .map(|l| l.leaf_hash)
            .collect())
    }

    fn check_size(&self, tree_size: u64, log_size: u64) -> CoreResult<()> {
        if tree_size == 0 || tree_size > log_size {
            return Err(CoreError::Invalid(format!(
                "tree_size must be 1 to {log_size}"
            )));
        }
        Ok(())
    }

    /// The inclusion proof of the leaf with this hash in the tree of `tree_size` leaves.
    pub async fn inclusion_proof(
        &self,
        leaf_hash: &Hash,
        tree_size: u64,
    ) -> CoreResult<InclusionProof> {
        let log_size = self.store().ledger_size().await?;
        self.check_size(tree_size, log_size)?;
        let index = self
            .store()
            .leaf_index(leaf_hash)
            .await?
            .ok_or(CoreError::NotFound)?;
        if index >= tree_size {
            return Err(CoreError::Invalid(format!(
                "leaf {index} is not in a tree of {tree_size}"
            )));
        }
        self.inclusion_proof_at(index, tree_size).await
    }

    async fn inclusion_proof_at(&self, index: u64, tree_size: u64) -> CoreResult<InclusionProof> {
        let needed = signet_ledger::inclusion_proof_nodes(index, tree_size)
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        let nodes: HashMap<_, _> = self.store().ledger_nodes(&needed).await?;
        let proof = signet_ledger::inclusion_proof(index, tree_size, &nodes)
            .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("inclusion proof: {e}")))?;
        Ok(InclusionProof {
            leaf_index: index,
            tree_size,
            proof,
        })
    }

    /// The consistency proof between trees of `first` and `second` leaves.
    pub async fn consistency_proof(&self, first: u64, second: u64) -> CoreResult<Vec<Hash>> {
        let log_size = self.store().ledger_size().await?;
        self.check_size(second, log_size)?;
        if first > second {
            return Err(CoreError::Invalid("first must not exceed second".into()));
        }
        let needed = signet_ledger::consistency_proof_nodes(first, second)
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        let nodes = self.store().ledger_nodes(&needed).await?;
        signet_ledger::consistency_proof(first, second, &nodes)
            .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("consistency proof: {e}")))
    }

    /// Recomputes the whole log from the stored event records — record → leaf hash → tree →
    /// root — and checks it against the stored leaves, the stored nodes and the latest signed
    /// tree head's signature and root. Any altered byte in a record, leaf, node or head fails.
    pub async fn verify_ledger(&self) -> CoreResult<LedgerVerification> {
        let size = self.store().ledger_size().await?;
        let mut log = signet_ledger::MemoryLog::new();
        let mut start = 0;
        while start < size {
            let end = (start + 10_000).min(size);
            let records = self.store().ledger_records(start, end).await?;
            if records.len() as u64 != end - start {
                return Err(anyhow::anyhow!("leaves {start}..{end} are missing").into());
            }
            for (expected, (leaf, record)) in (start..).zip(&records) {
                let recomputed = crate::evidence::leaf_hash_of_record(record);
                if leaf.index != expected || recomputed != leaf.leaf_hash {
                    return Err(
                        anyhow::anyhow!("leaf {expected} does not match its event record").into(),
                    );
                }
                log.append_leaf_hash(recomputed);
            }
            start = end;
        }
        // Every stored node must equal the recomputed one, not only those on the root's path:
        // proofs are assembled from all of them.
        let mut level: u8 = 0;
        while level < 64 && (size >> level) > 0 {
            let count = size >> level;
            let mut start = 0;
            while start < count {
                let end = (start + 10_000).min(count);
                let stored = self.store().ledger_level(level, start, end).await?;
                if stored.len() as u64 != end - start {
                    return Err(anyhow::anyhow!("tree nodes missing at level {level}").into());
                }
                for (index, hash) in stored {
                    let expected = signet_ledger::NodeSource::node(
                        &log,
                        signet_ledger::NodeId { level, index },
                    );
                    if expected != Some(hash) {
                        return Err(anyhow::anyhow!(
                            "stored tree node ({level}, {index}) does not match the leaves"
                        )
                        .into());
                    }
                }
                start = end;
            }
            level += 1;
        }
        if size > 0 && log.root() != self.ledger_root(size).await? {
            return Err(anyhow::anyhow!("the stored tree nodes do not match the leaves").into());
        }
        let head = self.store().latest_tree_head().await?;
        let mut recomputed_root = None;
        if let Some(head) = &head {
            let verifier: NoteVerifier = self.ledger_signer().await?.signer.verifier();
            let checkpoint = verifier.open(&head.checkpoint).map_err(|e| {
                anyhow::anyhow!("the latest tree head's signature does not verify: {e}")
            })?;
            let root = log
                .root_at(head.tree_size)
                .map_err(|e| anyhow::anyhow!("tree head beyond the log: {e}"))?;
            if checkpoint.root_hash != root
                || checkpoint.size != head.tree_size
                || head.root_hash != root
            {
                return Err(anyhow::anyhow!(
                    "the latest tree head does not match the recomputed tree"
                )
                .into());
            }
            recomputed_root = Some(root);
        }
        Ok(LedgerVerification {
            leaves: size,
            head,
            recomputed_root,
        })
    }

    /// The caller's documents whose SHA-256 or SHA3-256 is `digest_hex`, with their events, each
    /// with an inclusion proof in the returned tree head.
    pub async fn document_evidence(
        &self,
        caller: &Caller,
        digest_hex: &str,
    ) -> CoreResult<(Vec<DocumentEvidence>, StoredTreeHead)> {
        crate::ports::require_active(&caller.tenant)?;
        let digest: Sha256Digest = digest_hex.parse()?;
        let hex = digest.to_hex();
        // Uploads answer before their SHA3-256 is known (a job records it): a document looked up
        // by it, or shown with it, must not be missed for that, so any still waiting are hashed
        // now, before the checkpoint, which then covers their `document_hashed` events too.
        self.hash_documents_awaiting_sha3(&caller.tenant.id).await?;
        let head = self.checkpoint().await?;
        let mut found = Vec::new();
        for aggregate in self
            .store()
            .envelopes_with_document_hash(&caller.tenant.id, &hex)
            .await?
        {
            let events = self
                .store()
                .envelope_events(&caller.tenant.id, &aggregate.envelope.id)
                .await?;
            let by_id: HashMap<DocumentId, &crate::model::Document> =
                aggregate.documents.iter().map(|d| (d.id, d)).collect();
            for doc in &aggregate.documents {
                let (sha256, sha3_256) = match &doc.content {
                    DocumentContent::Stored(c) => (Some(c.sha256), c.sha3_256),
                    DocumentContent::Deleted { sha256 } => (*sha256, None),
                    _ => (None, None),
                };
                let matches = sha256.is_some_and(|d| d.to_hex() == hex)
                    || sha3_256.is_some_and(|d| d.to_hex() == hex);
                if !matches {
                    continue;
                }
                let mut hash_chain: Vec<Sha256Digest> = sha256.into_iter().collect();
                let mut previous = doc.derived_from;
                while let Some(id) = previous {
                    let Some(parent) = by_id.get(&id) else { break };
                    if let Some(c) = parent.stored() {
                        hash_chain.push(c.sha256);
                    }
                    previous = parent.derived_from;
                }
                let mut proven = Vec::new();
                for event in events
                    .iter()
                    .filter(|e| e.document_id.is_none() || e.document_id == Some(doc.id))
                {
                    let record = serde_json::to_string(event).map_err(|e| anyhow::anyhow!(e))?;
                    let leaf_hash = crate::evidence::leaf_hash_of_record(&record);
                    let Some(index) = self.store().leaf_index(&leaf_hash).await? else {
                        continue;
                    };
                    if index >= head.tree_size {
                        continue;
                    }
                    proven.push(ProvenEvent {
                        event: event.clone(),
                        leaf_hash,
                        proof: self.inclusion_proof_at(index, head.tree_size).await?,
                    });
                }
                found.push(DocumentEvidence {
                    envelope_id: aggregate.envelope.id,
                    document_id: doc.id,
                    name: doc.name.as_str().to_owned(),
                    sha256,
                    sha3_256,
                    hash_chain,
                    events: proven,
                });
            }
        }
        Ok((found, head))
    }
}

/// The log's signer and origin.
pub struct NoteSignerHandle {
    /// The note signer.
    pub signer: NoteSigner,
    /// The log's origin (the checkpoint's first line).
    pub origin: String,
}

impl std::fmt::Debug for NoteSignerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSignerHandle")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}
