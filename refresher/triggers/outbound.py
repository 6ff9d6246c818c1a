"""Requests to addresses users give us (notification URLs), with the SSRF rules of SPEC 13.

`https` only, and never to a private, loopback, link-local or otherwise non-global address. The
check is made on the addresses the host name resolves to, and the connection then goes to the
address that was checked (the host name still names the TLS server and the Host header), so a DNS
answer that changes between the check and the connection cannot point the request inward.
Redirects are never followed. `NOTIFY_ALLOW_PRIVATE` (development, tests) also allows `http` and
private or loopback addresses.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from refresher.exceptions import OutboundRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Destination:
    url: str  # as written
    scheme: str
    host: str  # the host name (or literal address) as written, lower-case
    port: int
    address: IPAddress  # the checked address the request connects to


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")  # IPv4-translated (RFC 2765)
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # IPv4-compatible (deprecated), :: and ::1 aside


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, which is where a packet to it may end up:
    IPv4-mapped and -translated, IPv4-compatible, NAT64 (64:ff9b::/96), 6to4 (2002::/16) and
    Teredo (2001::/32: its server and its client)."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _SIIT or address in _NAT64:
        return [low32]
    if address in _COMPATIBLE and int(address) > 1:
        return [low32]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return []


def _forbidden(address: IPAddress) -> bool:
    """Whether a request may not go to `address` (SPEC 13, 18).

    An IPv6 address that embeds IPv4 addresses is judged by them, since the network delivers
    it there: `[64:ff9b::a9fe:a9fe]` is 169.254.169.254 behind a NAT64 gateway, `[::7f00:1]` and
    `[::ffff:0:7f00:1]` are 127.0.0.1. Python's `is_global` calls several of those forms
    global. Site-local (fec0::/10, deprecated but still routed inside some networks) and the
    local-use NAT64 prefix (64:ff9b:1::/48) are refused whatever they embed.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local or address in _NAT64_LOCAL:
            return True
        embedded = _embedded_ipv4(address)
        if embedded:
            return any(_forbidden(inner) for inner in embedded)
    return not address.is_global or address.is_multicast


def check_url(url: str, *, allow_private: bool) -> tuple[str, str, int]:
    """Scheme, host and port of `url`, or OutboundRefused when its form is not allowed."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise OutboundRefused("not a valid URL") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_private else ("https",)
    if scheme not in allowed:
        raise OutboundRefused("only https URLs are allowed")
    if not parts.hostname:
        raise OutboundRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("credentials in the URL are not allowed; use the secret")
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def resolve(url: str, *, allow_private: bool) -> Destination:
    """Check `url` and the addresses its host resolves to; the first address to connect to.

    Every address the name resolves to must be allowed: a name with one public and one private
    address is refused, since which one a client picks is not ours to decide.
    """
    scheme, host, port = check_url(url, allow_private=allow_private)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundRefused(f"the host {host!r} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise OutboundRefused(f"the host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            if _forbidden(address):
                raise OutboundRefused(
                    f"the host {host!r} resolves to {address}, a private, loopback or "
                    "link-local address"
                )
    return Destination(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    allow_private: bool,
) -> httpx.Response:
    """POST `body` to `url` under the rules above; raises OutboundRefused or httpx errors."""
    dest = resolve(url, allow_private=allow_private)
    parts = urlsplit(url.strip())
    literal = f"[{dest.address}]" if dest.address.version == 6 else str(dest.address)
    default_port = 443 if dest.scheme == "https" else 80
    netloc = literal if dest.port == default_port else f"{literal}:{dest.port}"
    target = urlunsplit((dest.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = dest.host if dest.port == default_port else f"{dest.host}:{dest.port}"
    if ":" in dest.host:  # an IPv6 literal keeps its brackets in the Host header
        host_header = f"[{dest.host}]" + ("" if dest.port == default_port else f":{dest.port}")
    extensions = {"sni_hostname": dest.host} if dest.scheme == "https" else {}
    with httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False) as client:
        request = client.build_request(
            "POST",
            target,
            content=body,
            headers={**headers, "Host": host_header},
            extensions=extensions,
        )
        return client.send(request)
