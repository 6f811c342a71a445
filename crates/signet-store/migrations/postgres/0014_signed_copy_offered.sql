-- The sender may withhold the signed copy from signers (the signer's app then offers no download).
-- Envelopes made before the choice existed offered it.
ALTER TABLE sign_envelopes ADD COLUMN signed_copy_offered BOOLEAN NOT NULL DEFAULT TRUE;
