"""The client's address: X-Forwarded-For is believed only when the peer is a trusted proxy."""

import ipaddress


def _address(value):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(req, trusted_proxies):
    """Walk X-Forwarded-For from the right, skipping trusted proxies; the first other hop is the client."""
    peer = _address(req.remote_addr or "")
    if peer is None:
        return req.remote_addr or "unknown"
    if not any(peer in network for network in trusted_proxies):
        return str(peer)
    forwarded = req.get_header("X-Forwarded-For") or ""
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            break
        if not any(address in network for network in trusted_proxies):
            return str(address)
        peer = address
    return str(peer)
