-- The whole data model of DESIGN.md. Times are Unix seconds (BIGINT).
-- Every secret the server hands out is stored only as its SHA-256 hex digest (*_hash).

CREATE TABLE tenant (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at BIGINT NOT NULL
);

CREATE TABLE "user" (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenant (id),
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    given_name TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, email)
);
CREATE INDEX user_email ON "user" (email);

CREATE TABLE application (
    id BIGSERIAL PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT,
    name TEXT NOT NULL,
    audience_type TEXT NOT NULL CHECK (audience_type IN ('GLOBAL', 'TENANT')),
    tenant_id BIGINT REFERENCES tenant (id),
    redirect_uris TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    grant_types TEXT NOT NULL DEFAULT '[]',
    allowed_scopes TEXT NOT NULL DEFAULT '[]',
    token_endpoint_auth_method TEXT NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    access_token_ttl BIGINT,
    refresh_token_ttl BIGINT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at BIGINT NOT NULL,
    CHECK ((audience_type = 'TENANT') = (tenant_id IS NOT NULL)),
    CHECK ((token_endpoint_auth_method = 'none') = (client_secret_hash IS NULL))
);

CREATE TABLE sso_session (
    id BIGSERIAL PRIMARY KEY,
    session_hash TEXT NOT NULL UNIQUE,
    sid TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES "user" (id),
    tenant_id BIGINT NOT NULL REFERENCES tenant (id),
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sso_session_expires ON sso_session (expires_at);

CREATE TABLE authorization_request (
    id BIGSERIAL PRIMARY KEY,
    request_hash TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL REFERENCES application (id),
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    prompt TEXT,
    login_hint TEXT,
    max_age BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX authorization_request_expires ON authorization_request (expires_at);

-- A password that verified for the same email in several tenants: the person picks the tenant.
CREATE TABLE login_challenge (
    id BIGSERIAL PRIMARY KEY,
    challenge_hash TEXT NOT NULL UNIQUE,
    user_ids TEXT NOT NULL,
    next_path TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX login_challenge_expires ON login_challenge (expires_at);

CREATE TABLE authorization_code (
    id BIGSERIAL PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL REFERENCES application (id),
    user_id BIGINT NOT NULL REFERENCES "user" (id),
    tenant_id BIGINT NOT NULL REFERENCES tenant (id),
    session_id BIGINT REFERENCES sso_session (id),
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX authorization_code_expires ON authorization_code (expires_at);
CREATE INDEX authorization_code_session ON authorization_code (session_id);

CREATE TABLE device_authorization (
    id BIGSERIAL PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL REFERENCES application (id),
    scope TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    user_id BIGINT REFERENCES "user" (id),
    tenant_id BIGINT REFERENCES tenant (id),
    session_id BIGINT REFERENCES sso_session (id),
    auth_time BIGINT,
    poll_interval BIGINT NOT NULL,
    last_polled_at DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_at BIGINT,
    redeemed_at BIGINT
);
CREATE INDEX device_authorization_expires ON device_authorization (expires_at);
CREATE INDEX device_authorization_session ON device_authorization (session_id);

CREATE TABLE refresh_token (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    application_id BIGINT NOT NULL REFERENCES application (id),
    user_id BIGINT NOT NULL REFERENCES "user" (id),
    tenant_id BIGINT NOT NULL REFERENCES tenant (id),
    session_id BIGINT REFERENCES sso_session (id),
    authorization_code_id BIGINT REFERENCES authorization_code (id),
    device_authorization_id BIGINT REFERENCES device_authorization (id),
    scope TEXT NOT NULL,
    offline BOOLEAN NOT NULL DEFAULT FALSE,
    auth_time BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_token_family ON refresh_token (family_id);
CREATE INDEX refresh_token_session ON refresh_token (session_id);
CREATE INDEX refresh_token_code ON refresh_token (authorization_code_id);
CREATE INDEX refresh_token_expires ON refresh_token (expires_at);
-- For db prune: foreign-key checks and the revoked-token sweep must not scan a large table.
CREATE INDEX refresh_token_device ON refresh_token (device_authorization_id);
CREATE INDEX refresh_token_revoked ON refresh_token (revoked_at);

CREATE TABLE signing_key (
    id BIGSERIAL PRIMARY KEY,
    kid TEXT NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('next', 'active', 'retired')),
    created_at BIGINT NOT NULL,
    activated_at BIGINT,
    retired_at BIGINT,
    publish_until BIGINT
);
-- At most one key signs at a time, whatever races happen.
CREATE UNIQUE INDEX signing_key_one_active ON signing_key (status) WHERE status = 'active';

CREATE TABLE audit_event (
    id BIGSERIAL PRIMARY KEY,
    event TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    client_id TEXT,
    user_id BIGINT,
    tenant_id BIGINT,
    ip TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event_created ON audit_event (created_at);

CREATE TABLE rate_counter (
    id BIGSERIAL PRIMARY KEY,
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    UNIQUE (bucket, window_start)
);
CREATE INDEX rate_counter_expires ON rate_counter (expires_at);
