"""Every lookup on a request path uses an index: EXPLAIN QUERY PLAN of the hot statements (SQLite).

Each statement below is a copy of the SQL text a request path runs, with a comment naming the function
it mirrors; `?` stands where the code writes `{database.param}`. When one of those functions changes
its SQL, change the copy here too. A plan step "SCAN <table>" without an index is a full table scan:
its cost grows with the table (issue 7: flat as the data grows).

The one whole-table read on purpose is the key ring's refresh (app/keyring.py KeyRing._refresh): it reads
every published signing key, at most once per key_refresh_interval (5 s) per worker, and the table holds a
handful of keys. It is checked separately: it may scan signing_key and nothing else.
"""

import os
import re
import time

import pytest

NOW = int(time.time())
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # a SHA-256 hex digest
CLIENT_ID = "4bmX0Qk3cWv1S4tY2p9ZrA3J"
FAMILY_ID = "o1QwErTy5uIoP9aSdF3gHw"

_USER_COLUMNS = ('u.id, u.email, u.password_hash, u.name, u.given_name, u.family_name, u.email_verified,'
                 ' u.updated_at, u.status, t.id, t.slug, t.name, t.status')
_REFRESH_COLUMNS = ("id, family_id, application_id, user_id, tenant_id, session_id, authorization_code_id, scope,"
                    " offline, auth_time, created_at, expires_at, rotated_at, revoked_at, jkt")

# (name, SQL, parameters): the name says which function of app/ the SQL is copied from.
HOT_STATEMENTS = [
    # app/clients.py find_client (every token request)
    ("clients.find_client",
     "SELECT id, client_id, client_secret_hash, name, audience_type, tenant_id, redirect_uris,"
     " post_logout_redirect_uris, grant_types, allowed_scopes, token_endpoint_auth_method,"
     " access_token_ttl, refresh_token_ttl, status FROM application WHERE client_id = ?",
     (CLIENT_ID,)),
    # app/store/users.py find_user
    ("users.find_user",
     f'SELECT {_USER_COLUMNS} FROM "user" u JOIN tenant t ON t.id = u.tenant_id WHERE u.id = ?',
     (4711,)),
    # app/store/users.py users_with_email (the password step of sign-in)
    ("users.users_with_email",
     f'SELECT {_USER_COLUMNS} FROM "user" u JOIN tenant t ON t.id = u.tenant_id WHERE u.email = ?'
     ' ORDER BY t.name, t.id',
     ("ada@example.com",)),
    # app/store/users.py update_password_hash
    ("users.update_password_hash",
     'UPDATE "user" SET password_hash = ?, updated_at = ? WHERE id = ?',
     ("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", NOW, 4711)),
    # app/store/refresh_tokens.py find (refresh_token grant)
    ("refresh_tokens.find",
     f"SELECT {_REFRESH_COLUMNS} FROM refresh_token WHERE token_hash = ?",
     (DIGEST,)),
    # app/store/refresh_tokens.py mark_rotated
    ("refresh_tokens.mark_rotated",
     "UPDATE refresh_token SET rotated_at = ? WHERE id = ? AND rotated_at IS NULL AND revoked_at IS NULL",
     (NOW, 123456)),
    # app/store/refresh_tokens.py revoke_family (a rotated-out token came back)
    ("refresh_tokens.revoke_family",
     "UPDATE refresh_token SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
     (NOW, FAMILY_ID)),
    # app/store/refresh_tokens.py families_issued_from_code (an authorization code came back)
    ("refresh_tokens.families_issued_from_code",
     "SELECT DISTINCT family_id FROM refresh_token WHERE authorization_code_id = ?",
     (98765,)),
    # app/store/refresh_tokens.py retire_successor (the grace window)
    ("refresh_tokens.retire_successor",
     "UPDATE refresh_token SET rotated_at = ? WHERE family_id = ? AND parent_id = ?"
     " AND rotated_at IS NULL AND revoked_at IS NULL",
     (NOW, FAMILY_ID, 123456)),
    # app/store/refresh_tokens.py live_token_parent (the grace window, after a lost race)
    ("refresh_tokens.live_token_parent",
     "SELECT parent_id FROM refresh_token WHERE family_id = ? AND rotated_at IS NULL AND revoked_at IS NULL",
     (FAMILY_ID,)),
    # app/store/token_revocations.py is_revoked (every userinfo, introspection and token exchange)
    ("token_revocations.is_revoked",
     "SELECT 1 FROM token_revocation WHERE token_key IN (?, ?)",
     ("jti:Zq3uKx0pW8sLr2VtYb5nAg", "grant:" + FAMILY_ID)),
    # app/store/token_revocations.py _insert (revocation, reuse detection)
    ("token_revocations.revoke",
     "INSERT INTO token_revocation (token_key, client_id, revoked_at, expires_at) VALUES (?, ?, ?, ?)"
     " ON CONFLICT (token_key) DO NOTHING",
     ("grant:" + FAMILY_ID, CLIENT_ID, NOW, NOW + 3600)),
    # app/store/refresh_tokens.py revoke_session_bound (logout)
    ("refresh_tokens.revoke_session_bound",
     "UPDATE refresh_token SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL AND offline = ?",
     (NOW, 321, False)),
    # app/grants/refresh_token.py RefreshTokenGrant._live_session_sid
    ("refresh_token grant: session of the token",
     "SELECT sid, ended_at, expires_at, last_seen_at FROM sso_session WHERE id = ?",
     (321,)),
    # app/grants/authorization_code.py AuthorizationCodeGrant.issue: the code by its hash
    ("authorization_code grant: code by code_hash",
     "SELECT id, application_id, user_id, tenant_id, session_id, redirect_uri, scope, nonce, code_challenge,"
     " auth_time, expires_at, used_at, dpop_jkt FROM authorization_code WHERE code_hash = ?",
     (DIGEST,)),
    # app/grants/authorization_code.py AuthorizationCodeGrant.issue: the session's sid
    ("authorization_code grant: sid of the session",
     "SELECT sid FROM sso_session WHERE id = ?",
     (321,)),
    # app/grants/authorization_code.py AuthorizationCodeGrant.issue: single use
    ("authorization_code grant: mark used",
     "UPDATE authorization_code SET used_at = ? WHERE id = ? AND used_at IS NULL",
     (NOW, 555)),
    # app/grants/device_code.py DeviceCodeGrant.issue: the device by device_code_hash (every poll)
    ("device_code grant: device by device_code_hash",
     "SELECT d.id, d.application_id, d.status, d.user_id, d.tenant_id, d.scope, d.auth_time,"
     " d.poll_interval, d.expires_at, d.session_id, s.sid FROM device_authorization d"
     " LEFT JOIN sso_session s ON s.id = d.session_id WHERE d.device_code_hash = ?",
     (DIGEST,)),
    # app/grants/device_code.py DeviceCodeGrant._check_pace (every poll)
    ("device_code grant: pace check",
     "UPDATE device_authorization SET last_polled_at = ? WHERE id = ?"
     " AND (last_polled_at IS NULL OR last_polled_at <= ? - poll_interval)",
     (NOW + 0.25, 777, NOW + 0.251)),
    # app/grants/device_code.py DeviceCodeGrant._check_pace (slow_down)
    ("device_code grant: slow_down",
     "UPDATE device_authorization SET poll_interval = poll_interval + ?, last_polled_at = ? WHERE id = ?",
     (5, NOW + 0.25, 777)),
    # app/grants/device_code.py DeviceCodeGrant.issue: redeem once
    ("device_code grant: redeem",
     "UPDATE device_authorization SET status = 'redeemed', redeemed_at = ? WHERE id = ? AND status = 'approved'",
     (NOW, 777)),
    # app/device.py DeviceAuthorizations._find_pending: the device by user_code_hash
    ("device.find_pending: device by user_code_hash",
     "SELECT d.id, a.client_id, a.name, d.scope, d.expires_at FROM device_authorization d"
     " JOIN application a ON a.id = d.application_id"
     " WHERE d.user_code_hash = ? AND d.status = 'pending' AND d.expires_at > ? AND a.status = 'active'",
     (DIGEST, NOW)),
    # app/device.py DeviceAuthorizations.decide
    ("device.decide",
     "UPDATE device_authorization SET status = ?, user_id = ?, tenant_id = ?, session_id = ?,"
     " auth_time = ?, decided_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?",
     ("approved", 4711, 12, 321, NOW, NOW, 777, NOW)),
    # app/sessions.py Sessions.current: the session by session_hash (every page, authorize, logout)
    ("sessions.current: session by session_hash",
     "SELECT id, sid, user_id, tenant_id, auth_time, expires_at, last_seen_at FROM sso_session"
     " WHERE session_hash = ? AND ended_at IS NULL",
     (DIGEST,)),
    # app/sessions.py Sessions.current: touch
    ("sessions.current: touch",
     "UPDATE sso_session SET last_seen_at = ? WHERE id = ?",
     (NOW, 321)),
    # app/sessions.py Sessions.start: same user signs in again
    ("sessions.start: new cookie value",
     "UPDATE sso_session SET session_hash = ?, auth_time = ?, last_seen_at = ?, expires_at = ? WHERE id = ?",
     (DIGEST, NOW, NOW, NOW + 604800, 321)),
    # app/sessions.py Sessions.start: the new session's id by sid
    ("sessions.start: session by sid",
     "SELECT id FROM sso_session WHERE sid = ?",
     ("q2W3e4R5t6Y7u8I9o0PaSd",)),
    # app/sessions.py Sessions.end
    ("sessions.end",
     "UPDATE sso_session SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
     (NOW, 321)),
    # app/store/signing_keys.py private_key_pem: the private key by kid (once per key and process)
    ("keys: private key by kid",
     "SELECT private_key FROM signing_key WHERE kid = ?",
     ("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",)),
    # app/store/signing_keys.py record_activation (once per key, by the first worker that sees it sign)
    ("signing_keys.record_activation",
     "UPDATE signing_key SET activation_recorded_at = ? WHERE kid = ? AND activation_recorded_at IS NULL",
     (NOW, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")),
    # app/ratelimit.py Throttle.check: the rate_counter bucket (sign-in, user codes)
    ("ratelimit.check: bucket lookup",
     "SELECT hits FROM rate_counter WHERE bucket = ? AND window_start = ?",
     ("pw-ip:127.0.0.1", NOW - NOW % 900)),
    # app/ratelimit.py Throttle.hit
    ("ratelimit.hit",
     "INSERT INTO rate_counter (bucket, window_start, hits, expires_at) VALUES (?, ?, 1, ?)"
     " ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counter.hits + 1",
     ("pw-account:ada@example.com", NOW - NOW % 900, NOW - NOW % 900 + 900)),
    # app/authorization.py Authorizer.application_name: authorization_request by request_hash
    ("authorization.application_name: request by request_hash",
     "SELECT a.name FROM authorization_request r JOIN application a ON a.id = r.application_id"
     " WHERE r.request_hash = ? AND r.completed_at IS NULL AND r.expires_at > ?",
     (DIGEST, NOW)),
    # app/authorization.py Authorizer.resume: authorization_request by request_hash
    ("authorization.resume: request by request_hash",
     "SELECT r.id, a.client_id, r.redirect_uri, r.scope, r.state, r.nonce, r.code_challenge,"
     " r.code_challenge_method, r.prompt, r.login_hint, r.max_age, r.created_at, r.expires_at,"
     " r.completed_at, r.signed_in_session_id, r.dpop_jkt FROM authorization_request r"
     " JOIN application a ON a.id = r.application_id WHERE r.request_hash = ?",
     (DIGEST,)),
    # app/authorization.py Authorizer.resume: finish once
    ("authorization.resume: complete",
     "UPDATE authorization_request SET completed_at = ? WHERE id = ? AND completed_at IS NULL",
     (NOW, 888)),
    # app/store/pushed_requests.py find (/authorize with a request_uri)
    ("pushed_requests.find",
     "SELECT r.id, a.client_id, r.parameters, r.expires_at, r.used_at FROM pushed_authorization_request r"
     " JOIN application a ON a.id = r.application_id WHERE r.request_uri_hash = ?",
     (DIGEST,)),
    # app/store/pushed_requests.py use (once)
    ("pushed_requests.use",
     "UPDATE pushed_authorization_request SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
     (NOW, 777, NOW)),
    # app/store/authorization_requests.py mark_signed_in (a sign-in made for a stored request)
    ("authorization_requests.mark_signed_in",
     "UPDATE authorization_request SET signed_in_session_id = ?"
     " WHERE request_hash = ? AND completed_at IS NULL AND expires_at > ?",
     (321, DIGEST, NOW)),
    # app/store/server_secrets.py get_or_create (once per worker and key)
    ("server_secrets.get_or_create",
     "SELECT value FROM server_secret WHERE name = ?",
     ("password-salt",)),
    # app/store/used_jti.py use_once (every request with a DPoP proof)
    ("used_jti.use_once",
     "INSERT INTO used_jti (kind, jti_hash, expires_at) VALUES (?, ?, ?) ON CONFLICT (kind, jti_hash) DO NOTHING",
     ("dpop", DIGEST, NOW + 61)),
    # app/store/consents.py granted_scopes (every authorization request of a --require-consent client)
    ("consents.granted_scopes",
     "SELECT scope FROM consent WHERE user_id = ? AND application_id = ?",
     (4711, 42)),
    # app/store/consents.py grant (Allow on the consent page)
    ("consents.grant",
     "INSERT INTO consent (user_id, application_id, scope, granted_at) VALUES (?, ?, ?, ?)"
     " ON CONFLICT (user_id, application_id, scope) DO NOTHING",
     (4711, 42, "openid", NOW)),
    # app/signin.py SignIn.redeem_challenge: login_challenge by challenge_hash
    ("signin.redeem_challenge: challenge by challenge_hash",
     "SELECT id, user_ids, next_path, expires_at, used_at FROM login_challenge WHERE challenge_hash = ?",
     (DIGEST,)),
    # app/signin.py SignIn.redeem_challenge: use once
    ("signin.redeem_challenge: mark used",
     "UPDATE login_challenge SET used_at = ? WHERE id = ? AND used_at IS NULL",
     (NOW, 999)),
]

# app/housekeeping.py prune: not a request path, but it runs against the biggest tables.
PRUNE_STATEMENTS = [
    ("prune refresh expired", "DELETE FROM refresh_token WHERE expires_at < ?", (NOW,)),
    ("prune refresh revoked", "DELETE FROM refresh_token WHERE revoked_at < ?", (NOW,)),
    ("prune token revocations", "DELETE FROM token_revocation WHERE expires_at < ?", (NOW,)),
    ("prune code links", "UPDATE refresh_token SET authorization_code_id = NULL WHERE authorization_code_id IN"
     " (SELECT id FROM authorization_code WHERE expires_at < ?)", (NOW,)),
    ("prune device links", "UPDATE refresh_token SET device_authorization_id = NULL WHERE device_authorization_id IN"
     " (SELECT id FROM device_authorization WHERE expires_at < ?)", (NOW,)),
    ("prune session links", "UPDATE authorization_code SET session_id = NULL WHERE session_id IN"
     " (SELECT id FROM sso_session WHERE expires_at < ? OR ended_at < ?)", (NOW, NOW)),
    ("prune device session links", "UPDATE device_authorization SET session_id = NULL WHERE session_id IN"
     " (SELECT id FROM sso_session WHERE expires_at < ? OR ended_at < ?)", (NOW, NOW)),
]

# app/store/signing_keys.py published_keys, read by app/keyring.py KeyRing._refresh: every key still
# published, at most every 5 s per worker (see the module docstring).
KEY_RING_REFRESH = ("SELECT kid, alg, public_jwk, created_at, activates_at, retires_at, publish_until,"
                    " activation_recorded_at FROM signing_key WHERE publish_until IS NULL OR publish_until > ?"
                    " ORDER BY id")

_SCAN = re.compile(r"^SCAN (\S+)")
_INDEXED = ("USING INDEX", "USING COVERING INDEX", "USING PRIMARY KEY", "USING INTEGER PRIMARY KEY")


def plan_of(database, sql, params):
    """The plan's steps (the `detail` column of EXPLAIN QUERY PLAN), in order."""
    return [row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]


def full_scans(steps):
    """Plan steps that read a whole table: 'SCAN <table>' with no index named."""
    return [step for step in steps if _SCAN.match(step) and not step.startswith("SCAN CONSTANT ROW")
            and not any(marker in step for marker in _INDEXED)]


def test_the_scan_detector_tells_a_table_scan_from_an_index_read():
    assert full_scans(["SCAN refresh_token"]) == ["SCAN refresh_token"]
    assert full_scans(["SCAN u USING COVERING INDEX user_email", "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)",
                       "USE TEMP B-TREE FOR ORDER BY", "SCAN CONSTANT ROW", "LIST SUBQUERY 1"]) == []
    assert full_scans(["SEARCH d USING INDEX device_x (device_code_hash=?)", "SCAN s LEFT-JOIN"]) == [
        "SCAN s LEFT-JOIN"]


if not os.environ.get("OAUTH_TEST_DATABASE_URL"):
    # EXPLAIN QUERY PLAN and its wording are SQLite's; on PostgreSQL the suite runs without these tests.

    @pytest.mark.parametrize("name, sql, params", HOT_STATEMENTS, ids=[s[0] for s in HOT_STATEMENTS])
    def test_a_hot_statement_reads_through_an_index(admin_database, name, sql, params):
        steps = plan_of(admin_database, sql, params)
        # An INSERT reads nothing; its ON CONFLICT target is a UNIQUE constraint, hence an index.
        assert steps or sql.startswith("INSERT"), f"{name}: EXPLAIN QUERY PLAN returned no steps"
        assert not full_scans(steps), f"{name} scans a whole table:\n  " + "\n  ".join(steps)

    @pytest.mark.parametrize("name, sql, params", PRUNE_STATEMENTS, ids=[s[0] for s in PRUNE_STATEMENTS])
    def test_prune_touches_the_big_tables_through_indexes(admin_database, name, sql, params):
        """The small tables (sessions, codes) may be scanned; refresh tokens never are."""
        scanned = [_SCAN.match(step).group(1) for step in full_scans(plan_of(admin_database, sql, params))]
        assert "refresh_token" not in scanned and "token_revocation" not in scanned, (name, scanned)

    def test_the_key_ring_refresh_reads_only_the_signing_key_table(admin_database):
        steps = plan_of(admin_database, KEY_RING_REFRESH, (NOW,))
        assert [_SCAN.match(step).group(1) for step in full_scans(steps)] == ["signing_key"], steps
