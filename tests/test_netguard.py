"""The network guard: decisions per address, and end to end at connect time.

No packet leaves loopback: DNS answers are simulated with an injected resolver, real
listeners run on 127.0.0.x, and the autouse ``connect_attempts`` fixture (conftest.py)
refuses and records any connect to another address, so a broken guard fails loudly here
instead of reaching a real network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, OutsideLoopback, write_config
from support.scripted import Reply, ScriptedServer

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.ingest.netguard import NetworkPolicy

FEED = (EXAMPLES / "durban-member-rss1.xml").read_bytes()


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.0.10", "private"),
    ("169.254.169.254", "link-local"), ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"), ("0.0.0.0", "this network"),
    ("0.1.2.3", "this network"), ("224.0.0.251", "multicast"), ("239.1.1.1", "multicast"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("::1", "loopback"),
    ("::", "unspecified"), ("fc00::1", "unique local"), ("fd12:3456::1", "unique local"),
    ("fe80::1", "link-local"), ("64:ff9b::a9fe:a9fe", "NAT64"), ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.0.0.1", "private"),
    ("::127.0.0.1", "loopback"), ("::10.0.0.1", "private"),  # IPv4-compatible
    ("2002:7f00:1::1", "loopback"), ("2002:a9fe:a9fe::1", "link-local"),  # 6to4
])
def test_denied_addresses(address: str, reason: str) -> None:
    denial = NetworkPolicy().denial("feeds.example", ipaddress.ip_address(address))
    assert denial is not None and reason in denial


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111",
                                     "::ffff:93.184.216.34", "2002:808:808::1"])
def test_public_addresses_allowed(address: str) -> None:
    assert NetworkPolicy().denial("feeds.example", ipaddress.ip_address(address)) is None


def test_allow_rules() -> None:
    ip = ipaddress.ip_address("10.0.0.7")
    assert NetworkPolicy(allow_private_networks=True).denial("x", ip) is None
    by_net = NetworkPolicy.from_settings(False, ["10.0.0.0/24"])
    assert by_net.denial("x", ip) is None
    assert by_net.denial("x", ipaddress.ip_address("10.0.1.7")) is not None
    by_name = NetworkPolicy.from_settings(False, ["intranet.example"])
    assert by_name.denial("Intranet.Example.", ip) is None
    assert by_name.denial("other.example", ip) is not None


# -- end to end ---------------------------------------------------------------------------------

@pytest.fixture
def listener() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    s.routes["/f"] = Reply(200, FEED, {"Content-Type": "application/rss+xml"})
    yield s
    s.close()


def resolver(answers: dict[str, str]) -> Any:
    """A fake getaddrinfo: each name resolves to the address given."""
    def getaddrinfo(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        address = answers.get(host, host)
        ip = ipaddress.ip_address(address)  # names not in the table are not resolved at all
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sockaddr = (address, port, 0, 0) if ip.version == 6 else (address, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
    return getaddrinfo


def poll(tmp_path: Path, url: str, answers: dict[str, str] | None = None,
         **poll_settings: Any) -> str | None:
    config = write_config(tmp_path, [{"id": "s", "kind": "member", "url": url}],
                          poll={"timeout": "3s"} | poll_settings)
    fake = resolver(answers) if answers is not None else None
    with Aggregator(load_settings(config), parse_processes=0, resolver=fake) as agg:
        return agg.update().results[0].error


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f000001", "2130706433", "0177.0.0.1",
                                  "127.1", "localhost", "[::ffff:127.0.0.1]"])
def test_direct_urls_to_loopback_spellings_never_connect(tmp_path: Path,
                                                         listener: ScriptedServer,
                                                         host: str) -> None:
    # the system resolver turns each spelling into 127.0.0.1; the guard checks that address
    error = poll(tmp_path, f"http://{host}:{listener.port}/f")
    assert error is not None and "blocked by the network guard" in error, error
    assert "loopback" in error
    assert listener.connections == 0


def test_allowed_when_configured(tmp_path: Path, listener: ScriptedServer) -> None:
    assert poll(tmp_path, listener.url("/f"), allow_private_networks=True) is None
    assert poll(tmp_path, listener.url("/f"), allow_hosts=["127.0.0.0/8"]) is None
    assert listener.connections == 2


def test_redirect_to_a_denied_address_is_blocked(tmp_path: Path,
                                                 listener: ScriptedServer) -> None:
    inner = ScriptedServer("127.0.0.2")
    try:
        inner.routes["/admin"] = Reply(200, FEED)
        listener.routes["/f"] = Reply(302, b"", {
            "Location": f"http://internal.example:{inner.port}/admin"})
        answers = {"feeds.example": "127.0.0.1", "internal.example": "127.0.0.2"}
        error = poll(tmp_path, f"http://feeds.example:{listener.port}/f", answers,
                     allow_hosts=["feeds.example"])
        assert error is not None and "internal.example resolves to 127.0.0.2" in error
        assert len(listener.seen) == 1 and inner.connections == 0
    finally:
        inner.close()


@pytest.mark.parametrize("address", ["10.0.0.1", "172.16.5.4", "192.168.1.1",
                                     "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
                                     "240.0.0.1", "fc00::1", "fe80::1", "64:ff9b::a00:1",
                                     "::ffff:10.0.0.1", "::ffff:169.254.169.254"])
def test_dns_answers_in_denied_ranges_never_connect(tmp_path: Path, address: str,
                                                   connect_attempts: list[object]) -> None:
    error = poll(tmp_path, "http://feeds.example/f", {"feeds.example": address})
    assert error is not None and "blocked by the network guard" in error, error
    assert connect_attempts == []  # refused before any connect call


def test_rebinding_cannot_slip_past(tmp_path: Path, listener: ScriptedServer,
                                    connect_attempts: list[object]) -> None:
    # first answer public-looking (allowed by name), the redirect's lookup rebinds to 10.x
    answers = {"feeds.example": "127.0.0.1", "cdn.example": "10.9.8.7"}
    listener.routes["/f"] = Reply(301, b"", {"Location": "http://cdn.example/f"})
    error = poll(tmp_path, f"http://feeds.example:{listener.port}/f", answers,
                 allow_hosts=["feeds.example"])
    assert error is not None and "cdn.example resolves to 10.9.8.7" in error
    assert connect_attempts == []


def test_the_harness_refuses_outside_loopback(tmp_path: Path,
                                              connect_attempts: list[object]) -> None:
    # with the guard switched off, the connect reaches the harness, which refuses it
    error = poll(tmp_path, "http://feeds.example/f", {"feeds.example": "10.0.0.1"},
                 allow_private_networks=True)
    assert error is not None and "connection failed" in error
    assert connect_attempts == [("10.0.0.1", 80)]
    with pytest.raises(OutsideLoopback):
        socket.create_connection(("192.0.2.1", 9), timeout=1)


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f000001", "2130706433", "0177.0.0.1",
                                  "127.1", "0x7f.1", "localhost", "[::1]",
                                  "[::ffff:127.0.0.1]", "[::127.0.0.1]", "[2002:7f00:1::1]",
                                  "0xa9fea9fe", "2852039166", "10.1", "[::ffff:a9fe:a9fe]"])
def test_check_config_warns_for_every_spelling_of_an_internal_address(
        tmp_path: Path, host: str) -> None:
    from aggregator.operations import check_config
    config = write_config(tmp_path, [{"id": "s", "kind": "member",
                                      "url": f"http://{host}:8080/feed"}], poll={})
    _, warnings = check_config(config)
    assert len(warnings) == 1 and "every fetch will be refused" in warnings[0], warnings


def test_allow_hosts_may_name_a_port(tmp_path: Path, listener: ScriptedServer) -> None:
    listener.routes["/f"] = Reply(200, FEED)
    assert poll(tmp_path, listener.url("/f"), allow_hosts=[f"127.0.0.1:{listener.port}"]
                ) is None
    other = ScriptedServer()
    try:
        error = poll(tmp_path, other.url("/f"), allow_hosts=[f"127.0.0.1:{listener.port}"])
        assert error is not None and "blocked by the network guard" in error
        assert other.connections == 0
    finally:
        other.close()
    policy = NetworkPolicy.from_settings(False, ["feeds.local:8080", "[fd00::5]:8443"])
    assert policy.denial("feeds.local", ipaddress.ip_address("10.0.0.9"), 8080) is None
    assert policy.denial("feeds.local", ipaddress.ip_address("10.0.0.9"), 80) is not None
    assert policy.denial("x", ipaddress.ip_address("fd00::5"), 8443) is None


@pytest.mark.parametrize("entry", ["127.0.0.1:99999", "127.0.0.1:http", ":8080"])
def test_allow_hosts_ports_are_checked(tmp_path: Path, entry: str) -> None:
    from aggregator.errors import ConfigError
    config = write_config(tmp_path, [], poll={"allow_hosts": [entry]})
    with pytest.raises(ConfigError, match=r"poll.allow_hosts\[0\]: not a valid host:port"):
        load_settings(config)
