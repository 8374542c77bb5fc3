"""SSRF guard: which addresses we may connect to, checked on the resolved address at connect time."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import typing

import httpcore

from extractors.errors import BlockedAddressError, FetchError
from extractors.netstream import AsyncioBackend

LOGGER = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AllowPrivate = bool | frozenset[str]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # IPv6 spellings that reach an IPv4 address: mapped, 6to4, NAT64.
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why connecting to this address is refused ("a private address" …), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return address_problem(inner)
        if ip in _NAT64_LOCAL:
            return "a private address"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(ip, attribute):
            return reason
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a shared (CGNAT) address"
    if not ip.is_global:
        return "a non-public address"
    return None


def host_key(host: str, port: int) -> str:
    """The "host:port" spelling used by allow_private_hosts (IPv6 hosts in brackets)."""
    host = host.lower().strip("[]").rstrip(".")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def private_allowed(allow: AllowPrivate, host: str, port: int) -> bool:
    """True when the settings let us connect to private addresses of this host:port."""
    if isinstance(allow, bool):
        return allow
    return host_key(host, port) in allow


def check_literal(host: str, port: int, allow: AllowPrivate) -> None:
    """Refuse an IP-literal host before any request is made (names are checked at connect time)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    problem = address_problem(ip)
    if problem and not private_allowed(allow, host, port):
        raise BlockedAddressError(f"refused: {ip} is {problem}")


def _literal(host: str) -> str | None:
    """The address an IP-literal host names, spelled as the resolver answers it; None for a name."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:  # the resolver's business
        return None
    family = socket.AF_INET6 if isinstance(ip, ipaddress.IPv6Address) else socket.AF_INET
    return socket.inet_ntop(family, ip.packed)  # "::ffff:10.0.0.1", where str() gives "::ffff:a00:1"


async def resolve_checked(host: str, port: int, allow: AllowPrivate) -> list[str]:
    """Resolve a host and return its addresses, refusing it when any of them is not public."""
    literal = _literal(host)
    # A literal needs no resolver: no trip through the loop's executor threads, which `asyncio.run` joins at its end.
    addresses = [literal] if literal is not None else await _resolve(host, port)
    if private_allowed(allow, host, port):
        return addresses
    for address in addresses:
        problem = address_problem(ipaddress.ip_address(address))
        # One bad answer refuses the host: a name that mixes public and private answers is a rebinding trick.
        if problem:
            shown = address if address == host.strip("[]") else f"{host} ({address})"
            raise BlockedAddressError(f"refused: {shown} is {problem}")
    return addresses


async def _resolve(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (on the loop's executor threads)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves the host itself and connects only to checked addresses."""

    def __init__(self, allow_private: AllowPrivate = False) -> None:
        self._allow = allow_private
        self._inner = AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore._backends.base.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first reachable checked address of host (TLS still uses the host name)."""
        addresses = await resolve_checked(host, port, self._allow)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Any = None) -> httpcore.AsyncNetworkStream:
        """Unix sockets are never reached from a URL."""
        raise BlockedAddressError(f"refused: unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the inner backend does."""
        await self._inner.sleep(seconds)
