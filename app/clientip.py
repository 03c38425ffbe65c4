"""The client's address: X-Forwarded-For is believed only when the peer is a trusted proxy.

Addresses come out in one spelling: an IPv4-mapped IPv6 address (what a dual-stack socket reports
for an IPv4 peer) as the IPv4 address, IPv6 compressed (RFC 5952).
"""

import functools
import ipaddress

# A single IPv6 subscriber usually holds a whole /64 (RFC 6177), so a throttle counts the /64.
IPV6_BUCKET_PREFIX = 64


def _address(value):
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def throttle_bucket(address):
    """The key a per-address throttle counts under: the IPv4 address, or the IPv6 /64 it lies in."""
    parsed = _address(address)
    if parsed is None:
        return address
    if parsed.version == 6:
        # Without the zone: ip_network refuses scoped addresses, and the zone names no other sender.
        unscoped = ipaddress.IPv6Address(parsed.packed)
        return str(ipaddress.IPv6Network((unscoped, IPV6_BUCKET_PREFIX), strict=False))
    return str(parsed)


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
