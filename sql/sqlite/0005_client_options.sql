-- Client options of the token lifecycle and of sender-constrained clients: consent, PAR, DPoP, a refresh
-- grace window, and private_key_jwt authentication with the client's registered public keys (jwks).
-- SQLite cannot change a table's CHECK constraints, so the table is rebuilt (the runner has foreign
-- keys off while migrating and runs foreign_key_check before COMMIT); the id values are kept.
CREATE TABLE application_new (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT,
    name TEXT NOT NULL,
    audience_type TEXT NOT NULL CHECK (audience_type IN ('GLOBAL', 'TENANT')),
    tenant_id INTEGER REFERENCES tenant (id),
    redirect_uris TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    grant_types TEXT NOT NULL DEFAULT '[]',
    allowed_scopes TEXT NOT NULL DEFAULT '[]',
    token_endpoint_auth_method TEXT NOT NULL CHECK (token_endpoint_auth_method IN
        ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    access_token_ttl INTEGER,
    refresh_token_ttl INTEGER,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at INTEGER NOT NULL,
    jwks TEXT,
    require_consent INTEGER NOT NULL DEFAULT 0,
    require_par INTEGER NOT NULL DEFAULT 0,
    require_dpop INTEGER NOT NULL DEFAULT 0,
    refresh_grace_seconds INTEGER NOT NULL DEFAULT 0 CHECK (refresh_grace_seconds BETWEEN 0 AND 300),
    CHECK ((audience_type = 'TENANT') = (tenant_id IS NOT NULL)),
    CHECK ((token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post'))
           = (client_secret_hash IS NOT NULL)),
    CHECK ((token_endpoint_auth_method = 'private_key_jwt') = (jwks IS NOT NULL))
);
INSERT INTO application_new (id, client_id, client_secret_hash, name, audience_type, tenant_id, redirect_uris,
    post_logout_redirect_uris, grant_types, allowed_scopes, token_endpoint_auth_method, access_token_ttl,
    refresh_token_ttl, status, created_at)
SELECT id, client_id, client_secret_hash, name, audience_type, tenant_id, redirect_uris, post_logout_redirect_uris,
    grant_types, allowed_scopes, token_endpoint_auth_method, access_token_ttl, refresh_token_ttl, status, created_at
FROM application;
DROP TABLE application;
ALTER TABLE application_new RENAME TO application;
