-- The recipient portal: each access link's authentication state, and the sessions it starts.

ALTER TABLE access_links ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_links ADD COLUMN locked_until INTEGER;
ALTER TABLE access_links ADD COLUMN code_hmac TEXT;
ALTER TABLE access_links ADD COLUMN code_channel TEXT;
ALTER TABLE access_links ADD COLUMN code_expires_at INTEGER;
ALTER TABLE access_links ADD COLUMN codes_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_links ADD COLUMN codes_window_start INTEGER;
ALTER TABLE access_links ADD COLUMN sessions_started INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_links ADD COLUMN opened_at INTEGER;
ALTER TABLE access_links ADD COLUMN guard_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE portal_sessions (
    token_hash TEXT PRIMARY KEY,
    link_id TEXT NOT NULL REFERENCES access_links(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);
