-- Folders of a tenant: documents registered by their SHA3-256 before their bytes arrive, the
-- signing envelopes attached to them, each change's history entry (with its ledger leaf hash),
-- short public aliases of core ids, the sender callbacks chosen with an API credential or an
-- envelope. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE folders (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX folders_by_tenant ON folders (tenant_id);

CREATE TABLE folder_links (
    folder_id TEXT NOT NULL REFERENCES folders(id),
    linked_id TEXT NOT NULL REFERENCES folders(id),
    position INTEGER NOT NULL,
    PRIMARY KEY (folder_id, linked_id)
) STRICT;

CREATE TABLE registered_documents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    folder_id TEXT NOT NULL REFERENCES folders(id),
    name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    sha3_256 TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- The library document holding the bytes, once they arrived and matched.
    library_document TEXT,
    -- Order of registration inside the folder.
    position INTEGER NOT NULL
) STRICT;
CREATE INDEX registered_documents_by_folder ON registered_documents (folder_id, position);

CREATE TABLE registered_document_envelopes (
    document_id TEXT NOT NULL REFERENCES registered_documents(id),
    envelope_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (document_id, envelope_id)
) STRICT;
CREATE INDEX registered_document_envelopes_by_envelope ON registered_document_envelopes (envelope_id);

-- Every SHA3-256 a registered document is known by: the registered one, then each version Signet
-- produced from it.
CREATE TABLE registered_document_digests (
    document_id TEXT NOT NULL REFERENCES registered_documents(id),
    tenant_id TEXT NOT NULL,
    sha3_256 TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (document_id, sha3_256)
) STRICT;
CREATE INDEX registered_document_digests_by_digest ON registered_document_digests (tenant_id, sha3_256);

CREATE TABLE folder_history (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL,
    leaf_hash TEXT NOT NULL
) STRICT;
CREATE INDEX folder_history_by_subject ON folder_history (tenant_id, subject, ordinal);

CREATE TABLE id_aliases (
    tenant_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (tenant_id, alias)
) STRICT;

CREATE TABLE api_sessions (
    token_digest TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    status_url TEXT NOT NULL,
    file_url TEXT NOT NULL,
    user_name TEXT,
    user_email TEXT,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE envelope_callbacks (
    envelope_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    status_url TEXT NOT NULL,
    file_url TEXT NOT NULL
) STRICT;
