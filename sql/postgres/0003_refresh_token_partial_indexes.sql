-- Most refresh tokens have no session (offline_access), code, device or revocation: leave those NULLs
-- out of the indexes, so that a rotation updates four B-trees fewer. Every query on these columns
-- compares them with a value (=, IN, <), which implies IS NOT NULL, so these indexes still serve it.
-- IF EXISTS: a database made by an early draft of 0001 lacks some of them; this creates them all.
DROP INDEX IF EXISTS refresh_token_session;
CREATE INDEX refresh_token_session ON refresh_token (session_id) WHERE session_id IS NOT NULL;
DROP INDEX IF EXISTS refresh_token_code;
CREATE INDEX refresh_token_code ON refresh_token (authorization_code_id) WHERE authorization_code_id IS NOT NULL;
DROP INDEX IF EXISTS refresh_token_device;
CREATE INDEX refresh_token_device ON refresh_token (device_authorization_id) WHERE device_authorization_id IS NOT NULL;
DROP INDEX IF EXISTS refresh_token_revoked;
CREATE INDEX refresh_token_revoked ON refresh_token (revoked_at) WHERE revoked_at IS NOT NULL;
