-- Single-use JWT ids (DPoP proofs, RFC 9449 §11.1; client assertions, RFC 7523 §3 item 7): a row per id
-- accepted, kept until the JWT could no longer be accepted anyway, so a replay is refused on every
-- worker and host. `kind` keeps the two namespaces apart; the id is stored as its SHA-256 digest.
CREATE TABLE used_jti (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    jti_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (kind, jti_hash)
);
CREATE INDEX used_jti_expires ON used_jti (expires_at);
