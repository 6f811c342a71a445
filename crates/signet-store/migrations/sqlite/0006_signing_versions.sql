-- Signing (issue 11): the versions each envelope makes of its documents. A participant's act
-- derives a signed version from the document's current one; completion derives the sealed
-- version and makes the completion certificate. The unique chain index makes two acts deriving
-- from the same version conflict (the later one retries on the new version), so a document's
-- versions in an envelope form one line, never a fork.
CREATE TABLE sign_document_versions (
    -- The library document holding this version.
    version_id TEXT PRIMARY KEY REFERENCES library_documents(id),
    envelope_id TEXT NOT NULL REFERENCES sign_envelopes(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    -- The envelope's document (as the sender gave it); NULL for the completion certificate.
    document_id TEXT REFERENCES library_documents(id),
    -- The version it was made from; NULL for the completion certificate.
    derived_from TEXT REFERENCES library_documents(id),
    -- signed | sealed | certificate
    kind TEXT NOT NULL,
    -- Whose act made a signed version.
    participant_id TEXT REFERENCES sign_participants(id),
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX sign_document_versions_chain ON sign_document_versions(envelope_id, derived_from);
CREATE UNIQUE INDEX sign_document_versions_act ON sign_document_versions(envelope_id, document_id, participant_id);
CREATE UNIQUE INDEX sign_document_versions_certificate ON sign_document_versions(envelope_id) WHERE kind = 'certificate';
CREATE INDEX sign_document_versions_envelope ON sign_document_versions(envelope_id, created_at);
