-- Staged key rotation (DESIGN endpoint 1). A key's lifecycle is three times fixed when it is made or
-- rotated out: activates_at (it signs from then), retires_at (a successor signs from then) and
-- publish_until (it leaves the JWKS and verifies nothing from then). Every worker on every host derives
-- the state from these and its clock, so no row has to change at the moment a key starts signing.
-- status goes: it would be a second truth, lagging behind the clock.
-- activation_recorded_at (was activated_at) marks that key.activated is in the audit trail: set once,
-- by whichever worker's conditional UPDATE wins.
DROP INDEX IF EXISTS signing_key_one_active;
-- SQLite adds a NOT NULL column only with a default; every insert names the column.
ALTER TABLE signing_key ADD COLUMN activates_at INTEGER NOT NULL DEFAULT 0;
UPDATE signing_key SET activates_at = COALESCE(activated_at, created_at);
ALTER TABLE signing_key RENAME COLUMN activated_at TO activation_recorded_at;
ALTER TABLE signing_key RENAME COLUMN retired_at TO retires_at;
UPDATE signing_key SET activation_recorded_at = activates_at WHERE status <> 'next';
UPDATE signing_key SET retires_at = COALESCE(retires_at, activates_at),
    publish_until = COALESCE(publish_until, retires_at, activates_at) WHERE status = 'retired';
-- No release made 'next' keys; should one exist, it is withdrawn rather than started unannounced.
UPDATE signing_key SET retires_at = activates_at, publish_until = activates_at WHERE status = 'next';
ALTER TABLE signing_key DROP COLUMN status;
