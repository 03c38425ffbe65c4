"""Matching a requested redirect_uri against a client's registered ones (RFC 6749 §3.1.2.3, RFC 8252 §7.3)."""

import re

# A loopback IP literal over http, an optional port, then the rest (path, query) or nothing; the
# rest must start with / or ?, so "http://127.0.0.1@elsewhere" or "...:80.evil" never qualifies.
_LOOPBACK = re.compile(r"^(http://(?:127\.0\.0\.1|\[::1\]))(?::([0-9]{1,5}))?([/?].*)?$", re.S)


def _without_port(uri):
    """A loopback IP redirect URI with its port removed, or None (not loopback, or a port out of range)."""
    match = _LOOPBACK.match(uri)
    if match is None:
        return None
    port = match.group(2)
    if port is not None and not 0 < int(port) <= 65535:
        return None
    return match.group(1) + (match.group(3) or "")


def redirect_uri_matches(client, redirect_uri):
    """Registered character for character; a public client's loopback IP URI matches on any port (RFC 8252 §7.3).

    Scheme, host, path and query still match exactly; `localhost` gets no latitude (§8.3), and a
    confidential client none (its redirect URIs are fixed at registration).
    """
    if redirect_uri in client.redirect_uris:
        return True
    if not client.is_public:
        return False
    requested = _without_port(redirect_uri)
    return requested is not None and any(_without_port(registered) == requested
                                         for registered in client.redirect_uris)
