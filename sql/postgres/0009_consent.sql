-- Remembered consent (OIDC Core §3.1.2.4): one row per scope a user allowed an application, so a
-- request for no new scopes skips the consent page. Rows are only ever added (ON CONFLICT DO NOTHING),
-- so two consents given at once in two tabs cannot lose each other's scopes.
CREATE TABLE consent (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES "user" (id),
    application_id BIGINT NOT NULL REFERENCES application (id),
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    UNIQUE (user_id, application_id, scope)
);
