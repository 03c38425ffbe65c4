-- Pushed authorization requests (RFC 9126): the authorize parameters a client pushed, checked, waiting for
-- /authorize to name them by request_uri. The request_uri's random part is stored as its SHA-256 digest;
-- a row is used once (used_at), by the client that pushed it, before expires_at (60 s).
CREATE TABLE pushed_authorization_request (
    id BIGSERIAL PRIMARY KEY,
    request_uri_hash TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL REFERENCES application (id),
    parameters TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX pushed_authorization_request_expires ON pushed_authorization_request (expires_at);
