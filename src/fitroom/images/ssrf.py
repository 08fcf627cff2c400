"""Which addresses an image URL may reach: the server-side request forgery policy.

A try-on server fetches URLs its clients name, so without a policy a client could make it
read cloud metadata (169.254.169.254), an admin port on loopback, or anything on the
private network. Only globally routable unicast addresses are fetched; operators name
internal sources they trust in an allowlist.

The policy leans on the stdlib ``ipaddress`` module's IANA special-purpose tables, and
adds what ``is_global`` alone lets through (multicast, IPv6 site-local) and what it
cannot see (IPv4 hidden inside an IPv6 address).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

IPAddress = IPv4Address | IPv6Address

_NAT64 = IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = IPv6Network("::/96")


def is_refused(ip: IPAddress) -> bool:
    """True when ``ip`` is not a public unicast address (and so must not be fetched from).

    IPv6 forms that carry an IPv4 address (v4-mapped, v4-compatible, NAT64, 6to4) are
    judged by that IPv4 address: the packet ends up there, whatever the v6 prefix says.
    """
    if isinstance(ip, IPv6Address) and (embedded := embedded_ipv4(ip)) is not None:
        return is_refused(embedded)
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or (isinstance(ip, IPv6Address) and ip.is_site_local)
    )


def embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the embedding forms."""
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::/48
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):  # 64:ff9b::a.b.c.d, ::a.b.c.d
        return IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, if it is an IP literal rather than a name.

    IPv4 is read with ``inet_aton`` semantics, the way a C resolver reads it, so that
    ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` and ``127.1`` are all 127.0.0.1 here too
    and no spelling slips past the policy to be resolved into a refused address later.
    """
    host = host.strip("[]")
    try:
        return ip_address(host)
    except ValueError:
        pass
    # glibc's inet_aton stops at whitespace and ignores the rest; host names never
    # contain it, so only strings made of number characters are read as addresses.
    if not host or host.strip("0123456789abcdefABCDEFxX."):
        return None
    try:
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


@dataclass(frozen=True)
class Allowlist:
    """Internal sources an operator trusts: exact host names and address ranges."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPv4Network | IPv6Network, ...] = field(default=())

    @classmethod
    def parse(cls, text: str) -> Allowlist:
        """Read ``FITROOM_URL_ALLOWLIST``: comma-separated host names, addresses or CIDRs."""
        hosts: set[str] = set()
        networks: list[IPv4Network | IPv6Network] = []
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(_normal_host(entry))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, ip: IPAddress) -> bool:
        """True when ``host`` is listed by name, or ``ip`` falls in a listed range."""
        if _normal_host(host) in self.hosts:
            return True
        candidates = [ip]
        if isinstance(ip, IPv6Address) and (embedded := embedded_ipv4(ip)) is not None:
            candidates.append(embedded)
        return any(c in net for c in candidates for net in self.networks)


def _normal_host(host: str) -> str:
    # Names compare case-insensitively, and "example.com." is the same name as "example.com".
    return host.lower().rstrip(".")
