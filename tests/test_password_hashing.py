"""Password hashes salted per email (issue 13 item 1): a sign-in attempt costs the same whatever the email.

The timing test uses the real Argon2id parameters and measures the CPU time of each attempt (the thread's
own, which Argon2id spends in this thread): on a machine shared with other work, wall time mostly measures
the neighbours. The clock moves past the throttle window between rounds instead of sleeping.
"""

import os
import statistics
import time

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from app.passwords import MEMORY_KIB, email_salt, hash_password
from app.ratelimit import WRONG_PASSWORD_PER_IP
from app.store import server_secrets
from tests.helpers import LOGIN_PATH, PASSWORD, sign_in

ONE_TENANT = "one@example.com"
THREE_TENANTS = "three@example.com"
UNKNOWN = "nobody@example.com"
ROUNDS = 9


def _stored_hash(services, user_id):
    p = services.database.param
    return services.database.execute_sql(f'SELECT password_hash FROM "user" WHERE id = {p}', (user_id,)).fetchone()[0]


def _set_hash(services, user_id, phc):
    p = services.database.param
    services.database.execute_sql(f'UPDATE "user" SET password_hash = {p} WHERE id = {p}', (phc, user_id))


def _salt_of(phc):
    return phc.split("$")[4]


def _tenants(make_tenant):
    for slug in ("acme", "globex", "initech"):
        make_tenant(slug=slug, name=slug.title())


def test_wrong_password_time_does_not_depend_on_how_many_tenants_hold_the_email(http, make_tenant, make_user, clock):
    """Medians within 1.3x for an unknown email, an email in one tenant and an email in three."""
    _tenants(make_tenant)
    make_user(tenant="acme", email=ONE_TENANT)
    for slug in ("acme", "globex", "initech"):
        make_user(tenant=slug, email=THREE_TENANTS)
    page = http.get(LOGIN_PATH)
    base = {name: value for name, value in page.forms[0].submit_fields()}
    timings = {ONE_TENANT: [], THREE_TENANTS: [], UNKNOWN: []}
    emails = list(timings)
    for round_number in range(ROUNDS):
        clock.advance(WRONG_PASSWORD_PER_IP.window)  # a fresh throttle window: no attempt is refused
        # Rotate the order so that no email always runs first (or last) in a round.
        for email in emails[round_number % 3:] + emails[:round_number % 3]:
            form = {**base, "step": "password", "email": email, "password": "not the password"}
            started = time.thread_time()
            response = http.post(LOGIN_PATH, form)
            timings[email].append(time.thread_time() - started)
            assert "The email address or password is incorrect." in response.text
    medians = {email: statistics.median(values) for email, values in timings.items()}
    assert max(medians.values()) <= 1.3 * min(medians.values()), medians


def test_user_create_salts_the_hash_with_the_server_key_and_the_email(services, make_tenant, make_user):
    _tenants(make_tenant)
    first = make_user(tenant="acme", email=THREE_TENANTS)
    second = make_user(tenant="globex", email=THREE_TENANTS, password="another password")
    other = make_user(tenant="acme", email=ONE_TENANT)
    key = server_secrets.get_or_create(services.database, "password-salt", 0)
    stored = _stored_hash(services, first["id"])
    assert stored == hash_password("correct horse battery", email_salt(key, THREE_TENANTS))
    assert _salt_of(stored) == _salt_of(_stored_hash(services, second["id"]))
    assert _salt_of(stored) != _salt_of(_stored_hash(services, other["id"]))


def test_the_salt_key_is_made_once_and_is_random(services):
    key = server_secrets.get_or_create(services.database, "password-salt", 0)
    assert len(key) == 32
    assert server_secrets.get_or_create(services.database, "password-salt", 0) == key
    assert server_secrets.get_or_create(services.database, "csrf", 0) != key


def test_a_hash_with_a_random_salt_still_signs_in_and_is_rehashed_to_the_email_salt(http, services, make_tenant,
                                                                                    make_user):
    _tenants(make_tenant)
    user = make_user(tenant="acme", email=ONE_TENANT)
    old = hash_password(PASSWORD)  # the form before per-email salts: a random salt
    _set_hash(services, user["id"], old)
    assert "You are signed in" in sign_in(http, ONE_TENANT, PASSWORD).text
    key = server_secrets.get_or_create(services.database, "password-salt", 0)
    assert _stored_hash(services, user["id"]) == hash_password(PASSWORD, email_salt(key, ONE_TENANT))


def test_a_wrong_password_leaves_an_old_hash_alone(http, services, make_tenant, make_user):
    _tenants(make_tenant)
    user = make_user(tenant="acme", email=ONE_TENANT)
    old = hash_password(PASSWORD)
    _set_hash(services, user["id"], old)
    assert "incorrect" in sign_in(http, ONE_TENANT, "not the password").text
    assert _stored_hash(services, user["id"]) == old


def test_each_account_of_an_email_keeps_its_own_password(http, make_tenant, make_user):
    _tenants(make_tenant)
    make_user(tenant="acme", email=THREE_TENANTS, password="the acme password")
    make_user(tenant="globex", email=THREE_TENANTS, password="the globex password")
    response = sign_in(http, THREE_TENANTS, "the globex password")
    assert "You are signed in" in response.text and "Globex" in response.text
    http.reset()
    assert "incorrect" in sign_in(http, THREE_TENANTS, "the initech password").text


def test_a_hash_with_old_parameters_and_a_random_salt_is_rehashed(http, services, make_tenant, make_user):
    _tenants(make_tenant)
    user = make_user(tenant="acme", email=ONE_TENANT)
    old = Argon2id(salt=os.urandom(16), length=32, iterations=1, lanes=1, memory_cost=8 * 1024).derive_phc_encoded(
        PASSWORD.encode())
    _set_hash(services, user["id"], old)
    assert "You are signed in" in sign_in(http, ONE_TENANT, PASSWORD).text
    stored = _stored_hash(services, user["id"])
    assert stored.startswith(f"$argon2id$v=19$m={MEMORY_KIB},t=2,p=1$")
    key = server_secrets.get_or_create(services.database, "password-salt", 0)
    assert stored == hash_password(PASSWORD, email_salt(key, ONE_TENANT))
