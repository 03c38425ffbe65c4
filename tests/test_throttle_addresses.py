"""Per-address throttles count one sender however its address is spelt (issue 13 item 5).

IPv4-mapped IPv6 is the IPv4 address, IPv6 is compared compressed, and an IPv6 sender is counted per
/64 (RFC 6177: one subscriber holds a whole /64). The user-code throttle (10 per address) shows it
without spending an Argon2id computation per attempt; one password test shows the sign-in throttle
shares the rule.
"""

import pytest

from tests.helpers import DEVICE_VERIFY_PATH, LOGIN_PATH

GUESSES = [f"BCDF-GHJ{letter}" for letter in "KLMNPQRSTV"]

SAME_SENDER = pytest.mark.parametrize("spellings", [
    ("203.0.113.5", "::ffff:203.0.113.5"),
    ("203.0.113.5", "::ffff:cb00:7105"),
    ("2001:db8:1:2::5", "2001:0DB8:0001:0002:0000:0000:0000:0005"),
    ("2001:db8:1:2::5", "2001:db8:1:2:ffff:ffff:ffff:ffff"),
], ids=["ipv4-mapped", "ipv4-mapped-hex", "ipv6-uncompressed", "same-ipv6-64"])


def guess(http, user_code, ip, status=404, **extra):
    return http.get(DEVICE_VERIFY_PATH, {"user_code": user_code}, extra_environ={"REMOTE_ADDR": ip}, status=status,
                    **extra)


@SAME_SENDER
def test_guesses_from_every_spelling_of_an_address_share_one_bucket(http, spellings):
    first, second = spellings
    for i, user_code in enumerate(GUESSES):
        guess(http, user_code, first if i % 2 else second)
    assert guess(http, GUESSES[0], first, status=429).headers["Retry-After"]
    assert guess(http, GUESSES[0], second, status=429).headers["Retry-After"]


@pytest.mark.parametrize("blocked, other", [
    ("2001:db8:1:2::5", "2001:db8:1:3::5"),
    ("203.0.113.5", "203.0.113.6"),
    ("203.0.113.5", "::ffff:203.0.113.6"),
    ("32.1.13.184", "2001:db8::1"),
], ids=["next-ipv6-64", "next-ipv4", "next-ipv4-mapped", "ipv6-that-only-looks-mapped"])
def test_another_sender_keeps_its_own_bucket(http, blocked, other):
    for user_code in GUESSES:
        guess(http, user_code, blocked)
    guess(http, GUESSES[0], blocked, status=429)
    guess(http, GUESSES[0], other)


def test_a_mapped_address_forwarded_by_a_trusted_proxy_counts_with_its_ipv4_spelling(http):
    for i, user_code in enumerate(GUESSES):
        forwarded = "::ffff:198.51.100.20" if i % 2 else "198.51.100.20"
        guess(http, user_code, "127.0.0.1", headers={"X-Forwarded-For": forwarded})
    guess(http, GUESSES[0], "198.51.100.20", status=429)


def test_a_proxy_on_a_dual_stack_socket_is_still_trusted(http):
    """A trusted 127.0.0.1 reported as ::ffff:127.0.0.1 passes on each client's own address."""
    for i, user_code in enumerate(GUESSES + GUESSES):
        guess(http, user_code, "::ffff:127.0.0.1", headers={"X-Forwarded-For": f"192.0.2.{i}"})
    guess(http, GUESSES[0], "::ffff:127.0.0.1", headers={"X-Forwarded-For": "192.0.2.200"})


def test_wrong_passwords_from_mapped_and_plain_ipv4_share_the_sign_in_bucket(http, make_tenant, clock):
    make_tenant()
    page = http.get(LOGIN_PATH)
    base = dict(page.forms[0].submit_fields())
    for i in range(20):
        ip = "::ffff:203.0.113.7" if i % 2 else "203.0.113.7"
        form = {**base, "step": "password", "email": f"p{i}@example.com", "password": "wrong"}
        assert "incorrect" in http.post(LOGIN_PATH, form, extra_environ={"REMOTE_ADDR": ip}).text
    form = {**base, "step": "password", "email": "new@example.com", "password": "wrong"}
    http.post(LOGIN_PATH, form, extra_environ={"REMOTE_ADDR": "203.0.113.7"}, status=429)
    http.post(LOGIN_PATH, form, extra_environ={"REMOTE_ADDR": "::ffff:203.0.113.7"}, status=429)
