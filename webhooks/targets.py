"""Where a webhook may go. A subscription's URL is checked when it is saved; the address is
checked again at every send, after DNS resolution, and the connection is made to that checked
address (webhooks.transport), so a name that later resolves elsewhere (DNS rebinding) cannot
reach an internal service. `WEBHOOK_ALLOW_PRIVATE=true` lifts the address rule (local
receivers in development and tests); the URL rules always apply."""

import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from onboarding.errors import InvalidInput, finding

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253
SCHEMES = {"http": 80, "https": 443}
# Translation prefixes that embed an IPv4 address in an IPv6 one (RFC 6052, RFC 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# Names that mean this machine without any DNS (RFC 6761 `localhost` and below it, and the
# aliases /etc/hosts gives loopback on common systems). Compared without the trailing dot of a
# fully qualified name: `localhost.` is `localhost`.
_LOCAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "localhost4",
        "localhost4.localdomain4",
        "localhost6",
        "localhost6.localdomain6",
        "ip6-localhost",
        "ip6-loopback",
    }
)
# Ranges named in refusals by what they are (`ipaddress` calls fec0::/10 global in Python 3.11,
# and says only "private" for the others).
_NAMED_NETWORKS = tuple(
    (ipaddress.ip_network(network), word)
    for network, word in (
        ("fec0::/10", "site-local (deprecated, fec0::/10)"),
        ("fc00::/7", "unique-local (fc00::/7)"),
        ("100.64.0.0/10", "shared (carrier-grade NAT, 100.64.0.0/10)"),
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("2001:db8::/32", "documentation"),
        ("198.18.0.0/15", "benchmarking"),
    )
)
_HOST_CHARS = re.compile(r"^[a-z0-9_.-]+$")

_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


class TargetRefused(Exception):
    """The destination is not allowed (or cannot be resolved); the attempt fails without any
    byte sent."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower-case; an IPv6 literal without brackets
    port: int
    host_header: str
    path: str  # path and query, as sent in the request line

    @property
    def is_ip_literal(self) -> bool:
        return _as_ip(self.host) is not None


def private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


# ---------------------------------------------------------------------------------------------
# URLs (at subscription time, and again before each send)


def check_url(url: object) -> Target:
    """The parsed target of a subscription URL, or 400 `invalid_webhook_url` /
    `webhook_url_forbidden` naming what is wrong."""
    if not isinstance(url, str) or not url:
        raise _invalid("The URL must be a non-empty string.")
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise _invalid("The URL contains whitespace or a control character.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid(f"The URL cannot be parsed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise _invalid("Only http and https URLs are allowed.")
    if "@" in parts.netloc:
        raise _invalid("Credentials in the URL are not allowed; authenticate with the signature.")
    if parts.fragment or url.endswith("#"):
        raise _invalid("A fragment (#...) has no meaning in a webhook URL.")
    host = _host(parts)
    if port == 0:
        raise _invalid("Port 0 is not a port.")
    target = Target(
        scheme=scheme,
        host=host,
        port=port or SCHEMES[scheme],
        host_header=_host_header(host, port),
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
    )
    if not private_allowed():
        literal = _as_ip(host)
        if literal is not None and not address_allowed(literal):
            raise _forbidden(f"{host} is a {describe(literal)} address.")
        if names_this_machine(host):
            raise _forbidden(f"{host} names this machine.")
    return target


def names_this_machine(host: str) -> bool:
    name = host[:-1] if host.endswith(".") else host
    return name in _LOCAL_NAMES or name.endswith(".localhost")


def _host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if not host:
        raise _invalid("The URL has no host.")
    if _as_ip(host) is not None:
        return str(ipaddress.ip_address(host))
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _invalid("The host name is not a valid (internationalised) domain name.") from None
    # One trailing dot (a fully qualified name) is allowed; `host..` has an empty label.
    labels = (ascii_host[:-1] if ascii_host.endswith(".") else ascii_host).split(".")
    if len(ascii_host) > MAX_HOST_LENGTH or any(not label or len(label) > 63 for label in labels):
        raise _invalid("The host name is too long or has an empty label.")
    if not _HOST_CHARS.match(ascii_host):
        raise _invalid("The host name contains characters a domain name cannot have.")
    last = labels[-1]
    if last.isdigit() or last.startswith("0x"):
        # 2130706433, 0x7f.1 or 127.1: numeric forms the resolver turns into addresses.
        raise _invalid("A numeric host must be a plain dotted IPv4 or a bracketed IPv6 address.")
    return ascii_host


def _host_header(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(
        f"Invalid webhook URL: {message}",
        code="invalid_webhook_url",
        errors=[finding("invalid_webhook_url", "/url", message)],
    )


def _forbidden(message: str) -> InvalidInput:
    return InvalidInput(
        f"Webhooks may not be sent to private, loopback or link-local addresses: {message}",
        code="webhook_url_forbidden",
        errors=[
            finding(
                "webhook_url_forbidden",
                "/url",
                message,
                "Use a public address (WEBHOOK_ALLOW_PRIVATE=true allows others, for "
                "development only).",
            )
        ],
    )


# ---------------------------------------------------------------------------------------------
# Addresses (at every send)


def _as_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def describe(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        return describe(inner)
    for attribute, word in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
    ):
        if getattr(ip, attribute):
            return word
    for network, word in _NAMED_NETWORKS:
        if ip.version == network.version and ip in network:
            return word
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    return "public" if _public(ip) else "non-global"


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return private_allowed() or _public(ip)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and not _public(inner):
            return False
        if ip.is_site_local:
            return False
    if any(ip.version == network.version and ip in network for network, _ in _NAMED_NETWORKS):
        return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_private
    )


def resolve(target: Target, *, timeout: float) -> list[str]:
    """Every address the host has now, all of them allowed, or TargetRefused. One refused
    address refuses the host: a name that mixes public and internal answers is an attack."""
    literal = _as_ip(target.host)
    if literal is not None:
        addresses = [literal]
    else:
        future = _resolver.submit(
            socket.getaddrinfo, target.host, target.port, type=socket.SOCK_STREAM
        )
        try:
            infos = future.result(timeout=timeout)
        except FutureTimeout:
            raise TargetRefused(f"DNS resolution of {target.host} timed out") from None
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"DNS resolution of {target.host} failed: {exc}") from None
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if ip not in addresses:
                addresses.append(ip)
    if not addresses:
        raise TargetRefused(f"{target.host} has no address")
    for ip in addresses:
        if not address_allowed(ip):
            raise TargetRefused(f"{target.host} resolves to {ip}, a {describe(ip)} address")
    return [str(ip) for ip in addresses]
