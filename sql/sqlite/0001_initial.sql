-- The whole data model of DESIGN.md. Times are Unix seconds (INTEGER).
-- Every secret the server hands out is stored only as its SHA-256 hex digest (*_hash).

CREATE TABLE tenant (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at INTEGER NOT NULL
);

CREATE TABLE "user" (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenant (id),
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    given_name TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    email_verified INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant_id, email)
);
CREATE INDEX user_email ON "user" (email);

CREATE TABLE application (
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
    token_endpoint_auth_method TEXT NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    access_token_ttl INTEGER,
    refresh_token_ttl INTEGER,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at INTEGER NOT NULL,
    CHECK ((audience_type = 'TENANT') = (tenant_id IS NOT NULL)),
    CHECK ((token_endpoint_auth_method = 'none') = (client_secret_hash IS NULL))
);

CREATE TABLE sso_session (
    id INTEGER PRIMARY KEY,
    session_hash TEXT NOT NULL UNIQUE,
    sid TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES "user" (id),
    tenant_id INTEGER NOT NULL REFERENCES tenant (id),
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX sso_session_expires ON sso_session (expires_at);

CREATE TABLE authorization_request (
    id INTEGER PRIMARY KEY,
    request_hash TEXT NOT NULL UNIQUE,
    application_id INTEGER NOT NULL REFERENCES application (id),
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    prompt TEXT,
    login_hint TEXT,
    max_age INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE INDEX authorization_request_expires ON authorization_request (expires_at);

-- A password that verified for the same email in several tenants: the person picks the tenant.
CREATE TABLE login_challenge (
    id INTEGER PRIMARY KEY,
    challenge_hash TEXT NOT NULL UNIQUE,
    user_ids TEXT NOT NULL,
    next_path TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX login_challenge_expires ON login_challenge (expires_at);

CREATE TABLE authorization_code (
    id INTEGER PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    application_id INTEGER NOT NULL REFERENCES application (id),
    user_id INTEGER NOT NULL REFERENCES "user" (id),
    tenant_id INTEGER NOT NULL REFERENCES tenant (id),
    session_id INTEGER REFERENCES sso_session (id),
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX authorization_code_expires ON authorization_code (expires_at);
CREATE INDEX authorization_code_session ON authorization_code (session_id);

CREATE TABLE device_authorization (
    id INTEGER PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash TEXT NOT NULL UNIQUE,
    application_id INTEGER NOT NULL REFERENCES application (id),
    scope TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    user_id INTEGER REFERENCES "user" (id),
    tenant_id INTEGER REFERENCES tenant (id),
    session_id INTEGER REFERENCES sso_session (id),
    auth_time INTEGER,
    poll_interval INTEGER NOT NULL,
    last_polled_at REAL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    decided_at INTEGER,
    redeemed_at INTEGER
);
CREATE INDEX device_authorization_expires ON device_authorization (expires_at);
CREATE INDEX device_authorization_session ON device_authorization (session_id);

CREATE TABLE refresh_token (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    application_id INTEGER NOT NULL REFERENCES application (id),
    user_id INTEGER NOT NULL REFERENCES "user" (id),
    tenant_id INTEGER NOT NULL REFERENCES tenant (id),
    session_id INTEGER REFERENCES sso_session (id),
    authorization_code_id INTEGER REFERENCES authorization_code (id),
    device_authorization_id INTEGER REFERENCES device_authorization (id),
    scope TEXT NOT NULL,
    offline INTEGER NOT NULL DEFAULT 0,
    auth_time INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX refresh_token_family ON refresh_token (family_id);
CREATE INDEX refresh_token_session ON refresh_token (session_id);
CREATE INDEX refresh_token_code ON refresh_token (authorization_code_id);
CREATE INDEX refresh_token_expires ON refresh_token (expires_at);
-- For db prune: foreign-key checks and the revoked-token sweep must not scan a large table.
CREATE INDEX refresh_token_device ON refresh_token (device_authorization_id);
CREATE INDEX refresh_token_revoked ON refresh_token (revoked_at);

CREATE TABLE signing_key (
    id INTEGER PRIMARY KEY,
    kid TEXT NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('next', 'active', 'retired')),
    created_at INTEGER NOT NULL,
    activated_at INTEGER,
    retired_at INTEGER,
    publish_until INTEGER
);
-- At most one key signs at a time, whatever races happen.
CREATE UNIQUE INDEX signing_key_one_active ON signing_key (status) WHERE status = 'active';

CREATE TABLE audit_event (
    id INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    client_id TEXT,
    user_id INTEGER,
    tenant_id INTEGER,
    ip TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event_created ON audit_event (created_at);

CREATE TABLE rate_counter (
    id INTEGER PRIMARY KEY,
    bucket TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    UNIQUE (bucket, window_start)
);
CREATE INDEX rate_counter_expires ON rate_counter (expires_at);
