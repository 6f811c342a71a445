-- The signer app's access rules: per signing participant, the guard of their link (wrong codes,
-- lock, the code last sent, codes sent in the window), their browser sessions, and the form
-- nonces already used (a replayed form post does nothing).

CREATE TABLE signer_guards (
    participant_id TEXT PRIMARY KEY REFERENCES sign_participants(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    code_hmac TEXT,
    code_channel TEXT,
    code_expires_at BIGINT,
    codes_sent BIGINT NOT NULL DEFAULT 0,
    codes_window_start BIGINT,
    sessions_started BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL
);

CREATE TABLE signer_sessions (
    token_hash TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL REFERENCES sign_participants(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX signer_sessions_expiry ON signer_sessions (expires_at);

CREATE TABLE signer_nonces (
    nonce TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX signer_nonces_expiry ON signer_nonces (expires_at);
