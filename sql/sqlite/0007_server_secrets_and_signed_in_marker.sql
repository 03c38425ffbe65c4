-- Server-side keys made at first start and shared by every worker and host: the key that derives each
-- email's password salt and the key that binds CSRF tokens to a pre-session. 32 random bytes, base64url.
CREATE TABLE server_secret (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- The session that signed in for a stored /authorize request: prompt=login and max_age=0 are satisfied
-- only by a sign-in made for the request, however close in time to an earlier one. No foreign key: the
-- request lives 30 minutes and must not hold a session row back from pruning.
ALTER TABLE authorization_request ADD COLUMN signed_in_session_id INTEGER;
