"""Failed attempts cannot grow the database by what was typed (issue 13 item 7).

A 60 KB "email" at the login page is stored capped in audit_event.detail and in the throttle bucket
key: its first characters and the SHA-256 of the whole, so the same long input still counts in one bucket.
"""

import hashlib
import json

from app.capped import MAX_STORED
from tests.helpers import LOGIN_PATH

LONG_EMAIL = "a" * 60_000 + "@example.com"
# A failed attempt's rows: the audit detail and two throttle buckets, each a few hundred bytes at most.
MOST_STORED_PER_ATTEMPT = 3 * (MAX_STORED + 100)


def wrong_password(http, email, status=200):
    base = dict(http.get(LOGIN_PATH).forms[0].submit_fields())
    form = {**base, "step": "password", "email": email, "password": "not the password"}
    return http.post(LOGIN_PATH, form, status=status)


def stored_bytes(services):
    database = services.database
    (detail,) = database.execute_sql("SELECT COALESCE(SUM(LENGTH(detail)), 0) FROM audit_event").fetchone()
    (buckets,) = database.execute_sql("SELECT COALESCE(SUM(LENGTH(bucket)), 0) FROM rate_counter").fetchone()
    return detail + buckets


def test_a_60_kb_email_stores_a_few_hundred_bytes_per_failed_attempt(http, services, make_tenant):
    make_tenant()
    before = stored_bytes(services)
    for _ in range(3):
        wrong_password(http, LONG_EMAIL)
    assert stored_bytes(services) - before <= 3 * MOST_STORED_PER_ATTEMPT


def test_the_audit_detail_keeps_the_start_and_the_digest_of_a_long_email(http, services, make_tenant):
    make_tenant()
    wrong_password(http, LONG_EMAIL)
    (detail,) = services.database.execute_sql(
        "SELECT detail FROM audit_event WHERE event = 'signin.failure'").fetchone()
    email = json.loads(detail)["email"]
    assert len(email) <= MAX_STORED
    assert email.startswith("a" * 64) and email.endswith(hashlib.sha256(LONG_EMAIL.encode()).hexdigest())


def test_the_same_long_email_still_counts_in_one_bucket(http, make_tenant):
    make_tenant()
    for _ in range(10):
        wrong_password(http, LONG_EMAIL)
    wrong_password(http, LONG_EMAIL, status=429)
    # Another long email with the same first characters has its own bucket.
    wrong_password(http, "a" * 60_000 + "@example.org")


def test_an_ordinary_email_is_stored_as_typed(http, services, make_tenant):
    make_tenant()
    wrong_password(http, "nobody@example.com")
    (detail,) = services.database.execute_sql("SELECT detail FROM audit_event").fetchone()
    assert json.loads(detail)["email"] == "nobody@example.com"
    buckets = {row[0] for row in services.database.execute_sql("SELECT bucket FROM rate_counter").fetchall()}
    assert "pw-account:nobody@example.com" in buckets
