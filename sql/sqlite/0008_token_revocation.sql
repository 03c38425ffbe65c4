-- Revocation of self-contained access tokens (RFC 7009 §2.1): a JWT cannot be recalled, so the services
-- that accept one (userinfo, introspection, token exchange) look it up here, in one indexed read, by
-- both keys it carries: 'jti:<jti>' (that token alone) and 'grant:<grant_id>' (every access token issued
-- from one refresh-token family). A row is kept until the last token it covers has expired (expires_at),
-- then `db prune` deletes it.
CREATE TABLE token_revocation (
    id INTEGER PRIMARY KEY,
    token_key TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX token_revocation_expires ON token_revocation (expires_at);
-- The refresh grace window: which token a rotation replaced, so only the immediately previous token of
-- a family can be presented again. Read through the family index only (a rare path), so it needs none
-- of its own, and no foreign key: a parent expires, and is pruned, before its child.
ALTER TABLE refresh_token ADD COLUMN parent_id INTEGER;
