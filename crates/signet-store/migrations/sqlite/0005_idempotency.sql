-- Idempotency-Key (native API): a POST repeated with the same key answers the resource the first
-- one made; the same key with a different request is refused. Keys are per tenant and operation.
CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    operation TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- SHA-256 (hex) of what identifies the request: for an upload, its name, media type and bytes.
    request_digest TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, operation, idempotency_key)
) STRICT;
