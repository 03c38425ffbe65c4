"""The client's address: X-Forwarded-For is believed only when the peer is a trusted proxy."""

import functools
import ipaddress


def _address(value):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _peer(remote_addr, trusted_proxies):
    """(normalised address or None, whether it is a trusted proxy): parsed once per peer, not per request."""
    peer = _address(remote_addr)
    if peer is None:
        return None, False
    return str(peer), any(peer in network for network in trusted_proxies)


def client_ip(req, trusted_proxies):
    """Walk X-Forwarded-For from the right, skipping trusted proxies; the first other hop is the client."""
    peer, trusted = _peer(req.remote_addr or "", trusted_proxies)
    if peer is None:
        return req.remote_addr or "unknown"
    if not trusted:
        return peer
    forwarded = req.get_header("X-Forwarded-For") or ""
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            break
        if not any(address in network for network in trusted_proxies):
            return str(address)
        peer = str(address)
    return peer
