"""The network guard (SSRF): which addresses a fetch may connect to, checked at connect time.

Feed URLs come from third parties. A URL, or a redirect, or a DNS answer that changes between
check and use (rebinding) must not reach the hub's own network. So the check is made on the
address the socket actually connects to, for every connection (every redirect hop opens or
reuses one to a checked address), after the system resolver has turned spellings like
``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``127.1`` or ``localhost`` into an address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

# Checked in order; the first match names the reason in the error.
DENIED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), label) for net, label in [
        ("0.0.0.0/8", "'this network' (0.0.0.0/8)"),
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private network"),
        ("172.16.0.0/12", "private network"),
        ("192.168.0.0/16", "private network"),
        ("169.254.0.0/16", "link-local (cloud metadata)"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("198.18.0.0/15", "benchmarking network"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::1/128", "loopback"),
        ("::/128", "unspecified"),
        ("fc00::/7", "unique local (private) network"),
        ("fe80::/10", "link-local"),
        ("64:ff9b::/96", "NAT64"),
        ("64:ff9b:1::/48", "NAT64 (local use)"),
        ("ff00::/8", "multicast"),
    ])


def host_and_port(entry: str) -> tuple[str, int] | None:
    """An ``allow_hosts`` entry that names a port ("feeds.local:8080", "10.0.0.5:8080",
    "[fd00::5]:8080") as (host, port); None for a name, an address or a network."""
    host, colon, port = entry.rpartition(":")
    if not colon or not port.isdigit() or not host or ("/" in entry) or (
            ":" in host and not (host.startswith("[") and host.endswith("]"))):
        return None
    return host.strip("[]").lower().rstrip("."), int(port)


class AddressDenied(OSError):
    """A connection was refused by the guard before any packet was sent."""


def unwrap(ip: IPAddress) -> IPAddress:
    """An IPv6 address that carries an IPv4 one is checked as that: IPv4-mapped
    (::ffff:10.0.0.1), IPv4-compatible (::127.0.0.1, deprecated but still routed by some
    stacks) and 6to4 (2002:7f00:1::1 carries 127.0.0.1)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d; :: and ::1 are IPv6's own
        return ipaddress.IPv4Address(int(ip))
    return ip


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal names, in every spelling a resolver
    takes: 127.0.0.1, [::1], and the legacy IPv4 ones (0x7f000001, 2130706433,
    0177.0.0.1, 127.1); None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if not host or not all(c in "0123456789abcdefx." for c in host.lower()):
        return None  # inet_aton reads only numbers; a name like "deadbeef" never gets here
    if not any(c.isdigit() for c in host.split(".")[-1][:1]):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


@dataclass(frozen=True)
class NetworkPolicy:
    """Denies non-public addresses unless allowed by config (``poll.allow_*``)."""

    allow_private_networks: bool = False
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_ports: frozenset[tuple[str, int]] = frozenset()  # "host:port", names or IPs
    resolver: Resolver = field(default=socket.getaddrinfo, compare=False)

    @classmethod
    def from_settings(cls, allow_private_networks: bool, allow_hosts: Iterable[str],
                      resolver: Resolver | None = None) -> NetworkPolicy:
        names, networks, ports = set(), [], set()
        for entry in allow_hosts:
            endpoint = host_and_port(entry)
            if endpoint is not None:
                ports.add(endpoint)
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return cls(allow_private_networks, frozenset(names), tuple(networks),
                   frozenset(ports), resolver or socket.getaddrinfo)

    def denial(self, host: str, ip: IPAddress, port: int | None = None) -> str | None:
        """Why connecting to ``ip`` (for ``host``, on ``port``) is refused, or None when
        it is allowed."""
        name = host.lower().rstrip(".").strip("[]")
        if self.allow_private_networks or name in self.allowed_names:
            return None
        if port is not None and ({(name, port), (str(ip), port), (str(unwrap(ip)), port)}
                                 & self.allowed_ports):
            return None
        ip = unwrap(ip)
        if any(ip in net for net in self.allowed_networks):
            return None
        for net, label in DENIED:
            if ip in net:
                return label
        return None if ip.is_global else "not a public address"

    def refuses(self, url: str) -> str | None:
        """Why every fetch of ``url`` will be refused, told without DNS (an IP literal or
        localhost), or None: check-config says so before the first poll does."""
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        if host == "localhost" or host.endswith(".localhost"):
            ip: IPAddress | None = ipaddress.ip_address("127.0.0.1")
        else:
            ip = literal_address(host)
        if ip is None:
            return None  # a name: only its resolution will tell
        reason = self.denial(host, ip, port)
        return None if reason is None else f"{host} is a {reason} address"

    def connect(self, host: str, port: int, timeout: float | None,
                source_address: tuple[str, int] | None = None,
                socket_options: Sequence[tuple[int, int, Any]] | None = None) -> socket.socket:
        """Resolve, check each address, connect to the first allowed one that answers."""
        error: OSError | None = None
        for family, kind, proto, _, sockaddr in self.resolver(host, port, 0, socket.SOCK_STREAM):
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            reason = self.denial(host, ip, port)
            if reason:
                error = AddressDenied(f"{host} resolves to {unwrap(ip)}, a {reason} address: "
                                      "not allowed (see poll.allow_hosts)")
                continue
            sock = socket.socket(family, kind, proto)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as e:
                sock.close()
                error = e
        raise error or OSError(f"{host}: no address found")
