-- The operator may require every signer of a tenant to authenticate with a code.
ALTER TABLE tenants ADD COLUMN signer_auth_required BOOLEAN NOT NULL DEFAULT FALSE;
