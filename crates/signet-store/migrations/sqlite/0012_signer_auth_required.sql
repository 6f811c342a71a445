-- The operator may require every signer of a tenant to authenticate with a code.
ALTER TABLE tenants ADD COLUMN signer_auth_required INTEGER NOT NULL DEFAULT 0;
