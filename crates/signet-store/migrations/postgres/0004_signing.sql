-- Signing (issue 11): the tenant's document library and envelopes that collect signatures.
-- Times are UTC microseconds since the Unix epoch; digests are lower-case hex; ids are the core's
-- hex ids. Enumerations are stored as the core's words (`as_str` of the signing model).

-- One version of a file in a tenant's library. Stamped, signed and sealed versions point at the
-- version they were made from; an original points at nothing.
CREATE TABLE library_documents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    sha3_256 TEXT NOT NULL,
    pages BIGINT,
    -- original | stamped | signed | sealed
    kind TEXT NOT NULL,
    derived_from TEXT REFERENCES library_documents(id),
    -- Where the encrypted bytes are; NULL once deleted (the digests stay as evidence).
    blob_key TEXT,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX library_documents_tenant ON library_documents(tenant_id, created_at);
CREATE INDEX library_documents_sha256 ON library_documents(tenant_id, sha256);
CREATE INDEX library_documents_sha3 ON library_documents(tenant_id, sha3_256);
CREATE INDEX library_documents_derived_from ON library_documents(derived_from);

CREATE TABLE sign_envelopes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    -- open | completed | declined | voided | expired
    status TEXT NOT NULL,
    -- Bumped by every saved transition: concurrent acts on one envelope conflict, not interleave.
    version BIGINT NOT NULL,
    -- NULL: every signer must sign; otherwise at least this many.
    min_signers BIGINT,
    reminder_every_days BIGINT,
    reminder_max BIGINT,
    redirect_success TEXT,
    redirect_cancel TEXT,
    redirect_error TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    closed_at BIGINT,
    void_reason TEXT,
    sealed_at BIGINT
);
CREATE INDEX sign_envelopes_tenant ON sign_envelopes(tenant_id, created_at);
CREATE INDEX sign_envelopes_tenant_status ON sign_envelopes(tenant_id, status, created_at);
CREATE INDEX sign_envelopes_status_expiry ON sign_envelopes(status, expires_at);

-- The library documents an envelope signs or shows, in the sender's order.
CREATE TABLE sign_envelope_documents (
    envelope_id TEXT NOT NULL REFERENCES sign_envelopes(id),
    position BIGINT NOT NULL,
    document_id TEXT NOT NULL REFERENCES library_documents(id),
    -- sign | view
    action TEXT NOT NULL,
    pages BIGINT NOT NULL,
    PRIMARY KEY (envelope_id, position)
);
CREATE UNIQUE INDEX sign_envelope_documents_document ON sign_envelope_documents(envelope_id, document_id);
CREATE INDEX sign_envelope_documents_by_document ON sign_envelope_documents(document_id);

CREATE TABLE sign_participants (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES sign_envelopes(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    position BIGINT NOT NULL,
    -- The sender's key, unique in the envelope.
    participant_key TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    phone_e164 TEXT,
    phone_country TEXT,
    phone_national TEXT,
    -- signer | approver | viewer | copy
    role TEXT NOT NULL,
    -- email_code | sms_code | voice_code | none
    auth TEXT NOT NULL,
    language TEXT NOT NULL,
    -- waiting | invited | opened | authenticated | signed | declined | released
    state TEXT NOT NULL,
    invited_at BIGINT,
    opened_at BIGINT,
    authenticated_at BIGINT,
    finished_at BIGINT,
    reminders_sent BIGINT NOT NULL,
    last_reminded_at BIGINT,
    decline_reason TEXT
);
CREATE INDEX sign_participants_envelope ON sign_participants(envelope_id, position);
CREATE UNIQUE INDEX sign_participants_key ON sign_participants(envelope_id, participant_key);

-- The order: `participant_id` may act only once `after_id` has signed (or was released).
CREATE TABLE sign_participant_edges (
    envelope_id TEXT NOT NULL REFERENCES sign_envelopes(id),
    participant_id TEXT NOT NULL REFERENCES sign_participants(id),
    after_id TEXT NOT NULL REFERENCES sign_participants(id),
    PRIMARY KEY (participant_id, after_id)
);
CREATE INDEX sign_participant_edges_envelope ON sign_participant_edges(envelope_id);

-- A field on a page, in fractions of the page as displayed (origin top-left, after rotation).
CREATE TABLE sign_fields (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES sign_envelopes(id),
    participant_id TEXT NOT NULL REFERENCES sign_participants(id),
    document_id TEXT NOT NULL REFERENCES library_documents(id),
    position BIGINT NOT NULL,
    page BIGINT NOT NULL,
    x DOUBLE PRECISION NOT NULL,
    y DOUBLE PRECISION NOT NULL,
    width DOUBLE PRECISION NOT NULL,
    height DOUBLE PRECISION NOT NULL,
    -- signature | initials | name | date | signing_date | text | checkbox | image
    kind TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    label TEXT,
    -- The prefill, then what the participant filled: the core's FieldValue as JSON.
    value TEXT,
    filled_at BIGINT
);
CREATE INDEX sign_fields_envelope ON sign_fields(envelope_id, position);
CREATE INDEX sign_fields_participant ON sign_fields(participant_id);

-- Every act on an envelope (created, invited, opened, code sent, authenticated, field filled,
-- signed, declined, voided, reminded, released, completed, expired, sealed), in order, with who,
-- when and from where. `event_seq` is the act's leaf in the transparency log (`events.seq`).
CREATE TABLE sign_acts (
    envelope_id TEXT NOT NULL REFERENCES sign_envelopes(id),
    position BIGINT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    -- sender | participant | system
    actor TEXT NOT NULL,
    participant_id TEXT REFERENCES sign_participants(id),
    field_id TEXT REFERENCES sign_fields(id),
    at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    -- Kind-specific details (reason, authentication method), JSON.
    detail TEXT,
    event_seq BIGINT,
    PRIMARY KEY (envelope_id, position)
);
CREATE INDEX sign_acts_participant ON sign_acts(participant_id, at);
CREATE INDEX sign_acts_event ON sign_acts(event_seq);
