"""Throttles stored in the database: wrong passwords per account and per IP, user-code guesses per IP.

They hold across workers (two app instances share one database here, as gunicorn workers do), answer
429 with Retry-After (a page on pages), and lift when the window passes: no permanent lockout.
"""

import webtest

from app.application import create_app
from tests.helpers import (DEVICE_VERIFY_PATH, EMAIL, LOGIN_PATH, PASSWORD, device_client, sign_in, start_device)

WINDOW = 900


def wrong_password(http, email=EMAIL, ip="198.51.100.1", status=200):
    page = http.get(LOGIN_PATH, extra_environ={"REMOTE_ADDR": ip})
    form = page.forms[0]
    form["email"] = email
    page = form.submit(extra_environ={"REMOTE_ADDR": ip})
    form = page.forms[0]
    form["password"] = "not the password"
    return form.submit(extra_environ={"REMOTE_ADDR": ip}, status=status)


def test_ten_wrong_passwords_for_an_account_then_429_with_retry_after(http, make_tenant, make_user, clock):
    make_tenant()
    make_user()
    for _ in range(10):
        assert "incorrect" in wrong_password(http).text
    blocked = wrong_password(http, status=429)
    assert blocked.content_type == "text/html" and "Too many attempts" in blocked.text
    assert 0 < int(blocked.headers["Retry-After"]) <= WINDOW
    # Even the right password waits: the throttle is checked before any verification.
    form = http.get(LOGIN_PATH).forms[0]
    form["email"] = EMAIL
    form = form.submit().forms[0]
    form["password"] = PASSWORD
    assert form.submit(status=429).headers["Retry-After"]


def test_the_account_throttle_lifts_when_the_window_passes(http, make_tenant, make_user, clock):
    make_tenant()
    make_user()
    for _ in range(10):
        wrong_password(http)
    wrong_password(http, status=429)
    clock.advance(WINDOW)
    response = sign_in(http)
    assert response.status_int == 200 and "You are signed in" in response.text


def test_the_account_throttle_holds_across_workers(http, make_tenant, make_user, config, clock):
    make_tenant()
    make_user()
    other_worker = create_app(config, clock=clock)
    try:
        other = webtest.TestApp(other_worker)
        for i in range(10):
            wrong_password(http if i % 2 else other)
        wrong_password(other, status=429)
        wrong_password(http, status=429)
    finally:
        other_worker.services.database.close()


def test_twenty_wrong_passwords_from_one_ip_then_429_whatever_the_account(http, make_tenant, make_user):
    make_tenant()
    for i in range(20):
        wrong_password(http, email=f"person{i}@example.com", ip="203.0.113.7")
    wrong_password(http, email="someone.new@example.com", ip="203.0.113.7", status=429)
    # Another address is not affected.
    wrong_password(http, email="someone.new@example.com", ip="203.0.113.8")


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(http, make_tenant):
    """An attacker cannot dodge the IP throttle by inventing X-Forwarded-For."""
    make_tenant()
    for i in range(20):
        page = http.get(LOGIN_PATH)
        form = page.forms[0]
        form["email"] = f"p{i}@example.com"
        form = form.submit(extra_environ={"REMOTE_ADDR": "203.0.113.9"}).forms[0]
        form["password"] = "wrong"
        form.submit(extra_environ={"REMOTE_ADDR": "203.0.113.9"}, headers={"X-Forwarded-For": f"10.0.0.{i}"})
    wrong_password(http, email="x@example.com", ip="203.0.113.9", status=429)


def test_a_trusted_proxy_passes_each_clients_own_address(http, make_tenant):
    make_tenant()
    for i in range(20):
        page = http.get(LOGIN_PATH)
        form = page.forms[0]
        form["email"] = f"p{i}@example.com"
        form = form.submit().forms[0]
        form["password"] = "wrong"
        # Behind nginx on 127.0.0.1 every client has its own address: none reaches 20.
        form.submit(extra_environ={"REMOTE_ADDR": "127.0.0.1"}, headers={"X-Forwarded-For": f"192.0.2.{i}"})
    assert "incorrect" in wrong_password(http, email="y@example.com", ip="127.0.0.1").text


def test_unknown_user_codes_from_one_ip_are_throttled_after_ten(http, make_client, clock):
    client = device_client(make_client)
    real = start_device(http, client).json["user_code"]
    for i in range(10):
        http.get(DEVICE_VERIFY_PATH, {"user_code": f"BCDF-GHJ{'KLMNPQRSTV'[i]}"}, status=404)
    blocked = http.get(DEVICE_VERIFY_PATH, {"user_code": real}, status=429)
    assert blocked.json["error"] == "too_many_requests" and int(blocked.headers["Retry-After"]) > 0
    clock.advance(WINDOW)
    fresh = start_device(http, client).json["user_code"]
    assert http.get(DEVICE_VERIFY_PATH, {"user_code": fresh}).json["status"] == "pending"


def test_the_user_code_throttle_on_the_page_is_a_page(http, make_client, make_tenant, make_user):
    make_tenant()
    make_user()
    sign_in(http)
    for i in range(10):
        http.get("/device", {"user_code": f"BCDF-GHJ{'KLMNPQRSTV'[i]}"}, status=404)
    blocked = http.get("/device", {"user_code": "BCDF-GHJK"}, status=429)
    assert blocked.content_type == "text/html" and "Too many attempts" in blocked.text
    assert blocked.headers["Retry-After"]
