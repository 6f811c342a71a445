-- Times are UTC microseconds since the Unix epoch; digests are lower-case hex.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    features TEXT NOT NULL,
    max_envelope_bytes BIGINT NOT NULL,
    self_send BOOLEAN NOT NULL,
    api_key_sealed BYTEA NOT NULL,
    -- The webhook endpoint and its sealed signing secrets, JSON.
    webhook TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE token_ids (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    token_id TEXT NOT NULL,
    valid_until BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_id)
);
CREATE INDEX token_ids_valid_until ON token_ids(valid_until);

CREATE TABLE envelopes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    sender_language TEXT NOT NULL,
    participant_language TEXT NOT NULL,
    link_expiration_days BIGINT NOT NULL,
    link_reusable BOOLEAN NOT NULL,
    notify_events BOOLEAN NOT NULL,
    secret_question TEXT,
    created_at BIGINT NOT NULL,
    upload_deadline BIGINT NOT NULL,
    confirmed_at BIGINT,
    expires_at BIGINT,
    closed_at BIGINT
);
CREATE INDEX envelopes_tenant ON envelopes(tenant_id, created_at);
CREATE INDEX envelopes_state_expiry ON envelopes(state, expires_at);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES envelopes(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    blob_key TEXT,
    size BIGINT,
    sha256 TEXT,
    sha3_256 TEXT,
    content_type TEXT,
    stored_at BIGINT,
    derived_from TEXT REFERENCES documents(id)
);
CREATE INDEX documents_envelope ON documents(envelope_id, position);
CREATE INDEX documents_sha256 ON documents(tenant_id, sha256);
CREATE INDEX documents_sha3 ON documents(tenant_id, sha3_256);

CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES envelopes(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sequence BIGINT NOT NULL,
    role TEXT NOT NULL,
    email TEXT NOT NULL,
    phone_e164 TEXT,
    phone_country TEXT,
    phone_national TEXT,
    auth TEXT NOT NULL,
    secret_answer_hash TEXT,
    authenticated_at BIGINT,
    completed_at BIGINT,
    position BIGINT NOT NULL
);
CREATE INDEX participants_envelope ON participants(envelope_id, position);

CREATE TABLE access_links (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES envelopes(id),
    participant_id TEXT NOT NULL REFERENCES participants(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

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
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, email)
);
CREATE UNIQUE INDEX contacts_secret_ref ON contacts(tenant_id, secret_ref);

-- Every event, in the order the transparency log sequences them: `seq` is the leaf index.
CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    envelope_id TEXT,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    record TEXT NOT NULL,
    leaf_hash TEXT NOT NULL
);
CREATE INDEX events_envelope ON events(tenant_id, envelope_id, seq);
CREATE INDEX events_leaf_hash ON events(leaf_hash);

-- One row: how many leaves the log has. Taking its row lock orders event appends.
CREATE TABLE ledger_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO ledger_state (id, size) VALUES (1, 0);

-- The transparency log's perfect-subtree nodes (level 0 = leaf hashes), written in the same
-- transaction as the events they cover, so proofs never need to rehash the log.
CREATE TABLE ledger_nodes (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed tree heads (C2SP checkpoints), one per published size.
CREATE TABLE ledger_heads (
    tree_size BIGINT PRIMARY KEY,
    root_hash TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Instance keys (transparency log, PKI), sealed under the master key, shared by every node.
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Durable jobs, written in the transaction of the change that causes them.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    state TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    lease_until BIGINT,
    worker TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_due ON jobs(state, run_at);
