-- Client options of the token lifecycle and of sender-constrained clients: consent, PAR, DPoP, a refresh
-- grace window, and private_key_jwt authentication with the client's registered public keys (jwks).
-- The constraint names are the ones PostgreSQL gave 0001's unnamed checks.
ALTER TABLE application DROP CONSTRAINT application_token_endpoint_auth_method_check;
ALTER TABLE application DROP CONSTRAINT application_check1;
ALTER TABLE application ADD COLUMN jwks TEXT;
ALTER TABLE application ADD COLUMN require_consent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE application ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE application ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE application ADD COLUMN refresh_grace_seconds BIGINT NOT NULL DEFAULT 0
    CHECK (refresh_grace_seconds BETWEEN 0 AND 300);
ALTER TABLE application ADD CONSTRAINT application_auth_method_known CHECK (token_endpoint_auth_method IN
    ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'));
ALTER TABLE application ADD CONSTRAINT application_secret_only_for_secret_methods
    CHECK ((token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post'))
           = (client_secret_hash IS NOT NULL));
ALTER TABLE application ADD CONSTRAINT application_jwks_only_for_private_key_jwt
    CHECK ((token_endpoint_auth_method = 'private_key_jwt') = (jwks IS NOT NULL));
