-- Times are UTC microseconds since the Unix epoch; digests are lower-case hex.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    features TEXT NOT NULL,
    max_envelope_bytes INTEGER NOT NULL,
    self_send INTEGER NOT NULL,
    api_key_sealed BLOB NOT NULL,
    -- The webhook endpoint and its sealed signing secrets, JSON.
    webhook TEXT,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE token_ids (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    token_id TEXT NOT NULL,
    valid_until INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token_id)
) STRICT;
CREATE INDEX token_ids_valid_until ON token_ids(valid_until);

CREATE TABLE envelopes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    sender_language TEXT NOT NULL,
    participant_language TEXT NOT NULL,
    link_expiration_days INTEGER NOT NULL,
    link_reusable INTEGER NOT NULL,
    notify_events INTEGER NOT NULL,
    secret_question TEXT,
    created_at INTEGER NOT NULL,
    upload_deadline INTEGER NOT NULL,
    confirmed_at INTEGER,
    expires_at INTEGER,
    closed_at INTEGER
) STRICT;
CREATE INDEX envelopes_tenant ON envelopes(tenant_id, created_at);
CREATE INDEX envelopes_state_expiry ON envelopes(state, expires_at);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES envelopes(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    blob_key TEXT,
    size INTEGER,
    sha256 TEXT,
    sha3_256 TEXT,
    content_type TEXT,
    stored_at INTEGER,
    derived_from TEXT REFERENCES documents(id)
) STRICT;
CREATE INDEX documents_envelope ON documents(envelope_id, position);
CREATE INDEX documents_sha256 ON documents(tenant_id, sha256);
CREATE INDEX documents_sha3 ON documents(tenant_id, sha3_256);

CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES envelopes(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sequence INTEGER NOT NULL,
    role TEXT NOT NULL,
    email TEXT NOT NULL,
    phone_e164 TEXT,
    phone_country TEXT,
    phone_national TEXT,
    auth TEXT NOT NULL,
    secret_answer_hash TEXT,
    authenticated_at INTEGER,
    completed_at INTEGER,
    position INTEGER NOT NULL
) STRICT;
CREATE INDEX participants_envelope ON participants(envelope_id, position);

CREATE TABLE access_links (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES envelopes(id),
    participant_id TEXT NOT NULL REFERENCES participants(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE contacts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    language TEXT NOT NULL,
    cell_e164 TEXT,
    cell_country TEXT,
    cell_national TEXT,
    cell_method TEXT,
    secret_question TEXT,
    secret_ref TEXT,
    secret_hash TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, email)
) STRICT;
CREATE UNIQUE INDEX contacts_secret_ref ON contacts(tenant_id, secret_ref);

-- Every event, in the order the transparency log sequences them: `seq` is the leaf index.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    envelope_id TEXT,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    record TEXT NOT NULL,
    leaf_hash TEXT NOT NULL
) STRICT;
CREATE INDEX events_envelope ON events(tenant_id, envelope_id, seq);
CREATE INDEX events_leaf_hash ON events(leaf_hash);

-- One row: how many leaves the log has. Taking its row lock orders event appends.
CREATE TABLE ledger_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
) STRICT;
INSERT INTO ledger_state (id, size) VALUES (1, 0);

-- The transparency log's perfect-subtree nodes (level 0 = leaf hashes), written in the same
-- transaction as the events they cover, so proofs never need to rehash the log.
CREATE TABLE ledger_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT;

-- Signed tree heads (C2SP checkpoints), one per published size.
CREATE TABLE ledger_heads (
    tree_size INTEGER PRIMARY KEY,
    root_hash TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Instance keys (transparency log, PKI), sealed under the master key, shared by every node.
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Durable jobs, written in the transaction of the change that causes them.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    state TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    lease_until INTEGER,
    worker TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
) STRICT;
CREATE INDEX jobs_due ON jobs(state, run_at);
