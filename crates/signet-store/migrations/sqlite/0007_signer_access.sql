-- The signer app's access rules: per signing participant, the guard of their link (wrong codes,
-- lock, the code last sent, codes sent in the window), their browser sessions, and the form
-- nonces already used (a replayed form post does nothing).

CREATE TABLE signer_guards (
    participant_id TEXT PRIMARY KEY REFERENCES sign_participants(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    code_hmac TEXT,
    code_channel TEXT,
    code_expires_at INTEGER,
    codes_sent INTEGER NOT NULL DEFAULT 0,
    codes_window_start INTEGER,
    sessions_started INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL
) STRICT;

CREATE TABLE signer_sessions (
    token_hash TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL REFERENCES sign_participants(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX signer_sessions_expiry ON signer_sessions (expires_at);

CREATE TABLE signer_nonces (
    nonce TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX signer_nonces_expiry ON signer_nonces (expires_at);
